use migrate_core::__private::{inventory, Migration};
use migrate_core::{migration, Db, Result};

#[migration(20241125_090000, irreversible = "drops the legacy audit rows")]
async fn purge_audit(db: &mut Db) -> Result<()> {
    db.execute("DELETE FROM audit WHERE legacy").await?;
    Ok(())
}

fn main() {
    let m = inventory::iter::<Migration>.into_iter().next().expect("registered");
    assert_eq!(m.version, 20241125090000);
    assert!(m.down.is_none());
    assert_eq!(m.irreversible_reason, Some("drops the legacy audit rows"));
}
