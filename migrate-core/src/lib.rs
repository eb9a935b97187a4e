//! Runtime of cargo-migrate: the registered migrations, the history table, the
//! migrator lock, and apply / rollback / repair / status with exact semantics.
//!
//! Migrations are plain async Rust functions annotated with [`migration`]:
//!
//! ```
//! use migrate_core::{migration, Db, Result};
//!
//! /// Adds the users table.
//! #[migration(20241124_120000, reversible)]
//! async fn create_users(db: &mut Db) -> Result<()> {
//!     db.execute("CREATE TABLE users (id BIGINT PRIMARY KEY, email TEXT NOT NULL)").await?;
//!     Ok(())
//! }
//!
//! async fn create_users_down(db: &mut Db) -> Result<()> {
//!     db.execute("DROP TABLE users").await?;
//!     Ok(())
//! }
//! # fn main() {}
//! ```
//!
//! The attribute checks at compile time that a reversible migration has its
//! down function and that both have the expected shape; it registers the
//! migration so that [`Migrator::registered`] finds it.

#[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
compile_error!("migrate-core needs at least one backend feature: `sqlite`, `postgres` or `mysql`");

pub mod apply;
pub mod backup;
pub mod canary;
pub mod compare;
mod db;
pub mod driver;
mod error;
pub mod failpoint;
pub mod history;
pub mod lint;
pub mod lock;
mod migration;
mod migrator;
pub mod online;
pub mod queries;
pub mod registry;
pub mod rehearsal;
pub mod rollback;
pub mod schema;
pub mod scratch;
pub mod sql;
pub mod stage;
pub mod testing;
pub mod url;
pub mod verify;

#[doc(hidden)]
pub mod __private;

pub use db::{Db, Dialect, Statement};
pub use error::{Error, Result, complete_commands, db_message, human_duration};
pub use migrate_macros::{health_check, migration, test};
pub use migration::{HealthCheck, Migration, Phase, display_version};
pub use migrator::{Database, Migrator, Options, Target};
