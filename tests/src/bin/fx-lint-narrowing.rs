//! Runner whose expand migrations change column types on PostgreSQL and
//! MariaDB: a narrowing (a finding), a widening (safe), a narrowing allowed
//! with a reason, and a narrowing of a table the migration creates.
#[path = "../fixtures/lint_base.rs"]
mod lint_base;

use migrate_core::{Db, Dialect, Result, migration};

/// Shortens users.email from VARCHAR(255) (in an expand migration: a finding).
#[migration(20240801_000002, reversible)]
async fn narrow_email(db: &mut Db) -> Result<()> {
    match db.dialect() {
        Dialect::MySql => {
            db.execute(
                "ALTER TABLE users MODIFY COLUMN email VARCHAR(100) NOT NULL, ALGORITHM=COPY, LOCK=SHARED",
            )
            .await?
        }
        _ => {
            db.execute("ALTER TABLE users ALTER COLUMN email TYPE VARCHAR(100)")
                .await?
        }
    };
    Ok(())
}

async fn narrow_email_down(db: &mut Db) -> Result<()> {
    match db.dialect() {
        Dialect::MySql => {
            db.execute("ALTER TABLE users MODIFY COLUMN email VARCHAR(255) NOT NULL")
                .await?
        }
        _ => {
            db.execute("ALTER TABLE users ALTER COLUMN email TYPE VARCHAR(255)")
                .await?
        }
    };
    Ok(())
}

/// Widens users.nickname from VARCHAR(255): safe in an expand migration.
#[migration(20240801_000003, reversible)]
async fn widen_nickname(db: &mut Db) -> Result<()> {
    match db.dialect() {
        Dialect::MySql => {
            db.execute(
                "ALTER TABLE users MODIFY COLUMN nickname VARCHAR(500) NULL, ALGORITHM=INPLACE, LOCK=NONE",
            )
            .await?
        }
        _ => {
            db.execute("ALTER TABLE users ALTER COLUMN nickname TYPE VARCHAR(500)")
                .await?
        }
    };
    Ok(())
}

async fn widen_nickname_down(db: &mut Db) -> Result<()> {
    match db.dialect() {
        Dialect::MySql => {
            db.execute("ALTER TABLE users MODIFY COLUMN nickname VARCHAR(255) NULL")
                .await?
        }
        _ => {
            db.execute("ALTER TABLE users ALTER COLUMN nickname TYPE VARCHAR(255)")
                .await?
        }
    };
    Ok(())
}

/// Shortens users.nickname again, allowed with a reason.
#[migration(
    20240801_000004,
    irreversible = "shortens nicknames",
    allow(
        type_narrowing_in_expand = "no nickname is longer than 300 characters and the form caps it at 300",
        column_type_change = "users has a few hundred rows"
    )
)]
async fn shorten_nickname(db: &mut Db) -> Result<()> {
    match db.dialect() {
        Dialect::MySql => {
            db.execute(
                "ALTER TABLE users MODIFY COLUMN nickname VARCHAR(300) NULL, ALGORITHM=COPY, LOCK=SHARED",
            )
            .await?
        }
        _ => {
            db.execute("ALTER TABLE users ALTER COLUMN nickname TYPE VARCHAR(300)")
                .await?
        }
    };
    Ok(())
}

/// Creates tags and narrows its column in the same migration: nothing uses it yet.
#[migration(20240801_000005, irreversible = "a new table")]
async fn create_tags(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE tags (id INTEGER PRIMARY KEY, name VARCHAR(200) NOT NULL)")
        .await?;
    match db.dialect() {
        Dialect::MySql => {
            db.execute("ALTER TABLE tags MODIFY COLUMN name VARCHAR(50) NOT NULL")
                .await?
        }
        _ => {
            db.execute("ALTER TABLE tags ALTER COLUMN name TYPE VARCHAR(50)")
                .await?
        }
    };
    Ok(())
}

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
