//! Finds and reads `Migrate.toml`, overlays the environment and fills in defaults.
//!
//! Precedence is flag > environment > file > default; this module handles the
//! last three and the caller applies command-line flags afterwards. Every key
//! can be set as `MIGRATE_<SECTION>_<KEY>` (`MIGRATE_<KEY>` at the top level),
//! and `DATABASE_URL` / `STAGING_DATABASE_URL` win over everything else.

mod sources;
mod suggest;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use migrate_core::Error;

use self::sources::{
    BOOL, COUNT, DURATION, FACTOR, IDENTIFIER, LIMIT, PATTERNS, RATIO, REASONS, RETRIES,
    STATEMENTS, STRING, Sources,
};

/// The name of the configuration file, looked for in the working folder and its ancestors.
pub const FILE_NAME: &str = "Migrate.toml";

/// The environment variable naming the configuration file to use.
pub const CONFIG_ENV: &str = "MIGRATE_CONFIG";

/// The history table used when none is configured.
pub const DEFAULT_HISTORY_TABLE: &str = "_migrate_history";

/// The fully resolved configuration: file, environment and defaults combined.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The folder holding `Migrate.toml` (the working folder when there is
    /// none); relative paths and SQLite URLs are resolved against it.
    pub root: PathBuf,
    /// The `Migrate.toml` that was read, if any.
    pub file: Option<PathBuf>,
    /// The migrations package to build and run (`package`).
    pub package: Option<String>,
    /// The table recording applied migrations (`history_table`).
    pub history_table: String,
    /// The production database (`[database]`).
    pub database: DatabaseConfig,
    /// The rehearsal database (`[staging]`).
    pub staging: StagingConfig,
    /// Backups taken before applying (`[backup]`).
    pub backup: BackupConfig,
    /// How migrations are applied (`[apply]`).
    pub apply: ApplyConfig,
    /// Health checks after applying (`[verify]`).
    pub verify: VerifyConfig,
}

/// The `[database]` section.
#[derive(Clone, Default, PartialEq)]
pub struct DatabaseConfig {
    /// The database URL as written (it may hold a password); see
    /// [`Config::database_url`] for the resolved form.
    pub url: Option<String>,
}

/// The `[staging]` section.
#[derive(Clone, PartialEq)]
pub struct StagingConfig {
    /// The staging database URL as written; see [`Config::staging_url`].
    pub url: Option<String>,
    /// Whether staging is refreshed from production before each rehearsal.
    pub clone: bool,
    /// The longest a whole rehearsal may take.
    pub max_duration: Duration,
    /// The longest a rehearsal statement may block other sessions.
    pub lock_budget: Duration,
    /// The longest a single migration may take in rehearsal, if limited.
    pub max_migration_duration: Option<Duration>,
}

/// The `[backup]` section.
#[derive(Clone, Debug, PartialEq)]
pub struct BackupConfig {
    /// Where backups are written, resolved against [`Config::root`].
    pub dir: PathBuf,
    /// How many backups to keep.
    pub keep: usize,
}

/// The `[apply]` section.
#[derive(Clone, Debug, PartialEq)]
pub struct ApplyConfig {
    /// How long to wait for the migrator lock held by another deployer.
    pub lock_wait: Duration,
    /// The per-statement DDL lock timeout on the database.
    pub lock_timeout: Duration,
    /// How many times a statement that hit the lock timeout is retried (at most 100).
    pub lock_retries: u32,
    /// The per-statement timeout; `None` (written `"0s"`) means no limit.
    pub statement_timeout: Option<Duration>,
    /// Whether `apply` refuses without a passing rehearsal.
    pub require_rehearsal: bool,
    /// How long to wait for a database connection.
    pub connect_timeout: Duration,
}

/// The `[verify]` section.
#[derive(Clone, PartialEq)]
pub struct VerifyConfig {
    /// Globs of application query files that must still prepare, relative to [`Config::root`].
    pub queries: Vec<String>,
    /// Read-only queries whose latency is compared with a baseline.
    pub probes: Vec<String>,
    /// How many times slower than the baseline a probe may become (at least 1.0).
    pub latency_regression: f64,
    /// How long metrics are watched after applying.
    pub window: Duration,
    /// Latency increases smaller than this never count as a regression.
    pub latency_floor: Duration,
    /// A Prometheus-style metrics endpoint to watch, if any.
    pub metrics_url: Option<String>,
    /// The request counter's name (default: the metrics module's convention).
    pub metrics_requests: Option<String>,
    /// The error counter's name (default: the metrics module's convention).
    pub metrics_errors: Option<String>,
    /// The latency histogram's name (default: the metrics module's convention).
    pub metrics_latency: Option<String>,
    /// The highest acceptable error rate, between 0 and 1.
    pub error_rate_max: f64,
    /// How many times the error rate before the change it may become.
    pub error_rate_regression: f64,
    /// Most sessions that may wait on a lock after the change.
    pub lock_waiters_max: usize,
    /// A shell command to run as a final check, if any.
    pub command: Option<String>,
    /// How long the command may run before it is killed (and fails).
    pub command_timeout: Duration,
    /// Disabled checks, each with the reason shown in every report.
    pub disable: BTreeMap<String, String>,
}

impl Default for StagingConfig {
    fn default() -> Self {
        StagingConfig {
            url: None,
            clone: true,
            max_duration: Duration::from_secs(5 * 60),
            lock_budget: Duration::from_secs(1),
            max_migration_duration: None,
        }
    }
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig {
            dir: PathBuf::from("backups"),
            keep: 10,
        }
    }
}

impl Default for ApplyConfig {
    fn default() -> Self {
        ApplyConfig {
            lock_wait: Duration::from_secs(5 * 60),
            lock_timeout: Duration::from_secs(2),
            lock_retries: 5,
            statement_timeout: None,
            require_rehearsal: true,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

impl Default for VerifyConfig {
    fn default() -> Self {
        VerifyConfig {
            queries: vec!["queries/*.sql".to_owned(), ".sqlx".to_owned()],
            probes: Vec::new(),
            latency_regression: 2.0,
            window: Duration::from_secs(30),
            latency_floor: Duration::from_millis(5),
            metrics_url: None,
            metrics_requests: None,
            metrics_errors: None,
            metrics_latency: None,
            error_rate_max: 0.01,
            error_rate_regression: 2.0,
            lock_waiters_max: 0,
            command: None,
            command_timeout: Duration::from_secs(5 * 60),
            disable: BTreeMap::new(),
        }
    }
}

/// Shows whether a URL is set without showing it: URLs may hold passwords.
fn redacted(url: &Option<String>) -> Option<&'static str> {
    url.as_ref().map(|_| "<redacted>")
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redacted(&self.url))
            .finish()
    }
}

impl fmt::Debug for StagingConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StagingConfig")
            .field("url", &redacted(&self.url))
            .field("clone", &self.clone)
            .field("max_duration", &self.max_duration)
            .field("lock_budget", &self.lock_budget)
            .field("max_migration_duration", &self.max_migration_duration)
            .finish()
    }
}

impl fmt::Debug for VerifyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyConfig")
            .field("queries", &self.queries)
            .field("probes", &self.probes)
            .field("latency_regression", &self.latency_regression)
            .field("window", &self.window)
            .field("metrics_url", &redacted(&self.metrics_url))
            .field("error_rate_max", &self.error_rate_max)
            .field("command", &self.command)
            .field("disable", &self.disable)
            .finish()
    }
}

impl Config {
    /// Finds `Migrate.toml` and reads it with the environment overlaid.
    ///
    /// The file is `explicit` if given (an error if it does not exist; a
    /// folder means the `Migrate.toml` inside it), else the file named by
    /// `MIGRATE_CONFIG`, else the first `Migrate.toml` found walking up from
    /// `cwd` to the filesystem root. Relative paths are taken from `cwd`.
    /// With no file, the result holds the defaults (and the environment)
    /// with `root = cwd` and `file = None`.
    ///
    /// `env` looks up environment variables; the real caller passes
    /// `&|k| std::env::var(k).ok()`.
    pub fn load(
        explicit: Option<&Path>,
        cwd: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, Error> {
        let from_env = env(CONFIG_ENV).filter(|path| !path.trim().is_empty());
        let file = match (explicit, from_env) {
            (Some(path), _) => Some(named_file(&cwd.join(path), "the --config path")?),
            (None, Some(path)) => Some(named_file(
                &cwd.join(path),
                &format!("the {CONFIG_ENV} environment variable"),
            )?),
            (None, None) => cwd
                .ancestors()
                .map(|dir| dir.join(FILE_NAME))
                .find(|candidate| candidate.is_file()),
        };
        let Some(file) = file else {
            return Config::from_str("", cwd, None, env);
        };
        let text = std::fs::read_to_string(&file).map_err(|err| {
            Error::Config(format!(
                "cannot read {}: {err}; check that it is a readable UTF-8 file",
                file.display()
            ))
        })?;
        let root = file.parent().unwrap_or(cwd);
        Config::from_str(&text, root, Some(&file), env)
    }

    /// Reads the text of a `Migrate.toml` with the environment overlaid.
    ///
    /// `root` is the folder relative paths are resolved against and `file`
    /// the path shown in error messages. All problems found (unknown keys,
    /// wrong values, bad environment variables) are reported together, one
    /// per line.
    ///
    /// ```
    /// # use std::path::Path;
    /// # use std::time::Duration;
    /// # use migrate_cli::config::Config;
    /// let env = |name: &str| (name == "MIGRATE_BACKUP_KEEP").then(|| "3".to_owned());
    /// let config = Config::from_str(
    ///     "[apply]\nlock_timeout = \"3s\"\n[backup]\nkeep = 5",
    ///     Path::new("/srv/app"),
    ///     None,
    ///     &env,
    /// )?;
    /// assert_eq!(config.apply.lock_timeout, Duration::from_secs(3));
    /// assert_eq!(config.backup.keep, 3); // the environment wins over the file
    /// assert_eq!(config.backup.dir, Path::new("/srv/app/backups"));
    /// # Ok::<(), migrate_core::Error>(())
    /// ```
    pub fn from_str(
        text: &str,
        root: &Path,
        file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, Error> {
        let origin = match file {
            Some(file) => file.display().to_string(),
            None => FILE_NAME.to_owned(),
        };
        let table: toml::Table = toml::from_str(text).map_err(|err| {
            let position = err
                .span()
                .map(|span| {
                    let (line, column) = line_column(text, span.start);
                    format!(" at line {line}, column {column}")
                })
                .unwrap_or_default();
            let message = err
                .message()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            Error::Config(format!(
                "cannot parse {origin}{position}: {message}; fix the TOML syntax there"
            ))
        })?;

        let mut sources = Sources::new(&table, &origin, env);
        sources.check_keys();
        let config = read(&mut sources, root, file);
        if sources.errors.is_empty() {
            Ok(config)
        } else {
            Err(Error::Config(sources.errors.join("\n")))
        }
    }

    /// Resolves a path against [`Config::root`]; an absolute path stays as it is.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        self.root.join(path)
    }

    /// Makes the path of a relative SQLite URL relative to [`Config::root`]:
    /// `sqlite://data/app.db` with root `/x` becomes `sqlite:///x/data/app.db`.
    ///
    /// The query string is kept; absolute SQLite paths, in-memory databases
    /// (`sqlite::memory:`) and other schemes are returned unchanged.
    pub fn resolve_url(&self, url: &str) -> String {
        let Some(rest) = url
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case("sqlite:"))
            .map(|_| &url[7..])
        else {
            return url.to_owned();
        };
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let (path, query) = match rest.find('?') {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        if path.is_empty() || path.starts_with(":memory:") || Path::new(path).is_absolute() {
            return url.to_owned();
        }
        // sqlx percent-decodes the path, so characters of the root that would
        // end the path or start an escape are encoded.
        let root = self.root.to_string_lossy();
        let mut absolute = String::with_capacity(root.len() + path.len() + 1);
        for c in root.chars() {
            match c {
                '%' => absolute.push_str("%25"),
                '?' => absolute.push_str("%3F"),
                '#' => absolute.push_str("%23"),
                _ => absolute.push(c),
            }
        }
        if !absolute.is_empty()
            && !absolute.ends_with(std::path::MAIN_SEPARATOR)
            && !absolute.ends_with('/')
        {
            absolute.push('/');
        }
        absolute.push_str(path.strip_prefix("./").unwrap_or(path));
        format!("sqlite://{absolute}{query}")
    }

    /// The production database URL, with a relative SQLite path resolved.
    pub fn database_url(&self) -> Option<String> {
        self.database
            .url
            .as_deref()
            .map(|url| self.resolve_url(url))
    }

    /// The staging database URL, with a relative SQLite path resolved.
    pub fn staging_url(&self) -> Option<String> {
        self.staging.url.as_deref().map(|url| self.resolve_url(url))
    }
}

/// Checks that a file named on purpose exists; a folder means its `Migrate.toml`.
fn named_file(path: &Path, named_by: &str) -> Result<PathBuf, Error> {
    let file = if path.is_dir() {
        path.join(FILE_NAME)
    } else {
        path.to_path_buf()
    };
    if file.is_file() {
        Ok(file)
    } else {
        Err(Error::Config(format!(
            "configuration file {} does not exist; fix {named_by} or create the file",
            file.display()
        )))
    }
}

/// The 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Reads every key, environment first, falling back to the defaults.
fn read(s: &mut Sources<'_>, root: &Path, file: Option<&Path>) -> Config {
    let staging_default = StagingConfig::default();
    let backup_default = BackupConfig::default();
    let apply_default = ApplyConfig::default();
    let verify_default = VerifyConfig::default();
    let database_url = s.get(Some("database"), "url", &STRING);
    let staging_url = s.get(Some("staging"), "url", &STRING);
    let staging = StagingConfig {
        url: s.env("STAGING_DATABASE_URL").or(staging_url),
        clone: s
            .get(Some("staging"), "clone", &BOOL)
            .unwrap_or(staging_default.clone),
        max_duration: s
            .get(Some("staging"), "max_duration", &DURATION)
            .unwrap_or(staging_default.max_duration),
        lock_budget: s
            .get(Some("staging"), "lock_budget", &DURATION)
            .unwrap_or(staging_default.lock_budget),
        max_migration_duration: s
            .get(Some("staging"), "max_migration_duration", &LIMIT)
            .unwrap_or(staging_default.max_migration_duration),
    };
    let backup_dir = s
        .get(Some("backup"), "dir", &STRING)
        .map_or(backup_default.dir, PathBuf::from);
    let backup = BackupConfig {
        dir: root.join(backup_dir),
        keep: s
            .get(Some("backup"), "keep", &COUNT)
            .unwrap_or(backup_default.keep),
    };
    let apply = ApplyConfig {
        lock_wait: s
            .get(Some("apply"), "lock_wait", &DURATION)
            .unwrap_or(apply_default.lock_wait),
        lock_timeout: s
            .get(Some("apply"), "lock_timeout", &DURATION)
            .unwrap_or(apply_default.lock_timeout),
        lock_retries: s
            .get(Some("apply"), "lock_retries", &RETRIES)
            .unwrap_or(apply_default.lock_retries),
        statement_timeout: s
            .get(Some("apply"), "statement_timeout", &LIMIT)
            .unwrap_or(apply_default.statement_timeout),
        require_rehearsal: s
            .get(Some("apply"), "require_rehearsal", &BOOL)
            .unwrap_or(apply_default.require_rehearsal),
        connect_timeout: s
            .get(Some("apply"), "connect_timeout", &DURATION)
            .unwrap_or(apply_default.connect_timeout),
    };
    let verify = VerifyConfig {
        queries: s
            .get(Some("verify"), "queries", &PATTERNS)
            .unwrap_or(verify_default.queries),
        probes: s
            .get(Some("verify"), "probes", &STATEMENTS)
            .unwrap_or(verify_default.probes),
        latency_regression: s
            .get(Some("verify"), "latency_regression", &FACTOR)
            .unwrap_or(verify_default.latency_regression),
        window: s
            .get(Some("verify"), "window", &DURATION)
            .unwrap_or(verify_default.window),
        latency_floor: s
            .get(Some("verify"), "latency_floor", &DURATION)
            .unwrap_or(verify_default.latency_floor),
        metrics_url: s.get(Some("verify"), "metrics_url", &STRING),
        metrics_requests: s.get(Some("verify"), "metrics_requests", &STRING),
        metrics_errors: s.get(Some("verify"), "metrics_errors", &STRING),
        metrics_latency: s.get(Some("verify"), "metrics_latency", &STRING),
        error_rate_regression: s
            .get(Some("verify"), "error_rate_regression", &FACTOR)
            .unwrap_or(verify_default.error_rate_regression),
        lock_waiters_max: s
            .get(Some("verify"), "lock_waiters_max", &COUNT)
            .unwrap_or(verify_default.lock_waiters_max),
        command_timeout: s
            .get(Some("verify"), "command_timeout", &DURATION)
            .unwrap_or(verify_default.command_timeout),
        error_rate_max: s
            .get(Some("verify"), "error_rate_max", &RATIO)
            .unwrap_or(verify_default.error_rate_max),
        command: s.get(Some("verify"), "command", &STRING),
        disable: s
            .get(Some("verify"), "disable", &REASONS)
            .unwrap_or(verify_default.disable),
    };
    Config {
        root: root.to_path_buf(),
        file: file.map(Path::to_path_buf),
        package: s.get(None, "package", &STRING),
        history_table: s
            .get(None, "history_table", &IDENTIFIER)
            .unwrap_or_else(|| DEFAULT_HISTORY_TABLE.to_owned()),
        database: DatabaseConfig {
            url: s.env("DATABASE_URL").or(database_url),
        },
        staging,
        backup,
        apply,
        verify,
    }
}
