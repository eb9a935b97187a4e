//! Normalized schema snapshots: one sorted line per table, column, index,
//! constraint, view and trigger, read from the catalog, so that two
//! snapshots compare with a plain diff. The runtime's own tables are left out.

use crate::driver::Connection;
use crate::{Error, Result};

/// Tables the runtime owns; never part of a snapshot.
pub const INTERNAL_PREFIX: &str = "_migrate";

/// A normalized schema: object lines, sorted by object.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Schema {
    /// One line per fact, e.g. `table orders`, `  column total BIGINT NULL`.
    pub lines: Vec<String>,
}

impl Schema {
    /// The snapshot as text, one fact per line.
    pub fn to_text(&self) -> String {
        self.lines.iter().map(|l| format!("{l}\n")).collect()
    }

    /// Parses the text form (as written by [`Schema::to_text`]).
    pub fn from_text(text: &str) -> Schema {
        Schema {
            lines: text
                .lines()
                .map(|l| l.trim_end_matches('\r').to_string())
                .filter(|l| !l.is_empty())
                .collect(),
        }
    }

    /// A unified diff from `self` to `other`, empty when they are equal.
    pub fn diff(&self, other: &Schema, from: &str, to: &str) -> String {
        if self == other {
            return String::new();
        }
        let (a, b) = (self.to_text(), other.to_text());
        similar::TextDiff::from_lines(&a, &b)
            .unified_diff()
            .context_radius(2)
            .header(from, to)
            .to_string()
    }

    /// Lines added and removed from `self` to `other`, as `+ line` / `- line`.
    pub fn changes(&self, other: &Schema) -> Vec<String> {
        let (a, b) = (self.to_text(), other.to_text());
        similar::TextDiff::from_lines(&a, &b)
            .iter_all_changes()
            .filter_map(|c| match c.tag() {
                similar::ChangeTag::Delete => Some(format!("- {}", c.value().trim_end())),
                similar::ChangeTag::Insert => Some(format!("+ {}", c.value().trim_end())),
                similar::ChangeTag::Equal => None,
            })
            .collect()
    }

    /// The names of tables in the snapshot.
    pub fn tables(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter_map(|l| l.strip_prefix("table "))
            .map(str::to_string)
            .collect()
    }

    /// Index lines marked ` invalid`: indexes a failed `CREATE INDEX
    /// CONCURRENTLY` left behind (PostgreSQL), which exist but are never used.
    pub fn invalid_indexes(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter(|l| l.trim_start().starts_with("index ") && l.ends_with(" invalid"))
            .map(|l| l.trim().to_string())
            .collect()
    }
}

/// Reads the schema of the database `conn` is connected to.
pub async fn snapshot(conn: &mut Connection) -> Result<Schema> {
    let lines = match conn {
        #[cfg(feature = "sqlite")]
        Connection::Sqlite(c) => crate::driver::sqlite::schema(c).await,
        #[cfg(feature = "postgres")]
        Connection::Postgres(c) => crate::driver::postgres::schema(c).await,
        #[cfg(feature = "mysql")]
        Connection::MySql(c) => crate::driver::mysql::schema(c).await,
    }
    .map_err(|e| Error::CheckFailed(format!("cannot read the schema: {e}")))?;
    Ok(Schema { lines })
}

/// INVALID indexes (`name on table`) of the database `conn` is connected to:
/// only PostgreSQL leaves them (a failed `CREATE INDEX CONCURRENTLY`).
pub async fn invalid_indexes(conn: &mut Connection) -> Result<Vec<String>> {
    match conn {
        #[cfg(feature = "postgres")]
        Connection::Postgres(c) => Ok(crate::driver::postgres::invalid_indexes(c).await?),
        #[allow(unreachable_patterns)]
        _ => Ok(Vec::new()),
    }
}

/// Collapses whitespace runs to one space, for SQL text in snapshots.
pub fn normalize_sql(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Rows per table of the snapshot's tables, for comparing staging with
/// production.
pub async fn row_counts(conn: &mut Connection) -> Result<Vec<(String, i64)>> {
    let schema = snapshot(conn).await?;
    let backend = conn.backend();
    let quote = |t: &str| match backend {
        crate::url::Backend::MySql => format!("`{t}`"),
        _ => format!("\"{t}\""),
    };
    let mut out = Vec::new();
    for t in schema.tables() {
        let sql = format!("SELECT count(*) FROM {}", quote(&t));
        let n = conn.fetch_optional_i64(&sql).await?.unwrap_or(0);
        out.push((t, n));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_names_the_changed_lines() {
        let a = Schema::from_text("table t\n  column a INTEGER NULL\n");
        let b = Schema::from_text("table t\n  column a INTEGER NULL\n  index t_a (a)\n");
        assert!(a.diff(&a, "x", "y").is_empty());
        let d = a.diff(&b, "before", "after");
        assert!(
            d.contains("+++ after") && d.contains("+  index t_a (a)"),
            "{d}"
        );
        assert_eq!(a.changes(&b), vec!["+   index t_a (a)"]);
        assert!(Schema::default().changes(&a).iter().all(|l| l.len() > 2));
        assert_eq!(b.tables(), vec!["t"]);
    }

    #[test]
    fn invalid_indexes_are_the_index_lines_marked_invalid() {
        let s = Schema::from_text(
            "table t\n  column invalid INTEGER NULL\n  index t_a on t (a)\n  index t_b on t (b) unique invalid\n",
        );
        assert_eq!(
            s.invalid_indexes(),
            vec!["index t_b on t (b) unique invalid"]
        );
    }
}
