//! `Migrator` (the registered set with its options) and `Target` (one
//! connected database with its history table and lock): the entry points
//! for applications and for the command-line runner.

use std::time::Duration;

use crate::apply::{ApplyOptions, ApplyReport};
use crate::compare::{Comparison, compare};
use crate::driver::{ConnectOptions, Connection};
use crate::history::{AppliedRow, History};
use crate::lock::{LockGuard, LockStatus};
use crate::migration::Migration;
use crate::registry::Registry;
use crate::url::{Backend, DbUrl};
use crate::{Db, Result};

mod pool;

pub use pool::Database;
use pool::PoolHandle;

/// Settings that shape how migrations are applied.
#[derive(Debug, Clone)]
pub struct Options {
    /// Name of the history table.
    pub history_table: String,
    /// How long to wait for the migrator lock held by another deployer.
    pub lock_wait: Duration,
    /// Per-statement lock timeout on the database.
    pub lock_timeout: Duration,
    /// How many times a lock timeout is retried.
    pub lock_retries: u32,
    /// Per-statement timeout (`None`: no limit).
    pub statement_timeout: Option<Duration>,
    /// How long to wait for the database to answer a connection attempt.
    pub connect_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            history_table: "_migrate_history".into(),
            lock_wait: Duration::from_secs(300),
            lock_timeout: Duration::from_secs(2),
            lock_retries: 5,
            statement_timeout: None,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// The migrations registered in this binary, with the options to apply them.
///
/// ```no_run
/// # async fn start() -> migrate_core::Result<()> {
/// // At application start-up: same lock and history rules as `cargo migrate apply`.
/// let report = migrate_core::Migrator::registered().apply("sqlite://data/app.db").await?;
/// println!("applied {} migrations", report.applied.len());
/// # Ok(()) }
/// ```
///
/// The application's own sqlx pool works as well ([`Database`] lists what
/// `apply` accepts), and `Db::sqlite()` / `Db::postgres()` / `Db::mysql()`
/// hand a migration the sqlx connection for its own queries:
///
/// ```rust,standalone_crate
/// use migrate_core::{migration, Db, Migrator, Result};
///
/// #[migration(20241124_120000, irreversible = "example")]
/// async fn create_users(db: &mut Db) -> Result<()> {
///     db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)").await?;
///     if let Some(conn) = db.sqlite() {
///         sqlx::query("INSERT INTO users (email) VALUES (?)")
///             .bind("admin@example.com")
///             .execute(conn)
///             .await?;
///     }
///     Ok(())
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
/// let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
/// let report = Migrator::registered().apply(&pool).await?;
/// assert_eq!(report.applied.len(), 1);
/// let email: String = sqlx::query_scalar("SELECT email FROM users").fetch_one(&pool).await?;
/// assert_eq!(email, "admin@example.com");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Migrator {
    migrations: Vec<&'static Migration>,
    options: Options,
}

impl Migrator {
    /// Every migration registered with `#[migration]` in this binary.
    pub fn registered() -> Migrator {
        Migrator {
            migrations: inventory::iter::<Migration>.into_iter().collect(),
            options: Options::default(),
        }
    }

    /// Replaces the options.
    pub fn with_options(mut self, options: Options) -> Migrator {
        self.options = options;
        self
    }

    /// The options.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The sorted registry; fails on duplicate versions.
    pub fn registry(&self) -> Result<Registry> {
        Registry::from_migrations(self.migrations.clone())
    }

    /// Connects to `url` (creating a SQLite file when `create`).
    pub async fn connect(&self, url: &DbUrl, create: bool) -> Result<Target> {
        Target::connect(url, &self.options, create).await
    }

    /// Applies every pending expand migration to `database` (a URL or a sqlx
    /// pool, see [`Database`]): takes the lock, refuses on dirty or drifted
    /// history, and stops before contract migrations. No staging or backup:
    /// that is the `deploy` workflow's job.
    pub async fn apply<'a>(&self, database: impl Into<Database<'a>>) -> Result<ApplyReport> {
        let registry = self.registry()?;
        let mut target = Target::open(database.into(), &self.options).await?;
        let result = target
            .apply(&registry, &ApplyOptions::default(), &mut |_| {})
            .await;
        target.close().await;
        result
    }
}

/// One connected database: its connection (inside a [`Db`]), history table and settings.
#[derive(Debug)]
pub struct Target {
    pub(crate) db: Db,
    pub(crate) url: DbUrl,
    pub(crate) history: History,
    pub(crate) options: Options,
    /// The application's pool, when the target was opened from one.
    pub(crate) pool: Option<PoolHandle>,
}

impl Target {
    /// Connects to `url`.
    pub async fn connect(url: &DbUrl, options: &Options, create: bool) -> Result<Target> {
        let history = History::new(&options.history_table)?;
        let conn = crate::driver::connect(
            url,
            &ConnectOptions {
                create,
                timeout: options.connect_timeout,
            },
        )
        .await?;
        Ok(Target {
            db: Db::new(conn),
            url: url.clone(),
            history,
            options: options.clone(),
            pool: None,
        })
    }

    /// The database URL.
    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    /// The history table.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The options.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The database handle.
    pub fn db(&mut self) -> &mut Db {
        &mut self.db
    }

    pub(crate) fn conn(&mut self) -> &mut Connection {
        self.db.conn()
    }

    /// Takes the migrator lock, waiting at most `lock_wait`.
    pub async fn lock(&mut self) -> Result<LockGuard> {
        crate::failpoint::hit("lock.before");
        tracing::debug!(target: "migrate::lock", database = %self.url, wait_limit_ms = self.options.lock_wait.as_millis() as u64, "taking the migrator lock");
        let wait = self.options.lock_wait;
        let guard = match self.url.backend() {
            _ if self.pool.is_some() && self.url.backend() != Backend::Sqlite => {
                match self.lock_from_pool().await {
                    Some(guard) => guard?,
                    None => unreachable!("server pools lock through the pool"),
                }
            }
            Backend::Sqlite => match self.url.sqlite_path() {
                Some(path) => {
                    let lock_path = crate::lock::lock_file_path(&path, self.history.table());
                    crate::lock::acquire_file(&lock_path, wait, &self.url.redacted()).await?
                }
                None => LockGuard::unlocked(),
            },
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                crate::driver::postgres::lock(&self.url, self.history.table(), wait).await?
            }
            #[cfg(feature = "mysql")]
            Backend::MySql => {
                crate::driver::mysql::lock(&self.url, self.history.table(), wait).await?
            }
            #[allow(unreachable_patterns)]
            other => {
                return Err(crate::Error::Config(format!(
                    "this runner was built without {} support",
                    other.as_str()
                )));
            }
        };
        crate::failpoint::hit("lock.after");
        tracing::info!(target: "migrate::lock", database = %self.url, waited_ms = guard.waited().as_millis() as u64, "migrator lock acquired");
        Ok(guard)
    }

    /// Whether the migrator lock is held, and by whom.
    pub async fn lock_status(&mut self) -> Result<LockStatus> {
        match self.url.backend() {
            Backend::Sqlite => match self.url.sqlite_path() {
                Some(path) => crate::lock::probe_file(&crate::lock::lock_file_path(
                    &path,
                    self.history.table(),
                )),
                None => Ok(LockStatus::None),
            },
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                crate::driver::postgres::lock_status(self.db.conn(), self.history.table()).await
            }
            #[cfg(feature = "mysql")]
            Backend::MySql => {
                crate::driver::mysql::lock_status(self.db.conn(), &self.url, self.history.table())
                    .await
            }
            #[allow(unreachable_patterns)]
            _ => Ok(LockStatus::None),
        }
    }

    /// The rows of the history table (empty when it does not exist yet).
    pub async fn history_rows(&mut self) -> Result<Vec<AppliedRow>> {
        let history = self.history.clone();
        history.load(self.conn()).await
    }

    /// Every finished migration (version, checksum of the applied code), in
    /// history order.
    pub async fn finished(&mut self) -> Result<Vec<(u64, String)>> {
        Ok(self
            .history_rows()
            .await?
            .into_iter()
            .filter(|r| r.state == crate::history::RowState::Finished)
            .map(|r| (r.version, r.checksum))
            .collect())
    }

    /// Compares the registry with the history table.
    pub async fn compare(&mut self, registry: &Registry) -> Result<Comparison> {
        let rows = self.history_rows().await?;
        Ok(compare(&registry.specs(), &rows))
    }

    /// Closes the connection.
    pub async fn close(self) {
        self.db.into_conn().close().await;
        // A pool connection kept for an in-memory SQLite database goes back now.
        drop(self.pool);
    }
}
