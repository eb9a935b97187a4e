//! Online-helper suite runner: two tables, then every `Db` online helper
//! applied twice (the second round must change nothing). Its schema is
//! compared with `fx-online-plain`, which runs the plain statements.
use migrate_core::{Db, Dialect, Result, migration};

/// Creates parent and child with a few rows.
#[migration(20241001_000001, irreversible = "test fixture")]
async fn create_tables(db: &mut Db) -> Result<()> {
    db.execute_many(
        "CREATE TABLE parent (id BIGINT PRIMARY KEY, code VARCHAR(50) NOT NULL);
         CREATE TABLE child (id BIGINT PRIMARY KEY, parent_id BIGINT, qty INTEGER, note VARCHAR(50));
         INSERT INTO parent (id, code) VALUES (1, 'a'), (2, 'b'), (3, 'c');
         INSERT INTO child (id, parent_id, qty, note) VALUES (1, 1, 5, 'x'), (2, 2, 7, 'y'), (3, 3, 1, 'z');",
    )
    .await
}

/// Indexes, columns and constraints through the online helpers.
#[migration(20241001_000002, irreversible = "test fixture", transaction = false)]
async fn online_changes(db: &mut Db) -> Result<()> {
    for _round in 0..2 {
        db.create_index_concurrently("child_parent_idx", "child", &["parent_id"])
            .await?;
        db.create_unique_index_concurrently("parent_code_key", "parent", &["code"])
            .await?;
        db.add_column("child", "status", "VARCHAR(20)", Some("'new'"))
            .await?;
        db.add_column("child", "remark", "VARCHAR(100)", None)
            .await?;
        if db.dialect() != Dialect::Sqlite {
            db.add_check("child", "child_qty_positive", "qty > 0")
                .await?;
            db.add_foreign_key(
                "child",
                "child_parent_fk",
                &["parent_id"],
                "parent",
                &["id"],
            )
            .await?;
            db.set_not_null("child", "note").await?;
        }
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
