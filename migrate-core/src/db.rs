//! `Db`: the handle a migration or health check gets. It runs statements,
//! records each one (what `plan`, lint and reports use), and names the
//! failing statement in errors.

use std::time::{Duration, Instant};

use crate::driver::Connection;
use crate::{Error, Result};

pub use crate::url::Backend as Dialect;

/// One statement run through [`Db`], with how long it took.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Statement {
    /// The SQL text.
    pub sql: String,
    /// Wall-clock time.
    #[serde(serialize_with = "ser_ms")]
    pub duration: Duration,
    /// Rows affected, as reported by the database.
    pub rows_affected: u64,
}

fn ser_ms<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

/// The database handle passed to migrations and health checks.
///
/// ```no_run
/// # use migrate_core::{Db, Result};
/// async fn add_total(db: &mut Db) -> Result<()> {
///     db.execute("ALTER TABLE orders ADD COLUMN total BIGINT").await?;
///     let n = db.fetch_i64("SELECT count(*) FROM orders").await?;
///     if n < 0 {
///         return Err(migrate_core::Error::msg("impossible count"));
///     }
///     Ok(())
/// }
/// ```
#[derive(Debug)]
pub struct Db {
    conn: Connection,
    record: Vec<Statement>,
    raw_access: bool,
    /// Lock-timeout retries allowed per statement (non-transactional migrations).
    pub(crate) statement_retries: u32,
    /// Retries spent so far.
    pub(crate) retries_used: u32,
    /// Whether the migration runs inside a transaction the runtime opened
    /// (the online helpers that need their own transactions refuse then).
    pub(crate) in_transaction: bool,
}

impl Db {
    pub(crate) fn new(conn: Connection) -> Db {
        Db {
            conn,
            record: Vec::new(),
            raw_access: false,
            statement_retries: 0,
            retries_used: 0,
            in_transaction: false,
        }
    }

    /// The SQL dialect of the database.
    pub fn dialect(&self) -> Dialect {
        self.conn.backend()
    }

    /// Runs one statement and returns the number of rows it affected.
    pub async fn execute(&mut self, sql: &str) -> Result<u64> {
        crate::failpoint::hit("db.execute");
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            match self.conn.execute(sql).await {
                Ok(rows) => {
                    let duration = started.elapsed();
                    tracing::debug!(
                        target: "migrate::statement",
                        duration_ms = duration.as_secs_f64() * 1000.0,
                        rows,
                        sql = %crate::sql::one_line(sql, 200),
                        "statement done"
                    );
                    self.record.push(Statement {
                        sql: sql.to_string(),
                        duration,
                        rows_affected: rows,
                    });
                    return Ok(rows);
                }
                // Outside a transaction only this statement failed: retry it alone.
                Err(e) if attempt < self.statement_retries && self.conn.is_lock_timeout(&e) => {
                    attempt += 1;
                    self.retries_used += 1;
                    tracing::info!(target: "migrate::statement", attempt, sql = %crate::sql::one_line(sql, 200), "lock timeout, retrying the statement");
                    tokio::time::sleep(crate::apply::backoff(attempt)).await;
                }
                Err(e) => return Err(self.statement_error(sql, e)),
            }
        }
    }

    /// Runs a script of several statements, one at a time, in order.
    pub async fn execute_many(&mut self, script: &str) -> Result<()> {
        for stmt in crate::sql::split(script, self.dialect()) {
            self.execute(&stmt).await?;
        }
        Ok(())
    }

    /// Runs a query and returns the first column of its first row as an integer.
    pub async fn fetch_i64(&mut self, sql: &str) -> Result<i64> {
        self.fetch_optional_i64(sql)
            .await?
            .ok_or_else(|| Error::Statement {
                sql: sql.to_string(),
                message: "the query returned no row or NULL".into(),
                lock_timeout: false,
                source: sqlx::Error::RowNotFound,
            })
    }

    /// Runs a query and returns the first column of its first row, if any.
    pub async fn fetch_optional_i64(&mut self, sql: &str) -> Result<Option<i64>> {
        let started = Instant::now();
        match self.conn.fetch_optional_i64(sql).await {
            Ok(v) => {
                self.push_query(sql, started);
                Ok(v)
            }
            Err(e) => Err(self.statement_error(sql, e)),
        }
    }

    /// Runs a query and returns the first column of every row as text.
    pub async fn fetch_strings(&mut self, sql: &str) -> Result<Vec<String>> {
        let started = Instant::now();
        match self.conn.fetch_strings(sql).await {
            Ok(v) => {
                self.push_query(sql, started);
                Ok(v)
            }
            Err(e) => Err(self.statement_error(sql, e)),
        }
    }

    /// The underlying SQLite connection, if this is SQLite.
    ///
    /// Statements run on it are not recorded: `plan` marks the migration
    /// "not fully checked".
    #[cfg(feature = "sqlite")]
    pub fn sqlite(&mut self) -> Option<&mut sqlx::SqliteConnection> {
        self.raw_access = true;
        #[allow(unreachable_patterns)]
        match &mut self.conn {
            Connection::Sqlite(c) => Some(c),
            _ => None,
        }
    }

    /// The underlying PostgreSQL connection, if this is PostgreSQL.
    #[cfg(feature = "postgres")]
    pub fn postgres(&mut self) -> Option<&mut sqlx::PgConnection> {
        self.raw_access = true;
        #[allow(unreachable_patterns)]
        match &mut self.conn {
            Connection::Postgres(c) => Some(c),
            _ => None,
        }
    }

    /// The underlying MySQL/MariaDB connection, if this is MySQL.
    #[cfg(feature = "mysql")]
    pub fn mysql(&mut self) -> Option<&mut sqlx::MySqlConnection> {
        self.raw_access = true;
        #[allow(unreachable_patterns)]
        match &mut self.conn {
            Connection::MySql(c) => Some(c),
            _ => None,
        }
    }

    /// The statements run so far through this handle.
    pub fn statements(&self) -> &[Statement] {
        &self.record
    }

    /// Whether the raw connection was handed out (statements may be missing
    /// from the record).
    pub fn used_raw_connection(&self) -> bool {
        self.raw_access
    }

    /// Takes the record and resets it, for the next migration.
    pub(crate) fn take_record(&mut self) -> (Vec<Statement>, bool) {
        let raw = std::mem::take(&mut self.raw_access);
        (std::mem::take(&mut self.record), raw)
    }

    /// The record, for helpers that summarize their own statements.
    pub(crate) fn record_mut(&mut self) -> &mut Vec<Statement> {
        &mut self.record
    }

    /// The connection, for the runtime's own (unrecorded) statements.
    pub(crate) fn conn(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The connection behind this handle, for the tool's own checks
    /// (statements run on it are not recorded).
    #[doc(hidden)]
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub(crate) fn into_conn(self) -> Connection {
        self.conn
    }

    fn push_query(&mut self, sql: &str, started: Instant) {
        self.record.push(Statement {
            sql: sql.to_string(),
            duration: started.elapsed(),
            rows_affected: 0,
        });
    }

    fn statement_error(&self, sql: &str, e: sqlx::Error) -> Error {
        let lock_timeout = self.conn.is_lock_timeout(&e);
        let message = match &e {
            sqlx::Error::Database(db) => db.message().to_string(),
            other => crate::url::redact(&other.to_string()),
        };
        Error::Statement {
            sql: sql.to_string(),
            message,
            lock_timeout,
            source: e,
        }
    }
}
