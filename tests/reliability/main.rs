//! The reliability suite: tries to break the runner with crashes, races and
//! bad input on every backend, and prints one summary line per category
//! (cases tried, passed) so the numbers can be quoted.
//!
//! A plain binary (`harness = false`), so the summary always prints in
//! `cargo test` output. Bounded for CI; `MIGRATE_SOAK=1` runs more
//! iterations. Randomized choices come from one seed, printed first and
//! replayed with `MIGRATE_SEED=<n>`. `MIGRATE_RELIABILITY=crash,race`
//! runs only the named categories; `MIGRATE_RELIABILITY_VERBOSE=1` prints
//! what each bad-input case printed. PostgreSQL and MariaDB cases are skipped
//! with a notice when a server is unreachable, and fail with
//! `MIGRATE_TEST_REQUIRE_SERVERS=1`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;
use std::time::Instant;

#[allow(dead_code)]
#[path = "../it/support.rs"]
mod support;

#[allow(dead_code)]
#[path = "../it/backends/harness.rs"]
mod harness;

#[allow(dead_code)]
#[path = "../it/backends/on.rs"]
mod on;

mod bad_input;
mod crash;
mod race;
mod rng;

use harness::{Server, TestDb, mysql_db, pg_db, run};

use self::on::On;

/// A backend a case runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in the case's sandbox.
    Sqlite,
    /// A fresh database on the PostgreSQL server.
    Postgres,
    /// A fresh database on the MariaDB/MySQL server.
    MariaDb,
}

impl Backend {
    /// Every backend, in report order.
    pub const ALL: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::MariaDb];

    /// The short name used in summary lines.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::MariaDb => "mariadb",
        }
    }

    /// A fresh database for one case: `Ok(None)` for SQLite (the sandbox's
    /// file), `Err(Unreachable)` when the server is unreachable (after the harness's
    /// notice; the harness panics instead under `MIGRATE_TEST_REQUIRE_SERVERS=1`).
    pub fn fresh(self) -> Result<Option<TestDb>, Unreachable> {
        match self {
            Backend::Sqlite => Ok(None),
            Backend::Postgres => pg_db().map(Some).ok_or(Unreachable),
            Backend::MariaDb => mysql_db().map(Some).ok_or(Unreachable),
        }
    }
}

/// A server that did not answer (after the harness's notice).
#[derive(Debug)]
pub struct Unreachable;

/// A category: its seed in, its tally out.
type Category = fn(u64) -> Tally;

/// The tally of one category: cases tried and failures, per backend or group.
#[derive(Default)]
pub struct Tally {
    groups: Vec<(String, usize, usize)>,
    failures: Vec<String>,
    skipped: Vec<String>,
}

impl Tally {
    /// Runs one case, catching its panics; a failure is recorded with `label`.
    pub fn case(&mut self, group: &str, label: &str, f: impl FnOnce() -> Result<(), String>) {
        let outcome = match catch_unwind(AssertUnwindSafe(f)) {
            Ok(r) => r,
            Err(panic) => Err(panic_message(panic)),
        };
        let at = match self.groups.iter().position(|(g, _, _)| g == group) {
            Some(at) => at,
            None => {
                self.groups.push((group.to_string(), 0, 0));
                self.groups.len() - 1
            }
        };
        self.groups[at].1 += 1;
        match outcome {
            Ok(()) => self.groups[at].2 += 1,
            Err(why) => {
                eprintln!("FAIL {group} / {label}: {why}");
                self.failures.push(format!("{group} / {label}: {why}"));
            }
        }
    }

    /// Whether `backend` can be used: an unreachable server is skipped with
    /// a notice, or counted as a failed case under `MIGRATE_TEST_REQUIRE_SERVERS=1`.
    pub fn reachable(&mut self, backend: Backend) -> bool {
        match catch_unwind(|| backend.fresh().is_ok()) {
            Ok(true) => true,
            Ok(false) => {
                self.skip(backend.name(), "server unreachable");
                false
            }
            Err(panic) => {
                let why = panic_message(panic);
                self.case(backend.name(), "server reachable", || Err(why));
                false
            }
        }
    }

    /// Takes back the last passed case of `group` (it turned out to be skipped).
    pub fn uncount(&mut self, group: &str) {
        if let Some(g) = self.groups.iter_mut().find(|g| g.0 == group) {
            g.1 -= 1;
            g.2 -= 1;
        }
    }

    /// Records that a whole group was skipped, and why.
    pub fn skip(&mut self, group: &str, why: &str) {
        self.skipped.push(format!("{group} ({why})"));
    }

    fn tried(&self) -> usize {
        self.groups.iter().map(|g| g.1).sum()
    }

    fn passed(&self) -> usize {
        self.groups.iter().map(|g| g.2).sum()
    }

    /// `reliability: crash      60 tried, 60 passed (sqlite 20, postgres 20, mariadb 20)`.
    fn summary(&self, category: &str) -> String {
        let groups: Vec<String> = self
            .groups
            .iter()
            .map(|(g, tried, passed)| {
                if tried == passed {
                    format!("{g} {tried}")
                } else {
                    format!("{g} {passed}/{tried}")
                }
            })
            .chain(self.skipped.iter().map(|s| format!("{s} skipped")))
            .collect();
        format!(
            "reliability: {category:<10} {:>3} tried, {:>3} passed ({})",
            self.tried(),
            self.passed(),
            groups.join(", ")
        )
    }
}

/// The message of a caught panic.
fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .map_or_else(|| "panicked".to_string(), |m| format!("panicked: {m}"))
}

/// Whether the long soak was asked for (`MIGRATE_SOAK=1`).
pub fn soak() -> bool {
    std::env::var("MIGRATE_SOAK").is_ok_and(|v| v == "1")
}

fn main() -> ExitCode {
    // Cases catch their panics and report them; one line each, no backtrace.
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("panic at {at}");
    }));
    let seed = rng::seed();
    let only = std::env::var("MIGRATE_RELIABILITY").unwrap_or_default();
    let wanted = |name: &str| only.is_empty() || only.split(',').any(|c| c.trim() == name);
    println!(
        "reliability: seed {seed} (replay with MIGRATE_SEED={seed}){}",
        if soak() { ", soak" } else { "" }
    );
    let categories: [(&str, Category); 3] = [
        ("crash", crash::run),
        ("race", race::run),
        ("bad-input", bad_input::run),
    ];
    let started = Instant::now();
    let mut lines = Vec::new();
    let mut failures = Vec::new();
    for (i, (name, category)) in categories.into_iter().enumerate() {
        if !wanted(name) {
            continue;
        }
        let t = Instant::now();
        let tally = category(rng::mix(seed, i as u64));
        let line = tally.summary(name);
        println!("{line}  [{:.0} s]", t.elapsed().as_secs_f64());
        lines.push(line);
        failures.extend(tally.failures);
    }
    println!(
        "reliability: proptest   not run here: `cargo test -p cargo-migrate --lib config::tests::fuzz` \
         and `cargo test -p cargo-migrate-macros --lib checksum::fuzz` (5 properties x 256 cases each)"
    );
    println!(
        "reliability: summary ({:.0} s)",
        started.elapsed().as_secs_f64()
    );
    for line in &lines {
        println!("{line}");
    }
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        println!("reliability: {} failed case(s):", failures.len());
        for f in &failures {
            println!("  {f}");
        }
        println!("reliability: replay with MIGRATE_SEED={seed}");
        ExitCode::FAILURE
    }
}
