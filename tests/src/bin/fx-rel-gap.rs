//! Reliability suite runner with a gap: migrations 1 and 3 of three
//! (`fx-rel-full` adds 2), for missing and out-of-order cases.
use migrate_core::{Db, Result, migration};

/// Creates rel_a.
#[migration(20241001_000001, reversible)]
async fn create_rel_a(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE rel_a (id INTEGER PRIMARY KEY)")
        .await?;
    Ok(())
}

async fn create_rel_a_down(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE rel_a").await?;
    Ok(())
}

/// Creates rel_c.
#[migration(20241001_000003, reversible)]
async fn create_rel_c(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE rel_c (id INTEGER PRIMARY KEY)")
        .await?;
    Ok(())
}

async fn create_rel_c_down(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE rel_c").await?;
    Ok(())
}

#[allow(dead_code)]
fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
