//! Creates the `order_items` table.

use migrate_core::{Db, Result, migration};

/// Creates the order_items table.
#[migration(20241124_120200, reversible)]
async fn create_order_items(db: &mut Db) -> Result<()> {
    // A table-level FOREIGN KEY clause: MySQL ignores an inline REFERENCES.
    // The primary key starts with order_id, so it also serves the foreign key
    // (MySQL requires an index there and would otherwise add its own).
    db.execute(
        "CREATE TABLE order_items (
            order_id BIGINT NOT NULL,
            sku VARCHAR(64) NOT NULL,
            quantity INTEGER NOT NULL,
            unit_price_cents BIGINT NOT NULL,
            PRIMARY KEY (order_id, sku),
            FOREIGN KEY (order_id) REFERENCES orders (id)
        )",
    )
    .await?;
    Ok(())
}

async fn create_order_items_down(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE order_items").await?;
    Ok(())
}
