//! The PostgreSQL migrator lock: a session advisory lock held by a dedicated
//! connection that never opens a transaction, so `CREATE INDEX CONCURRENTLY`
//! on the migration session does not wait for it, and the server frees it
//! when the connection (or the runner) dies.

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sqlx::Connection as _;
use sqlx::Row as _;
use sqlx::postgres::PgConnection;

use crate::driver::Connection;
use crate::error::human_duration;
use crate::lock::{Holder, LockGuard, LockStatus};
use crate::url::DbUrl;
use crate::{Error, Result};

/// How often a waiting deployer asks again.
const POLL: Duration = Duration::from_millis(50);

/// Prefix of the lock connection's `application_name`, which tells other
/// deployers who holds the lock.
const TAG: &str = "cargo-migrate lock";

/// PostgreSQL truncates `application_name` to 63 bytes.
const APPLICATION_NAME_MAX: usize = 63;

/// A held advisory lock and the connection that holds it.
#[derive(Debug)]
pub struct AdvisoryLock {
    conn: PgConnection,
    key: i64,
}

impl AdvisoryLock {
    /// Unlocks and closes the connection (closing alone would also free it).
    pub async fn release(mut self) {
        let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(self.key)
            .execute(&mut self.conn)
            .await;
        let _ = self.conn.close().await;
    }
}

/// The advisory lock key of a database and history table: the first eight
/// bytes of sha256(`database/history_table`), so separate migration sets
/// never block each other.
fn lock_key(database: &str, history_table: &str) -> i64 {
    let digest = Sha256::digest(format!("{database}/{history_table}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// `cargo-migrate lock pid=48211 host=ci-runner-7`, cut to what PostgreSQL keeps.
fn holder_tag(me: &Holder) -> String {
    let mut tag = format!("{TAG} pid={} host={}", me.pid, me.host);
    if tag.len() > APPLICATION_NAME_MAX {
        let mut end = APPLICATION_NAME_MAX;
        while !tag.is_char_boundary(end) {
            end -= 1;
        }
        tag.truncate(end);
    }
    tag
}

/// Reads `pid=` and `host=` back from a lock connection's `application_name`.
fn parse_tag(application_name: &str) -> Option<(u32, String)> {
    let rest = application_name.strip_prefix(TAG)?;
    let mut pid = None;
    let mut host = None;
    for part in rest.split_whitespace() {
        match part.split_once('=') {
            Some(("pid", v)) => pid = v.parse().ok(),
            Some(("host", v)) => host = Some(v.to_string()),
            _ => {}
        }
    }
    Some((pid?, host?))
}

async fn current_database(c: &mut PgConnection) -> std::result::Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT current_database()::text")
        .fetch_one(c)
        .await
}

/// Takes the migrator lock of `url` and `history_table` on a dedicated
/// connection, polling `pg_try_advisory_lock` until `wait` has passed.
pub async fn lock(url: &DbUrl, history_table: &str, wait: Duration) -> Result<LockGuard> {
    let opts = super::options(url)?.application_name(&holder_tag(&Holder::me()));
    let conn = super::open(url, opts).await?;
    lock_on(conn, url, history_table, wait).await
}

/// [`lock`] on a connection the caller opened (one detached from the
/// application's pool); it is tagged with this process and closed on release.
pub async fn lock_on(
    mut conn: PgConnection,
    url: &DbUrl,
    history_table: &str,
    wait: Duration,
) -> Result<LockGuard> {
    sqlx::query("SELECT set_config('application_name', $1, false)")
        .bind(holder_tag(&Holder::me()))
        .execute(&mut conn)
        .await?;
    let key = lock_key(&current_database(&mut conn).await?, history_table);
    let started = Instant::now();
    loop {
        let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut conn)
            .await?;
        if taken {
            return Ok(LockGuard::postgres(
                AdvisoryLock { conn, key },
                started.elapsed(),
            ));
        }
        if started.elapsed() >= wait {
            let holder = holder(&mut conn, key).await.ok().flatten();
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
/// and by whom, from `pg_locks` and `pg_stat_activity`.
pub async fn lock_status(conn: &mut Connection, history_table: &str) -> Result<LockStatus> {
    let c = match conn {
        Connection::Postgres(c) => c,
        #[allow(unreachable_patterns)]
        _ => return Ok(LockStatus::None),
    };
    let key = lock_key(&current_database(c).await?, history_table);
    Ok(match holder(c, key).await? {
        Some(holder) => LockStatus::Held {
            holder: Some(holder),
        },
        None => LockStatus::Free,
    })
}

/// The session holding advisory lock `key` in this database, if any. The
/// holder's own tag names its process; for a session without one, the
/// server process id and client address stand in. `since` is when the lock
/// connection went idle after taking the lock (its last statement).
async fn holder(
    c: &mut PgConnection,
    key: i64,
) -> std::result::Result<Option<Holder>, sqlx::Error> {
    // A bigint advisory key is stored as two 32-bit halves, objsubid 1.
    let (high, low) = ((key >> 32) & 0xffff_ffff, key & 0xffff_ffff);
    let row = sqlx::query(
        "SELECT l.pid, coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'local socket'), \
                to_char(coalesce(CASE WHEN a.state = 'idle' THEN a.state_change END, a.backend_start, now()) \
                        AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') \
         FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND l.classid::bigint = $1 AND l.objid::bigint = $2 \
         LIMIT 1",
    )
    .bind(high)
    .bind(low)
    .fetch_optional(&mut *c)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let backend_pid: i32 = row.try_get(0)?;
    let application_name: String = row.try_get(1)?;
    let client: String = row.try_get(2)?;
    let since: String = row.try_get(3)?;
    let (pid, host) = parse_tag(&application_name).unwrap_or((backend_pid.unsigned_abs(), client));
    Ok(Some(Holder { pid, host, since }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_per_database_and_history_table() {
        let a = lock_key("shop", "_migrate_history");
        assert_eq!(a, lock_key("shop", "_migrate_history"));
        assert_ne!(a, lock_key("shop_staging", "_migrate_history"));
        assert_ne!(a, lock_key("shop", "_billing_history"));
    }

    #[test]
    fn tag_round_trips_and_fits() {
        let me = Holder {
            pid: 48211,
            host: "ci-runner-7".into(),
            since: "2024-11-28T08:11:52Z".into(),
        };
        assert_eq!(
            parse_tag(&holder_tag(&me)),
            Some((48211, "ci-runner-7".into()))
        );
        let long = Holder {
            host: "h".repeat(100),
            ..me
        };
        let tag = holder_tag(&long);
        assert_eq!(tag.len(), APPLICATION_NAME_MAX);
        assert_eq!(parse_tag(&tag).map(|(pid, _)| pid), Some(48211));
        assert_eq!(parse_tag("psql"), None);
    }
}
