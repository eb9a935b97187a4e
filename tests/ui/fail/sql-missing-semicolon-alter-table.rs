use migrate_core::{migration, Db, Result};

#[migration(20241124_120000, irreversible = "a compile-time test")]
async fn replace_primary_key(db: &mut Db) -> Result<()> {
    db.execute_many(
        r#"
        ALTER TABLE a DROP CONSTRAINT a_pkey
        ALTER TABLE a ADD PRIMARY KEY (id);
        "#,
    )
    .await?;
    Ok(())
}

fn main() {}
