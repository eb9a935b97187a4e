//! Rehearsal records, kept in the staging database: which pending set was
//! rehearsed for which production database, and whether it passed.
//! Production `apply` refuses unless a passing record matches exactly what it
//! is about to apply (same versions, same checksums).

use crate::driver::{Connection, dispatch};
use crate::registry::Registry;
use crate::schema::Schema;
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
    /// Every finished migration on staging after the rehearsal (version,
    /// checksum), in order: what production holds once it applies the same set.
    #[serde(default)]
    pub applied_after: Vec<(u64, String)>,
    /// The schema before the rehearsed migrations, as `Schema::to_text`.
    #[serde(default)]
    pub schema_before: Option<String>,
    /// The schema after them, as `Schema::to_text`.
    #[serde(default)]
    pub schema_after: Option<String>,
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

    /// The schema a database should have when its finished migrations are
    /// `applied` (version, checksum): the schema after the rehearsal when it
    /// holds exactly the rehearsed set, the schema before it when it holds
    /// exactly what staging started from (a rollback). Otherwise why there is
    /// nothing to compare with.
    pub fn expected_schema(
        &self,
        applied: &[(u64, String)],
    ) -> std::result::Result<(Schema, String), String> {
        let when = &self.created_at;
        if !self.passed {
            return Err(format!(
                "the latest rehearsal ({when}) failed; run `cargo migrate stage` again"
            ));
        }
        let (Some(before), Some(after)) = (&self.schema_before, &self.schema_after) else {
            return Err(format!(
                "the latest rehearsal ({when}) was recorded by an older cargo-migrate without its schema; run `cargo migrate stage` again"
            ));
        };
        if applied == self.applied_after.as_slice() {
            return Ok((
                Schema::from_text(after),
                format!("the schema of the rehearsal of {when} after its migrations"),
            ));
        }
        let rehearsed = self.migrations.len();
        let base = &self.applied_after[..self.applied_after.len().saturating_sub(rehearsed)];
        if rehearsed > 0 && applied == base {
            return Ok((
                Schema::from_text(before),
                format!("the schema of the rehearsal of {when} before its migrations"),
            ));
        }
        Err(format!(
            "the latest rehearsal ({when}) ended with {} finished migration(s), this database has {}: their schemas cannot be compared; run `cargo migrate stage` for the set applied here",
            self.applied_after.len(),
            applied.len()
        ))
    }
}

async fn ensure(conn: &mut Connection) -> Result<()> {
    // A record holds two schemas: more than MySQL's 64 KiB TEXT for a large app.
    let text = match conn.backend() {
        crate::url::Backend::MySql => "LONGTEXT",
        _ => "TEXT",
    };
    conn.execute(&format!(
        "CREATE TABLE IF NOT EXISTS {TABLE} (created_at VARCHAR(40) NOT NULL, production VARCHAR(255) NOT NULL, passed BIGINT NOT NULL, record {text} NOT NULL)"
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

#[cfg(test)]
mod tests {
    use super::Record;

    fn record(passed: bool, with_schema: bool) -> Record {
        let v = |n: u64| (n, format!("sum{n}"));
        Record {
            created_at: "2026-11-25T21:00:00Z".into(),
            production: "sqlite://prod.db".into(),
            migrations: vec![v(3), v(4)],
            passed,
            tool_version: "0".into(),
            report: serde_json::Value::Null,
            applied_after: vec![v(1), v(2), v(3), v(4)],
            schema_before: with_schema.then(|| "table a\n".into()),
            schema_after: with_schema.then(|| "table a\ntable b\n".into()),
        }
    }

    #[test]
    fn the_expected_schema_depends_on_the_set_the_database_holds() {
        let r = record(true, true);
        let v = |n: u64| (n, format!("sum{n}"));
        let (after, source) = r.expected_schema(&[v(1), v(2), v(3), v(4)]).unwrap();
        assert!(source.contains("after its migrations"), "{source}");
        assert_eq!(after.to_text(), "table a\ntable b\n");
        let (before, source) = r.expected_schema(&[v(1), v(2)]).unwrap();
        assert!(source.contains("before its migrations"), "{source}");
        assert_eq!(before.to_text(), "table a\n");
        for other in [vec![v(1), v(2), v(3)], vec![v(1)], vec![]] {
            let why = r.expected_schema(&other).unwrap_err();
            assert!(why.contains("cargo migrate stage"), "{why}");
        }
        // Same versions, other code applied: not the rehearsed set.
        let drifted = [v(1), v(2), v(3), (4, "other".into())];
        assert!(r.expected_schema(&drifted).is_err());
        assert!(
            record(false, true)
                .expected_schema(&r.applied_after)
                .unwrap_err()
                .contains("failed")
        );
        assert!(
            record(true, false)
                .expected_schema(&r.applied_after)
                .unwrap_err()
                .contains("older cargo-migrate")
        );
    }
}
