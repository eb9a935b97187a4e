//! `cargo migrate init`: scaffolds the migrations package, its runner,
//! Migrate.toml, `queries/` and a first migration, and adds the package to
//! the workspace. Never prompts; refuses rather than overwrites.

use std::path::{Path, PathBuf};

use migrate_cli::config::FILE_NAME;
use migrate_cli::output::{Output, Tone, table};
use migrate_core::Error;
use serde_json::json;

use crate::args::InitArgs;
use crate::edit::{self, MemberEdit, toml_string};
use crate::timestamp::{Timestamp, version_text};
use crate::{locate, show};

/// The cargo-migrate checkout this binary was built from, whose
/// `migrate-core/` and `migrate-cli/` become path dependencies by default
/// while the crates are unpublished.
const CHECKOUT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The version written when no source of the crates is known.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The entries `init` adds to `.gitignore`: the SQLite databases and backups.
const IGNORED: [&str; 2] = ["data/", "backups/"];

/// Where migrate-core and migrate-cli come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A cargo-migrate checkout holding `migrate-core/` and `migrate-cli/`.
    Path(PathBuf),
    /// A git repository of cargo-migrate.
    Git(String),
    /// crates.io, at this version.
    Version(String),
}

impl Source {
    /// The dependency's value in Cargo.toml for the crate in folder `krate`
    /// (`migrate-core` or `migrate-cli`), whose published package name differs.
    fn dependency(&self, krate: &str) -> String {
        let package = match krate {
            "migrate-cli" => "cargo-migrate",
            _ => "cargo-migrate-core",
        };
        match self {
            Source::Path(dir) => format!(
                "{{ package = \"{package}\", path = {} }}",
                toml_string(&dir.join(krate).to_string_lossy())
            ),
            Source::Git(url) => {
                format!("{{ package = \"{package}\", git = {} }}", toml_string(url))
            }
            Source::Version(v) => format!(
                "{{ package = \"{package}\", version = {} }}",
                toml_string(v)
            ),
        }
    }

    fn describe(&self) -> String {
        match self {
            Source::Path(dir) => format!("from {}", dir.display()),
            Source::Git(url) => format!("from {url}"),
            Source::Version(v) => format!("version {v} from crates.io"),
        }
    }
}

/// Chooses the crates' source: `--git`, `--path`, the checkout this binary
/// was built from if it still exists, else this binary's version.
fn source(args: &InitArgs, cwd: &Path) -> Result<Source, Error> {
    if let Some(url) = &args.git {
        return Ok(Source::Git(url.clone()));
    }
    let is_checkout = |dir: &Path| {
        ["migrate-core", "migrate-cli"]
            .iter()
            .all(|k| dir.join(k).join("Cargo.toml").is_file())
    };
    if let Some(dir) = &args.path {
        let dir = cwd.join(dir);
        return match dir.canonicalize() {
            Ok(dir) if is_checkout(&dir) => Ok(Source::Path(dir)),
            _ => Err(Error::Config(format!(
                "--path {} is not a cargo-migrate checkout: it needs migrate-core/Cargo.toml and \
                 migrate-cli/Cargo.toml\n  Pass the folder holding them (the repository's root). Nothing was written.",
                dir.display()
            ))),
        };
    }
    match Path::new(CHECKOUT).canonicalize() {
        Ok(dir) if is_checkout(&dir) => Ok(Source::Path(dir)),
        _ => Ok(Source::Version(VERSION.to_string())),
    }
}

/// Checks `--name`: a package name that also works as a crate name.
fn check_package_name(name: &str) -> Result<(), Error> {
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "`{name}` is not a valid package name: use letters, digits, `-` and `_`, starting with a letter \
             (such as `migrations` or `shop-migrations`). Nothing was written."
        )))
    }
}

/// Every file `init` creates, relative to the workspace root.
pub fn files(name: &str, source: &Source, now: Timestamp) -> Vec<(PathBuf, String)> {
    let krate = name.replace('-', "_");
    let version = now.version();
    let first = format!("m{}_init", version_text(version));
    let dir = PathBuf::from(name);
    vec![
        (dir.join("Cargo.toml"), cargo_toml(name, source)),
        (dir.join("src/lib.rs"), lib_rs(&first)),
        (dir.join("src/main.rs"), main_rs(name, &krate)),
        (
            dir.join(format!("src/{first}.rs")),
            first_migration(version),
        ),
        (PathBuf::from(FILE_NAME), migrate_toml(name)),
        (
            PathBuf::from("queries/README.md"),
            QUERIES_README.to_string(),
        ),
    ]
}

fn cargo_toml(name: &str, source: &Source) -> String {
    format!(
        r#"[package]
name = {name}
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
# The database backends are cargo features of both crates; sqlite is on by
# default. For PostgreSQL or MySQL/MariaDB add `features = ["postgres"]` or
# `features = ["mysql"]` to both (and `default-features = false` to drop sqlite).
migrate-core = {core}
migrate-cli = {cli}
"#,
        name = toml_string(name),
        core = source.dependency("migrate-core"),
        cli = source.dependency("migrate-cli"),
    )
}

fn lib_rs(first: &str) -> String {
    format!(
        "//! The database migrations: one module per migration, each registered by\n\
         //! `#[migration]`. `cargo migrate new <name>` adds a file and its `mod` line.\n\
         \n\
         mod {first};\n"
    )
}

fn main_rs(name: &str, krate: &str) -> String {
    format!(
        "//! The migrations runner: `cargo migrate <command>` builds and runs it, as\n\
         //! does `cargo run -p {name} -- <command>`.\n\
         \n\
         use {krate} as _; // links the library, so its migrations register\n\
         \n\
         fn main() -> std::process::ExitCode {{\n    migrate_cli::run()\n}}\n"
    )
}

fn first_migration(version: u64) -> String {
    format!(
        r#"//! The first migration, written by `cargo migrate init`: edit it or replace
//! it before it is applied anywhere that matters.

use migrate_core::{{Db, Result, migration}};

/// Creates the app_settings table.
#[migration({version}, reversible)]
async fn init(db: &mut Db) -> Result<()> {{
    db.execute(
        "CREATE TABLE app_settings (id BIGINT PRIMARY KEY, name VARCHAR(255) NOT NULL UNIQUE, value TEXT NOT NULL)",
    )
    .await?;
    Ok(())
}}

async fn init_down(db: &mut Db) -> Result<()> {{
    db.execute("DROP TABLE app_settings").await?;
    Ok(())
}}
"#,
        version = version_text(version)
    )
}

fn migrate_toml(name: &str) -> String {
    format!(
        r#"# cargo-migrate settings. Relative paths and SQLite files are relative to this
# folder. Any key can be overridden as MIGRATE_<SECTION>_<KEY> (for example
# MIGRATE_APPLY_LOCK_TIMEOUT=5s); DATABASE_URL and STAGING_DATABASE_URL win over
# the urls below. The commented keys show their defaults.

# The migrations package, whose runner `cargo migrate` builds and runs.
package = {package}
# history_table = "_migrate_history"

[database]
# postgres://user@host:5432/db and mysql://user@host:3306/db work too (enable
# the backend's feature in {name}/Cargo.toml); keep passwords in DATABASE_URL.
url = "sqlite://data/app.db"

[staging]
# Where `cargo migrate stage` rehearses pending migrations before `apply`.
url = "sqlite://data/staging.db"
# clone = true
# max_duration = "5m"
# lock_budget = "1s"

[backup]
dir = "backups"
# keep = 10

# [apply]
# lock_wait = "5m"
# lock_timeout = "2s"
# lock_retries = 5
# statement_timeout = "0s"
# require_rehearsal = true

# [verify]
# queries = ["queries/*.sql", ".sqlx"]
# probes = ["SELECT count(*) FROM app_settings"]
# latency_regression = 2.0
# window = "30s"
# metrics_url = "http://127.0.0.1:9100/metrics"
# error_rate_max = 0.01
# command = "./scripts/smoke-test.sh"
"#,
        package = toml_string(name)
    )
}

const QUERIES_README: &str = "\
Application queries, one `.sql` file per query. `cargo migrate stage` and
`cargo migrate verify` check that each still prepares against the new schema
(they are prepared, never executed).
";

/// What `init` changes in files that may exist already.
struct Edits {
    manifest: Option<String>,
    manifest_problem: Option<String>,
    gitignore: Option<String>,
}

/// Runs `init`.
pub fn run(args: &InitArgs, out: &Output) -> Result<u8, Error> {
    check_package_name(&args.name)?;
    let cwd = std::env::current_dir()?;
    let metadata = locate::workspace(
        &cwd,
        "`cargo migrate init` adds a migrations package to an existing cargo project: create one with \
         `cargo new app` and run it inside. Nothing was written.",
    )?;
    let root = metadata.workspace_root.clone().into_std_path_buf();
    let existing: Vec<String> = [(args.name.as_str(), "/"), (FILE_NAME, "")]
        .iter()
        .filter(|(name, _)| root.join(name).exists())
        .map(|(name, slash)| format!("`{name}{slash}`"))
        .collect();
    if !existing.is_empty() {
        let (verb, pronoun) = if existing.len() == 1 {
            ("exists", "it")
        } else {
            ("exist", "them")
        };
        let or_rename = if root.join(FILE_NAME).exists() {
            ""
        } else {
            " (or pick another package name with `--name`)"
        };
        return Err(Error::Refused(format!(
            "{} {verb} already in {}: this project looks initialized\n  Nothing was written. To scaffold \
             again, move {pronoun} away{or_rename}.",
            existing.join(" and "),
            root.display(),
        )));
    }
    if metadata
        .workspace_packages()
        .iter()
        .any(|p| *p.name == args.name)
    {
        return Err(Error::Refused(format!(
            "the workspace at {} has a package named `{}` already\n  Choose another name with `--name`. Nothing was written.",
            root.display(),
            args.name
        )));
    }
    let source = source(args, &cwd)?;
    let files = files(&args.name, &source, Timestamp::now());

    let manifest_path = root.join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path)?;
    let gitignore_path = root.join(".gitignore");
    let gitignore = std::fs::read_to_string(&gitignore_path).ok();
    let (manifest, manifest_problem) = match edit::add_member(&manifest, &args.name) {
        Ok(MemberEdit::Added(text)) => (Some(text), None),
        Ok(MemberEdit::AlreadyMember) => (None, None),
        Err(why) => (None, Some(why)),
    };
    let edits = Edits {
        manifest,
        manifest_problem,
        gitignore: edit::gitignore_with(gitignore.as_deref(), &IGNORED),
    };

    let mut written = Vec::new();
    for (relative, text) in &files {
        let path = root.join(relative);
        if relative.starts_with("queries") && path.exists() {
            continue;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        crate::write_new(&path, text)?;
        written.push(relative.clone());
    }
    let mut edited = Vec::new();
    if let Some(text) = &edits.manifest {
        std::fs::write(&manifest_path, text)?;
        edited.push((
            PathBuf::from("Cargo.toml"),
            format!("workspace members += {}", toml_string(&args.name)),
        ));
    }
    if let Some(text) = &edits.gitignore {
        std::fs::write(&gitignore_path, text)?;
        let what = if gitignore.is_some() {
            "ignores"
        } else {
            "created: ignores"
        };
        edited.push((
            PathBuf::from(".gitignore"),
            format!("{what} {}", IGNORED.join(" ")),
        ));
    }
    let member_problem = edits.manifest_problem.map(|why| {
        format!(
            "cannot add `{name}` to the workspace members in {}: {why}\n  Add it by hand: `members = [\"{name}\"]` \
             under `[workspace]` (with \".\" too when that Cargo.toml is also a package).",
            show(&manifest_path),
            name = args.name
        )
    });
    let member_problem = member_problem.or_else(|| member_check(&root, &args.name));

    report(
        out,
        args,
        &source,
        &root,
        &written,
        &edited,
        member_problem.as_deref(),
    );
    Ok(0)
}

/// Confirms with cargo that the new package is a workspace member; says
/// what is wrong otherwise.
fn member_check(root: &Path, name: &str) -> Option<String> {
    match locate::workspace(root, "Check the workspace's Cargo.toml.") {
        Ok(m) if m.workspace_packages().iter().any(|p| *p.name == name) => None,
        Ok(_) => Some(format!(
            "cargo does not list `{name}` as a member of the workspace at {}\n  Add it to `members` under `[workspace]` \
             in its Cargo.toml (check `exclude`).",
            root.display()
        )),
        Err(e) => Some(e.to_string()),
    }
}

fn report(
    out: &Output,
    args: &InitArgs,
    source: &Source,
    root: &Path,
    written: &[PathBuf],
    edited: &[(PathBuf, String)],
    problem: Option<&str>,
) {
    let name = &args.name;
    if out.json() {
        out.document(&json!({
            "ok": problem.is_none(),
            "package": name,
            "root": root,
            "written": written,
            "edited": edited.iter().map(|(p, what)| json!({ "file": p, "change": what })).collect::<Vec<_>>(),
            "dependencies": match source {
                Source::Path(dir) => json!({ "path": dir }),
                Source::Git(url) => json!({ "git": url }),
                Source::Version(v) => json!({ "version": v }),
            },
            "warning": problem,
        }));
        return;
    }
    let describe = |path: &Path| -> String {
        let file = path.to_string_lossy();
        if file.ends_with("Cargo.toml") {
            "the package: a library of migrations and its runner".into()
        } else if file.ends_with("lib.rs") {
            "one `mod` line per migration".into()
        } else if file.ends_with("main.rs") {
            "the runner that `cargo migrate` builds and runs".into()
        } else if file.ends_with(FILE_NAME) {
            "database sqlite://data/app.db, staging sqlite://data/staging.db".into()
        } else if file.starts_with("queries") {
            "application queries, checked against each new schema".into()
        } else {
            "first migration: creates the app_settings table".into()
        }
    };
    let prefix = |p: &Path| show(&root.join(p));
    let mut rows: Vec<Vec<String>> = written
        .iter()
        .map(|p| vec![prefix(p), describe(p)])
        .collect();
    rows.extend(edited.iter().map(|(p, what)| vec![prefix(p), what.clone()]));
    out.line(format!(
        "{} the migrations package `{name}` (migrate-core and migrate-cli {})",
        out.paint("created", Tone::Good),
        source.describe()
    ));
    for line in table(&rows) {
        out.line(line);
    }
    if let Some(problem) = problem {
        eprintln!("{} {problem}", out.paint_err("warning:", Tone::Warn));
    }
    out.line("");
    out.line(out.paint("next", Tone::Bold));
    let steps = [
        vec![
            "cargo migrate status".to_string(),
            "build the runner (the first build takes a few minutes) and list 1 pending migration"
                .to_string(),
        ],
        vec![
            "cargo migrate new add_users".to_string(),
            format!("add {name}/src/m<timestamp>_add_users.rs"),
        ],
        vec![
            "cargo migrate stage".to_string(),
            "rehearse the pending migrations on sqlite://data/staging.db".to_string(),
        ],
        vec![
            "cargo migrate apply".to_string(),
            "back up sqlite://data/app.db, then apply them to it".to_string(),
        ],
    ];
    for line in table(&steps) {
        out.line(line);
    }
    out.line("`cargo migrate deploy` does all of it (stage, backup, apply, verify) in one go.");
}

#[cfg(test)]
#[expect(
    clippy::inconsistent_digit_grouping,
    reason = "versions are written YYYYMMDD_HHMMSS, as in migration attributes"
)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::from_version(20241124_120000).expect("valid")
    }

    #[test]
    fn the_scaffold_has_every_file() {
        let files = files("shop-migrations", &Source::Version("0.1.0".into()), now());
        let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
        assert_eq!(
            names,
            [
                "shop-migrations/Cargo.toml",
                "shop-migrations/src/lib.rs",
                "shop-migrations/src/main.rs",
                "shop-migrations/src/m20241124_120000_init.rs",
                "Migrate.toml",
                "queries/README.md",
            ]
        );
        let text = |i: usize| files[i].1.as_str();
        assert!(
            text(0).contains("name = \"shop-migrations\"")
                && text(0)
                    .contains("migrate-cli = { package = \"cargo-migrate\", version = \"0.1.0\" }")
        );
        assert!(text(1).ends_with("\nmod m20241124_120000_init;\n"));
        assert!(
            text(2).contains("use shop_migrations as _;") && text(2).contains("migrate_cli::run()")
        );
        assert!(
            text(3)
                .contains("#[migration(20241124_120000, reversible)]\nasync fn init(db: &mut Db)")
        );
        assert!(text(3).contains("async fn init_down(db: &mut Db)"));
    }

    #[test]
    fn dependencies_follow_the_source() {
        let path = Source::Path(PathBuf::from("/src/cargo migrate"));
        assert_eq!(
            path.dependency("migrate-core"),
            "{ package = \"cargo-migrate-core\", path = \"/src/cargo migrate/migrate-core\" }"
        );
        let git = Source::Git("https://example.com/cargo-migrate.git".into());
        assert_eq!(
            git.dependency("migrate-cli"),
            "{ package = \"cargo-migrate\", git = \"https://example.com/cargo-migrate.git\" }"
        );
        for source in [path, git, Source::Version("0.1.0".into())] {
            let manifest: toml::Table = cargo_toml("migrations", &source)
                .parse()
                .expect("valid TOML");
            assert!(manifest["dependencies"].get("migrate-core").is_some());
        }
    }

    #[test]
    fn the_built_from_checkout_is_the_default_source() {
        let args = InitArgs {
            path: None,
            git: None,
            name: "migrations".into(),
        };
        let expected = Path::new(CHECKOUT)
            .canonicalize()
            .expect("the checkout exists while testing");
        assert_eq!(
            source(&args, Path::new("/")).ok(),
            Some(Source::Path(expected))
        );
        let bad = InitArgs {
            path: Some(PathBuf::from("/nonexistent")),
            ..args
        };
        assert_eq!(
            source(&bad, Path::new("/")).map_err(|e| e.exit_code()),
            Err(2)
        );
    }

    #[test]
    fn migrate_toml_loads_and_every_commented_key_is_valid() {
        use migrate_cli::config::Config;
        let dir = tempfile::tempdir().expect("temp dir");
        let text = migrate_toml("migrations");
        std::fs::write(dir.path().join(FILE_NAME), &text).expect("write");
        let no_env = |_: &str| None;
        let config =
            Config::load(None, dir.path(), &no_env).expect("the scaffolded Migrate.toml loads");
        assert_eq!(config.package.as_deref(), Some("migrations"));
        assert_eq!(config.backup.dir, dir.path().join("backups"));
        fn commented_setting(l: &str) -> Option<&str> {
            l.strip_prefix("# ").filter(|rest| {
                rest.starts_with('[')
                    || rest
                        .split_once(" = ")
                        .is_some_and(|(k, _)| !k.contains(' '))
            })
        }
        let uncommented: String = text
            .lines()
            .map(|l| commented_setting(l).unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            uncommented.contains("\n[apply]\nlock_wait = \"5m\""),
            "{uncommented}"
        );
        std::fs::write(dir.path().join(FILE_NAME), &uncommented).expect("write");
        let config =
            Config::load(None, dir.path(), &no_env).expect("every documented key is valid");
        assert_eq!(config.history_table, "_migrate_history");
        assert_eq!(config.apply, migrate_cli::config::ApplyConfig::default());
    }

    #[test]
    fn package_names_are_checked() {
        assert!(check_package_name("migrations").is_ok());
        assert!(check_package_name("shop-migrations_2").is_ok());
        for bad in ["", "1x", "a b", "../x", "x/y"] {
            assert!(check_package_name(bad).is_err(), "{bad}");
        }
    }
}
