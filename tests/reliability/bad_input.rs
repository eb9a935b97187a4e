//! Bad input: a table of wrong configurations, URLs, permissions,
//! migrations, backups, locks and query caches. Each case runs on its own
//! fresh database and asserts the exact exit code, a message saying what to
//! do, that the password never appears, and that the database (schema,
//! rows and history) is the same before and after.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness;
use crate::support::{Run, block_on};
use crate::{Backend, On, Tally, Unreachable};

mod cases;
mod tools;

/// The password put into every URL a case can hold one; it must never be printed.
pub const PASSWORD: &str = "s3cr3t-Rel1abl3";

/// Where a case runs and what it can do there.
pub struct Ctx<'a> {
    /// The sandbox and database of the case.
    pub on: On<'a>,
}

impl Ctx<'_> {
    /// The sandbox folder (the runner's working folder).
    pub fn dir(&self) -> &Path {
        self.on.sb.path()
    }

    /// Writes `text` to `relative` in the sandbox; returns the full path.
    pub fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.dir().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create the folder");
        }
        std::fs::write(&path, text).expect("write the file");
        path
    }

    /// A command for `runner` against this case's database.
    pub fn cmd_with(&self, runner: &Path, args: &[&str]) -> Command {
        match self.on.db {
            Some(db) => db.cmd(&self.on.sb, runner, args),
            None => self.on.sb.cmd_with(runner, args),
        }
    }

    /// Runs the case's runner.
    pub fn run(&self, args: &[&str]) -> Run {
        self.on.run(args)
    }

    /// Runs the case's runner with extra environment variables.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.on.run_env(args, env)
    }

    /// Runs another runner binary against this case's database.
    pub fn run_with(&self, runner: &Path, args: &[&str]) -> Run {
        harness::run(self.cmd_with(runner, args))
    }

    /// The database URL with [`PASSWORD`] in it on PostgreSQL (trust
    /// authentication ignores it); as it is elsewhere (MariaDB's root has no
    /// password, and checks one that is given).
    pub fn url_with_password(&self) -> String {
        match self.on.db {
            Some(db) if db.server == crate::Server::Postgres => db.url_with_password(PASSWORD),
            Some(db) => db.url.clone(),
            None => self.on.sb.url(),
        }
    }

    /// "The database as it is": schema, rows and history.
    pub fn state(&self) -> Vec<String> {
        match self.on.db {
            Some(db) => db.state(),
            None if self.on.sb.db_path().exists() => block_on(self.on.sb.state()),
            None => vec!["(no database file)".into()],
        }
    }
}

/// Why a case could not run here (its group counts it as skipped).
pub struct Skip(pub String);

/// Prepares the bad input and runs the command under test.
pub type Act = Box<dyn Fn(&Ctx) -> Result<Run, Skip>>;

/// One bad input.
pub struct Case {
    /// What is wrong, as reported.
    pub name: &'static str,
    /// Where it runs.
    pub backend: Backend,
    /// The fixture runner.
    pub runner: PathBuf,
    /// Arguments of the baseline run before the snapshot (`None`: nothing).
    pub setup: Option<&'static [&'static str]>,
    /// Runs after `setup`, before the snapshot.
    pub prepare: Option<fn(&Ctx)>,
    /// Prepares the bad input and runs the command under test.
    pub act: Act,
    /// The exact exit code.
    pub code: i32,
    /// A substring of the output saying what is wrong or what to do.
    pub needle: &'static str,
}

impl Case {
    /// The same case with `f` run after the setup, before the snapshot.
    pub fn prepare(self, f: fn(&Ctx)) -> Case {
        Case {
            prepare: Some(f),
            ..self
        }
    }
}

/// Runs one case on a fresh database; `Ok(false)`: skipped.
fn check(case: &Case, db: Option<&crate::TestDb>) -> Result<bool, String> {
    let ctx = Ctx {
        on: On::new(case.runner.clone(), db),
    };
    if let Some(setup) = case.setup {
        let r = ctx.run(setup);
        if r.code != 0 {
            return Err(format!("setup {setup:?} failed: {r:?}"));
        }
    }
    if let Some(prepare) = case.prepare {
        prepare(&ctx);
    }
    let before = ctx.state();
    let r = match (case.act)(&ctx) {
        Ok(r) => r,
        Err(Skip(why)) => {
            eprintln!("note: bad input `{}` skipped: {why}", case.name);
            return Ok(false);
        }
    };
    let all = r.all();
    if std::env::var_os("MIGRATE_RELIABILITY_VERBOSE").is_some() {
        eprintln!("--- {} (exit {})\n{}", case.name, r.code, all.trim_end());
    }
    let mut wrong = Vec::new();
    if r.code != case.code {
        wrong.push(format!("exit code {}, expected {}", r.code, case.code));
    }
    if !all.contains(case.needle) {
        wrong.push(format!("no `{}` in the output", case.needle));
    }
    if all.contains(PASSWORD) {
        wrong.push("the password appears in the output".into());
    }
    if all.contains("panicked") || all.contains("RUST_BACKTRACE") {
        wrong.push("the runner panicked".into());
    }
    let after = ctx.state();
    if after != before {
        let gone: Vec<_> = before.iter().filter(|l| !after.contains(l)).collect();
        let new: Vec<_> = after.iter().filter(|l| !before.contains(l)).collect();
        wrong.push(format!("the database changed: -{gone:?} +{new:?}"));
    }
    if wrong.is_empty() {
        Ok(true)
    } else {
        Err(format!(
            "{}\n--- stdout\n{}--- stderr\n{}",
            wrong.join("; "),
            r.stdout,
            r.stderr
        ))
    }
}

/// Runs every bad-input case, grouped by backend in the summary.
pub fn run(_seed: u64) -> Tally {
    let mut tally = Tally::default();
    let mut reachable = std::collections::BTreeMap::new();
    let mut skipped = 0;
    for case in cases::all() {
        let ok = *reachable
            .entry(case.backend.name())
            .or_insert_with(|| tally.reachable(case.backend));
        if !ok {
            continue;
        }
        let mut ran = true;
        tally.case(case.backend.name(), case.name, || {
            let db = case
                .backend
                .fresh()
                .map_err(|Unreachable| "the server went away".to_string())?;
            ran = check(&case, db.as_ref())?;
            Ok(())
        });
        if !ran {
            tally.uncount(case.backend.name());
            skipped += 1;
        }
    }
    if skipped > 0 {
        tally.skip(&format!("{skipped} case(s)"), "see the notes above");
    }
    tally
}
