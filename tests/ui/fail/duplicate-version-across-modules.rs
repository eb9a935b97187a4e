mod users {
    use migrate_core::{migration, Db, Result};

    #[migration(20241124_120000, irreversible = "creates data")]
    pub async fn create_users(db: &mut Db) -> Result<()> {
        db.execute("CREATE TABLE users (id BIGINT PRIMARY KEY)").await?;
        Ok(())
    }
}

mod orders {
    use migrate_core::{migration, Db, Result};

    #[migration(20241124_120000, irreversible = "creates data")]
    pub async fn create_orders(db: &mut Db) -> Result<()> {
        db.execute("CREATE TABLE orders (id BIGINT PRIMARY KEY)").await?;
        Ok(())
    }
}

fn main() {}
