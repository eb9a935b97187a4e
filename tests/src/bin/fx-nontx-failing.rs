//! Runner whose second migration, not transactional, fails after its first
//! statement committed: the database is left dirty, and the error advises a
//! `repair` of it.
use migrate_core::{Db, Result, migration};

/// Creates t.
#[migration(20240501_000001, reversible)]
async fn create_t(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        .await?;
    Ok(())
}

async fn create_t_down(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE t").await?;
    Ok(())
}

/// Creates u, then fails on a table that does not exist.
#[migration(20240501_000002, reversible, transaction = false)]
async fn add_u_then_fail(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE u (id INTEGER PRIMARY KEY)")
        .await?;
    db.execute("INSERT INTO no_such_table (id) VALUES (1)")
        .await?;
    Ok(())
}

async fn add_u_then_fail_down(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE IF EXISTS u").await?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
