use migrate_core::{migration, Db, Result};

#[migration(20241124_120000, irreversible = "a compile-time test")]
async fn seed_a(db: &mut Db) -> Result<()> {
    db.execute("INSERT INTO a VALUES (1) INSERT INTO a VALUES (2)")
        .await?;
    Ok(())
}

fn main() {}
