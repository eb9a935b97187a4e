//! CHECK and FOREIGN KEY constraints added without a long exclusive lock.

use super::{column_list, literal, quote};
use crate::{Db, Dialect, Error, Result};

impl Db {
    /// Adds `CHECK (expr)` named `name` to `table`.
    ///
    /// - PostgreSQL: `ADD CONSTRAINT ... NOT VALID` (a short lock, no scan),
    ///   then `VALIDATE CONSTRAINT` (scans under a lock that lets reads and
    ///   writes go on). Needs `transaction = false`, or the first step's lock
    ///   would be held through the scan (refused otherwise). Re-runnable: a
    ///   constraint left NOT VALID by a failed validation is only validated,
    ///   a valid one is left alone.
    /// - MariaDB/MySQL: `ADD CONSTRAINT ..., ALGORITHM=COPY, LOCK=SHARED`,
    ///   stated so the cost is visible: the server checks existing rows only
    ///   while copying the table (reads go on, writes wait); InnoDB has no
    ///   in-place form that checks them. Skipped when a constraint of that
    ///   name exists.
    /// - SQLite: refused, as SQLite cannot add a constraint to an existing table.
    ///
    /// ```no_run
    /// # use migrate_core::{Db, Result};
    /// // #[migration(20241127_090000, reversible, transaction = false)]
    /// async fn orders_total_positive(db: &mut Db) -> Result<()> {
    ///     db.add_check("orders", "orders_total_positive", "total >= 0").await
    /// }
    /// ```
    pub async fn add_check(&mut self, table: &str, name: &str, expr: &str) -> Result<()> {
        self.add_constraint_online("add_check", table, name, &format!("CHECK ({expr})"))
            .await
    }

    /// Adds `FOREIGN KEY (columns) REFERENCES ref_table (ref_columns)` named
    /// `name` to `table`, as [`Db::add_check`] does (NOT VALID then VALIDATE on
    /// PostgreSQL, a table copy under a shared lock on MariaDB/MySQL, refused
    /// on SQLite).
    ///
    /// ```no_run
    /// # use migrate_core::{Db, Result};
    /// // #[migration(20241127_100000, reversible, transaction = false)]
    /// async fn orders_user_fk(db: &mut Db) -> Result<()> {
    ///     db.add_foreign_key("orders", "orders_user_fk", &["user_id"], "users", &["id"]).await
    /// }
    /// ```
    pub async fn add_foreign_key(
        &mut self,
        table: &str,
        name: &str,
        columns: &[&str],
        ref_table: &str,
        ref_columns: &[&str],
    ) -> Result<()> {
        let d = self.dialect();
        let definition = format!(
            "FOREIGN KEY ({}) REFERENCES {} ({})",
            column_list(d, columns)?,
            quote(d, ref_table),
            column_list(d, ref_columns)?
        );
        self.add_constraint_online("add_foreign_key", table, name, &definition)
            .await
    }

    pub(super) async fn add_constraint_online(
        &mut self,
        helper: &str,
        table: &str,
        name: &str,
        definition: &str,
    ) -> Result<()> {
        let d = self.dialect();
        let (qt, qn) = (quote(d, table), quote(d, name));
        match d {
            Dialect::Postgres => {
                self.refuse_in_transaction(
                    helper,
                    "adding the constraint NOT VALID and validating it must commit separately, or the table stays locked while every row is checked",
                )?;
                let validated = self.pg_constraint_validated(table, name).await?;
                match validated {
                    Some(true) => return Ok(()),
                    Some(false) => {}
                    None => {
                        self.execute(&format!(
                            "ALTER TABLE {qt} ADD CONSTRAINT {qn} {definition} NOT VALID"
                        ))
                        .await?;
                    }
                }
                self.execute(&format!("ALTER TABLE {qt} VALIDATE CONSTRAINT {qn}"))
                    .await?;
            }
            Dialect::MySql => {
                let exists = self
                    .lookup_i64(&format!(
                        "SELECT count(*) FROM information_schema.TABLE_CONSTRAINTS \
                         WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = {} AND CONSTRAINT_NAME = {}",
                        literal(d, table),
                        literal(d, name)
                    ))
                    .await?
                    .unwrap_or(0);
                if exists == 0 {
                    self.execute(&format!(
                        "ALTER TABLE {qt} ADD CONSTRAINT {qn} {definition}, ALGORITHM=COPY, LOCK=SHARED"
                    ))
                    .await?;
                }
            }
            Dialect::Sqlite => {
                return Err(Error::Refused(format!(
                    "`{helper}` is not available on SQLite: SQLite cannot add a constraint to an existing table; rebuild `{table}` instead (create the new table with the constraint, copy the rows, drop the old table, rename the new one) in a transactional migration"
                )));
            }
        }
        Ok(())
    }

    /// Whether the PostgreSQL constraint `name` on `table` is validated, or
    /// `None` when there is none.
    pub(super) async fn pg_constraint_validated(
        &mut self,
        table: &str,
        name: &str,
    ) -> Result<Option<bool>> {
        let d = self.dialect();
        Ok(self
            .lookup_i64(&format!(
                "SELECT CASE WHEN convalidated THEN 1 ELSE 0 END::bigint FROM pg_constraint \
                 WHERE conrelid = to_regclass(quote_ident({})) AND conname = {}",
                literal(d, table),
                literal(d, name)
            ))
            .await?
            .map(|v| v == 1))
    }
}
