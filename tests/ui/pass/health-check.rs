#![deny(warnings)]

use migrate_core::__private::{inventory, HealthCheck};
use migrate_core::{health_check, Db, Result};

/// Orders can still be read.
#[health_check]
async fn orders_readable(db: &mut Db) -> Result<()> {
    db.execute("SELECT count(*) FROM orders").await?;
    Ok(())
}

#[health_check(name = "users readable")]
async fn users(db: &mut Db) -> Result<()> {
    db.execute("SELECT count(*) FROM users").await?;
    Ok(())
}

fn main() {
    let mut names: Vec<(&str, &str)> =
        inventory::iter::<HealthCheck>.into_iter().map(|h| (h.name, h.description)).collect();
    names.sort();
    assert_eq!(names, [("orders_readable", "Orders can still be read."), ("users readable", "")]);
}
