//! `apply`: take the migrator lock and apply what is pending.

use std::time::Instant;

use migrate_core::apply::{Applied, ApplyOptions, Event};
use migrate_core::backup::Manifest;
use migrate_core::compare::PlanOptions;
use migrate_core::registry::Registry;
use migrate_core::url::DbUrl;
use migrate_core::{Error, Result, Target, display_version, human_duration};
use serde_json::json;

use crate::Context;
use crate::cli::{ApplyArgs, PhaseArg};
use crate::output::{Output, Tone};

pub async fn run(ctx: &Context, args: &ApplyArgs) -> Result<u8> {
    let registry = ctx.migrator.registry()?;
    let url = ctx.database_url()?;
    let out = &ctx.out;
    let opts = ApplyOptions {
        plan: PlanOptions {
            to: args.to,
            contract: args.phase == PhaseArg::Contract,
            allow_drift: args.allow_drift,
            allow_out_of_order: args.allow_out_of_order,
        },
        rehearsal_skipped: args.skip_rehearsal && ctx.config.apply.require_rehearsal,
    };
    let started = Instant::now();
    let gated = ctx.config.apply.require_rehearsal && !args.skip_rehearsal;
    if gated && url.sqlite_path().is_some_and(|p| !p.exists()) {
        // Nothing exists yet: check the gate before creating the database file.
        let plan = migrate_core::compare::compare(&registry.specs(), &[]).plan(&opts.plan)?;
        check_rehearsal(ctx, &registry, &url, &plan.versions).await?;
    }
    let mut target = ctx.migrator.connect(&url, true).await?;
    let mut applied: Vec<Applied> = Vec::new();
    let result = async {
        let guard = target.lock().await?;
        let waited = guard.waited();
        let r = async {
            let plan = target.prepare(&registry, &opts.plan).await?;
            if !plan.versions.is_empty() && ctx.config.apply.require_rehearsal {
                if args.skip_rehearsal {
                    out.progress(format!(
                        "{} applying without a staging rehearsal (--skip-rehearsal); recorded in the history",
                        out.paint_err("warning:", Tone::Warn)
                    ));
                } else {
                    check_rehearsal(ctx, &registry, target.url(), &plan.versions).await?;
                }
            }
            let backup = if plan.versions.is_empty() {
                None
            } else {
                Some(backup_before(ctx, &mut target, args.backup.as_deref()).await?)
            };
            let mut on_event = |e: Event<'_>| progress(out, &e, &mut applied);
            target
                .run_plan(&registry, &plan, &opts, &mut on_event)
                .await
                .map_err(|e| ctx.place(e))?;
            Ok((plan, backup))
        }
        .await;
        guard.release().await;
        r.map(|(plan, backup)| (plan, backup, waited))
    }
    .await;
    target.close().await;
    let (plan, backup, waited) = match result {
        Ok(r) => r,
        Err(e) => return fail(out, e, &applied),
    };
    if backup.is_some() {
        // Old backups beyond `keep` go only after a successful apply.
        migrate_core::backup::prune(&ctx.config.backup.dir, ctx.config.backup.keep, &url)?;
    }
    if out.json() {
        out.document(&json!({
            "ok": true,
            "database": url.redacted(),
            "backup": backup,
            "applied": applied,
            "held_back": plan.held_back,
            "lock_waited_ms": waited.as_millis() as u64,
            "duration_ms": started.elapsed().as_millis() as u64,
        }));
        return Ok(0);
    }
    if applied.is_empty() {
        out.line(format!(
            "{} nothing to apply: {} is up to date.",
            out.paint("apply", Tone::Bold),
            url.redacted()
        ));
    } else {
        out.line(format!(
            "applied {} migration{} in {}{}.",
            applied.len(),
            if applied.len() == 1 { "" } else { "s" },
            human_duration(started.elapsed()),
            if waited.as_millis() >= 100 {
                format!(" (waited {} for the migrator lock)", human_duration(waited))
            } else {
                String::new()
            }
        ));
    }
    if let Some(v) = plan.held_back {
        let name = registry.get(v).map_or("", |m| m.name);
        out.line(format!(
            "{} {} {name} is a contract migration: apply it with `--phase contract` once the deployed application no longer uses what it removes.",
            out.paint("held back:", Tone::Warn),
            display_version(v)
        ));
    }
    Ok(0)
}

/// Refuses unless the staging database holds a passing rehearsal of exactly
/// `versions` (same checksums) for this production database.
async fn check_rehearsal(
    ctx: &Context,
    registry: &Registry,
    prod: &DbUrl,
    versions: &[u64],
) -> Result<()> {
    let refuse = |why: String| {
        Error::Refused(format!(
            "{why}. Rehearse first with `cargo migrate stage` (or run `cargo migrate deploy`, which does both); `--skip-rehearsal` overrides, and is recorded. Nothing was changed."
        ))
    };
    let staging = crate::commands::stage::staging_url(ctx).map_err(|_| {
        refuse("apply.require_rehearsal is on but no staging database is configured".into())
    })?;
    if staging.sqlite_path().is_some_and(|p| !p.exists()) {
        return Err(refuse(
            "no rehearsal was run: the staging database does not exist".into(),
        ));
    }
    let mut s = ctx.migrator.connect(&staging, false).await.map_err(|e| {
        refuse(format!(
            "no rehearsal record could be read from staging ({e})"
        ))
    })?;
    let record = migrate_core::rehearsal::latest(s.db().conn_mut(), &prod.redacted()).await;
    s.close().await;
    let pending: Vec<String> = versions.iter().map(|v| display_version(*v)).collect();
    match record? {
        None => Err(refuse(format!(
            "no rehearsal of the pending migrations ({}) was recorded on staging",
            pending.join(", ")
        ))),
        Some(r) if !r.passed => Err(refuse(format!(
            "the last rehearsal on staging ({}) failed",
            r.created_at
        ))),
        Some(r) if !r.matches(registry, versions) => Err(refuse(format!(
            "the last passing rehearsal ({}) covered {}, but production now needs {} (or the code changed since)",
            r.created_at,
            r.migrations
                .iter()
                .map(|(v, _)| display_version(*v))
                .collect::<Vec<_>>()
                .join(", "),
            pending.join(", ")
        ))),
        Some(_) => Ok(()),
    }
}

/// Under the lock, before anything is applied: takes a verified backup, or
/// checks that the one named with `--backup` holds exactly the applied set
/// of now. Any failure refuses the apply with production untouched.
pub(crate) async fn backup_before(
    ctx: &Context,
    target: &mut Target,
    reuse: Option<&str>,
) -> Result<Manifest> {
    let dir = &ctx.config.backup.dir;
    let m = match reuse {
        None => {
            ctx.out.step("backing up production…");
            migrate_core::backup::take(target, dir).await?
        }
        Some(id) => {
            let m = migrate_core::backup::find(dir, id)?;
            migrate_core::backup::check_file(dir, &m)?;
            let mut now: Vec<u64> = target
                .history_rows()
                .await?
                .iter()
                .map(|r| r.version)
                .collect();
            now.sort_unstable();
            let mut then = m.applied_versions.clone();
            then.sort_unstable();
            if !m.is_of(target.url()) || now != then {
                return Err(Error::Refused(format!(
                    "backup {} is not a backup of the database as it is now (it was taken of {} with {} applied migrations; now {} are applied). Take a fresh one: run without --backup. Nothing was changed.",
                    m.id,
                    m.database,
                    then.len(),
                    now.len()
                )));
            }
            m
        }
    };
    ctx.out
        .line(crate::commands::backup::describe(&ctx.out, &m));
    Ok(m)
}

/// Prints live progress and collects what finished.
pub(crate) fn progress(out: &Output, e: &Event<'_>, applied: &mut Vec<Applied>) {
    match e {
        Event::Started(m) => out.step(format!("running {} {}", display_version(m.version), m.name)),
        Event::Retry {
            migration,
            attempt,
            wait,
        } => out.progress(format!(
            "  {} {} {}: lock timeout, retry {attempt} in {}",
            out.paint_err("retry", Tone::Warn),
            display_version(migration.version),
            migration.name,
            human_duration(*wait)
        )),
        Event::Finished(a) => {
            out.line(format!(
                "{}     {}  {:<28} {:>8}   ({} statement{}, {} retr{})",
                out.paint("apply", Tone::Good),
                display_version(a.version),
                a.name,
                human_duration(a.duration),
                a.statements.len(),
                if a.statements.len() == 1 { "" } else { "s" },
                a.retries,
                if a.retries == 1 { "y" } else { "ies" }
            ));
            applied.push((*a).clone());
        }
        Event::RollingBack(m) => out.step(format!(
            "rolling back {} {}",
            display_version(m.version),
            m.name
        )),
        Event::RolledBack {
            migration,
            duration,
        } => out.line(format!(
            "{}  {}  {:<28} {:>8}",
            out.paint("rollback", Tone::Warn),
            display_version(migration.version),
            migration.name,
            human_duration(*duration)
        )),
        _ => {}
    }
}

/// Reports a failed apply: in JSON, one document with what was applied
/// before it; in text, the error goes back to be printed as a paragraph.
fn fail(out: &Output, e: Error, applied: &[Applied]) -> Result<u8> {
    if out.json() {
        let code = e.exit_code();
        out.error_with(&e, code, json!({ "applied": applied }));
        return Ok(code);
    }
    if !applied.is_empty() {
        out.line(format!(
            "{} applied before the failure {} applied.",
            if applied.len() == 1 {
                "1 migration".to_string()
            } else {
                format!("{} migrations", applied.len())
            },
            if applied.len() == 1 { "stays" } else { "stay" }
        ));
    }
    Err(e)
}
