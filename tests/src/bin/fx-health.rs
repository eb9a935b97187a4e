//! Runner whose health check fails once the second migration is applied.
use migrate_core::{Db, Dialect, Error, Result, health_check, migration};

/// Creates t.
#[migration(20240601_000001, reversible)]
async fn create_t(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        .await?;
    db.execute("INSERT INTO t (id, v) VALUES (1, 'a'), (2, 'b')")
        .await?;
    Ok(())
}

async fn create_t_down(db: &mut Db) -> Result<()> {
    db.execute("DROP TABLE t").await?;
    Ok(())
}

/// Adds a column the application does not expect.
#[migration(
    20240601_000002,
    reversible,
    allow(
        index_not_concurrent = "t has two rows",
        mysql_alter_without_algorithm = "t has two rows"
    )
)]
async fn add_flag(db: &mut Db) -> Result<()> {
    db.execute("ALTER TABLE t ADD COLUMN flag INTEGER").await?;
    db.execute("CREATE INDEX t_flag_idx ON t (flag)").await?;
    Ok(())
}

async fn add_flag_down(db: &mut Db) -> Result<()> {
    let sql = match db.dialect() {
        Dialect::MySql => "DROP INDEX t_flag_idx ON t",
        Dialect::Sqlite | Dialect::Postgres => "DROP INDEX t_flag_idx",
    };
    db.execute(sql).await?;
    db.execute("ALTER TABLE t DROP COLUMN flag").await?;
    Ok(())
}

/// Every row of t still has a value.
#[health_check]
async fn rows_have_values(db: &mut Db) -> Result<()> {
    let n = db
        .fetch_i64("SELECT count(*) FROM t WHERE v IS NULL")
        .await?;
    if n > 0 {
        return Err(Error::msg(format!("{n} rows of t have no value")));
    }
    Ok(())
}

/// The application cannot handle the `flag` column.
#[health_check]
async fn no_flag_column(db: &mut Db) -> Result<()> {
    let sql = match db.dialect() {
        Dialect::Sqlite => "SELECT count(*) FROM pragma_table_info('t') WHERE name = 'flag'",
        Dialect::Postgres => {
            "SELECT count(*) FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = 't' AND column_name = 'flag'"
        }
        Dialect::MySql => {
            "SELECT count(*) FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't' AND COLUMN_NAME = 'flag'"
        }
    };
    let n = db.fetch_i64(sql).await?;
    if n > 0 {
        return Err(Error::msg(
            "t.flag exists: the deployed application breaks on it",
        ));
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
