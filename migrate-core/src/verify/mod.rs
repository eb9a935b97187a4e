//! Health checks against a database after a change, each with a threshold
//! and a number in the report: the schema is readable (no INVALID index) and
//! equals the rehearsal's; the history is consistent; the application's
//! queries still prepare; probe queries stay within `latency_regression` × the
//! baseline taken before the change; the app's Prometheus metrics (error
//! rate, latency) stay within limits; no session queues on a lock;
//! `pg_stat_statements` means do not regress; every `#[health_check]`
//! passes; the team's shell command exits 0. A check can be disabled only with
//! a reason, which every report shows.

pub mod command;
#[cfg(feature = "metrics")]
pub mod metrics;
pub mod probes;
mod report;
pub mod server;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::compare::State;
use crate::migration::HealthCheck;
use crate::queries::AppQuery;
use crate::registry::Registry;
use crate::schema::Schema;
use crate::{Error, Result, Target};

pub use report::{Check, VerifyReport};
use report::{skipped, timed};

use probes::ProbeStats;
use server::StatementMean;

/// Names of the checks `verify.disable` may name, besides `health:<fn name>`.
pub const CHECKS: &[&str] = &[
    "schema",
    "history",
    "rehearsal",
    "queries",
    "probes",
    "metrics",
    "lock_waiters",
    "pg_stat_statements",
    "command",
];

/// How many of the busiest statements `pg_stat_statements` compares.
const TOP_STATEMENTS: usize = 5;

/// What to check and against which limits.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Disabled checks, each with its reason.
    pub disabled: BTreeMap<String, String>,
    /// The schema the live database must have, and where it comes from
    /// (e.g. the rehearsal of this deploy); or why there is none, shown when
    /// the `rehearsal` check is skipped.
    pub expected_schema: std::result::Result<(Schema, String), String>,
    /// Application queries that must still prepare (never executed).
    pub queries: Vec<AppQuery>,
    /// Read-only probe statements, executed and timed.
    pub probes: Vec<String>,
    /// How long probes (and metrics) are watched.
    pub window: Duration,
    /// How many times slower than the baseline a probe or statement may get.
    pub latency_regression: f64,
    /// Latency increases smaller than this never count.
    pub latency_floor: Duration,
    /// Most sessions allowed to wait on a lock after the change.
    pub lock_waiters_max: i64,
    /// The application's metrics endpoint, with its limits.
    #[cfg(feature = "metrics")]
    pub metrics: Option<MetricsCheck>,
    /// The team's shell check.
    pub command: Option<CommandCheck>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            disabled: BTreeMap::new(),
            expected_schema: Err("no rehearsal schema to compare with".into()),
            queries: Vec::new(),
            probes: Vec::new(),
            window: Duration::from_secs(30),
            latency_regression: 2.0,
            latency_floor: Duration::from_millis(1),
            lock_waiters_max: 0,
            #[cfg(feature = "metrics")]
            metrics: None,
            command: None,
        }
    }
}

/// `verify.command`.
#[derive(Debug, Clone)]
pub struct CommandCheck {
    /// Run with `sh -c`.
    pub command: String,
    /// Working directory (the folder of `Migrate.toml`).
    pub dir: PathBuf,
    /// Killed after this long.
    pub timeout: Duration,
}

/// `verify.metrics_url` with its metric names and limits.
#[cfg(feature = "metrics")]
#[derive(Debug, Clone)]
pub struct MetricsCheck {
    /// Where and what to read.
    pub endpoint: metrics::MetricsConfig,
    /// The limits after the change.
    pub thresholds: metrics::Thresholds,
}

/// Measurements taken before the change, for the comparisons after it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Baseline {
    /// Probe latencies.
    pub probes: Vec<ProbeStats>,
    /// The application's metrics over the window.
    #[cfg(feature = "metrics")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<metrics::WindowStats>,
    /// Why the metrics could not be read, when they could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_error: Option<String>,
    /// `pg_stat_statements` means over the window, when available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statements: Option<Vec<StatementMean>>,
    /// How long the baseline took, in milliseconds.
    pub duration_ms: u64,
}

/// One window's readings (probes, metrics, statement means).
struct Window {
    probes: Result<Vec<ProbeStats>>,
    #[cfg(feature = "metrics")]
    metrics: Option<std::result::Result<metrics::WindowStats, String>>,
    statements: std::result::Result<Vec<StatementMean>, String>,
}

impl Target {
    /// Measures the probes, the application's metrics and the statement
    /// means over `opts.window`, before a change.
    pub async fn baseline(&mut self, opts: &VerifyOptions) -> Result<Baseline> {
        let started = Instant::now();
        opts.validate(&HealthCheck::registered())?;
        self.bound_waits().await?;
        let w = self.watch(opts).await;
        Ok(Baseline {
            probes: w.probes?,
            #[cfg(feature = "metrics")]
            metrics: w.metrics.as_ref().and_then(|m| m.as_ref().ok().cloned()),
            #[cfg(feature = "metrics")]
            metrics_error: w.metrics.and_then(|m| m.err()),
            #[cfg(not(feature = "metrics"))]
            metrics_error: None,
            statements: w.statements.ok(),
            duration_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// Watches one window: probes on this connection while the metrics
    /// endpoint is scraped at its start and end, and `pg_stat_statements`
    /// read on both sides.
    async fn watch(&mut self, opts: &VerifyOptions) -> Window {
        let want = |name: &str| !opts.disabled.contains_key(name);
        let statements_start = if want("pg_stat_statements") {
            server::statements(self.conn()).await
        } else {
            Err("disabled".into())
        };
        let window = opts.window;
        let probe_list: Vec<String> = if want("probes") {
            opts.probes.clone()
        } else {
            Vec::new()
        };
        let probes_fut = async {
            if probe_list.is_empty() {
                Ok(Vec::new())
            } else {
                probes::measure(self.db.conn(), &probe_list, window).await
            }
        };
        #[cfg(feature = "metrics")]
        let metrics_fut = async {
            match &opts.metrics {
                Some(m) if want("metrics") => Some(
                    metrics::measure(&m.endpoint, window)
                        .await
                        .map_err(|e| e.to_string()),
                ),
                _ => None,
            }
        };
        #[cfg(feature = "metrics")]
        let (probes, metrics) = tokio::join!(probes_fut, metrics_fut);
        #[cfg(not(feature = "metrics"))]
        let probes = probes_fut.await;
        let statements = match statements_start {
            Ok(start) => server::statements(self.conn())
                .await
                .map(|end| server::window_means(&start, &end, TOP_STATEMENTS)),
            Err(e) => Err(e),
        };
        Window {
            probes,
            #[cfg(feature = "metrics")]
            metrics,
            statements,
        }
    }

    /// Runs the checks; comparisons with `baseline` when there is one.
    pub async fn verify(
        &mut self,
        registry: &Registry,
        health: &[&'static HealthCheck],
        opts: &VerifyOptions,
        baseline: Option<&Baseline>,
    ) -> Result<VerifyReport> {
        opts.validate(health)?;
        self.bound_waits().await?;
        let disabled = &opts.disabled;
        let mut checks = Vec::new();
        let skip = |name: &str| {
            disabled.get(name).map(|reason| Check {
                name: name.to_string(),
                ok: true,
                detail: format!("disabled: {reason}"),
                disabled: Some(reason.clone()),
                skipped: None,
                data: None,
                duration_ms: 0,
            })
        };

        let live = if let Some(c) = skip("schema") {
            checks.push(c);
            None
        } else {
            let t = Instant::now();
            match crate::schema::snapshot(self.conn()).await {
                Ok(s) => {
                    let invalid = s.invalid_indexes();
                    checks.push(if invalid.is_empty() {
                        timed("schema", t, true, format!("readable: {} tables", s.tables().len()))
                    } else {
                        timed(
                            "schema",
                            t,
                            false,
                            format!(
                                "{} INVALID index(es) left by a failed CREATE INDEX CONCURRENTLY: {}; drop them (DROP INDEX CONCURRENTLY) and create them again",
                                invalid.len(),
                                invalid.join("; ")
                            ),
                        )
                    });
                    Some(s)
                }
                Err(e) => {
                    checks.push(timed("schema", t, false, e.to_string()));
                    None
                }
            }
        };

        if let Some(c) = skip("history") {
            checks.push(c);
        } else {
            let t = Instant::now();
            let cmp = self.compare(registry).await?;
            let mut problems = Vec::new();
            for e in &cmp.entries {
                match &e.state {
                    State::Dirty { row_state } => problems.push(format!(
                        "{} {} is {}",
                        e.version,
                        e.name,
                        row_state.as_str()
                    )),
                    State::Drifted { .. } => {
                        problems.push(format!("{} {} drifted", e.version, e.name))
                    }
                    _ => {}
                }
            }
            let applied = cmp.applied().count();
            checks.push(if problems.is_empty() {
                timed("history", t, true, format!("consistent: {applied} applied"))
            } else {
                timed("history", t, false, problems.join("; "))
            });
        }

        checks.push(match (skip("rehearsal"), &opts.expected_schema, &live) {
            (Some(c), _, _) => c,
            (None, Err(why), _) => skipped("rehearsal", why),
            (None, Ok(_), None) => skipped("rehearsal", "the live schema could not be read"),
            (None, Ok((expected, source)), Some(live)) => {
                let t = Instant::now();
                let diff = expected.diff(live, source, "live");
                if diff.is_empty() {
                    timed("rehearsal", t, true, format!("live schema equals {source}"))
                } else {
                    let shown: Vec<&str> = diff.lines().take(24).collect();
                    timed(
                        "rehearsal",
                        t,
                        false,
                        format!(
                            "the live schema differs from {source} (someone changed production during the deploy, or the migration behaves differently there):\n{}",
                            shown.join("\n")
                        ),
                    )
                }
            }
        });

        if let Some(c) = skip("queries") {
            checks.push(c);
        } else if opts.queries.is_empty() {
            checks.push(skipped(
                "queries",
                "no application queries found (verify.queries)",
            ));
        } else {
            let t = Instant::now();
            let results = crate::queries::prepare_all(self.conn(), &opts.queries).await;
            let broken: Vec<String> = opts
                .queries
                .iter()
                .zip(&results)
                .filter_map(|(q, e)| e.as_ref().map(|e| format!("{}: {e}", q.source)))
                .collect();
            checks.push(if broken.is_empty() {
                timed(
                    "queries",
                    t,
                    true,
                    format!("{} application queries prepare", results.len()),
                )
            } else {
                timed(
                    "queries",
                    t,
                    false,
                    format!(
                        "{} of {} application queries no longer prepare: {}",
                        broken.len(),
                        results.len(),
                        broken.join("; ")
                    ),
                )
            });
        }

        // The watched window: probes, metrics, statement means.
        let t = Instant::now();
        let w = self.watch(opts).await;
        if let Some(c) = skip("probes") {
            checks.push(c);
        } else if !opts.probes.is_empty() {
            match &w.probes {
                Err(e) => checks.push(timed("probes", t, false, e.to_string())),
                Ok(after) => {
                    for (i, a) in after.iter().enumerate() {
                        let name = format!("probe:{}", i + 1);
                        let sql = crate::sql::one_line(&a.sql, 60);
                        let before =
                            baseline.and_then(|b| b.probes.iter().find(|p| p.sql == a.sql));
                        let data = serde_json::json!({ "sql": a.sql, "before": before, "after": a, "limit": opts.latency_regression });
                        let check = match (before, &a.error) {
                            (_, Some(e)) => timed(&name, t, false, format!("{sql}: failed: {e}")),
                            (Some(b), None) if b.error.is_none() => {
                                let (ok, detail) = probes::compare(b, a, opts.latency_regression, opts.latency_floor);
                                timed(&name, t, ok, format!("{sql}: {detail}"))
                            }
                            (b, None) => timed(
                                &name,
                                t,
                                true,
                                format!(
                                    "{sql}: p50 {}, p95 {} over {} runs ({})",
                                    probes::ms(a.p50_ms),
                                    probes::ms(a.p95_ms),
                                    a.runs,
                                    match b.and_then(|b| b.error.as_deref()) {
                                        Some(e) => format!("it failed before the change, so there is no baseline: {e}"),
                                        None => "no baseline to compare with: deploy takes one before applying".to_string(),
                                    }
                                ),
                            ),
                        };
                        checks.push(check.with_data(data));
                    }
                }
            }
        }

        #[cfg(feature = "metrics")]
        if let Some(c) = skip("metrics") {
            checks.push(c);
        } else if let Some(m) = &opts.metrics {
            checks.push(match &w.metrics {
                None => skipped("metrics", "not measured"),
                Some(Err(e)) => timed("metrics", t, false, e.clone()),
                Some(Ok(after)) => {
                    let before = baseline.and_then(|b| b.metrics.as_ref());
                    // Without a baseline only the absolute limits can hold.
                    let v = metrics::compare(before.unwrap_or(after), after, &m.thresholds);
                    let detail = if before.is_some() {
                        v.detail
                    } else {
                        format!("{} (no baseline: absolute limits only)", v.detail)
                    };
                    timed("metrics", t, v.ok, detail)
                        .with_data(serde_json::json!({ "before": before, "after": after }))
                }
            });
        }

        if let Some(c) = skip("lock_waiters") {
            checks.push(c);
        } else {
            let t = Instant::now();
            match server::lock_waiters(self.conn()).await {
                None => {}
                Some(Err(e)) => checks.push(skipped(
                    "lock_waiters",
                    format!("cannot read the sessions: {e}"),
                )),
                Some(Ok(n)) => checks.push(
                    timed(
                        "lock_waiters",
                        t,
                        n <= opts.lock_waiters_max,
                        format!(
                            "{n} session(s) waiting on a lock (max {})",
                            opts.lock_waiters_max
                        ),
                    )
                    .with_data(serde_json::json!({ "waiting": n })),
                ),
            }
        }

        if let Some(c) = skip("pg_stat_statements") {
            checks.push(c);
        } else if self.url.backend() == crate::url::Backend::Postgres {
            checks.push(
                match (&w.statements, baseline.and_then(|b| b.statements.as_ref())) {
                    (Err(e), _) => skipped("pg_stat_statements", e.clone()),
                    (Ok(_), None) => skipped("pg_stat_statements", "no baseline to compare with"),
                    (Ok(after), Some(before)) => {
                        let floor_ms = opts.latency_floor.as_secs_f64() * 1e3;
                        let mut worse = Vec::new();
                        let mut compared = 0;
                        for b in before {
                            if let Some(a) = after.iter().find(|a| a.query == b.query) {
                                compared += 1;
                                if a.mean_ms > b.mean_ms * opts.latency_regression
                                    && a.mean_ms - b.mean_ms > floor_ms
                                {
                                    worse.push(format!(
                                        "`{}` {} → {}",
                                        crate::sql::one_line(&a.query, 60),
                                        probes::ms(b.mean_ms),
                                        probes::ms(a.mean_ms)
                                    ));
                                }
                            }
                        }
                        let detail = if worse.is_empty() {
                            format!(
                                "{compared} busiest statements within ×{}",
                                opts.latency_regression
                            )
                        } else {
                            format!("mean time regressed: {}", worse.join("; "))
                        };
                        timed("pg_stat_statements", t, worse.is_empty(), detail)
                            .with_data(serde_json::json!({ "before": before, "after": after }))
                    }
                },
            );
        }

        for h in health {
            let name = format!("health:{}", h.name);
            if let Some(c) = skip(&name) {
                checks.push(c);
                continue;
            }
            let t = Instant::now();
            checks.push(match self.run_health_check(h).await {
                Ok(()) => timed(name, t, true, "passed"),
                Err(e) => timed(name, t, false, crate::url::redact(&e.to_string())),
            });
        }

        if let Some(c) = skip("command") {
            checks.push(c);
        } else if let Some(cmd) = &opts.command {
            let t = Instant::now();
            let (ok, detail) =
                command::run(&cmd.command, &cmd.dir, self.url.expose(), cmd.timeout).await;
            checks.push(timed("command", t, ok, detail));
        }

        for c in &checks {
            if c.ok {
                tracing::info!(target: "migrate::verify", check = %c.name, duration_ms = c.duration_ms, detail = %c.detail, "check passed");
            } else {
                tracing::warn!(target: "migrate::verify", check = %c.name, duration_ms = c.duration_ms, detail = %c.detail, "check failed");
            }
        }
        Ok(VerifyReport { checks })
    }

    /// A check never queues behind a lock for longer than `lock_timeout`:
    /// production that is locked up fails the check instead of hanging it.
    async fn bound_waits(&mut self) -> Result<()> {
        let (lt, st) = (self.options.lock_timeout, self.options.statement_timeout);
        self.conn().set_timeouts(lt, st).await?;
        Ok(())
    }

    /// Runs a health check inside a transaction that is always rolled back,
    /// so a check can never change production. Bounded to 60 s.
    async fn run_health_check(&mut self, h: &'static HealthCheck) -> Result<()> {
        self.conn().begin_read().await?;
        let result =
            match tokio::time::timeout(Duration::from_secs(60), (h.run)(&mut self.db)).await {
                Ok(r) => r,
                Err(_) => Err(crate::Error::msg("did not finish within 60 s")),
            };
        let _ = self.conn().rollback().await;
        self.db.take_record();
        result
    }
}

impl VerifyOptions {
    /// Refuses what cannot be checked: a probe that is not a single
    /// read-only query, a name in `verify.disable` that matches no check
    /// (`health` are the registered health checks). Run it before changing
    /// anything.
    pub fn validate(&self, health: &[&'static HealthCheck]) -> Result<()> {
        for p in &self.probes {
            probes::validate(p)?;
        }
        check_names(&self.disabled, health)
    }
}

/// Refuses names in `verify.disable` that match no check, with the valid ones.
fn check_names(disabled: &BTreeMap<String, String>, health: &[&'static HealthCheck]) -> Result<()> {
    let health_names: Vec<String> = health
        .iter()
        .map(|h| format!("health:{}", h.name))
        .collect();
    for name in disabled.keys() {
        if !CHECKS.contains(&name.as_str()) && !health_names.contains(name) {
            let mut valid: Vec<String> = CHECKS.iter().map(|s| s.to_string()).collect();
            valid.extend(health_names.iter().cloned());
            return Err(Error::Config(format!(
                "verify.disable names `{name}`, which is not a check. The checks are: {}. Fix the name in [verify.disable] of Migrate.toml.",
                valid.join(", ")
            )));
        }
    }
    Ok(())
}
