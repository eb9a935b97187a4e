//! Online-helper suite runner: 10,000 counters, then a backfill adding one to
//! each in batches of 1000, for kill-and-resume tests at
//! `backfill.after_batch`; and a transactional backfill that must be refused.
use migrate_core::online::Backfill;
use migrate_core::{Db, Result, migration};

/// 10,000 counters at zero (ids 1..=10000 from cross-joined digits).
#[migration(20241003_000001, irreversible = "test fixture")]
async fn create_counters(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE counters (id BIGINT PRIMARY KEY, counter INTEGER NOT NULL)")
        .await?;
    let digits = "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 \
                  UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)";
    db.execute(&format!(
        "INSERT INTO counters (id, counter) SELECT d1.d + 10 * d2.d + 100 * d3.d + 1000 * d4.d + 1, 0 \
         FROM {digits} d1, {digits} d2, {digits} d3, {digits} d4"
    ))
    .await?;
    Ok(())
}

/// Adds one to every counter, 1000 rows per batch.
#[migration(20241003_000002, irreversible = "test fixture", transaction = false)]
async fn bump_counters(db: &mut Db) -> Result<()> {
    let rows = db
        .backfill(Backfill::new("counters", "counter = counter + 1").batch_size(1000))
        .await?;
    if rows != 10_000 {
        return Err(migrate_core::Error::msg(format!(
            "backfill reported {rows} rows, expected 10000"
        )));
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
