use migrate_core::{migration, Db, Result};

#[migration(20241124_120000, irreversible = "")]
async fn purge_audit(db: &mut Db) -> Result<()> {
    db.execute("DELETE FROM audit").await?;
    Ok(())
}

fn main() {}
