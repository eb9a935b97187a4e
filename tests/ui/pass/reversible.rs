#![forbid(unsafe_code)]
#![deny(warnings)]

use migrate_core::__private::{inventory, Migration, Phase};
use migrate_core::{migration, Db, Result};

#[migration(20241124_120000, reversible)]
async fn create_users(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE users (id BIGINT PRIMARY KEY)").await?;
    Ok(())
}

async fn create_users_down(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE users").await?;
    Ok(())
}

fn main() {
    let all: Vec<&Migration> = inventory::iter::<Migration>.into_iter().collect();
    assert_eq!(all.len(), 1);
    let m = all[0];
    assert_eq!(m.version, 20241124120000);
    assert_eq!(m.name, "create_users");
    assert_eq!(m.description, "");
    assert!(m.down.is_some());
    assert_eq!(m.irreversible_reason, None);
    assert!(m.transaction);
    assert_eq!(m.phase, Phase::Expand);
    assert!(m.allow.is_empty());
    assert!(m.file.ends_with("reversible.rs"), "{}", m.file);
    assert_eq!(m.line, 7);
    assert_eq!(m.checksum.len(), 64);
    assert!(m.crate_name.ends_with("-tests"), "{}", m.crate_name);
}
