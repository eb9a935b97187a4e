//! The staging rehearsal: refresh staging from production, apply the
//! pending migrations there timing each, check each down restores the schema
//! and each up re-applies it, and diff the schema before and after.

use std::time::{Duration, Instant};

use crate::apply::{Applied, ApplyOptions, Event, run_down};
use crate::compare::PlanOptions;
use crate::registry::Registry;
use crate::schema::{Schema, snapshot};
use crate::url::{Backend, DbUrl};
use crate::{Error, Result, Target};

/// Limits of a rehearsal.
#[derive(Debug, Clone)]
pub struct StageOptions {
    /// What may be applied (same rules as production `apply`).
    pub plan: PlanOptions,
    /// Budget for the whole set.
    pub max_duration: Duration,
    /// Budget for each migration.
    pub max_migration_duration: Option<Duration>,
    /// How long the canary may be blocked by one migration (`None`: no canary).
    pub lock_budget: Option<Duration>,
}

/// How staging was refreshed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CloneInfo {
    /// Bytes copied.
    pub bytes: u64,
    /// Time it took, in milliseconds.
    pub duration_ms: u64,
    /// Whether production existed (an empty staging otherwise).
    pub from_production: bool,
}

/// Result of the down/up round trip of one migration.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum RoundTrip {
    /// Down restored the schema and up re-applied it.
    Ok,
    /// Irreversible: no round trip.
    Irreversible {
        /// Why.
        reason: String,
    },
    /// Down or the second up left a different schema.
    Failed {
        /// `down` or `up again`.
        step: String,
        /// Unified diff of expected vs actual.
        diff: String,
    },
    /// Down or the second up returned an error.
    Error {
        /// `down` or `up again`.
        step: String,
        /// The error.
        message: String,
    },
}

/// One rehearsed migration.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rehearsed {
    /// What the first up did.
    #[serde(flatten)]
    pub applied: Applied,
    /// Schema lines added (`+`) and removed (`-`) by this migration.
    pub changes: Vec<String>,
    /// The round trip.
    pub round_trip: RoundTrip,
    /// Over its own budget.
    pub over_budget: bool,
    /// What the canary saw while the first up ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_impact: Option<crate::canary::CanaryReport>,
}

/// Everything a rehearsal measured and decided.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StageReport {
    /// The staging database, redacted.
    pub staging: String,
    /// How staging was refreshed, when it was.
    pub clone: Option<CloneInfo>,
    /// Each pending migration, in order.
    pub migrations: Vec<Rehearsed>,
    /// Time of the first ups, in milliseconds.
    pub total_ms: u64,
    /// The budget, in milliseconds.
    pub max_duration_ms: u64,
    /// Schema before the migrations.
    pub schema_before: Schema,
    /// Schema after them.
    pub schema_after: Schema,
    /// Unified diff before → after.
    pub diff: String,
    /// The contract migration the plan stops before.
    pub held_back: Option<u64>,
    /// Every failed check, one sentence each.
    pub failures: Vec<String>,
}

impl StageReport {
    /// Whether every check passed.
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Refreshes staging from production (SQLite: `VACUUM INTO`).
pub async fn refresh(
    production: &DbUrl,
    staging: &DbUrl,
    connect_timeout: Duration,
) -> Result<CloneInfo> {
    if production.expose() == staging.expose() {
        return Err(Error::Config(
            "the staging url is the production url: staging must be a separate database ([staging] url or STAGING_DATABASE_URL)".into(),
        ));
    }
    if production.backend() != staging.backend() {
        return Err(Error::Config(format!(
            "staging ({}) and production ({}) must use the same backend",
            staging.backend().as_str(),
            production.backend().as_str()
        )));
    }
    let started = Instant::now();
    #[cfg(not(feature = "sqlite"))]
    let _ = connect_timeout;
    match production.backend() {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite => crate::driver::sqlite::clone_into(production, staging, connect_timeout)
            .await
            .map(|(bytes, from)| CloneInfo {
                bytes,
                duration_ms: started.elapsed().as_millis() as u64,
                from_production: from,
            }),
        #[cfg(feature = "postgres")]
        Backend::Postgres => crate::driver::postgres::clone_into(production, staging)
            .await
            .map(|bytes| CloneInfo {
                bytes,
                duration_ms: started.elapsed().as_millis() as u64,
                from_production: true,
            }),
        #[cfg(feature = "mysql")]
        Backend::MySql => crate::driver::mysql::clone_into(production, staging)
            .await
            .map(|bytes| CloneInfo {
                bytes,
                duration_ms: started.elapsed().as_millis() as u64,
                from_production: true,
            }),
        #[allow(unreachable_patterns)]
        other => Err(Error::Config(format!(
            "no staging clone for {} in this build",
            other.as_str()
        ))),
    }
}

impl Target {
    /// Rehearses the pending migrations on this (staging) database, under its lock.
    pub async fn rehearse(
        &mut self,
        registry: &Registry,
        opts: &StageOptions,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<StageReport> {
        let guard = self.lock().await?;
        let result = self.rehearse_locked(registry, opts, on_event).await;
        guard.release().await;
        result
    }

    async fn rehearse_locked(
        &mut self,
        registry: &Registry,
        opts: &StageOptions,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<StageReport> {
        let plan = self.prepare(registry, &opts.plan).await?;
        let history = self.history.clone();
        history.ensure(self.conn()).await?;
        let schema_before = snapshot(self.conn()).await?;
        let apply_opts = ApplyOptions {
            plan: opts.plan.clone(),
            rehearsal_skipped: false,
        };
        let mut migrations = Vec::new();
        let mut failures = Vec::new();
        let mut total = Duration::ZERO;
        let mut current = schema_before.clone();
        for (index, &version) in plan.versions.iter().enumerate() {
            let m = registry.get(version).ok_or_else(|| {
                Error::msg(format!("version {version} is planned but not registered"))
            })?;
            on_event(Event::Started(m));
            let canary = match opts.lock_budget {
                Some(_) => Some(
                    crate::canary::Canary::start(
                        &self.url,
                        current.tables(),
                        Duration::from_millis(20),
                    )
                    .await?,
                ),
                None => None,
            };
            let applied = self.apply_one(m, &apply_opts, on_event).await;
            let lock_impact = match canary {
                Some(c) => Some(c.stop().await),
                None => None,
            };
            let applied = applied?;
            on_event(Event::Finished(&applied));
            total += applied.duration;
            if let (Some(budget), Some(impact)) = (opts.lock_budget, &lock_impact)
                && impact.max_block_ms > budget.as_millis() as u64
            {
                failures.push(format!(
                    "{} {} blocked the application's queries on `{}` for {} on staging, over the lock budget of {} (staging.lock_budget); take the lock for less time (online helpers such as create_index_concurrently, batched backfills)",
                    m.display_version(),
                    m.name,
                    impact.table.as_deref().unwrap_or("?"),
                    crate::human_duration(Duration::from_millis(impact.max_block_ms)),
                    crate::human_duration(budget)
                ));
            }
            let after = snapshot(self.conn()).await?;
            let over_budget = opts
                .max_migration_duration
                .is_some_and(|b| applied.duration > b);
            if let Some(budget) = opts.max_migration_duration.filter(|_| over_budget) {
                failures.push(format!(
                    "{} {} took {} on staging, over its budget of {} (staging.max_migration_duration)",
                    m.display_version(),
                    m.name,
                    crate::human_duration(applied.duration),
                    crate::human_duration(budget)
                ));
            }
            let Trip {
                result: round_trip,
                restored,
                stop,
            } = if m.down.is_none() {
                Trip::clean(RoundTrip::Irreversible {
                    reason: m.irreversible_reason.unwrap_or_default().to_string(),
                })
            } else {
                self.round_trip(m, &current, &after, &apply_opts, on_event)
                    .await
            };
            let restored = if restored {
                "; its up was applied again, so the later migrations are rehearsed on the schema it produces"
            } else {
                ""
            };
            match &round_trip {
                RoundTrip::Failed { step, diff } => failures.push(format!(
                    "{} {}: after its {step} the schema differs from what it should be{restored}:\n{diff}",
                    m.display_version(),
                    m.name
                )),
                RoundTrip::Error { step, message } => failures.push(format!(
                    "{} {}: its {step} failed during the round trip{restored}: {message}",
                    m.display_version(),
                    m.name
                )),
                _ => {}
            }
            migrations.push(Rehearsed {
                changes: current.changes(&after),
                applied,
                round_trip,
                over_budget,
                lock_impact,
            });
            current = after;
            if let Some(reason) = stop {
                let left = plan.versions.len() - index - 1;
                failures.push(format!(
                    "the rehearsal stopped at {} {}: {reason}; {}",
                    m.display_version(),
                    m.name,
                    match left {
                        0 => "it was the last pending migration".to_string(),
                        1 => "1 later migration was not rehearsed".to_string(),
                        n => format!("{n} later migrations were not rehearsed"),
                    }
                ));
                // Staging is not what the first up left: report what it holds.
                current = snapshot(self.conn()).await?;
                break;
            }
        }
        if total > opts.max_duration {
            failures.push(format!(
                "the migrations took {} on staging, over the budget of {} (staging.max_duration)",
                crate::human_duration(total),
                crate::human_duration(opts.max_duration)
            ));
        }
        let diff = schema_before.diff(&current, "before", "after");
        Ok(StageReport {
            staging: self.url.redacted(),
            clone: None,
            migrations,
            total_ms: total.as_millis() as u64,
            max_duration_ms: opts.max_duration.as_millis() as u64,
            schema_before,
            schema_after: current,
            diff,
            held_back: plan.held_back,
            failures,
        })
    }

    /// Down, compare with `before`; up again, compare with `after`. A down
    /// that leaves another schema is followed by the up again all the same,
    /// so staging is back where the first up left it and the later
    /// migrations are rehearsed on the schema they will meet in production;
    /// when staging cannot be brought back there, the trip says to stop.
    async fn round_trip(
        &mut self,
        m: &'static crate::Migration,
        before: &Schema,
        after: &Schema,
        apply_opts: &ApplyOptions,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Trip {
        on_event(Event::RollingBack(m));
        match run_down(self, m).await {
            Ok(duration) => on_event(Event::RolledBack {
                migration: m,
                duration,
            }),
            Err(e) => {
                // A transactional down outside MariaDB/MySQL rolled back: the
                // migration is still applied, and the schema says whether
                // nothing of the down remains.
                let rolled_back =
                    m.transaction && self.conn().backend() != crate::url::Backend::MySql;
                let unchanged = matches!(snapshot(self.conn()).await, Ok(s) if &s == after);
                return Trip {
                    result: RoundTrip::Error {
                        step: "down".into(),
                        message: e.to_string(),
                    },
                    restored: false,
                    stop: (!(rolled_back && unchanged))
                        .then(|| "staging is left as its failed down left it".to_string()),
                };
            }
        }
        let down_schema = match snapshot(self.conn()).await {
            Ok(s) => s,
            Err(e) => {
                return Trip::stopped("down", e, "the schema after its down could not be read");
            }
        };
        if &down_schema != before {
            let failed = RoundTrip::Failed {
                step: "down".into(),
                diff: before.diff(&down_schema, "expected (before up)", "after down"),
            };
            let stop = match self.apply_one(m, apply_opts, on_event).await {
                Err(e) => Some(format!(
                    "applying its up again after the down failed: {e}; staging is left as its down left it"
                )),
                Ok(_) => match snapshot(self.conn()).await {
                    Ok(s) if &s == after => None,
                    Ok(s) => Some(format!(
                        "applying its up again after the down left a different schema than the first up:\n{}",
                        after.diff(&s, "expected (after first up)", "after second up")
                    )),
                    Err(e) => Some(format!(
                        "the schema after applying its up again could not be read: {e}"
                    )),
                },
            };
            return Trip {
                result: failed,
                restored: stop.is_none(),
                stop,
            };
        }
        if let Err(e) = self.apply_one(m, apply_opts, on_event).await {
            return Trip::stopped("up again", e, "staging is left as its down left it");
        }
        match snapshot(self.conn()).await {
            Ok(s) if &s == after => Trip::clean(RoundTrip::Ok),
            Ok(s) => Trip {
                result: RoundTrip::Failed {
                    step: "up again".into(),
                    diff: after.diff(&s, "expected (after first up)", "after second up"),
                },
                restored: false,
                stop: Some("staging is left with the schema of its second up".into()),
            },
            Err(e) => Trip::stopped(
                "up again",
                e,
                "the schema after its second up could not be read",
            ),
        }
    }
}

/// What a round trip found, and where it left staging.
struct Trip {
    result: RoundTrip,
    /// The down did not restore the schema, and the up applied again did.
    restored: bool,
    /// Why staging is not where the first up left it, so the rehearsal must stop.
    stop: Option<String>,
}

impl Trip {
    fn clean(result: RoundTrip) -> Trip {
        Trip {
            result,
            restored: false,
            stop: None,
        }
    }

    fn stopped(step: &str, e: Error, why: &str) -> Trip {
        Trip {
            result: RoundTrip::Error {
                step: step.into(),
                message: e.to_string(),
            },
            restored: false,
            stop: Some(why.into()),
        }
    }
}
