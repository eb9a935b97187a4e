//! Runner for the verify gate's latency check: the events fixture, then a
//! migration that drops the index the probe query needs (the probe gets tens
//! of times slower).
#[path = "../fixtures/events_base.rs"]
mod events_base;

use migrate_core::{Db, Dialect, Result, migration};

/// Drops the index the probe query needs.
#[migration(
    20240701_000003,
    reversible,
    allow(
        index_not_concurrent = "the test wants the plain statement",
        mysql_alter_without_algorithm = "the test wants the plain statement"
    )
)]
async fn drop_account_index(db: &mut Db) -> Result<()> {
    let sql = match db.dialect() {
        Dialect::MySql => "DROP INDEX events_account_idx ON events",
        Dialect::Sqlite | Dialect::Postgres => "DROP INDEX events_account_idx",
    };
    db.execute(sql).await?;
    Ok(())
}

async fn drop_account_index_down(db: &mut Db) -> Result<()> {
    db.execute("CREATE INDEX events_account_idx ON events (account_id)")
        .await?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
