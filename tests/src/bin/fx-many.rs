//! Runner with 20 migrations whose ups are not idempotent: each INSERTs a row.
use migrate_core::{Db, Result, migration};

/// Creates the log table.
#[migration(20240501_000000, reversible)]
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
#[migration(20240501_000001, reversible)]
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
#[migration(20240501_000002, reversible)]
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
#[migration(20240501_000003, reversible)]
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
#[migration(20240501_000004, reversible)]
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
#[migration(20240501_000005, reversible)]
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
#[migration(20240501_000006, reversible)]
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
#[migration(20240501_000007, reversible)]
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
#[migration(20240501_000008, reversible)]
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
#[migration(20240501_000009, reversible)]
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
#[migration(20240501_000010, reversible)]
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

/// Logs 11.
#[migration(20240501_000011, reversible)]
async fn log_11(db: &mut Db) -> Result<()> {
    let sql = format!(
        "INSERT INTO log (version, pid) VALUES (11, {})",
        std::process::id()
    );
    db.execute(&sql).await?;
    Ok(())
}

async fn log_11_down(db: &mut Db) -> Result<()> {
    db.execute("DELETE FROM log WHERE version = 11").await?;
    Ok(())
}

/// Logs 12.
#[migration(20240501_000012, reversible)]
async fn log_12(db: &mut Db) -> Result<()> {
    let sql = format!(
        "INSERT INTO log (version, pid) VALUES (12, {})",
        std::process::id()
    );
    db.execute(&sql).await?;
    Ok(())
}

async fn log_12_down(db: &mut Db) -> Result<()> {
    db.execute("DELETE FROM log WHERE version = 12").await?;
    Ok(())
}

/// Logs 13.
#[migration(20240501_000013, reversible)]
async fn log_13(db: &mut Db) -> Result<()> {
    let sql = format!(
        "INSERT INTO log (version, pid) VALUES (13, {})",
        std::process::id()
    );
    db.execute(&sql).await?;
    Ok(())
}

async fn log_13_down(db: &mut Db) -> Result<()> {
    db.execute("DELETE FROM log WHERE version = 13").await?;
    Ok(())
}

/// Logs 14.
#[migration(20240501_000014, reversible)]
async fn log_14(db: &mut Db) -> Result<()> {
    let sql = format!(
        "INSERT INTO log (version, pid) VALUES (14, {})",
        std::process::id()
    );
    db.execute(&sql).await?;
    Ok(())
}

async fn log_14_down(db: &mut Db) -> Result<()> {
    db.execute("DELETE FROM log WHERE version = 14").await?;
    Ok(())
}

/// Logs 15.
#[migration(20240501_000015, reversible)]
async fn log_15(db: &mut Db) -> Result<()> {
    let sql = format!(
        "INSERT INTO log (version, pid) VALUES (15, {})",
        std::process::id()
    );
    db.execute(&sql).await?;
    Ok(())
}

async fn log_15_down(db: &mut Db) -> Result<()> {
    db.execute("DELETE FROM log WHERE version = 15").await?;
    Ok(())
}

/// Logs 16.
#[migration(20240501_000016, reversible)]
async fn log_16(db: &mut Db) -> Result<()> {
    let sql = format!(
        "INSERT INTO log (version, pid) VALUES (16, {})",
        std::process::id()
    );
    db.execute(&sql).await?;
    Ok(())
}

async fn log_16_down(db: &mut Db) -> Result<()> {
    db.execute("DELETE FROM log WHERE version = 16").await?;
    Ok(())
}

/// Logs 17.
#[migration(20240501_000017, reversible)]
async fn log_17(db: &mut Db) -> Result<()> {
    let sql = format!(
        "INSERT INTO log (version, pid) VALUES (17, {})",
        std::process::id()
    );
    db.execute(&sql).await?;
    Ok(())
}

async fn log_17_down(db: &mut Db) -> Result<()> {
    db.execute("DELETE FROM log WHERE version = 17").await?;
    Ok(())
}

/// Logs 18.
#[migration(20240501_000018, reversible)]
async fn log_18(db: &mut Db) -> Result<()> {
    let sql = format!(
        "INSERT INTO log (version, pid) VALUES (18, {})",
        std::process::id()
    );
    db.execute(&sql).await?;
    Ok(())
}

async fn log_18_down(db: &mut Db) -> Result<()> {
    db.execute("DELETE FROM log WHERE version = 18").await?;
    Ok(())
}

/// Logs 19.
#[migration(20240501_000019, reversible)]
async fn log_19(db: &mut Db) -> Result<()> {
    let sql = format!(
        "INSERT INTO log (version, pid) VALUES (19, {})",
        std::process::id()
    );
    db.execute(&sql).await?;
    Ok(())
}

async fn log_19_down(db: &mut Db) -> Result<()> {
    db.execute("DELETE FROM log WHERE version = 19").await?;
    Ok(())
}

/// Logs 20.
#[migration(20240501_000020, reversible)]
async fn log_20(db: &mut Db) -> Result<()> {
    let sql = format!(
        "INSERT INTO log (version, pid) VALUES (20, {})",
        std::process::id()
    );
    db.execute(&sql).await?;
    Ok(())
}

async fn log_20_down(db: &mut Db) -> Result<()> {
    db.execute("DELETE FROM log WHERE version = 20").await?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
