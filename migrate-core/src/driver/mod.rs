//! The seam between the shared logic and each database: one connection enum,
//! dispatched here, with the dialect's SQL and quirks in one module per backend.

use std::time::Duration;

use crate::url::{Backend, DbUrl};
use crate::{Error, Result};

#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod tool;

/// An open connection to one of the enabled backends.
#[derive(Debug)]
#[non_exhaustive]
pub enum Connection {
    /// SQLite.
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqliteConnection),
    /// PostgreSQL.
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgConnection),
    /// MySQL / MariaDB.
    #[cfg(feature = "mysql")]
    MySql(sqlx::MySqlConnection),
}

/// Runs `$body` with `$c` bound to the concrete sqlx connection of `$conn`.
macro_rules! dispatch {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            #[cfg(feature = "sqlite")]
            $crate::driver::Connection::Sqlite($c) => $body,
            #[cfg(feature = "postgres")]
            $crate::driver::Connection::Postgres($c) => $body,
            #[cfg(feature = "mysql")]
            $crate::driver::Connection::MySql($c) => $body,
        }
    };
}
pub(crate) use dispatch;

/// How to open a connection.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Create a missing SQLite file (and its folder).
    pub create: bool,
    /// Give up connecting after this long.
    pub timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            create: false,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Opens a connection to `url`, mapping failures to clear errors.
pub async fn connect(url: &DbUrl, opts: &ConnectOptions) -> Result<Connection> {
    let fut = async {
        match url.backend() {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => sqlite::connect(url, opts).await.map(Connection::Sqlite),
            #[cfg(feature = "postgres")]
            Backend::Postgres => postgres::connect(url).await.map(Connection::Postgres),
            #[cfg(feature = "mysql")]
            Backend::MySql => mysql::connect(url).await.map(Connection::MySql),
            #[allow(unreachable_patterns)]
            other => Err(Error::Config(format!(
                "this runner was built without {} support; enable the `{}` feature of migrate-core",
                other.as_str(),
                other.as_str()
            ))),
        }
    };
    match tokio::time::timeout(opts.timeout, fut).await {
        Ok(result) => result,
        Err(_) => Err(Error::Unreachable {
            url: url.redacted(),
            reason: format!(
                "no answer within {}",
                crate::error::human_duration(opts.timeout)
            ),
        }),
    }
}

/// Maps a connection failure to [`Error::Unreachable`] with a redacted message.
pub(crate) fn unreachable(url: &DbUrl, err: sqlx::Error) -> Error {
    Error::Unreachable {
        url: url.redacted(),
        reason: crate::error::db_message(&err),
    }
}

impl Connection {
    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self {
            #[cfg(feature = "sqlite")]
            Connection::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Connection::Postgres(_) => Backend::Postgres,
            #[cfg(feature = "mysql")]
            Connection::MySql(_) => Backend::MySql,
        }
    }

    /// Runs one statement without parameters; returns the rows affected.
    pub async fn execute(&mut self, sql: &str) -> std::result::Result<u64, sqlx::Error> {
        use sqlx::Executor;
        dispatch!(self, c => Ok(c.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))).await?.rows_affected()))
    }

    /// Runs a query returning one integer (the first column of the first row).
    pub async fn fetch_optional_i64(
        &mut self,
        sql: &str,
    ) -> std::result::Result<Option<i64>, sqlx::Error> {
        use sqlx::Row;
        dispatch!(self, c => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).fetch_optional(&mut *c).await?;
            match row {
                Some(r) => Ok(r.try_get::<Option<i64>, _>(0)?),
                None => Ok(None),
            }
        })
    }

    /// Runs a query and reads every row it returns, discarding them (for
    /// timing a probe end to end); returns how many rows there were.
    pub async fn fetch_all_discard(
        &mut self,
        sql: &str,
    ) -> std::result::Result<usize, sqlx::Error> {
        use sqlx::Executor;
        dispatch!(self, c => Ok(c.fetch_all(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))).await?.len()))
    }

    /// Runs a query and returns the first column of every row as text.
    pub async fn fetch_strings(
        &mut self,
        sql: &str,
    ) -> std::result::Result<Vec<String>, sqlx::Error> {
        use sqlx::Row;
        dispatch!(self, c => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).fetch_all(&mut *c).await?;
            rows.iter().map(|r| r.try_get::<String, _>(0)).collect()
        })
    }

    /// Starts a transaction.
    pub async fn begin(&mut self) -> std::result::Result<(), sqlx::Error> {
        let sql = match self.backend() {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            _ => "BEGIN",
        };
        self.execute(sql).await.map(drop)
    }

    /// Starts a transaction that only reads (deferred on SQLite, so it takes
    /// no write lock).
    pub async fn begin_read(&mut self) -> std::result::Result<(), sqlx::Error> {
        self.execute("BEGIN").await.map(drop)
    }

    /// Commits the open transaction.
    pub async fn commit(&mut self) -> std::result::Result<(), sqlx::Error> {
        self.execute("COMMIT").await.map(drop)
    }

    /// Rolls back the open transaction, if any.
    pub async fn rollback(&mut self) -> std::result::Result<(), sqlx::Error> {
        self.execute("ROLLBACK").await.map(drop)
    }

    /// Sets the session's lock and statement timeouts for migrations.
    pub async fn set_timeouts(
        &mut self,
        lock_timeout: Duration,
        statement_timeout: Option<Duration>,
    ) -> std::result::Result<(), sqlx::Error> {
        match self {
            #[cfg(feature = "sqlite")]
            Connection::Sqlite(c) => {
                // SQLite has no statement timeout; a runaway statement is the author's to bound.
                let _ = statement_timeout;
                sqlite::set_timeouts(c, lock_timeout).await
            }
            #[cfg(feature = "postgres")]
            Connection::Postgres(c) => {
                postgres::set_timeouts(c, lock_timeout, statement_timeout).await
            }
            #[cfg(feature = "mysql")]
            Connection::MySql(c) => mysql::set_timeouts(c, lock_timeout, statement_timeout).await,
        }
    }

    /// Whether `err` is this backend's lock-timeout error (worth a retry).
    pub fn is_lock_timeout(&self, err: &sqlx::Error) -> bool {
        match self.backend() {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => sqlite::is_lock_timeout(err),
            #[cfg(feature = "postgres")]
            Backend::Postgres => postgres::is_lock_timeout(err),
            #[cfg(feature = "mysql")]
            Backend::MySql => mysql::is_lock_timeout(err),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// Who holds (PostgreSQL) or may hold (MariaDB/MySQL) the locks `sql`
    /// timed out on, as a phrase for the error; `None` when the backend
    /// cannot tell, nobody was found or the lookup failed, since it only adds
    /// detail to an error already being reported.
    pub async fn blockers(&mut self, sql: &str) -> Option<String> {
        let (found, prefix) = match self {
            #[cfg(feature = "postgres")]
            Connection::Postgres(c) => (postgres::blockers(c, sql).await, "blocked by"),
            #[cfg(feature = "mysql")]
            Connection::MySql(c) => (
                mysql::blockers(c, sql).await,
                "sessions with an open transaction on this database (the server does not say which one holds the lock)",
            ),
            #[allow(unreachable_patterns)]
            _ => {
                let _ = sql;
                (Ok::<_, sqlx::Error>(Vec::<String>::new()), "")
            }
        };
        let found = found.ok().filter(|f| !f.is_empty())?;
        Some(format!("{prefix} {}", found.join("; ")))
    }

    /// Rewrites `?` placeholders for this backend (`$1`, `$2` on PostgreSQL).
    pub fn placeholders(&self, sql: &str) -> String {
        if self.backend() != Backend::Postgres {
            return sql.to_string();
        }
        let mut out = String::with_capacity(sql.len() + 8);
        let mut n = 0;
        for ch in sql.chars() {
            if ch == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(ch);
            }
        }
        out
    }

    /// Closes the connection cleanly.
    pub async fn close(self) {
        use sqlx::Connection as _;
        let _ = dispatch!(self, c => c.close().await);
    }
}
