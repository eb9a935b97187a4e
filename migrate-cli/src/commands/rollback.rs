//! `rollback`: undo the newest applied migrations, newest first. An
//! irreversible step stops it before anything runs.

use migrate_core::apply::Event;
use migrate_core::rollback::{RollbackTarget, RolledBack, first_irreversible, plan};
use migrate_core::{Error, Result, display_version, human_duration};
use serde_json::json;

use crate::Context;
use crate::cli::RollbackArgs;
use crate::output::Tone;

pub async fn run(ctx: &Context, args: &RollbackArgs) -> Result<u8> {
    let registry = ctx.migrator.registry()?;
    let url = ctx.database_url()?;
    let out = &ctx.out;
    let how = match (args.steps, args.to) {
        (Some(n), _) => RollbackTarget::Steps(n),
        (None, Some(v)) => RollbackTarget::To(v),
        (None, None) => return Err(Error::Config("give `--steps N` or `--to VERSION`".into())),
    };
    if url.sqlite_path().is_some_and(|p| !p.exists()) {
        return Err(Error::Refused(format!(
            "nothing to roll back: the database file of {} does not exist",
            url.redacted()
        )));
    }
    let mut target = ctx.migrator.connect(&url, false).await?;
    let guard = target.lock().await?;
    let result = async {
        let cmp = target.compare(&registry).await?;
        let steps = plan(&cmp, &registry, how)?;
        if let Some(irr) = first_irreversible(&cmp, &steps) {
            return Err(Error::Refused(format!(
                "cannot roll back: migration {} `{}` is irreversible ({}). Nothing was rolled back.\n  To go back past it, restore a backup taken before it was applied ({}): {}",
                display_version(irr.version),
                irr.name,
                irr.reason,
                irr.applied_at,
                crate::commands::restore_hint(ctx, &url, irr.version),
            )));
        }
        let mut done: Vec<RolledBack> = Vec::new();
        let mut ignore = Vec::new();
        let mut on_event = |e: Event<'_>| super::apply::progress(out, &e, &mut ignore);
        let r = target.run_rollback(&steps, &mut on_event).await;
        match r {
            Ok(d) => done.extend(d),
            Err(e) => return Err(e),
        }
        Ok(done)
    }
    .await;
    guard.release().await;
    target.close().await;
    let done = result?;
    if out.json() {
        out.document(&json!({ "ok": true, "database": url.redacted(), "rolled_back": done }));
    } else if done.is_empty() {
        out.line("nothing to roll back.");
    } else {
        let total: std::time::Duration = done.iter().map(|d| d.duration).sum();
        out.line(format!(
            "{} {} migration{} in {}.",
            out.paint("rolled back", Tone::Good),
            done.len(),
            if done.len() == 1 { "" } else { "s" },
            human_duration(total)
        ));
    }
    Ok(0)
}
