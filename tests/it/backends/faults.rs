//! Faults on every backend: concurrent deployers, runners SIGKILLed at named
//! failpoints, lock timeouts behind another session, INVALID indexes, large
//! backups, a broken dump tool and passwords kept out of sight. Each case is
//! written once and run on PostgreSQL, MariaDB/MySQL and (where cheap) SQLite.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{Server, TestDb, eventually, mysql_db, pg_db, run, unique_name};
use crate::bin;
use crate::support::{Run, Sandbox, block_on, wait_for_line};

/// Where a case runs: the sandbox's SQLite file, or a server database.
struct On<'a> {
    sb: Sandbox,
    db: Option<&'a TestDb>,
}

impl<'a> On<'a> {
    fn new(runner: std::path::PathBuf, db: Option<&'a TestDb>) -> On<'a> {
        On {
            sb: Sandbox::new(runner),
            db,
        }
    }

    fn label(&self) -> &'static str {
        match self.db.map(|d| d.server) {
            None => "SQLite",
            Some(Server::Postgres) => "PostgreSQL",
            Some(Server::MySql) => "MariaDB/MySQL",
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        match self.db {
            Some(db) => db.cmd(&self.sb, &self.sb.runner, args),
            None => self.sb.cmd_with(&self.sb.runner, args),
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        run(self.cmd(args))
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut c = self.cmd(args);
        for (k, v) in env {
            c.env(k, v);
        }
        run(c)
    }

    fn scalar(&self, sql: &str) -> i64 {
        match self.db {
            Some(db) => db.scalar(sql),
            None => block_on(self.sb.scalar(sql)),
        }
    }

    fn has_table(&self, name: &str) -> bool {
        let sql = match self.db.map(|d| d.server) {
            None => format!(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{name}'"
            ),
            Some(Server::Postgres) => format!(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '{name}'"
            ),
            Some(Server::MySql) => format!(
                "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{name}'"
            ),
        };
        self.scalar(&sql) > 0
    }

    /// `status --format json`: each migration's state word, and the lock.
    fn status(&self) -> (Vec<String>, String) {
        let doc = self.run(&["status", "--format", "json"]).json();
        let states = doc["migrations"]
            .as_array()
            .expect("migrations")
            .iter()
            .map(|m| m["state"].as_str().unwrap_or("?").to_string())
            .collect();
        (
            states,
            doc["lock"]["lock"].as_str().unwrap_or("?").to_string(),
        )
    }

    fn backups(&self) -> usize {
        self.run(&["backups", "--format", "json"]).json()["backups"]
            .as_array()
            .map_or(0, Vec::len)
    }
}

/// Spawns `cmd` with `failpoint:pause`, waits until the failpoint is reached
/// and SIGKILLs the runner there; returns its stderr so far.
fn kill_at(mut cmd: Command, failpoint: &str) -> String {
    cmd.env("MIGRATE_FAILPOINT", format!("{failpoint}:pause"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("runner starts");
    let seen = wait_for_line(&mut child, "failpoint", Duration::from_secs(60));
    child.kill().expect("SIGKILL the runner");
    let _ = child.wait();
    seen
}

mod backups;
mod concurrent_indexes;
mod crashes;
mod deployers;
mod lock_timeouts;
mod passwords;
