use migrate_core::{health_check, Db, Result};

#[health_check]
async fn orders_readable(db: &Db) -> Result<()> {
    let _ = db;
    Ok(())
}

fn main() {}
