//! Deletes order items with a quantity of zero or less.

use migrate_core::{Db, Result, migration};

/// Deletes order items whose quantity is zero or negative.
#[migration(
    20241215_100000,
    irreversible = "deletes invalid order items that cannot be restored"
)]
async fn purge_invalid_order_items(db: &mut Db) -> Result<()> {
    db.execute("DELETE FROM order_items WHERE quantity <= 0")
        .await?;
    Ok(())
}
