//! Concurrent deployers: exactly once, and separate databases never wait on each other.

use super::*;

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
