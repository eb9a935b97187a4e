use migrate_core::__private::{inventory, Migration};
use migrate_core::{migration, Db, Result};

/// Adds the users table.
///
/// Emails are unique; see the index migration.
#[migration(20241201_000000, reversible)]
async fn create_users(db: &mut Db) -> Result<()> {
    // Comments and formatting do not change the checksum.
    db.execute("CREATE TABLE users (id BIGINT PRIMARY KEY)").await?;
    Ok(())
}

/// Drops the users table.
async fn create_users_down(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE users").await?;
    Ok(())
}

mod same_body_reformatted {
    use migrate_core::{migration, Db, Result};

    #[migration(20241201_000001, irreversible = "test twin")]
    pub async fn create_users(db: &mut Db) -> Result<()> {
        db.execute(
            "CREATE TABLE users (id BIGINT PRIMARY KEY)",
        )
        .await?;
        Ok(())
    }
}

fn main() {
    let all: Vec<&Migration> = inventory::iter::<Migration>.into_iter().collect();
    let first = all.iter().find(|m| m.version == 20241201000000).expect("registered");
    let twin = all.iter().find(|m| m.version == 20241201000001).expect("registered");
    assert_eq!(first.description, "Adds the users table.");
    assert_eq!(twin.description, "");
    assert_eq!(first.checksum, twin.checksum);
}
