//! The result of a verification: one [`Check`] per check, with its verdict,
//! numbers and (when it did not run) the reason.

use std::time::Instant;

/// One check's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    /// Name: one of [`CHECKS`](super::CHECKS), `probe:<n>` or `health:<fn name>`.
    pub name: String,
    /// Passed (or disabled, or could not apply here).
    pub ok: bool,
    /// Numbers and reasons.
    pub detail: String,
    /// Why it was disabled, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<String>,
    /// Why it could not run here (e.g. no baseline, extension not loaded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// The numbers behind the verdict, for machines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    /// Time it took, in milliseconds.
    pub duration_ms: u64,
}

/// All checks of one verification.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifyReport {
    /// The checks, in order.
    pub checks: Vec<Check>,
}

impl VerifyReport {
    /// Whether every check passed.
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    /// The failed checks.
    pub fn failed(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.ok)
    }
}

pub(super) fn timed(
    name: impl Into<String>,
    started: Instant,
    ok: bool,
    detail: impl Into<String>,
) -> Check {
    Check {
        name: name.into(),
        ok,
        detail: detail.into(),
        disabled: None,
        skipped: None,
        data: None,
        duration_ms: started.elapsed().as_millis() as u64,
    }
}

pub(super) fn skipped(name: impl Into<String>, why: impl Into<String>) -> Check {
    let why = why.into();
    Check {
        name: name.into(),
        ok: true,
        detail: format!("not run: {why}"),
        disabled: None,
        skipped: Some(why),
        data: None,
        duration_ms: 0,
    }
}

impl Check {
    pub(super) fn with_data(mut self, data: serde_json::Value) -> Check {
        self.data = Some(data);
        self
    }
}
