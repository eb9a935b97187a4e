//! Runner for the verify gate's metrics check: the events fixture, then a
//! migration that limits `payload` to 8 characters, which the running app's
//! writes (`fx-events-app`, payload `written-by-the-app`) violate. Preparing
//! the app's queries cannot catch it; only its error rate shows it.
#[path = "../fixtures/events_base.rs"]
mod events_base;

use migrate_core::{Db, Dialect, Result, migration};

/// Payloads are short codes from now on.
#[migration(
    20240701_000003,
    reversible,
    allow(mysql_alter_without_algorithm = "no ALTER on MariaDB: a trigger")
)]
async fn limit_payload(db: &mut Db) -> Result<()> {
    let sql = match db.dialect() {
        // SQLite cannot add a constraint to a table: a trigger does the same.
        Dialect::Sqlite => {
            "CREATE TRIGGER events_payload_short BEFORE INSERT ON events \
             WHEN length(NEW.payload) > 8 \
             BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: events_payload_short'); END"
        }
        Dialect::Postgres => {
            "ALTER TABLE events ADD CONSTRAINT events_payload_short CHECK (length(payload) <= 8) NOT VALID"
        }
        // A CHECK would validate the rows the app already wrote and fail the
        // migration itself on MariaDB; a trigger only rejects new writes.
        Dialect::MySql => {
            "CREATE TRIGGER events_payload_short BEFORE INSERT ON events FOR EACH ROW \
             BEGIN IF CHAR_LENGTH(NEW.payload) > 8 THEN \
             SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'CHECK constraint failed: events_payload_short'; \
             END IF; END"
        }
    };
    db.execute(sql).await?;
    Ok(())
}

async fn limit_payload_down(db: &mut Db) -> Result<()> {
    let sql = match db.dialect() {
        Dialect::Sqlite | Dialect::MySql => "DROP TRIGGER events_payload_short",
        Dialect::Postgres => "ALTER TABLE events DROP CONSTRAINT events_payload_short",
    };
    db.execute(sql).await?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
