//! Index builds that do not block writes, safe to re-run after a failure.

use super::{column_list, literal, quote};
use crate::{Db, Dialect, Result};

impl Db {
    /// Creates an index without blocking writes to the table; does nothing
    /// when a usable index of that name already exists.
    ///
    /// - PostgreSQL: `CREATE INDEX CONCURRENTLY`. It cannot run in a
    ///   transaction, so the migration needs `transaction = false` (refused
    ///   otherwise). A failed earlier build leaves an INVALID index behind: it
    ///   is dropped (`DROP INDEX CONCURRENTLY IF EXISTS`) and built again, so a
    ///   re-run after `repair --rolled-back` finishes the job. A valid index of
    ///   that name counts as done (its definition is not compared).
    /// - MariaDB/MySQL: `CREATE INDEX ... ALGORITHM=INPLACE LOCK=NONE` (fails
    ///   rather than lock the table when the server cannot build it online).
    /// - SQLite: `CREATE INDEX IF NOT EXISTS` (SQLite has one writer anyway).
    ///
    /// Columns that are plain names are quoted; anything else (`lower(email)`,
    /// `created_at DESC`) is sent as given.
    ///
    /// ```no_run
    /// # use migrate_core::{Db, Result};
    /// // #[migration(20241126_100000, reversible, transaction = false)]
    /// async fn index_users_email(db: &mut Db) -> Result<()> {
    ///     db.create_index_concurrently("users_email_idx", "users", &["email"]).await
    /// }
    /// ```
    pub async fn create_index_concurrently(
        &mut self,
        name: &str,
        table: &str,
        columns: &[&str],
    ) -> Result<()> {
        self.create_index_online(name, table, columns, false).await
    }

    /// [`Db::create_index_concurrently`] for a unique index.
    ///
    /// On PostgreSQL a build that fails on duplicate rows leaves an INVALID
    /// index: fix the data, `cargo migrate repair <version> --rolled-back`,
    /// and apply again; the leftover is dropped and the index rebuilt.
    ///
    /// ```no_run
    /// # use migrate_core::{Db, Result};
    /// // #[migration(20241126_110000, reversible, transaction = false)]
    /// async fn unique_users_email(db: &mut Db) -> Result<()> {
    ///     db.create_unique_index_concurrently("users_email_key", "users", &["email"]).await
    /// }
    /// ```
    pub async fn create_unique_index_concurrently(
        &mut self,
        name: &str,
        table: &str,
        columns: &[&str],
    ) -> Result<()> {
        self.create_index_online(name, table, columns, true).await
    }

    async fn create_index_online(
        &mut self,
        name: &str,
        table: &str,
        columns: &[&str],
        unique: bool,
    ) -> Result<()> {
        let d = self.dialect();
        let cols = column_list(d, columns)?;
        let unique = if unique { "UNIQUE " } else { "" };
        let (qn, qt) = (quote(d, name), quote(d, table));
        match d {
            Dialect::Postgres => {
                self.refuse_in_transaction(
                    "create_index_concurrently",
                    "PostgreSQL cannot build an index concurrently inside a transaction",
                )?;
                let create = format!("CREATE {unique}INDEX CONCURRENTLY {qn} ON {qt} ({cols})");
                // A build that times out waiting for older transactions leaves
                // an INVALID index, so a lock timeout is retried here (drop,
                // then build again) rather than by `execute`, whose plain
                // retry would fail on the leftover.
                let retries = std::mem::take(&mut self.statement_retries);
                let mut attempt = 0;
                let result = loop {
                    let step = async {
                        match self.pg_index_valid(name).await? {
                            Some(true) => return Ok(()),
                            Some(false) => {
                                self.execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {qn}"))
                                    .await?;
                            }
                            None => {}
                        }
                        self.execute(&create).await.map(drop)
                    }
                    .await;
                    match step {
                        Err(e) if e.is_lock_timeout() && attempt < retries => {
                            attempt += 1;
                            self.retries_used += 1;
                            tokio::time::sleep(crate::apply::backoff(attempt)).await;
                        }
                        other => break other,
                    }
                };
                self.statement_retries = retries;
                result?;
            }
            Dialect::MySql => {
                let exists = self
                    .lookup_i64(&format!(
                        "SELECT count(*) FROM information_schema.STATISTICS \
                         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = {} AND INDEX_NAME = {}",
                        literal(d, table),
                        literal(d, name)
                    ))
                    .await?
                    .unwrap_or(0);
                if exists > 0 {
                    return Ok(());
                }
                self.execute(&format!(
                    "CREATE {unique}INDEX {qn} ON {qt} ({cols}) ALGORITHM=INPLACE LOCK=NONE"
                ))
                .await?;
            }
            Dialect::Sqlite => {
                self.execute(&format!(
                    "CREATE {unique}INDEX IF NOT EXISTS {qn} ON {qt} ({cols})"
                ))
                .await?;
            }
        }
        Ok(())
    }

    /// Whether the PostgreSQL index `name` in the current schema is valid,
    /// or `None` when there is none.
    async fn pg_index_valid(&mut self, name: &str) -> Result<Option<bool>> {
        let sql = format!(
            "SELECT CASE WHEN x.indisvalid THEN 1 ELSE 0 END::bigint FROM pg_index x \
             JOIN pg_class i ON i.oid = x.indexrelid \
             WHERE i.relname = {} AND i.relnamespace = current_schema()::regnamespace",
            literal(Dialect::Postgres, name)
        );
        Ok(self.lookup_i64(&sql).await?.map(|v| v == 1))
    }
}
