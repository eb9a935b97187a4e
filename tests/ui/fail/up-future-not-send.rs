use std::rc::Rc;

use migrate_core::{migration, Db, Result};

#[migration(20241124_120000, irreversible = "drops the table")]
async fn drop_users(db: &mut Db) -> Result<()> {
    let table = Rc::new("users");
    db.execute(&format!("DROP TABLE {table}")).await?;
    drop(table);
    Ok(())
}

fn main() {}
