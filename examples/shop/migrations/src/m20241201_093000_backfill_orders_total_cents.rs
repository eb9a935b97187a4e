//! Backfills `orders.total_cents` from the order items, in batches.

use migrate_core::{Db, Result, migration};

/// Orders updated per statement: small enough that each batch holds its row
/// locks only briefly, large enough that the backfill does not crawl.
const BATCH: i64 = 500;

/// Fills orders.total_cents from the sum of each order's items.
#[migration(20241201_093000, reversible, transaction = false)]
async fn backfill_orders_total_cents(db: &mut Db) -> Result<()> {
    // Outside a transaction each batch commits on its own, so no lock is held
    // for the whole table. Every batch is idempotent: after a crash, applying
    // again recomputes the same totals.
    let max_id = db
        .fetch_i64("SELECT COALESCE(MAX(id), 0) FROM orders")
        .await?;
    let mut start = 0;
    while start < max_id {
        let end = start + BATCH;
        // Items with a quantity of zero or less are invalid (a later
        // migration deletes them), so they never count towards a total.
        db.execute(&format!(
            "UPDATE orders SET total_cents = (
                SELECT COALESCE(SUM(quantity * unit_price_cents), 0)
                FROM order_items
                WHERE order_items.order_id = orders.id AND quantity > 0
            )
            WHERE id > {start} AND id <= {end}"
        ))
        .await?;
        start = end;
    }
    Ok(())
}

async fn backfill_orders_total_cents_down(db: &mut Db) -> Result<()> {
    db.execute("UPDATE orders SET total_cents = NULL").await?;
    Ok(())
}
