//! Runner whose expand migration drops a column the deployed application
//! may still read: the lint must fail `plan` and `stage`.
#[path = "../fixtures/lint_base.rs"]
mod lint_base;

use migrate_core::{Db, Result, migration};

/// Drops users.nickname (in an expand migration: a lint finding).
#[migration(20240801_000002, irreversible = "drops the nickname values")]
async fn drop_nickname(db: &mut Db) -> Result<()> {
    db.execute("ALTER TABLE users DROP COLUMN nickname").await?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
