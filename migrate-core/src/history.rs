//! The history table: one row per migration, the only record of what was
//! applied. Its SQL is portable across the three backends.

use crate::driver::{Connection, dispatch};
use crate::migration::Phase;
use crate::{Error, Result};

/// State of a history row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowState {
    /// Written before a non-transactional migration runs; left over = dirty.
    Started,
    /// The migration completed.
    Finished,
    /// A non-transactional migration failed part-way; dirty.
    Failed,
}

impl RowState {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            RowState::Started => "started",
            RowState::Finished => "finished",
            RowState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> RowState {
        match s {
            "finished" => RowState::Finished,
            "failed" => RowState::Failed,
            _ => RowState::Started,
        }
    }
}

/// One row of the history table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AppliedRow {
    /// Version.
    pub version: u64,
    /// Name at the time it was applied.
    pub name: String,
    /// Checksum of the code that was applied.
    pub checksum: String,
    /// Phase.
    pub phase: Phase,
    /// Started, finished or failed.
    pub state: RowState,
    /// RFC 3339 time the migration started.
    pub applied_at: String,
    /// How long it took, in milliseconds (finished rows).
    pub duration_ms: Option<i64>,
    /// `user@host (cargo-migrate VERSION)`.
    pub applied_by: String,
    /// The error, for failed rows.
    pub error: Option<String>,
    /// The statement that failed, for failed rows.
    pub failed_statement: Option<String>,
    /// Whether the rehearsal gate was skipped for this apply.
    pub rehearsal_skipped: bool,
}

/// The history table of one migration set.
#[derive(Debug, Clone)]
pub struct History {
    table: String,
}

impl History {
    /// A history table; the name must be a plain SQL identifier.
    pub fn new(table: &str) -> Result<History> {
        let ok = !table.is_empty()
            && table.len() <= 60
            && table
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(Error::Config(format!(
                "history_table `{table}` is not a plain identifier (letters, digits and `_`, at most 60 characters)"
            )));
        }
        Ok(History {
            table: table.to_string(),
        })
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table if it does not exist.
    pub async fn ensure(&self, conn: &mut Connection) -> Result<()> {
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {} (
                version BIGINT NOT NULL PRIMARY KEY,
                name VARCHAR(255) NOT NULL,
                checksum VARCHAR(64) NOT NULL,
                phase VARCHAR(16) NOT NULL,
                state VARCHAR(16) NOT NULL,
                applied_at VARCHAR(40) NOT NULL,
                duration_ms BIGINT,
                applied_by VARCHAR(255) NOT NULL,
                error TEXT,
                failed_statement TEXT,
                rehearsal_skipped BIGINT NOT NULL DEFAULT 0
            )",
            self.table
        );
        conn.execute(&sql).await?;
        Ok(())
    }

    /// Whether the table exists (without creating it).
    pub async fn exists(&self, conn: &mut Connection) -> Result<bool> {
        let probe = format!("SELECT 1 FROM {} WHERE 1 = 0", self.table);
        match conn.execute(&probe).await {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Every row, ascending by version; empty when the table does not exist.
    pub async fn load(&self, conn: &mut Connection) -> Result<Vec<AppliedRow>> {
        use sqlx::Row;
        if !self.exists(conn).await? {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT version, name, checksum, phase, state, applied_at, duration_ms, applied_by, error, failed_statement, rehearsal_skipped FROM {} ORDER BY version",
            self.table
        );
        let rows = dispatch!(conn, c => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).fetch_all(&mut *c).await?;
            rows.iter()
                .map(|r| -> std::result::Result<AppliedRow, sqlx::Error> {
                    Ok(AppliedRow {
                        version: r.try_get::<i64, _>(0)? as u64,
                        name: r.try_get(1)?,
                        checksum: r.try_get(2)?,
                        phase: Phase::parse(&r.try_get::<String, _>(3)?).unwrap_or(Phase::Expand),
                        state: RowState::parse(&r.try_get::<String, _>(4)?),
                        applied_at: r.try_get(5)?,
                        duration_ms: r.try_get(6)?,
                        applied_by: r.try_get(7)?,
                        error: r.try_get(8)?,
                        failed_statement: r.try_get(9)?,
                        rehearsal_skipped: r.try_get::<i64, _>(10)? != 0,
                    })
                })
                .collect::<std::result::Result<Vec<_>, _>>()?
        });
        Ok(rows)
    }

    /// Inserts a row.
    pub async fn insert(&self, conn: &mut Connection, row: &AppliedRow) -> Result<()> {
        let sql = conn.placeholders(&format!(
            "INSERT INTO {} (version, name, checksum, phase, state, applied_at, duration_ms, applied_by, error, failed_statement, rehearsal_skipped) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self.table
        ));
        dispatch!(conn, c => {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(row.version as i64)
                .bind(&row.name)
                .bind(&row.checksum)
                .bind(row.phase.as_str())
                .bind(row.state.as_str())
                .bind(&row.applied_at)
                .bind(row.duration_ms)
                .bind(&row.applied_by)
                .bind(&row.error)
                .bind(&row.failed_statement)
                .bind(i64::from(row.rehearsal_skipped))
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// Sets the state of a row (and its duration, error and failing statement).
    pub async fn set_state(
        &self,
        conn: &mut Connection,
        version: u64,
        state: RowState,
        duration_ms: Option<i64>,
        error: Option<&str>,
        failed_statement: Option<&str>,
    ) -> Result<()> {
        let sql = conn.placeholders(&format!(
            "UPDATE {} SET state = ?, duration_ms = ?, error = ?, failed_statement = ? WHERE version = ?",
            self.table
        ));
        dispatch!(conn, c => {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(state.as_str())
                .bind(duration_ms)
                .bind(error)
                .bind(failed_statement)
                .bind(version as i64)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// Deletes the row of a version.
    pub async fn delete(&self, conn: &mut Connection, version: u64) -> Result<()> {
        let sql = conn.placeholders(&format!("DELETE FROM {} WHERE version = ?", self.table));
        dispatch!(conn, c => {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(version as i64).execute(&mut *c).await?;
        });
        Ok(())
    }
}

/// `user@host (cargo-migrate VERSION)`, for the `applied_by` column.
pub fn applied_by() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!(
        "{user}@{} (cargo-migrate {})",
        hostname(),
        env!("CARGO_PKG_VERSION")
    )
}

/// This machine's host name.
pub fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .or_else(|_| std::fs::read_to_string("/etc/hostname"))
                .ok()
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "localhost".into())
}

/// Now, as RFC 3339 with seconds.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}
