//! `Migrator::apply` on the application's sqlx pool (SQLite file and
//! in-memory, PostgreSQL, MariaDB) as well as on a URL, and the sqlx
//! connection behind `Db` for hand-written queries. Migrations: the
//! user-crate fixture's three, linked by `ecosystem`.

use migrate_core::testing::TestDatabase;
use migrate_core::{Db, Dialect, Migrator};

use crate::backends::{Server, admin_url, mysql_db, pg_db};
use crate::support::block_on;

/// The fixture's migrations, in order.
#[allow(clippy::inconsistent_digit_grouping)] // versions read as date_time
const VERSIONS: [u64; 3] = [20240101_000000, 20240102_000000, 20240103_000000];

fn versions(report: &migrate_core::apply::ApplyReport) -> Vec<u64> {
    report.applied.iter().map(|a| a.version).collect()
}

#[test]
fn a_sqlite_file_pool_is_migrated_once_and_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/app.db?mode=rwc", dir.path().display());
    block_on(async {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let first = Migrator::registered().apply(&pool).await.unwrap();
        assert_eq!(versions(&first), VERSIONS);
        let again = Migrator::registered().apply(&pool).await.unwrap();
        assert!(
            again.applied.is_empty(),
            "nothing is pending the second time"
        );
        sqlx::query("INSERT INTO notes (id, body) VALUES (1, 'x')")
            .execute(&pool)
            .await
            .unwrap();
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _migrate_history")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(rows, 3);
        pool.close().await;
    });
    // The file lock sits beside the file, as with a URL.
    assert!(dir.path().join("app.db._migrate_history.lock").exists());
}

#[test]
fn an_in_memory_sqlite_pool_keeps_the_migrated_schema() {
    block_on(async {
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let report = Migrator::registered().apply(&pool).await.unwrap();
        assert_eq!(versions(&report), VERSIONS);
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notes")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(n, 0);
    });
}

#[test]
fn a_url_still_works() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/app.db", dir.path().display());
    let report = block_on(Migrator::registered().apply(&url)).unwrap();
    assert_eq!(versions(&report), VERSIONS);
    let report = block_on(Migrator::registered().apply(url.as_str())).unwrap();
    assert!(report.applied.is_empty());
}

/// A hand-written sqlx query on the connection behind `Db`, per backend.
async fn body_via_sqlx(db: &mut Db) -> String {
    db.execute("INSERT INTO notes (id, body) VALUES (7, 'via sqlx')")
        .await
        .unwrap();
    let result = match db.dialect() {
        Dialect::Sqlite => {
            sqlx::query_scalar("SELECT body FROM notes WHERE id = ?")
                .bind(7_i64)
                .fetch_one(db.sqlite().unwrap())
                .await
        }
        Dialect::Postgres => {
            sqlx::query_scalar("SELECT body FROM notes WHERE id = $1")
                .bind(7_i64)
                .fetch_one(db.postgres().unwrap())
                .await
        }
        Dialect::MySql => {
            sqlx::query_scalar("SELECT body FROM notes WHERE id = ?")
                .bind(7_i64)
                .fetch_one(db.mysql().unwrap())
                .await
        }
    };
    result.unwrap()
}

#[test]
fn db_hands_out_the_sqlx_connection_on_sqlite() {
    block_on(async {
        let mut test = TestDatabase::create(None, None).await.unwrap();
        assert_eq!(body_via_sqlx(test.db()).await, "via sqlx");
        test.close().await.unwrap();
    });
}

macro_rules! server_pools {
    ($backend:ident, $fresh:expr, $server:expr, $db:ty) => {
        mod $backend {
            use super::*;

            #[test]
            fn a_pool_is_migrated_once_even_by_two_concurrent_applies() {
                let Some(db) = $fresh else { return };
                block_on(async {
                    // One connection at most: the lock and the migration
                    // connections are detached, so the pool cannot starve.
                    let pool = sqlx::pool::PoolOptions::<$db>::new()
                        .max_connections(1)
                        .connect(&db.url)
                        .await
                        .unwrap();
                    let migrator = Migrator::registered();
                    let (a, b) = tokio::join!(migrator.apply(&pool), migrator.apply(&pool));
                    let (a, b) = (a.unwrap(), b.unwrap());
                    let mut all = versions(&a);
                    all.extend(versions(&b));
                    assert_eq!(all, VERSIONS, "each migration ran once, under the lock");
                    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _migrate_history")
                        .fetch_one(&pool)
                        .await
                        .unwrap();
                    assert_eq!(n, 3);
                    pool.close().await;
                });
            }

            #[test]
            fn db_hands_out_the_sqlx_connection() {
                let Some(base) = admin_url($server) else {
                    return;
                };
                block_on(async {
                    let mut test = TestDatabase::create(Some(&base), None).await.unwrap();
                    assert_eq!(body_via_sqlx(test.db()).await, "via sqlx");
                    test.close().await.unwrap();
                });
            }
        }
    };
}

server_pools!(postgres, pg_db(), Server::Postgres, sqlx::Postgres);
server_pools!(mariadb, mysql_db(), Server::MySql, sqlx::MySql);
