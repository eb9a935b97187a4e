//! `check`: offline sanity of the registered set, with a dry run of every
//! migration on an empty scratch database.

use migrate_core::compare::PlanOptions;
use migrate_core::url::Backend;
use migrate_core::{Result, display_version};
use serde_json::json;

use crate::Context;
use crate::output::Tone;

pub async fn run(ctx: &Context) -> Result<u8> {
    let registry = ctx.migrator.registry()?;
    let out = &ctx.out;
    let backend = ctx
        .database_url()
        .map(|u| u.backend())
        .unwrap_or(Backend::Sqlite);
    let mut problems = Vec::new();
    let mut statements = 0;
    let dry_run = if backend == Backend::Sqlite {
        let prod = ctx
            .database_url()
            .or_else(|_| migrate_core::url::DbUrl::parse("sqlite://scratch.db"))?;
        let scratch = crate::commands::plan::scratch(ctx, &prod, false).await?;
        let all = PlanOptions {
            to: None,
            contract: true,
            allow_drift: false,
            allow_out_of_order: false,
        };
        match crate::commands::plan::capture(ctx, &scratch, &all).await {
            Ok((applied, _)) => {
                statements = applied.iter().map(|a| a.statements.len()).sum();
                format!(
                    "{} migrations ran on an empty scratch database ({statements} statements)",
                    applied.len()
                )
            }
            Err(e) => {
                problems.push(format!("dry run failed: {e}"));
                "dry run failed".to_string()
            }
        }
    } else {
        format!(
            "dry run skipped: no scratch {} database in this build",
            backend.as_str()
        )
    };
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
        for p in &problems {
            out.line(format!("{} {p}", out.paint("failed:", Tone::Bad)));
        }
    }
    Ok(if problems.is_empty() { 0 } else { 1 })
}
