//! Adds the nullable `orders.total_cents` column.

use migrate_core::{Db, Result, migration};

/// Adds the nullable orders.total_cents column.
#[migration(20241201_090000, reversible)]
async fn add_orders_total_cents(db: &mut Db) -> Result<()> {
    // Nullable and without a default: no table rewrite on any backend, and
    // the code deployed before this migration keeps working.
    db.execute("ALTER TABLE orders ADD COLUMN total_cents BIGINT")
        .await?;
    Ok(())
}

async fn add_orders_total_cents_down(db: &mut Db) -> Result<()> {
    // SQLite supports DROP COLUMN since 3.35 (the bundled one is newer).
    db.execute("ALTER TABLE orders DROP COLUMN total_cents")
        .await?;
    Ok(())
}
