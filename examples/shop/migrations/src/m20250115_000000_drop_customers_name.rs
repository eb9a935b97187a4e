//! Deploy 3 of renaming `customers.name` to `full_name`: drops the old
//! column, once no deployed code reads or writes it.

use migrate_core::{Db, Dialect, Error, Result, migration};

/// Drops customers.name, which full_name replaced.
#[migration(
    20250115_000000,
    irreversible = "drops customers.name; its values live on in customers.full_name",
    phase = contract
)]
async fn drop_customers_name(db: &mut Db) -> Result<()> {
    // The backfill filled full_name for every row; a row with only a name
    // would lose it, so refuse rather than drop.
    let unfilled = db
        .fetch_i64("SELECT COUNT(*) FROM customers WHERE full_name IS NULL AND name IS NOT NULL")
        .await?;
    if unfilled > 0 {
        return Err(Error::msg(format!(
            "{unfilled} customer(s) have a name but no full_name, which dropping name would lose: \
             an application that writes only name is still running, or the backfill \
             20250108_000000 did not run; deploy the application that writes full_name, \
             fill them with `UPDATE customers SET full_name = name WHERE full_name IS NULL`, \
             then deploy with `--phase contract` again"
        )));
    }
    let drop = match db.dialect() {
        Dialect::MySql => "ALTER TABLE customers DROP COLUMN name, ALGORITHM=INPLACE, LOCK=NONE",
        Dialect::Postgres | Dialect::Sqlite => "ALTER TABLE customers DROP COLUMN name",
    };
    db.execute(drop).await?;
    Ok(())
}
