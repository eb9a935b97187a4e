use migrate_core::{migration, Db};

#[migration(20241124_120000, irreversible = "drops the table")]
async fn drop_users(db: &mut Db) -> u64 {
    db.execute("DROP TABLE users").await.unwrap_or(0)
}

fn main() {}
