//! Fault suite runner: a log table and ten migrations whose ups are not
//! idempotent (each INSERTs a row), for exactly-once checks under concurrency.
use migrate_core::{Db, Result, migration};

/// Creates the log table.
#[migration(20240901_000000, reversible)]
async fn create_log(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE log (version INTEGER NOT NULL, pid INTEGER)")
        .await?;
    Ok(())
}

async fn create_log_down(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE log").await?;
    Ok(())
}

/// Logs 1.
#[migration(20240901_000001, reversible)]
async fn log_1(db: &mut Db) -> Result<()> {
    let sql = format!(
        "INSERT INTO log (version, pid) VALUES (1, {})",
        std::process::id()
    );
    db.execute(&sql).await?;
    Ok(())
}

async fn log_1_down(db: &mut Db) -> Result<()> {
    db.execute("DELETE FROM log WHERE version = 1").await?;
    Ok(())
}

/// Logs 2.
#[migration(20240901_000002, reversible)]
async fn log_2(db: &mut Db) -> Result<()> {
    let sql = format!(
        "INSERT INTO log (version, pid) VALUES (2, {})",
        std::process::id()
    );
    db.execute(&sql).await?;
    Ok(())
}

async fn log_2_down(db: &mut Db) -> Result<()> {
    db.execute("DELETE FROM log WHERE version = 2").await?;
    Ok(())
}

/// Logs 3.
#[migration(20240901_000003, reversible)]
async fn log_3(db: &mut Db) -> Result<()> {
    let sql = format!(
        "INSERT INTO log (version, pid) VALUES (3, {})",
        std::process::id()
    );
    db.execute(&sql).await?;
    Ok(())
}

async fn log_3_down(db: &mut Db) -> Result<()> {
    db.execute("DELETE FROM log WHERE version = 3").await?;
    Ok(())
}

/// Logs 4.
#[migration(20240901_000004, reversible)]
async fn log_4(db: &mut Db) -> Result<()> {
    let sql = format!(
        "INSERT INTO log (version, pid) VALUES (4, {})",
        std::process::id()
    );
    db.execute(&sql).await?;
    Ok(())
}

async fn log_4_down(db: &mut Db) -> Result<()> {
    db.execute("DELETE FROM log WHERE version = 4").await?;
    Ok(())
}

/// Logs 5.
#[migration(20240901_000005, reversible)]
async fn log_5(db: &mut Db) -> Result<()> {
    let sql = format!(
        "INSERT INTO log (version, pid) VALUES (5, {})",
        std::process::id()
    );
    db.execute(&sql).await?;
    Ok(())
}

async fn log_5_down(db: &mut Db) -> Result<()> {
    db.execute("DELETE FROM log WHERE version = 5").await?;
    Ok(())
}

/// Logs 6.
#[migration(20240901_000006, reversible)]
async fn log_6(db: &mut Db) -> Result<()> {
    let sql = format!(
        "INSERT INTO log (version, pid) VALUES (6, {})",
        std::process::id()
    );
    db.execute(&sql).await?;
    Ok(())
}

async fn log_6_down(db: &mut Db) -> Result<()> {
    db.execute("DELETE FROM log WHERE version = 6").await?;
    Ok(())
}

/// Logs 7.
#[migration(20240901_000007, reversible)]
async fn log_7(db: &mut Db) -> Result<()> {
    let sql = format!(
        "INSERT INTO log (version, pid) VALUES (7, {})",
        std::process::id()
    );
    db.execute(&sql).await?;
    Ok(())
}

async fn log_7_down(db: &mut Db) -> Result<()> {
    db.execute("DELETE FROM log WHERE version = 7").await?;
    Ok(())
}

/// Logs 8.
#[migration(20240901_000008, reversible)]
async fn log_8(db: &mut Db) -> Result<()> {
    let sql = format!(
        "INSERT INTO log (version, pid) VALUES (8, {})",
        std::process::id()
    );
    db.execute(&sql).await?;
    Ok(())
}

async fn log_8_down(db: &mut Db) -> Result<()> {
    db.execute("DELETE FROM log WHERE version = 8").await?;
    Ok(())
}

/// Logs 9.
#[migration(20240901_000009, reversible)]
async fn log_9(db: &mut Db) -> Result<()> {
    let sql = format!(
        "INSERT INTO log (version, pid) VALUES (9, {})",
        std::process::id()
    );
    db.execute(&sql).await?;
    Ok(())
}

async fn log_9_down(db: &mut Db) -> Result<()> {
    db.execute("DELETE FROM log WHERE version = 9").await?;
    Ok(())
}

/// Logs 10.
#[migration(20240901_000010, reversible)]
async fn log_10(db: &mut Db) -> Result<()> {
    let sql = format!(
        "INSERT INTO log (version, pid) VALUES (10, {})",
        std::process::id()
    );
    db.execute(&sql).await?;
    Ok(())
}

async fn log_10_down(db: &mut Db) -> Result<()> {
    db.execute("DELETE FROM log WHERE version = 10").await?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
