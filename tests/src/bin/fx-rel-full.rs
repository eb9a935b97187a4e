//! Reliability suite runner: `fx-rel-gap`'s migrations 1 and 3 (the same
//! source, so the same checksums) plus the missing 2.
use migrate_core::{Db, Result, migration};

#[path = "fx-rel-gap.rs"]
mod gap;

/// Creates rel_b.
#[migration(20241001_000002, reversible)]
async fn create_rel_b(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE rel_b (id INTEGER PRIMARY KEY)")
        .await?;
    Ok(())
}

async fn create_rel_b_down(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE rel_b").await?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
