use migrate_core::{migration, Db, Result};

#[migration(2024_11_24_12_00_00_000_000_000, irreversible = "drops the table")]
async fn drop_users(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE users").await?;
    Ok(())
}

fn main() {}
