//! The core and workflow acceptance items on PostgreSQL and MariaDB/MySQL,
//! through the same fixture runners as the SQLite suites. One difference is
//! by design: MariaDB commits DDL implicitly, so a migration failing halfway
//! leaves a dirty row naming the failing statement instead of no trace.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{Server, TestDb, mysql_db, pg_db, run};
use crate::bin;
use crate::support::{Run, Sandbox, wait_for_line};

/// A sandbox whose runner talks to a server database, with a sibling
/// database as staging and backups in the sandbox.
struct Env {
    sb: Sandbox,
    db: TestDb,
    staging: TestDb,
}

impl Env {
    fn new(db: TestDb, runner: PathBuf) -> Env {
        Env {
            sb: Sandbox::new(runner),
            staging: db.sibling(),
            db,
        }
    }

    fn backup_dir(&self) -> PathBuf {
        self.sb.path().join("backups")
    }

    fn cmd(&self, runner: &Path, args: &[&str]) -> Command {
        let mut c = self.db.cmd(&self.sb, runner, args);
        self.staging
            .stage_into(&mut c)
            .env("MIGRATE_BACKUP_DIR", self.backup_dir());
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        run(self.cmd(&self.sb.runner, args))
    }

    fn run_with(&self, runner: &Path, args: &[&str]) -> Run {
        run(self.cmd(runner, args))
    }

    fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut c = self.cmd(&self.sb.runner, args);
        for (k, v) in env {
            c.env(k, v);
        }
        run(c)
    }

    /// Starts the runner paused at `failpoint` and SIGKILLs it there.
    fn kill_at(&self, failpoint: &str, args: &[&str]) -> String {
        let mut cmd = self.cmd(&self.sb.runner, args);
        cmd.env("MIGRATE_FAILPOINT", format!("{failpoint}:pause"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("runner starts");
        let seen = wait_for_line(&mut child, "failpoint", Duration::from_secs(60));
        child.kill().expect("SIGKILL the runner");
        let _ = child.wait();
        seen
    }

    /// The applied versions, oldest first.
    fn versions(&self) -> Vec<String> {
        self.db
            .state()
            .into_iter()
            .filter_map(|l| {
                l.strip_prefix("history: ")
                    .and_then(|r| r.split('|').next())
                    .map(str::to_string)
            })
            .collect()
    }
}

/// Runs `case` on PostgreSQL and on MariaDB/MySQL, each when reachable.
macro_rules! on_servers {
    ($case:ident) => {
        mod $case {
            #[test]
            fn on_postgres() {
                let Some(db) = super::pg_db() else { return };
                super::$case(db);
            }

            #[test]
            fn on_mysql() {
                let Some(db) = super::mysql_db() else { return };
                super::$case(db);
            }
        }
    };
}

on_servers!(duplicate_version_across_crates_refuses_to_start);
fn duplicate_version_across_crates_refuses_to_start(db: TestDb) {
    let env = Env::new(db, bin!("fx-dup"));
    for args in [&["status"][..], &["apply"]] {
        let r = env.run(args);
        r.expect(2);
        assert!(
            r.stderr.contains("20240101_000000 is registered twice")
                && r.stderr.contains("dup-a")
                && r.stderr.contains("dup-b"),
            "{}",
            r.stderr
        );
    }
    assert_eq!(
        env.db.state(),
        Vec::<String>::new(),
        "nothing may be created when the registry is invalid"
    );
}

on_servers!(edited_body_drifts_but_reformatting_does_not);
fn edited_body_drifts_but_reformatting_does_not(db: TestDb) {
    let env = Env::new(db, bin!("fx-drift-v1"));
    env.run(&["apply"]).expect(0);
    let r = env.run_with(&bin!("fx-drift-v1-reformatted"), &["status"]);
    r.expect(0);
    assert!(!r.stdout.contains("DRIFTED"), "{}", r.stdout);

    let v2 = bin!("fx-drift-v2");
    let r = env.run_with(&v2, &["status", "--format", "json"]);
    r.expect(4);
    let doc = r.json();
    let m = &doc["migrations"][1];
    assert_eq!(m["state"], "drifted");
    let applied = m["detail"]["applied"].as_str().unwrap().to_string();
    let current = m["detail"]["current"].as_str().unwrap().to_string();
    assert_ne!(applied, current);
    let r = env.run_with(&v2, &["status"]);
    assert!(
        r.stdout.contains(&applied[..12]) && r.stdout.contains(&current[..12]),
        "{}",
        r.stdout
    );

    let before = env.db.state();
    let r = env.run_with(&v2, &["apply"]);
    r.expect(4);
    assert!(
        r.stderr.contains(&applied[..12])
            && r.stderr.contains(&current[..12])
            && r.stderr.contains("--allow-drift"),
        "{}",
        r.stderr
    );
    assert_eq!(env.db.state(), before);
    env.run_with(&v2, &["apply", "--allow-drift"]).expect(0);
}

on_servers!(failing_migration_names_the_statement_and_is_resolved);
/// PostgreSQL: everything as before. MariaDB: `CREATE TABLE extra` committed
/// itself, so the failed row stays (dirty) until `repair` runs the down or is
/// told the changes were undone by hand.
fn failing_migration_names_the_statement_and_is_resolved(db: TestDb) {
    let env = Env::new(db, bin!("fx-failing"));
    env.run(&["apply", "--to", "20240301_000001"]).expect(0);
    let before = env.db.state();
    assert!(
        before
            .iter()
            .any(|l| l == "t: (1,kept)" || l == "t: 1|kept"),
        "{before:?}"
    );
    let failing = "INSERT INTO no_such_table (id) VALUES (1)";
    let r = env.run(&["apply"]);
    r.expect(1);
    assert!(
        r.stderr.contains("20240301_000002 `fails_halfway` failed")
            && r.stderr.contains(failing)
            && r.stderr.contains("no_such_table")
            && r.stderr.contains("exist"),
        "{}",
        r.stderr
    );
    let status = env.run(&["status", "--format", "json"]).json();
    assert_eq!(status["lock"]["lock"], "free");
    if env.db.server == Server::Postgres {
        assert_eq!(env.db.state(), before, "schema, data and history unchanged");
        assert_eq!(status["summary"]["pending"], 1);
        return;
    }

    let dirty = |env: &Env| {
        assert_eq!(
            env.db.scalar(&format!(
                "SELECT count(*) FROM _migrate_history WHERE version = 20240301000002 \
                 AND state = 'failed' AND failed_statement = '{failing}'"
            )),
            1,
            "a failed row names the statement: {:?}",
            env.db.state()
        );
        assert!(env.db.has_table("extra"), "the DDL before it committed");
        assert_eq!(
            env.run(&["status", "--format", "json"]).json()["summary"]["dirty"],
            1
        );
        let r = env.run(&["apply"]);
        r.expect(4);
        assert!(r.stderr.contains("repair 20240301_000002"), "{}", r.stderr);
    };
    dirty(&env);
    assert!(
        r.stderr.contains("repair 20240301_000002 --run-down"),
        "repair offers the down fn: {}",
        r.stderr
    );
    env.run(&["repair", "20240301_000002", "--run-down", "--yes"])
        .expect(0);
    assert_eq!(env.db.state(), before, "the down undid what was committed");

    env.run(&["apply"]).expect(1);
    dirty(&env);
    block_on_execute(&env.db, "DROP TABLE extra");
    env.run(&["repair", "20240301_000002", "--rolled-back", "--yes"])
        .expect(0);
    assert_eq!(env.db.state(), before);
}

fn block_on_execute(db: &TestDb, sql: &str) {
    crate::support::block_on(async {
        let mut c = db.connect().await;
        c.execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        c.close().await;
    });
}

on_servers!(kill_inside_non_transactional_migration_leaves_it_dirty_until_repair);
fn kill_inside_non_transactional_migration_leaves_it_dirty_until_repair(db: TestDb) {
    let env = Env::new(db, bin!("fx-nontx"));
    // On MariaDB every migration gets a `started` row first (its DDL
    // commits implicitly), so the non-transactional one is the second hit.
    let failpoint = match env.db.server {
        Server::Postgres => "apply.after_started_row",
        Server::MySql => "apply.after_started_row@2",
    };
    let seen = env.kill_at(failpoint, &["apply"]);
    assert!(
        seen.contains("failpoint apply.after_started_row reached"),
        "{seen}"
    );
    let r = env.run(&["status", "--format", "json"]);
    r.expect(4);
    let doc = r.json();
    assert_eq!(
        doc["lock"]["lock"], "free",
        "the killed runner's lock died with it"
    );
    assert_eq!(doc["migrations"][1]["state"], "dirty");
    assert!(
        env.run(&["status"]).stdout.contains("DIRTY (started)"),
        "human status names the state"
    );

    let before = env.db.state();
    let r = env.run(&["apply"]);
    r.expect(4);
    assert!(
        r.stderr.contains("dirty") && r.stderr.contains("repair 20240401_000002"),
        "{}",
        r.stderr
    );
    assert_eq!(env.db.state(), before);
    env.run(&["repair", "20240401_000002", "--rolled-back", "--yes"])
        .expect(0);
    env.run(&["apply"]).expect(0);
    assert_eq!(
        env.db
            .scalar("SELECT count(*) FROM _migrate_history WHERE state = 'finished'"),
        2
    );
    assert!(env.db.has_index("u_t_idx"));
}

on_servers!(concurrent_applies_run_each_migration_exactly_once);
fn concurrent_applies_run_each_migration_exactly_once(db: TestDb) {
    let env = Env::new(db, bin!("fx-many"));
    let children: Vec<_> = (0..4)
        .map(|_| {
            let mut c = env.cmd(&env.sb.runner, &["apply", "--format", "json"]);
            // Hold the lock a little so the four processes really overlap.
            c.env("MIGRATE_FAILPOINT", "lock.after:sleep(300)")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            c.spawn().expect("runner starts")
        })
        .collect();
    let (mut applied, mut waited) = (0, 0);
    for child in children {
        let o = child.wait_with_output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        applied += doc["applied"].as_array().unwrap().len();
        if doc["lock_waited_ms"].as_u64().unwrap() >= 200 {
            waited += 1;
        }
    }
    assert_eq!(
        applied, 21,
        "every migration applied by exactly one process"
    );
    assert!(waited >= 3, "the processes overlapped ({waited} waited)");
    assert_eq!(env.db.scalar("SELECT count(*) FROM log"), 20);
    assert_eq!(env.db.scalar("SELECT count(DISTINCT version) FROM log"), 20);
    assert_eq!(env.db.scalar("SELECT count(*) FROM _migrate_history"), 21);
}

on_servers!(rollback_steps_runs_the_newest_downs_and_stops_before_an_irreversible_one);
fn rollback_steps_runs_the_newest_downs_and_stops_before_an_irreversible_one(db: TestDb) {
    let env = Env::new(db, bin!("fx-shop"));
    env.run(&["apply"]).expect(0);
    let full = env.db.state();
    let r = env.run(&["rollback", "--steps", "3"]);
    r.expect(4);
    assert!(
        r.stderr.contains("purge_users")
            && r.stderr.contains("irreversible")
            && r.stderr.contains("deletes rows that cannot be restored"),
        "{}",
        r.stderr
    );
    assert_eq!(env.db.state(), full, "nothing ran");

    env.run(&["rollback", "--steps", "2"]).expect(0);
    assert_eq!(env.versions(), ["20240101000001", "20240101000002"]);
    assert!(!env.db.has_table("orders") && !env.db.has_index("orders_user_idx"));
    let r = env.run(&["rollback", "--to", "20240101_000003"]);
    r.expect(4);
    assert!(r.stderr.contains("not applied"), "{}", r.stderr);
}

on_servers!(json_output_is_one_document_for_every_workflow_command);
fn json_output_is_one_document_for_every_workflow_command(db: TestDb) {
    let env = Env::new(db, bin!("fx-shop"));
    for args in [
        &["status", "--format", "json"][..],
        &["plan", "--format", "json"],
        &["stage", "--format", "json"],
        &["apply", "--to", "20240101_000001", "--format", "json"],
        &["deploy", "--format", "json"],
        &["verify", "--format", "json"],
        &["backups", "--format", "json"],
    ] {
        let r = env.run(args);
        let doc = r.json();
        assert!(doc.is_object(), "{args:?}: {doc}");
        assert!(r.code == 0 || r.code == 4, "{args:?}: {r:?}");
    }
    let r = env.run(&["status", "--format", "json"]);
    r.expect(0);
    assert_eq!(r.json()["summary"]["applied"], 4);
    let r = env.run(&["deploy", "--format", "json"]);
    assert_eq!(r.json()["ok"], true, "{r:?}");
}

on_servers!(backup_then_restore_gives_back_the_same_rows);
fn backup_then_restore_gives_back_the_same_rows(db: TestDb) {
    let env = Env::new(db, bin!("fx-shop"));
    env.run(&["apply"]).expect(0);
    let r = env.run(&["backup", "--format", "json"]);
    r.expect(0);
    let id = r.json()["backup"]["id"].as_str().unwrap().to_string();
    let original = env.db.state();
    assert!(
        original.iter().any(|l| l.starts_with("users: ")),
        "{original:?}"
    );
    block_on_execute(&env.db, "DELETE FROM users");
    let into = env.db.sibling();
    env.run(&["restore", &id, "--into", &into.url]).expect(0);
    assert_eq!(into.state(), original);
    env.run(&["restore", &id, "--into", &env.db.url, "--force"])
        .expect(0);
    assert_eq!(env.db.state(), original);
}

on_servers!(apply_refuses_when_the_backup_folder_cannot_be_written);
fn apply_refuses_when_the_backup_folder_cannot_be_written(db: TestDb) {
    let env = Env::new(db, bin!("fx-shop"));
    env.run(&["apply", "--to", "20240101_000001"]).expect(0);
    std::fs::write(env.sb.path().join("afile"), "not a folder").unwrap();
    let before = env.db.state();
    let dir = env.sb.path().join("afile/backups");
    let r = env.run_with_env(&["apply"], &[("MIGRATE_BACKUP_DIR", dir.to_str().unwrap())]);
    r.expect(4);
    assert!(
        r.stderr.contains("backup folder") && r.stderr.contains("not touched"),
        "{}",
        r.stderr
    );
    assert_eq!(env.db.state(), before);
}

on_servers!(failing_health_check_rolls_the_deploy_back);
fn failing_health_check_rolls_the_deploy_back(db: TestDb) {
    let env = Env::new(db, bin!("fx-health"));
    env.run(&["apply", "--to", "20240601_000001"]).expect(0);
    let before = env.db.state();
    let r = env.run(&["deploy"]);
    r.expect(1);
    assert!(
        r.stdout.contains("health:no_flag_column")
            && r.stdout.contains("FAIL")
            && r.stdout.contains("health:rows_have_values"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("1 migration undone")
            && r.stdout
                .contains("deploy failed: verify failed: health:no_flag_column"),
        "{}",
        r.stdout
    );
    assert_eq!(
        env.db.state(),
        before,
        "schema, data and history as before the deploy"
    );
}

on_servers!(rollback_across_an_irreversible_migration_prints_a_restore_command_that_works);
fn rollback_across_an_irreversible_migration_prints_a_restore_command_that_works(db: TestDb) {
    let env = Env::new(db, bin!("fx-shop"));
    env.run(&["apply", "--to", "20240101_000001"]).expect(0);
    let before_deploy = env.db.state();
    env.run(&["deploy"]).expect(0);
    let r = env.run(&["rollback", "--steps", "3"]);
    r.expect(4);
    let cmd = r
        .stderr
        .split('`')
        .find(|s| s.starts_with("cargo migrate") && s.contains(" restore "))
        .unwrap_or_else(|| panic!("no restore command in: {}", r.stderr))
        .to_string();
    assert!(
        cmd.contains("--force") && cmd.contains(&env.db.url),
        "{cmd}"
    );
    let args: Vec<&str> = cmd
        .trim_start_matches("cargo migrate")
        .split_whitespace()
        .collect();
    env.run(&args).expect(0);
    assert_eq!(env.db.state(), before_deploy);
    let r = env.run(&["status", "--format", "json"]);
    assert_eq!(r.json()["summary"]["pending"], 3);
}

on_servers!(bad_inputs_fail_clearly_and_change_nothing);
fn bad_inputs_fail_clearly_and_change_nothing(db: TestDb) {
    let env = Env::new(db, bin!("fx-shop"));
    env.run(&["apply", "--to", "20240101_000003"]).expect(0);
    let before = env.db.state();
    let check = |r: &Run, code: i32, needle: &str| {
        r.expect(code);
        assert!(
            r.all().contains(needle),
            "expected `{needle}` in:\n{}",
            r.all()
        );
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    };
    check(
        &env.run_with_env(&["apply"], &[("DATABASE_URL", "oracle://db/x")]),
        2,
        "unknown scheme",
    );
    check(&env.run(&["frobnicate"]), 2, "unrecognized subcommand");
    check(
        &env.run(&["rollback", "--to", "20991231_000000"]),
        4,
        "not applied",
    );
    let unreachable = match env.db.server {
        Server::Postgres => "postgres://app:s3cr3t-pw@127.0.0.1:1/shop",
        Server::MySql => "mysql://app:s3cr3t-pw@127.0.0.1:1/shop",
    };
    let started = Instant::now();
    let r = env.run_with_env(&["apply"], &[("DATABASE_URL", unreachable)]);
    check(&r, 3, "cannot connect");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "unreachable server answered in {:?}",
        started.elapsed()
    );
    assert!(
        !r.all().contains("s3cr3t-pw"),
        "password leaked: {}",
        r.all()
    );
    assert_eq!(env.db.state(), before, "no bad input changed the database");
}

on_servers!(shop_example_deploys_then_has_nothing_to_do);
/// `examples/shop` deploys on a server by changing only the URLs. Its runner
/// is built with the server features (`deploy-example.sh` builds the default,
/// SQLite-only one) and copied away at once, since other tests rebuild it.
fn shop_example_deploys_then_has_nothing_to_do(db: TestDb) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "shop-migrations"])
        .args(["--features", "postgres,mysql", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("cargo starts");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let runner = tmp.path().join("shop-migrations");
    std::fs::copy(root.join("target/debug/shop-migrations"), &runner).unwrap();
    let staging = db.sibling();
    let deploy = |args: &[&str]| {
        run({
            let mut c = Command::new(&runner);
            c.arg("deploy")
                .args(args)
                .current_dir(root.join("examples/shop"))
                .env("DATABASE_URL", &db.url)
                .env("STAGING_DATABASE_URL", &staging.url)
                .env("MIGRATE_BACKUP_DIR", tmp.path().join("backups"))
                .env("NO_COLOR", "1")
                .env_remove("MIGRATE_FAILPOINT")
                .env_remove("MIGRATE_CONFIG")
                .stdin(Stdio::null());
            c
        })
    };
    let r = deploy(&[]);
    r.expect(0);
    let applied = r.stdout.lines().filter(|l| l.starts_with("apply ")).count();
    // The contract migration `drop_customers_name` waits for `--phase contract`.
    assert_eq!(applied, 9, "{}", r.stdout);
    assert!(
        r.stdout.contains("held back: 20250115_000000"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("health:orders_have_customers") && r.stdout.contains("deployed"),
        "{}",
        r.stdout
    );
    assert_eq!(
        db.scalar("SELECT count(*) FROM _migrate_history WHERE state = 'finished'"),
        9
    );
    let r = deploy(&[]);
    r.expect(0);
    assert!(r.stdout.contains("nothing to deploy"), "{}", r.stdout);
    let r = deploy(&["--phase", "contract"]);
    r.expect(0);
    let applied: Vec<_> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("apply "))
        .collect();
    assert_eq!(applied.len(), 1, "{}", r.stdout);
    assert!(applied[0].contains("drop_customers_name"), "{}", r.stdout);
    assert_eq!(
        db.scalar("SELECT count(*) FROM _migrate_history WHERE state = 'finished'"),
        10
    );
}
