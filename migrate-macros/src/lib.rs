//! Procedural macros of cargo-migrate: `#[migration]` and `#[health_check]`.
//!
//! Use them through `migrate_core`, which re-exports both and holds the
//! runtime the generated code registers with. This crate is a thin entry:
//! `args` parses the attribute, `check` validates the function, `expand`
//! emits the registration and `checksum` fingerprints the body.

use proc_macro::TokenStream;

mod args;
mod check;
mod checksum;
mod errors;
mod expand;
mod sql_check;
mod test_attr;

/// Registers an `async fn(&mut Db) -> Result<()>` as a database migration.
///
/// ```
/// use migrate_core::{migration, Db, Result};
///
/// /// Adds the users table.
/// #[migration(20241124_120000, reversible)]
/// async fn create_users(db: &mut Db) -> Result<()> {
///     db.execute("CREATE TABLE users (id BIGINT PRIMARY KEY, email TEXT NOT NULL)").await?;
///     Ok(())
/// }
///
/// async fn create_users_down(db: &mut Db) -> Result<()> {
///     db.execute("DROP TABLE users").await?;
///     Ok(())
/// }
///
/// #[migration(20241125_090000, irreversible = "drops the legacy audit rows")]
/// async fn purge_audit(db: &mut Db) -> Result<()> {
///     db.execute("DELETE FROM audit WHERE legacy").await?;
///     Ok(())
/// }
/// # fn main() {}
/// ```
///
/// Arguments, separated by commas:
///
/// | argument | meaning |
/// |---|---|
/// | `20241124_120000` or `version = 20241124_120000` | the version: a positive integer that fits `u64`, unique in the crate |
/// | `reversible` | the migration has a down function, `<name>_down` in the same scope unless `down = path` says otherwise |
/// | `irreversible = "reason"` | the migration cannot be undone, and why; exactly one of `reversible` and `irreversible` is required |
/// | `down = path` | the down function of a reversible migration |
/// | `transaction = false` | run outside a transaction (e.g. `CREATE INDEX CONCURRENTLY`); default `true` |
/// | `phase = expand` or `phase = contract` | whether the deployed code keeps working (`expand`, the default) or the migration removes what old code needed (`contract`) |
/// | `allow(rule_id = "reason", ...)` | lint findings accepted for this migration, each with its reason; `allow(sql_syntax = "reason")` turns off the compile-time SQL check below |
/// | `name = "..."` | the displayed name; default the function name |
///
/// The first line of the doc comment is the migration's description. The
/// checksum recorded in the history is a sha256 of the function body's tokens:
/// reformatting and comments do not change it, any code edit does.
///
/// Every mistake is a compile error on the offending token. A reversible
/// migration needs its down function:
///
/// ```compile_fail,E0080
/// use migrate_core::{migration, Db, Result};
///
/// #[migration(20241124_120000, reversible)] // error: `create_users_down` does not exist
/// async fn create_users(db: &mut Db) -> Result<()> {
///     Ok(())
/// }
/// # fn main() {}
/// ```
///
/// It must say whether it can be undone:
///
/// ```compile_fail
/// use migrate_core::{migration, Db, Result};
///
/// #[migration(20241124_120000)] // error: missing `reversible` or `irreversible = "reason"`
/// async fn create_users(db: &mut Db) -> Result<()> {
///     Ok(())
/// }
/// # fn main() {}
/// ```
///
/// The function must be `async` and take `&mut Db`:
///
/// ```compile_fail,E0277
/// use migrate_core::{migration, Db, Result};
///
/// #[migration(20241124_120000, irreversible = "drops data")]
/// async fn purge(db: &Db) -> Result<()> { // error: not a migration function
///     Ok(())
/// }
/// # fn main() {}
/// ```
///
/// String literals passed to `db.execute(...)`, `execute_many`, `fetch_i64`,
/// `fetch_optional_i64` and `fetch_strings` are parsed at compile time (SQL
/// built with `format!`, `concat!` or a variable is not). A clear syntax
/// error (a misspelt keyword, an unterminated string, a stray comma,
/// unbalanced parentheses) is a compile error on the literal. A statement
/// the parser merely does not know (`DO $$ ... $$`, `DROP INDEX
/// CONCURRENTLY`, `PRAGMA`, vendor options) is never an error; should the
/// check ever reject valid SQL, `allow(sql_syntax = "reason")` turns it off
/// for that migration:
///
/// ```compile_fail
/// use migrate_core::{migration, Db, Result};
///
/// #[migration(20241124_120000, reversible)]
/// async fn create_users(db: &mut Db) -> Result<()> {
///     db.execute("CRATE TABLE users (id BIGINT)").await?; // error: did you mean `CREATE`?
///     Ok(())
/// }
/// # async fn create_users_down(db: &mut Db) -> Result<()> { Ok(()) }
/// # fn main() {}
/// ```
///
/// Versions are unique within a crate:
///
/// ```compile_fail,E0428
/// use migrate_core::{migration, Db, Result};
///
/// #[migration(7, irreversible = "one-way")]
/// async fn first(db: &mut Db) -> Result<()> { Ok(()) }
///
/// #[migration(7, irreversible = "one-way")] // error: version 7 is defined twice
/// async fn second(db: &mut Db) -> Result<()> { Ok(()) }
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn migration(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::migration(args.into(), item.into()).into()
}

/// Registers an `async fn(&mut Db) -> Result<()>` as a health check that
/// `verify` and `deploy` run after applying migrations.
///
/// Takes no argument, or `name = "..."` to override the displayed name; the
/// first line of the doc comment is its description.
///
/// ```
/// use migrate_core::{health_check, Db, Result};
///
/// /// Orders can still be read.
/// #[health_check]
/// async fn orders_readable(db: &mut Db) -> Result<()> {
///     db.execute("SELECT 1").await?;
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn health_check(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::health_check(args.into(), item.into()).into()
}

/// Turns an `async fn` into a `#[test]` that runs on a fresh database with
/// every registered migration applied, removed afterwards (also when the
/// test panics).
///
/// ```
/// use migrate_core::Db;
/// use migrate_core::testing::TestDatabase;
///
/// #[migrate_core::test]
/// async fn orders_start_empty(db: &mut Db) {
///     assert_eq!(db.fetch_i64("SELECT COUNT(*) FROM orders").await.unwrap(), 0);
/// }
///
/// // Seed rows in the shape version 20241201_090000 left, then run the rest.
/// #[migrate_core::test(up_to = 20241201_090000)]
/// async fn backfill_fills_totals(test: &mut TestDatabase) -> migrate_core::Result<()> {
///     test.db().execute("INSERT INTO orders (id, customer_id) VALUES (1, 7)").await?;
///     test.apply_rest().await?;
///     assert_eq!(test.db().fetch_i64("SELECT COUNT(*) FROM orders WHERE total_cents IS NULL").await?, 0);
///     Ok(())
/// }
/// # fn main() {}
/// ```
///
/// The function takes `&mut Db` (the migrated database), `&mut
/// TestDatabase` (for its `url()`, to apply later migrations with
/// `apply_rest()` or `apply_to(version)`) or nothing, and returns `()` or
/// `Result<(), E>`.
/// Other attributes (`#[should_panic]`, `#[ignore]`) apply to the test.
///
/// Where the database lives:
///
/// | argument | database |
/// |---|---|
/// | none | `DATABASE_URL` names a PostgreSQL or MariaDB/MySQL server: a new database `migrate_test_…` on it, dropped afterwards; unset (or `sqlite:`): a temporary SQLite file, deleted afterwards |
/// | `env = "VAR"` | the same, with the server taken from `VAR` |
/// | `url = expression` | the same, with the server from an expression giving `&str`, `String` or `Option<…>` (`None` skips the test with a note) |
/// | `up_to = version` | stop after this registered version instead of applying everything |
///
/// Each test has its own database and its own tokio runtime (current
/// thread), so tests run in parallel without seeing each other's data.
///
/// The function must be `async`:
///
/// ```compile_fail
/// #[migrate_core::test]
/// fn not_async(db: &mut migrate_core::Db) {} // error: needs an `async fn`
/// # fn main() {}
/// ```
///
/// and take at most one argument:
///
/// ```compile_fail
/// #[migrate_core::test]
/// async fn two(db: &mut migrate_core::Db, other: &mut migrate_core::Db) {} // error: one argument
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    test_attr::expand(args.into(), item.into()).into()
}
