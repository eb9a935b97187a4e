use migrate_core::{migration, Db, Result};

#[migration(20241124_120000, irreversible = "a compile-time test")]
async fn create_users(db: &mut Db) -> Result<()> {
    db.execute("CRATE TABLE users (id BIGINT PRIMARY KEY, email TEXT NOT NULL)").await?;
    Ok(())
}

fn main() {}
