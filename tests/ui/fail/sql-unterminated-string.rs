use migrate_core::{migration, Db, Result};

#[migration(20241124_120000, irreversible = "a compile-time test")]
async fn create_users(db: &mut Db) -> Result<()> {
    db.execute("INSERT INTO users (id, email) VALUES (1, 'a@example.com)").await?;
    Ok(())
}

fn main() {}
