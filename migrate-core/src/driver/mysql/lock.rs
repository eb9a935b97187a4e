//! The MySQL / MariaDB migrator lock: a `GET_LOCK` named lock held by a
//! dedicated connection. Lock names are server-wide and at most 64
//! characters, so the database and history table are hashed into the name;
//! the server frees it when the connection (or the runner) dies.

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sqlx::Connection as _;
use sqlx::Row as _;
use sqlx::mysql::MySqlConnection;

use crate::driver::Connection;
use crate::error::human_duration;
use crate::lock::{Holder, LockGuard, LockStatus};
use crate::url::DbUrl;
use crate::{Error, Result};

/// How often a waiting deployer asks again.
const POLL: Duration = Duration::from_millis(50);

/// The servers' limit on lock names.
const NAME_MAX: usize = 64;

const PREFIX: &str = "cargo-migrate:";

/// A held named lock and the connection that holds it.
#[derive(Debug)]
pub struct NamedLock {
    conn: MySqlConnection,
    name: String,
}

impl NamedLock {
    /// Releases the lock and closes the connection (closing alone would also free it).
    pub async fn release(mut self) {
        let _ = sqlx::query("SELECT RELEASE_LOCK(?)")
            .bind(&self.name)
            .execute(&mut self.conn)
            .await;
        let _ = self.conn.close().await;
    }
}

/// `cargo-migrate:` and the hex sha256 of `database/history_table`, cut to 64 characters.
fn lock_name(database: &str, history_table: &str) -> String {
    let digest = hex::encode(Sha256::digest(
        format!("{database}/{history_table}").as_bytes(),
    ));
    format!("{PREFIX}{}", &digest[..NAME_MAX - PREFIX.len()])
}

/// The database the session uses (`DATABASE()`), else the URL's.
async fn database(
    c: &mut MySqlConnection,
    url: &DbUrl,
) -> std::result::Result<String, sqlx::Error> {
    let current: Option<String> = sqlx::query_scalar("SELECT CAST(DATABASE() AS CHAR)")
        .fetch_one(c)
        .await?;
    Ok(current.unwrap_or_else(|| url.database_name()))
}

/// Takes the migrator lock of `url` and `history_table` on a dedicated
/// connection, polling `GET_LOCK(name, 0)` until `wait` has passed.
pub async fn lock(url: &DbUrl, history_table: &str, wait: Duration) -> Result<LockGuard> {
    let conn = super::connect(url).await?;
    lock_on(conn, url, history_table, wait).await
}

/// [`lock`] on a connection the caller opened (one detached from the
/// application's pool); it is closed on release.
pub async fn lock_on(
    mut conn: MySqlConnection,
    url: &DbUrl,
    history_table: &str,
    wait: Duration,
) -> Result<LockGuard> {
    let name = lock_name(&database(&mut conn, url).await?, history_table);
    let started = Instant::now();
    loop {
        let taken: Option<i64> = sqlx::query_scalar("SELECT CAST(GET_LOCK(?, 0) AS SIGNED)")
            .bind(&name)
            .fetch_one(&mut conn)
            .await?;
        if taken == Some(1) {
            return Ok(LockGuard::mysql(
                NamedLock { conn, name },
                started.elapsed(),
            ));
        }
        if started.elapsed() >= wait {
            let holder = holder(&mut conn, &name).await.ok().flatten();
            let _ = conn.close().await;
            return Err(Error::LockNotAcquired {
                target: url.redacted(),
                holder: Holder::describe(holder.as_ref()),
                waited: human_duration(started.elapsed()),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Whether the migrator lock of this database and `history_table` is held,
/// and by whom (`IS_USED_LOCK` and the process list).
pub async fn lock_status(
    conn: &mut Connection,
    url: &DbUrl,
    history_table: &str,
) -> Result<LockStatus> {
    let c = match conn {
        Connection::MySql(c) => c,
        #[allow(unreachable_patterns)]
        _ => return Ok(LockStatus::None),
    };
    let name = lock_name(&database(c, url).await?, history_table);
    Ok(match holder(c, &name).await? {
        Some(holder) => LockStatus::Held {
            holder: Some(holder),
        },
        None => LockStatus::Free,
    })
}

/// The connection holding lock `name`, if any: its connection id as `pid`,
/// its client host, and since when it has been idle (it last ran the
/// `GET_LOCK` that took the lock). A holder hidden from the process list
/// (another user, without the PROCESS privilege) is named by id only.
async fn holder(
    c: &mut MySqlConnection,
    name: &str,
) -> std::result::Result<Option<Holder>, sqlx::Error> {
    let id: Option<i64> = sqlx::query_scalar("SELECT CAST(IS_USED_LOCK(?) AS SIGNED)")
        .bind(name)
        .fetch_one(&mut *c)
        .await?;
    let Some(id) = id else {
        return Ok(None);
    };
    let row = sqlx::query(
        "SELECT CAST(HOST AS CHAR), \
                CAST(DATE_FORMAT(UTC_TIMESTAMP() - INTERVAL TIME SECOND, '%Y-%m-%dT%H:%i:%sZ') AS CHAR) \
         FROM information_schema.PROCESSLIST WHERE ID = ?",
    )
    .bind(id)
    .fetch_optional(&mut *c)
    .await?;
    let pid = u32::try_from(id).unwrap_or(u32::MAX);
    Ok(Some(match row {
        Some(r) => Holder {
            pid,
            host: r
                .try_get::<Option<String>, _>(0)?
                .unwrap_or_else(|| "unknown host".into()),
            since: r
                .try_get::<Option<String>, _>(1)?
                .unwrap_or_else(|| "unknown".into()),
        },
        None => Holder {
            pid,
            host: "a host hidden from this user".into(),
            since: "unknown".into(),
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_the_server_limit_and_differ_per_set() {
        let a = lock_name("shop", "_migrate_history");
        assert_eq!(a.len(), NAME_MAX);
        assert!(a.starts_with("cargo-migrate:"));
        assert_eq!(a, lock_name("shop", "_migrate_history"));
        assert_ne!(a, lock_name("shop_staging", "_migrate_history"));
        assert_ne!(a, lock_name("shop", "_billing_history"));
        assert_eq!(lock_name(&"x".repeat(500), "t").len(), NAME_MAX);
    }
}
