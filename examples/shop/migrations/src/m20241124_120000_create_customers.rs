//! Creates the `customers` table.

use migrate_core::{Db, Result, migration};

/// Creates the customers table.
#[migration(20241124_120000, reversible)]
async fn create_customers(db: &mut Db) -> Result<()> {
    let id = crate::id_column(db.dialect());
    db.execute(&format!(
        "CREATE TABLE customers (
            {id},
            email VARCHAR(255) NOT NULL UNIQUE,
            name VARCHAR(255) NOT NULL,
            created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
        )"
    ))
    .await?;
    Ok(())
}

async fn create_customers_down(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE customers").await?;
    Ok(())
}
