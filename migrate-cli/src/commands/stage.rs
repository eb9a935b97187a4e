//! `stage`: rehearse the pending migrations on the staging database.

use std::time::Duration;

use migrate_core::apply::Event;
use migrate_core::compare::PlanOptions;
use migrate_core::stage::{RoundTrip, StageOptions, StageReport, refresh};
use migrate_core::url::DbUrl;
use migrate_core::{Error, Result, display_version, human_duration};
use serde_json::json;

use crate::Context;
use crate::cli::{PhaseArg, Selection};
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

/// Refreshes staging (when configured) and rehearses there.
pub(crate) async fn rehearse(ctx: &Context, sel: &Selection) -> Result<StageReport> {
    let registry = ctx.migrator.registry()?;
    let prod = ctx.database_url()?;
    let staging = staging_url(ctx)?;
    let out = &ctx.out;
    let clone = if ctx.config.staging.clone {
        out.progress(out.paint_err("  refreshing staging from production…", Tone::Dim));
        Some(refresh(&prod, &staging, ctx.config.apply.connect_timeout).await?)
    } else {
        None
    };
    let mut target = ctx.migrator.connect(&staging, true).await?;
    let opts = StageOptions {
        plan: plan_options(sel),
        max_duration: ctx.config.staging.max_duration,
        max_migration_duration: ctx.config.staging.max_migration_duration,
    };
    let mut on_event = |e: Event<'_>| {
        if let Event::Started(m) = e {
            out.progress(out.paint_err(&format!("  rehearsing {} {}", display_version(m.version), m.name), Tone::Dim));
        }
    };
    let result = target.rehearse(&registry, &opts, &mut on_event).await;
    target.close().await;
    let mut report = result?;
    report.clone = clone;
    Ok(report)
}

/// Prints the human form of a rehearsal.
pub(crate) fn print(out: &Output, r: &StageReport) {
    let head = out.paint("stage", Tone::Bold);
    match &r.clone {
        Some(c) if c.from_production => out.line(format!(
            "{head}     staging refreshed from production ({}, {})",
            crate::commands::backup::human_bytes(c.bytes),
            human_duration(Duration::from_millis(c.duration_ms))
        )),
        Some(_) => out.line(format!("{head}     production has no database yet: staging starts empty")),
        None => out.line(format!("{head}     on {} (not refreshed: staging.clone = false)", r.staging)),
    }
    if r.migrations.is_empty() {
        out.line("          nothing pending to rehearse");
    }
    for m in &r.migrations {
        let trip = match &m.round_trip {
            RoundTrip::Ok => out.paint("round trip ok", Tone::Good),
            RoundTrip::Irreversible { .. } => out.paint("irreversible: no round trip", Tone::Dim),
            RoundTrip::Failed { step, .. } => out.paint(&format!("round trip FAILED after {step}"), Tone::Bad),
            RoundTrip::Error { step, .. } => out.paint(&format!("round trip FAILED: {step} errored"), Tone::Bad),
        };
        out.line(format!(
            "          {}  {:<28} {:>8}   {trip}{}",
            display_version(m.applied.version),
            m.applied.name,
            human_duration(m.applied.duration),
            if m.over_budget { out.paint("   over budget", Tone::Bad) } else { String::new() }
        ));
    }
    if !r.migrations.is_empty() {
        let changes: Vec<String> = r.schema_before.changes(&r.schema_after);
        out.line(format!(
            "          schema: {} line{} changed; total {} of {} budget",
            changes.len(),
            if changes.len() == 1 { "" } else { "s" },
            human_duration(Duration::from_millis(r.total_ms)),
            human_duration(Duration::from_millis(r.max_duration_ms))
        ));
        for c in changes.iter().take(20) {
            out.line(format!("            {c}"));
        }
        if changes.len() > 20 {
            out.line(format!("            … {} more (see --format json)", changes.len() - 20));
        }
    }
    for f in &r.failures {
        out.line(format!("{} {f}", out.paint("failed:", Tone::Bad)));
    }
}

pub async fn run(ctx: &Context, sel: &Selection) -> Result<u8> {
    let report = rehearse(ctx, sel).await?;
    let code = if report.ok() { 0 } else { 1 };
    if ctx.out.json() {
        ctx.out.document(&json!({ "ok": report.ok(), "stage": report, "exit_code": code }));
    } else {
        print(&ctx.out, &report);
        if report.ok() {
            ctx.out.line(format!("rehearsal passed: {} migration(s) ready for production.", report.migrations.len()));
        } else {
            ctx.out.line("rehearsal failed: fix the migrations above before applying them to production.");
        }
    }
    Ok(code)
}
