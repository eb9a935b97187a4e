//! Test helpers: fixture runner binaries, a fresh project folder per test,
//! and direct reads of the database to check what the runner did.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The path of a fixture runner binary of this package.
#[macro_export]
macro_rules! bin {
    ($name:literal) => {
        std::path::PathBuf::from(env!(concat!("CARGO_BIN_EXE_", $name)))
    };
}

/// A fresh folder with a SQLite database URL, dropped after the test.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub runner: PathBuf,
}

/// What a runner invocation printed and returned.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// stdout parsed as exactly one JSON document.
    pub fn json(&self) -> serde_json::Value {
        let mut de =
            serde_json::Deserializer::from_str(&self.stdout).into_iter::<serde_json::Value>();
        let doc = de
            .next()
            .unwrap_or_else(|| panic!("no JSON document on stdout: {self:?}"))
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"));
        assert!(
            de.next().is_none(),
            "more than one JSON document on stdout: {self:?}"
        );
        doc
    }

    /// stdout and stderr together.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Asserts the exit code, showing everything printed when it differs.
    #[track_caller]
    pub fn expect(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "unexpected exit code:\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl Sandbox {
    pub fn new(runner: PathBuf) -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
            runner,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A sandbox with a `Migrate.toml` naming a staging database beside production.
    pub fn with_config(runner: PathBuf, extra: &str) -> Sandbox {
        let sb = Sandbox::new(runner);
        sb.write_config(extra);
        sb
    }

    /// Writes `Migrate.toml` (staging beside production, backups in `backups/`) plus `extra`.
    pub fn write_config(&self, extra: &str) {
        let text = format!(
            "[database]\nurl = \"sqlite://app.db\"\n\n[staging]\nurl = \"sqlite://staging.db\"\n\n[backup]\ndir = \"backups\"\n{extra}"
        );
        std::fs::write(self.dir.path().join("Migrate.toml"), text).expect("write Migrate.toml");
    }

    /// The backup folder of the default configuration.
    pub fn backup_dir(&self) -> PathBuf {
        self.dir.path().join("backups")
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("app.db")
    }

    pub fn url(&self) -> String {
        format!("sqlite://{}", self.db_path().display())
    }

    /// A command for `runner` in this sandbox, with the database URL set.
    pub fn cmd_with(&self, runner: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(runner);
        c.args(args)
            .current_dir(self.dir.path())
            .env("DATABASE_URL", self.url())
            .env("NO_COLOR", "1")
            // Core tests apply directly; the rehearsal gate has tests of its own.
            .env("MIGRATE_APPLY_REQUIRE_REHEARSAL", "false")
            .env_remove("MIGRATE_FAILPOINT")
            .env_remove("MIGRATE_CONFIG")
            .stdin(Stdio::null());
        c
    }

    /// Runs the sandbox's runner to completion.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(&self.runner, args)
    }

    /// Runs the runner with extra environment variables.
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut c = self.cmd_with(&self.runner, args);
        for (k, v) in env {
            c.env(k, v);
        }
        Run::from(c.output().expect("runner starts"))
    }

    /// Runs another runner binary against the same database.
    pub fn run_with(&self, runner: &Path, args: &[&str]) -> Run {
        Run::from(self.cmd_with(runner, args).output().expect("runner starts"))
    }

    /// Starts the runner with a failpoint that pauses, waits until it is
    /// reached, and SIGKILLs the process there.
    pub fn kill_at(&self, failpoint: &str, args: &[&str]) -> String {
        let mut cmd = self.cmd_with(&self.runner, args);
        cmd.env("MIGRATE_FAILPOINT", format!("{failpoint}:pause"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("runner starts");
        let stderr = wait_for_line(&mut child, "failpoint", Duration::from_secs(60));
        child.kill().expect("SIGKILL the runner");
        let _ = child.wait();
        stderr
    }

    /// Opens the database directly.
    pub async fn connect(&self) -> sqlx::SqliteConnection {
        use sqlx::Connection;
        sqlx::SqliteConnection::connect(&self.url())
            .await
            .expect("open the test database")
    }

    /// `SELECT` returning one integer.
    pub async fn scalar(&self, sql: &str) -> i64 {
        let mut c = self.connect().await;
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(&mut c)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Rows of a query, each row's columns joined as text.
    pub async fn rows(&self, sql: &str) -> Vec<String> {
        use sqlx::{Row, ValueRef};
        let mut c = self.connect().await;
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_all(&mut c)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.iter()
            .map(|r| {
                (0..r.columns().len())
                    .map(|i| {
                        if r.try_get_raw(i).map(|v| v.is_null()).unwrap_or(true) {
                            "NULL".to_string()
                        } else if let Ok(n) = r.try_get::<i64, _>(i) {
                            n.to_string()
                        } else {
                            r.try_get::<String, _>(i).unwrap_or_default()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect()
    }

    /// [`Sandbox::state`] of another SQLite file.
    pub async fn state_of(&self, path: &Path) -> Vec<String> {
        let other = Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
            runner: self.runner.clone(),
        };
        std::fs::copy(path, other.db_path()).expect("copy database");
        other.state().await
    }

    /// The schema (every object's SQL, sorted), the data of every user table,
    /// and the history rows without timing columns: "the database as it is".
    pub async fn state(&self) -> Vec<String> {
        let mut out = self
            .rows("SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
            .await;
        let tables = self
            .rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_migrate_history' ORDER BY name")
            .await;
        for t in tables {
            for r in self.rows(&format!("SELECT * FROM {t} ORDER BY 1")).await {
                out.push(format!("{t}: {r}"));
            }
        }
        out.extend(
            self.rows(
                "SELECT version, name, checksum, state FROM _migrate_history ORDER BY version",
            )
            .await
            .into_iter()
            .map(|r| format!("history: {r}")),
        );
        out
    }
}

/// Reads the child's stderr until a line contains `needle`; returns what was read.
pub fn wait_for_line(child: &mut Child, needle: &str, timeout: Duration) -> String {
    use std::io::{BufRead, BufReader};
    let stderr = child.stderr.take().expect("stderr piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Keep draining after the reader is gone, so the child never dies of a closed pipe.
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let start = Instant::now();
    let mut seen = String::new();
    while start.elapsed() < timeout {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => {
                seen.push_str(&line);
                seen.push('\n');
                if line.contains(needle) {
                    return seen;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("runner exited ({status}) before `{needle}`:\n{seen}");
                }
            }
            Err(_) => panic!("runner closed stderr before `{needle}`:\n{seen}"),
        }
    }
    let _ = child.kill();
    panic!("`{needle}` not seen within {timeout:?}:\n{seen}");
}

/// A current-thread runtime for the async database checks.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}
