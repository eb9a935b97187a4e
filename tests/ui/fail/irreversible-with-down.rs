use migrate_core::{migration, Db, Result};

#[migration(20241124_120000, irreversible = "deletes rows", down = restore_audit)]
async fn purge_audit(db: &mut Db) -> Result<()> {
    db.execute("DELETE FROM audit").await?;
    Ok(())
}

async fn restore_audit(_db: &mut Db) -> Result<()> {
    Ok(())
}

fn main() {}
