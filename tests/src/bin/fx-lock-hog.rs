//! Runner whose second migration holds a blocking lock on `t` for
//! `FX_HOLD_MS` milliseconds (default 1500), for the staging canary.
use migrate_core::{Db, Dialect, Result, migration};

fn hold() -> f64 {
    std::env::var("FX_HOLD_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500.0)
        / 1000.0
}

/// Creates t with a few rows.
#[migration(20240801_000001, reversible)]
async fn create_t(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR(255))")
        .await?;
    db.execute("INSERT INTO t (id, v) VALUES (1, 'a'), (2, 'b'), (3, 'c')")
        .await?;
    Ok(())
}

async fn create_t_down(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE t").await?;
    Ok(())
}

/// Takes an exclusive lock on t and keeps it.
#[migration(
    20240801_000002,
    reversible,
    allow(table_rewrite_or_lock = "the fixture holds the lock on purpose, for the canary")
)]
async fn hog_t(db: &mut Db) -> Result<()> {
    let secs = hold();
    match db.dialect() {
        Dialect::Postgres => {
            db.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE").await?;
            db.execute(&format!("SELECT pg_sleep({secs})")).await?;
        }
        Dialect::MySql => {
            db.execute("LOCK TABLES t WRITE").await?;
            db.execute(&format!("DO SLEEP({secs})")).await?;
            db.execute("UNLOCK TABLES").await?;
        }
        Dialect::Sqlite => {
            db.execute("UPDATE t SET v = v WHERE id = 1").await?;
            tokio::time::sleep(std::time::Duration::from_secs_f64(secs)).await;
        }
    }
    Ok(())
}

async fn hog_t_down(_db: &mut Db) -> Result<()> {
    Ok(())
}

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
