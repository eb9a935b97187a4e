//! SQLite: connection options, timeouts and error classification.

use std::str::FromStr;
use std::time::Duration;

use sqlx::ConnectOptions as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use super::ConnectOptions;
use crate::url::DbUrl;
use crate::{Error, Result};

/// Opens a SQLite database; with `create`, makes the file and its folder.
pub async fn connect(url: &DbUrl, opts: &ConnectOptions) -> Result<SqliteConnection> {
    if opts.create
        && let Some(path) = url.sqlite_path()
        && let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::Config(format!(
                "cannot create the folder {} for the SQLite database {}: {e}",
                dir.display(),
                url.redacted()
            ))
        })?;
    }
    if !opts.create
        && let Some(path) = url.sqlite_path()
        && !path.exists()
    {
        return Err(Error::Unreachable {
            url: url.redacted(),
            reason: format!("the file {} does not exist (run `apply` to create it)", path.display()),
        });
    }
    let options = SqliteConnectOptions::from_str(url.expose())
        .map_err(|e| Error::InvalidUrl {
            url: url.redacted(),
            reason: e.to_string(),
        })?
        .create_if_missing(opts.create)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true)
        .disable_statement_logging();
    options.connect().await.map_err(|e| super::unreachable(url, e))
}

/// SQLite has no lock timeout of its own: the busy timeout bounds waits on
/// another connection's write lock.
pub async fn set_timeouts(c: &mut SqliteConnection, lock_timeout: Duration) -> std::result::Result<(), sqlx::Error> {
    use sqlx::Executor;
    let ms = lock_timeout.as_millis().max(1);
    c.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(format!("PRAGMA busy_timeout = {ms}")))).await.map(drop)
}

/// `SQLITE_BUSY` / `SQLITE_LOCKED`: another connection holds the lock.
pub fn is_lock_timeout(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            let code = db.code();
            matches!(code.as_deref(), Some("5") | Some("6") | Some("517") | Some("262"))
                || db.message().contains("database is locked")
        }
        _ => false,
    }
}
