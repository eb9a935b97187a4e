//! The table of bad inputs: what is wrong, where, the command that meets
//! it, its exact exit code and the words that say what to do.

use super::tools::{LockHolder, MetricsPage, Tmpfs, path_with, wrapped_dump_tools};
use super::{Case, Ctx, PASSWORD, Skip};
use crate::harness::run;
use crate::support::Run;
use crate::{Backend, bin};

const SHOP_FIRST: &[&str] = &["apply", "--to", "20240101_000001"];
const SHOP_THREE: &[&str] = &["apply", "--to", "20240101_000003"];
const CRASH_FIRST: &[&str] = &["apply", "--to", "20240902_000001"];
const APPLY: &[&str] = &["apply"];

/// A case of `fx-shop` on SQLite with the first migration applied.
fn shop(
    name: &'static str,
    code: i32,
    needle: &'static str,
    act: impl Fn(&Ctx) -> Result<Run, Skip> + 'static,
) -> Case {
    on(
        Backend::Sqlite,
        bin!("fx-shop"),
        Some(SHOP_FIRST),
        name,
        code,
        needle,
        act,
    )
}

/// A case of `runner` on `backend` after `setup`.
fn on(
    backend: Backend,
    runner: std::path::PathBuf,
    setup: Option<&'static [&'static str]>,
    name: &'static str,
    code: i32,
    needle: &'static str,
    act: impl Fn(&Ctx) -> Result<Run, Skip> + 'static,
) -> Case {
    Case {
        name,
        backend,
        runner,
        setup,
        prepare: None,
        act: Box::new(act),
        code,
        needle,
    }
}

/// `Migrate.toml` with `text`, then the runner with `args`.
fn with_config(ctx: &Ctx, text: &str, args: &[&str]) -> Result<Run, Skip> {
    ctx.write("Migrate.toml", text);
    Ok(ctx.run(args))
}

/// The runner with `DATABASE_URL` set to `url`.
fn with_url(ctx: &Ctx, url: &str, args: &[&str]) -> Result<Run, Skip> {
    Ok(ctx.run_env(args, &[("DATABASE_URL", url)]))
}

/// `apply` with the dump tools replaced by wrappers running `body`.
fn apply_with_dump_tools(ctx: &Ctx, body: &str) -> Result<Run, Skip> {
    let fake = wrapped_dump_tools(body)?;
    let mut c = ctx.on.cmd(&["apply"]);
    c.env("PATH", path_with(fake.path()))
        .env("DATABASE_URL", ctx.url_with_password());
    Ok(run(c))
}

/// `apply` while another deployer holds the lock, waiting at most 1 s.
fn apply_behind_a_held_lock(ctx: &Ctx) -> Result<Run, Skip> {
    let _holder = LockHolder::start(ctx);
    Ok(ctx.run_env(
        &["apply"],
        &[
            ("MIGRATE_APPLY_LOCK_WAIT", "1s"),
            ("DATABASE_URL", &ctx.url_with_password()),
        ],
    ))
}

/// A URL of `server` with the wrong password, on this case's database.
fn wrong_password(ctx: &Ctx) -> String {
    let db = ctx.on.db.expect("a server case");
    let (scheme, rest) = db.url.split_once("://").expect("scheme");
    let (user, host) = rest.split_once('@').expect("user");
    format!("{scheme}://{user}:{PASSWORD}@{host}")
}

/// A URL of this case's server naming a database that does not exist.
fn no_such_database(ctx: &Ctx) -> String {
    let db = ctx.on.db.expect("a server case");
    ctx.url_with_password()
        .replace(&db.name, &format!("{}_missing", db.name))
}

/// `verify` with the metrics check reading `url` over a 1 s window.
fn verify_metrics(ctx: &Ctx, url: &str) -> Result<Run, Skip> {
    Ok(ctx.run_env(
        &["verify"],
        &[
            ("MIGRATE_VERIFY_METRICS_URL", url),
            ("MIGRATE_VERIFY_WINDOW", "1s"),
        ],
    ))
}

/// `Migrate.toml` texts that are wrong, each with the words that say how to fix it.
const CONFIG_FILES: &[(&str, &str, &str)] = &[
    (
        "config: broken TOML",
        "[database\nurl = 1\n",
        "fix the TOML syntax",
    ),
    (
        "config: unknown key",
        "[apply]\nlock_timout = \"2s\"\n",
        "did you mean `lock_timeout`",
    ),
    (
        "config: unknown section",
        "[aply]\nlock_wait = \"2s\"\n",
        "did you mean [apply]",
    ),
    (
        "config: wrong type",
        "[backup]\nkeep = \"ten\"\n",
        "must be a whole number such as 10",
    ),
    (
        "config: bad duration",
        "[apply]\nlock_wait = \"5 parsecs\"\n",
        "must be a duration such as",
    ),
    (
        "config: value out of range",
        "[apply]\nlock_retries = 1000\n",
        "must be a whole number from 0 to 100",
    ),
    (
        "config: a section that is not a table",
        "apply = 3\n",
        "must be a section (the `[apply]` header",
    ),
    (
        "config: a check disabled without a reason",
        "[verify]\ndisable = { probes = \"\" }\n",
        "a check can be disabled only with a reason",
    ),
    (
        "config: bad history table name",
        "history_table = \"drop table x;\"\n",
        "must be a plain SQL identifier",
    ),
];

/// Every case.
pub fn all() -> Vec<Case> {
    let mut cases: Vec<Case> = CONFIG_FILES
        .iter()
        .map(|&(name, text, needle)| {
            shop(name, 2, needle, move |x| with_config(x, text, &["apply"]))
        })
        .collect();
    cases.extend(table());
    cases.extend(Backend::ALL.map(|backend| {
        on(
            backend,
            bin!("fx-faults-crash"),
            Some(CRASH_FIRST),
            "lock: held by another deployer",
            5,
            "Retry when it finishes, or raise MIGRATE_APPLY_LOCK_WAIT",
            apply_behind_a_held_lock,
        )
    }));
    cases
}

/// The cases written out one by one.
fn table() -> Vec<Case> {
    let sqlite = Backend::Sqlite;
    let (pg, maria) = (Backend::Postgres, Backend::MariaDb);
    vec![
        // Configuration.
        shop(
            "config: --config names a missing file",
            2,
            "fix the --config path",
            |x| Ok(x.run(&["--config", "missing.toml", "status"])),
        ),
        shop(
            "config: MIGRATE_CONFIG names a missing file",
            2,
            "fix the MIGRATE_CONFIG environment variable",
            |x| Ok(x.run_env(&["status"], &[("MIGRATE_CONFIG", "nowhere.toml")])),
        ),
        shop(
            "config: bad environment value",
            2,
            "is `forever`, which is not a duration such as \"2s\" or \"5m\"; fix or unset it",
            |x| Ok(x.run_env(&["apply"], &[("MIGRATE_APPLY_LOCK_WAIT", "forever")])),
        ),
        shop(
            "config: no database URL anywhere",
            2,
            "set DATABASE_URL, pass --database-url",
            |x| {
                let mut c = x.on.cmd(&["apply"]);
                c.env_remove("DATABASE_URL");
                Ok(run(c))
            },
        ),
        shop(
            "config: a URL of the wrong type",
            2,
            "must be a string",
            |x| {
                let mut c = x.on.cmd(&["apply"]);
                c.env_remove("DATABASE_URL");
                x.write(
                    "Migrate.toml",
                    &format!("[database]\nurl = [\"{PASSWORD}\"]\n"),
                );
                Ok(run(c))
            },
        ),
        // URLs.
        shop(
            "url: unknown scheme",
            2,
            "expected sqlite, postgres or mysql",
            |x| with_url(x, &format!("oracle://app:{PASSWORD}@db/x"), APPLY),
        ),
        shop("url: not a URL", 2, "expected sqlite://path", |x| {
            with_url(x, "just some words", APPLY)
        }),
        shop(
            "url: SQLite folder cannot be created",
            2,
            "cannot create the folder",
            |x| {
                x.write("afile", "x");
                let url = format!("sqlite://{}/afile/sub/app.db", x.dir().display());
                with_url(x, &url, APPLY)
            },
        ),
        shop(
            "url: unknown scheme through --database-url",
            2,
            "expected sqlite, postgres or mysql",
            |x| {
                let url = format!("foo://app:{PASSWORD}@db/x");
                Ok(x.run(&["status", "--database-url", &url]))
            },
        ),
        shop(
            "url: PostgreSQL port closed",
            3,
            "Check that the server is running and the URL is right",
            |x| {
                with_url(
                    x,
                    &format!("postgres://app:{PASSWORD}@127.0.0.1:1/shop"),
                    APPLY,
                )
            },
        ),
        shop(
            "url: MariaDB port closed",
            3,
            "Check that the server is running and the URL is right",
            |x| {
                with_url(
                    x,
                    &format!("mysql://root:{PASSWORD}@127.0.0.1:1/shop"),
                    APPLY,
                )
            },
        ),
        shop(
            "url: unknown host",
            3,
            "Check that the server is running and the URL is right",
            |x| {
                with_url(
                    x,
                    &format!("postgres://app:{PASSWORD}@no-such-host.invalid/shop"),
                    APPLY,
                )
            },
        ),
        on(
            maria,
            bin!("fx-shop"),
            Some(SHOP_FIRST),
            "url: wrong password on MariaDB",
            3,
            "Access denied for user",
            |x| with_url(x, &wrong_password(x), APPLY),
        ),
        on(
            pg,
            bin!("fx-shop"),
            Some(SHOP_FIRST),
            "url: nonexistent PostgreSQL database (status)",
            3,
            "does not exist",
            |x| with_url(x, &no_such_database(x), &["status"]),
        ),
        on(
            maria,
            bin!("fx-shop"),
            Some(SHOP_FIRST),
            "url: nonexistent MariaDB database (status)",
            3,
            "Unknown database",
            |x| with_url(x, &no_such_database(x), &["status"]),
        ),
        // Command line.
        shop(
            "usage: unknown subcommand",
            2,
            "unrecognized subcommand",
            |x| Ok(x.run(&["frobnicate"])),
        ),
        shop("usage: --to is not a version", 2, "is not a version", |x| {
            Ok(x.run(&["apply", "--to", "not-a-version"]))
        }),
        shop(
            "usage: rollback without --to or --steps",
            2,
            "--steps",
            |x| Ok(x.run(&["rollback"])),
        ),
        shop("usage: repair without a resolution", 2, "--applied", |x| {
            Ok(x.run(&["repair", "20240101_000001", "--yes"]))
        }),
        shop("usage: unknown --phase", 2, "--phase", |x| {
            Ok(x.run(&["apply", "--phase", "sideways"]))
        }),
        shop(
            "state: rollback to a version that is not applied",
            4,
            "Run `cargo migrate status` to see the applied versions",
            |x| Ok(x.run(&["rollback", "--to", "20991231_000000"])),
        ),
        shop(
            "state: repair of a migration that is not dirty",
            4,
            "nothing to repair",
            |x| Ok(x.run(&["repair", "20240101_000001", "--applied", "--yes"])),
        ),
        shop(
            "state: restore of an unknown backup",
            4,
            "cargo migrate backups",
            |x| Ok(x.run(&["restore", "no-such-backup"])),
        ),
        shop(
            "state: apply --backup with an unknown backup",
            4,
            "cargo migrate backups",
            |x| Ok(x.run(&["apply", "--backup", "no-such-backup"])),
        ),
        // Permissions and files.
        shop(
            "permissions: backup folder under a file",
            4,
            "fix `[backup] dir` in Migrate.toml",
            |x| {
                x.write("afile", "not a folder");
                let dir = x.dir().join("afile/backups");
                Ok(x.run_env(&["apply"], &[("MIGRATE_BACKUP_DIR", dir.to_str().unwrap())]))
            },
        ),
        shop(
            "permissions: backup folder is a file",
            4,
            "fix `[backup] dir` in Migrate.toml",
            |x| {
                let file = x.write("backups-file", "not a folder");
                Ok(x.run_env(
                    &["apply"],
                    &[("MIGRATE_BACKUP_DIR", file.to_str().unwrap())],
                ))
            },
        ),
        // Migrations.
        on(
            sqlite,
            bin!("fx-drift-v1"),
            Some(APPLY),
            "migrations: drifted",
            4,
            "accept the edit with `--allow-drift`",
            |x| Ok(x.run_with(&bin!("fx-drift-v2"), APPLY)),
        ),
        on(
            sqlite,
            bin!("fx-rel-full"),
            Some(APPLY),
            "migrations: missing from the code (reported by status)",
            0,
            "is applied but not registered in this binary",
            |x| Ok(x.run_with(&bin!("fx-rel-gap"), &["status"])),
        ),
        on(
            sqlite,
            bin!("fx-rel-gap"),
            Some(APPLY),
            "migrations: out of order",
            4,
            "Apply it with `--allow-out-of-order`",
            |x| Ok(x.run_with(&bin!("fx-rel-full"), APPLY)),
        ),
        on(
            sqlite,
            bin!("fx-shop"),
            Some(SHOP_FIRST),
            "migrations: duplicate version",
            2,
            "Give one of them a new version",
            |x| Ok(x.run_with(&bin!("fx-dup"), APPLY)),
        ),
        on(
            sqlite,
            bin!("fx-failing"),
            Some(&["apply", "--to", "20240301_000001"]),
            "migrations: failing SQL",
            1,
            "Fix the migration and run apply again",
            |x| Ok(x.run(APPLY)),
        ),
        on(
            pg,
            bin!("fx-failing"),
            Some(&["apply", "--to", "20240301_000001"]),
            "migrations: failing SQL",
            1,
            "Fix the migration and run apply again",
            |x| with_url(x, &x.url_with_password(), APPLY),
        ),
        on(
            sqlite,
            bin!("fx-faults-crash"),
            None,
            "migrations: a dirty migration blocks apply",
            4,
            "cargo migrate repair 20240902_000002 --applied",
            |x| Ok(x.run(APPLY)),
        )
        .prepare(|x| {
            let r = x.run_env(
                APPLY,
                &[("MIGRATE_FAILPOINT", "apply.after_started_row@1:abort")],
            );
            assert_ne!(r.code, 0, "the runner aborted at the failpoint: {r:?}");
        }),
        on(
            sqlite,
            bin!("fx-shop"),
            Some(SHOP_THREE),
            "migrations: rollback across an irreversible one",
            4,
            "restore a backup taken before it was applied",
            |x| Ok(x.run(&["rollback", "--to", "0"])),
        ),
        // Backups.
        shop(
            "backups: disk full (64 KiB tmpfs)",
            4,
            "database or disk is full. Production was not touched",
            |x| {
                let _fs = Tmpfs::mount(&x.dir().join("tiny"), "64k")?;
                let dir = x.dir().join("tiny/backups");
                Ok(x.run_env(&["apply"], &[("MIGRATE_BACKUP_DIR", dir.to_str().unwrap())]))
            },
        )
        .prepare(|x| {
            x.on.execute("CREATE TABLE filler (id INTEGER PRIMARY KEY, pad TEXT)");
            x.on.execute("INSERT INTO filler (id, pad) VALUES (1, printf('%.200000c', 'x'))");
        }),
        on(
            pg,
            bin!("fx-faults-crash"),
            Some(CRASH_FIRST),
            "backups: disk full (RLIMIT_FSIZE on pg_dump)",
            4,
            "pg_dump failed (signal: 25 (SIGXFSZ))",
            |x| apply_with_dump_tools(x, "ulimit -f 1\nexec \"$REAL\" \"$@\""),
        ),
        on(
            maria,
            bin!("fx-faults-crash"),
            Some(CRASH_FIRST),
            "backups: disk full (RLIMIT_FSIZE on the dump)",
            4,
            "-dump failed (signal: 25 (SIGXFSZ))",
            |x| apply_with_dump_tools(x, "ulimit -f 1\nexec \"$REAL\" \"$@\""),
        ),
        on(
            pg,
            bin!("fx-faults-crash"),
            Some(CRASH_FIRST),
            "backups: pg_dump killed",
            4,
            "pg_dump failed (signal: 9 (SIGKILL))",
            |x| apply_with_dump_tools(x, "kill -9 $$"),
        ),
        on(
            maria,
            bin!("fx-faults-crash"),
            Some(CRASH_FIRST),
            "backups: the dump tool killed",
            4,
            "-dump failed (signal: 9 (SIGKILL))",
            |x| apply_with_dump_tools(x, "kill -9 $$"),
        ),
        // Metrics.
        shop(
            "metrics: a page that is not Prometheus text",
            1,
            "Expected the Prometheus text format",
            |x| {
                let page = MetricsPage::serve("<html>this is not { a metrics page\n");
                verify_metrics(x, &page.url)
            },
        ),
        shop(
            "metrics: a page without the request counter",
            1,
            "Set metrics_requests in [verify]",
            |x| {
                let page = MetricsPage::serve("# TYPE other_total counter\nother_total 3\n");
                verify_metrics(x, &page.url)
            },
        ),
        shop(
            "metrics: endpoint down",
            1,
            "Check that the app is running and serves Prometheus metrics",
            |x| verify_metrics(x, &format!("http://app:{PASSWORD}@127.0.0.1:1/metrics")),
        ),
        shop(
            "metrics: https endpoint",
            1,
            "only plain http:// endpoints are supported",
            |x| verify_metrics(x, &format!("https://app:{PASSWORD}@127.0.0.1:1/metrics")),
        ),
        // Query caches.
        shop(
            "queries: malformed .sqlx file",
            2,
            "cargo sqlx prepare",
            |x| {
                x.write(".sqlx/query-0001.json", "{ this is not json");
                Ok(x.run(&["verify"]))
            },
        ),
        shop(
            "queries: .sqlx file without a query",
            2,
            "cargo sqlx prepare",
            |x| {
                x.write(
                    ".sqlx/query-0002.json",
                    "{\"db_name\": \"SQLite\", \"describe\": {}}",
                );
                Ok(x.run(&["verify"]))
            },
        ),
        shop(
            "queries: invalid verify.queries glob",
            2,
            "not a valid glob",
            |x| with_config(x, "[verify]\nqueries = [\"queries/[.sql\"]\n", &["verify"]),
        ),
    ]
}
