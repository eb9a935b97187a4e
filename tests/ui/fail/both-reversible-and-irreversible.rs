use migrate_core::{migration, Db, Result};

#[migration(20241124_120000, reversible, irreversible = "drops the table")]
async fn create_users(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE users (id BIGINT PRIMARY KEY)").await?;
    Ok(())
}

async fn create_users_down(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE users").await?;
    Ok(())
}

fn main() {}
