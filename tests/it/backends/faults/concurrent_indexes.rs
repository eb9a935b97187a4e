//! CREATE INDEX CONCURRENTLY under the migrator lock, and INVALID indexes reported.

use super::*;

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
