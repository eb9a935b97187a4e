//! `deploy`: stage → backup → apply → verify; when a migration or a check
//! fails, roll back exactly what this deploy applied and verify again. One
//! report at the end, also saved beside the backup for audits.

use std::time::Instant;

use migrate_core::apply::{Applied, ApplyOptions, Event};
use migrate_core::backup::Manifest;
use migrate_core::rollback::RolledBack;
use migrate_core::schema::Schema;
use migrate_core::verify::{Baseline, VerifyOptions, VerifyReport};
use migrate_core::{Error, Migration, Result, Target, display_version, human_duration};
use serde_json::{Value, json};

use crate::Context;
use crate::cli::DeployArgs;
use crate::commands::{apply, backup, stage, verify};
use crate::output::Tone;

/// What happened after a failure.
#[derive(Debug, Default, serde::Serialize)]
struct Recovery {
    reason: String,
    rolled_back: Vec<RolledBack>,
    stopped_at_irreversible: Option<String>,
    restore_command: Option<String>,
    verify_after: Option<VerifyReport>,
    error: Option<String>,
}

pub async fn run(ctx: &Context, args: &DeployArgs) -> Result<u8> {
    let started = Instant::now();
    let out = &ctx.out;
    let registry = ctx.migrator.registry()?;
    let url = ctx.database_url()?;
    // The checks are validated before anything runs, staging included.
    let checks = verify::options(ctx, url.backend())?;

    // 1. Rehearse on staging; production is not touched when it fails.
    let rehearsal = stage::rehearse(ctx, &args.selection, false).await?;
    if !out.json() {
        stage::print(out, &rehearsal);
    }
    if !rehearsal.ok() {
        let doc = json!({ "ok": false, "stage": rehearsal, "failures": rehearsal.failures(), "exit_code": 1, "decision": "stopped at stage: production untouched" });
        if out.json() {
            out.document(&doc);
        } else {
            out.line(format!(
                "{} the rehearsal failed: production was not touched.",
                out.paint("deploy stopped:", Tone::Bad)
            ));
        }
        return Ok(1);
    }
    let rehearsed: Vec<u64> = rehearsal
        .report
        .migrations
        .iter()
        .map(|m| m.applied.version)
        .collect();

    // 2-5 under the production migrator lock.
    let mut target = ctx.migrator.connect(&url, true).await?;
    let guard = target.lock().await?;
    let mut applied: Vec<Applied> = Vec::new();
    let mut baseline: Option<Baseline> = None;
    let mut vopts: Option<VerifyOptions> = None;
    let mut held_back: Option<u64> = None;
    let outcome = async {
        let plan = target.prepare(&registry, &stage::plan_options(&args.selection)).await?;
        held_back = plan.held_back;
        if plan.versions != rehearsed {
            return Err(Error::Refused(format!(
                "production changed during the rehearsal: the rehearsal covered {rehearsed:?}, production now needs {:?}. Run deploy again. Nothing was changed.",
                plan.versions
            )));
        }
        let backup = if plan.versions.is_empty() {
            None
        } else {
            Some(apply::backup_before(ctx, &mut target, None).await?)
        };
        if !plan.versions.is_empty() {
            let opts = checks.clone();
            if !out.json() {
                out.step(format!(
                    "measuring the baseline (watching for {})…",
                    human_duration(opts.window)
                ));
            }
            let b = target.baseline(&opts).await?;
            if !out.json() {
                print_baseline(ctx, &b);
            }
            baseline = Some(b);
            vopts = Some(opts);
        }
        let opts = ApplyOptions {
            plan: stage::plan_options(&args.selection),
            rehearsal_skipped: false,
        };
        let mut on_event = |e: Event<'_>| apply::progress(out, &e, &mut applied);
        let applied_result = target
            .run_plan(&registry, &plan, &opts, &mut on_event)
            .await
            .map_err(|e| ctx.place(e));
        Ok((backup, applied_result))
    }
    .await;
    let (backup, applied_result) = match outcome {
        Ok(v) => v,
        Err(e) => {
            guard.release().await;
            target.close().await;
            return Err(e);
        }
    };

    let mut verify_report = None;
    // The rehearsal ran on a clone of production: the live schema must now be
    // the one it ended with (and, after a rollback, the one it started from).
    let rehearsed_schema = |schema: &Schema, what: &str| {
        match rehearsal.report.clone {
        Some(_) => Ok((schema.clone(), format!("the rehearsal's schema {what}"))),
        None => Err("staging was not refreshed from production (`[staging] clone = false`), so its schema is not production's".to_string()),
    }
    };
    let failure = match (applied_result, &vopts) {
        (Err(e), _) => Some(format!(
            "migration failed: {}",
            migrate_core::url::redact(&e.to_string())
        )),
        (Ok(_), None) => None,
        (Ok(_), Some(opts)) => {
            let opts = VerifyOptions {
                expected_schema: rehearsed_schema(
                    &rehearsal.report.schema_after,
                    "after the migrations",
                ),
                ..opts.clone()
            };
            match verify::checks(ctx, &mut target, &opts, baseline.as_ref()).await {
                Err(e) => Some(format!("verify could not run: {e}")),
                Ok(report) => {
                    if !out.json() {
                        verify::print(out, &report);
                    }
                    let failed: Vec<String> = report
                        .failed()
                        .map(|c| format!("{} ({})", c.name, c.detail))
                        .collect();
                    verify_report = Some(report);
                    (!failed.is_empty()).then(|| format!("verify failed: {}", failed.join("; ")))
                }
            }
        }
    };
    let mut recovery: Option<Recovery> = None;
    if let Some(reason) = failure {
        if !out.json() && reason.starts_with("migration failed") {
            out.line(format!("{} {reason}", out.paint("failed:", Tone::Bad)));
        }
        recovery = Some(
            recover(
                ctx,
                &mut target,
                Undo {
                    registry: &registry,
                    applied: &applied,
                    backup: backup.as_ref(),
                    verify: vopts.as_ref().map(|o| VerifyOptions {
                        expected_schema: rehearsed_schema(
                            &rehearsal.report.schema_before,
                            "before the migrations",
                        ),
                        ..o.clone()
                    }),
                    baseline: baseline.as_ref(),
                },
                reason,
            )
            .await,
        );
    }
    guard.release().await;
    target.close().await;

    let ok = recovery.is_none();
    let code = if ok { 0 } else { 1 };
    let mut doc = json!({
        "ok": ok,
        "database": url.redacted(),
        "stage": rehearsal,
        "backup": backup,
        "baseline": baseline,
        "applied": applied,
        "verify": verify_report,
        "recovery": recovery,
        "held_back": held_back,
        "duration_ms": started.elapsed().as_millis() as u64,
        "exit_code": code,
    });
    let report_file = match &backup {
        Some(m) => save_report(ctx, m, &doc).ok(),
        None => None,
    };
    doc["report_file"] = json!(report_file);
    if ok && backup.is_some() {
        migrate_core::backup::prune(&ctx.config.backup.dir, ctx.config.backup.keep, &url)?;
    }
    if out.json() {
        out.document(&doc);
        return Ok(code);
    }
    let report_note = report_file
        .map(|f| format!(" Report: {f}"))
        .unwrap_or_default();
    if let Some(r) = &recovery {
        print_recovery(ctx, r);
        out.line(format!(
            "{} {}.{report_note}",
            out.paint("deploy failed:", Tone::Bad),
            r.reason
        ));
    } else if applied.is_empty() {
        out.line(format!(
            "nothing to deploy: {} is up to date{}.",
            url.redacted(),
            if held_back.is_some() {
                " but for the contract migration held back below"
            } else {
                ""
            }
        ));
    } else {
        out.line(format!(
            "{} {} migration{} in {}.{report_note}",
            out.paint("deployed", Tone::Good),
            applied.len(),
            if applied.len() == 1 { "" } else { "s" },
            human_duration(started.elapsed())
        ));
    }
    if let (None, Some(v)) = (&recovery, held_back) {
        let name = registry.get(v).map_or("", |m| m.name);
        out.line(format!(
            "{} {} {name} is a contract migration: deploy it with `--phase contract` once the deployed application no longer uses what it removes.",
            out.paint("held back:", Tone::Warn),
            display_version(v)
        ));
    }
    Ok(code)
}

/// What a failed deploy can undo, and how to check the result.
struct Undo<'a> {
    registry: &'a migrate_core::registry::Registry,
    applied: &'a [Applied],
    backup: Option<&'a Manifest>,
    /// The checks after the rollback (`None`: the deploy had nothing to verify).
    verify: Option<VerifyOptions>,
    baseline: Option<&'a Baseline>,
}

/// Rolls back what this deploy applied (newest first), unless one of them is
/// irreversible: then nothing runs and the restore command is given.
async fn recover(ctx: &Context, target: &mut Target, undo: Undo<'_>, reason: String) -> Recovery {
    let Undo {
        registry,
        applied,
        backup,
        verify: verify_opts,
        baseline,
    } = undo;
    let mut r = Recovery {
        reason,
        ..Recovery::default()
    };
    let steps: Vec<&'static Migration> = applied
        .iter()
        .rev()
        .filter_map(|a| registry.get(a.version))
        .collect();
    let restore = backup.map(|m| backup::restore_command(ctx, m));
    if let Some(m) = steps.iter().find(|m| !m.is_reversible()) {
        r.stopped_at_irreversible = Some(format!(
            "{} {} is irreversible ({})",
            display_version(m.version),
            m.name,
            m.irreversible_reason.unwrap_or_default()
        ));
        r.restore_command = restore;
        return r;
    }
    let out = &ctx.out;
    let mut ignore = Vec::new();
    let mut on_event = |e: Event<'_>| apply::progress(out, &e, &mut ignore);
    match target.run_rollback(&steps, &mut on_event).await {
        Ok(done) => r.rolled_back = done,
        Err(e) => {
            r.error = Some(migrate_core::url::redact(&e.to_string()));
            r.restore_command = restore;
            return r;
        }
    }
    let Some(opts) = verify_opts else {
        return r;
    };
    match verify::checks(ctx, target, &opts, baseline).await {
        Ok(v) => {
            if !v.ok() {
                r.restore_command = restore;
            }
            r.verify_after = Some(v);
        }
        Err(e) => r.error = Some(e.to_string()),
    }
    r
}

fn print_recovery(ctx: &Context, r: &Recovery) {
    let out = &ctx.out;
    if let Some(irr) = &r.stopped_at_irreversible {
        out.line(format!(
            "{} not rolled back: {irr}, so nothing was undone.",
            out.paint("rollback", Tone::Bad)
        ));
    } else if !r.rolled_back.is_empty() {
        let total: std::time::Duration = r.rolled_back.iter().map(|d| d.duration).sum();
        out.line(format!(
            "{} {} migration{} undone in {}",
            out.paint("rollback", Tone::Warn),
            r.rolled_back.len(),
            if r.rolled_back.len() == 1 { "" } else { "s" },
            human_duration(total)
        ));
    }
    if let Some(e) = &r.error {
        out.line(format!(
            "{} the rollback failed: {e}",
            out.paint("error:", Tone::Bad)
        ));
    }
    if let Some(v) = &r.verify_after {
        out.line("after the rollback:");
        verify::print(out, v);
    }
    if let Some(cmd) = &r.restore_command {
        out.line(format!(
            "To restore the backup taken before this deploy, run:\n  {cmd}"
        ));
    }
}

/// Saves the report as `<backup id>.deploy.json` (owner-only) beside the backup.
fn save_report(ctx: &Context, m: &Manifest, doc: &Value) -> Result<String> {
    let path = ctx.config.backup.dir.join(format!("{}.deploy.json", m.id));
    let mut f = migrate_core::backup::create_private(&path)?;
    use std::io::Write;
    f.write_all(
        serde_json::to_string_pretty(doc)
            .map_err(|e| Error::msg(e.to_string()))?
            .as_bytes(),
    )?;
    Ok(path.display().to_string())
}

/// One line per probe: the baseline the checks after apply compare with.
fn print_baseline(ctx: &Context, b: &Baseline) {
    let out = &ctx.out;
    for (i, p) in b.probes.iter().enumerate() {
        if let Some(e) = &p.error {
            out.line(format!(
                "{}  probe:{} failed, no baseline: {e}",
                out.paint("baseline", Tone::Warn),
                i + 1
            ));
            continue;
        }
        out.line(format!(
            "{}  probe:{} p50 {:.3} ms, p95 {:.3} ms over {} runs  {}",
            out.paint("baseline", Tone::Bold),
            i + 1,
            p.p50_ms,
            p.p95_ms,
            p.runs,
            migrate_core::sql::one_line(&p.sql, 60)
        ));
    }
    if let Some(m) = &b.metrics {
        let rate = m
            .error_rate
            .map(|r| format!("{:.2}%", r * 100.0))
            .unwrap_or_else(|| "n/a".into());
        let p95 = m
            .p95_seconds
            .map(|s| format!("{:.1} ms", s * 1e3))
            .unwrap_or_else(|| "n/a".into());
        out.line(format!(
            "{}  metrics {} requests, error rate {rate}, p95 {p95} over {:.1} s",
            out.paint("baseline", Tone::Bold),
            m.requests,
            m.window_seconds
        ));
    }
    if let Some(e) = &b.metrics_error {
        out.line(format!(
            "{}  metrics could not be read: {e}",
            out.paint("baseline", Tone::Warn)
        ));
    }
}
