//! `status`: where every migration stands, and who holds the lock.

use migrate_core::compare::{Comparison, State, short};
use migrate_core::history::RowState;
use migrate_core::lock::LockStatus;
use migrate_core::{Result, display_version, human_duration};
use serde_json::json;

use crate::Context;
use crate::output::{Tone, table};

pub async fn run(ctx: &Context) -> Result<u8> {
    let registry = ctx.migrator.registry()?;
    let url = ctx.database_url()?;
    let missing_file = url.sqlite_path().is_some_and(|p| !p.exists());
    let (cmp, lock, invalid_indexes) = if missing_file {
        (
            migrate_core::compare::compare(&registry.specs(), &[]),
            LockStatus::Free,
            Vec::new(),
        )
    } else {
        let mut target = ctx.migrator.connect(&url, false).await?;
        let lock = target.lock_status().await?;
        let cmp = target.compare(&registry).await;
        // A warning only: a catalog that cannot be read here is `verify`'s to report.
        let invalid = migrate_core::schema::invalid_indexes(target.db().conn_mut())
            .await
            .unwrap_or_default();
        target.close().await;
        (cmp?, lock, invalid)
    };
    let code = if cmp.is_up_to_date() { 0 } else { 4 };
    let out = &ctx.out;
    if out.json() {
        out.document(&json!({
            "ok": code == 0,
            "database": url.redacted(),
            "history_table": ctx.config.history_table,
            "lock": lock,
            "migrations": cmp.entries.iter().map(|e| {
                let m = registry.get(e.version);
                json!({
                    "version": e.version,
                    "name": e.name,
                    "phase": e.phase,
                    "state": state_word(&e.state),
                    "detail": e.state,
                    "applied_at": e.history.as_ref().map(|h| h.applied_at.clone()),
                    "duration_ms": e.history.as_ref().and_then(|h| h.duration_ms),
                    "applied_by": e.history.as_ref().map(|h| h.applied_by.clone()),
                    "error": e.history.as_ref().and_then(|h| h.error.clone()),
                    "failed_statement": e.history.as_ref().and_then(|h| h.failed_statement.clone()),
                    "rehearsal_skipped": e.history.as_ref().is_some_and(|h| h.rehearsal_skipped),
                    "reversible": m.map(|m| m.is_reversible()),
                    "irreversible_reason": m.and_then(|m| m.irreversible_reason),
                    "location": e.location,
                })
            }).collect::<Vec<_>>(),
            "invalid_indexes": invalid_indexes,
            "summary": summary(&cmp),
            "exit_code": code,
        }));
        return Ok(code);
    }
    out.line(format!(
        "{}  {}   {} {}",
        out.paint("database", Tone::Bold),
        url.redacted(),
        out.paint("history", Tone::Dim),
        ctx.config.history_table
    ));
    let lock_text = match &lock {
        LockStatus::Free => "free".to_string(),
        LockStatus::None => "none (in-memory database)".to_string(),
        LockStatus::Held { holder: Some(h) } => {
            format!("held by pid {} on {} since {}", h.pid, h.host, h.since)
        }
        LockStatus::Held { holder: None } => "held (holder unknown)".to_string(),
    };
    out.line(format!(
        "{}      {lock_text}",
        out.paint("lock", Tone::Bold)
    ));
    if missing_file {
        out.line(out.paint(
            "          the database file does not exist yet; `apply` creates it",
            Tone::Dim,
        ));
    }
    out.line("");
    if cmp.entries.is_empty() {
        out.line("  no migrations registered and none applied");
    } else {
        let mut rows = vec![
            ["version", "name", "phase", "state", "applied", "took", ""]
                .iter()
                .map(|s| out.paint(s, Tone::Dim))
                .collect::<Vec<_>>(),
        ];
        for e in &cmp.entries {
            let m = registry.get(e.version);
            let (word, tone) = match &e.state {
                State::Applied => ("applied".to_string(), Tone::Good),
                State::Drifted { .. } => ("DRIFTED".to_string(), Tone::Bad),
                State::Dirty { row_state } => {
                    (format!("DIRTY ({})", row_state.as_str()), Tone::Bad)
                }
                State::Missing => ("missing".to_string(), Tone::Warn),
                State::Pending { out_of_order: true } => {
                    ("pending (out of order)".to_string(), Tone::Warn)
                }
                State::Pending { .. } => ("pending".to_string(), Tone::Warn),
                State::HeldBack => ("held back (needs --phase contract)".to_string(), Tone::Warn),
            };
            let mut notes = Vec::new();
            if m.is_some_and(|m| !m.is_reversible()) {
                notes.push("irreversible");
            }
            if e.history.as_ref().is_some_and(|h| h.rehearsal_skipped) {
                notes.push("rehearsal skipped");
            }
            rows.push(vec![
                display_version(e.version),
                e.name.clone(),
                e.phase.to_string(),
                out.paint(&word, tone),
                e.history
                    .as_ref()
                    .map(|h| {
                        h.applied_at
                            .replace('T', " ")
                            .trim_end_matches('Z')
                            .to_string()
                    })
                    .unwrap_or_default(),
                e.history
                    .as_ref()
                    .and_then(|h| h.duration_ms)
                    .map(|ms| human_duration(std::time::Duration::from_millis(ms.max(0) as u64)))
                    .unwrap_or_default(),
                notes.join(", "),
            ]);
        }
        for l in table(&rows) {
            out.line(l);
        }
    }
    out.line("");
    for e in cmp.drifted() {
        if let State::Drifted { applied, current } = &e.state {
            out.line(ctx.complete(format!(
                "{} {} {} was applied with checksum {}…, the code now hashes to {}… ({}).\n  Restore the applied code, or accept the edit with `cargo migrate apply --allow-drift`.",
                out.paint("drifted:", Tone::Bad),
                display_version(e.version),
                e.name,
                short(applied),
                short(current),
                e.location.as_deref().unwrap_or("?")
            )));
        }
    }
    let registry = ctx.migrator.registry()?;
    for e in cmp.dirty() {
        let h = e.history.as_ref();
        let failed = matches!(
            e.state,
            State::Dirty {
                row_state: RowState::Failed
            }
        );
        let statement = h.and_then(|h| h.failed_statement.as_deref());
        // The recorded error ends with the statement when one failed: say it once.
        let error = h
            .and_then(|h| h.error.as_deref())
            .map(|err| match statement {
                Some(_) => err.split("\n  statement: ").next().unwrap_or(err),
                None => err,
            });
        let m = registry.get(e.version);
        let advice = match (failed, m) {
            (true, Some(m)) => {
                migrate_core::apply::failed_advice(m.transaction, m.down.is_some(), m.version)
            }
            _ => format!(
                "Inspect the database, then `cargo migrate repair {v} --applied` or `cargo migrate repair {v} --rolled-back`.",
                v = display_version(e.version)
            ),
        };
        let advice = ctx.complete(advice);
        out.line(format!(
            "{} {} {} {}{}{}\n  {advice}",
            out.paint("dirty:", Tone::Bad),
            display_version(e.version),
            e.name,
            if failed {
                "failed part-way"
            } else {
                "was started and never finished (the runner died?)"
            },
            error.map(|err| format!(": {err}")).unwrap_or_default(),
            statement
                .map(|s| format!(
                    "\n  failing statement: {}",
                    migrate_core::sql::one_line(s, 160)
                ))
                .unwrap_or_default(),
        ));
    }
    for e in cmp.missing() {
        out.line(format!(
            "{} {} {} is applied but not registered in this binary (deleted, or built without its crate).",
            out.paint("missing:", Tone::Warn),
            display_version(e.version),
            e.name
        ));
    }
    for index in &invalid_indexes {
        out.line(format!(
            "{} index {index} is INVALID (left by a failed CREATE INDEX CONCURRENTLY): it is maintained on every write but never used.\n  Drop it with DROP INDEX CONCURRENTLY and create it again.",
            out.paint("warning:", Tone::Warn),
        ));
    }
    let s = summary(&cmp);
    let line = if code == 0 {
        out.paint("up to date.", Tone::Good)
    } else {
        let mut parts = Vec::new();
        for (key, label) in [
            ("pending", "pending"),
            ("held_back", "held back"),
            ("dirty", "dirty"),
            ("drifted", "drifted"),
        ] {
            let n = s[key].as_u64().unwrap_or(0);
            if n > 0 {
                parts.push(format!("{n} {label}"));
            }
        }
        let n = |key: &str| s[key].as_u64().unwrap_or(0);
        let next = if n("dirty") > 0 {
            "Repair the dirty migration first (above)."
        } else if n("drifted") > 0 {
            "Restore the drifted code, or accept it (above)."
        } else if n("pending") > 0 {
            "Run `cargo migrate apply` (or `deploy`)."
        } else {
            "Deploy them with `--phase contract` once the running application no longer uses what they remove."
        };
        ctx.complete(format!("{}. {next}", parts.join(", ")))
    };
    out.line(line);
    Ok(code)
}

fn state_word(s: &State) -> &'static str {
    match s {
        State::Applied => "applied",
        State::Drifted { .. } => "drifted",
        State::Dirty { .. } => "dirty",
        State::Missing => "missing",
        State::Pending { .. } => "pending",
        State::HeldBack => "held_back",
    }
}

fn summary(cmp: &Comparison) -> serde_json::Value {
    let count = |f: fn(&State) -> bool| cmp.entries.iter().filter(|e| f(&e.state)).count();
    json!({
        "applied": count(|s| matches!(s, State::Applied | State::Drifted { .. })),
        "pending": count(|s| matches!(s, State::Pending { .. })),
        "held_back": count(|s| matches!(s, State::HeldBack)),
        "dirty": count(|s| matches!(s, State::Dirty { .. })),
        "drifted": count(|s| matches!(s, State::Drifted { .. })),
        "missing": count(|s| matches!(s, State::Missing)),
    })
}
