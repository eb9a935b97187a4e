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
/// | `allow(rule_id = "reason", ...)` | lint findings accepted for this migration, each with its reason |
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
