//! `On`: where a backend case runs (the sandbox's SQLite file, or a server
//! database), with the runner and catalog helpers the suites share.

use std::process::{Command, Stdio};
use std::time::Duration;

use super::{Server, TestDb, run};
use crate::support::{Run, Sandbox, block_on, wait_for_line};

/// Where a case runs: the sandbox's SQLite file, or a server database.
pub(super) struct On<'a> {
    pub sb: Sandbox,
    pub db: Option<&'a TestDb>,
}

impl<'a> On<'a> {
    pub(super) fn new(runner: std::path::PathBuf, db: Option<&'a TestDb>) -> On<'a> {
        On {
            sb: Sandbox::new(runner),
            db,
        }
    }

    pub(super) fn label(&self) -> &'static str {
        match self.db.map(|d| d.server) {
            None => "SQLite",
            Some(Server::Postgres) => "PostgreSQL",
            Some(Server::MySql) => "MariaDB/MySQL",
        }
    }

    pub(super) fn cmd(&self, args: &[&str]) -> Command {
        match self.db {
            Some(db) => db.cmd(&self.sb, &self.sb.runner, args),
            None => self.sb.cmd_with(&self.sb.runner, args),
        }
    }

    pub(super) fn run(&self, args: &[&str]) -> Run {
        run(self.cmd(args))
    }

    pub(super) fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut c = self.cmd(args);
        for (k, v) in env {
            c.env(k, v);
        }
        run(c)
    }

    pub(super) fn scalar(&self, sql: &str) -> i64 {
        match self.db {
            Some(db) => db.scalar(sql),
            None => block_on(self.sb.scalar(sql)),
        }
    }

    pub(super) fn has_table(&self, name: &str) -> bool {
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
    pub(super) fn status(&self) -> (Vec<String>, String) {
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

    pub(super) fn backups(&self) -> usize {
        self.run(&["backups", "--format", "json"]).json()["backups"]
            .as_array()
            .map_or(0, Vec::len)
    }
    /// Runs a statement that returns no rows, directly on the database.
    pub(super) fn execute(&self, sql: &str) {
        block_on(async {
            match self.db {
                Some(db) => {
                    let mut c = db.connect().await;
                    c.execute(sql)
                        .await
                        .unwrap_or_else(|e| panic!("{sql}: {e}"));
                    c.close().await;
                }
                None => {
                    let mut c = self.sb.connect().await;
                    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                        .execute(&mut c)
                        .await
                        .unwrap_or_else(|e| panic!("{sql}: {e}"));
                }
            }
        })
    }

    /// The runtime's normalized schema snapshot.
    pub(super) fn schema(&self) -> Vec<String> {
        match self.db {
            Some(db) => db.schema(),
            None => block_on(async {
                let url = migrate_core::url::DbUrl::parse(&self.sb.url()).expect("sqlite url");
                let mut c = migrate_core::driver::connect(&url, &Default::default())
                    .await
                    .expect("open the sqlite database");
                let s = migrate_core::schema::snapshot(&mut c)
                    .await
                    .expect("schema snapshot");
                c.close().await;
                s.lines
            }),
        }
    }

    /// `status --format json`: each migration's state word.
    pub(super) fn states(&self) -> Vec<String> {
        let doc = self.run(&["status", "--format", "json"]).json();
        doc["migrations"]
            .as_array()
            .expect("migrations")
            .iter()
            .map(|m| m["state"].as_str().unwrap_or("?").to_string())
            .collect()
    }

    /// Starts `apply` with `failpoint:pause`, waits until it is reached and
    /// SIGKILLs the runner there; returns its stderr so far.
    pub(super) fn kill_apply_at(&self, failpoint: &str) -> String {
        let mut cmd = self.cmd(&["apply"]);
        cmd.env("MIGRATE_FAILPOINT", format!("{failpoint}:pause"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("runner starts");
        let seen = wait_for_line(&mut child, "failpoint", Duration::from_secs(60));
        child.kill().expect("SIGKILL the runner");
        let _ = child.wait();
        seen
    }
}

/// Spawns `cmd` with `failpoint:pause`, waits until the failpoint is reached
/// and SIGKILLs the runner there; returns its stderr so far.
pub(super) fn kill_at(mut cmd: Command, failpoint: &str) -> String {
    cmd.env("MIGRATE_FAILPOINT", format!("{failpoint}:pause"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("runner starts");
    let seen = wait_for_line(&mut child, "failpoint", Duration::from_secs(60));
    child.kill().expect("SIGKILL the runner");
    let _ = child.wait();
    seen
}
