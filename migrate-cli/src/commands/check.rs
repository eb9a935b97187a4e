//! `check`: offline sanity of the registered set: a dry run of every
//! migration on an empty scratch database, and the lint of the statements
//! each pending migration runs, captured on a scratch copy of the database
//! (never production).

use migrate_core::apply::Applied;
use migrate_core::compare::PlanOptions;
use migrate_core::lint::LintReport;
use migrate_core::scratch::ScratchDatabase;
use migrate_core::url::{Backend, DbUrl};
use migrate_core::{Error, Result, display_version};
use serde_json::json;

use crate::Context;
use crate::commands::plan;
use crate::output::Tone;

/// Every migration, contract ones included.
fn all() -> PlanOptions {
    PlanOptions {
        to: None,
        contract: true,
        allow_drift: false,
        allow_out_of_order: false,
    }
}

pub async fn run(ctx: &Context) -> Result<u8> {
    let registry = ctx.migrator.registry()?;
    let out = &ctx.out;
    let prod = ctx.database_url().ok();
    let backend = prod.as_ref().map_or(Backend::Sqlite, DbUrl::backend);
    let mut problems = Vec::new();
    let mut statements = 0;
    let mut dry_applied = None;
    let mut dry_failure = None;
    let home = scratch_home(ctx, prod.as_ref());
    let empty = ScratchDatabase::create(home.as_ref(), "migrate_check").await?;
    let place = describe(&empty, home.as_ref());
    let captured = plan::capture(ctx, &plan::Scratch::at(empty.url().clone()), &all()).await;
    empty.remove().await?;
    let dry_run = match captured {
        Ok((applied, _)) => {
            statements = applied.iter().map(|a| a.statements.len()).sum();
            let line = format!(
                "{} migrations ran on an empty scratch database ({statements} statements), {place}",
                applied.len()
            );
            dry_applied = Some(applied);
            line
        }
        Err(e) => {
            let detail = on_scratch(&e);
            problems.push(format!(
                "dry run failed on an empty scratch database ({place}): {detail}"
            ));
            dry_failure = Some(detail);
            "dry run failed (below)".to_string()
        }
    };
    let lint = match lint_pending(ctx, backend, dry_applied).await {
        Ok(lint) => lint,
        Err(e) => {
            let text = e.to_string();
            // The same failure as the dry run's is said once, with where
            // it happened again.
            // (Compared by the failing migration: MariaDB's message names
            // the scratch database, which differs between the two.)
            let same = dry_failure
                .as_deref()
                .and_then(|d| d.split_once(" failed: "))
                .and_then(|(migration, _)| text.find(&format!("{migration} failed: ")));
            match same {
                Some(at) => problems.push(format!(
                    "lint of the pending migrations did not run: the same migration failed {}",
                    text[..at].trim_end_matches(": ")
                )),
                None => problems.push(format!("lint of the pending migrations failed: {text}")),
            }
            Lint::Skipped("a migration failed on the scratch copy (below)".to_string())
        }
    };
    if let Lint::Done {
        applied, reports, ..
    } = &lint
    {
        problems.extend(plan::finding_lines(applied, reports));
    }
    let irreversible: Vec<_> = registry
        .migrations()
        .iter()
        .filter(|m| !m.is_reversible())
        .collect();
    if out.json() {
        out.document(&json!({
            "ok": problems.is_empty(),
            "registered": registry.len(),
            "irreversible": irreversible.iter().map(|m| json!({"version": m.version, "name": m.name, "reason": m.irreversible_reason})).collect::<Vec<_>>(),
            "dry_run": dry_run,
            "statements": statements,
            "lint": lint.json(),
            "problems": problems,
        }));
    } else {
        out.line(format!(
            "{}     {} migrations registered, versions unique and ordered",
            out.paint("check", Tone::Bold),
            registry.len()
        ));
        for m in &irreversible {
            out.line(format!(
                "          {} {} is irreversible: {}",
                display_version(m.version),
                m.name,
                m.irreversible_reason.unwrap_or_default()
            ));
        }
        out.line(format!("          {dry_run}"));
        out.line(format!("          {}", lint.summary()));
        if let Lint::Done {
            applied, reports, ..
        } = &lint
        {
            for (a, r) in applied.iter().zip(reports) {
                for al in &r.allowances {
                    out.line(format!(
                        "          {} {} allows [{}]: {}",
                        display_version(a.version),
                        a.name,
                        al.finding.rule,
                        al.reason
                    ));
                }
            }
        }
        for p in &problems {
            out.line(format!("{} {p}", out.paint("failed:", Tone::Bad)));
        }
    }
    Ok(if problems.is_empty() { 0 } else { 1 })
}

/// The lint of the pending migrations, or why it did not run.
enum Lint {
    Done {
        /// Where the statements were captured.
        on: String,
        applied: Vec<Applied>,
        reports: Vec<LintReport>,
    },
    Skipped(String),
}

impl Lint {
    fn summary(&self) -> String {
        match self {
            Lint::Done {
                on,
                applied,
                reports,
            } => {
                let statements: usize = reports.iter().map(|r| r.statements.len()).sum();
                let findings: usize = reports.iter().map(|r| r.findings.len()).sum();
                let allowed: usize = reports.iter().map(|r| r.allowances.len()).sum();
                let n = |count: usize, noun: &str| {
                    format!("{count} {noun}{}", if count == 1 { "" } else { "s" })
                };
                format!(
                    "lint: {}, {} captured on {on}: {}, {allowed} allowed",
                    n(applied.len(), "pending migration"),
                    n(statements, "statement"),
                    n(findings, "finding"),
                )
            }
            Lint::Skipped(why) => format!("lint skipped: {why}"),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Lint::Done {
                on,
                applied,
                reports,
            } => json!({
                "captured_on": on,
                "migrations": applied.iter().zip(reports).map(|(a, r)| json!({
                    "version": a.version,
                    "name": a.name,
                    "statements": r.statements.len(),
                    "not_checked": r.not_checked(),
                    "findings": r.findings,
                    "allowances": r.allowances,
                    "unknown_allows": r.unknown_allows,
                })).collect::<Vec<_>>(),
                "findings": reports.iter().map(|r| r.findings.len()).sum::<usize>(),
            }),
            Lint::Skipped(why) => json!({ "skipped": why }),
        }
    }
}

/// An error met on a scratch database, without the advice meant for a
/// database that outlives the run (`repair`, `apply` again): the scratch
/// database is gone and nothing else was written to.
fn on_scratch(e: &Error) -> String {
    let nothing = "Production and staging were not touched; fix the migration and run `cargo migrate check` again.";
    match e {
        Error::MigrationFailed {
            version,
            name,
            source,
            ..
        } => format!(
            "migration {} `{name}` failed: {source}\n  {nothing}",
            display_version(*version)
        ),
        other => format!("{other}\n  {nothing}"),
    }
}

/// Where `check` creates its scratch databases: beside the staging
/// database when one is configured (its server is the one meant for
/// rehearsals), else beside production; `None` for SQLite (a temporary
/// file). The configured databases themselves are never written to.
fn scratch_home(ctx: &Context, prod: Option<&DbUrl>) -> Option<DbUrl> {
    let prod = prod.filter(|u| u.backend() != Backend::Sqlite)?;
    Some(
        ctx.config
            .staging_url()
            .and_then(|s| DbUrl::parse(&s).ok())
            .filter(|s| s.backend() == prod.backend())
            .unwrap_or_else(|| prod.clone()),
    )
}

/// "a temporary SQLite file, removed" or "database migrate_check_… on
/// postgres://…, dropped".
fn describe(scratch: &ScratchDatabase, home: Option<&DbUrl>) -> String {
    match home {
        Some(home) => format!(
            "database {} created on the server of {} and dropped afterwards",
            scratch.name(),
            home.redacted()
        ),
        None => "a temporary SQLite file, removed afterwards".to_string(),
    }
}

/// Captures what each pending migration runs on a scratch copy of the
/// database (SQLite: a temporary file; servers: a scratch database created
/// beside staging, or beside production without staging, filled from
/// production and dropped afterwards) and lints it. Without a database to
/// copy, every migration is pending: the empty dry run is what gets linted.
async fn lint_pending(
    ctx: &Context,
    backend: Backend,
    dry_run: Option<Vec<Applied>>,
) -> Result<Lint> {
    let prod = ctx.database_url().ok();
    let copyable = match &prod {
        Some(url) if url.backend() == Backend::Sqlite => {
            url.sqlite_path().is_some_and(|p| p.exists())
        }
        Some(_) => true,
        None => false,
    };
    let Some(prod) = prod.filter(|_| copyable) else {
        return Ok(match dry_run {
            Some(applied) => Lint::Done {
                on: "an empty scratch database".to_string(),
                reports: plan::lint(ctx, backend, &applied)?,
                applied,
            },
            None => Lint::Skipped(format!(
                "no copy of the {} database to lint on: set DATABASE_URL (or [database] url)",
                backend.as_str()
            )),
        });
    };
    if prod.backend() == Backend::Sqlite {
        let scratch = plan::scratch(ctx, &prod, true).await?;
        let linted = async {
            let before = plan::schema_before(ctx, &scratch).await?;
            let (applied, _) = plan::capture(ctx, &scratch, &all()).await?;
            let reports =
                plan::lint_with_schema(ctx, scratch.url.backend(), &applied, Some(&before))?;
            Ok::<_, Error>((applied, reports))
        }
        .await;
        let (applied, reports) = linted.map_err(|e| {
            Error::CheckFailed(format!(
                "on a scratch copy of production (a temporary SQLite file, removed afterwards): {}",
                on_scratch(&e)
            ))
        })?;
        return Ok(Lint::Done {
            on: "a scratch copy of the database (production was not touched)".to_string(),
            applied,
            reports,
        });
    }
    let home = scratch_home(ctx, Some(&prod));
    let copy = ScratchDatabase::create(home.as_ref(), "migrate_check").await?;
    let place = describe(&copy, home.as_ref());
    let linted = async {
        migrate_core::stage::refresh(&prod, copy.url(), ctx.config.apply.connect_timeout).await?;
        let scratch = plan::Scratch::at(copy.url().clone());
        let before = plan::schema_before(ctx, &scratch).await?;
        let (applied, _) = plan::capture(ctx, &scratch, &all()).await?;
        let reports = plan::lint_with_schema(ctx, backend, &applied, Some(&before))?;
        Ok::<_, migrate_core::Error>((applied, reports))
    }
    .await;
    copy.remove().await?;
    let (applied, reports) = linted.map_err(|e| {
        Error::CheckFailed(format!(
            "on a scratch copy of production ({place}): {}",
            on_scratch(&e)
        ))
    })?;
    Ok(Lint::Done {
        on: format!(
            "a scratch copy of production ({place}; production and staging were not touched)"
        ),
        applied,
        reports,
    })
}
