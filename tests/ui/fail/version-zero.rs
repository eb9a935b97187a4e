use migrate_core::{migration, Db, Result};

#[migration(0, irreversible = "drops the table")]
async fn drop_users(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE users").await?;
    Ok(())
}

fn main() {}
