//! Test support for users' own test suites: a fresh migrated database per
//! test ([`TestDatabase`], behind `#[migrate_core::test]`), and the proof that
//! every registered migration's down really undoes its up, with the same
//! round trip the staging rehearsal runs.
//!
//! ```no_run
//! // tests/migrations.rs of a migrations crate
//! #[test]
//! fn migrations_round_trip() {
//!     migrate_core::testing::assert_round_trip();
//! }
//! ```

use std::time::Duration;

use crate::compare::PlanOptions;
use crate::stage::{RoundTrip, StageOptions};
use crate::url::DbUrl;
use crate::{Error, Migrator, Result};

mod database;
mod run;

pub use database::TestDatabase;
#[doc(hidden)]
pub use run::{Base, Body, run};
pub use run::{IntoBaseUrl, TestArg, TestReturn};

/// Applies every registered migration (contract ones included) on a scratch
/// database, running each down and its up again; fails with the first
/// migration whose down does not restore the schema, with the diff.
///
/// `url` names the scratch database (it must be empty or absent); `None`
/// uses a temporary SQLite file, removed afterwards.
pub async fn round_trip(url: Option<&str>) -> Result<()> {
    let temp = match url {
        Some(_) => None,
        None => Some(std::env::temp_dir().join(format!(
            "migrate-round-trip-{}-{}.db",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        ))),
    };
    let url = match (&temp, url) {
        (Some(path), _) => DbUrl::parse(&format!("sqlite://{}", path.display()))?,
        (None, Some(u)) => DbUrl::parse(u)?,
        (None, None) => unreachable!("a URL or a temporary file"),
    };
    let result = round_trip_on(&url).await;
    if let Some(path) = temp {
        for suffix in ["", "-wal", "-shm", "-journal", "._migrate_history.lock"] {
            let mut p = path.as_os_str().to_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(std::path::PathBuf::from(p));
        }
    }
    result
}

async fn round_trip_on(url: &DbUrl) -> Result<()> {
    let migrator = Migrator::registered();
    let registry = migrator.registry()?;
    let mut target = migrator.connect(url, true).await?;
    let opts = StageOptions {
        plan: PlanOptions {
            contract: true,
            ..PlanOptions::default()
        },
        max_duration: Duration::from_secs(24 * 3600),
        max_migration_duration: None,
        lock_budget: None,
    };
    let report = target.rehearse(&registry, &opts, &mut |_| {}).await;
    target.close().await;
    let report = report?;
    for m in &report.migrations {
        match &m.round_trip {
            RoundTrip::Ok | RoundTrip::Irreversible { .. } => {}
            RoundTrip::Failed { step, diff } => {
                return Err(Error::CheckFailed(format!(
                    "migration {} `{}` does not round-trip: after its {step} the schema differs:\n{diff}",
                    crate::display_version(m.applied.version),
                    m.applied.name
                )));
            }
            RoundTrip::Error { step, message } => {
                return Err(Error::CheckFailed(format!(
                    "migration {} `{}` does not round-trip: its {step} failed: {message}",
                    crate::display_version(m.applied.version),
                    m.applied.name
                )));
            }
        }
    }
    Ok(())
}

/// [`round_trip`] on a temporary SQLite database, panicking with the
/// migration's name and the schema diff when a down does not undo its up.
#[track_caller]
pub fn assert_round_trip() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("cannot start a runtime for the round trip: {e}"));
    if let Err(e) = runtime.block_on(round_trip(None)) {
        panic!("{e}");
    }
}
