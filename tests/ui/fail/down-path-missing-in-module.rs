use migrate_core::{migration, Db, Result};

mod downs {}

#[migration(20241124_120000, reversible, down = downs::drop_users)]
async fn create_users(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE users (id BIGINT PRIMARY KEY)").await?;
    Ok(())
}

fn main() {}
