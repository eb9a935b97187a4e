//! The pure comparison of what is registered with what the history table
//! says, and the plan of what `apply` would run. No I/O: tested without a
//! database, including property tests.

use std::collections::BTreeMap;

use crate::history::{AppliedRow, RowState};
use crate::migration::{Migration, Phase};
use crate::{Error, Result};

/// What the comparison needs to know of a registered migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// Version.
    pub version: u64,
    /// Name.
    pub name: String,
    /// Checksum of the code.
    pub checksum: String,
    /// Phase.
    pub phase: Phase,
    /// `file:line`.
    pub location: String,
}

impl Spec {
    /// The spec of a registered migration.
    pub fn of(m: &Migration) -> Spec {
        Spec {
            version: m.version,
            name: m.name.to_string(),
            checksum: m.checksum.to_string(),
            phase: m.phase,
            location: m.location(),
        }
    }
}

/// The state of one version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum State {
    /// Applied, and the code still hashes the same.
    Applied,
    /// Applied, but the code changed since.
    Drifted {
        /// Checksum recorded when applied.
        applied: String,
        /// Checksum of the code now.
        current: String,
    },
    /// Started (or failed) and never finished: blocks applies until `repair`.
    Dirty {
        /// `started` or `failed`.
        row_state: RowState,
    },
    /// In the history but no longer registered in this binary.
    Missing,
    /// Registered, not applied.
    Pending {
        /// Older than the newest applied version.
        out_of_order: bool,
    },
    /// A pending contract migration that `apply` stops before.
    HeldBack,
}

/// One line of the comparison.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    /// Version.
    pub version: u64,
    /// Name (from the code, else from the history).
    pub name: String,
    /// Phase.
    pub phase: Phase,
    /// Where it stands.
    #[serde(flatten)]
    pub state: State,
    /// The history row, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<AppliedRow>,
    /// `file:line` of the code, when registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// Registered migrations and history rows, side by side, by version.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Comparison {
    /// One entry per version, ascending.
    pub entries: Vec<Entry>,
}

/// Options that change what `apply` may do.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Stop after this version (inclusive).
    pub to: Option<u64>,
    /// Run contract migrations too.
    pub contract: bool,
    /// Accept drifted applied migrations.
    pub allow_drift: bool,
    /// Apply pending migrations older than the newest applied one.
    pub allow_out_of_order: bool,
}

/// What `apply` would run, and what it leaves for later.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Versions to apply, ascending.
    pub versions: Vec<u64>,
    /// The first pending contract migration that stops the plan, if any.
    pub held_back: Option<u64>,
}

/// Compares the registered specs with the history rows.
pub fn compare(registered: &[Spec], history: &[AppliedRow]) -> Comparison {
    let mut by_version: BTreeMap<u64, (Option<&Spec>, Option<&AppliedRow>)> = BTreeMap::new();
    for s in registered {
        by_version.entry(s.version).or_default().0 = Some(s);
    }
    for h in history {
        by_version.entry(h.version).or_default().1 = Some(h);
    }
    let newest_applied = history.iter().map(|h| h.version).max();
    let mut held = false;
    let entries = by_version
        .into_iter()
        .map(|(version, (spec, row))| {
            let state = match (spec, row) {
                (_, Some(r)) if r.state != RowState::Finished => {
                    State::Dirty { row_state: r.state }
                }
                (Some(s), Some(r)) if s.checksum != r.checksum => State::Drifted {
                    applied: r.checksum.clone(),
                    current: s.checksum.clone(),
                },
                (Some(_), Some(_)) => State::Applied,
                (None, Some(_)) => State::Missing,
                (Some(s), None) => {
                    if s.phase == Phase::Contract && !held {
                        held = true;
                        State::HeldBack
                    } else {
                        State::Pending {
                            out_of_order: newest_applied.is_some_and(|n| version < n),
                        }
                    }
                }
                (None, None) => unreachable!("an entry exists only for a spec or a row"),
            };
            Entry {
                version,
                name: spec
                    .map(|s| s.name.clone())
                    .or_else(|| row.map(|r| r.name.clone()))
                    .unwrap_or_default(),
                phase: spec
                    .map(|s| s.phase)
                    .or_else(|| row.map(|r| r.phase))
                    .unwrap_or(Phase::Expand),
                state,
                history: row.cloned(),
                location: spec.map(|s| s.location.clone()),
            }
        })
        .collect();
    Comparison { entries }
}

impl Comparison {
    /// Entries in a given kind of state.
    fn filter(&self, f: impl Fn(&State) -> bool) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| f(&e.state))
    }

    /// Pending entries (including held-back contract migrations).
    pub fn pending(&self) -> impl Iterator<Item = &Entry> {
        self.filter(|s| matches!(s, State::Pending { .. } | State::HeldBack))
    }

    /// Dirty entries.
    pub fn dirty(&self) -> impl Iterator<Item = &Entry> {
        self.filter(|s| matches!(s, State::Dirty { .. }))
    }

    /// Drifted entries.
    pub fn drifted(&self) -> impl Iterator<Item = &Entry> {
        self.filter(|s| matches!(s, State::Drifted { .. }))
    }

    /// Missing entries.
    pub fn missing(&self) -> impl Iterator<Item = &Entry> {
        self.filter(|s| matches!(s, State::Missing))
    }

    /// Applied (finished) entries, drifted ones included.
    pub fn applied(&self) -> impl Iterator<Item = &Entry> {
        self.filter(|s| matches!(s, State::Applied | State::Drifted { .. }))
    }

    /// The newest version with a history row.
    pub fn head(&self) -> Option<u64> {
        self.entries
            .iter()
            .filter(|e| e.history.is_some())
            .map(|e| e.version)
            .max()
    }

    /// Whether nothing needs doing: nothing pending, dirty or drifted.
    pub fn is_up_to_date(&self) -> bool {
        self.pending().next().is_none()
            && self.dirty().next().is_none()
            && self.drifted().next().is_none()
    }

    /// What `apply` would run, or why it must refuse.
    pub fn plan(&self, opts: &PlanOptions) -> Result<Plan> {
        if let Some(e) = self.dirty().next() {
            let row = e.history.as_ref();
            let mut detail = String::new();
            if let Some(err) = row.and_then(|r| r.error.as_deref()) {
                detail.push_str(&format!(": {err}"));
            }
            if let Some(stmt) = row.and_then(|r| r.failed_statement.as_deref()) {
                detail.push_str(&format!(
                    "\n  failing statement: {}",
                    crate::sql::one_line(stmt, 200)
                ));
            }
            return Err(Error::Dirty {
                version: e.version,
                name: e.name.clone(),
                state: match &e.state {
                    State::Dirty {
                        row_state: RowState::Failed,
                    } => "failed".into(),
                    _ => "was started".into(),
                },
                detail,
            });
        }
        if !opts.allow_drift
            && let Some(e) = self.drifted().next()
            && let State::Drifted { applied, current } = &e.state
        {
            return Err(Error::Drift {
                version: e.version,
                name: e.name.clone(),
                applied: short(applied),
                current: short(current),
                location: e.location.clone().unwrap_or_default(),
            });
        }
        let newest = self.applied().map(|e| e.version).max();
        let mut plan = Plan::default();
        for e in self.pending() {
            if opts.to.is_some_and(|to| e.version > to) {
                break;
            }
            if e.phase == Phase::Contract && !opts.contract {
                plan.held_back = Some(e.version);
                break;
            }
            if let Some(newest) = newest
                && e.version < newest
                && !opts.allow_out_of_order
            {
                return Err(Error::OutOfOrder {
                    version: e.version,
                    name: e.name.clone(),
                    newest,
                });
            }
            plan.versions.push(e.version);
        }
        Ok(plan)
    }
}

/// The first 12 hex digits of a checksum, as shown to people.
pub fn short(checksum: &str) -> String {
    checksum.chars().take(12).collect()
}

#[cfg(test)]
mod tests;
