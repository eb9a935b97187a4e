//! MySQL and MariaDB: connections, timeouts and error classification; the
//! `GET_LOCK` migrator lock, catalog snapshots and `mariadb-dump` backups
//! live in submodules.

mod dump;
mod lock;
mod schema;

use std::str::FromStr;
use std::time::Duration;

use sqlx::ConnectOptions as _;
use sqlx::Executor as _;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlDatabaseError};

use crate::url::DbUrl;
use crate::{Error, Result};

pub use dump::{backup_into, clone_into, restore};
pub use lock::{NamedLock, lock, lock_on, lock_status};
pub use schema::schema;

/// How long to wait for the server when opening a connection of our own
/// (the lock connection, the server-level connection).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// `ER_LOCK_WAIT_TIMEOUT`: a row or metadata lock wait timed out.
const ER_LOCK_WAIT_TIMEOUT: u16 = 1205;
/// `ER_LOCK_NOWAIT`: `NOWAIT` / `SKIP LOCKED` found the row locked.
const ER_LOCK_NOWAIT: u16 = 3572;

/// Opens a migration session.
pub async fn connect(url: &DbUrl) -> Result<MySqlConnection> {
    open(url, options(url)?).await
}

/// The sqlx options of `url`.
fn options(url: &DbUrl) -> Result<MySqlConnectOptions> {
    MySqlConnectOptions::from_str(url.expose()).map_err(|e| Error::InvalidUrl {
        url: url.redacted(),
        reason: crate::url::redact(&e.to_string()),
    })
}

/// Connects with `opts` (errors name `url`, redacted) within [`CONNECT_TIMEOUT`].
async fn open(url: &DbUrl, opts: MySqlConnectOptions) -> Result<MySqlConnection> {
    match tokio::time::timeout(CONNECT_TIMEOUT, opts.disable_statement_logging().connect()).await {
        Ok(result) => result.map_err(|e| super::unreachable(url, e)),
        Err(_) => Err(Error::Unreachable {
            url: url.redacted(),
            reason: format!(
                "no answer within {}",
                crate::error::human_duration(CONNECT_TIMEOUT)
            ),
        }),
    }
}

/// Whether the server is MariaDB (its `VERSION()` says so).
async fn is_mariadb(c: &mut MySqlConnection) -> std::result::Result<bool, sqlx::Error> {
    let version: String = sqlx::query_scalar("SELECT CAST(VERSION() AS CHAR)")
        .fetch_one(c)
        .await?;
    Ok(version.contains("MariaDB"))
}

/// Sets the session's lock timeouts, in whole seconds (at least 1, the
/// servers' minimum): `lock_wait_timeout` bounds metadata-lock waits (DDL),
/// `innodb_lock_wait_timeout` row-lock waits. The statement timeout is
/// `max_statement_time` on MariaDB, `max_execution_time` (SELECT only) on MySQL.
pub async fn set_timeouts(
    c: &mut MySqlConnection,
    lock_timeout: Duration,
    statement_timeout: Option<Duration>,
) -> std::result::Result<(), sqlx::Error> {
    let lock_secs = whole_seconds(lock_timeout);
    let statement = match (is_mariadb(c).await?, statement_timeout) {
        (true, Some(d)) => format!("max_statement_time = {:.3}", d.as_secs_f64().max(0.001)),
        (true, None) => "max_statement_time = 0".to_string(),
        (false, Some(d)) => format!(
            "max_execution_time = {}",
            d.as_millis().clamp(1, u32::MAX as u128)
        ),
        (false, None) => "max_execution_time = 0".to_string(),
    };
    let sql = format!(
        "SET SESSION lock_wait_timeout = {lock_secs}, SESSION innodb_lock_wait_timeout = {lock_secs}, SESSION {statement}"
    );
    c.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql)))
        .await
        .map(drop)
}

/// `d` rounded up to whole seconds, at least 1.
fn whole_seconds(d: Duration) -> u64 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs.clamp(1, 31_536_000)
}

/// Errors 1205 (lock wait timeout) and 3572 (`NOWAIT` found a lock).
pub fn is_lock_timeout(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<MySqlDatabaseError>()
            .is_some_and(|e| matches!(e.number(), ER_LOCK_WAIT_TIMEOUT | ER_LOCK_NOWAIT)),
        _ => false,
    }
}

/// Other sessions with an open InnoDB transaction on this database, each as
/// `pid N (user@host, command, transaction since T, query: ...)`: the
/// candidates for a metadata or row lock a statement timed out on. MariaDB
/// and MySQL do not say which session holds a metadata lock unless the
/// `metadata_lock_info` plugin / `performance_schema` instrument is on, so
/// these are the sessions that can, not proven holders.
pub async fn blockers(
    c: &mut MySqlConnection,
    _sql: &str,
) -> std::result::Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT CAST(CONCAT('pid ', p.ID, ' (', COALESCE(p.USER, ''), '@', COALESCE(p.HOST, ''), ', ', \
                COALESCE(p.COMMAND, ''), ', transaction since ', t.trx_started, ', query: ', \
                COALESCE(LEFT(p.INFO, 200), 'none running'), ')') AS CHAR) \
         FROM information_schema.INNODB_TRX t \
         JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id \
         WHERE p.ID <> CONNECTION_ID() AND p.DB = DATABASE() \
         ORDER BY p.ID",
    )
    .fetch_all(c)
    .await
}

/// Quotes an identifier: `` `name` ``, inner backticks doubled.
fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_timeouts_are_whole_seconds_of_at_least_one() {
        assert_eq!(whole_seconds(Duration::ZERO), 1);
        assert_eq!(whole_seconds(Duration::from_millis(200)), 1);
        assert_eq!(whole_seconds(Duration::from_millis(2000)), 2);
        assert_eq!(whole_seconds(Duration::from_millis(2001)), 3);
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("shop"), "`shop`");
        assert_eq!(quote_ident("a`b"), "`a``b`");
    }
}
