//! Deploy 2 of renaming `customers.name` to `full_name`: copies `name` into
//! `full_name` for the rows written before every writer set both.

use migrate_core::online::Backfill;
use migrate_core::{Db, Result, migration};

/// Fills customers.full_name from customers.name, in batches.
#[migration(20250108_000000, reversible, transaction = false)]
async fn backfill_customers_full_name(db: &mut Db) -> Result<()> {
    // Runs once the deploy-1 application writes both columns, so no row
    // without full_name appears after it. Each batch commits on its own and
    // records its progress: a crash resumes after the last batch.
    db.backfill(
        Backfill::new("customers", "full_name = name")
            .filter("full_name IS NULL")
            .batch_size(500),
    )
    .await?;
    Ok(())
}

async fn backfill_customers_full_name_down(_db: &mut Db) -> Result<()> {
    // Nothing to undo: the schema is unchanged, the deploy-1 application
    // reads name, and clearing full_name would lose the names of customers
    // the deploy-2 application created.
    Ok(())
}
