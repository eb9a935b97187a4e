use migrate_core::{migration, Db, Result};

#[migration(20241124_120000, irreversible = "a compile-time test")]
async fn move_rows(db: &mut Db) -> Result<()> {
    db.execute("UPDATE a SET x = 1 DELETE FROM b").await?;
    Ok(())
}

fn main() {}
