//! Online-helper suite runner: helpers that need their own transactions,
//! called from a transactional migration, must be refused with guidance.
use migrate_core::online::Backfill;
use migrate_core::{Db, Dialect, Result, migration};

/// A small table.
#[migration(20241004_000001, irreversible = "test fixture")]
async fn create_t(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, v INTEGER)")
        .await?;
    Ok(())
}

/// Forgot `transaction = false`.
#[migration(20241004_000002, irreversible = "test fixture")]
async fn online_in_transaction(db: &mut Db) -> Result<()> {
    if db.dialect() == Dialect::Postgres {
        db.create_index_concurrently("t_v_idx", "t", &["v"]).await?;
    }
    db.backfill(Backfill::new("t", "v = 1")).await?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
