use migrate_core::{migration, Db, Result};

#[migration(0, reversible, irreversible = "", phase = sideways, allow(add_index = ""))]
fn create_users<T>(db: &mut Db) -> Result<()> {
    let _ = db;
    Ok(())
}

fn main() {}
