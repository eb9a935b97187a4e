//! [`TestDatabase`]: a fresh, uniquely named database per test (a temporary
//! SQLite file, or a new database on the server a URL names), migrated, and
//! dropped afterwards.

use crate::apply::{ApplyOptions, ApplyReport};
use crate::compare::PlanOptions;
use crate::scratch::ScratchDatabase;
use crate::url::DbUrl;
use crate::{Db, Error, Migrator, Result, Target};

/// A scratch database for one test, with the registered migrations applied
/// (all of them, or up to a version), removed by [`close`](Self::close) or,
/// failing that, when dropped.
///
/// Where it lives follows the base URL: none (or a `sqlite:` URL) gives a
/// temporary SQLite file in its own temporary folder; a PostgreSQL or
/// MariaDB/MySQL URL gives a new database named `migrate_test_…` on that
/// server, created with the URL's user (who needs `CREATE DATABASE`) and
/// dropped afterwards. The base URL's own database is never touched.
///
/// `#[migrate_core::test]` builds one per test; use it directly for set-ups
/// the attribute does not cover:
///
/// ```rust,standalone_crate
/// use migrate_core::{migration, Db, Result};
/// use migrate_core::testing::TestDatabase;
///
/// #[migration(1, reversible)]
/// async fn create_notes(db: &mut Db) -> Result<()> {
///     db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)").await?;
///     Ok(())
/// }
/// async fn create_notes_down(db: &mut Db) -> Result<()> {
///     db.execute("DROP TABLE notes").await?;
///     Ok(())
/// }
///
/// # fn main() -> Result<()> {
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let mut test = TestDatabase::create(None, None).await?; // a temporary SQLite file
/// test.db().execute("INSERT INTO notes (body) VALUES ('hello')").await?;
/// assert_eq!(test.db().fetch_i64("SELECT COUNT(*) FROM notes").await?, 1);
/// let url = test.url().to_string(); // for the application's own pool
/// assert!(url.starts_with("sqlite://"));
/// test.close().await?; // the file is gone
/// # Ok(()) })
/// # }
/// ```
pub struct TestDatabase {
    /// The connection to the test database; `None` once closed.
    target: Option<Target>,
    migrator: Migrator,
    /// The database itself; `None` once removed.
    scratch: Option<ScratchDatabase>,
    name: String,
}

impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase")
            .field("name", &self.name)
            .field("url", &self.target.as_ref().map(|t| t.url().redacted()))
            .finish()
    }
}

impl TestDatabase {
    /// Creates a fresh database next to `base_url` (`None`: a temporary
    /// SQLite file) and applies every registered migration, contract ones
    /// included, or those up to and including `up_to`.
    ///
    /// Fails when the server cannot be reached, the user may not create
    /// databases, `up_to` is not a registered version, or a migration fails;
    /// whatever was created is removed first.
    pub async fn create(base_url: Option<&str>, up_to: Option<u64>) -> Result<TestDatabase> {
        let migrator = Migrator::registered();
        let registry = migrator.registry()?;
        if let Some(v) = up_to
            && registry.get(v).is_none()
        {
            return Err(Error::Config(format!(
                "up_to = {} is not a registered migration version\n  Use the version of one of \
                 this binary's migrations (`cargo migrate status` lists them).",
                crate::display_version(v)
            )));
        }
        let mut test = TestDatabase::empty(base_url, migrator).await?;
        let applied = match up_to {
            Some(v) => test.apply_to(v).await,
            None => test.apply_rest().await,
        };
        if let Err(e) = applied {
            let _ = test.close().await;
            return Err(e);
        }
        Ok(test)
    }

    /// Creates the empty database and connects to it.
    async fn empty(base_url: Option<&str>, migrator: Migrator) -> Result<TestDatabase> {
        let base = match base_url.map(str::trim).filter(|u| !u.is_empty()) {
            Some(url) => Some(DbUrl::parse(url)?),
            None => None,
        };
        let scratch = ScratchDatabase::create(base.as_ref(), "migrate_test").await?;
        let url = scratch.url().clone();
        let mut test = TestDatabase {
            target: None,
            migrator,
            name: scratch.name().to_string(),
            scratch: Some(scratch),
        };
        match test.migrator.connect(&url, true).await {
            Ok(target) => test.target = Some(target),
            Err(e) => {
                let _ = test.close().await;
                return Err(e);
            }
        }
        Ok(test)
    }

    /// The URL of the test database, password included (for the
    /// application's own pool or for a child process).
    pub fn url(&self) -> &str {
        self.target().url().expose()
    }

    /// The database name on the server, or the SQLite file's stem.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The handle the test runs its statements on (sqlx's connection is
    /// behind `Db::sqlite()`, `Db::postgres()` and `Db::mysql()`).
    pub fn db(&mut self) -> &mut Db {
        self.target_mut().db()
    }

    /// Applies the registered migrations up to and including `version`
    /// (contract ones included) that are not applied yet.
    pub async fn apply_to(&mut self, version: u64) -> Result<ApplyReport> {
        self.apply(Some(version)).await
    }

    /// Applies every registered migration not applied yet: after seeding
    /// old-shaped data at `up_to`, this runs the later migrations on it.
    pub async fn apply_rest(&mut self) -> Result<ApplyReport> {
        self.apply(None).await
    }

    async fn apply(&mut self, to: Option<u64>) -> Result<ApplyReport> {
        let registry = self.migrator.registry()?;
        let opts = ApplyOptions {
            plan: PlanOptions {
                to,
                contract: true,
                ..PlanOptions::default()
            },
            rehearsal_skipped: false,
        };
        let _span =
            tracing::debug_span!(target: "migrate::testing", "test_apply", database = %self.name)
                .entered();
        self.target_mut().apply(&registry, &opts, &mut |_| {}).await
    }

    /// Closes the connection and removes the database (drops it on the
    /// server, deletes the SQLite folder). Dropping the handle does the same,
    /// less politely, on a helper thread.
    pub async fn close(mut self) -> Result<()> {
        if let Some(target) = self.target.take() {
            target.close().await;
        }
        match self.scratch.take() {
            Some(scratch) => scratch.remove().await,
            None => Ok(()),
        }
    }

    fn target(&self) -> &Target {
        self.target
            .as_ref()
            .expect("the test database is open until close()")
    }

    fn target_mut(&mut self) -> &mut Target {
        self.target
            .as_mut()
            .expect("the test database is open until close()")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Dropping the connection first lets the server drop the database,
        // which the scratch database's own drop then does.
        drop(self.target.take());
        drop(self.scratch.take());
    }
}
