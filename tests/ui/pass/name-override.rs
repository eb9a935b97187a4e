use migrate_core::__private::{inventory, Migration};
use migrate_core::{migration, Db, Result};

#[migration(20241129_000000, irreversible = "one-way", name = "users: add email index")]
async fn m20241129(db: &mut Db) -> Result<()> {
    db.execute("CREATE INDEX users_email ON users (email)").await?;
    Ok(())
}

fn main() {
    let m = inventory::iter::<Migration>.into_iter().next().expect("registered");
    assert_eq!(m.name, "users: add email index");
}
