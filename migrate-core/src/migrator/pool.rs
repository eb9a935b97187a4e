//! [`Database`]: what [`Migrator::apply`](crate::Migrator::apply) migrates, a
//! URL or the application's own sqlx pool, and the [`Target`] built on a
//! pool's connections.

use crate::driver::Connection;
use crate::history::History;
use crate::lock::LockGuard;
use crate::url::DbUrl;
use crate::{Db, Result};

use super::{Options, Target};

/// The database [`Migrator::apply`](crate::Migrator::apply) migrates: a URL
/// (`&str`, `&String`) or a sqlx pool of an enabled backend (`&SqlitePool`,
/// `&PgPool`, `&MySqlPool`), converted with `From`.
///
/// With a pool, the migrations run on a connection taken from it (and closed
/// afterwards, so their session settings never reach the application), and
/// on PostgreSQL and MariaDB/MySQL the migrator lock is held by a second one;
/// the pool's own connect options (TLS, credentials) apply to both.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Database<'a> {
    /// A database URL (`sqlite://…`, `postgres://…`, `mysql://…`).
    Url(&'a str),
    /// An SQLite pool.
    #[cfg(feature = "sqlite")]
    Sqlite(&'a sqlx::SqlitePool),
    /// A PostgreSQL pool.
    #[cfg(feature = "postgres")]
    Postgres(&'a sqlx::PgPool),
    /// A MariaDB/MySQL pool.
    #[cfg(feature = "mysql")]
    MySql(&'a sqlx::MySqlPool),
}

impl<'a> From<&'a str> for Database<'a> {
    fn from(url: &'a str) -> Self {
        Database::Url(url)
    }
}

impl<'a> From<&'a String> for Database<'a> {
    fn from(url: &'a String) -> Self {
        Database::Url(url)
    }
}

#[cfg(feature = "sqlite")]
impl<'a> From<&'a sqlx::SqlitePool> for Database<'a> {
    fn from(pool: &'a sqlx::SqlitePool) -> Self {
        Database::Sqlite(pool)
    }
}

#[cfg(feature = "postgres")]
impl<'a> From<&'a sqlx::PgPool> for Database<'a> {
    fn from(pool: &'a sqlx::PgPool) -> Self {
        Database::Postgres(pool)
    }
}

#[cfg(feature = "mysql")]
impl<'a> From<&'a sqlx::MySqlPool> for Database<'a> {
    fn from(pool: &'a sqlx::MySqlPool) -> Self {
        Database::MySql(pool)
    }
}

/// What a [`Target`] opened from a pool keeps of it.
#[derive(Debug)]
pub(crate) enum PoolHandle {
    /// A connection held until the target closes: an in-memory SQLite
    /// database lives only while one of its connections is open.
    #[cfg(feature = "sqlite")]
    Sqlite(#[allow(dead_code)] sqlx::pool::PoolConnection<sqlx::Sqlite>),
    /// The pool the migrator lock's connection comes from.
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
    /// The pool the migrator lock's connection comes from.
    #[cfg(feature = "mysql")]
    MySql(sqlx::MySqlPool),
}

/// The URL a pool stands for, without its password (for messages, the
/// history's lock key and the SQLite lock file; never to connect).
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn server_url(options: &impl sqlx::ConnectOptions) -> Result<DbUrl> {
    let mut url = options.to_url_lossy();
    let _ = url.set_password(None);
    DbUrl::parse(url.as_str())
}

impl Target {
    /// Connects to `database`: opens the URL (creating a SQLite file), or
    /// takes a connection from the pool.
    pub async fn open(database: Database<'_>, options: &Options) -> Result<Target> {
        match database {
            Database::Url(url) => Target::connect(&DbUrl::parse(url)?, options, true).await,
            #[cfg(feature = "sqlite")]
            Database::Sqlite(pool) => {
                let named = pool.connect_options().get_filename().display().to_string();
                let named = DbUrl::parse(&format!("sqlite://{named}"))?;
                let mut conn = acquire(pool, &named).await?;
                // The file SQLite itself reports: empty for in-memory databases.
                let file: String =
                    sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
                        .fetch_one(&mut conn)
                        .await
                        .map_err(|e| crate::driver::unreachable(&named, e))?;
                let url = match file.as_str() {
                    "" => DbUrl::parse("sqlite::memory:")?,
                    path => DbUrl::parse(&format!("sqlite://{path}"))?,
                };
                let keeper = pool
                    .acquire()
                    .await
                    .map_err(|e| crate::driver::unreachable(&url, e))?;
                let handle = PoolHandle::Sqlite(keeper);
                Target::on(Connection::Sqlite(conn), url, options, Some(handle))
            }
            #[cfg(feature = "postgres")]
            Database::Postgres(pool) => {
                let url = server_url(&*pool.connect_options())?;
                let conn = acquire(pool, &url).await?;
                let handle = PoolHandle::Postgres(pool.clone());
                Target::on(Connection::Postgres(conn), url, options, Some(handle))
            }
            #[cfg(feature = "mysql")]
            Database::MySql(pool) => {
                let url = server_url(&*pool.connect_options())?;
                let conn = acquire(pool, &url).await?;
                let handle = PoolHandle::MySql(pool.clone());
                Target::on(Connection::MySql(conn), url, options, Some(handle))
            }
        }
    }

    fn on(
        conn: Connection,
        url: DbUrl,
        options: &Options,
        pool: Option<PoolHandle>,
    ) -> Result<Target> {
        Ok(Target {
            db: Db::new(conn),
            url,
            history: History::new(&options.history_table)?,
            options: options.clone(),
            pool,
        })
    }

    /// The migrator lock taken on a connection of the target's pool, if it
    /// has a server pool (`None`: lock as for a URL).
    pub(super) async fn lock_from_pool(&self) -> Option<Result<LockGuard>> {
        match self.pool.as_ref()? {
            #[cfg(feature = "postgres")]
            PoolHandle::Postgres(pool) => Some(match acquire(pool, &self.url).await {
                Ok(conn) => {
                    let (table, wait) = (self.history.table(), self.options.lock_wait);
                    crate::driver::postgres::lock_on(conn, &self.url, table, wait).await
                }
                Err(e) => Err(e),
            }),
            #[cfg(feature = "mysql")]
            PoolHandle::MySql(pool) => Some(match acquire(pool, &self.url).await {
                Ok(conn) => {
                    let (table, wait) = (self.history.table(), self.options.lock_wait);
                    crate::driver::mysql::lock_on(conn, &self.url, table, wait).await
                }
                Err(e) => Err(e),
            }),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

/// A connection of `pool`, detached from it: the pool opens a replacement,
/// and closing it later leaves the pool's capacity as it was.
async fn acquire<DB: sqlx::Database>(pool: &sqlx::Pool<DB>, url: &DbUrl) -> Result<DB::Connection> {
    let conn = pool
        .acquire()
        .await
        .map_err(|e| crate::driver::unreachable(url, e))?;
    Ok(conn.detach())
}
