//! Fault suite runner for crash tests: a transactional migration of two
//! statements, a `transaction = false` one of two statements, and a
//! transactional INSERT (not idempotent, so a second run would show).
use migrate_core::{Db, Result, migration};

/// Creates and fills t.
#[migration(20240902_000001, reversible)]
async fn create_t(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        .await?;
    db.execute("INSERT INTO t (id, v) VALUES (1, 'a')").await?;
    Ok(())
}

async fn create_t_down(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE t").await?;
    Ok(())
}

/// Two statements outside a transaction.
#[migration(20240902_000002, reversible, transaction = false)]
async fn add_u_and_index(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE u (id INTEGER PRIMARY KEY, t_id INTEGER)")
        .await?;
    db.execute("CREATE INDEX u_t_idx ON u (t_id)").await?;
    Ok(())
}

async fn add_u_and_index_down(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE u").await?;
    Ok(())
}

/// Adds a second row to t.
#[migration(20240902_000003, reversible)]
async fn add_row(db: &mut Db) -> Result<()> {
    db.execute("INSERT INTO t (id, v) VALUES (2, 'b')").await?;
    Ok(())
}

async fn add_row_down(db: &mut Db) -> Result<()> {
    db.execute("DELETE FROM t WHERE id = 2").await?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
