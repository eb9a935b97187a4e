use migrate_core::{migration, Db, Result};

#[migration(20241124_120000, irreversible = "a compile-time test")]
async fn create_users(db: &mut Db) -> Result<()> {
    db.execute("DELET FROM users WHERE id = 1").await?;
    Ok(())
}

fn main() {}
