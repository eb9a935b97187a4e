//! `stage`: rehearse the pending migrations on the staging database, check
//! the schema against `schema.<backend>.snapshot` and the application's
//! queries against the new schema, and record the result for `apply`.

use std::path::PathBuf;
use std::time::Duration;

use migrate_core::apply::Event;
use migrate_core::compare::PlanOptions;
use migrate_core::queries::{self, QueryCheck};
use migrate_core::rehearsal::{self, Record};
use migrate_core::schema::{Schema, row_counts};
use migrate_core::stage::{RoundTrip, StageOptions, StageReport, refresh};
use migrate_core::url::DbUrl;
use migrate_core::{Error, Result, display_version, human_duration};
use serde_json::json;

use crate::Context;
use crate::cli::{PhaseArg, Selection, StageArgs};
use crate::output::{Output, Tone};

/// Plan options for a selection (the same rules `apply` uses).
pub(crate) fn plan_options(sel: &Selection) -> PlanOptions {
    PlanOptions {
        to: sel.to,
        contract: sel.phase == PhaseArg::Contract,
        allow_drift: false,
        allow_out_of_order: false,
    }
}

/// The staging URL, required for `stage` and `deploy`.
pub(crate) fn staging_url(ctx: &Context) -> Result<DbUrl> {
    match ctx.config.staging_url() {
        Some(u) => DbUrl::parse(&u),
        None => Err(Error::Config(
            "no staging database: set STAGING_DATABASE_URL or `url` in the [staging] section of Migrate.toml; the rehearsal never runs on production".into(),
        )),
    }
}

/// What the committed schema snapshot said.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub(crate) enum SnapshotCheck {
    /// The schema after the rehearsal equals the file.
    Matches { path: PathBuf },
    /// It differs: the unified diff from the file to the schema.
    Differs { path: PathBuf, diff: String },
    /// No file yet: run `--bless`.
    Missing { path: PathBuf },
    /// `--bless` wrote the file.
    Blessed { path: PathBuf },
    /// Not compared: some migrations stay pending after this rehearsal.
    NotCompared { reason: String },
}

/// A rehearsal with the checks around it.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Rehearsal {
    #[serde(flatten)]
    pub report: StageReport,
    pub queries: Vec<QueryCheck>,
    pub snapshot: SnapshotCheck,
    pub warnings: Vec<String>,
    /// Staging/production row ratio when staging is smaller, for extrapolating durations.
    pub production_scale: Option<f64>,
    /// Lint findings the migrations do not allow, one sentence each.
    pub lint: Vec<String>,
}

impl Rehearsal {
    /// Every failed check, one sentence each.
    pub fn failures(&self) -> Vec<String> {
        let mut f = self.report.failures.clone();
        f.extend(self.lint.iter().cloned());
        for q in self.queries.iter().filter(|q| q.is_break()) {
            f.push(format!(
                "application query in {} no longer prepares after the migrations: {}\n  query: {}",
                q.query.source,
                q.after.as_deref().unwrap_or_default(),
                migrate_core::sql::one_line(&q.query.sql, 160)
            ));
        }
        if let SnapshotCheck::Differs { path, diff } = &self.snapshot {
            f.push(format!(
                "the schema after the migrations differs from {} (review it, then `cargo migrate stage --bless`):\n{diff}",
                path.display()
            ));
        }
        f
    }

    pub fn ok(&self) -> bool {
        self.failures().is_empty()
    }
}

/// The committed snapshot file for this backend, beside Migrate.toml.
fn snapshot_path(ctx: &Context, url: &DbUrl) -> PathBuf {
    ctx.config
        .root
        .join(format!("schema.{}.snapshot", url.backend().as_str()))
}

/// `e`, met on the staging database during a rehearsal: named as such, its
/// suggested commands completed with `--staging`, and "apply again" (the
/// advice for production) told as "stage again".
pub(crate) fn on_staging(e: Error, staging: &DbUrl) -> Error {
    match e.on("staging", staging, Some("--staging")) {
        Error::On {
            role,
            database,
            message,
            source,
        } => Error::On {
            message: message.replace(
                "Fix the migration and run apply again",
                "Fix the migration and run `cargo migrate stage` again",
            ),
            role,
            database,
            source,
        },
        other => other,
    }
}

/// Refreshes staging (when configured), rehearses there, checks queries and
/// the snapshot, and stores the rehearsal record.
pub(crate) async fn rehearse(ctx: &Context, sel: &Selection, bless: bool) -> Result<Rehearsal> {
    let registry = ctx.migrator.registry()?;
    let prod = ctx.database_url()?;
    let staging = staging_url(ctx)?;
    let out = &ctx.out;
    let clone = if ctx.config.staging.clone {
        out.step("refreshing staging from production…");
        Some(refresh(&prod, &staging, ctx.config.apply.connect_timeout).await?)
    } else {
        None
    };
    let app_queries = queries::collect(
        &ctx.config.root,
        &ctx.config.verify.queries,
        staging.backend(),
    )?;
    let mut target = ctx.migrator.connect(&staging, true).await?;
    let result = async {
        let mut warnings = Vec::new();
        let mut production_scale = None;
        if clone.is_none() {
            compare_with_production(ctx, &prod, &mut target, &mut warnings, &mut production_scale).await?;
        }
        let before = queries::prepare_all(target.db().conn_mut(), &app_queries).await;
        let opts = StageOptions {
            plan: plan_options(sel),
            max_duration: ctx.config.staging.max_duration,
            max_migration_duration: ctx.config.staging.max_migration_duration,
            lock_budget: Some(ctx.config.staging.lock_budget),
        };
        let mut on_event = |e: Event<'_>| {
            if let Event::Started(m) = e {
                out.step(format!("rehearsing {} {}", display_version(m.version), m.name));
            }
        };
        let mut report = target
            .rehearse(&registry, &opts, &mut on_event)
            .await
            .map_err(|e| on_staging(e, &staging))?;
        report.clone = clone;
        let after = queries::prepare_all(target.db().conn_mut(), &app_queries).await;
        let queries: Vec<QueryCheck> = app_queries
            .iter()
            .zip(before.into_iter().zip(after))
            .map(|(q, (before, after))| QueryCheck {
                query: q.clone(),
                before,
                after,
            })
            .collect();
        for q in queries.iter().filter(|q| q.before.is_some() && q.after.is_some()) {
            warnings.push(format!(
                "query in {} did not prepare before the migrations either: {}",
                q.query.source,
                q.after.as_deref().unwrap_or_default()
            ));
        }
        let still_pending = target.compare(&registry).await?.pending().count();
        let path = snapshot_path(ctx, &staging);
        let snapshot = if still_pending > 0 {
            SnapshotCheck::NotCompared {
                reason: format!("{still_pending} migration(s) stay pending after this rehearsal"),
            }
        } else if bless {
            std::fs::write(&path, report.schema_after.to_text())?;
            SnapshotCheck::Blessed { path }
        } else {
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    let expected = Schema::from_text(&text);
                    if expected == report.schema_after {
                        SnapshotCheck::Matches { path }
                    } else {
                        let diff = expected.diff(&report.schema_after, &path.display().to_string(), "schema after the migrations");
                        SnapshotCheck::Differs { path, diff }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => SnapshotCheck::Missing { path },
                Err(e) => return Err(e.into()),
            }
        };
        let applied: Vec<_> = report.migrations.iter().map(|m| m.applied.clone()).collect();
        let lint = crate::commands::plan::lint_with_schema(
            ctx,
            staging.backend(),
            &applied,
            Some(&report.schema_before),
        )?;
        let rehearsal = Rehearsal {
            report,
            queries,
            snapshot,
            warnings,
            production_scale,
            lint: crate::commands::plan::finding_lines(&applied, &lint),
        };
        let record = Record {
            created_at: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            production: prod.redacted(),
            migrations: rehearsal
                .report
                .migrations
                .iter()
                .map(|m| {
                    let sum = registry.get(m.applied.version).map(|r| r.checksum.to_string()).unwrap_or_default();
                    (m.applied.version, sum)
                })
                .collect(),
            passed: rehearsal.ok(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            report: json!({ "failures": rehearsal.failures(), "total_ms": rehearsal.report.total_ms }),
            applied_after: target.finished().await?,
            schema_before: Some(rehearsal.report.schema_before.to_text()),
            schema_after: Some(rehearsal.report.schema_after.to_text()),
        };
        rehearsal::store(target.db().conn_mut(), &record).await?;
        Ok(rehearsal)
    }
    .await;
    target.close().await;
    result
}

/// Without a clone: warns when staging is not representative of production
/// (a table missing or with fewer than half the rows) and computes the scale
/// used to extrapolate durations.
async fn compare_with_production(
    ctx: &Context,
    prod: &DbUrl,
    staging: &mut migrate_core::Target,
    warnings: &mut Vec<String>,
    scale: &mut Option<f64>,
) -> Result<()> {
    if prod.sqlite_path().is_some_and(|p| !p.exists()) {
        return Ok(());
    }
    let mut p = ctx.migrator.connect(prod, false).await?;
    let prod_rows = row_counts(p.db().conn_mut()).await;
    p.close().await;
    let prod_rows = prod_rows?;
    let staging_rows = row_counts(staging.db().conn_mut()).await?;
    let (mut total_prod, mut total_staging) = (0i64, 0i64);
    for (table, n) in &prod_rows {
        total_prod += n;
        match staging_rows.iter().find(|(t, _)| t == table) {
            None => warnings.push(format!("staging has no table `{table}` (production has it with {n} rows): staging is not representative")),
            Some((_, s)) => {
                total_staging += s;
                if *n > 0 && (*s as f64) < 0.5 * (*n as f64) {
                    warnings.push(format!(
                        "staging has {s} rows in `{table}`, production {n}: below 50 %, durations on staging understate production"
                    ));
                }
            }
        }
    }
    if total_staging > 0 && total_prod > total_staging {
        *scale = Some(total_prod as f64 / total_staging as f64);
    }
    Ok(())
}

/// Prints the human form of a rehearsal.
pub(crate) fn print(out: &Output, r: &Rehearsal) {
    let head = out.paint("stage", Tone::Bold);
    let rep = &r.report;
    match &rep.clone {
        Some(c) if c.from_production => out.line(format!(
            "{head}     staging refreshed from production ({}, {})",
            crate::commands::backup::human_bytes(c.bytes),
            human_duration(Duration::from_millis(c.duration_ms))
        )),
        Some(_) => out.line(format!(
            "{head}     production has no database yet: staging starts empty"
        )),
        None => out.line(format!(
            "{head}     on {} (not refreshed: staging.clone = false)",
            rep.staging
        )),
    }
    if rep.migrations.is_empty() {
        out.line("          nothing pending to rehearse");
    }
    for m in &rep.migrations {
        let trip = match &m.round_trip {
            RoundTrip::Ok => out.paint("round trip ok", Tone::Good),
            RoundTrip::Irreversible { .. } => out.paint("irreversible: no round trip", Tone::Dim),
            RoundTrip::Failed { step, .. } => {
                out.paint(&format!("round trip FAILED after {step}"), Tone::Bad)
            }
            RoundTrip::Error { step, .. } => {
                out.paint(&format!("round trip FAILED: {step} errored"), Tone::Bad)
            }
        };
        let impact = m
            .lock_impact
            .as_ref()
            .map(|c| {
                format!(
                    "lock impact {}   ",
                    human_duration(Duration::from_millis(c.max_block_ms))
                )
            })
            .unwrap_or_default();
        out.line(format!(
            "          {}  {:<28} {:>8}   {impact}{trip}{}",
            display_version(m.applied.version),
            m.applied.name,
            human_duration(m.applied.duration),
            if m.over_budget {
                out.paint("   over budget", Tone::Bad)
            } else {
                String::new()
            }
        ));
    }
    if !rep.migrations.is_empty() {
        let changes = rep.schema_before.changes(&rep.schema_after);
        let total = Duration::from_millis(rep.total_ms);
        out.line(format!(
            "          took {} of the {} budget{}; schema: {} line{} changed",
            human_duration(total),
            human_duration(Duration::from_millis(rep.max_duration_ms)),
            r.production_scale
                .map(|s| format!(
                    " (≈ {} on production, {s:.1}× the rows)",
                    human_duration(total.mul_f64(s))
                ))
                .unwrap_or_default(),
            changes.len(),
            if changes.len() == 1 { "" } else { "s" },
        ));
        for c in changes.iter().take(20) {
            out.line(format!("            {c}"));
        }
        if changes.len() > 20 {
            out.line(format!(
                "            … {} more (see --format json)",
                changes.len() - 20
            ));
        }
    }
    if !r.queries.is_empty() {
        let broken = r.queries.iter().filter(|q| q.after.is_some()).count();
        let mut by_source: std::collections::BTreeMap<&str, usize> =
            std::collections::BTreeMap::new();
        for q in &r.queries {
            *by_source
                .entry(q.query.source.split('/').next().unwrap_or(""))
                .or_default() += 1;
        }
        out.line(format!(
            "          {} application queries {} ({})",
            r.queries.len(),
            if broken == 0 { "prepare" } else { "checked" },
            by_source
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    match &r.snapshot {
        SnapshotCheck::Matches { path } => out.line(format!("          schema matches {}", path.display())),
        SnapshotCheck::Blessed { path } => out.line(format!("          schema written to {} (commit it)", path.display())),
        SnapshotCheck::Missing { path } => out.line(format!(
            "          no {} yet: review the schema above, then `cargo migrate stage --bless` and commit the file",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("schema snapshot")
        )),
        SnapshotCheck::NotCompared { reason } => out.line(format!("          schema snapshot not compared: {reason}")),
        SnapshotCheck::Differs { .. } => {}
    }
    for w in &r.warnings {
        out.line(format!("{} {w}", out.paint("warning:", Tone::Warn)));
    }
    for f in r.failures() {
        out.line(format!("{} {f}", out.paint("failed:", Tone::Bad)));
    }
}

pub async fn run(ctx: &Context, args: &StageArgs) -> Result<u8> {
    let r = rehearse(ctx, &args.selection, args.bless).await?;
    let ok = r.ok();
    let code = if ok { 0 } else { 1 };
    if ctx.out.json() {
        ctx.out.document(
            &json!({ "ok": ok, "stage": r, "failures": r.failures(), "exit_code": code }),
        );
    } else {
        print(&ctx.out, &r);
        if ok {
            ctx.out.line(format!(
                "rehearsal passed: {} migration(s) ready for production; recorded for `apply`.",
                r.report.migrations.len()
            ));
        } else {
            ctx.out.line(
                "rehearsal failed: fix the migrations above before applying them to production.",
            );
        }
    }
    Ok(code)
}
