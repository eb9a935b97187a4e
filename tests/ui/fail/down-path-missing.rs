use migrate_core::{migration, Db, Result};

#[migration(20241124_120000, reversible, down = drop_users)]
async fn create_users(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE users (id BIGINT PRIMARY KEY)").await?;
    Ok(())
}

fn main() {}
