//! Runner whose expand migration renames a column the application reads.
#[path = "../fixtures/customers_base.rs"]
mod customers_base;

use migrate_core::{Db, Result, migration};

/// Renames customers.name.
#[migration(
    20240701_000002,
    reversible,
    allow(destructive_in_expand = "the rehearsal's query check must catch this on its own")
)]
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
