//! `plan` and `check`'s dry run: the pending migrations run on a scratch
//! copy of the database (never production), with every statement captured,
//! linted, and shown with the lock it takes.

use migrate_core::apply::{Applied, ApplyOptions, Event};
use migrate_core::compare::PlanOptions;
use migrate_core::lint::{LintReport, Linter, MigrationKind};
use migrate_core::schema::Schema;
use migrate_core::url::{Backend, DbUrl};
use migrate_core::{Error, Phase, Result, display_version};
use serde_json::json;

use crate::Context;
use crate::cli::PlanArgs;
use crate::output::{Format, Tone};

/// A scratch database: a copy of production (or empty), deleted on drop
/// when it is a SQLite file; on a server, the staging database.
pub(crate) struct Scratch {
    pub url: DbUrl,
    _dir: Option<tempfile::TempDir>,
}

impl Scratch {
    /// A scratch database that something else owns and removes.
    pub(crate) fn at(url: DbUrl) -> Scratch {
        Scratch { url, _dir: None }
    }
}

/// Makes a scratch SQLite copy of `prod` (`copy = false`: an empty one). On
/// a server the copy is the staging database, refreshed from production.
pub(crate) async fn scratch(ctx: &Context, prod: &DbUrl, copy: bool) -> Result<Scratch> {
    if prod.backend() != Backend::Sqlite {
        if !copy || !ctx.config.staging.clone {
            return Err(Error::Config(format!(
                "`plan` on {} runs the pending migrations on a fresh copy of production in the staging database: set STAGING_DATABASE_URL (or [staging] url) and keep [staging] clone = true",
                prod.backend().as_str()
            )));
        }
        let url = crate::commands::stage::staging_url(ctx)?;
        migrate_core::stage::refresh(prod, &url, ctx.config.apply.connect_timeout).await?;
        return Ok(Scratch { url, _dir: None });
    }
    let dir = tempfile::Builder::new()
        .prefix("cargo-migrate-scratch")
        .tempdir()?;
    let url = DbUrl::parse(&format!(
        "sqlite://{}",
        dir.path().join("scratch.db").display()
    ))?;
    if copy {
        migrate_core::stage::refresh(prod, &url, ctx.config.apply.connect_timeout).await?;
    }
    Ok(Scratch {
        url,
        _dir: Some(dir),
    })
}

/// Runs the plan on a scratch database and returns what each migration ran.
pub(crate) async fn capture(
    ctx: &Context,
    scratch: &Scratch,
    plan: &PlanOptions,
) -> Result<(Vec<Applied>, Option<u64>)> {
    let registry = ctx.migrator.registry()?;
    let mut target = ctx.migrator.connect(&scratch.url, true).await?;
    let mut applied = Vec::new();
    let opts = ApplyOptions {
        plan: plan.clone(),
        rehearsal_skipped: false,
    };
    let result = async {
        let p = target.prepare(&registry, plan).await?;
        let mut on_event = |e: Event<'_>| {
            if let Event::Finished(a) = e {
                applied.push(a.clone());
            }
        };
        target.run_plan(&registry, &p, &opts, &mut on_event).await?;
        Ok::<_, Error>(p.held_back)
    }
    .await;
    target.close().await;
    let held = result?;
    Ok((applied, held))
}

/// The schema of the scratch database before the plan runs on it, so the
/// lint can compare a type change with the current type.
pub(crate) async fn schema_before(ctx: &Context, scratch: &Scratch) -> Result<Schema> {
    let mut target = ctx.migrator.connect(&scratch.url, true).await?;
    let schema = migrate_core::schema::snapshot(target.db().conn_mut()).await;
    target.close().await;
    schema
}

/// Lints what each migration ran, in plan order, with its phase,
/// transaction mode and allowances from the registry.
pub(crate) fn lint(
    ctx: &Context,
    backend: Backend,
    applied: &[Applied],
) -> Result<Vec<LintReport>> {
    lint_with_schema(ctx, backend, applied, None)
}

/// [`lint`], knowing the column types of the database before the plan.
pub(crate) fn lint_with_schema(
    ctx: &Context,
    backend: Backend,
    applied: &[Applied],
    before: Option<&Schema>,
) -> Result<Vec<LintReport>> {
    let registry = ctx.migrator.registry()?;
    let mut linter = Linter::new(backend);
    if let Some(schema) = before {
        linter = linter.with_schema(schema);
    }
    Ok(applied
        .iter()
        .map(|a| {
            let m = registry.get(a.version);
            let kind = MigrationKind {
                phase: m.map_or(Phase::Expand, |m| m.phase),
                transactional: m.is_none_or(|m| m.transaction),
            };
            let sql: Vec<&str> = a.statements.iter().map(|s| s.sql.as_str()).collect();
            linter.migration(kind, &sql, m.map_or(&[], |m| m.allow))
        })
        .collect())
}

/// One line per lint finding, for commands that fail on them.
pub(crate) fn finding_lines(applied: &[Applied], reports: &[LintReport]) -> Vec<String> {
    applied
        .iter()
        .zip(reports)
        .flat_map(|(a, r)| {
            r.findings.iter().map(move |f| {
                format!(
                    "lint [{}] in {} {}: {}\n  statement: {}\n  instead: {}\n  or allow it: #[migration(..., allow({} = \"why it is safe here\"))]",
                    f.rule,
                    display_version(a.version),
                    a.name,
                    f.message,
                    migrate_core::sql::one_line(&r.statements[f.statement].sql, 160),
                    f.safe_alternative,
                    f.rule.replace('-', "_"),
                )
            })
        })
        .collect()
}

pub async fn run(ctx: &Context, args: &PlanArgs) -> Result<u8> {
    let prod = ctx.database_url()?;
    let scratch = scratch(ctx, &prod, true).await?;
    let before = schema_before(ctx, &scratch).await?;
    let (applied, held_back) = capture(
        ctx,
        &scratch,
        &crate::commands::stage::plan_options(&args.selection),
    )
    .await?;
    let reports = lint_with_schema(ctx, scratch.url.backend(), &applied, Some(&before))?;
    let passed = reports.iter().all(LintReport::passed);
    let out = &ctx.out;
    match out.format {
        Format::Json => out.document(&json!({
            "ok": passed,
            "database": prod.redacted(),
            "captured_on": "a scratch copy of the database (production was not touched)",
            "migrations": applied.iter().zip(&reports).map(|(a, r)| json!({
                "version": a.version,
                "name": a.name,
                "statements": a.statements.iter().zip(&r.statements).map(|(s, l)| {
                    let mut v = json!(s);
                    v["lock"] = json!(l.lock);
                    v["checked"] = json!(l.checked);
                    if let Some(why) = &l.not_checked {
                        v["not_checked"] = json!(why);
                    }
                    v
                }).collect::<Vec<_>>(),
                "findings": r.findings,
                "allowances": r.allowances,
                "unknown_allows": r.unknown_allows,
                "not_checked": r.not_checked(),
                "fully_checked": !a.used_raw_connection && r.not_checked() == 0,
                "used_raw_connection": a.used_raw_connection,
            })).collect::<Vec<_>>(),
            "findings": reports.iter().map(|r| r.findings.len()).sum::<usize>(),
            "held_back": held_back,
        })),
        Format::Sql => {
            for (a, r) in applied.iter().zip(&reports) {
                println!("-- {} {}", display_version(a.version), a.name);
                if a.used_raw_connection {
                    println!(
                        "-- not fully checked: it used the raw connection, whose statements are not captured"
                    );
                }
                for (i, (s, l)) in a.statements.iter().zip(&r.statements).enumerate() {
                    if let Some(why) = &l.not_checked {
                        println!("-- not checked: {}", comment(why));
                    }
                    for f in r.findings.iter().filter(|f| f.statement == i) {
                        println!("-- finding [{}]: {}", f.rule, comment(&f.message));
                        println!("--   instead: {}", comment(f.safe_alternative));
                    }
                    for al in r.allowances.iter().filter(|al| al.finding.statement == i) {
                        println!("-- allowed [{}]: {}", al.finding.rule, comment(&al.reason));
                    }
                    let lock = l
                        .lock
                        .as_ref()
                        .map_or(String::new(), |lock| format!(" -- lock: {lock}"));
                    println!("{};{lock}", s.sql.trim_end_matches(';'));
                }
                println!();
            }
        }
        Format::Human => {
            if applied.is_empty() {
                out.line("nothing pending: the plan is empty.");
            }
            for (a, r) in applied.iter().zip(&reports) {
                out.line(format!(
                    "{} {}  {}",
                    out.paint("migration", Tone::Bold),
                    display_version(a.version),
                    a.name
                ));
                for (i, (s, l)) in a.statements.iter().zip(&r.statements).enumerate() {
                    let lock = match (&l.lock, &l.not_checked) {
                        (_, Some(_)) => {
                            out.paint("  [not checked: no SQL dialect parses it]", Tone::Warn)
                        }
                        (Some(lock), None) => out.paint(&format!("  [lock: {lock}]"), Tone::Dim),
                        (None, None) => String::new(),
                    };
                    out.line(format!(
                        "  {}{lock}",
                        migrate_core::sql::one_line(&s.sql, 120)
                    ));
                    for f in r.findings.iter().filter(|f| f.statement == i) {
                        out.line(format!(
                            "    {} [{}] {}",
                            out.paint("finding", Tone::Bad),
                            f.rule,
                            f.message
                        ));
                        out.line(format!("      instead: {}", f.safe_alternative));
                    }
                    for al in r.allowances.iter().filter(|al| al.finding.statement == i) {
                        out.line(format!(
                            "    {} [{}] {}",
                            out.paint("allowed", Tone::Good),
                            al.finding.rule,
                            al.reason
                        ));
                    }
                }
                for id in &r.unknown_allows {
                    out.line(out.paint(
                        &format!("  allow({id} = ...) names no lint rule: it allows nothing"),
                        Tone::Warn,
                    ));
                }
                if a.used_raw_connection {
                    out.line(out.paint("  not fully checked: it used the raw connection, whose statements are not captured", Tone::Warn));
                }
            }
            if let Some(v) = held_back {
                out.line(format!(
                    "held back: contract migration {} (needs --phase contract)",
                    display_version(v)
                ));
            }
            let findings: usize = reports.iter().map(|r| r.findings.len()).sum();
            if findings > 0 {
                out.line(out.paint(
                    &format!("failed: {findings} lint finding(s); change the statements as shown, or allow each with a reason in the migration's attribute"),
                    Tone::Bad,
                ));
            }
        }
    }
    Ok(if passed { 0 } else { 1 })
}

/// Text on one SQL comment line.
fn comment(text: &str) -> String {
    text.replace('\n', " ")
}
