//! Columns added and made NOT NULL without rewriting or long-locking a table.

use sha2::{Digest, Sha256};

use super::{literal, quote};
use crate::{Db, Dialect, Error, Result};

/// Defaults that are evaluated per row or at migration time: adding a column
/// with one rewrites the table (or stamps every old row with the migration's
/// time), so they are refused in favour of a backfill. Longer names come
/// first, so the message names the function used.
const VOLATILE: &[&str] = &[
    "now(",
    "current_timestamp",
    "current_date",
    "current_time",
    "localtime",
    "clock_timestamp",
    "statement_timestamp",
    "transaction_timestamp",
    "timeofday",
    "sysdate",
    "utc_timestamp",
    "unix_timestamp",
    "random(",
    "rand(",
    "gen_random_uuid",
    "uuid_generate_",
    "uuid_short",
    "uuid(",
    "nextval(",
    "'now'",
];

/// The volatile function `default` uses, if any.
fn volatile_default(default: &str) -> Option<&'static str> {
    let lower = default.to_ascii_lowercase();
    VOLATILE.iter().copied().find(|f| lower.contains(f))
}

/// The name of the temporary CHECK behind [`Db::set_not_null`], at most 63 bytes.
fn not_null_check_name(table: &str, column: &str) -> String {
    let name = format!("{table}_{column}_not_null");
    if name.len() <= 63 {
        return name;
    }
    let digest = hex::encode(Sha256::digest(format!("{table}\0{column}")));
    format!("migrate_not_null_{}", &digest[..32])
}

impl Db {
    /// Adds a column without rewriting the table; does nothing when the
    /// column exists (its type is not compared).
    ///
    /// `sql_type` and `default` are SQL (`"BIGINT"`, `Some("0")`,
    /// `Some("'new'")`). A volatile default (`now()`, `random()`,
    /// `gen_random_uuid()`, ...) is refused: add the column without it (or
    /// with a constant), [`Db::backfill`] the values, then set the default.
    ///
    /// - PostgreSQL: a nullable column or a constant default is a catalog-only
    ///   change (PostgreSQL 11 and later; a default is refused before 11).
    /// - MariaDB/MySQL: `ALGORITHM=INSTANT, LOCK=NONE`, or
    ///   `ALGORITHM=INPLACE, LOCK=NONE` where the server cannot add it instantly.
    /// - SQLite: `ADD COLUMN` (never rewrites the table).
    ///
    /// ```no_run
    /// # use migrate_core::{Db, Result};
    /// // #[migration(20241128_090000, reversible)]
    /// async fn add_orders_status(db: &mut Db) -> Result<()> {
    ///     db.add_column("orders", "status", "VARCHAR(20)", Some("'new'")).await
    /// }
    /// ```
    pub async fn add_column(
        &mut self,
        table: &str,
        column: &str,
        sql_type: &str,
        default: Option<&str>,
    ) -> Result<()> {
        if let Some(f) = default.and_then(volatile_default) {
            return Err(Error::Refused(format!(
                "add_column {table}.{column}: the default uses `{f}`, which is evaluated per row or at migration time (a table rewrite, or every old row stamped alike); add the column without it, fill it with `db.backfill(...)`, then `ALTER ... SET DEFAULT` for new rows"
            )));
        }
        let d = self.dialect();
        if self.column_nullable(table, column).await?.is_some() {
            return Ok(());
        }
        let (qt, qc) = (quote(d, table), quote(d, column));
        let default_clause = default.map(|v| format!(" DEFAULT {v}")).unwrap_or_default();
        let add = format!("ALTER TABLE {qt} ADD COLUMN {qc} {sql_type}{default_clause}");
        match d {
            Dialect::Postgres => {
                if default.is_some() && self.pg_version().await? < 110000 {
                    return Err(Error::Refused(format!(
                        "add_column {table}.{column}: before PostgreSQL 11 a column with a default rewrites the table; add it without a default, backfill, then set the default"
                    )));
                }
                self.execute(&add).await?;
            }
            Dialect::MySql => {
                let instant = format!("{add}, ALGORITHM=INSTANT, LOCK=NONE");
                match self.execute(&instant).await {
                    Ok(_) => {}
                    Err(Error::Statement { message, .. })
                        if message.contains("ALGORITHM=INSTANT") =>
                    {
                        self.execute(&format!("{add}, ALGORITHM=INPLACE, LOCK=NONE"))
                            .await?;
                    }
                    Err(e) => return Err(e),
                }
            }
            Dialect::Sqlite => {
                self.execute(&add).await?;
            }
        }
        Ok(())
    }

    /// Makes a column NOT NULL without a full scan under an exclusive lock;
    /// does nothing when it already is. Fails (changing nothing more) when
    /// NULLs remain: backfill them first.
    ///
    /// - PostgreSQL 12 and later: `CHECK (column IS NOT NULL) NOT VALID`,
    ///   `VALIDATE CONSTRAINT` (the scan, under a lock that lets writes go on),
    ///   `SET NOT NULL` (which trusts the validated check instead of scanning),
    ///   then the check is dropped. Needs `transaction = false` (refused
    ///   otherwise); re-runnable after a failure at any step.
    /// - MariaDB/MySQL: `MODIFY` with the column's full definition read from
    ///   `information_schema` (type, character set, default, extra, comment)
    ///   plus NOT NULL, `ALGORITHM=INPLACE, LOCK=NONE` (an in-place rebuild
    ///   that lets writes go on; the server refuses it outside strict SQL
    ///   mode, where NULLs would silently become defaults). Generated columns
    ///   are refused.
    /// - SQLite: refused (a column's nullability cannot change in place).
    ///
    /// ```no_run
    /// # use migrate_core::{Db, Result};
    /// // #[migration(20241128_100000, reversible, transaction = false)]
    /// async fn require_orders_status(db: &mut Db) -> Result<()> {
    ///     db.set_not_null("orders", "status").await
    /// }
    /// ```
    pub async fn set_not_null(&mut self, table: &str, column: &str) -> Result<()> {
        let d = self.dialect();
        let nullable = self.column_nullable(table, column).await?.ok_or_else(|| {
            Error::msg(format!(
                "set_not_null: there is no column `{column}` in table `{table}`"
            ))
        })?;
        let (qt, qc) = (quote(d, table), quote(d, column));
        match d {
            Dialect::Postgres => {
                self.refuse_in_transaction(
                    "set_not_null",
                    "the check constraint must be validated in its own transaction, or the table stays locked while every row is checked",
                )?;
                if self.pg_version().await? < 120000 {
                    return Err(Error::Refused(format!(
                        "set_not_null {table}.{column}: before PostgreSQL 12, SET NOT NULL scans the table under an exclusive lock; keep a validated check instead (`db.add_check(\"{table}\", \"{table}_{column}_not_null\", \"{column} IS NOT NULL\")`)"
                    )));
                }
                let check = not_null_check_name(table, column);
                if nullable {
                    self.add_constraint_online(
                        "set_not_null",
                        table,
                        &check,
                        &format!("CHECK ({qc} IS NOT NULL)"),
                    )
                    .await?;
                    self.execute(&format!("ALTER TABLE {qt} ALTER COLUMN {qc} SET NOT NULL"))
                        .await?;
                }
                if self.pg_constraint_validated(table, &check).await?.is_some() {
                    self.execute(&format!(
                        "ALTER TABLE {qt} DROP CONSTRAINT IF EXISTS {}",
                        quote(d, &check)
                    ))
                    .await?;
                }
            }
            Dialect::MySql => {
                if !nullable {
                    return Ok(());
                }
                let definition = self.mysql_column_definition(table, column).await?;
                self.execute(&format!(
                    "ALTER TABLE {qt} MODIFY {qc} {definition}, ALGORITHM=INPLACE, LOCK=NONE"
                ))
                .await?;
            }
            Dialect::Sqlite => {
                return Err(Error::Refused(format!(
                    "set_not_null is not available on SQLite: a column's nullability cannot change in place; rebuild `{table}` (create the new table with `{column}` NOT NULL, copy the rows, drop the old table, rename the new one) in a transactional migration"
                )));
            }
        }
        Ok(())
    }

    /// Whether `table.column` is nullable, or `None` when it does not exist.
    async fn column_nullable(&mut self, table: &str, column: &str) -> Result<Option<bool>> {
        let d = self.dialect();
        let (t, c) = (literal(d, table), literal(d, column));
        let sql = match d {
            Dialect::Postgres => format!(
                "SELECT CASE WHEN attnotnull THEN 0 ELSE 1 END::bigint FROM pg_attribute \
                 WHERE attrelid = to_regclass(quote_ident({t})) AND attname = {c} \
                 AND attnum > 0 AND NOT attisdropped"
            ),
            Dialect::MySql => format!(
                "SELECT CAST(IS_NULLABLE = 'YES' AS SIGNED) FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = {t} AND COLUMN_NAME = {c}"
            ),
            Dialect::Sqlite => format!(
                "SELECT CASE WHEN \"notnull\" THEN 0 ELSE 1 END FROM pragma_table_info({t}) WHERE name = {c}"
            ),
        };
        Ok(self.lookup_i64(&sql).await?.map(|v| v == 1))
    }

    /// The MariaDB/MySQL definition of `table.column` with NOT NULL, for `MODIFY`.
    async fn mysql_column_definition(&mut self, table: &str, column: &str) -> Result<String> {
        let d = self.dialect();
        // One row, fields joined by a unit separator; a NULL default is '' and
        // any other default is prefixed with '=' so the two stay apart.
        let sql = format!(
            "SELECT CAST(CONCAT_WS(CHAR(31), COLUMN_TYPE, COALESCE(CONCAT('=', COLUMN_DEFAULT), ''), \
             EXTRA, COLUMN_COMMENT, COALESCE(CHARACTER_SET_NAME, ''), COALESCE(COLLATION_NAME, '')) AS CHAR) \
             FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = {} AND COLUMN_NAME = {}",
            literal(d, table),
            literal(d, column)
        );
        let row = self.lookup_strings(&sql).await?.into_iter().next();
        let row = row.ok_or_else(|| {
            Error::msg(format!(
                "set_not_null: there is no column `{column}` in table `{table}`"
            ))
        })?;
        let version = self
            .lookup_strings("SELECT CAST(VERSION() AS CHAR)")
            .await?
            .into_iter()
            .next()
            .unwrap_or_default();
        mysql_not_null_definition(&row, version.contains("MariaDB"))
            .map_err(|why| Error::Refused(format!("set_not_null {table}.{column}: {why}")))
    }
}

/// The `MODIFY` definition from an `information_schema.COLUMNS` row as read
/// by `mysql_column_definition`. MariaDB stores defaults as SQL expressions
/// (`'abc'`, `NULL`, `current_timestamp()`); MySQL stores the bare value and
/// marks expressions `DEFAULT_GENERATED`.
fn mysql_not_null_definition(row: &str, mariadb: bool) -> std::result::Result<String, String> {
    let f: Vec<&str> = row.split('\u{1f}').collect();
    let [column_type, default, extra, comment, charset, collation] = f[..] else {
        return Err(format!("unexpected column description `{row}`"));
    };
    let extra_lower = extra.to_ascii_lowercase();
    if extra_lower.contains("generated") && !extra_lower.contains("default_generated")
        || extra_lower.contains("persistent")
    {
        return Err(
            "it is a generated column; change its expression instead of its nullability".into(),
        );
    }
    let mut out = column_type.to_string();
    if !charset.is_empty() {
        out.push_str(&format!(" CHARACTER SET {charset}"));
        if !collation.is_empty() {
            out.push_str(&format!(" COLLATE {collation}"));
        }
    }
    out.push_str(" NOT NULL");
    if let Some(value) = default.strip_prefix('=') {
        if mariadb {
            if value != "NULL" {
                out.push_str(&format!(" DEFAULT {value}"));
            }
        } else if extra_lower.contains("default_generated") {
            out.push_str(&format!(" DEFAULT ({value})"));
        } else {
            out.push_str(&format!(" DEFAULT {}", literal(Dialect::MySql, value)));
        }
    }
    let extra = extra
        .split_whitespace()
        .filter(|w| !w.eq_ignore_ascii_case("DEFAULT_GENERATED"))
        .collect::<Vec<_>>()
        .join(" ");
    if !extra.is_empty() {
        out.push(' ');
        out.push_str(&extra);
    }
    if !comment.is_empty() {
        out.push_str(&format!(" COMMENT {}", literal(Dialect::MySql, comment)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volatile_defaults_are_found_and_constants_pass() {
        assert_eq!(volatile_default("now()"), Some("now("));
        assert_eq!(
            volatile_default("CURRENT_TIMESTAMP"),
            Some("current_timestamp")
        );
        assert_eq!(
            volatile_default("gen_random_uuid()"),
            Some("gen_random_uuid")
        );
        assert_eq!(volatile_default("0"), None);
        assert_eq!(volatile_default("'new'"), None);
    }

    #[test]
    fn not_null_check_names_fit_in_63_bytes() {
        assert_eq!(not_null_check_name("t", "c"), "t_c_not_null");
        let long = not_null_check_name(&"t".repeat(40), &"c".repeat(40));
        assert!(long.len() <= 63 && long.starts_with("migrate_not_null_"));
    }

    #[test]
    fn mariadb_definitions_keep_type_charset_default_extra_and_comment() {
        let row = "varchar(20)\u{1f}='new'\u{1f}\u{1f}it's\u{1f}utf8mb4\u{1f}utf8mb4_general_ci";
        assert_eq!(
            mysql_not_null_definition(row, true).unwrap(),
            "varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL DEFAULT 'new' COMMENT 'it''s'"
        );
        let row = "timestamp\u{1f}=current_timestamp()\u{1f}on update current_timestamp()\u{1f}\u{1f}\u{1f}";
        assert_eq!(
            mysql_not_null_definition(row, true).unwrap(),
            "timestamp NOT NULL DEFAULT current_timestamp() on update current_timestamp()"
        );
        assert_eq!(
            mysql_not_null_definition("int(11)\u{1f}=NULL\u{1f}\u{1f}\u{1f}\u{1f}", true).unwrap(),
            "int(11) NOT NULL"
        );
    }

    #[test]
    fn mysql_definitions_quote_values_and_wrap_expressions() {
        assert_eq!(
            mysql_not_null_definition("int\u{1f}=5\u{1f}\u{1f}\u{1f}\u{1f}", false).unwrap(),
            "int NOT NULL DEFAULT '5'"
        );
        assert_eq!(
            mysql_not_null_definition(
                "datetime\u{1f}=now()\u{1f}DEFAULT_GENERATED\u{1f}\u{1f}\u{1f}",
                false
            )
            .unwrap(),
            "datetime NOT NULL DEFAULT (now())"
        );
        assert!(
            mysql_not_null_definition("int\u{1f}\u{1f}VIRTUAL GENERATED\u{1f}\u{1f}\u{1f}", false)
                .is_err()
        );
    }
}
