use migrate_core::__private::{inventory, Migration};
use migrate_core::{migration, Db, Result};

#[migration(
    20241128_000000,
    irreversible = "rewrites the table",
    allow(
        changing_column_type = "the table has 12 rows",
        "set-not-null" = "backfilled in 20241127_000000",
        adding-field-with-default = "constant default, no rewrite",
    ),
)]
async fn tighten_users(db: &mut Db) -> Result<()> {
    db.execute("ALTER TABLE users ALTER COLUMN email TYPE VARCHAR(320)").await?;
    Ok(())
}

fn main() {
    let m = inventory::iter::<Migration>.into_iter().next().expect("registered");
    assert_eq!(
        m.allow,
        &[
            ("changing_column_type", "the table has 12 rows"),
            ("set-not-null", "backfilled in 20241127_000000"),
            ("adding-field-with-default", "constant default, no rewrite"),
        ]
    );
}
