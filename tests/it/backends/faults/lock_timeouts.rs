//! Lock timeouts behind another session: retried, bounded, and the blocker named.

use super::*;

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
