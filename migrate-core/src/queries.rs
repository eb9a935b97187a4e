//! The application's own queries, collected from `.sql` files and sqlx's
//! offline cache (`.sqlx/query-*.json`), and prepared (never executed)
//! against a schema, so a migration that breaks one is caught on staging.

use std::path::{Path, PathBuf};

use crate::driver::{Connection, dispatch};
use crate::url::Backend;
use crate::{Error, Result};

/// One application query and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AppQuery {
    /// The SQL text.
    pub sql: String,
    /// `queries/orders.sql` or `.sqlx/query-<hash>.json`.
    pub source: String,
}

/// The result of preparing one query before and after the migrations.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QueryCheck {
    /// The query.
    #[serde(flatten)]
    pub query: AppQuery,
    /// The database's error before the migrations, if it failed then.
    pub before: Option<String>,
    /// The database's error after the migrations, if it fails now.
    pub after: Option<String>,
}

impl QueryCheck {
    /// Worked before, fails after: the migrations break the application.
    pub fn is_break(&self) -> bool {
        self.before.is_none() && self.after.is_some()
    }
}

/// Collects the queries named by `patterns` (globs relative to `root`; a
/// folder holding `query-*.json` files is read as a sqlx offline cache, used
/// only when its `db_name` is `backend`'s).
pub fn collect(root: &Path, patterns: &[String], backend: Backend) -> Result<Vec<AppQuery>> {
    let mut out = Vec::new();
    for pattern in patterns {
        let full = root.join(pattern);
        let full_str = full.to_string_lossy().into_owned();
        let paths: Vec<PathBuf> = if full.is_dir() {
            vec![full.clone()]
        } else {
            glob::glob(&full_str)
                .map_err(|e| {
                    Error::Config(format!(
                        "verify.queries pattern `{pattern}` is not a valid glob: {e}"
                    ))
                })?
                .filter_map(|p| p.ok())
                .collect()
        };
        for path in paths {
            if path.is_dir() {
                out.extend(read_sqlx_cache(root, &path, backend)?);
            } else if path.extension().is_some_and(|e| e == "sql") {
                let text = std::fs::read_to_string(&path)?;
                for sql in crate::sql::split(&text, backend) {
                    out.push(AppQuery {
                        sql,
                        source: relative(root, &path),
                    });
                }
            }
        }
    }
    Ok(out)
}

fn relative(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

fn read_sqlx_cache(root: &Path, dir: &Path, backend: Backend) -> Result<Vec<AppQuery>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("query-") && n.ends_with(".json"))
        })
        .collect();
    files.sort();
    let want = match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
        Backend::MySql => "MySQL",
    };
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f)?;
        let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            Error::Config(format!(
                "{} is not a valid sqlx offline query file ({e}); regenerate the cache with `cargo sqlx prepare`",
                relative(root, &f)
            ))
        })?;
        let (Some(db), Some(sql)) = (doc["db_name"].as_str(), doc["query"].as_str()) else {
            return Err(Error::Config(format!(
                "{} has no `db_name` or `query`; regenerate the cache with `cargo sqlx prepare`",
                relative(root, &f)
            )));
        };
        if db == want {
            out.push(AppQuery {
                sql: sql.to_string(),
                source: relative(root, &f),
            });
        }
    }
    Ok(out)
}

/// Prepares `sql` on `conn` (placeholders written `?` are rewritten for
/// PostgreSQL); returns the database's message when it does not prepare.
pub async fn prepare(conn: &mut Connection, sql: &str) -> Option<String> {
    use sqlx::{Executor, SqlSafeStr};
    let sql = if conn.backend() == Backend::Postgres && !sql.contains('$') {
        conn.placeholders(sql)
    } else {
        sql.to_string()
    };
    let result: std::result::Result<(), sqlx::Error> = dispatch!(conn, c => {
        c.prepare(sqlx::AssertSqlSafe(sql).into_sql_str()).await.map(drop)
    });
    result.err().map(|e| match e {
        sqlx::Error::Database(db) => db.message().to_string(),
        other => crate::url::redact(&other.to_string()),
    })
}

/// Prepares every query; returns one error message (or none) per query.
pub async fn prepare_all(conn: &mut Connection, queries: &[AppQuery]) -> Vec<Option<String>> {
    // A statement cached before the migrations would hide that it no longer prepares.
    {
        use sqlx::Connection as _;
        let _ = dispatch!(conn, c => c.clear_cached_statements().await);
    }
    let mut out = Vec::with_capacity(queries.len());
    for q in queries {
        out.push(prepare(conn, &q.sql).await);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_sql_files_and_the_matching_sqlx_cache() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("queries")).unwrap();
        std::fs::write(dir.path().join("queries/a.sql"), "SELECT 1; SELECT 2;").unwrap();
        std::fs::create_dir_all(dir.path().join(".sqlx")).unwrap();
        std::fs::write(
            dir.path().join(".sqlx/query-1.json"),
            r#"{"db_name":"PostgreSQL","query":"SELECT $1"}"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join(".sqlx/query-2.json"),
            r#"{"db_name":"SQLite","query":"SELECT 3"}"#,
        )
        .unwrap();
        let patterns = vec!["queries/*.sql".to_string(), ".sqlx".to_string()];
        let q = collect(dir.path(), &patterns, Backend::Sqlite).unwrap();
        let sqls: Vec<_> = q
            .iter()
            .map(|q| (q.sql.as_str(), q.source.as_str()))
            .collect();
        assert_eq!(
            sqls,
            vec![
                ("SELECT 1", "queries/a.sql"),
                ("SELECT 2", "queries/a.sql"),
                ("SELECT 3", ".sqlx/query-2.json")
            ]
        );
        let pg = collect(dir.path(), &patterns, Backend::Postgres).unwrap();
        assert_eq!(pg.iter().filter(|q| q.sql == "SELECT $1").count(), 1);
    }

    #[test]
    fn malformed_sqlx_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".sqlx")).unwrap();
        std::fs::write(dir.path().join(".sqlx/query-1.json"), "{not json").unwrap();
        let err = collect(dir.path(), &[".sqlx".to_string()], Backend::Sqlite).unwrap_err();
        assert!(err.to_string().contains("cargo sqlx prepare"), "{err}");
        assert_eq!(err.exit_code(), 2);
    }
}
