use migrate_core::{health_check, Db, Result};

/// Orders can still be read.
#[health_check]
async fn orders_readable(db: &mut Db) -> Result<()> {
    db.fetch_i64("SELECT count(*) FORM orders WHERE total_cents < 0").await?;
    Ok(())
}

fn main() {}
