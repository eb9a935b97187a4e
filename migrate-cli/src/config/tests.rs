//! Specifications of how `Migrate.toml` and the environment become a [`Config`].

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::*;

/// A fresh folder under the system temporary folder, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("migrate-config-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir.canonicalize().unwrap())
    }

    fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.0.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn no_env(_: &str) -> Option<String> {
    None
}

/// An environment holding exactly `vars`.
fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: BTreeMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |key| vars.get(key).cloned()
}

fn parse(text: &str) -> Result<Config, Error> {
    Config::from_str(
        text,
        Path::new("/x"),
        Some(Path::new("/x/Migrate.toml")),
        &no_env,
    )
}

fn parse_with_env(text: &str, vars: &[(&str, &str)]) -> Result<Config, Error> {
    Config::from_str(
        text,
        Path::new("/x"),
        Some(Path::new("/x/Migrate.toml")),
        &env_of(vars),
    )
}

fn message(result: Result<Config, Error>) -> String {
    match result {
        Err(Error::Config(message)) => message,
        Err(other) => panic!("expected a config error, got {other:?}"),
        Ok(config) => panic!("expected an error, got {config:?}"),
    }
}

#[test]
fn defaults_apply_when_there_is_no_file() {
    let scratch = Scratch::new();
    let cwd = scratch.0.join("empty");
    fs::create_dir_all(&cwd).unwrap();

    let config = Config::load(None, &cwd, &no_env).unwrap();

    assert_eq!(config.root, cwd);
    assert_eq!(config.file, None);
    assert_eq!(config.package, None);
    assert_eq!(config.history_table, "_migrate_history");
    assert_eq!(config.database.url, None);
    assert_eq!(config.staging, StagingConfig::default());
    assert!(config.staging.clone);
    assert_eq!(config.staging.max_duration, Duration::from_secs(300));
    assert_eq!(config.staging.lock_budget, Duration::from_secs(1));
    assert_eq!(config.staging.max_migration_duration, None);
    assert_eq!(config.backup.dir, cwd.join("backups"));
    assert_eq!(config.backup.keep, 10);
    assert_eq!(config.apply, ApplyConfig::default());
    assert_eq!(config.apply.lock_wait, Duration::from_secs(300));
    assert_eq!(config.apply.lock_timeout, Duration::from_secs(2));
    assert_eq!(config.apply.lock_retries, 5);
    assert_eq!(config.apply.statement_timeout, None);
    assert!(config.apply.require_rehearsal);
    assert_eq!(config.apply.connect_timeout, Duration::from_secs(10));
    assert_eq!(config.verify, VerifyConfig::default());
    assert_eq!(config.verify.queries, ["queries/*.sql", ".sqlx"]);
    assert!(config.verify.probes.is_empty());
    assert_eq!(config.verify.latency_regression, 2.0);
    assert_eq!(config.verify.window, Duration::from_secs(30));
    assert_eq!(config.verify.error_rate_max, 0.01);
    assert!(config.verify.disable.is_empty());
}

const FULL: &str = r#"
package = "shop-migrations"
history_table = "shop_history"

[database]
url = "postgres://app:hunter2@db/shop"

[staging]
url = "sqlite://data/staging.db"
clone = false
max_duration = "10m"
lock_budget = "500ms"
max_migration_duration = "2m"

[backup]
dir = "/var/backups/shop"
keep = 3

[apply]
lock_wait = "1m"
lock_timeout = "3s"
lock_retries = 7
statement_timeout = "30s"
require_rehearsal = false
connect_timeout = "4s"

[verify]
queries = ["sql/**/*.sql"]
probes = ["SELECT count(*) FROM orders WHERE customer_id = 42"]
latency_regression = 3
window = "1m"
latency_floor = "5ms"
metrics_url = "http://127.0.0.1:9100/metrics"
metrics_requests = "app_requests_total"
metrics_errors = "app_errors_total"
metrics_latency = "app_request_seconds"
error_rate_max = 0.05
error_rate_regression = 1.5
lock_waiters_max = 3
command = "./scripts/smoke-test.sh"
command_timeout = "90s"

[verify.disable]
metrics = "no metrics endpoint in CI"
"#;

#[test]
fn a_full_file_sets_every_key() {
    let config = parse(FULL).unwrap();

    assert_eq!(config.root, Path::new("/x"));
    assert_eq!(config.file.as_deref(), Some(Path::new("/x/Migrate.toml")));
    assert_eq!(config.package.as_deref(), Some("shop-migrations"));
    assert_eq!(config.history_table, "shop_history");
    assert_eq!(
        config.database.url.as_deref(),
        Some("postgres://app:hunter2@db/shop")
    );
    assert_eq!(
        config.staging,
        StagingConfig {
            url: Some("sqlite://data/staging.db".to_owned()),
            clone: false,
            max_duration: Duration::from_secs(600),
            lock_budget: Duration::from_millis(500),
            max_migration_duration: Some(Duration::from_secs(120)),
        }
    );
    assert_eq!(
        config.backup,
        BackupConfig {
            dir: PathBuf::from("/var/backups/shop"),
            keep: 3,
        }
    );
    assert_eq!(
        config.apply,
        ApplyConfig {
            lock_wait: Duration::from_secs(60),
            lock_timeout: Duration::from_secs(3),
            lock_retries: 7,
            statement_timeout: Some(Duration::from_secs(30)),
            require_rehearsal: false,
            connect_timeout: Duration::from_secs(4),
        }
    );
    assert_eq!(
        config.verify,
        VerifyConfig {
            queries: vec!["sql/**/*.sql".to_owned()],
            probes: vec!["SELECT count(*) FROM orders WHERE customer_id = 42".to_owned()],
            latency_regression: 3.0,
            window: Duration::from_secs(60),
            latency_floor: Duration::from_millis(5),
            metrics_url: Some("http://127.0.0.1:9100/metrics".to_owned()),
            metrics_requests: Some("app_requests_total".to_owned()),
            metrics_errors: Some("app_errors_total".to_owned()),
            metrics_latency: Some("app_request_seconds".to_owned()),
            error_rate_max: 0.05,
            error_rate_regression: 1.5,
            lock_waiters_max: 3,
            command: Some("./scripts/smoke-test.sh".to_owned()),
            command_timeout: Duration::from_secs(90),
            disable: BTreeMap::from([(
                "metrics".to_owned(),
                "no metrics endpoint in CI".to_owned()
            )]),
        }
    );
}

#[test]
fn zero_statement_timeout_means_no_limit() {
    let config = parse("[apply]\nstatement_timeout = \"0s\"").unwrap();
    assert_eq!(config.apply.statement_timeout, None);
}

#[test]
fn unknown_key_names_its_section_and_the_nearest_key() {
    let err = message(parse("[apply]\nlock_timout = \"2s\""));
    assert_eq!(
        err,
        "unknown key `lock_timout` in [apply] of /x/Migrate.toml; did you mean `lock_timeout`?"
    );
}

#[test]
fn unknown_key_without_a_near_match_lists_the_valid_keys() {
    let err = message(parse("[backup]\ncompression = \"zstd\""));
    assert_eq!(
        err,
        "unknown key `compression` in [backup] of /x/Migrate.toml; \
         the keys of [backup] are `dir` and `keep`"
    );
}

#[test]
fn unknown_section_suggests_the_nearest_section() {
    let err = message(parse("[aply]\nlock_timeout = \"2s\""));
    assert_eq!(
        err,
        "unknown section [aply] in /x/Migrate.toml; did you mean [apply]?"
    );
}

#[test]
fn section_key_at_the_top_level_is_pointed_to_its_section() {
    let err = message(parse("lock_timeout = \"2s\""));
    assert!(
        err.starts_with("unknown key `lock_timeout` at the top of /x/Migrate.toml"),
        "{err}"
    );
    assert!(err.contains("it belongs in [apply]"), "{err}");
}

#[test]
fn misspelt_top_level_key_suggests_the_nearest() {
    let err = message(parse("packge = \"migrations\""));
    assert!(err.contains("did you mean `package`?"), "{err}");
}

#[test]
fn invalid_toml_reports_the_file_line_and_column() {
    let err = message(parse("package = \"m\"\n[apply]\nlock_timeout = \n"));
    assert!(
        err.starts_with("cannot parse /x/Migrate.toml at line 3, column "),
        "{err}"
    );
    assert!(err.ends_with("; fix the TOML syntax there"), "{err}");
    assert!(!err.contains('\n'), "one paragraph: {err}");
}

#[test]
fn wrong_type_names_the_key_and_the_expected_form() {
    let err = message(parse("[backup]\nkeep = \"ten\""));
    assert_eq!(
        err,
        "`keep` in [backup] of /x/Migrate.toml must be a whole number such as 10, \
         found the string \"ten\"; fix the value or remove the key to use the default"
    );
}

#[test]
fn bad_duration_names_the_key_and_the_expected_form() {
    let err = message(parse("[apply]\nlock_timeout = \"soon\""));
    assert!(
        err.starts_with("`lock_timeout` in [apply] of /x/Migrate.toml must be a duration such as \"2s\" or \"5m\""),
        "{err}"
    );
    assert!(err.contains("\"soon\""), "{err}");
}

#[test]
fn a_section_must_be_a_table() {
    let err = message(parse("apply = 3"));
    assert!(
        err.starts_with("`apply` in /x/Migrate.toml must be a section"),
        "{err}"
    );
}

#[test]
fn out_of_range_values_are_rejected() {
    let cases = [
        (
            "[verify]\nlatency_regression = 0.5",
            "`latency_regression`",
            "at least 1.0",
        ),
        (
            "[verify]\nerror_rate_max = 1.5",
            "`error_rate_max`",
            "from 0 to 1",
        ),
        (
            "[apply]\nlock_retries = 101",
            "`lock_retries`",
            "from 0 to 100",
        ),
        ("[backup]\nkeep = -1", "`keep`", "whole number"),
        (
            "history_table = \"history; DROP\"",
            "`history_table`",
            "plain SQL identifier",
        ),
        (
            "history_table = \"1history\"",
            "`history_table`",
            "plain SQL identifier",
        ),
    ];
    for (text, key, expected) in cases {
        let err = message(parse(text));
        assert!(err.starts_with(key), "{text}: {err}");
        assert!(err.contains(expected), "{text}: {err}");
    }
}

#[test]
fn a_check_is_disabled_only_with_a_reason() {
    let err = message(parse("[verify.disable]\nlatency = \"\""));
    assert!(err.starts_with("`disable` in [verify]"), "{err}");
    assert!(err.contains("only with a reason"), "{err}");
    let err = message(parse("[verify]\ndisable = [\"latency\"]"));
    assert!(err.contains("only with a reason"), "{err}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let err = message(parse(
        "[apply]\nlock_timout = \"2s\"\nlock_wait = 5\n[bakup]\n",
    ));
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(lines.iter().any(|l| l.contains("`lock_timout`")), "{err}");
    assert!(lines.iter().any(|l| l.starts_with("`lock_wait`")), "{err}");
    assert!(lines.iter().any(|l| l.contains("[bakup]")), "{err}");
}

#[test]
fn a_url_of_the_wrong_type_is_not_shown() {
    let err = message(parse(
        "[database]\nurl = [\"postgres://app:hunter2@db/shop\"]",
    ));
    assert!(
        err.starts_with("the url in [database] of /x/Migrate.toml must be a string"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn debug_output_hides_urls() {
    let config = parse(FULL).unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("<redacted>"), "{debug}");
}

#[test]
fn environment_overrides_the_file() {
    let config = parse_with_env(
        FULL,
        &[
            ("DATABASE_URL", "postgres://other@db/shop"),
            ("STAGING_DATABASE_URL", "postgres://other@staging/shop"),
            ("MIGRATE_APPLY_LOCK_TIMEOUT", "5s"),
            ("MIGRATE_VERIFY_QUERIES", "a/*.sql, b/*.sql"),
            ("MIGRATE_VERIFY_PROBES", "SELECT 1, 2; SELECT 3"),
            ("MIGRATE_VERIFY_LATENCY_REGRESSION", "4"),
            (
                "MIGRATE_VERIFY_DISABLE",
                "latency=no baseline; metrics=none in CI",
            ),
            ("MIGRATE_BACKUP_KEEP", "2"),
            ("MIGRATE_STAGING_CLONE", "true"),
            ("MIGRATE_PACKAGE", "other-migrations"),
            ("MIGRATE_HISTORY_TABLE", "other_history"),
        ],
    )
    .unwrap();

    assert_eq!(
        config.database.url.as_deref(),
        Some("postgres://other@db/shop")
    );
    assert_eq!(
        config.staging.url.as_deref(),
        Some("postgres://other@staging/shop")
    );
    assert_eq!(config.apply.lock_timeout, Duration::from_secs(5));
    assert_eq!(config.verify.queries, ["a/*.sql", "b/*.sql"]);
    assert_eq!(config.verify.probes, ["SELECT 1, 2", "SELECT 3"]);
    assert_eq!(config.verify.latency_regression, 4.0);
    assert_eq!(config.verify.disable.len(), 2);
    assert_eq!(config.verify.disable["latency"], "no baseline");
    assert_eq!(config.backup.keep, 2);
    assert!(config.staging.clone);
    assert_eq!(config.package.as_deref(), Some("other-migrations"));
    assert_eq!(config.history_table, "other_history");
    // Keys the environment does not set keep the file's values.
    assert_eq!(config.apply.lock_wait, Duration::from_secs(60));
}

#[test]
fn database_url_wins_over_migrate_database_url() {
    let config = parse_with_env(
        "",
        &[
            ("MIGRATE_DATABASE_URL", "sqlite://b.db"),
            ("DATABASE_URL", "sqlite://a.db"),
        ],
    )
    .unwrap();
    assert_eq!(config.database.url.as_deref(), Some("sqlite://a.db"));

    let config = parse_with_env("", &[("MIGRATE_DATABASE_URL", "sqlite://b.db")]).unwrap();
    assert_eq!(config.database.url.as_deref(), Some("sqlite://b.db"));
}

#[test]
fn an_empty_environment_variable_counts_as_unset() {
    let config =
        parse_with_env(FULL, &[("DATABASE_URL", ""), ("MIGRATE_BACKUP_KEEP", " ")]).unwrap();
    assert_eq!(
        config.database.url.as_deref(),
        Some("postgres://app:hunter2@db/shop")
    );
    assert_eq!(config.backup.keep, 3);
}

#[test]
fn bad_environment_value_names_the_variable_value_and_form() {
    let err = message(parse_with_env(
        "",
        &[("MIGRATE_APPLY_LOCK_TIMEOUT", "soon")],
    ));
    assert_eq!(
        err,
        "environment variable MIGRATE_APPLY_LOCK_TIMEOUT is `soon`, which is not \
         a duration such as \"2s\" or \"5m\"; fix or unset it"
    );
    let err = message(parse_with_env(
        "",
        &[("MIGRATE_VERIFY_ERROR_RATE_MAX", "2")],
    ));
    assert!(
        err.contains("MIGRATE_VERIFY_ERROR_RATE_MAX is `2`"),
        "{err}"
    );
    let err = message(parse_with_env("", &[("MIGRATE_VERIFY_DISABLE", "latency")]));
    assert!(err.contains("only with a reason"), "{err}");
}

#[test]
fn relative_paths_resolve_against_the_root() {
    let config = parse("[database]\nurl = \"sqlite://data/app.db?mode=rwc\"\n[staging]\nurl = \"sqlite:staging.db\"").unwrap();

    assert_eq!(
        config.database_url().as_deref(),
        Some("sqlite:///x/data/app.db?mode=rwc")
    );
    assert_eq!(
        config.staging_url().as_deref(),
        Some("sqlite:///x/staging.db")
    );
    assert_eq!(config.backup.dir, Path::new("/x/backups"));
    assert_eq!(
        config.resolve(Path::new("queries")),
        Path::new("/x/queries")
    );
    assert_eq!(config.resolve(Path::new("/abs")), Path::new("/abs"));
}

#[test]
fn resolve_url_leaves_other_urls_alone() {
    let config = parse("").unwrap();
    for url in [
        "sqlite::memory:",
        "sqlite://:memory:",
        "sqlite://?mode=memory",
        "sqlite:///var/db/app.db",
        "postgres://app:secret@db/shop",
        "mysql://localhost/shop",
    ] {
        assert_eq!(config.resolve_url(url), url);
    }
    assert_eq!(
        config.resolve_url("sqlite://./app.db"),
        "sqlite:///x/app.db"
    );
}

#[test]
fn resolve_url_escapes_url_characters_in_the_root() {
    let config = Config::from_str("", Path::new("/a?b%c"), None, &no_env).unwrap();
    assert_eq!(
        config.resolve_url("sqlite://app.db"),
        "sqlite:///a%3Fb%25c/app.db"
    );
}

#[test]
fn load_walks_up_from_a_nested_folder() {
    let scratch = Scratch::new();
    let file = scratch.write("Migrate.toml", "package = \"found\"\n");
    let nested = scratch.0.join("crates/app/src");
    fs::create_dir_all(&nested).unwrap();

    let config = Config::load(None, &nested, &no_env).unwrap();

    assert_eq!(config.file.as_deref(), Some(file.as_path()));
    assert_eq!(config.root, scratch.0);
    assert_eq!(config.package.as_deref(), Some("found"));
    assert_eq!(config.backup.dir, scratch.0.join("backups"));
}

#[test]
fn load_reports_the_found_file_in_errors() {
    let scratch = Scratch::new();
    let file = scratch.write("Migrate.toml", "[apply]\nlock_timout = \"2s\"\n");
    let err = message(Config::load(None, &scratch.0, &no_env));
    assert!(
        err.contains(&format!("in [apply] of {}", file.display())),
        "{err}"
    );
}

#[test]
fn explicit_path_must_exist() {
    let scratch = Scratch::new();
    scratch.write("Migrate.toml", "package = \"ignored\"\n");
    let err = message(Config::load(
        Some(Path::new("missing.toml")),
        &scratch.0,
        &no_env,
    ));
    assert_eq!(
        err,
        format!(
            "configuration file {} does not exist; fix the --config path or create the file",
            scratch.0.join("missing.toml").display()
        )
    );
}

#[test]
fn explicit_path_wins_over_the_environment_and_the_walk() {
    let scratch = Scratch::new();
    scratch.write("Migrate.toml", "package = \"walked\"\n");
    scratch.write("env/Migrate.toml", "package = \"from-env\"\n");
    let explicit = scratch.write("conf/custom.toml", "package = \"explicit\"\n");
    let env = env_of(&[("MIGRATE_CONFIG", "env/Migrate.toml")]);

    let config = Config::load(Some(Path::new("conf/custom.toml")), &scratch.0, &env).unwrap();
    assert_eq!(config.package.as_deref(), Some("explicit"));
    assert_eq!(config.file.as_deref(), Some(explicit.as_path()));
    assert_eq!(config.root, scratch.0.join("conf"));

    let config = Config::load(None, &scratch.0, &env).unwrap();
    assert_eq!(config.package.as_deref(), Some("from-env"));

    let config = Config::load(Some(&scratch.0.join("env")), &scratch.0, &no_env).unwrap();
    assert_eq!(
        config.package.as_deref(),
        Some("from-env"),
        "a folder means its Migrate.toml"
    );
}

#[test]
fn missing_file_named_by_the_environment_is_an_error() {
    let scratch = Scratch::new();
    let env = env_of(&[("MIGRATE_CONFIG", "nope.toml")]);
    let err = message(Config::load(None, &scratch.0, &env));
    assert!(
        err.contains("the MIGRATE_CONFIG environment variable"),
        "{err}"
    );
}

mod fuzz;
