use migrate_core::__private::{inventory, Migration};
use migrate_core::{migration, Db, Result};

mod downs {
    use migrate_core::{Db, Result};

    pub async fn drop_users(db: &mut Db) -> Result<()> {
        db.execute("DROP TABLE users").await?;
        Ok(())
    }
}

use downs::drop_users as undo_users;

async fn drop_orders(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE orders").await?;
    Ok(())
}

#[migration(1, reversible, down = downs::drop_users)]
async fn create_users(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE users (id BIGINT PRIMARY KEY)").await?;
    Ok(())
}

#[migration(2, reversible, down = drop_orders)]
async fn create_orders(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE orders (id BIGINT PRIMARY KEY)").await?;
    Ok(())
}

// An imported function counts as present too.
#[migration(3, reversible, down = undo_users)]
async fn recreate_users(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE users (id BIGINT PRIMARY KEY)").await?;
    Ok(())
}

fn main() {
    let all: Vec<&Migration> = inventory::iter::<Migration>.into_iter().collect();
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|m| m.down.is_some()));
}
