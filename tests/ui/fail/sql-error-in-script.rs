use migrate_core::{migration, Db, Result};

#[migration(20241124_120000, irreversible = "a compile-time test")]
async fn create_users(db: &mut Db) -> Result<()> {
    db.execute_many(
        r#"
        CREATE TABLE users (id BIGINT PRIMARY KEY, "e-mail" TEXT NOT NULL);
        DO $$ BEGIN PERFORM 1; END $$;
        INSERT INTO users (id, "e-mail") VALUES (1, 'a@example.com'),;
        "#,
    )
    .await?;
    Ok(())
}

fn main() {}
