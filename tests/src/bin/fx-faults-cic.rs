//! Fault suite runner (PostgreSQL): `CREATE INDEX CONCURRENTLY` under the
//! migrator lock, then a unique one that fails on duplicate data and leaves
//! an INVALID index behind.
use migrate_core::{Db, Result, migration};

/// Creates items with a duplicated `code`.
#[migration(20240904_000001, reversible)]
async fn create_items(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, code TEXT NOT NULL)")
        .await?;
    db.execute(
        "INSERT INTO items (id, code) SELECT i, 'c' || (i % 500) FROM generate_series(1, 5000) i",
    )
    .await?;
    Ok(())
}

async fn create_items_down(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE items").await?;
    Ok(())
}

/// Indexes items by code without blocking writes.
#[migration(20240904_000002, reversible, transaction = false)]
async fn index_items_code(db: &mut Db) -> Result<()> {
    db.execute("CREATE INDEX CONCURRENTLY items_code_idx ON items (code)")
        .await?;
    Ok(())
}

async fn index_items_code_down(db: &mut Db) -> Result<()> {
    db.execute("DROP INDEX CONCURRENTLY items_code_idx").await?;
    Ok(())
}

/// A unique index the duplicated codes make fail.
#[migration(20240904_000003, reversible, transaction = false)]
async fn unique_items_code(db: &mut Db) -> Result<()> {
    db.execute("CREATE UNIQUE INDEX CONCURRENTLY items_code_uidx ON items (code)")
        .await?;
    Ok(())
}

async fn unique_items_code_down(db: &mut Db) -> Result<()> {
    db.execute("DROP INDEX CONCURRENTLY IF EXISTS items_code_uidx")
        .await?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
