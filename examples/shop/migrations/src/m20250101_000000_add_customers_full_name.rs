//! Deploy 1 of renaming `customers.name` to `full_name`: adds the new column
//! and lets new rows leave the old one empty.

use migrate_core::{Db, Dialect, Result, migration};

/// Adds the nullable customers.full_name column and makes customers.name nullable.
#[migration(
    20250101_000000,
    reversible,
    allow(
        destructive_in_expand = "name only becomes nullable: the running code always writes it, and only the code that reads full_name stops writing it"
    )
)]
async fn add_customers_full_name(db: &mut Db) -> Result<()> {
    // full_name is nullable and without a default: no table rewrite, and the
    // running code, which never names it, keeps working. name becomes
    // nullable because the application that reads full_name (deploy 2)
    // writes only full_name.
    match db.dialect() {
        Dialect::Postgres => {
            // Both are catalog-only changes; one statement takes the table's
            // lock once, for milliseconds.
            db.execute(
                "ALTER TABLE customers ADD COLUMN full_name VARCHAR(255), \
                 ALTER COLUMN name DROP NOT NULL",
            )
            .await?;
        }
        Dialect::MySql => {
            // An instant column, then an in-place change that lets writes go on.
            db.add_column("customers", "full_name", "VARCHAR(255)", None)
                .await?;
            db.execute(
                "ALTER TABLE customers MODIFY name VARCHAR(255) NULL, ALGORITHM=INPLACE, LOCK=NONE",
            )
            .await?;
        }
        // SQLite cannot change a column's nullability in place: the table is
        // rebuilt with the new column, in this migration's transaction
        // (orders and order_items have no foreign key to customers).
        Dialect::Sqlite => rebuild_customers(db, "name VARCHAR(255)", true).await?,
    }
    Ok(())
}

async fn add_customers_full_name_down(db: &mut Db) -> Result<()> {
    // Customers created by the deploy-2 application have only full_name.
    db.execute("UPDATE customers SET name = full_name WHERE name IS NULL")
        .await?;
    match db.dialect() {
        Dialect::Postgres => {
            db.execute(
                "ALTER TABLE customers DROP COLUMN full_name, ALTER COLUMN name SET NOT NULL",
            )
            .await?;
        }
        Dialect::MySql => {
            db.execute(
                "ALTER TABLE customers DROP COLUMN full_name, MODIFY name VARCHAR(255) NOT NULL, \
                 ALGORITHM=INPLACE, LOCK=NONE",
            )
            .await?;
        }
        Dialect::Sqlite => rebuild_customers(db, "name VARCHAR(255) NOT NULL", false).await?,
    }
    Ok(())
}

/// Rebuilds the SQLite customers table with `name` defined as `name_column`,
/// with or without an empty `full_name` at the end, keeping every row and
/// the order of the other columns.
async fn rebuild_customers(db: &mut Db, name_column: &str, full_name: bool) -> Result<()> {
    let full_name_column = if full_name {
        ",\n            full_name VARCHAR(255)"
    } else {
        ""
    };
    db.execute(&format!(
        "CREATE TABLE customers_rebuilt (
            id INTEGER PRIMARY KEY,
            email VARCHAR(255) NOT NULL UNIQUE,
            {name_column},
            created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP{full_name_column}
        )"
    ))
    .await?;
    db.execute(
        "INSERT INTO customers_rebuilt (id, email, name, created_at)
         SELECT id, email, name, created_at FROM customers",
    )
    .await?;
    db.execute("DROP TABLE customers").await?;
    db.execute("ALTER TABLE customers_rebuilt RENAME TO customers")
        .await?;
    Ok(())
}
