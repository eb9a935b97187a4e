//! Online-helper suite runner (PostgreSQL, MariaDB/MySQL): a unique index
//! that fails on duplicate codes and a check that fails on a zero quantity,
//! so that each can be fixed and re-run after `repair --rolled-back`.
use migrate_core::{Db, Result, migration};

/// Items with a duplicated code and a zero quantity.
#[migration(20241002_000001, irreversible = "test fixture")]
async fn create_items(db: &mut Db) -> Result<()> {
    db.execute_many(
        "CREATE TABLE items (id BIGINT PRIMARY KEY, code VARCHAR(50) NOT NULL, qty INTEGER NOT NULL);
         INSERT INTO items (id, code, qty) VALUES (1, 'a', 1), (2, 'a', 1), (3, 'b', 0), (4, 'c', 2);",
    )
    .await
}

/// Unique codes, built online.
#[migration(20241002_000002, irreversible = "test fixture", transaction = false)]
async fn unique_items_code(db: &mut Db) -> Result<()> {
    db.create_unique_index_concurrently("items_code_key", "items", &["code"])
        .await
}

/// Positive quantities, checked online.
#[migration(20241002_000003, irreversible = "test fixture", transaction = false)]
async fn items_qty_positive(db: &mut Db) -> Result<()> {
    db.add_check("items", "items_qty_positive", "qty > 0").await
}

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
