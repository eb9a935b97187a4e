use migrate_core::{migration, Db, Result};

#[migration(20241124_120000, irreversible = "a compile-time test")]
async fn drop_both(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE a DROP TABLE b").await?;
    Ok(())
}

fn main() {}
