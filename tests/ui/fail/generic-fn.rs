use migrate_core::{migration, Db, Result};

#[migration(20241124_120000, irreversible = "drops the table")]
async fn drop_table<T: Default>(db: &mut Db) -> Result<()> {
    let _ = T::default();
    db.execute("DROP TABLE users").await?;
    Ok(())
}

fn main() {}
