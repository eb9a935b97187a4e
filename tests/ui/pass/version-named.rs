use migrate_core::__private::{inventory, Migration};
use migrate_core::{migration, Db, Result};

#[migration(irreversible = "one-way", version = 20241130_000000)]
async fn seed(db: &mut Db) -> Result<()> {
    db.execute("INSERT INTO settings VALUES ('seeded')").await?;
    Ok(())
}

fn main() {
    let m = inventory::iter::<Migration>.into_iter().next().expect("registered");
    assert_eq!(m.version, 20241130000000);
}
