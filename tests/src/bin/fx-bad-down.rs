//! Runner whose second migration's down forgets the index its up created.
#[path = "../fixtures/customers_base.rs"]
mod customers_base;

use migrate_core::{Db, Result, migration};

/// Adds a notes table and an index on customers.email.
#[migration(20240701_000002, reversible)]
async fn add_notes(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        .await?;
    db.execute("CREATE INDEX customers_email_idx ON customers (email)")
        .await?;
    Ok(())
}

async fn add_notes_down(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE notes").await?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
