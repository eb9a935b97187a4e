//! Rehearsal records, kept in the staging database: which pending set was
//! rehearsed for which production database, and whether it passed.
//! Production `apply` refuses unless a passing record matches exactly what it
//! is about to apply (same versions, same checksums).

use crate::driver::{Connection, dispatch};
use crate::registry::Registry;
use crate::{Error, Result};

/// The table holding the records, in the staging database.
pub const TABLE: &str = "_migrate_rehearsals";

/// One rehearsal.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    /// RFC 3339 time it finished.
    pub created_at: String,
    /// The production database it rehearsed for, redacted.
    pub production: String,
    /// Rehearsed versions with the checksums of their code, in order.
    pub migrations: Vec<(u64, String)>,
    /// Whether every check passed.
    pub passed: bool,
    /// The tool version.
    pub tool_version: String,
    /// The report, as JSON.
    pub report: serde_json::Value,
}

impl Record {
    /// Whether this record covers exactly `versions` with the registry's checksums now.
    pub fn matches(&self, registry: &Registry, versions: &[u64]) -> bool {
        self.passed
            && self.migrations.len() == versions.len()
            && self
                .migrations
                .iter()
                .zip(versions)
                .all(|((v, sum), want)| {
                    v == want && registry.get(*v).is_some_and(|m| m.checksum == sum)
                })
    }
}

async fn ensure(conn: &mut Connection) -> Result<()> {
    conn.execute(&format!(
        "CREATE TABLE IF NOT EXISTS {TABLE} (created_at VARCHAR(40) NOT NULL, production VARCHAR(255) NOT NULL, passed BIGINT NOT NULL, record TEXT NOT NULL)"
    ))
    .await?;
    Ok(())
}

/// Stores a record.
pub async fn store(conn: &mut Connection, record: &Record) -> Result<()> {
    ensure(conn).await?;
    let sql = conn.placeholders(&format!(
        "INSERT INTO {TABLE} (created_at, production, passed, record) VALUES (?, ?, ?, ?)"
    ));
    let json = serde_json::to_string(record).map_err(|e| Error::msg(e.to_string()))?;
    dispatch!(conn, c => {
        sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(&record.created_at)
            .bind(&record.production)
            .bind(i64::from(record.passed))
            .bind(&json)
            .execute(&mut *c)
            .await?;
    });
    Ok(())
}

/// The newest record for `production` (passing or not).
pub async fn latest(conn: &mut Connection, production: &str) -> Result<Option<Record>> {
    let probe = format!("SELECT 1 FROM {TABLE} WHERE 1 = 0");
    if conn.execute(&probe).await.is_err() {
        return Ok(None);
    }
    let sql = conn.placeholders(&format!(
        "SELECT record FROM {TABLE} WHERE production = ? ORDER BY created_at DESC"
    ));
    let text: Option<String> = dispatch!(conn, c => {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())).bind(production).fetch_optional(&mut *c).await?
    });
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}
