//! The database harness of the backend suites: a fresh database per case on
//! the local servers, the runner pointed at it, and reads of what it holds.
//! Shared with the reliability suite (tests/reliability) through `#[path]`.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use migrate_core::driver::{self, ConnectOptions, Connection};
use migrate_core::url::DbUrl;

use crate::support::{Run, Sandbox, block_on};

/// A database server the suites run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// PostgreSQL.
    Postgres,
    /// MariaDB or MySQL.
    MySql,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::Postgres => "PostgreSQL",
            Server::MySql => "MariaDB/MySQL",
        }
    }

    fn env(self) -> &'static str {
        match self {
            Server::Postgres => "MIGRATE_TEST_PG_URL",
            Server::MySql => "MIGRATE_TEST_MYSQL_URL",
        }
    }

    fn default_url(self) -> &'static str {
        match self {
            Server::Postgres => "postgres://postgres@127.0.0.1:5432/postgres",
            Server::MySql => "mysql://root@127.0.0.1:3306/test",
        }
    }

    pub(crate) fn quote(self, name: &str) -> String {
        match self {
            Server::Postgres => format!("\"{name}\""),
            Server::MySql => format!("`{name}`"),
        }
    }
}

/// A uniquely named database on a test server, dropped with the guard.
pub struct TestDb {
    /// Its URL, for `DATABASE_URL`.
    pub url: String,
    /// Its name, `mt_<pid>_<counter>_<nanos>`.
    pub name: String,
    /// Which server it is on.
    pub server: Server,
    pub(crate) admin_url: String,
}

/// A fresh PostgreSQL database, or `None` (after a notice) when the server is unreachable.
pub fn pg_db() -> Option<TestDb> {
    TestDb::create(Server::Postgres)
}

/// A fresh MariaDB/MySQL database, or `None` (after a notice) when the server is unreachable.
pub fn mysql_db() -> Option<TestDb> {
    TestDb::create(Server::MySql)
}

/// The admin URL of `server` if it answers. Unreachable: a notice and
/// `None`, or a panic with `MIGRATE_TEST_REQUIRE_SERVERS=1`.
pub(crate) fn admin_url(server: Server) -> Option<String> {
    static PG: OnceLock<Result<String, String>> = OnceLock::new();
    static MYSQL: OnceLock<Result<String, String>> = OnceLock::new();
    let cell = match server {
        Server::Postgres => &PG,
        Server::MySql => &MYSQL,
    };
    let probed = cell.get_or_init(|| {
        let url = std::env::var(server.env()).unwrap_or_else(|_| server.default_url().to_string());
        let parsed = DbUrl::parse(&url).map_err(|e| e.to_string())?;
        let opts = ConnectOptions {
            create: false,
            timeout: Duration::from_secs(5),
        };
        match block_on(driver::connect(&parsed, &opts)) {
            Ok(c) => {
                block_on(c.close());
                Ok(url)
            }
            Err(e) => Err(format!(
                "{} at {} is unreachable: {e}",
                server.name(),
                parsed.redacted()
            )),
        }
    });
    match probed {
        Ok(url) => Some(url.clone()),
        Err(why) if std::env::var("MIGRATE_TEST_REQUIRE_SERVERS").is_ok_and(|v| v == "1") => {
            panic!("{why} (MIGRATE_TEST_REQUIRE_SERVERS=1)")
        }
        Err(why) => {
            eprintln!(
                "note: skipping a {} test: {why}; set {} to run it",
                server.name(),
                server.env()
            );
            None
        }
    }
}

pub(crate) fn unique_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() % 1_000_000_000_000);
    format!(
        "mt_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs one statement on the server's admin database.
pub(crate) fn admin_execute(admin_url: &str, sql: &str) -> Result<(), String> {
    let (admin_url, sql) = (admin_url.to_string(), sql.to_string());
    // Its own thread and runtime: this also runs from `Drop`, maybe inside another runtime.
    std::thread::spawn(move || {
        block_on(async {
            let url = DbUrl::parse(&admin_url).map_err(|e| e.to_string())?;
            let mut c = driver::connect(&url, &ConnectOptions::default())
                .await
                .map_err(|e| e.to_string())?;
            let r = c.execute(&sql).await.map(drop).map_err(|e| e.to_string());
            c.close().await;
            r
        })
    })
    .join()
    .unwrap_or_else(|_| Err("the admin thread panicked".into()))
}

impl TestDb {
    fn create(server: Server) -> Option<TestDb> {
        let db = TestDb::reserve(server, admin_url(server)?);
        let create = format!("CREATE DATABASE {}", server.quote(&db.name));
        admin_execute(&db.admin_url, &create).unwrap_or_else(|e| panic!("{create}: {e}"));
        Some(db)
    }

    fn reserve(server: Server, admin_url: String) -> TestDb {
        let name = unique_name();
        TestDb {
            url: DbUrl::parse(&admin_url)
                .expect("admin url")
                .with_database(&name)
                .expose()
                .to_string(),
            name,
            server,
            admin_url,
        }
    }

    /// A name for another database on the same server, not created (for a
    /// restore or a clone to create), dropped with the guard.
    pub fn sibling(&self) -> TestDb {
        TestDb::reserve(self.server, self.admin_url.clone())
    }

    /// Another database on the same server, created empty, dropped with the guard.
    pub fn created_sibling(&self) -> TestDb {
        let db = self.sibling();
        let create = format!("CREATE DATABASE {}", db.server.quote(&db.name));
        admin_execute(&db.admin_url, &create).unwrap_or_else(|e| panic!("{create}: {e}"));
        db
    }

    /// The URL with `password` inserted after the user (trust authentication ignores it).
    pub fn url_with_password(&self, password: &str) -> String {
        let (scheme, rest) = self.url.split_once("://").expect("a URL with a scheme");
        let (user, host) = rest.split_once('@').expect("a URL with a user");
        format!("{scheme}://{user}:{password}@{host}")
    }

    /// A runner command in `sb` against this database, without the rehearsal gate.
    pub fn cmd(&self, sb: &Sandbox, runner: &Path, args: &[&str]) -> Command {
        let mut c = sb.cmd_with(runner, args);
        c.env("DATABASE_URL", &self.url)
            .env("MIGRATE_APPLY_REQUIRE_REHEARSAL", "false");
        c
    }

    /// Makes `c` rehearse on this database, as the staging copy refreshed
    /// from production.
    pub fn stage_into<'c>(&self, c: &'c mut Command) -> &'c mut Command {
        c.env("STAGING_DATABASE_URL", &self.url)
            .env("MIGRATE_STAGING_CLONE", "true")
    }

    /// Runs `sb`'s runner against this database to completion.
    pub fn run(&self, sb: &Sandbox, args: &[&str]) -> Run {
        run(self.cmd(sb, &sb.runner, args))
    }

    /// Opens this database through the runtime's driver.
    pub async fn connect(&self) -> Connection {
        let url = DbUrl::parse(&self.url).expect("test database url");
        driver::connect(&url, &ConnectOptions::default())
            .await
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.name))
    }

    /// Whether a database called `name` exists on this database's server.
    pub fn server_has_database(&self, name: &str) -> bool {
        let sql = match self.server {
            Server::Postgres => {
                format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'")
            }
            Server::MySql => format!(
                "SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{name}'"
            ),
        };
        scalar_at(&self.admin_url, &sql) > 0
    }

    /// `SELECT` returning one integer.
    pub fn scalar(&self, sql: &str) -> i64 {
        scalar_at(&self.url, sql)
    }

    /// Every base table (the runtime's included) with its row count, by name.
    pub fn row_counts(&self) -> Vec<(String, i64)> {
        let tables_sql = match self.server {
            Server::Postgres => {
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
            }
            Server::MySql => {
                "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1"
            }
        };
        block_on(async {
            let mut c = self.connect().await;
            let tables = c.fetch_strings(tables_sql).await.expect("list tables");
            let mut out = Vec::new();
            for t in tables {
                let sql = format!("SELECT count(*) FROM {}", self.server.quote(&t));
                let n = c
                    .fetch_optional_i64(&sql)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                out.push((t, n.unwrap_or(0)));
            }
            c.close().await;
            out
        })
    }

    /// "The database as it is", read from the catalog by the test (not the
    /// runtime's snapshot): columns, indexes and constraints, the rows of every
    /// user table as text, and the history rows without timing columns.
    pub fn state(&self) -> Vec<String> {
        let (catalog, tables_sql): (&[&str], &str) = match self.server {
            Server::Postgres => (
                &[
                    "SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' \
                     || is_nullable || ' ' || coalesce(column_default, '') \
                     FROM information_schema.columns WHERE table_schema = current_schema() \
                     ORDER BY table_name, ordinal_position",
                    "SELECT 'index ' || indexdef FROM pg_indexes \
                     WHERE schemaname = current_schema() ORDER BY indexname",
                    "SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' \
                     || pg_get_constraintdef(oid) FROM pg_constraint \
                     WHERE connamespace = current_schema()::regnamespace ORDER BY 1",
                ],
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
                 AND table_name <> '_migrate_history' ORDER BY 1",
            ),
            Server::MySql => (
                &[
                    "SELECT CAST(CONCAT_WS(' ', 'column', CONCAT(TABLE_NAME, '.', COLUMN_NAME), \
                     COLUMN_TYPE, IS_NULLABLE, COALESCE(COLUMN_DEFAULT, ''), EXTRA) AS CHAR) \
                     FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
                     ORDER BY TABLE_NAME, ORDINAL_POSITION",
                    "SELECT CAST(CONCAT_WS(' ', 'index', TABLE_NAME, INDEX_NAME, NON_UNIQUE, \
                     SEQ_IN_INDEX, COLUMN_NAME) AS CHAR) FROM information_schema.STATISTICS \
                     WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
                    "SELECT CAST(CONCAT_WS(' ', 'constraint', TABLE_NAME, CONSTRAINT_NAME, \
                     COLUMN_NAME, COALESCE(REFERENCED_TABLE_NAME, ''), \
                     COALESCE(REFERENCED_COLUMN_NAME, '')) AS CHAR) \
                     FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE() \
                     ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION",
                ],
                "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' \
                 AND TABLE_NAME <> '_migrate_history' ORDER BY 1",
            ),
        };
        block_on(async {
            let mut c = self.connect().await;
            let mut out = Vec::new();
            for sql in catalog {
                out.extend(strings(&mut c, sql).await);
            }
            for t in strings(&mut c, tables_sql).await {
                let rows = match self.server {
                    Server::Postgres => format!("SELECT t::text FROM \"{t}\" t ORDER BY 1"),
                    Server::MySql => {
                        let columns = strings(
                            &mut c,
                            &format!(
                                "SELECT CAST(CONCAT('COALESCE(CAST(`', COLUMN_NAME, '` AS CHAR), ''NULL'')') AS CHAR) \
                                 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
                                 AND TABLE_NAME = '{t}' ORDER BY ORDINAL_POSITION"
                            ),
                        )
                        .await;
                        format!(
                            "SELECT CAST(CONCAT_WS('|', {}) AS CHAR) FROM `{t}` ORDER BY 1",
                            columns.join(", ")
                        )
                    }
                };
                out.extend(
                    strings(&mut c, &rows)
                        .await
                        .into_iter()
                        .map(|r| format!("{t}: {r}")),
                );
            }
            let history = match self.server {
                Server::Postgres => {
                    "SELECT version::text || '|' || name || '|' || checksum || '|' || state \
                     FROM _migrate_history ORDER BY version"
                }
                Server::MySql => {
                    "SELECT CAST(CONCAT_WS('|', version, name, checksum, state) AS CHAR) \
                     FROM _migrate_history ORDER BY version"
                }
            };
            let exists = c
                .fetch_optional_i64(&match self.server {
                    Server::Postgres => "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '_migrate_history'".to_string(),
                    Server::MySql => "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '_migrate_history'".to_string(),
                })
                .await
                .expect("look for the history table");
            if exists.unwrap_or(0) > 0 {
                out.extend(
                    strings(&mut c, history)
                        .await
                        .into_iter()
                        .map(|r| format!("history: {r}")),
                );
            }
            c.close().await;
            out
        })
    }

    /// Whether a table named `name` exists in this database.
    pub fn has_table(&self, name: &str) -> bool {
        let sql = match self.server {
            Server::Postgres => format!(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '{name}'"
            ),
            Server::MySql => format!(
                "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{name}'"
            ),
        };
        self.scalar(&sql) > 0
    }

    /// Whether an index named `name` exists in this database.
    pub fn has_index(&self, name: &str) -> bool {
        let sql = match self.server {
            Server::Postgres => format!(
                "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = '{name}'"
            ),
            Server::MySql => format!(
                "SELECT count(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND INDEX_NAME = '{name}'"
            ),
        };
        self.scalar(&sql) > 0
    }

    /// The normalized schema snapshot.
    pub fn schema(&self) -> Vec<String> {
        block_on(async {
            let mut c = self.connect().await;
            let s = migrate_core::schema::snapshot(&mut c)
                .await
                .expect("schema snapshot");
            c.close().await;
            s.lines
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let sql = match self.server {
            Server::Postgres => format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.server.quote(&self.name)
            ),
            Server::MySql => format!("DROP DATABASE IF EXISTS {}", self.server.quote(&self.name)),
        };
        if let Err(e) = admin_execute(&self.admin_url, &sql) {
            eprintln!("note: could not drop the test database {}: {e}", self.name);
        }
    }
}

/// A query's first column as text.
async fn strings(c: &mut Connection, sql: &str) -> Vec<String> {
    c.fetch_strings(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// `SELECT` returning one integer, on the database at `url`.
pub(crate) fn scalar_at(url: &str, sql: &str) -> i64 {
    block_on(async {
        let url = DbUrl::parse(url).expect("database url");
        let mut c = driver::connect(&url, &ConnectOptions::default())
            .await
            .expect("connect");
        let n = c
            .fetch_optional_i64(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        c.close().await;
        n.unwrap_or_else(|| panic!("{sql}: no value"))
    })
}

pub(crate) fn run(mut cmd: Command) -> Run {
    let o = cmd.output().expect("runner starts");
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Polls `f` until it returns true, for at most `timeout`.
pub(crate) fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    f()
}
