use migrate_core::{migration, Db, Result};

#[migration(20241124_120000, irreversible = "drops the table")]
async fn drop_users(db: &mut Db, table: &str) -> Result<()> {
    db.execute(&format!("DROP TABLE {table}")).await?;
    Ok(())
}

fn main() {}
