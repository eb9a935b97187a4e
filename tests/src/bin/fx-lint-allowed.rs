//! Runner whose expand migration drops a column with the finding allowed
//! (and a reason), then adds a column and an index that pass the lint.
#[path = "../fixtures/lint_base.rs"]
mod lint_base;

use migrate_core::{Db, Result, migration};

/// Drops users.nickname, allowed with a reason.
#[migration(
    20240801_000002,
    irreversible = "drops the nickname values",
    allow(destructive_in_expand = "no released version reads nickname since 2.3")
)]
async fn drop_nickname(db: &mut Db) -> Result<()> {
    db.execute("ALTER TABLE users DROP COLUMN nickname").await?;
    Ok(())
}

/// Adds users.age and a table with its index.
#[migration(20240801_000003, reversible)]
async fn add_age(db: &mut Db) -> Result<()> {
    db.execute("ALTER TABLE users ADD COLUMN age INTEGER")
        .await?;
    db.execute("CREATE TABLE visits (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL)")
        .await?;
    db.execute("CREATE INDEX visits_user_idx ON visits (user_id)")
        .await?;
    Ok(())
}

async fn add_age_down(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE visits").await?;
    db.execute("ALTER TABLE users DROP COLUMN age").await?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
