//! Online schema changes on [`Db`]: helpers that take the weakest lock each
//! backend allows, and that can be re-run after a failure or a crash.
//!
//! | helper | PostgreSQL | MariaDB/MySQL | SQLite |
//! |---|---|---|---|
//! | [`Db::create_index_concurrently`] | `CREATE INDEX CONCURRENTLY`, an INVALID leftover dropped first | `ALGORITHM=INPLACE, LOCK=NONE` | `CREATE INDEX IF NOT EXISTS` |
//! | [`Db::add_check`], [`Db::add_foreign_key`] | `NOT VALID`, then `VALIDATE CONSTRAINT` | `ADD CONSTRAINT`, `ALGORITHM=COPY, LOCK=SHARED` | refused |
//! | [`Db::set_not_null`] | validated `CHECK`, `SET NOT NULL`, check dropped | `MODIFY` with the column's definition, `ALGORITHM=INPLACE, LOCK=NONE` | refused |
//! | [`Db::add_column`] | instant (volatile defaults refused) | `ALGORITHM=INSTANT, LOCK=NONE` | `ADD COLUMN` |
//! | [`Db::backfill`] | batches by primary key, each its own transaction, resumable | same | same |
//!
//! Names (tables, columns, indexes, constraints) are identifiers exactly as
//! stored in the catalog: the helpers quote them. Expressions (a check, a
//! backfill's `SET` and filter, a column type or default) are SQL, sent as given.
//! Statements the helpers run for the schema change are recorded like any
//! [`Db::execute`]; their catalog look-ups and bookkeeping are not.

mod backfill;
mod column;
mod constraint;
mod index;

pub use backfill::Backfill;

use crate::{Db, Dialect, Error, Result};

impl Db {
    /// Fails with a clear message when the migration runs in a transaction
    /// the runtime opened, which `helper` cannot work in.
    fn refuse_in_transaction(&self, helper: &str, why: &str) -> Result<()> {
        if self.in_transaction {
            return Err(Error::Refused(format!(
                "`{helper}` cannot run inside the migration's transaction: {why}; add `transaction = false` to this migration's #[migration(...)] attribute"
            )));
        }
        Ok(())
    }

    /// A catalog look-up (not recorded): the first column of the first row.
    async fn lookup_i64(&mut self, sql: &str) -> Result<Option<i64>> {
        match self.conn().fetch_optional_i64(sql).await {
            Ok(v) => Ok(v),
            Err(e) => Err(self.internal_error(sql, e)),
        }
    }

    /// A catalog look-up (not recorded): the first column of every row.
    async fn lookup_strings(&mut self, sql: &str) -> Result<Vec<String>> {
        match self.conn().fetch_strings(sql).await {
            Ok(v) => Ok(v),
            Err(e) => Err(self.internal_error(sql, e)),
        }
    }

    /// A bookkeeping statement (not recorded).
    async fn internal_execute(&mut self, sql: &str) -> Result<u64> {
        match self.conn().execute(sql).await {
            Ok(n) => Ok(n),
            Err(e) => Err(self.internal_error(sql, e)),
        }
    }

    fn internal_error(&mut self, sql: &str, e: sqlx::Error) -> Error {
        let lock_timeout = self.conn().is_lock_timeout(&e);
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

    /// PostgreSQL's `server_version_num` (e.g. 150004).
    async fn pg_version(&mut self) -> Result<i64> {
        Ok(self
            .lookup_i64("SELECT current_setting('server_version_num')::bigint")
            .await?
            .unwrap_or(0))
    }
}

/// `name` as a quoted identifier of `dialect`.
pub(crate) fn quote(dialect: Dialect, name: &str) -> String {
    match dialect {
        Dialect::MySql => format!("`{}`", name.replace('`', "``")),
        _ => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// `text` as a string literal of `dialect`.
pub(crate) fn literal(dialect: Dialect, text: &str) -> String {
    let escaped = text.replace('\'', "''");
    match dialect {
        Dialect::MySql => format!("'{}'", escaped.replace('\\', "\\\\")),
        _ => format!("'{escaped}'"),
    }
}

/// Whether `s` is a plain identifier (quoted by the helpers) rather than an
/// expression or a column with modifiers (sent as given).
fn is_plain_identifier(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

/// A column list for an index or a key: plain names quoted, anything else
/// (`lower(email)`, `created_at DESC`) as given.
fn column_list(dialect: Dialect, columns: &[&str]) -> Result<String> {
    if columns.is_empty() {
        return Err(Error::msg(
            "the column list is empty: name at least one column",
        ));
    }
    Ok(columns
        .iter()
        .map(|c| {
            if is_plain_identifier(c) {
                quote(dialect, c)
            } else {
                c.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_per_dialect_with_quotes_doubled() {
        assert_eq!(quote(Dialect::Postgres, "a\"b"), "\"a\"\"b\"");
        assert_eq!(quote(Dialect::MySql, "a`b"), "`a``b`");
        assert_eq!(quote(Dialect::Sqlite, "users"), "\"users\"");
    }

    #[test]
    fn literals_escape_quotes_and_mysql_backslashes() {
        assert_eq!(literal(Dialect::Postgres, "o'k\\"), "'o''k\\'");
        assert_eq!(literal(Dialect::MySql, "o'k\\"), "'o''k\\\\'");
    }

    #[test]
    fn column_lists_quote_names_and_keep_expressions() {
        assert_eq!(
            column_list(Dialect::Postgres, &["email", "lower(name)", "at DESC"]).unwrap(),
            "\"email\", lower(name), at DESC"
        );
        assert!(column_list(Dialect::Sqlite, &[]).is_err());
    }

    async fn sqlite_db() -> Db {
        let url = crate::url::DbUrl::parse("sqlite::memory:").unwrap();
        let conn = crate::driver::connect(&url, &Default::default())
            .await
            .unwrap();
        let mut db = Db::new(conn);
        db.execute_many(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL, tag TEXT);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)
             INSERT INTO t (id, v) SELECT i, i % 2 FROM n;
             CREATE TABLE named (code TEXT PRIMARY KEY);",
        )
        .await
        .unwrap();
        db.take_record();
        db
    }

    #[tokio::test]
    async fn sqlite_refuses_constraints_and_not_null_with_guidance() {
        let mut db = sqlite_db().await;
        let e = db.add_check("t", "t_v", "v >= 0").await.unwrap_err();
        assert!(
            e.to_string().contains("SQLite cannot add a constraint"),
            "{e}"
        );
        let e = db
            .add_foreign_key("t", "t_fk", &["v"], "named", &["code"])
            .await
            .unwrap_err();
        assert!(e.to_string().contains("rebuild `t`"), "{e}");
        let e = db.set_not_null("t", "tag").await.unwrap_err();
        assert!(e.to_string().contains("nullability"), "{e}");
        assert!(db.statements().is_empty());
    }

    #[tokio::test]
    async fn add_column_refuses_volatile_defaults_and_skips_existing_columns() {
        let mut db = sqlite_db().await;
        let e = db
            .add_column("t", "at", "TEXT", Some("CURRENT_TIMESTAMP"))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("backfill"), "{e}");
        db.add_column("t", "n", "INTEGER", Some("0")).await.unwrap();
        db.add_column("t", "n", "INTEGER", Some("0")).await.unwrap();
        assert_eq!(db.statements().len(), 1, "the second call changes nothing");
    }

    #[tokio::test]
    async fn backfill_updates_every_row_in_batches_and_records_one_summary() {
        let mut db = sqlite_db().await;
        let spec = Backfill::new("t", "v = v + 10")
            .filter("v = 1")
            .batch_size(1000)
            .duty_cycle(1.0);
        assert_eq!(db.backfill(spec).await.unwrap(), 1250);
        assert_eq!(
            db.fetch_i64("SELECT count(*) FROM t WHERE v = 11")
                .await
                .unwrap(),
            1250
        );
        let left = db
            .fetch_i64("SELECT count(*) FROM sqlite_master WHERE name = '_migrate_backfill'")
            .await
            .unwrap();
        assert_eq!(left, 0, "the progress table is removed when done");
        let updates: Vec<_> = db
            .statements()
            .iter()
            .filter(|s| s.sql.starts_with("UPDATE"))
            .collect();
        assert_eq!(updates.len(), 1);
        assert!(updates[0].sql.contains("3 batches"), "{}", updates[0].sql);
        assert_eq!(updates[0].rows_affected, 1250);
    }

    #[tokio::test]
    async fn backfill_is_refused_in_a_transaction_and_without_an_integer_key() {
        let mut db = sqlite_db().await;
        db.in_transaction = true;
        let e = db.backfill(Backfill::new("t", "v = 1")).await.unwrap_err();
        assert!(e.to_string().contains("transaction = false"), "{e}");
        db.in_transaction = false;
        let e = db
            .backfill(Backfill::new("named", "code = code"))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("key_column"), "{e}");
    }
}
