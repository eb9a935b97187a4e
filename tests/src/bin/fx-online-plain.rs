//! Online-helper suite runner: the plain statements `fx-online-helpers`
//! replaces with helpers, for comparing the schemas they leave.
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

/// The same changes as plain statements.
#[migration(20241001_000002, irreversible = "test fixture", transaction = false)]
async fn online_changes(db: &mut Db) -> Result<()> {
    db.execute_many(
        "CREATE INDEX child_parent_idx ON child (parent_id);
         CREATE UNIQUE INDEX parent_code_key ON parent (code);
         ALTER TABLE child ADD COLUMN status VARCHAR(20) DEFAULT 'new';
         ALTER TABLE child ADD COLUMN remark VARCHAR(100);",
    )
    .await?;
    if db.dialect() != Dialect::Sqlite {
        db.execute_many(
            "ALTER TABLE child ADD CONSTRAINT child_qty_positive CHECK (qty > 0);
             ALTER TABLE child ADD CONSTRAINT child_parent_fk FOREIGN KEY (parent_id) REFERENCES parent (id);",
        )
        .await?;
    }
    match db.dialect() {
        Dialect::Postgres => {
            db.execute("ALTER TABLE child ALTER COLUMN note SET NOT NULL")
                .await?;
        }
        Dialect::MySql => {
            db.execute("ALTER TABLE child MODIFY note VARCHAR(50) NOT NULL")
                .await?;
        }
        _ => {}
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
