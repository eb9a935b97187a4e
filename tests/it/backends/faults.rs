//! Faults on every backend: concurrent deployers, runners SIGKILLed at named
//! failpoints, lock timeouts behind another session, INVALID indexes, large
//! backups, a broken dump tool and passwords kept out of sight. Each case is
//! written once and run on PostgreSQL, MariaDB/MySQL and (where cheap) SQLite.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{Server, TestDb, eventually, mysql_db, pg_db, run, unique_name};
use crate::bin;
use crate::support::{Run, Sandbox, block_on, wait_for_line};

/// Where a case runs: the sandbox's SQLite file, or a server database.
struct On<'a> {
    sb: Sandbox,
    db: Option<&'a TestDb>,
}

impl<'a> On<'a> {
    fn new(runner: std::path::PathBuf, db: Option<&'a TestDb>) -> On<'a> {
        On {
            sb: Sandbox::new(runner),
            db,
        }
    }

    fn label(&self) -> &'static str {
        match self.db.map(|d| d.server) {
            None => "SQLite",
            Some(Server::Postgres) => "PostgreSQL",
            Some(Server::MySql) => "MariaDB/MySQL",
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        match self.db {
            Some(db) => db.cmd(&self.sb, &self.sb.runner, args),
            None => self.sb.cmd_with(&self.sb.runner, args),
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        run(self.cmd(args))
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut c = self.cmd(args);
        for (k, v) in env {
            c.env(k, v);
        }
        run(c)
    }

    fn scalar(&self, sql: &str) -> i64 {
        match self.db {
            Some(db) => db.scalar(sql),
            None => block_on(self.sb.scalar(sql)),
        }
    }

    fn has_table(&self, name: &str) -> bool {
        let sql = match self.db.map(|d| d.server) {
            None => format!(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{name}'"
            ),
            Some(Server::Postgres) => format!(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '{name}'"
            ),
            Some(Server::MySql) => format!(
                "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{name}'"
            ),
        };
        self.scalar(&sql) > 0
    }

    /// `status --format json`: each migration's state word, and the lock.
    fn status(&self) -> (Vec<String>, String) {
        let doc = self.run(&["status", "--format", "json"]).json();
        let states = doc["migrations"]
            .as_array()
            .expect("migrations")
            .iter()
            .map(|m| m["state"].as_str().unwrap_or("?").to_string())
            .collect();
        (
            states,
            doc["lock"]["lock"].as_str().unwrap_or("?").to_string(),
        )
    }

    fn backups(&self) -> usize {
        self.run(&["backups", "--format", "json"]).json()["backups"]
            .as_array()
            .map_or(0, Vec::len)
    }
}

/// Spawns `cmd` with `failpoint:pause`, waits until the failpoint is reached
/// and SIGKILLs the runner there; returns its stderr so far.
fn kill_at(mut cmd: Command, failpoint: &str) -> String {
    cmd.env("MIGRATE_FAILPOINT", format!("{failpoint}:pause"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("runner starts");
    let seen = wait_for_line(&mut child, "failpoint", Duration::from_secs(60));
    child.kill().expect("SIGKILL the runner");
    let _ = child.wait();
    seen
}

// ---------------------------------------------------------------- deployers

const DEPLOYERS: usize = 8;
const ROUNDS: usize = 20;
const LOGGED: i64 = 10;

/// 8 `apply` processes at once, 20 rounds (reset by `rollback --to 0`):
/// every INSERT migration runs exactly once, nobody fails, no lock is left.
fn concurrent_deployers_apply_each_migration_exactly_once(on: &On) {
    let started = Instant::now();
    let mut max_wait = 0u64;
    for round in 0..ROUNDS {
        let children: Vec<_> = (0..DEPLOYERS)
            .map(|_| {
                let mut c = on.cmd(&["apply", "--format", "json"]);
                c.env("MIGRATE_APPLY_LOCK_WAIT", "120s")
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                c.spawn().expect("runner starts")
            })
            .collect();
        let mut applied = 0;
        for child in children {
            let o = child.wait_with_output().expect("runner ends");
            let r = Run {
                code: o.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            };
            r.expect(0);
            let doc = r.json();
            applied += doc["applied"].as_array().map_or(0, Vec::len);
            max_wait = max_wait.max(doc["lock_waited_ms"].as_u64().unwrap_or(0));
        }
        let label = on.label();
        assert_eq!(
            applied, 11,
            "{label} round {round}: 11 migrations applied in all"
        );
        assert_eq!(
            on.scalar("SELECT count(*) FROM log"),
            LOGGED,
            "{label} round {round}"
        );
        assert_eq!(
            on.scalar("SELECT count(DISTINCT version) FROM log"),
            LOGGED,
            "{label} round {round}: each INSERT exactly once"
        );
        assert_eq!(
            on.scalar("SELECT count(*) FROM _migrate_history WHERE state = 'finished'"),
            11,
            "{label} round {round}"
        );
        let (_, lock) = on.status();
        assert_eq!(lock, "free", "{label} round {round}: no lock left");
        if round + 1 < ROUNDS {
            on.run(&["rollback", "--to", "0"]).expect(0);
            assert!(!on.has_table("log"), "{label}: rolled back");
        }
    }
    eprintln!(
        "deployers on {}: {ROUNDS} rounds x {DEPLOYERS} processes in {:.1} s, max lock wait {max_wait} ms",
        on.label(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn concurrent_deployers_apply_each_migration_exactly_once_on_sqlite() {
    concurrent_deployers_apply_each_migration_exactly_once(&On::new(bin!("fx-faults-many"), None));
}

#[test]
fn concurrent_deployers_apply_each_migration_exactly_once_on_postgres() {
    let Some(db) = pg_db() else { return };
    concurrent_deployers_apply_each_migration_exactly_once(&On::new(
        bin!("fx-faults-many"),
        Some(&db),
    ));
}

#[test]
fn concurrent_deployers_apply_each_migration_exactly_once_on_mysql() {
    let Some(db) = mysql_db() else { return };
    concurrent_deployers_apply_each_migration_exactly_once(&On::new(
        bin!("fx-faults-many"),
        Some(&db),
    ));
}

/// Two databases on one server, each runner sleeping 500 ms holding its lock:
/// neither waits for the other.
fn two_databases_migrate_at_once_without_waiting(a: &On, b: &On) {
    let spawn = |on: &On| {
        let mut c = on.cmd(&["apply", "--format", "json"]);
        c.env("MIGRATE_FAILPOINT", "lock.after:sleep(500)")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c.spawn().expect("runner starts")
    };
    let started = Instant::now();
    let (ca, cb) = (spawn(a), spawn(b));
    let (oa, ob) = (
        ca.wait_with_output().unwrap(),
        cb.wait_with_output().unwrap(),
    );
    let took = started.elapsed();
    for o in [oa, ob] {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON report");
        let waited = doc["lock_waited_ms"].as_u64().expect("lock_waited_ms");
        eprintln!("two databases on {}: lock_waited_ms = {waited}", a.label());
        assert!(
            waited < 100,
            "one database waited for another's lock: {doc}"
        );
    }
    assert!(took < Duration::from_secs(30), "{took:?}");
}

#[test]
fn two_databases_migrate_at_once_without_waiting_on_sqlite() {
    two_databases_migrate_at_once_without_waiting(
        &On::new(bin!("fx-faults-many"), None),
        &On::new(bin!("fx-faults-many"), None),
    );
}

#[test]
fn two_databases_migrate_at_once_without_waiting_on_postgres() {
    let (Some(a), Some(b)) = (pg_db(), pg_db()) else {
        return;
    };
    two_databases_migrate_at_once_without_waiting(
        &On::new(bin!("fx-faults-many"), Some(&a)),
        &On::new(bin!("fx-faults-many"), Some(&b)),
    );
}

#[test]
fn two_databases_migrate_at_once_without_waiting_on_mysql() {
    let (Some(a), Some(b)) = (mysql_db(), mysql_db()) else {
        return;
    };
    two_databases_migrate_at_once_without_waiting(
        &On::new(bin!("fx-faults-many"), Some(&a)),
        &On::new(bin!("fx-faults-many"), Some(&b)),
    );
}

// ------------------------------------------------------------------- crashes

const V1: &str = "20240902000001";
const V2: &str = "20240902000002";

/// One SIGKILL case of `fx-faults-crash` (migrations t, u + index, row 2).
struct Crash {
    name: &'static str,
    /// Apply everything before the killed command.
    applied_first: bool,
    args: &'static [&'static str],
    failpoint: String,
    /// `status` states of the three migrations after the kill.
    states: [&'static str; 3],
    /// `repair <version> <resolution>` needed before the next apply.
    repair: Option<(&'static str, &'static str)>,
}

/// The cases on `server` (`None`: SQLite). MariaDB/MySQL commit DDL
/// implicitly, so there every migration gets a `started` row first and
/// the failpoint counts differ.
fn crash_cases(server: Option<Server>) -> Vec<Crash> {
    let mysql = server == Some(Server::MySql);
    let c = |name, applied_first, args, failpoint: &str, states, repair| Crash {
        name,
        applied_first,
        args,
        failpoint: failpoint.to_string(),
        states,
        repair,
    };
    const APPLY: &[&str] = &["apply"];
    const ROLLBACK: &[&str] = &["rollback", "--to", "0"];
    const PENDING: [&str; 3] = ["pending", "pending", "pending"];
    let mut cases = vec![
        c(
            "before the lock",
            false,
            APPLY,
            "lock.before",
            PENDING,
            None,
        ),
        c("after the lock", false, APPLY, "lock.after", PENDING, None),
        c(
            "during the backup",
            false,
            APPLY,
            if server.is_some() {
                "backup.dump_running"
            } else {
                "backup.after_copy"
            },
            PENDING,
            None,
        ),
        c(
            "just before the backup is renamed into place",
            false,
            APPLY,
            "backup.before_rename",
            PENDING,
            None,
        ),
    ];
    if mysql {
        cases.push(c(
            "inside a transactional migration, between its statements (DDL committed)",
            false,
            APPLY,
            "db.execute@2",
            ["dirty", "pending", "pending"],
            Some((V1, "--run-down")),
        ));
    } else {
        cases.push(c(
            "inside a transactional migration",
            false,
            APPLY,
            "apply.in_transaction@1",
            PENDING,
            None,
        ));
    }
    cases.extend([
        c(
            "after the started row of a transaction = false migration",
            false,
            APPLY,
            if mysql {
                "apply.after_started_row@2"
            } else {
                "apply.after_started_row@1"
            },
            ["applied", "dirty", "pending"],
            Some((V2, "--rolled-back")),
        ),
        c(
            "between the statements of a transaction = false migration",
            false,
            APPLY,
            "db.execute@4",
            ["applied", "dirty", "pending"],
            Some((V2, "--run-down")),
        ),
        c(
            "between migrations",
            false,
            APPLY,
            "apply.after_migration@1",
            ["applied", "pending", "pending"],
            None,
        ),
        c(
            "inside a transactional down",
            true,
            ROLLBACK,
            "rollback.in_transaction@1",
            ["applied", "applied", "applied"],
            None,
        ),
        c(
            "after the started row of a transaction = false down",
            true,
            ROLLBACK,
            "rollback.after_started_row@1",
            ["applied", "dirty", "pending"],
            Some((V2, "--applied")),
        ),
        c(
            "between rollback steps",
            true,
            ROLLBACK,
            "rollback.before_migration@2",
            ["applied", "applied", "pending"],
            None,
        ),
    ]);
    cases
}

/// Runs one crash case; `Err` says what was wrong.
fn crash_case(on: &On, case: &Crash) -> Result<(), String> {
    let fail = |what: String| Err(format!("{} / {}: {what}", on.label(), case.name));
    if case.applied_first {
        let r = on.run(&["apply"]);
        if r.code != 0 {
            return fail(format!("setup apply: {r:?}"));
        }
    }
    let backups_before = on.backups();
    let seen = kill_at(on.cmd(case.args), &case.failpoint);
    if !seen.contains(&format!(
        "failpoint {} reached",
        case.failpoint.split('@').next().unwrap_or_default()
    )) {
        return fail(format!("failpoint not reached: {seen}"));
    }

    // The lock died with the runner, and `status` tells the truth.
    let mut last = (Vec::new(), String::new());
    let truthful = eventually(Duration::from_secs(10), || {
        last = on.status();
        last.1 == "free"
    });
    if !truthful {
        return fail(format!("lock still held: {last:?}"));
    }
    if last.0 != case.states {
        return fail(format!("states {:?}, expected {:?}", last.0, case.states));
    }
    // A backup killed before it was renamed into place does not count.
    if case.failpoint.starts_with("backup.") && on.backups() != backups_before {
        return fail("a killed backup counts as a backup".into());
    }
    // Nothing half-applied unless reported dirty: what is not dirty is whole.
    let [s1, s2, s3] = case.states;
    if s1 != "dirty" && on.has_table("t") != (s1 == "applied") {
        return fail(format!("table t exists: {}, state {s1}", on.has_table("t")));
    }
    if s2 != "dirty" && on.has_table("u") != (s2 == "applied") {
        return fail(format!("table u exists: {}, state {s2}", on.has_table("u")));
    }
    if s1 == "applied" {
        let rows = on.scalar("SELECT count(*) FROM t");
        let want = if s3 == "applied" { 2 } else { 1 };
        if rows != want {
            return fail(format!("t has {rows} rows, expected {want}"));
        }
    }

    if let Some((version, resolution)) = case.repair {
        let r = on.run(&["repair", version, resolution, "--yes"]);
        if r.code != 0 {
            return fail(format!("repair: {r:?}"));
        }
    }
    let r = on.run_env(
        &["apply", "--format", "json"],
        &[("MIGRATE_APPLY_LOCK_WAIT", "5s")],
    );
    if r.code != 0 {
        return fail(format!("apply after the crash: {r:?}"));
    }
    let waited = r.json()["lock_waited_ms"].as_u64().unwrap_or(u64::MAX);
    if waited > 500 {
        return fail(format!("the next apply waited {waited} ms for the lock"));
    }
    let (states, _) = on.status();
    if states != ["applied"; 3] {
        return fail(format!("after apply: {states:?}"));
    }
    let rows = on.scalar("SELECT count(*) FROM t");
    let distinct = on.scalar("SELECT count(DISTINCT id) FROM t");
    if (rows, distinct) != (2, 2) || !on.has_table("u") {
        return fail(format!(
            "after apply: t has {rows} rows ({distinct} ids), u exists: {}",
            on.has_table("u")
        ));
    }
    Ok(())
}

/// Every crash case on a fresh database of `server` (made by `fresh`).
fn runner_killed_at_each_failpoint_leaves_a_truthful_recoverable_state(
    server: Option<Server>,
    fresh: impl Fn() -> Option<TestDb>,
) {
    let cases = crash_cases(server);
    let mut failures = Vec::new();
    let mut label = "SQLite";
    for case in &cases {
        let db = match server {
            Some(_) => match fresh() {
                Some(db) => Some(db),
                None => return,
            },
            None => None,
        };
        let on = On::new(bin!("fx-faults-crash"), db.as_ref());
        label = on.label();
        if let Err(e) = crash_case(&on, case) {
            failures.push(e);
        }
    }
    eprintln!(
        "crash on {label}: {} cases, {} passed",
        cases.len(),
        cases.len() - failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn runner_killed_at_each_failpoint_leaves_a_truthful_recoverable_state_on_sqlite() {
    runner_killed_at_each_failpoint_leaves_a_truthful_recoverable_state(None, || None);
}

#[test]
fn runner_killed_at_each_failpoint_leaves_a_truthful_recoverable_state_on_postgres() {
    runner_killed_at_each_failpoint_leaves_a_truthful_recoverable_state(
        Some(Server::Postgres),
        pg_db,
    );
}

#[test]
fn runner_killed_at_each_failpoint_leaves_a_truthful_recoverable_state_on_mysql() {
    runner_killed_at_each_failpoint_leaves_a_truthful_recoverable_state(
        Some(Server::MySql),
        mysql_db,
    );
}

// ------------------------------------------------------------- lock timeouts

/// A session that opened a transaction and read `t` (PostgreSQL: ACCESS
/// SHARE; MariaDB: a shared metadata lock), both conflicting with `ALTER
/// TABLE`, kept until `release` is sent. Sends its server pid once it holds.
fn hold_read_lock(
    db: &TestDb,
    ready: std::sync::mpsc::Sender<i64>,
    release: std::sync::mpsc::Receiver<()>,
) -> std::thread::JoinHandle<()> {
    let url = db.url.clone();
    let server = db.server;
    std::thread::spawn(move || {
        block_on(async {
            let parsed = migrate_core::url::DbUrl::parse(&url).expect("url");
            let mut c = migrate_core::driver::connect(&parsed, &Default::default())
                .await
                .expect("connect the holder");
            let pid_sql = match server {
                Server::Postgres => {
                    c.execute("SET application_name = 'faults-holder'")
                        .await
                        .expect("name the holder");
                    "SELECT pg_backend_pid()::bigint"
                }
                Server::MySql => "SELECT CAST(CONNECTION_ID() AS SIGNED)",
            };
            let pid = c.fetch_optional_i64(pid_sql).await.unwrap().unwrap();
            c.begin().await.expect("begin");
            c.fetch_optional_i64("SELECT count(*) FROM t")
                .await
                .expect("read t");
            ready.send(pid).expect("report the pid");
            let _ = release.recv_timeout(Duration::from_secs(120));
            let _ = c.rollback().await;
            c.close().await;
        })
    })
}

/// Reads `t` every 20 ms until `stop`, returning the longest read.
fn watch_readers(
    db: &TestDb,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Duration> {
    use std::sync::atomic::Ordering;
    let url = db.url.clone();
    std::thread::spawn(move || {
        block_on(async {
            let parsed = migrate_core::url::DbUrl::parse(&url).expect("url");
            let mut c = migrate_core::driver::connect(&parsed, &Default::default())
                .await
                .expect("connect the reader");
            let mut max = Duration::ZERO;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                c.fetch_optional_i64("SELECT count(*) FROM t")
                    .await
                    .expect("read t");
                max = max.max(t.elapsed());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            c.close().await;
            max
        })
    })
}

/// Behind a session holding a conflicting lock, a migration fails after
/// `lock_timeout`, is retried `lock_retries` times, then fails cleanly naming
/// the blocker; readers of the table are never held up much longer than
/// `lock_timeout`.
fn lock_timeout_is_retried_then_fails_cleanly_naming_the_blocker(db: &TestDb) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let on = On::new(bin!("fx-faults-alter"), Some(db));
    block_on(async {
        let mut c = db.connect().await;
        c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
            .await
            .unwrap();
        c.execute("INSERT INTO t (id, v) VALUES (1, 1), (2, 2), (3, 3)")
            .await
            .unwrap();
        c.close().await;
    });
    let (ready_tx, ready) = std::sync::mpsc::channel();
    let (release, release_rx) = std::sync::mpsc::channel();
    let holder = hold_read_lock(db, ready_tx, release_rx);
    let holder_pid = ready
        .recv_timeout(Duration::from_secs(30))
        .expect("the holder has its lock");
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let reader = watch_readers(db, stop.clone());

    let env = [
        ("MIGRATE_APPLY_LOCK_TIMEOUT", "1s"),
        ("MIGRATE_APPLY_LOCK_RETRIES", "2"),
    ];
    let started = Instant::now();
    let human = on.run_env(&["apply"], &env);
    let took = started.elapsed();
    if db.server == Server::MySql {
        // The failed attempt left a failed row (DDL commits implicitly there);
        // the ALTER never ran, so forgetting it is the truth.
        on.run(&["repair", "20240903000001", "--rolled-back", "--yes"])
            .expect(0);
    }
    let json = on.run_env(&["apply", "--format", "json"], &env);
    stop.store(true, Ordering::Relaxed);
    let max_read = reader.join().expect("reader");
    let _ = release.send(());
    holder.join().expect("holder");

    eprintln!(
        "lock timeout on {}: apply failed after {:.1} s; longest read of t while it waited: {} ms (lock_timeout 1000 ms)",
        on.label(),
        took.as_secs_f64(),
        max_read.as_millis()
    );
    assert_eq!(human.code, 1, "{human:?}");
    let err = json.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let pg = db.server == Server::Postgres;
    if pg {
        assert!(
            human.stderr.contains("lock timeout, retry 1")
                && human.stderr.contains("lock timeout, retry 2"),
            "stderr shows each retry: {}",
            human.stderr
        );
        assert!(
            human.stderr.contains("after 2 lock-timeout retries"),
            "{}",
            human.stderr
        );
        assert!(err.contains("after 2 lock-timeout retries"), "{err}");
        let named = format!("blocked by pid {holder_pid} (faults-holder, idle in transaction");
        assert!(
            human.stderr.contains(&named),
            "names the blocker: {}",
            human.stderr
        );
        assert!(
            err.contains(&named) && err.contains("SELECT count(*) FROM t"),
            "{err}"
        );
    } else {
        assert!(
            human.stderr.contains("retried 2 times") && err.contains("retried 2 times"),
            "{}\n{err}",
            human.stderr
        );
        assert!(
            human.stderr.contains(&format!("pid {holder_pid} (")),
            "names the candidate blocker: {}",
            human.stderr
        );
    }
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(15),
        "three attempts of about 1 s each plus back-off: {took:?}"
    );
    let column_added = db.scalar(&match db.server {
        Server::Postgres => "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 't' AND column_name = 'w'".to_string(),
        Server::MySql => "SELECT count(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't' AND COLUMN_NAME = 'w'".to_string(),
    });
    assert_eq!(column_added, 0, "the ALTER did not run");
    let (states, lock) = on.status();
    assert_eq!(lock, "free");
    if pg {
        assert_eq!(states, ["pending"], "history unchanged");
    } else {
        // DDL commits implicitly there, so the attempt leaves a failed row.
        assert_eq!(states, ["dirty"]);
    }
    assert!(
        max_read < Duration::from_millis(1700),
        "a reader waited {max_read:?} behind the queued ALTER (lock_timeout 1 s)"
    );
}

#[test]
fn lock_timeout_is_retried_then_fails_cleanly_naming_the_blocker_on_postgres() {
    let Some(db) = pg_db() else { return };
    lock_timeout_is_retried_then_fails_cleanly_naming_the_blocker(&db);
}

#[test]
fn lock_timeout_is_retried_then_fails_cleanly_naming_the_blocker_on_mysql() {
    let Some(db) = mysql_db() else { return };
    lock_timeout_is_retried_then_fails_cleanly_naming_the_blocker(&db);
}

// ------------------------------------------------------ concurrent indexes

/// `CREATE INDEX CONCURRENTLY` in a `transaction = false` migration finishes
/// while the runner holds the migrator lock; a unique one failing on
/// duplicates leaves an INVALID index that `status` and `verify` report.
#[test]
fn create_index_concurrently_runs_under_the_lock_and_a_failed_one_is_reported_on_postgres() {
    let Some(db) = pg_db() else { return };
    let on = On::new(bin!("fx-faults-cic"), Some(&db));
    let started = Instant::now();
    let r = on.run_env(&["apply"], &[("MIGRATE_APPLY_LOCK_TIMEOUT", "5s")]);
    let took = started.elapsed();
    assert_eq!(r.code, 1, "the unique index fails on duplicates: {r:?}");
    assert!(
        took < Duration::from_secs(30),
        "no deadlock with the lock: {took:?}"
    );
    assert!(r.stderr.contains("items_code_uidx"), "{}", r.stderr);
    let (states, lock) = on.status();
    assert_eq!(states, ["applied", "applied", "dirty"]);
    assert_eq!(lock, "free");
    assert_eq!(
        db.scalar("SELECT count(*) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE i.relname = 'items_code_idx' AND x.indisvalid"),
        1,
        "the concurrent index built while the lock was held is valid"
    );

    let status = on.run(&["status"]);
    assert!(
        status
            .stdout
            .contains("index items_code_uidx on items is INVALID"),
        "{status:?}"
    );
    let doc = on.run(&["status", "--format", "json"]).json();
    assert_eq!(
        doc["invalid_indexes"],
        serde_json::json!(["items_code_uidx on items"])
    );
    let verify = on.run(&["verify", "--format", "json"]).json();
    let schema = verify["verify"]["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == "schema")
        .cloned()
        .expect("a schema check");
    assert_eq!(schema["ok"], false, "{schema}");
    assert!(
        schema["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("index items_code_uidx on items (code) unique invalid"),
        "{schema}"
    );

    // Cleaned up by the down (DROP INDEX CONCURRENTLY IF EXISTS): nothing is reported.
    on.run(&["repair", "20240904000003", "--run-down", "--yes"])
        .expect(0);
    let doc = on.run(&["status", "--format", "json"]).json();
    assert_eq!(doc["invalid_indexes"], serde_json::json!([]));
    let verify = on.run(&["verify", "--format", "json"]);
    let checks = verify.json()["verify"]["checks"].clone();
    assert!(
        checks
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "schema" && c["ok"] == true),
        "{checks}"
    );
}

/// The migrator lock on SQLite and MariaDB is not in the way of ordinary
/// index builds either; there is no INVALID state to report.
fn status_reports_no_invalid_indexes(on: &On) {
    on.run(&["apply"]).expect(0);
    let doc = on.run(&["status", "--format", "json"]).json();
    assert_eq!(doc["invalid_indexes"], serde_json::json!([]), "{doc}");
}

#[test]
fn status_reports_no_invalid_indexes_on_sqlite_and_mysql() {
    status_reports_no_invalid_indexes(&On::new(bin!("fx-faults-crash"), None));
    if let Some(db) = mysql_db() {
        status_reports_no_invalid_indexes(&On::new(bin!("fx-faults-crash"), Some(&db)));
    }
}

// ------------------------------------------------------------------ backups

/// `SELECT` 1..=n as `i`, from digits cross-joined (portable, no recursion limit).
fn numbers(n: u32) -> String {
    let digits = "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 \
                  UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)";
    format!(
        "SELECT i FROM (SELECT d1.d + 10 * d2.d + 100 * d3.d + 1000 * d4.d + 10000 * d5.d + 1 AS i \
         FROM {digits} d1, {digits} d2, {digits} d3, {digits} d4, {digits} d5) n WHERE i <= {n}"
    )
}

/// Per table: its row count and a checksum of every row in id order.
fn checksums(db: &TestDb, tables: &[&str]) -> Vec<(String, i64, String)> {
    block_on(async {
        let mut c = db.connect().await;
        if db.server == Server::MySql {
            c.execute("SET SESSION group_concat_max_len = 1073741824")
                .await
                .unwrap();
        }
        let mut out = Vec::new();
        for t in tables {
            let sum = match db.server {
                Server::Postgres => {
                    format!("SELECT md5(string_agg(x::text, ',' ORDER BY id)) FROM {t} x")
                }
                Server::MySql => format!(
                    "SELECT MD5(GROUP_CONCAT(CONCAT_WS('|', id, COALESCE(s, 'NULL'), COALESCE(n, 'NULL'), COALESCE(f, 'NULL')) ORDER BY id SEPARATOR ',')) FROM {t}"
                ),
            };
            let sum = c.fetch_strings(&sum).await.unwrap().remove(0);
            let n = c
                .fetch_optional_i64(&format!("SELECT count(*) FROM {t}"))
                .await
                .unwrap()
                .unwrap();
            out.push((t.to_string(), n, sum));
        }
        c.close().await;
        out
    })
}

/// 100,000 rows in three tables (quotes, NULLs, non-ASCII text, floats)
/// come back from a backup with the same counts and checksums.
fn backup_of_100k_rows_restores_identically(db: &TestDb) {
    let on = On::new(bin!("fx-faults-crash"), Some(db));
    let tables = [("big_a", 50_000), ("big_b", 30_000), ("big_c", 20_000)];
    block_on(async {
        let mut c = db.connect().await;
        for (t, n) in tables {
            c.execute(&format!(
                "CREATE TABLE {t} (id INTEGER PRIMARY KEY, s VARCHAR(100), n BIGINT, f DOUBLE PRECISION)"
            ))
            .await
            .unwrap();
            c.execute(&format!(
                "INSERT INTO {t} (id, s, n, f) SELECT i, \
                 CASE WHEN i % 11 = 0 THEN NULL ELSE CONCAT('row ', i, ' it''s \"q\" é,|;') END, \
                 CASE WHEN i % 7 = 0 THEN NULL ELSE i * 1000003.0 END, i / 7.0 FROM ({}) s",
                numbers(n)
            ))
            .await
            .unwrap();
        }
        c.close().await;
    });
    let names: Vec<&str> = tables.iter().map(|(t, _)| *t).collect();
    let before = checksums(db, &names);
    assert_eq!(before.iter().map(|(_, n, _)| n).sum::<i64>(), 100_000);

    let started = Instant::now();
    let r = on.run(&["backup", "--format", "json"]);
    r.expect(0);
    let backup_took = started.elapsed();
    let id = r.json()["backup"]["id"].as_str().expect("id").to_string();
    let into = db.sibling();
    let started = Instant::now();
    on.run(&["restore", &id, "--into", &into.url]).expect(0);
    eprintln!(
        "100k rows on {}: backup {:.1} s, restore {:.1} s",
        on.label(),
        backup_took.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(checksums(&into, &names), before);
    assert_eq!(into.row_counts(), db.row_counts());
}

#[test]
fn backup_of_100k_rows_restores_identically_on_postgres() {
    let Some(db) = pg_db() else { return };
    backup_of_100k_rows_restores_identically(&db);
}

#[test]
fn backup_of_100k_rows_restores_identically_on_mysql() {
    let Some(db) = mysql_db() else { return };
    backup_of_100k_rows_restores_identically(&db);
}

/// A folder of dump tools that fail (`--version` still answers), to put
/// first on `PATH`.
#[cfg(unix)]
fn broken_dump_tools() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    for tool in ["pg_dump", "mariadb-dump", "mysqldump"] {
        let path = dir.path().join(tool);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\ncase \"$1\" in --version) echo '{tool} (fake) 99.0'; exit 0;; esac\n\
                 echo 'partial dump' >&1\necho '{tool}: error: simulated failure' >&2\nexit 1\n"
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

/// With a dump tool that fails, `apply` refuses (exit 4) naming it, and
/// the database is untouched.
#[cfg(unix)]
fn apply_refuses_when_the_dump_tool_fails(db: &TestDb, tool: &str) {
    let on = On::new(bin!("fx-faults-crash"), Some(db));
    let fake = broken_dump_tools();
    let path = std::env::join_paths(std::iter::once(fake.path().to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let mut c = on.cmd(&["apply"]);
    c.env("PATH", &path);
    let r = run(c);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains(tool), "names {tool}: {}", r.stderr);
    let mut c = on.cmd(&["apply", "--format", "json"]);
    c.env("PATH", &path);
    let r = run(c);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains(tool),
        "{r:?}"
    );
    assert!(!on.has_table("t") && !on.has_table("u"), "untouched");
    let (states, lock) = on.status();
    assert_eq!(states, ["pending"; 3]);
    assert_eq!(lock, "free");
    assert_eq!(on.backups(), 0, "no backup counts");
    on.run(&["apply"]).expect(0);
}

#[cfg(unix)]
#[test]
fn apply_refuses_when_the_dump_tool_fails_on_postgres() {
    let Some(db) = pg_db() else { return };
    apply_refuses_when_the_dump_tool_fails(&db, "pg_dump");
}

#[cfg(unix)]
#[test]
fn apply_refuses_when_the_dump_tool_fails_on_mysql() {
    let Some(db) = mysql_db() else { return };
    apply_refuses_when_the_dump_tool_fails(&db, "mariadb-dump");
}

// ---------------------------------------------------------------- passwords

/// The command lines of every process whose command line contains `needle`.
fn command_lines_mentioning(needle: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(needle))
        .collect()
}

/// Every file under `dir`, as text.
fn files_text(dir: &Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_text(&p));
        } else if let Ok(bytes) = std::fs::read(&p) {
            out.push((p, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    out
}

/// With `url` carrying `password`: the password is in no output, error,
/// backup file or manifest, history row, or child process argument list
/// (read while the dump tool runs, held at `backup.dump_running`).
fn password_appears_nowhere(db: &TestDb, url: &str, password: &str) {
    let on = On::new(bin!("fx-faults-crash"), Some(db));
    let with_url = |args: &[&str]| {
        let mut c = on.cmd(args);
        c.env("DATABASE_URL", url);
        c
    };

    // A table locked by another session keeps the dump tool waiting (alive)
    // while its argument list is read, however fast the dump would be.
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (locked, is_locked) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn({
        let url = db.url.clone();
        let server = db.server;
        move || {
            block_on(async {
                let dburl = migrate_core::url::DbUrl::parse(&url).unwrap();
                let mut c = migrate_core::driver::connect(&dburl, &Default::default())
                    .await
                    .unwrap();
                c.execute("CREATE TABLE dump_blocker (id INTEGER)")
                    .await
                    .unwrap();
                match server {
                    Server::Postgres => {
                        c.execute("BEGIN").await.unwrap();
                        c.execute("LOCK TABLE dump_blocker IN ACCESS EXCLUSIVE MODE")
                            .await
                            .unwrap();
                    }
                    Server::MySql => {
                        c.execute("LOCK TABLES dump_blocker WRITE").await.unwrap();
                    }
                }
                locked.send(()).unwrap();
                let _ = tokio::task::spawn_blocking(move || released.recv()).await;
                let _ = c
                    .execute(match server {
                        Server::Postgres => "ROLLBACK",
                        Server::MySql => "UNLOCK TABLES",
                    })
                    .await;
                let _ = c.execute("DROP TABLE dump_blocker").await;
                c.close().await;
            })
        }
    });
    is_locked.recv().expect("the blocker holds its lock");

    let mut cmd = with_url(&["apply"]);
    cmd.env("MIGRATE_FAILPOINT", "backup.dump_running:pause")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("runner starts");
    let seen = wait_for_line(&mut child, "failpoint", Duration::from_secs(60));
    let dumps = command_lines_mentioning(&db.name)
        .into_iter()
        .filter(|c| c.contains("dump"))
        .collect::<Vec<_>>();
    let leaked = command_lines_mentioning(password);
    child.kill().expect("SIGKILL the runner");
    let _ = child.wait();
    let _ = release.send(());
    holder.join().expect("the blocker thread");
    assert!(!seen.contains(password), "{seen}");
    assert!(!dumps.is_empty(), "a dump tool runs at backup.dump_running");
    assert!(
        leaked.is_empty(),
        "the password is in an argument list: {leaked:?}"
    );

    let missing = {
        let (base, _) = url.rsplit_once('/').expect("a URL with a database");
        format!("{base}/{}_missing", db.name)
    };
    let mut outputs = Vec::new();
    for args in [
        &["apply"][..],
        &["status"],
        &["status", "--format", "json"],
        &["backup", "--format", "json"],
        &["backups", "--format", "json"],
        &["verify", "--format", "json"],
        &["plan"],
        &["rollback", "--steps", "1"],
        &["apply", "--format", "json"],
    ] {
        outputs.push((args.join(" "), run(with_url(args))));
    }
    for args in [&["status"][..], &["apply", "--format", "json"]] {
        let mut c = on.cmd(args);
        c.env("DATABASE_URL", &missing);
        outputs.push((format!("{} (missing database)", args.join(" ")), run(c)));
    }
    assert_eq!(outputs[0].1.code, 0, "{:?}", outputs[0]);
    assert_ne!(outputs.last().unwrap().1.code, 0, "{:?}", outputs.last());
    for (what, r) in &outputs {
        assert!(
            !r.all().contains(password),
            "`{what}` printed the password: {r:?}"
        );
    }
    let files = files_text(on.sb.path());
    assert!(
        files
            .iter()
            .any(|(p, _)| p.to_string_lossy().contains("backups")),
        "backups were written: {files:?}"
    );
    for (p, text) in &files {
        assert!(
            !text.contains(password),
            "{} holds the password",
            p.display()
        );
    }
    let in_history = db.scalar(&format!(
        "SELECT count(*) FROM _migrate_history WHERE applied_by LIKE '%{password}%' \
         OR COALESCE(error, '') LIKE '%{password}%' OR COALESCE(failed_statement, '') LIKE '%{password}%'"
    ));
    assert_eq!(in_history, 0);
    eprintln!(
        "password on {}: absent from {} outputs, {} files, {} dump processes' arguments",
        on.label(),
        outputs.len(),
        files.len(),
        dumps.len()
    );
}

#[test]
fn password_appears_nowhere_on_postgres() {
    let Some(db) = pg_db() else { return };
    let password = format!("pw-{}", unique_name());
    // Trust authentication accepts any password.
    password_appears_nowhere(&db, &db.url_with_password(&password), &password);
}

#[test]
fn password_appears_nowhere_on_mysql() {
    let Some(db) = mysql_db() else { return };
    let password = format!("pw{}", unique_name());
    let user = format!("mu{}", &db.name[db.name.len().saturating_sub(12)..]);
    let mut setup = vec![];
    for host in ["%", "127.0.0.1", "localhost"] {
        setup.push(format!(
            "CREATE USER '{user}'@'{host}' IDENTIFIED BY '{password}'"
        ));
        setup.push(format!("GRANT ALL ON `{}`.* TO '{user}'@'{host}'", db.name));
        setup.push(format!("GRANT PROCESS, RELOAD ON *.* TO '{user}'@'{host}'"));
        setup.push(format!("GRANT SELECT ON mysql.* TO '{user}'@'{host}'"));
    }
    block_on(async {
        let mut c = db.connect().await;
        for sql in &setup {
            c.execute(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        c.close().await;
    });
    let url = db
        .url
        .replacen("://root@", &format!("://{user}:{password}@"), 1);
    assert_ne!(url, db.url, "the test server URL names root: {}", db.url);
    let result = std::panic::catch_unwind(|| password_appears_nowhere(&db, &url, &password));
    block_on(async {
        let mut c = db.connect().await;
        for host in ["%", "127.0.0.1", "localhost"] {
            let _ = c.execute(&format!("DROP USER '{user}'@'{host}'")).await;
        }
        c.close().await;
    });
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}
