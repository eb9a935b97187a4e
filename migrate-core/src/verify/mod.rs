//! Health checks against a database after a change: the schema is readable,
//! the history is consistent, and every `#[health_check]` passes. A check can
//! be disabled only with a reason, which every report shows.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::compare::State;
use crate::migration::HealthCheck;
use crate::registry::Registry;
use crate::{Result, Target};

/// One check's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    /// Name: `schema`, `history`, `health:<fn name>`.
    pub name: String,
    /// Passed (or disabled).
    pub ok: bool,
    /// Numbers and reasons.
    pub detail: String,
    /// Why it was disabled, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<String>,
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

fn timed(name: String, started: Instant, ok: bool, detail: String) -> Check {
    Check {
        name,
        ok,
        detail,
        disabled: None,
        duration_ms: started.elapsed().as_millis() as u64,
    }
}

impl Target {
    /// Runs the checks; `disabled` maps check names to the reason they are off.
    pub async fn verify(
        &mut self,
        registry: &Registry,
        health: &[&'static HealthCheck],
        disabled: &BTreeMap<String, String>,
    ) -> Result<VerifyReport> {
        let mut checks = Vec::new();
        let skip = |name: &str| {
            disabled.get(name).map(|reason| Check {
                name: name.to_string(),
                ok: true,
                detail: format!("disabled: {reason}"),
                disabled: Some(reason.clone()),
                duration_ms: 0,
            })
        };

        if let Some(c) = skip("schema") {
            checks.push(c);
        } else {
            let t = Instant::now();
            checks.push(match crate::schema::snapshot(self.conn()).await {
                Ok(s) => {
                    let invalid = s.invalid_indexes();
                    if invalid.is_empty() {
                        timed(
                            "schema".into(),
                            t,
                            true,
                            format!("readable: {} tables", s.tables().len()),
                        )
                    } else {
                        timed(
                            "schema".into(),
                            t,
                            false,
                            format!(
                                "{} INVALID index(es) left by a failed CREATE INDEX CONCURRENTLY: {}; drop them (DROP INDEX CONCURRENTLY) and create them again",
                                invalid.len(),
                                invalid.join("; ")
                            ),
                        )
                    }
                }
                Err(e) => timed("schema".into(), t, false, e.to_string()),
            });
        }

        if let Some(c) = skip("history") {
            checks.push(c);
        } else {
            let t = Instant::now();
            let cmp = self.compare(registry).await?;
            let mut problems = Vec::new();
            for e in &cmp.entries {
                match &e.state {
                    State::Dirty { row_state } => problems.push(format!(
                        "{} {} is {}",
                        e.version,
                        e.name,
                        row_state.as_str()
                    )),
                    State::Drifted { .. } => {
                        problems.push(format!("{} {} drifted", e.version, e.name))
                    }
                    _ => {}
                }
            }
            let applied = cmp.applied().count();
            checks.push(if problems.is_empty() {
                timed(
                    "history".into(),
                    t,
                    true,
                    format!("consistent: {applied} applied"),
                )
            } else {
                timed("history".into(), t, false, problems.join("; "))
            });
        }

        for h in health {
            let name = format!("health:{}", h.name);
            if let Some(c) = skip(&name) {
                checks.push(c);
                continue;
            }
            let t = Instant::now();
            checks.push(match self.run_health_check(h).await {
                Ok(()) => timed(name, t, true, "passed".into()),
                Err(e) => timed(name, t, false, crate::url::redact(&e.to_string())),
            });
        }
        for c in &checks {
            if c.ok {
                tracing::info!(target: "migrate::verify", check = %c.name, duration_ms = c.duration_ms, detail = %c.detail, "check passed");
            } else {
                tracing::warn!(target: "migrate::verify", check = %c.name, duration_ms = c.duration_ms, detail = %c.detail, "check failed");
            }
        }
        Ok(VerifyReport { checks })
    }

    /// Runs a health check inside a transaction that is always rolled back,
    /// so a check can never change production. Bounded to 60 s.
    async fn run_health_check(&mut self, h: &'static HealthCheck) -> Result<()> {
        self.conn().begin_read().await?;
        let result =
            match tokio::time::timeout(Duration::from_secs(60), (h.run)(&mut self.db)).await {
                Ok(r) => r,
                Err(_) => Err(crate::Error::msg("did not finish within 60 s")),
            };
        let _ = self.conn().rollback().await;
        self.db.take_record();
        result
    }
}
