//! Runner whose second migration's down forgets the index its up dropped,
//! and whose third migration uses the column the second one renamed. The up
//! drops the index with `IF EXISTS`, so it can be applied again after the
//! faulty down; `FX_STRICT_DROP=1` drops it without, so it cannot.

use migrate_core::{Db, Dialect, Result, migration};

fn drop_index(db: &Db, name: &str, if_exists: bool) -> String {
    let if_exists = if if_exists { "IF EXISTS " } else { "" };
    match db.dialect() {
        Dialect::MySql => format!("DROP INDEX {if_exists}{name} ON customers"),
        _ => format!("DROP INDEX {if_exists}{name}"),
    }
}

/// Creates customers with an index on name.
#[migration(20240701_000001, reversible)]
async fn create_customers(db: &mut Db) -> Result<()> {
    db.execute(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, name VARCHAR(255) NOT NULL)",
    )
    .await?;
    db.execute("INSERT INTO customers (id, email, name) VALUES (1, 'a@example.com', 'A')")
        .await?;
    db.execute("CREATE INDEX customers_name_idx ON customers (name)")
        .await?;
    Ok(())
}

async fn create_customers_down(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE customers").await?;
    Ok(())
}

/// Drops the index on name and renames name to full_name.
#[migration(20240701_000002, reversible)]
async fn rename_name(db: &mut Db) -> Result<()> {
    let strict = std::env::var_os("FX_STRICT_DROP").is_some();
    let sql = drop_index(db, "customers_name_idx", !strict);
    db.execute(&sql).await?;
    db.execute("ALTER TABLE customers RENAME COLUMN name TO full_name")
        .await?;
    Ok(())
}

/// Renames the column back but forgets the index.
async fn rename_name_down(db: &mut Db) -> Result<()> {
    db.execute("ALTER TABLE customers RENAME COLUMN full_name TO name")
        .await?;
    Ok(())
}

/// Indexes full_name.
#[migration(20240701_000003, reversible)]
async fn index_full_name(db: &mut Db) -> Result<()> {
    db.execute("CREATE INDEX customers_full_name_idx ON customers (full_name)")
        .await?;
    Ok(())
}

async fn index_full_name_down(db: &mut Db) -> Result<()> {
    let sql = drop_index(db, "customers_full_name_idx", false);
    db.execute(&sql).await?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
