//! The online helpers of `Db` on every backend: they leave the schema the
//! plain statements would, they can be re-run after a failure, and a
//! backfill killed between batches resumes to update every row exactly once.

use std::time::Duration;

use super::on::On;
use super::{Server, mysql_db, pg_db, run};
use crate::bin;
use crate::support::block_on;

// ------------------------------------------------------------ same schema

/// Every helper, run twice, leaves the schema the plain statements leave on
/// a second fresh database.
fn helpers_leave_the_schema_of_the_plain_statements(helpers: &On, plain: &On) {
    let label = helpers.label();
    helpers.run(&["apply"]).expect(0);
    plain.run(&["apply"]).expect(0);
    let (a, b) = (helpers.schema(), plain.schema());
    assert!(!a.is_empty(), "{label}: a schema was read");
    assert_eq!(a, b, "{label}: helpers vs plain statements");
    assert_eq!(helpers.states(), ["applied", "applied"], "{label}");
    if helpers.db.is_some() {
        assert_eq!(
            helpers.scalar("SELECT count(*) FROM child WHERE status = 'new'"),
            3,
            "{label}: the constant default fills old rows"
        );
    }
}

#[test]
fn helpers_leave_the_schema_of_the_plain_statements_on_sqlite() {
    helpers_leave_the_schema_of_the_plain_statements(
        &On::new(bin!("fx-online-helpers"), None),
        &On::new(bin!("fx-online-plain"), None),
    );
}

#[test]
fn helpers_leave_the_schema_of_the_plain_statements_on_postgres() {
    let (Some(a), Some(b)) = (pg_db(), pg_db()) else {
        return;
    };
    helpers_leave_the_schema_of_the_plain_statements(
        &On::new(bin!("fx-online-helpers"), Some(&a)),
        &On::new(bin!("fx-online-plain"), Some(&b)),
    );
}

#[test]
fn helpers_leave_the_schema_of_the_plain_statements_on_mysql() {
    let (Some(a), Some(b)) = (mysql_db(), mysql_db()) else {
        return;
    };
    helpers_leave_the_schema_of_the_plain_statements(
        &On::new(bin!("fx-online-helpers"), Some(&a)),
        &On::new(bin!("fx-online-plain"), Some(&b)),
    );
}

// ---------------------------------------------------------- re-run safely

/// The unique index fails on duplicates, the check on a zero quantity; once
/// the data is fixed and the failed migration repaired, apply finishes the
/// job: on PostgreSQL the INVALID index is rebuilt and the NOT VALID check
/// is validated.
fn failed_helpers_finish_on_rerun_after_repair(on: &On) {
    let label = on.label();
    let pg = on.db.map(|d| d.server) == Some(Server::Postgres);
    let invalid = "SELECT count(*) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
                   WHERE i.relname = 'items_code_key' AND NOT x.indisvalid";
    let r = on.run(&["apply"]);
    assert_eq!(
        r.code, 1,
        "{label}: the unique index fails on duplicates: {r:?}"
    );
    assert!(r.stderr.contains("items_code_key"), "{label}: {}", r.stderr);
    assert_eq!(on.states(), ["applied", "dirty", "pending"], "{label}");
    if pg {
        assert_eq!(on.scalar(invalid), 1, "an INVALID index is left behind");
    }

    on.execute("UPDATE items SET code = 'b2' WHERE id = 2");
    on.run(&["repair", "20241002000002", "--rolled-back", "--yes"])
        .expect(0);
    let r = on.run(&["apply"]);
    assert_eq!(r.code, 1, "{label}: the check fails on qty 0: {r:?}");
    assert!(
        r.stderr.contains("items_qty_positive"),
        "{label}: {}",
        r.stderr
    );
    assert_eq!(on.states(), ["applied", "applied", "dirty"], "{label}");
    if pg {
        assert_eq!(on.scalar(invalid), 0, "the INVALID index was replaced");
        assert_eq!(
            on.scalar("SELECT count(*) FROM pg_constraint WHERE conname = 'items_qty_positive' AND NOT convalidated"),
            1,
            "the check is left NOT VALID"
        );
    }

    on.execute("UPDATE items SET qty = 1 WHERE qty <= 0");
    on.run(&["repair", "20241002000003", "--rolled-back", "--yes"])
        .expect(0);
    on.run(&["apply"]).expect(0);
    assert_eq!(on.states(), ["applied", "applied", "applied"], "{label}");
    if pg {
        assert_eq!(on.scalar(invalid), 0);
        assert_eq!(
            on.scalar("SELECT count(*) FROM pg_constraint WHERE conname = 'items_qty_positive' AND convalidated"),
            1,
            "the check is validated"
        );
        assert_eq!(
            on.scalar("SELECT count(*) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE i.relname = 'items_code_key' AND x.indisvalid AND x.indisunique"),
            1
        );
    } else {
        assert!(
            on.db.is_some_and(|d| d.has_index("items_code_key")),
            "{label}: the index exists"
        );
    }
}

#[test]
fn failed_helpers_finish_on_rerun_after_repair_on_postgres() {
    let Some(db) = pg_db() else { return };
    failed_helpers_finish_on_rerun_after_repair(&On::new(bin!("fx-online-retry"), Some(&db)));
}

#[test]
fn failed_helpers_finish_on_rerun_after_repair_on_mysql() {
    let Some(db) = mysql_db() else { return };
    failed_helpers_finish_on_rerun_after_repair(&On::new(bin!("fx-online-retry"), Some(&db)));
}

/// A concurrent build that times out waiting for an old snapshot leaves an
/// INVALID index; the helper drops it and builds again after a back-off, so
/// the migration succeeds once the old transaction ends.
#[test]
fn create_index_concurrently_retries_a_lock_timeout_over_its_invalid_leftover_on_postgres() {
    let Some(db) = pg_db() else { return };
    let on = On::new(bin!("fx-online-cic-wait"), Some(&db));
    on.execute("CREATE TABLE items (id BIGINT PRIMARY KEY, code TEXT NOT NULL)");
    on.execute("INSERT INTO items SELECT i, 'c' || i FROM generate_series(1, 1000) i");
    let (ready, held) = std::sync::mpsc::channel();
    let url = db.url.clone();
    let holder = std::thread::spawn(move || {
        block_on(async {
            let parsed = migrate_core::url::DbUrl::parse(&url).expect("url");
            let mut c = migrate_core::driver::connect(&parsed, &Default::default())
                .await
                .expect("connect the holder");
            c.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
                .await
                .expect("begin");
            c.fetch_optional_i64("SELECT count(*) FROM items")
                .await
                .expect("take a snapshot");
            ready.send(()).expect("report");
            tokio::time::sleep(Duration::from_secs(3)).await;
            let _ = c.rollback().await;
            c.close().await;
        })
    });
    held.recv_timeout(Duration::from_secs(30))
        .expect("the holder has its snapshot");
    let r = run({
        let mut c = on.cmd(&["apply", "--format", "json"]);
        c.env("MIGRATE_APPLY_LOCK_TIMEOUT", "1s")
            .env("MIGRATE_APPLY_LOCK_RETRIES", "6");
        c
    });
    holder.join().expect("holder");
    r.expect(0);
    let applied = &r.json()["applied"][0];
    assert!(
        applied["retries"].as_u64().unwrap_or(0) >= 1,
        "the build timed out at least once: {}",
        r.stdout
    );
    let statements: Vec<&str> = applied["statements"]
        .as_array()
        .expect("statements")
        .iter()
        .filter_map(|s| s["sql"].as_str())
        .collect();
    assert!(
        statements
            .iter()
            .any(|s| s.starts_with("DROP INDEX CONCURRENTLY IF EXISTS")),
        "the INVALID leftover was dropped: {statements:?}"
    );
    assert_eq!(
        db.scalar("SELECT count(*) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE i.relname = 'items_code_idx' AND x.indisvalid"),
        1,
        "the index is valid"
    );
    assert_eq!(
        db.scalar("SELECT count(*) FROM pg_index WHERE NOT indisvalid"),
        0,
        "no INVALID leftover"
    );
}

// ------------------------------------------------------------- backfill

/// SIGKILLed after its third committed batch, the backfill has updated
/// exactly 3000 rows; after `repair --rolled-back` and `apply` it resumes
/// from its progress row and every counter ends at exactly 1.
fn killed_backfill_resumes_and_updates_every_row_once(on: &On) {
    let label = on.label();
    let seen = on.kill_apply_at("backfill.after_batch@3");
    assert!(
        seen.contains("failpoint backfill.after_batch reached"),
        "{label}: {seen}"
    );
    assert_eq!(
        on.scalar("SELECT count(*) FROM counters WHERE counter = 1"),
        3000,
        "{label}: three batches committed"
    );
    assert_eq!(
        on.scalar("SELECT count(*) FROM counters WHERE counter = 0"),
        7000,
        "{label}"
    );
    assert_eq!(
        on.scalar("SELECT last_key FROM _migrate_backfill"),
        3000,
        "{label}: progress committed with the batch"
    );
    assert_eq!(on.states(), ["applied", "dirty"], "{label}");

    on.run(&["repair", "20241003000002", "--rolled-back", "--yes"])
        .expect(0);
    on.run(&["apply"]).expect(0);
    assert_eq!(
        on.scalar("SELECT count(*) FROM counters WHERE counter = 1"),
        10_000,
        "{label}: every row updated"
    );
    assert_eq!(
        on.scalar("SELECT count(*) FROM counters WHERE counter <> 1"),
        0,
        "{label}: no row updated twice"
    );
    assert!(
        !on.has_table("_migrate_backfill"),
        "{label}: progress removed"
    );
    assert_eq!(on.states(), ["applied", "applied"], "{label}");
}

#[test]
fn killed_backfill_resumes_and_updates_every_row_once_on_sqlite() {
    killed_backfill_resumes_and_updates_every_row_once(&On::new(bin!("fx-online-backfill"), None));
}

#[test]
fn killed_backfill_resumes_and_updates_every_row_once_on_postgres() {
    let Some(db) = pg_db() else { return };
    killed_backfill_resumes_and_updates_every_row_once(&On::new(
        bin!("fx-online-backfill"),
        Some(&db),
    ));
}

#[test]
fn killed_backfill_resumes_and_updates_every_row_once_on_mysql() {
    let Some(db) = mysql_db() else { return };
    killed_backfill_resumes_and_updates_every_row_once(&On::new(
        bin!("fx-online-backfill"),
        Some(&db),
    ));
}

// ------------------------------------------------------------- refusals

/// In a transactional migration the helpers that need their own
/// transactions fail, telling the author to add `transaction = false`.
fn helpers_needing_own_transactions_are_refused_in_a_transaction(on: &On) {
    let label = on.label();
    let r = on.run(&["apply"]);
    assert_eq!(r.code, 1, "{label}: {r:?}");
    assert!(
        r.stderr.contains("add `transaction = false`"),
        "{label}: {}",
        r.stderr
    );
    let helper = if on.db.map(|d| d.server) == Some(Server::Postgres) {
        "`create_index_concurrently`"
    } else {
        "`backfill`"
    };
    assert!(r.stderr.contains(helper), "{label}: {}", r.stderr);
}

#[test]
fn helpers_needing_own_transactions_are_refused_in_a_transaction_on_sqlite() {
    helpers_needing_own_transactions_are_refused_in_a_transaction(&On::new(
        bin!("fx-online-refused"),
        None,
    ));
}

#[test]
fn helpers_needing_own_transactions_are_refused_in_a_transaction_on_postgres() {
    let Some(db) = pg_db() else { return };
    helpers_needing_own_transactions_are_refused_in_a_transaction(&On::new(
        bin!("fx-online-refused"),
        Some(&db),
    ));
}

#[test]
fn helpers_needing_own_transactions_are_refused_in_a_transaction_on_mysql() {
    let Some(db) = mysql_db() else { return };
    helpers_needing_own_transactions_are_refused_in_a_transaction(&On::new(
        bin!("fx-online-refused"),
        Some(&db),
    ));
}
