//! Creates the `orders` table.

use migrate_core::{Db, Result, migration};

/// Creates the orders table.
#[migration(20241124_120100, reversible)]
async fn create_orders(db: &mut Db) -> Result<()> {
    let id = crate::id_column(db.dialect());
    // No foreign key on customer_id: the `orders_have_customers` health check
    // guards the reference, and a constraint added later to a table already
    // in use goes through `NOT VALID` then `VALIDATE` to avoid a long lock.
    db.execute(&format!(
        "CREATE TABLE orders (
            {id},
            customer_id BIGINT NOT NULL,
            status VARCHAR(32) NOT NULL DEFAULT 'placed',
            created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
        )"
    ))
    .await?;
    Ok(())
}

async fn create_orders_down(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE orders").await?;
    Ok(())
}
