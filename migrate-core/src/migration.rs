//! The record the `#[migration]` and `#[health_check]` attributes register for
//! each function, and the shape those functions must have.

use std::future::Future;
use std::pin::Pin;

use crate::{Db, Result};

/// A boxed, sendable future, as the registered function pointers return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A registered up, down or health-check function.
pub type MigrationFnPtr = for<'a> fn(&'a mut Db) -> BoxFuture<'a, Result<()>>;

/// Whether a migration keeps the deployed application working (`Expand`) or
/// removes what the previous application version needed (`Contract`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Additive: safe while the old application code runs (the default).
    Expand,
    /// Destructive: only after the application stopped using the old objects.
    Contract,
}

impl Phase {
    /// `expand` or `contract`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Expand => "expand",
            Phase::Contract => "contract",
        }
    }

    /// Parses `expand` or `contract`.
    pub fn parse(s: &str) -> Option<Phase> {
        match s {
            "expand" => Some(Phase::Expand),
            "contract" => Some(Phase::Contract),
            _ => None,
        }
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One registered migration, as written by `#[migration]`.
///
/// Built by the attribute in a `static`; read it through the registry.
#[derive(Debug)]
pub struct Migration {
    /// The version: a positive integer, usually a `YYYYMMDD_HHMMSS` timestamp.
    pub version: u64,
    /// Display name (the function name unless `name = "..."`).
    pub name: &'static str,
    /// First line of the doc comment, or empty.
    pub description: &'static str,
    /// The up function.
    pub up: MigrationFnPtr,
    /// The down function, for reversible migrations.
    pub down: Option<MigrationFnPtr>,
    /// Why the migration cannot be reversed, for irreversible ones.
    pub irreversible_reason: Option<&'static str>,
    /// Whether the up (and down) run inside a transaction.
    pub transaction: bool,
    /// Expand or contract.
    pub phase: Phase,
    /// Lint rules allowed for this migration, with the reason.
    pub allow: &'static [(&'static str, &'static str)],
    /// Source file of the attribute.
    pub file: &'static str,
    /// Line of the attribute.
    pub line: u32,
    /// sha256 of the canonical token stream of the up function's body.
    pub checksum: &'static str,
    /// The crate that defines it.
    pub crate_name: &'static str,
}

impl Migration {
    /// `file:line` of the migration.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }

    /// Whether a down function exists.
    pub fn is_reversible(&self) -> bool {
        self.down.is_some()
    }

    /// The version as people write it, `20241124_120000` for timestamps.
    pub fn display_version(&self) -> String {
        display_version(self.version)
    }
}

/// Formats a version: 14-digit timestamps as `YYYYMMDD_HHMMSS`, others as is.
pub fn display_version(version: u64) -> String {
    let s = version.to_string();
    if s.len() == 14 {
        format!("{}_{}", &s[..8], &s[8..])
    } else {
        s
    }
}

inventory::collect!(Migration);

/// A registered `#[health_check]`: run by `verify` after every apply.
#[derive(Debug)]
pub struct HealthCheck {
    /// The function name.
    pub name: &'static str,
    /// First line of the doc comment, or empty.
    pub description: &'static str,
    /// The check.
    pub run: MigrationFnPtr,
    /// Source file.
    pub file: &'static str,
    /// Line.
    pub line: u32,
}

inventory::collect!(HealthCheck);

impl HealthCheck {
    /// Every registered health check, sorted by name.
    pub fn registered() -> Vec<&'static HealthCheck> {
        let mut all: Vec<_> = inventory::iter::<HealthCheck>.into_iter().collect();
        all.sort_by_key(|h| (h.name, h.file, h.line));
        all
    }
}
