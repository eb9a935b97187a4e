use migrate_core::{migration, Db, Result};

#[migration(20241124_120000, irreversible = "a compile-time test")]
async fn index_then_column(db: &mut Db) -> Result<()> {
    db.execute_many(
        r#"
        CREATE TABLE a (id INT, x INT);
        CREATE INDEX i ON a (x)
        ALTER TABLE a ADD COLUMN y INT;
        "#,
    )
    .await?;
    Ok(())
}

fn main() {}
