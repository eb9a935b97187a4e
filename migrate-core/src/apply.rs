//! Applying migrations under the migrator lock: transactional migrations
//! with their history row in the same transaction, non-transactional ones
//! bracketed by `started`/`finished` rows, lock timeouts retried with backoff.

use std::time::{Duration, Instant};

use crate::compare::{Plan, PlanOptions};
use crate::failpoint;
use crate::history::{AppliedRow, RowState, applied_by, now_rfc3339};
use crate::migration::Migration;
use crate::registry::Registry;
use crate::{Db, Error, Result, Statement, Target};

/// Options of one `apply`.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// What may be applied.
    pub plan: PlanOptions,
    /// The rehearsal gate was overridden (recorded in each history row).
    pub rehearsal_skipped: bool,
}

/// One migration that was applied.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Applied {
    /// Version.
    pub version: u64,
    /// Name.
    pub name: String,
    /// Wall-clock time, retries included.
    #[serde(rename = "duration_ms", serialize_with = "ser_ms")]
    pub duration: Duration,
    /// Lock-timeout retries it needed.
    pub retries: u32,
    /// The statements it ran through `Db`.
    pub statements: Vec<Statement>,
    /// Whether it used the raw connection (statements may be missing).
    pub used_raw_connection: bool,
}

pub(crate) fn ser_ms<S: serde::Serializer>(
    d: &Duration,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

/// What an `apply` did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ApplyReport {
    /// Applied migrations, in order.
    pub applied: Vec<Applied>,
    /// The pending contract migration `apply` stopped before.
    pub held_back: Option<u64>,
    /// Time spent waiting for the migrator lock.
    #[serde(rename = "lock_waited_ms", serialize_with = "ser_ms")]
    pub lock_waited: Duration,
}

/// Progress of an apply, for live output.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A migration starts.
    Started(&'a Migration),
    /// A lock timeout is retried after `wait`.
    Retry {
        /// The migration.
        migration: &'a Migration,
        /// The attempt about to start (1-based retries).
        attempt: u32,
        /// Back-off before it.
        wait: Duration,
    },
    /// A migration finished.
    Finished(&'a Applied),
    /// A migration is being rolled back.
    RollingBack(&'a Migration),
    /// A rollback step finished.
    RolledBack {
        /// The migration.
        migration: &'a Migration,
        /// How long its down took.
        duration: Duration,
    },
}

/// Back-off before retry `attempt` (1-based): 200 ms doubling, at most 5 s.
pub fn backoff(attempt: u32) -> Duration {
    let ms = 200u64.saturating_mul(1 << attempt.saturating_sub(1).min(5));
    Duration::from_millis(ms.min(5000))
}

impl Target {
    /// Takes the lock, applies what the plan allows, releases the lock.
    pub async fn apply(
        &mut self,
        registry: &Registry,
        opts: &ApplyOptions,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<ApplyReport> {
        failpoint::hit("apply.before_lock");
        let guard = self.lock().await?;
        let waited = guard.waited();
        let result = async {
            let plan = self.prepare(registry, &opts.plan).await?;
            let applied = self.run_plan(registry, &plan, opts, on_event).await?;
            Ok(ApplyReport {
                applied,
                held_back: plan.held_back,
                lock_waited: waited,
            })
        }
        .await;
        guard.release().await;
        result
    }

    /// Under the lock: compares and plans (refusing on dirty, drifted or
    /// out-of-order history). Changes nothing.
    pub async fn prepare(&mut self, registry: &Registry, opts: &PlanOptions) -> Result<Plan> {
        let cmp = self.compare(registry).await?;
        cmp.plan(opts)
    }

    /// Under the lock: creates the history table if needed and applies the
    /// planned versions in order.
    pub async fn run_plan(
        &mut self,
        registry: &Registry,
        plan: &Plan,
        opts: &ApplyOptions,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<Vec<Applied>> {
        let mut done = Vec::new();
        if !plan.versions.is_empty() {
            let history = self.history.clone();
            history.ensure(self.conn()).await?;
        }
        for &version in &plan.versions {
            let m = registry.get(version).ok_or_else(|| {
                Error::msg(format!("version {version} is planned but not registered"))
            })?;
            failpoint::hit("apply.before_migration");
            on_event(Event::Started(m));
            let applied = self.apply_one(m, opts, on_event).await?;
            on_event(Event::Finished(&applied));
            done.push(applied);
            failpoint::hit("apply.after_migration");
        }
        Ok(done)
    }

    pub(crate) async fn apply_one(
        &mut self,
        m: &'static Migration,
        opts: &ApplyOptions,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<Applied> {
        use tracing::Instrument;
        let span = tracing::info_span!(target: "migrate::apply", "migration", version = m.version, name = m.name);
        let result = self
            .apply_one_inner(m, opts, on_event)
            .instrument(span.clone())
            .await;
        span.in_scope(|| match &result {
            Ok(a) => tracing::info!(
                target: "migrate::apply",
                duration_ms = a.duration.as_millis() as u64,
                retries = a.retries,
                statements = a.statements.len(),
                "applied"
            ),
            Err(e) => tracing::warn!(target: "migrate::apply", error = %crate::url::redact(&e.to_string()), "failed"),
        });
        result
    }

    async fn apply_one_inner(
        &mut self,
        m: &'static Migration,
        opts: &ApplyOptions,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<Applied> {
        let started = Instant::now();
        let (lock_timeout, statement_timeout, retries) = (
            self.options.lock_timeout,
            self.options.statement_timeout,
            self.options.lock_retries,
        );
        self.conn()
            .set_timeouts(lock_timeout, statement_timeout)
            .await?;
        let mut row = AppliedRow {
            version: m.version,
            name: m.name.to_string(),
            checksum: m.checksum.to_string(),
            phase: m.phase,
            state: RowState::Started,
            applied_at: now_rfc3339(),
            duration_ms: None,
            applied_by: applied_by(),
            error: None,
            failed_statement: None,
            rehearsal_skipped: opts.rehearsal_skipped,
        };
        let history = self.history.clone();
        let mut attempt = 0;
        // MariaDB/MySQL commit DDL implicitly, so a transaction cannot undo a
        // migration that failed halfway: there it gets a `started` row first,
        // like a non-transactional one, and leaves a dirty row naming the
        // failing statement instead of no trace.
        let ddl_auto_commits = self.conn().backend() == crate::url::Backend::MySql;
        if m.transaction && !ddl_auto_commits {
            loop {
                self.db.take_record();
                let result = self.try_transactional(m, &mut row, started).await;
                match result {
                    Ok(()) => break,
                    Err(e) if e.is_lock_timeout() && attempt < retries => {
                        attempt += 1;
                        let wait = backoff(attempt);
                        tracing::info!(target: "migrate::apply", attempt, wait_ms = wait.as_millis() as u64, "lock timeout, retrying the migration");
                        on_event(Event::Retry {
                            migration: m,
                            attempt,
                            wait,
                        });
                        tokio::time::sleep(wait).await;
                    }
                    Err(e) => {
                        let e = self.name_blockers(e).await;
                        let statement = e.statement().map(str::to_string);
                        return Err(Error::MigrationFailed {
                            version: m.version,
                            name: m.name.to_string(),
                            statement,
                            state: format!(
                                "The migration ran in a transaction that was rolled back{}: schema, data and history are as before it. Fix the migration and run apply again.",
                                if attempt > 0 {
                                    format!(" after {attempt} lock-timeout retries")
                                } else {
                                    String::new()
                                }
                            ),
                            source: Box::new(e),
                        });
                    }
                }
            }
        } else {
            self.db.take_record();
            history.insert(self.conn(), &row).await?;
            failpoint::hit("apply.after_started_row");
            self.db.set_statement_retries(retries);
            // Still a transaction on MariaDB/MySQL, so that data changes
            // after the last DDL statement roll back together.
            let result = async {
                if m.transaction {
                    self.conn().begin().await?;
                }
                self.db.in_transaction = m.transaction;
                (m.up)(&mut self.db).await
            }
            .await;
            self.db.in_transaction = false;
            attempt = self.db.take_statement_retries();
            match result {
                Ok(()) => {
                    let ms = started.elapsed().as_millis() as i64;
                    history
                        .set_state(
                            self.conn(),
                            m.version,
                            RowState::Finished,
                            Some(ms),
                            None,
                            None,
                        )
                        .await?;
                    if m.transaction {
                        self.conn().commit().await?;
                    }
                }
                Err(e) => {
                    if m.transaction {
                        let _ = self.conn().rollback().await;
                    }
                    let e = self.name_blockers(e).await;
                    let statement = e.statement().map(str::to_string);
                    let message = crate::url::redact(&e.to_string());
                    let ms = started.elapsed().as_millis() as i64;
                    let marked = history
                        .set_state(
                            self.conn(),
                            m.version,
                            RowState::Failed,
                            Some(ms),
                            Some(&message),
                            statement.as_deref(),
                        )
                        .await;
                    let state = match marked {
                        Ok(()) => failed_advice(m.transaction, m.down.is_some(), m.version),
                        Err(mark_err) => format!(
                            "The migration is not transactional and marking its history row failed also failed ({mark_err}); its row stays `started`, so the database is dirty. Run `cargo migrate status`, then `repair`."
                        ),
                    };
                    // Statement retries happen inside `Db::execute`: say so here.
                    let state = if attempt > 0 && e.is_lock_timeout() {
                        format!(
                            "The statement timed out waiting for a lock and was retried {attempt} times (lock_retries). {state}"
                        )
                    } else {
                        state
                    };
                    return Err(Error::MigrationFailed {
                        version: m.version,
                        name: m.name.to_string(),
                        statement,
                        state,
                        source: Box::new(e),
                    });
                }
            }
        }
        let (statements, raw) = self.db.take_record();
        Ok(Applied {
            version: m.version,
            name: m.name.to_string(),
            duration: started.elapsed(),
            retries: attempt,
            statements,
            used_raw_connection: raw,
        })
    }

    /// A lock-timeout error with who held the lock appended to its message.
    /// Called after the failed transaction was rolled back, so the lookup runs.
    async fn name_blockers(&mut self, mut e: Error) -> Error {
        if let Error::Statement {
            sql,
            message,
            lock_timeout: true,
            ..
        } = &mut e
            && let Some(who) = self.conn().blockers(sql).await
        {
            message.push_str(&format!("; {who}"));
        }
        e
    }

    async fn try_transactional(
        &mut self,
        m: &'static Migration,
        row: &mut AppliedRow,
        started: Instant,
    ) -> Result<()> {
        let history = self.history.clone();
        self.conn().begin().await.map_err(|e| Error::Statement {
            sql: "BEGIN".into(),
            message: e.to_string(),
            lock_timeout: self.db.conn().is_lock_timeout(&e),
            source: e,
        })?;
        self.db.in_transaction = true;
        let body = async {
            (m.up)(&mut self.db).await?;
            failpoint::hit("apply.in_transaction");
            row.state = RowState::Finished;
            row.duration_ms = Some(started.elapsed().as_millis() as i64);
            history.insert(self.db.conn(), row).await?;
            self.db.conn().commit().await.map_err(Error::from)
        }
        .await;
        self.db.in_transaction = false;
        if body.is_err() {
            let _ = self.conn().rollback().await;
        }
        body
    }
}

/// Shared by rollback and repair: runs a down function as the migration's
/// transaction mode says, removing its history row on success.
pub(crate) async fn run_down(target: &mut Target, m: &'static Migration) -> Result<Duration> {
    let down = m.down.ok_or_else(|| {
        Error::Refused(format!(
            "migration {} `{}` is irreversible: {}",
            m.version,
            m.name,
            m.irreversible_reason.unwrap_or("no down function")
        ))
    })?;
    let started = Instant::now();
    let history = target.history.clone();
    let (lt, st) = (
        target.options.lock_timeout,
        target.options.statement_timeout,
    );
    target.conn().set_timeouts(lt, st).await?;
    target.db.take_record();
    let fail = |e: Error, state: String| Error::MigrationFailed {
        version: m.version,
        name: m.name.to_string(),
        statement: e.statement().map(str::to_string),
        state,
        source: Box::new(e),
    };
    // Without a transaction, and on MariaDB/MySQL (which commit DDL
    // implicitly, so a down killed or failing halfway may have dropped things
    // already), the down gets a `started` row first, as in apply, and is
    // reported dirty instead of still applied.
    let ddl_auto_commits = target.conn().backend() == crate::url::Backend::MySql;
    let marked = !m.transaction || ddl_auto_commits;
    if marked {
        history
            .set_state(
                target.conn(),
                m.version,
                RowState::Started,
                None,
                Some("rollback started"),
                None,
            )
            .await?;
        failpoint::hit("rollback.after_started_row");
    }
    let result = if m.transaction {
        target.conn().begin().await?;
        target.db.in_transaction = true;
        let body = async {
            down(&mut target.db).await?;
            failpoint::hit("rollback.in_transaction");
            history.delete(target.db.conn(), m.version).await?;
            target.db.conn().commit().await.map_err(Error::from)
        }
        .await;
        target.db.in_transaction = false;
        if body.is_err() {
            let _ = target.conn().rollback().await;
        }
        body
    } else {
        down(&mut target.db).await
    };
    if let Err(e) = result {
        if !marked {
            return Err(fail(
                e,
                "Its down ran in a transaction that was rolled back: the migration is still applied.".into(),
            ));
        }
        let msg = crate::url::redact(&e.to_string());
        let _ = history
            .set_state(
                target.conn(),
                m.version,
                RowState::Failed,
                None,
                Some(&format!("rollback failed: {msg}")),
                e.statement(),
            )
            .await;
        let state = if m.transaction {
            format!(
                "MariaDB/MySQL commit DDL implicitly, so the statements of its down before the failing one may have taken effect: the history row is marked failed (dirty). Check the schema, finish or undo the down by hand, then `cargo migrate repair {} --rolled-back` (or `--applied`).",
                m.version
            )
        } else {
            format!(
                "Its down is not transactional: the history row is marked failed (dirty). Finish or undo the down by hand, then `cargo migrate repair {} --rolled-back` (or `--applied`).",
                m.version
            )
        };
        return Err(fail(e, state));
    }
    if !m.transaction {
        history.delete(target.conn(), m.version).await?;
    }
    Ok(started.elapsed())
}

impl Db {
    pub(crate) fn set_statement_retries(&mut self, n: u32) {
        self.statement_retries = n;
        self.retries_used = 0;
    }

    pub(crate) fn take_statement_retries(&mut self) -> u32 {
        self.statement_retries = 0;
        std::mem::take(&mut self.retries_used)
    }
}

/// What to do about a migration whose history row is marked failed: it
/// committed part of its work, as a non-transactional migration does, or
/// a transactional one on MariaDB/MySQL, which commit DDL implicitly (the
/// only backend where a transactional migration can leave a failed row).
/// `apply` and `status` say the same.
pub fn failed_advice(transactional: bool, reversible: bool, version: u64) -> String {
    let v = crate::display_version(version);
    let why = if transactional {
        "MariaDB/MySQL commit DDL statements implicitly: statements before the failing one may stay applied"
    } else {
        "The migration is not transactional (transaction = false): statements before the failing one stay applied"
    };
    let what = if reversible {
        format!(
            "Run `cargo migrate repair {v} --run-down` to run its down function, or undo its changes by hand and run `cargo migrate repair {v} --rolled-back` (`--applied` if they are in place)."
        )
    } else {
        format!(
            "Undo or finish its changes by hand, then run `cargo migrate repair {v} --rolled-back` (`--applied` if they are in place)."
        )
    };
    format!("{why}, and its history row is marked failed, so the database is dirty. {what}")
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(1), Duration::from_millis(200));
        assert_eq!(backoff(2), Duration::from_millis(400));
        assert_eq!(backoff(30), Duration::from_millis(5000));
    }
}
