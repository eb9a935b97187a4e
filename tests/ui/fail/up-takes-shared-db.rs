use migrate_core::{migration, Db, Result};

#[migration(20241124_120000, irreversible = "drops the table")]
async fn drop_users(db: &Db) -> Result<()> {
    let _ = db;
    Ok(())
}

fn main() {}
