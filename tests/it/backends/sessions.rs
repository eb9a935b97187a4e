//! Migration sessions: their settings, and lock timeouts the driver recognizes.

use std::time::{Duration, Instant};

use super::{TestDb, mysql_db, pg_db};
use crate::support::block_on;

#[test]
fn migration_sessions_are_named_and_cancel_work_of_a_dead_client_on_postgres() {
    let Some(db) = pg_db() else { return };
    let settings = block_on(async {
        let mut c = db.connect().await;
        c.set_timeouts(Duration::from_millis(2500), Some(Duration::from_secs(90)))
            .await
            .unwrap();
        let s = c
            .fetch_strings(
                "SELECT current_setting('application_name') UNION ALL SELECT current_setting('client_connection_check_interval') \
                 UNION ALL SELECT current_setting('lock_timeout') UNION ALL SELECT current_setting('statement_timeout')",
            )
            .await
            .unwrap();
        c.close().await;
        s
    });
    assert_eq!(settings, ["cargo-migrate", "1s", "2500ms", "90s"]);
}

#[test]
fn lock_timeouts_are_whole_seconds_and_statements_bounded_on_mysql() {
    let Some(db) = mysql_db() else { return };
    let settings = block_on(async {
        let mut c = db.connect().await;
        c.set_timeouts(Duration::from_millis(2500), Some(Duration::from_secs(90)))
            .await
            .unwrap();
        let mariadb = c.fetch_strings("SELECT VERSION()").await.unwrap()[0].contains("MariaDB");
        let statement = if mariadb {
            "@@session.max_statement_time"
        } else {
            "@@session.max_execution_time / 1000"
        };
        let s = c
            .fetch_strings(&format!(
                "SELECT CAST(CONCAT(@@session.lock_wait_timeout, ' ', @@session.innodb_lock_wait_timeout, ' ', FLOOR({statement})) AS CHAR)"
            ))
            .await
            .unwrap();
        c.close().await;
        s
    });
    assert_eq!(settings, ["3 3 90"]);
}

/// One session holds a lock on `t`; another, with a 1 s lock timeout,
/// fails on it with an error the driver classifies as a lock timeout.
fn lock_timeout_is_recognized(db: &TestDb, hold: &[&str], blocked: &str) {
    block_on(async {
        let mut a = db.connect().await;
        a.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
            .await
            .unwrap();
        a.execute("INSERT INTO t (id, v) VALUES (1, 0)")
            .await
            .unwrap();
        a.begin().await.unwrap();
        for sql in hold {
            a.execute(sql).await.unwrap();
        }
        let mut b = db.connect().await;
        b.set_timeouts(Duration::from_millis(300), None)
            .await
            .unwrap();
        let started = Instant::now();
        let err = b.execute(blocked).await.expect_err("blocked by the lock");
        assert!(b.is_lock_timeout(&err), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the timeout bounded the wait"
        );
        let _ = a.rollback().await;
        a.close().await;
        b.close().await;
    });
}

#[test]
fn lock_timeout_is_recognized_on_postgres() {
    let Some(db) = pg_db() else { return };
    lock_timeout_is_recognized(
        &db,
        &["LOCK TABLE t IN ACCESS EXCLUSIVE MODE"],
        "ALTER TABLE t ADD COLUMN w INTEGER",
    );
}

#[test]
fn lock_timeout_is_recognized_on_mysql() {
    let Some(db) = mysql_db() else { return };
    lock_timeout_is_recognized(
        &db,
        &["UPDATE t SET v = 1 WHERE id = 1"],
        "UPDATE t SET v = 2 WHERE id = 1",
    );
}
