//! `plan` and `check`'s dry run: the pending migrations run on a scratch
//! copy of the database (never production), with every statement captured.

use migrate_core::apply::{Applied, ApplyOptions, Event};
use migrate_core::compare::PlanOptions;
use migrate_core::url::{Backend, DbUrl};
use migrate_core::{Error, Result, display_version};
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

pub async fn run(ctx: &Context, args: &PlanArgs) -> Result<u8> {
    let prod = ctx.database_url()?;
    let scratch = scratch(ctx, &prod, true).await?;
    let (applied, held_back) = capture(
        ctx,
        &scratch,
        &crate::commands::stage::plan_options(&args.selection),
    )
    .await?;
    let out = &ctx.out;
    match out.format {
        Format::Json => out.document(&json!({
            "ok": true,
            "database": prod.redacted(),
            "captured_on": "a scratch copy of the database (production was not touched)",
            "migrations": applied.iter().map(|a| json!({
                "version": a.version,
                "name": a.name,
                "statements": a.statements,
                "fully_checked": !a.used_raw_connection,
            })).collect::<Vec<_>>(),
            "held_back": held_back,
        })),
        Format::Sql => {
            for a in &applied {
                println!("-- {} {}", display_version(a.version), a.name);
                for s in &a.statements {
                    println!("{};", s.sql.trim_end_matches(';'));
                }
                println!();
            }
        }
        Format::Human => {
            if applied.is_empty() {
                out.line("nothing pending: the plan is empty.");
            }
            for a in &applied {
                out.line(format!(
                    "{} {}  {}",
                    out.paint("migration", Tone::Bold),
                    display_version(a.version),
                    a.name
                ));
                for s in &a.statements {
                    out.line(format!("  {}", migrate_core::sql::one_line(&s.sql, 120)));
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
        }
    }
    Ok(0)
}
