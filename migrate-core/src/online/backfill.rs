//! Batched, throttled, crash-resumable data backfills.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::{literal, quote};
use crate::{Db, Dialect, Error, Result, Statement};

/// The table keeping each unfinished backfill's progress (the schema
/// snapshot ignores `_migrate*` tables).
const PROGRESS_TABLE: &str = "_migrate_backfill";

/// A batched `UPDATE` for [`Db::backfill`].
///
/// ```
/// use migrate_core::online::Backfill;
///
/// let b = Backfill::new("orders", "total_cents = total * 100")
///     .filter("total_cents IS NULL")
///     .batch_size(5_000)
///     .duty_cycle(0.5);
/// assert_eq!(b.batch_size, 5_000);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Backfill<'a> {
    /// The table to update.
    pub table: &'a str,
    /// The `SET` clause without `SET` (`"counter = counter + 1"`).
    pub set: &'a str,
    /// Only rows matching this SQL condition are updated (every row of each
    /// key range is still visited).
    pub filter: Option<&'a str>,
    /// The integer key to batch by; by default the table's single-column
    /// integer primary key, looked up in the catalog.
    pub key_column: Option<&'a str>,
    /// Key range per batch: at most this many rows are visited per transaction.
    pub batch_size: u64,
    /// Share of wall-clock time spent working, in `(0, 1]`: after a batch
    /// that took `t`, the backfill sleeps `t * (1 / duty_cycle - 1)`.
    pub duty_cycle: f64,
}

impl<'a> Backfill<'a> {
    /// A backfill of `table` setting `set`, 1000 rows per batch, working
    /// 75 % of the time.
    pub fn new(table: &'a str, set: &'a str) -> Backfill<'a> {
        Backfill {
            table,
            set,
            filter: None,
            key_column: None,
            batch_size: 1000,
            duty_cycle: 0.75,
        }
    }

    /// Only updates rows matching `condition`.
    pub fn filter(mut self, condition: &'a str) -> Self {
        self.filter = Some(condition);
        self
    }

    /// Batches by `column` instead of the primary key.
    pub fn key_column(mut self, column: &'a str) -> Self {
        self.key_column = Some(column);
        self
    }

    /// Rows per batch.
    pub fn batch_size(mut self, rows: u64) -> Self {
        self.batch_size = rows;
        self
    }

    /// Share of time spent working (1.0: no pause between batches).
    pub fn duty_cycle(mut self, share: f64) -> Self {
        self.duty_cycle = share;
        self
    }

    /// The progress row's key: the same backfill resumes, another starts afresh.
    fn progress_key(&self, key_column: &str) -> String {
        let text = format!(
            "{}\0{}\0{}\0{key_column}",
            self.table,
            self.set,
            self.filter.unwrap_or("")
        );
        hex::encode(Sha256::digest(text))
    }
}

impl Db {
    /// Runs `UPDATE table SET ...` in batches of key ranges, each batch in its
    /// own transaction, and returns the rows updated by the whole backfill
    /// (batches committed by an earlier, interrupted run included).
    ///
    /// Each batch's progress (its last key) is written to `_migrate_backfill`
    /// in the batch's transaction, so after a crash the migration can be run
    /// again (`cargo migrate repair <version> --rolled-back`, then `apply`)
    /// and resumes after the last committed batch: every row is updated
    /// exactly once. The progress row is deleted when the backfill finishes.
    /// Rows inserted after the backfill started (keys above the maximum it
    /// saw) are left to the application.
    ///
    /// Between batches it sleeps to keep [`Backfill::duty_cycle`]. A batch
    /// that times out on a lock is rolled back and retried (`lock_retries`).
    /// On a terminal, progress (rows/s, ETA) goes to stderr; the statement
    /// record gets one summary `UPDATE` with the rows and time of the run.
    ///
    /// Needs `transaction = false` on every backend (refused otherwise).
    ///
    /// ```no_run
    /// # use migrate_core::{Db, Result};
    /// use migrate_core::online::Backfill;
    ///
    /// // #[migration(20241129_090000, irreversible = "data backfill", transaction = false)]
    /// async fn fill_total_cents(db: &mut Db) -> Result<()> {
    ///     let rows = db
    ///         .backfill(Backfill::new("orders", "total_cents = total * 100").filter("total_cents IS NULL"))
    ///         .await?;
    ///     eprintln!("{rows} orders updated");
    ///     Ok(())
    /// }
    /// ```
    pub async fn backfill(&mut self, spec: Backfill<'_>) -> Result<u64> {
        self.refuse_in_transaction(
            "backfill",
            "each batch commits in its own transaction so that locks stay short and a crash loses at most one batch",
        )?;
        if spec.batch_size == 0 || !(spec.duty_cycle > 0.0 && spec.duty_cycle <= 1.0) {
            return Err(Error::msg(format!(
                "backfill {}: batch_size must be at least 1 and duty_cycle in (0, 1], got {} and {}",
                spec.table, spec.batch_size, spec.duty_cycle
            )));
        }
        let d = self.dialect();
        let key_column = match spec.key_column {
            Some(k) => k.to_string(),
            None => self.integer_primary_key(spec.table).await?,
        };
        let key = literal(d, &spec.progress_key(&key_column));
        let (qt, qk) = (quote(d, spec.table), quote(d, &key_column));
        let progress = quote(d, PROGRESS_TABLE);

        self.internal_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {progress} (backfill_key VARCHAR(64) NOT NULL PRIMARY KEY, \
             table_name VARCHAR(255) NOT NULL, last_key BIGINT, rows_done BIGINT NOT NULL)"
        ))
        .await?;
        let where_key = format!("backfill_key = {key}");
        let done_before = self
            .lookup_i64(&format!(
                "SELECT rows_done FROM {progress} WHERE {where_key}"
            ))
            .await?;
        let mut last = match done_before {
            Some(_) => {
                self.lookup_i64(&format!(
                    "SELECT last_key FROM {progress} WHERE {where_key}"
                ))
                .await?
            }
            None => {
                self.internal_execute(&format!(
                    "INSERT INTO {progress} (backfill_key, table_name, last_key, rows_done) \
                     VALUES ({key}, {}, NULL, 0)",
                    literal(d, spec.table)
                ))
                .await?;
                None
            }
        };
        let done_before = done_before.unwrap_or(0).max(0) as u64;
        let first = last;
        let max = self
            .lookup_i64(&format!("SELECT CAST(max({qk}) AS {}) FROM {qt}", int(d)))
            .await?;
        let min = self
            .lookup_i64(&format!("SELECT CAST(min({qk}) AS {}) FROM {qt}", int(d)))
            .await?;
        let mut meter = Meter::new(spec.table, min, max, done_before);
        if done_before > 0 || last.is_some() {
            meter.say(&format!(
                "backfill {}: resuming after {key_column} {} ({done_before} rows done before)",
                spec.table,
                last.map_or("-".into(), |l| l.to_string())
            ));
        }

        let started = Instant::now();
        let filter = spec
            .filter
            .map(|f| format!(" AND ({f})"))
            .unwrap_or_default();
        let mut rows = 0u64;
        let mut batches = 0u64;
        while let Some(max) = max {
            let lower = last.map(|l| format!("{qk} > {l} AND ")).unwrap_or_default();
            let upper = self
                .lookup_i64(&format!(
                    "SELECT CAST(max(k) AS {}) FROM (SELECT {qk} AS k FROM {qt} \
                     WHERE {lower}{qk} <= {max} ORDER BY {qk} LIMIT {}) batch",
                    int(d),
                    spec.batch_size
                ))
                .await?;
            let Some(upper) = upper else { break };
            let update = format!(
                "UPDATE {qt} SET {} WHERE {lower}{qk} <= {upper}{filter}",
                spec.set
            );
            let mark = format!(
                "UPDATE {progress} SET last_key = {upper}, rows_done = rows_done + ? WHERE {where_key}"
            );
            let batch_started = Instant::now();
            let n = self.backfill_batch(&update, &mark).await?;
            rows += n;
            batches += 1;
            last = Some(upper);
            crate::failpoint::hit("backfill.after_batch");
            meter.batch_done(upper, done_before + rows);
            let pause = batch_started.elapsed().mul_f64(1.0 / spec.duty_cycle - 1.0);
            if !pause.is_zero() {
                tokio::time::sleep(pause.min(Duration::from_secs(60))).await;
            }
        }
        meter.finish(done_before + rows);

        self.internal_execute(&format!("DELETE FROM {progress} WHERE {where_key}"))
            .await?;
        let left = self
            .lookup_i64(&format!("SELECT count(*) FROM {progress}"))
            .await?;
        if left == Some(0) {
            self.internal_execute(&format!("DROP TABLE IF EXISTS {progress}"))
                .await?;
        }

        let range = match (first, last) {
            (Some(f), Some(l)) => format!(" WHERE {qk} > {f} AND {qk} <= {l}{filter}"),
            (None, Some(l)) => format!(" WHERE {qk} <= {l}{filter}"),
            (_, None) => format!(" WHERE 1 = 0{filter}"),
        };
        self.record_mut().push(Statement {
            sql: format!(
                "UPDATE {qt} SET {}{range} /* backfill: {rows} rows in {batches} batches of at most {} */",
                spec.set, spec.batch_size
            ),
            duration: started.elapsed(),
            rows_affected: rows,
        });
        Ok(done_before + rows)
    }

    /// One batch and its progress mark in one transaction; a lock timeout
    /// rolls both back and retries after a back-off, up to `lock_retries`.
    async fn backfill_batch(&mut self, update: &str, mark: &str) -> Result<u64> {
        let mut attempt = 0;
        loop {
            let result = async {
                self.conn()
                    .begin()
                    .await
                    .map_err(|e| self.internal_error("BEGIN", e))?;
                let n = self.internal_execute(update).await?;
                self.internal_execute(&mark.replace('?', &n.to_string()))
                    .await?;
                self.conn()
                    .commit()
                    .await
                    .map_err(|e| self.internal_error("COMMIT", e))?;
                Ok::<u64, Error>(n)
            }
            .await;
            match result {
                Ok(n) => return Ok(n),
                Err(e) => {
                    let _ = self.conn().rollback().await;
                    if e.is_lock_timeout() && attempt < self.statement_retries {
                        attempt += 1;
                        self.retries_used += 1;
                        tokio::time::sleep(crate::apply::backoff(attempt)).await;
                        continue;
                    }
                    return Err(e);
                }
            }
        }
    }

    /// The single integer primary-key column of `table`.
    async fn integer_primary_key(&mut self, table: &str) -> Result<String> {
        let d = self.dialect();
        let t = literal(d, table);
        let sql = match d {
            Dialect::Postgres => format!(
                "SELECT a.attname || chr(31) || format_type(a.atttypid, NULL) FROM pg_index x \
                 JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = ANY(x.indkey) \
                 WHERE x.indrelid = to_regclass(quote_ident({t})) AND x.indisprimary"
            ),
            Dialect::MySql => format!(
                "SELECT CAST(CONCAT(COLUMN_NAME, CHAR(31), DATA_TYPE) AS CHAR) FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = {t} AND COLUMN_KEY = 'PRI'"
            ),
            Dialect::Sqlite => {
                format!("SELECT name || char(31) || type FROM pragma_table_info({t}) WHERE pk > 0")
            }
        };
        let found = self.lookup_strings(&sql).await?;
        let columns: Vec<(&str, &str)> = found
            .iter()
            .filter_map(|r| r.split_once('\u{1f}'))
            .collect();
        match columns[..] {
            [(name, ty)] if ty.to_ascii_lowercase().contains("int") => Ok(name.to_string()),
            _ => Err(Error::msg(format!(
                "backfill {table}: batches need a single integer primary key, and `{table}` has {}; name an indexed integer column with `Backfill::key_column`",
                if columns.is_empty() {
                    "none".to_string()
                } else {
                    columns
                        .iter()
                        .map(|(n, t)| format!("{n} {t}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ))),
        }
    }
}

/// The integer type a key is cast to, so each driver reads it as `i64`.
fn int(d: Dialect) -> &'static str {
    match d {
        Dialect::MySql => "SIGNED",
        _ => "BIGINT",
    }
}

/// Progress lines on stderr (rows, rows/s, ETA by key range), at most every
/// two seconds, and only when stderr is a terminal.
struct Meter {
    table: String,
    min: Option<i64>,
    max: Option<i64>,
    rows_at_start: u64,
    started: Instant,
    last_line: Instant,
    tty: bool,
}

impl Meter {
    fn new(table: &str, min: Option<i64>, max: Option<i64>, rows_at_start: u64) -> Meter {
        Meter {
            table: table.to_string(),
            min,
            max,
            rows_at_start,
            started: Instant::now(),
            last_line: Instant::now(),
            tty: std::io::stderr().is_terminal(),
        }
    }

    fn say(&self, line: &str) {
        if self.tty {
            eprintln!("{line}");
        }
    }

    fn batch_done(&mut self, key: i64, rows: u64) {
        if !self.tty || self.last_line.elapsed() < Duration::from_secs(2) {
            return;
        }
        self.last_line = Instant::now();
        let elapsed = self.started.elapsed();
        let rate = (rows - self.rows_at_start) as f64 / elapsed.as_secs_f64().max(0.001);
        let (Some(min), Some(max)) = (self.min, self.max) else {
            return;
        };
        let share = ((key - min) as f64 / ((max - min) as f64).max(1.0)).clamp(0.0, 1.0);
        let eta = if share > 0.0 {
            crate::human_duration(elapsed.mul_f64((1.0 - share) / share))
        } else {
            "?".into()
        };
        eprintln!(
            "backfill {}: {rows} rows, {:.0}% of keys, {rate:.0} rows/s, ETA {eta}",
            self.table,
            share * 100.0
        );
    }

    fn finish(&self, rows: u64) {
        self.say(&format!(
            "backfill {}: done, {rows} rows in {}",
            self.table,
            crate::human_duration(self.started.elapsed())
        ));
    }
}
