//! Indexes `orders` by customer.

use migrate_core::{Db, Dialect, Result, migration};

/// Indexes orders by customer_id.
#[migration(20241201_091000, reversible, down = drop_orders_customer_id_idx)]
async fn index_orders_customer_id(db: &mut Db) -> Result<()> {
    db.execute("CREATE INDEX orders_customer_id_idx ON orders (customer_id)")
        .await?;
    Ok(())
}

async fn drop_orders_customer_id_idx(db: &mut Db) -> Result<()> {
    // MySQL indexes belong to a table, so DROP INDEX names it.
    let sql = match db.dialect() {
        Dialect::MySql => "DROP INDEX orders_customer_id_idx ON orders",
        Dialect::Sqlite | Dialect::Postgres => "DROP INDEX orders_customer_id_idx",
    };
    db.execute(sql).await?;
    Ok(())
}
