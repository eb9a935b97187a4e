//! Fault suite runner for lock timeouts: one migration altering a table `t`
//! the test creates (and holds a lock on) beforehand.
use migrate_core::{Db, Result, migration};

/// Adds a column to t.
#[migration(20240903_000001, reversible)]
async fn add_w(db: &mut Db) -> Result<()> {
    db.execute("ALTER TABLE t ADD COLUMN w INTEGER").await?;
    Ok(())
}

async fn add_w_down(db: &mut Db) -> Result<()> {
    db.execute("ALTER TABLE t DROP COLUMN w").await?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
