//! Online-helper suite runner (PostgreSQL): an index built concurrently on a
//! table the test creates, behind a session whose old snapshot makes the
//! build time out on its lock wait.
use migrate_core::{Db, Result, migration};

/// Indexes items by code without blocking writes.
#[migration(20241005_000001, irreversible = "test fixture", transaction = false)]
async fn index_items_code(db: &mut Db) -> Result<()> {
    db.create_index_concurrently("items_code_idx", "items", &["code"])
        .await
}

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
