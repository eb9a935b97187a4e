use migrate_core::__private::{inventory, Migration};
use migrate_core::{migration, Db, Result};

#[migration(20241126_100000, reversible, down = drop_email_index, transaction = false)]
async fn index_users_email(db: &mut Db) -> Result<()> {
    db.execute("CREATE INDEX users_email_idx ON users (email)").await?;
    Ok(())
}

async fn drop_email_index(db: &mut Db) -> Result<()> {
    db.execute("DROP INDEX users_email_idx").await?;
    Ok(())
}

fn main() {
    let m = inventory::iter::<Migration>.into_iter().next().expect("registered");
    assert!(!m.transaction);
}
