use migrate_core::{health_check, Db, Result};

#[health_check(nmae = "orders", 3)]
async fn orders_readable(db: &mut Db) -> Result<()> {
    db.execute("SELECT 1").await?;
    Ok(())
}

fn main() {}
