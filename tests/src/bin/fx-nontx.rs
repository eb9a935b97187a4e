//! Runner with a `transaction = false` migration of two statements, for
//! crash tests at its failpoints.
use migrate_core::{Db, Result, migration};

/// Creates t.
#[migration(20240401_000001, reversible)]
async fn create_t(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        .await?;
    Ok(())
}

async fn create_t_down(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE t").await?;
    Ok(())
}

/// Two statements outside a transaction.
#[migration(20240401_000002, reversible, transaction = false)]
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

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
