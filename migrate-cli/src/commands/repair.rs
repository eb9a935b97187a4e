//! `repair`: resolve a dirty migration, with confirmation.

use std::io::{BufRead, IsTerminal, Write};

use migrate_core::rollback::Resolution;
use migrate_core::{Error, Result, display_version};
use serde_json::json;

use crate::Context;
use crate::cli::RepairArgs;
use crate::output::Tone;

pub async fn run(ctx: &Context, args: &RepairArgs) -> Result<u8> {
    let registry = ctx.migrator.registry()?;
    let url = ctx.database_url()?;
    let out = &ctx.out;
    let (resolution, what) = match (args.applied, args.rolled_back, args.run_down) {
        (true, _, _) => (
            Resolution::Applied,
            "mark it applied (its changes are in place)",
        ),
        (_, true, _) => (
            Resolution::RolledBack,
            "forget it, so that `apply` runs it again (its changes were undone)",
        ),
        (_, _, true) => (Resolution::RunDown, "run its down function, then forget it"),
        _ => {
            return Err(Error::Config(format!(
                "say how to resolve migration {}: `--applied` if its changes are in place, `--rolled-back` if they were undone by hand, or `--run-down` to run its down function",
                display_version(args.version)
            )));
        }
    };
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::Refused(format!(
                "repair changes the history table: confirm with `--yes` (no terminal to ask on). It would {what}. Nothing was changed."
            )));
        }
        eprint!(
            "repair migration {} on {}: {what}. Continue? [y/N] ",
            display_version(args.version),
            url.redacted()
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err(Error::Refused(
                "repair cancelled. Nothing was changed.".into(),
            ));
        }
    }
    let mut target = ctx.migrator.connect(&url, false).await?;
    let guard = target.lock().await?;
    let result = target.repair(&registry, args.version, resolution).await;
    guard.release().await;
    target.close().await;
    result?;
    if out.json() {
        out.document(&json!({ "ok": true, "version": args.version, "resolution": format!("{resolution:?}").to_lowercase() }));
    } else {
        out.line(ctx.complete(format!(
            "{} migration {} on {}: {what}. Run `cargo migrate status` to check.",
            out.paint("repaired", Tone::Good),
            display_version(args.version),
            url.redacted(),
        )));
    }
    Ok(0)
}
