//! Runner whose second migration fails at the second of three statements.
use migrate_core::{Db, Result, migration};

/// Creates t with one row.
#[migration(20240301_000001, reversible)]
async fn create_t(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        .await?;
    db.execute("INSERT INTO t (id, v) VALUES (1, 'kept')")
        .await?;
    Ok(())
}

async fn create_t_down(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE t").await?;
    Ok(())
}

/// Fails half-way: the second statement names a table that does not exist.
#[migration(20240301_000002, reversible)]
async fn fails_halfway(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE extra (id INTEGER PRIMARY KEY)")
        .await?;
    db.execute("INSERT INTO no_such_table (id) VALUES (1)")
        .await?;
    db.execute("UPDATE t SET v = 'changed'").await?;
    Ok(())
}

async fn fails_halfway_down(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE extra").await?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
