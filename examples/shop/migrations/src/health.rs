//! The health check `verify` and `deploy` run after applying the migrations.

use migrate_core::{Db, Dialect, Error, Result, health_check};

/// Every order belongs to an existing customer.
#[health_check]
async fn orders_have_customers(db: &mut Db) -> Result<()> {
    // Before the first migrations there is nothing to check.
    let tables = match db.dialect() {
        Dialect::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master
             WHERE type = 'table' AND name IN ('customers', 'orders')"
        }
        Dialect::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_name IN ('customers', 'orders')"
        }
        Dialect::MySql => {
            "SELECT COUNT(*) FROM information_schema.tables
             WHERE table_schema = DATABASE() AND table_name IN ('customers', 'orders')"
        }
    };
    if db.fetch_i64(tables).await? < 2 {
        return Ok(());
    }
    let orphans = db
        .fetch_i64(
            "SELECT COUNT(*) FROM orders
             LEFT JOIN customers ON customers.id = orders.customer_id
             WHERE customers.id IS NULL",
        )
        .await?;
    if orphans == 0 {
        Ok(())
    } else {
        Err(Error::msg(format!(
            "{orphans} order(s) reference a customer that does not exist; \
             find them with `SELECT orders.id, orders.customer_id FROM orders \
             LEFT JOIN customers ON customers.id = orders.customer_id WHERE customers.id IS NULL`"
        )))
    }
}
