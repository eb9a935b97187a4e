//! Runner with the same rename as a contract migration.
#[path = "../fixtures/customers_base.rs"]
mod customers_base;

use migrate_core::{Db, Result, migration};

/// Renames customers.name.
#[migration(20240701_000002, reversible, phase = contract)]
async fn rename_name(db: &mut Db) -> Result<()> {
    db.execute("ALTER TABLE customers RENAME COLUMN name TO full_name")
        .await?;
    Ok(())
}

async fn rename_name_down(db: &mut Db) -> Result<()> {
    db.execute("ALTER TABLE customers RENAME COLUMN full_name TO name")
        .await?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
