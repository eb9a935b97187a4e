//! PostgreSQL: connections, timeouts and error classification; the advisory
//! migrator lock, catalog snapshots and `pg_dump` backups live in submodules.

mod dump;
mod lock;
mod schema;

use std::str::FromStr;
use std::time::Duration;

use sqlx::ConnectOptions as _;
use sqlx::Executor as _;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use crate::url::DbUrl;
use crate::{Error, Result};

pub use dump::{backup_into, clone_into, restore};
pub use lock::{AdvisoryLock, lock, lock_on, lock_status};
pub use schema::{invalid_indexes, schema};

/// The `application_name` of every session the runtime opens.
const APPLICATION_NAME: &str = "cargo-migrate";

/// How long to wait for the server when opening a connection of our own
/// (the lock connection, the maintenance database).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens a migration session: `application_name` set, and on PostgreSQL 14
/// and later `client_connection_check_interval`, so the server cancels a
/// statement whose runner died instead of running it to the end.
pub async fn connect(url: &DbUrl) -> Result<PgConnection> {
    open(url, options(url)?.application_name(APPLICATION_NAME)).await
}

/// The sqlx options of `url`.
fn options(url: &DbUrl) -> Result<PgConnectOptions> {
    PgConnectOptions::from_str(url.expose()).map_err(|e| Error::InvalidUrl {
        url: url.redacted(),
        reason: crate::url::redact(&e.to_string()),
    })
}

/// Connects with `opts` (errors name `url`, redacted) within [`CONNECT_TIMEOUT`].
async fn open(url: &DbUrl, opts: PgConnectOptions) -> Result<PgConnection> {
    let fut = async {
        let mut c = opts
            .disable_statement_logging()
            .connect()
            .await
            .map_err(|e| super::unreachable(url, e))?;
        let version: i32 = sqlx::query_scalar("SELECT current_setting('server_version_num')::int")
            .fetch_one(&mut c)
            .await
            .map_err(|e| super::unreachable(url, e))?;
        if version >= 140_000 {
            // Platforms without the kernel support refuse any value but 0;
            // the session is still usable, only without the check.
            let _ = c
                .execute("SET client_connection_check_interval = '1s'")
                .await;
        }
        Ok(c)
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, fut).await {
        Ok(result) => result,
        Err(_) => Err(Error::Unreachable {
            url: url.redacted(),
            reason: format!(
                "no answer within {}",
                crate::error::human_duration(CONNECT_TIMEOUT)
            ),
        }),
    }
}

/// Sets the session's `lock_timeout` and `statement_timeout` (none: 0, which
/// PostgreSQL reads as no limit).
pub async fn set_timeouts(
    c: &mut PgConnection,
    lock_timeout: Duration,
    statement_timeout: Option<Duration>,
) -> std::result::Result<(), sqlx::Error> {
    let ms = |d: Duration| d.as_millis().min(i32::MAX as u128);
    let lock_ms = ms(lock_timeout);
    let statement_ms = statement_timeout.map_or(0, |d| ms(d).max(1));
    let sql = format!("SET lock_timeout = {lock_ms}; SET statement_timeout = {statement_ms}");
    c.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql)))
        .await
        .map(drop)
}

/// SQLSTATE 55P03 (`lock_not_available`): `lock_timeout` expired.
pub fn is_lock_timeout(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.code().as_deref() == Some("55P03"))
}

/// Other sessions holding granted locks on the tables `sql` names, each as
/// `pid N (application, state, since <xact start>, query: ...)`: who a
/// statement that hit `lock_timeout` was waiting for. Run it outside the
/// failed transaction (an aborted one refuses every query).
pub async fn blockers(
    c: &mut PgConnection,
    sql: &str,
) -> std::result::Result<Vec<String>, sqlx::Error> {
    let names = crate::sql::relations(sql);
    if names.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_scalar(
        "SELECT format('pid %s (%s, %s, since %s, query: %s)', a.pid, \
                       coalesce(nullif(a.application_name, ''), 'no application_name'), \
                       coalesce(a.state, 'unknown state'), \
                       coalesce(to_char(coalesce(a.xact_start, a.backend_start) AT TIME ZONE 'UTC', \
                                        'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '?'), \
                       left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 200)) \
         FROM pg_stat_activity a \
         WHERE a.pid <> pg_backend_pid() AND a.pid IN ( \
             SELECT l.pid FROM pg_locks l \
             WHERE l.granted AND l.relation IN ( \
                 SELECT to_regclass(n) FROM unnest($1::text[]) n)) \
         ORDER BY a.pid",
    )
    .bind(names)
    .fetch_all(c)
    .await
}

/// Quotes an identifier: `"name"`, inner quotes doubled.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("shop"), "\"shop\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn only_lock_not_available_is_a_lock_timeout() {
        assert!(!is_lock_timeout(&sqlx::Error::RowNotFound));
    }
}
