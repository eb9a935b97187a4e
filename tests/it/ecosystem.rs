//! `#[migrate_core::test]` on every backend, with the migrations of the
//! user-crate fixture: the test sees the migrated schema, parallel tests do
//! not see each other's rows, and the database is gone afterwards, also
//! after a panic. The server variants skip without a server unless
//! `MIGRATE_TEST_REQUIRE_SERVERS=1`.

use std::cell::RefCell;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use migrate_core::Db;
use migrate_core::testing::TestDatabase;
use user_crate as _; // links the fixture so its migrations register

use crate::backends::{Server, admin_url, scalar_at};

thread_local! {
    /// The name and URL of the database the last recording test ran on (this thread).
    static LAST: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

/// Whether the database `name` (at `url`, on the server of `base`) exists.
fn exists(base: &str, name: &str, url: &str) -> bool {
    if let Some(file) = url.strip_prefix("sqlite://") {
        return Path::new(file).parent().expect("a folder").exists();
    }
    let sql = if base.starts_with("postgres") {
        format!("SELECT COUNT(*) FROM pg_database WHERE datname = '{name}'")
    } else {
        format!("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{name}'")
    };
    scalar_at(base, &sql) == 1
}

/// Records the test's database for the checks below, asserting it exists now.
fn record(base: &str, test: &TestDatabase) {
    // Its own thread: the check blocks on a runtime of its own.
    let exists_now = std::thread::scope(|s| {
        s.spawn(|| exists(base, test.name(), test.url()))
            .join()
            .expect("the check ran")
    });
    assert!(exists_now, "{} exists during the test", test.name());
    LAST.with(|l| *l.borrow_mut() = Some((test.name().to_string(), test.url().to_string())));
}

/// Writes one row, waits (at most 5 s) until the other test of the pair has
/// written its own, then checks that only its own row is visible.
async fn write_and_look(db: &mut Db, id: i64, written: &AtomicUsize) {
    db.execute(&format!(
        "INSERT INTO notes (id, body) VALUES ({id}, 'mine')"
    ))
    .await
    .unwrap();
    written.fetch_add(1, Ordering::SeqCst);
    let started = Instant::now();
    while written.load(Ordering::SeqCst) < 2 && started.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(db.fetch_i64("SELECT COUNT(*) FROM notes").await.unwrap(), 1);
    assert_eq!(db.fetch_i64("SELECT id FROM notes").await.unwrap(), id);
}

macro_rules! suite {
    ($backend:ident, $base:expr) => {
        mod $backend {
            use super::*;

            fn base() -> Option<String> {
                $base
            }

            #[migrate_core::test(url = base())]
            async fn sees_the_migrated_schema(db: &mut Db) -> migrate_core::Result<()> {
                db.execute("INSERT INTO notes (id, body, body_length) VALUES (1, 'hello', 5)")
                    .await?;
                assert_eq!(db.fetch_i64("SELECT body_length FROM notes").await?, 5);
                assert_eq!(
                    db.fetch_i64("SELECT COUNT(*) FROM _migrate_history")
                        .await?,
                    3
                );
                Ok(())
            }

            static WRITTEN: AtomicUsize = AtomicUsize::new(0);

            #[migrate_core::test(url = base())]
            async fn parallel_tests_do_not_share_data_a(db: &mut Db) {
                write_and_look(db, 1, &WRITTEN).await;
            }

            #[migrate_core::test(url = base())]
            async fn parallel_tests_do_not_share_data_b(db: &mut Db) {
                write_and_look(db, 2, &WRITTEN).await;
            }

            #[migrate_core::test(url = base(), up_to = user_crate::CREATE_NOTES)]
            async fn later_migrations_run_on_seeded_old_data(test: &mut TestDatabase) {
                test.db()
                    .execute("INSERT INTO notes (id, body) VALUES (1, 'four'), (2, 'sixsix')")
                    .await
                    .unwrap();
                assert_eq!(test.apply_rest().await.unwrap().applied.len(), 2);
                for (id, length) in [(1, 4), (2, 6)] {
                    let sql = format!("SELECT body_length FROM notes WHERE id = {id}");
                    assert_eq!(test.db().fetch_i64(&sql).await.unwrap(), length);
                }
            }

            #[migrate_core::test(url = base())]
            async fn records_its_database(test: &mut TestDatabase) {
                record(&base().unwrap(), test);
            }

            #[migrate_core::test(url = base())]
            #[should_panic(expected = "deliberately")]
            async fn panics_after_recording(test: &mut TestDatabase) {
                record(&base().unwrap(), test);
                panic!("deliberately");
            }

            #[test]
            fn the_database_is_gone_after_the_test() {
                let Some(base) = base() else { return };
                records_its_database();
                let (name, url) = LAST.with(|l| l.borrow_mut().take()).expect("the test ran");
                assert!(!exists(&base, &name, &url), "{name} was removed");
            }

            #[test]
            fn the_database_is_gone_after_a_panicking_test() {
                let Some(base) = base() else { return };
                let panicked = std::panic::catch_unwind(panics_after_recording).is_err();
                assert!(panicked, "the test body panicked");
                let (name, url) = LAST.with(|l| l.borrow_mut().take()).expect("the test ran");
                assert!(!exists(&base, &name, &url), "{name} was removed");
            }
        }
    };
}

suite!(sqlite, Some("sqlite://scratch.db".to_string()));
suite!(postgres, admin_url(Server::Postgres));
suite!(mariadb, admin_url(Server::MySql));

#[test]
fn an_unregistered_up_to_is_refused_before_anything_is_created() {
    let err = crate::support::block_on(TestDatabase::create(None, Some(42))).unwrap_err();
    assert!(
        err.to_string()
            .contains("up_to = 42 is not a registered migration version"),
        "{err}"
    );
}
