use migrate_core::__private::{inventory, Migration, Phase};
use migrate_core::{migration, Db, Result};

#[migration(20241127_000000, irreversible = "drops a column", phase = contract)]
async fn drop_legacy_email(db: &mut Db) -> Result<()> {
    db.execute("ALTER TABLE users DROP COLUMN legacy_email").await?;
    Ok(())
}

#[migration(20241127_000001, irreversible = "adds nothing to undo", phase = expand)]
async fn add_nickname(db: &mut Db) -> Result<()> {
    db.execute("ALTER TABLE users ADD COLUMN nickname TEXT").await?;
    Ok(())
}

fn main() {
    for m in inventory::iter::<Migration> {
        let expected = if m.name == "drop_legacy_email" { Phase::Contract } else { Phase::Expand };
        assert_eq!(m.phase, expected, "{}", m.name);
    }
}
