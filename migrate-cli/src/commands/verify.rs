//! `verify`: health checks against the database.

use migrate_core::verify::VerifyReport;
use migrate_core::{HealthCheck, Result, Target};
use serde_json::json;

use crate::Context;
use crate::output::{Output, Tone};

/// Runs the checks on a connected target.
pub(crate) async fn checks(ctx: &Context, target: &mut Target) -> Result<VerifyReport> {
    let registry = ctx.migrator.registry()?;
    target
        .verify(
            &registry,
            &HealthCheck::registered(),
            &ctx.config.verify.disable,
        )
        .await
}

/// Prints a verification, one line per check.
pub(crate) fn print(out: &Output, r: &VerifyReport) {
    let head = out.paint("verify", Tone::Bold);
    for (i, c) in r.checks.iter().enumerate() {
        let mark = match (&c.disabled, c.ok) {
            (Some(_), _) => out.paint("off ", Tone::Warn),
            (None, true) => out.paint("ok  ", Tone::Good),
            (None, false) => out.paint("FAIL", Tone::Bad),
        };
        let label = if i == 0 { head.clone() } else { " ".repeat(6) };
        out.line(format!("{label}    {mark} {:<28} {}", c.name, c.detail));
    }
}

pub async fn run(ctx: &Context) -> Result<u8> {
    let url = ctx.database_url()?;
    let mut target = ctx.migrator.connect(&url, false).await?;
    let result = checks(ctx, &mut target).await;
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
