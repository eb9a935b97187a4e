use migrate_core::{migration, Db, Result};

#[migration(20241124_120000, irreversible = "a compile-time test")]
async fn create_a(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE a (id INT) CREATE INDEX a_idx ON a (id)")
        .await?;
    Ok(())
}

fn main() {}
