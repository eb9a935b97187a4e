//! SQLite: connection options, timeouts and error classification.

use std::str::FromStr;
use std::time::Duration;

use sqlx::ConnectOptions as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use super::ConnectOptions;
use crate::url::DbUrl;
use crate::{Error, Result};

/// Opens a SQLite database; with `create`, makes the file and its folder.
pub async fn connect(url: &DbUrl, opts: &ConnectOptions) -> Result<SqliteConnection> {
    if opts.create
        && let Some(path) = url.sqlite_path()
        && let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::Config(format!(
                "cannot create the folder {} for the SQLite database {}: {e}",
                dir.display(),
                url.redacted()
            ))
        })?;
    }
    if !opts.create
        && let Some(path) = url.sqlite_path()
        && !path.exists()
    {
        return Err(Error::Unreachable {
            url: url.redacted(),
            reason: format!(
                "the file {} does not exist (run `apply` to create it)",
                path.display()
            ),
        });
    }
    let options = SqliteConnectOptions::from_str(url.expose())
        .map_err(|e| Error::InvalidUrl {
            url: url.redacted(),
            reason: e.to_string(),
        })?
        .create_if_missing(opts.create)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true)
        .disable_statement_logging();
    options
        .connect()
        .await
        .map_err(|e| super::unreachable(url, e))
}

/// SQLite has no lock timeout of its own: the busy timeout bounds waits on
/// another connection's write lock.
pub async fn set_timeouts(
    c: &mut SqliteConnection,
    lock_timeout: Duration,
) -> std::result::Result<(), sqlx::Error> {
    use sqlx::Executor;
    let ms = lock_timeout.as_millis().max(1);
    c.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "PRAGMA busy_timeout = {ms}"
    ))))
    .await
    .map(drop)
}

/// `SQLITE_BUSY` / `SQLITE_LOCKED`: another connection holds the lock.
pub fn is_lock_timeout(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            let code = db.code();
            matches!(
                code.as_deref(),
                Some("5") | Some("6") | Some("517") | Some("262")
            ) || db.message().contains("database is locked")
        }
        _ => false,
    }
}

/// The schema as normalized lines (see [`crate::schema`]).
pub async fn schema(c: &mut SqliteConnection) -> std::result::Result<Vec<String>, sqlx::Error> {
    use sqlx::Row;
    let objects = sqlx::query(
        "SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_schema \
         WHERE (name NOT LIKE 'sqlite_%' OR name LIKE 'sqlite_autoindex_%') AND tbl_name NOT LIKE '\\_migrate%' ESCAPE '\\' ORDER BY tbl_name, CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 WHEN 'trigger' THEN 2 ELSE 3 END, name",
    )
    .fetch_all(&mut *c)
    .await?;
    let mut lines = Vec::new();
    for o in &objects {
        let (kind, name, table, sql): (String, String, String, String) =
            (o.get(0), o.get(1), o.get(2), o.get(3));
        match kind.as_str() {
            "table" => {
                lines.push(format!("table {name}"));
                let cols = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "PRAGMA table_xinfo(\"{name}\")"
                )))
                .fetch_all(&mut *c)
                .await?;
                for col in &cols {
                    let cname: String = col.get("name");
                    let ty: String = col.get("type");
                    let notnull: i64 = col.get("notnull");
                    let default: Option<String> = col.get("dflt_value");
                    let pk: i64 = col.get("pk");
                    let hidden: i64 = col.get("hidden");
                    let mut line = format!(
                        "  column {cname} {} {}",
                        ty.to_uppercase(),
                        if notnull != 0 { "NOT NULL" } else { "NULL" }
                    );
                    if let Some(d) = default {
                        line.push_str(&format!(" DEFAULT {d}"));
                    }
                    if pk > 0 {
                        line.push_str(&format!(" PRIMARY KEY({pk})"));
                    }
                    if hidden != 0 {
                        line.push_str(" GENERATED");
                    }
                    lines.push(line);
                }
                let fks = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "PRAGMA foreign_key_list(\"{name}\")"
                )))
                .fetch_all(&mut *c)
                .await?;
                let mut fk_lines: Vec<String> = fks
                    .iter()
                    .map(|f| {
                        let from: String = f.get("from");
                        let to_table: String = f.get("table");
                        let to: Option<String> = f.get("to");
                        let on_delete: String = f.get("on_delete");
                        format!(
                            "  foreign key ({from}) references {to_table} ({}) on delete {}",
                            to.unwrap_or_default(),
                            on_delete.to_lowercase()
                        )
                    })
                    .collect();
                fk_lines.sort();
                lines.extend(fk_lines);
                if sql.to_uppercase().contains("CHECK") {
                    lines.push(format!(
                        "  definition {}",
                        crate::schema::normalize_sql(&sql)
                    ));
                }
            }
            "index" => {
                let info = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "PRAGMA index_info(\"{name}\")"
                )))
                .fetch_all(&mut *c)
                .await?;
                let cols: Vec<String> = info
                    .iter()
                    .map(|r| {
                        r.try_get::<Option<String>, _>("name")
                            .ok()
                            .flatten()
                            .unwrap_or_else(|| "<expr>".into())
                    })
                    .collect();
                let unique = sql.to_uppercase().starts_with("CREATE UNIQUE");
                let partial = sql.to_uppercase().contains(" WHERE ");
                let auto = sql.is_empty();
                lines.push(format!(
                    "  index {} on {table} ({}){}{}",
                    if auto {
                        format!("<auto {table}>")
                    } else {
                        name.clone()
                    },
                    cols.join(", "),
                    if unique || auto { " unique" } else { "" },
                    if partial {
                        format!(
                            " where {}",
                            crate::schema::normalize_sql(
                                sql.split_once(" WHERE ").map_or("", |(_, w)| w)
                            )
                        )
                    } else {
                        String::new()
                    }
                ));
            }
            "view" => lines.push(format!(
                "view {name}: {}",
                crate::schema::normalize_sql(&sql)
            )),
            "trigger" => lines.push(format!(
                "  trigger {name} on {table}: {}",
                crate::schema::normalize_sql(&sql)
            )),
            _ => {}
        }
    }
    Ok(lines)
}

/// Per-table row counts of the user tables (runtime tables included: they
/// are part of what a backup must hold).
async fn row_counts(
    c: &mut SqliteConnection,
) -> std::result::Result<Vec<(String, i64)>, sqlx::Error> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&mut *c)
    .await?;
    let mut out = Vec::with_capacity(tables.len());
    for t in tables {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM \"{t}\"")))
                .fetch_one(&mut *c)
                .await?;
        out.push((t, n));
    }
    Ok(out)
}

/// `VACUUM INTO` a file created 0600 beforehand, then verifies it:
/// `PRAGMA integrity_check` and per-table row counts against the source
/// (counted before and after, so concurrent writers do not cause false alarms).
pub async fn backup_into(c: &mut SqliteConnection, path: &std::path::Path) -> Result<String> {
    use sqlx::Connection as _;
    crate::backup::create_private(path)?;
    let before = row_counts(c).await?;
    let target = path
        .to_str()
        .ok_or_else(|| Error::msg("backup path is not UTF-8"))?;
    sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(&mut *c)
        .await?;
    crate::failpoint::hit("backup.after_copy");
    let after = row_counts(c).await?;
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .disable_statement_logging();
    let mut b = opts.connect().await?;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut b)
        .await?;
    if integrity != "ok" {
        return Err(Error::msg(format!(
            "the backup fails PRAGMA integrity_check: {integrity}"
        )));
    }
    let copied = row_counts(&mut b).await?;
    b.close().await?;
    let mut total = 0i64;
    for (table, n) in &copied {
        let lo = before
            .iter()
            .chain(after.iter())
            .filter(|(t, _)| t == table)
            .map(|(_, n)| *n)
            .min();
        let hi = before
            .iter()
            .chain(after.iter())
            .filter(|(t, _)| t == table)
            .map(|(_, n)| *n)
            .max();
        match (lo, hi) {
            (Some(lo), Some(hi)) if (lo..=hi).contains(n) => total += n,
            _ => {
                return Err(Error::msg(format!(
                    "the backup has {n} rows in `{table}`, the database {}",
                    lo.map_or("has no such table".to_string(), |lo| format!("has {lo}"))
                )));
            }
        }
    }
    if copied.len() != before.len() {
        return Err(Error::msg(format!(
            "the backup has {} tables, the database {}",
            copied.len(),
            before.len()
        )));
    }
    Ok(format!(
        "integrity_check ok; {} tables, {total} rows match the database",
        copied.len()
    ))
}

/// Copies a SQLite backup file into place at `into` (a new file unless `force`).
pub fn restore(backup: &std::path::Path, into: &DbUrl, force: bool) -> Result<()> {
    let Some(dest) = into.sqlite_path() else {
        return Err(Error::Refused(
            "cannot restore into an in-memory database".into(),
        ));
    };
    if dest.exists() && !force {
        return Err(Error::Refused(format!(
            "{} exists; restore into a new file, or replace it with `--into {} --force` (stop the application first). Nothing was changed.",
            dest.display(),
            into.redacted()
        )));
    }
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut tmp_name = dest
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    tmp_name.push(".restoring");
    let tmp = dest.with_file_name(tmp_name);
    let _ = std::fs::remove_file(&tmp);
    let mut out = crate::backup::create_private(&tmp)?;
    std::io::copy(&mut std::fs::File::open(backup)?, &mut out)?;
    out.sync_all()?;
    // A stale write-ahead log of the replaced file must not be replayed over the restored one.
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = dest.as_os_str().to_os_string();
        side.push(suffix);
        let _ = std::fs::remove_file(std::path::PathBuf::from(side));
    }
    std::fs::rename(&tmp, &dest)?;
    Ok(())
}

/// Refreshes the staging file from production with `VACUUM INTO` (into a
/// temporary file renamed over staging). Returns bytes and whether
/// production existed; without it, staging starts empty.
pub async fn clone_into(
    production: &DbUrl,
    staging: &DbUrl,
    timeout: Duration,
) -> Result<(u64, bool)> {
    use sqlx::Connection as _;
    let dest = staging.sqlite_path().ok_or_else(|| {
        Error::Config("the staging database must be a file, not in-memory".into())
    })?;
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let remove_with_sidecars = |p: &std::path::Path| {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut s = p.as_os_str().to_os_string();
            s.push(suffix);
            let _ = std::fs::remove_file(std::path::PathBuf::from(s));
        }
    };
    let exists = production.sqlite_path().is_some_and(|p| p.exists());
    if !exists {
        remove_with_sidecars(&dest);
        return Ok((0, false));
    }
    let mut tmp_name = dest
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    tmp_name.push(".cloning");
    let tmp = dest.with_file_name(tmp_name);
    let _ = std::fs::remove_file(&tmp);
    crate::backup::create_private(&tmp)?;
    let mut c = connect(
        production,
        &ConnectOptions {
            create: false,
            timeout,
        },
    )
    .await?;
    let target = tmp
        .to_str()
        .ok_or_else(|| Error::msg("staging path is not UTF-8"))?;
    let copied = sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(&mut c)
        .await;
    let _ = c.close().await;
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.into());
    }
    remove_with_sidecars(&dest);
    std::fs::rename(&tmp, &dest)?;
    Ok((std::fs::metadata(&dest)?.len(), true))
}
