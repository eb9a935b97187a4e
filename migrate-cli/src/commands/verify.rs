//! `verify`: health checks against the database, and the options every
//! verification (here and in `deploy`) is built from.

use migrate_core::rehearsal;
use migrate_core::schema::Schema;
use migrate_core::url::{Backend, DbUrl};
use migrate_core::verify::{Baseline, CommandCheck, VerifyOptions, VerifyReport};
use migrate_core::{HealthCheck, Result, Target, queries};
use serde_json::json;

use crate::Context;
use crate::output::{Output, Tone};

/// The checks and limits of `[verify]` for a database of `backend`, checked
/// (probes read-only, disabled names real) before anything runs.
pub(crate) fn options(ctx: &Context, backend: Backend) -> Result<VerifyOptions> {
    let v = &ctx.config.verify;
    let queries = queries::collect(&ctx.config.root, &v.queries, backend)?;
    let opts = VerifyOptions {
        disabled: v.disable.clone(),
        expected_schema: Err("no rehearsal schema to compare with".into()),
        queries,
        probes: v.probes.clone(),
        window: v.window,
        latency_regression: v.latency_regression,
        latency_floor: v.latency_floor,
        lock_waiters_max: v.lock_waiters_max as i64,
        metrics: crate::commands::metrics::check(ctx)?,
        command: v.command.as_ref().map(|c| CommandCheck {
            command: c.clone(),
            dir: ctx.config.root.clone(),
            timeout: v.command_timeout,
        }),
    };
    opts.validate(&HealthCheck::registered())?;
    Ok(opts)
}

/// Runs the checks on a connected target.
pub(crate) async fn checks(
    ctx: &Context,
    target: &mut Target,
    opts: &VerifyOptions,
    baseline: Option<&Baseline>,
) -> Result<VerifyReport> {
    let registry = ctx.migrator.registry()?;
    if !ctx.out.json() {
        ctx.out.step(format!(
            "verifying (watching for {})…",
            migrate_core::human_duration(opts.window)
        ));
    }
    target
        .verify(&registry, &HealthCheck::registered(), opts, baseline)
        .await
}

/// Prints a verification, one line per check.
pub(crate) fn print(out: &Output, r: &VerifyReport) {
    let head = out.paint("verify", Tone::Bold);
    let width = r
        .checks
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0)
        .max(12);
    for (i, c) in r.checks.iter().enumerate() {
        let mark = match (&c.disabled, &c.skipped, c.ok) {
            (Some(_), _, _) => out.paint("off ", Tone::Warn),
            (None, Some(_), _) => out.paint("skip", Tone::Dim),
            (None, None, true) => out.paint("ok  ", Tone::Good),
            (None, None, false) => out.paint("FAIL", Tone::Bad),
        };
        let label = if i == 0 { head.clone() } else { " ".repeat(6) };
        let mut lines = c.detail.lines();
        out.line(format!(
            "{label}    {mark} {:<width$} {}",
            c.name,
            lines.next().unwrap_or_default()
        ));
        for more in lines {
            out.line(format!("{:>w$}{more}", "", w = width + 16));
        }
    }
}

/// The schema the latest rehearsal for `production` says it should have now:
/// read from the staging database's rehearsal records. Never fails the
/// verification by itself: without staging, a record or a matching applied
/// set, the reason is shown on the skipped `rehearsal` check.
async fn rehearsed_schema(
    ctx: &Context,
    production: &DbUrl,
    target: &mut Target,
) -> std::result::Result<(Schema, String), String> {
    let Some(staging) = ctx.config.staging_url() else {
        return Err("no staging database configured ([staging] url or STAGING_DATABASE_URL), so no rehearsal to compare with".into());
    };
    let unreadable = |e: migrate_core::Error| {
        format!(
            "the rehearsal records on staging could not be read: {}",
            migrate_core::url::redact(&e.to_string())
        )
    };
    let staging = DbUrl::parse(&staging).map_err(unreadable)?;
    let mut st = ctx.migrator.connect(&staging, false).await.map_err(|e| {
        let first = e.to_string();
        format!(
            "staging ({}) could not be opened, so there is no rehearsal to compare with ({}); run `cargo migrate stage` before applying",
            staging.redacted(),
            migrate_core::url::redact(first.lines().next().unwrap_or_default())
        )
    })?;
    let record = rehearsal::latest(st.db().conn_mut(), &production.redacted()).await;
    st.close().await;
    let Some(record) = record.map_err(unreadable)? else {
        return Err(format!(
            "staging holds no rehearsal for {}; run `cargo migrate stage` before applying",
            production.redacted()
        ));
    };
    let applied = target.finished().await.map_err(unreadable)?;
    record.expected_schema(&applied)
}

pub async fn run(ctx: &Context) -> Result<u8> {
    let url = ctx.database_url()?;
    let mut target = ctx.migrator.connect(&url, false).await?;
    let result = async {
        let mut opts = options(ctx, url.backend())?;
        if !opts.disabled.contains_key("rehearsal") {
            opts.expected_schema = rehearsed_schema(ctx, &url, &mut target).await;
        }
        checks(ctx, &mut target, &opts, None).await
    }
    .await;
    target.close().await;
    let report = result?;
    let code = if report.ok() { 0 } else { 1 };
    if ctx.out.json() {
        ctx.out.document(&json!({ "ok": report.ok(), "database": url.redacted(), "verify": report, "exit_code": code }));
    } else {
        print(&ctx.out, &report);
        let failed: Vec<_> = report.failed().map(|c| c.name.clone()).collect();
        if failed.is_empty() {
            ctx.out
                .line(format!("all {} checks passed.", report.checks.len()));
        } else {
            ctx.out
                .line(format!("{} failed: {}.", failed.len(), failed.join(", ")));
        }
    }
    Ok(code)
}
