//! Rolling back applied migrations (`--to V` / `--steps N`) and repairing a
//! dirty history. Every refusal happens before anything runs.

use std::time::Duration;

use crate::apply::{Event, run_down};
use crate::compare::Comparison;
use crate::history::RowState;
use crate::migration::{Migration, display_version};
use crate::registry::Registry;
use crate::{Error, Result, Target};

/// How far to roll back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollbackTarget {
    /// Undo the N newest applied migrations.
    Steps(usize),
    /// Undo every applied migration newer than this version (0: all).
    To(u64),
}

/// A rollback that cannot run because of an irreversible migration.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Irreversible {
    /// Version of the irreversible migration.
    pub version: u64,
    /// Its name.
    pub name: String,
    /// Why it cannot be reversed.
    pub reason: String,
    /// When it was applied (RFC 3339), to find the backup taken before it.
    pub applied_at: String,
}

/// One rolled-back migration.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RolledBack {
    /// Version.
    pub version: u64,
    /// Name.
    pub name: String,
    /// Time its down took.
    #[serde(rename = "duration_ms", serialize_with = "crate::apply::ser_ms")]
    pub duration: Duration,
}

/// Which applied migrations a rollback would undo, newest first, or why not.
///
/// Pure: decided from the comparison and the registry alone.
pub fn plan(
    cmp: &Comparison,
    registry: &Registry,
    target: RollbackTarget,
) -> Result<Vec<&'static Migration>> {
    if let Some(e) = cmp.dirty().next() {
        return Err(Error::Refused(format!(
            "the database is dirty: migration {} `{}` was not finished. Resolve it with `cargo migrate repair {}` before rolling back. Nothing was changed.",
            display_version(e.version),
            e.name,
            e.version
        )));
    }
    let mut applied: Vec<_> = cmp.entries.iter().filter(|e| e.history.is_some()).collect();
    applied.sort_by_key(|e| std::cmp::Reverse(e.version));
    let chosen: Vec<_> = match target {
        RollbackTarget::Steps(n) => applied.into_iter().take(n).collect(),
        RollbackTarget::To(v) => {
            if v != 0 && !applied.iter().any(|e| e.version == v) {
                return Err(Error::Refused(format!(
                    "cannot roll back to {}: that version is not applied. Run `cargo migrate status` to see the applied versions, or use `--to 0` to undo everything. Nothing was changed.",
                    display_version(v)
                )));
            }
            applied.into_iter().filter(|e| e.version > v).collect()
        }
    };
    let mut out = Vec::with_capacity(chosen.len());
    for e in chosen {
        let Some(m) = registry.get(e.version) else {
            return Err(Error::Refused(format!(
                "cannot roll back migration {} `{}`: it is applied but no longer registered in this binary, so its down function is unknown. Roll back with the binary that applied it. Nothing was changed.",
                display_version(e.version),
                e.name
            )));
        };
        out.push(m);
    }
    Ok(out)
}

/// The first irreversible migration in a rollback plan, with its history.
pub fn first_irreversible(cmp: &Comparison, steps: &[&'static Migration]) -> Option<Irreversible> {
    let m = steps.iter().find(|m| m.down.is_none())?;
    let applied_at = cmp
        .entries
        .iter()
        .find(|e| e.version == m.version)
        .and_then(|e| e.history.as_ref())
        .map(|h| h.applied_at.clone())
        .unwrap_or_default();
    Some(Irreversible {
        version: m.version,
        name: m.name.to_string(),
        reason: m.irreversible_reason.unwrap_or_default().to_string(),
        applied_at,
    })
}

impl Target {
    /// Under the lock: runs the downs of `steps`, newest first.
    pub async fn run_rollback(
        &mut self,
        steps: &[&'static Migration],
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<Vec<RolledBack>> {
        let mut done = Vec::new();
        for &m in steps {
            crate::failpoint::hit("rollback.before_migration");
            on_event(Event::RollingBack(m));
            let duration = run_down(self, m).await?;
            tracing::info!(target: "migrate::rollback", version = m.version, name = m.name, duration_ms = duration.as_millis() as u64, "rolled back");
            on_event(Event::RolledBack {
                migration: m,
                duration,
            });
            done.push(RolledBack {
                version: m.version,
                name: m.name.to_string(),
                duration,
            });
        }
        Ok(done)
    }

    /// Under the lock: resolves a dirty history row.
    pub async fn repair(
        &mut self,
        registry: &Registry,
        version: u64,
        resolution: Resolution,
    ) -> Result<RowState> {
        let rows = self.history_rows().await?;
        let Some(row) = rows.iter().find(|r| r.version == version) else {
            return Err(Error::Refused(format!(
                "migration {} has no history row; nothing to repair. Run `cargo migrate status` to see dirty migrations.",
                display_version(version)
            )));
        };
        if row.state == RowState::Finished {
            return Err(Error::Refused(format!(
                "migration {} `{}` is not dirty (it finished); nothing to repair",
                display_version(version),
                row.name
            )));
        }
        let history = self.history.clone();
        match resolution {
            Resolution::Applied => {
                history
                    .set_state(
                        self.conn(),
                        version,
                        RowState::Finished,
                        row.duration_ms,
                        None,
                        None,
                    )
                    .await?;
                Ok(RowState::Finished)
            }
            Resolution::RolledBack => {
                history.delete(self.conn(), version).await?;
                Ok(RowState::Started)
            }
            Resolution::RunDown => {
                let m = registry.get(version).ok_or_else(|| {
                    Error::Refused(format!(
                        "migration {} is not registered in this binary, so its down function is unknown",
                        display_version(version)
                    ))
                })?;
                run_down(self, m).await?;
                Ok(RowState::Started)
            }
        }
    }
}

/// How to resolve a dirty migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Its changes are in place: mark it finished.
    Applied,
    /// Its changes were undone by hand: delete the row so it runs again.
    RolledBack,
    /// Run its down function, then delete the row.
    RunDown,
}
