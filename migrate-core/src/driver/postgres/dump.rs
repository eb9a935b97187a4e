//! PostgreSQL backups, restores and staging clones with `pg_dump -Fc` and
//! `pg_restore`. The tools get a password-free connection string; the
//! password travels in `PGPASSWORD`, never in an argument list. They run
//! under `setpriv --pdeathsig KILL` where available so they die with the
//! runner, and are killed when their future is dropped.

use std::path::Path;
use std::process::Stdio;

use sqlx::Connection as _;
use sqlx::Executor as _;
use sqlx::postgres::{PgConnection, PgSslMode};
use tokio::process::Command;

use super::{options, quote_ident};
use crate::driver::tool::{self, find_on_path, percent_decode};
use crate::url::DbUrl;
use crate::{Error, Result};

/// Databases a clone or restore must never drop or replace.
const PROTECTED: &[&str] = &["postgres", "template0", "template1"];

/// How the client tools reach one database.
struct Endpoint {
    /// `host=... port=... user=... dbname=...`: everything but the password.
    conninfo: String,
    /// The password, for `PGPASSWORD`.
    password: Option<String>,
    host: String,
    port: u16,
    database: String,
}

impl Endpoint {
    fn of(url: &DbUrl) -> Result<Endpoint> {
        let o = options(url)?;
        let host = match o.get_socket() {
            Some(dir) => dir.display().to_string(),
            None => o.get_host().to_string(),
        };
        let user = o.get_username().to_string();
        let database = o.get_database().unwrap_or(&user).to_string();
        let sslmode = match o.get_ssl_mode() {
            PgSslMode::Disable => "disable",
            PgSslMode::Allow => "allow",
            PgSslMode::Prefer => "prefer",
            PgSslMode::Require => "require",
            PgSslMode::VerifyCa => "verify-ca",
            PgSslMode::VerifyFull => "verify-full",
        };
        let conninfo = [
            ("host", host.as_str()),
            ("port", &o.get_port().to_string()),
            ("user", &user),
            ("dbname", &database),
            ("sslmode", sslmode),
            ("application_name", "cargo-migrate"),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={}", conninfo_value(v)))
        .collect::<Vec<_>>()
        .join(" ");
        Ok(Endpoint {
            conninfo,
            password: url.password().map(percent_decode),
            host,
            port: o.get_port(),
            database,
        })
    }

    /// A command running client tool `name` against this endpoint.
    fn command(&self, name: &'static str) -> Result<Command> {
        let mut cmd = tool_command(name)?;
        cmd.env_remove("PGPASSWORD");
        if let Some(p) = &self.password {
            cmd.env("PGPASSWORD", p);
        }
        Ok(cmd)
    }

    /// Redacts what a tool printed: URLs, and the password if it shows up.
    fn redact(&self, text: &str) -> String {
        let text = crate::url::redact(text.trim());
        match &self.password {
            Some(p) if !p.is_empty() => text.replace(p.as_str(), "***"),
            _ => text,
        }
    }
}

/// A libpq connection-string value: quoted, `\` and `'` escaped.
fn conninfo_value(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A command for client tool `name`, under `setpriv --pdeathsig KILL` when
/// util-linux has it (the tool then dies with the runner even on SIGKILL),
/// killed on drop in any case, with no stdin.
fn tool_command(name: &'static str) -> Result<Command> {
    let path = find_on_path(name).ok_or_else(|| {
        Error::msg(format!(
            "`{name}` is not installed or not on PATH; install the PostgreSQL client tools (package postgresql-client) of the server's major version or newer"
        ))
    })?;
    Ok(tool::command(&path))
}

/// Turns a finished tool into `Ok(stdout)` or an error naming the tool and
/// what it printed on stderr (redacted).
fn check(name: &str, ep: &Endpoint, out: std::process::Output) -> Result<String> {
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    Err(tool::failed(name, &out, |s| ep.redact(s)))
}

async fn run(name: &'static str, ep: &Endpoint, mut cmd: Command) -> Result<String> {
    let out = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .map_err(|e| Error::msg(format!("cannot run {name}: {e}")))?;
    check(name, ep, out)
}

/// `pg_dump -Fc` of `url` into `path` (created 0600), then `pg_restore
/// --list` to check the archive is complete and readable.
pub async fn backup_into(url: &DbUrl, path: &Path) -> Result<String> {
    let ep = Endpoint::of(url)?;
    let file = crate::backup::create_private(path)?;
    let mut dump = ep.command("pg_dump")?;
    dump.arg("--format=custom")
        .arg("--no-password")
        .arg(format!("--dbname={}", ep.conninfo))
        .stdout(file)
        .stderr(Stdio::piped());
    let child = dump
        .spawn()
        .map_err(|e| Error::msg(format!("cannot run pg_dump: {e}")))?;
    crate::failpoint::hit("backup.dump_running");
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| Error::msg(format!("pg_dump did not finish: {e}")))?;
    check("pg_dump", &ep, out)?;
    crate::failpoint::hit("backup.after_copy");
    let mut list = ep.command("pg_restore")?;
    list.arg("--list").arg(path);
    let toc = run("pg_restore --list", &ep, list).await?;
    let summary = TocSummary::parse(&toc).ok_or_else(|| {
        Error::msg(
            "pg_restore --list does not read the dump as a complete custom-format archive (no TOC)",
        )
    })?;
    Ok(format!(
        "pg_restore --list: {} entries ({} tables with data)",
        summary.entries, summary.table_data
    ))
}

/// What `pg_restore --list` says about an archive.
#[derive(Debug, PartialEq, Eq)]
struct TocSummary {
    /// Listed entries (schema objects and data).
    entries: usize,
    /// `TABLE DATA` entries.
    table_data: usize,
}

impl TocSummary {
    /// `None` unless the header names a custom-format archive with a TOC
    /// (even an empty database has its encoding and settings entries).
    fn parse(list: &str) -> Option<TocSummary> {
        let custom = list.lines().any(|l| l.trim() == ";     Format: CUSTOM");
        let toc: usize = list
            .lines()
            .find_map(|l| l.trim().strip_prefix(";     TOC Entries:"))?
            .trim()
            .parse()
            .ok()?;
        if !custom || toc == 0 {
            return None;
        }
        let listed: Vec<&str> = list
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with(';'))
            .collect();
        Some(TocSummary {
            entries: listed.len(),
            table_data: listed.iter().filter(|l| l.contains(" TABLE DATA ")).count(),
        })
    }
}

/// A connection to the maintenance database of `url`'s server (`postgres`,
/// else `template1`), for creating and dropping databases.
async fn maintenance(url: &DbUrl) -> Result<PgConnection> {
    let mut last = None;
    for db in ["postgres", "template1"] {
        let opts = options(url)?
            .database(db)
            .application_name(super::APPLICATION_NAME);
        match super::open(url, opts).await {
            Ok(c) => return Ok(c),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::msg("no maintenance database")))
}

async fn database_exists(admin: &mut PgConnection, name: &str) -> Result<bool> {
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut *admin)
        .await?;
    Ok(found.is_some())
}

/// Drops `name` after ending its sessions (`WITH (FORCE)` on PostgreSQL 13+).
async fn drop_database(admin: &mut PgConnection, name: &str) -> Result<()> {
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()")
        .bind(name)
        .execute(&mut *admin)
        .await?;
    let version: i32 = sqlx::query_scalar("SELECT current_setting('server_version_num')::int")
        .fetch_one(&mut *admin)
        .await?;
    let force = if version >= 130_000 {
        " WITH (FORCE)"
    } else {
        ""
    };
    let sql = format!("DROP DATABASE IF EXISTS {}{force}", quote_ident(name));
    admin
        .execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql)))
        .await?;
    Ok(())
}

async fn create_database(admin: &mut PgConnection, name: &str) -> Result<()> {
    let sql = format!("CREATE DATABASE {}", quote_ident(name));
    admin
        .execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql)))
        .await?;
    Ok(())
}

/// Restores a `pg_dump -Fc` archive into `into`: a database that does not
/// exist yet is created (and dropped again if the restore fails); an
/// existing one is only replaced with `force`. `pg_restore --clean` would
/// only drop the objects the archive holds (a table created after the backup
/// would survive), so the archive is restored into a new database first and
/// swapped in only once complete: a failure leaves the existing one as it was.
pub async fn restore(path: &Path, into: &DbUrl, force: bool) -> Result<()> {
    let ep = Endpoint::of(into)?;
    let mut admin = maintenance(into).await?;
    let exists = database_exists(&mut admin, &ep.database).await?;
    if exists && !force {
        let _ = admin.close().await;
        return Err(Error::Refused(format!(
            "the database `{}` exists on {}:{}; restore into a new database, or replace it with `--into {} --force` (stop the application first). Nothing was changed.",
            ep.database,
            ep.host,
            ep.port,
            into.redacted()
        )));
    }
    let target = if exists {
        let suffix = format!("_restore_{}", std::process::id());
        let keep = 63 - suffix.len();
        let mut name: String = ep.database.chars().take(keep).collect();
        while name.len() > keep {
            name.pop();
        }
        name.push_str(&suffix);
        drop_database(&mut admin, &name).await?;
        name
    } else {
        ep.database.clone()
    };
    create_database(&mut admin, &target).await?;
    let mut cmd = ep.command("pg_restore")?;
    cmd.args([
        "--no-owner",
        "--no-password",
        "--single-transaction",
        "--exit-on-error",
    ]);
    // A later `dbname` keyword wins over the one in the connection string.
    cmd.arg(format!(
        "--dbname={} dbname={}",
        ep.conninfo,
        conninfo_value(&target)
    ))
    .arg(path);
    let mut restored = run("pg_restore", &ep, cmd).await.map(drop);
    if restored.is_ok() && exists {
        restored = drop_database(&mut admin, &ep.database).await;
        if restored.is_ok() {
            let sql = format!(
                "ALTER DATABASE {} RENAME TO {}",
                quote_ident(&target),
                quote_ident(&ep.database)
            );
            let renamed = admin.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql))).await;
            let _ = admin.close().await;
            // The restored copy is all there is now: keep it and say where.
            return renamed.map(drop).map_err(|e| {
                Error::msg(format!(
                    "the backup was restored into `{target}`, but renaming it to `{}` failed: {e}; rename it by hand with `ALTER DATABASE {} RENAME TO {}`",
                    ep.database,
                    quote_ident(&target),
                    quote_ident(&ep.database)
                ))
            });
        }
    }
    if restored.is_err() {
        let _ = drop_database(&mut admin, &target).await;
    }
    let _ = admin.close().await;
    restored
}

/// Replaces the staging database with a copy of production:
/// `pg_dump -Fc production | pg_restore -d staging`, after dropping and
/// recreating staging (its sessions ended first). Production is only read.
/// Returns the size of the dump stream in bytes.
pub async fn clone_into(production: &DbUrl, staging: &DbUrl) -> Result<u64> {
    let (src, dst) = (Endpoint::of(production)?, Endpoint::of(staging)?);
    let same_host = |a: &str, b: &str| {
        let norm = |h: &str| {
            if h == "localhost" || h == "::1" {
                "127.0.0.1".to_string()
            } else {
                h.to_string()
            }
        };
        norm(a) == norm(b)
    };
    if src.database == dst.database && src.port == dst.port && same_host(&src.host, &dst.host) {
        return Err(Error::Config(format!(
            "the staging url names the production database `{}`; staging must be a separate database ([staging] url or STAGING_DATABASE_URL)",
            dst.database
        )));
    }
    if PROTECTED.contains(&dst.database.as_str()) {
        return Err(Error::Config(format!(
            "the staging database cannot be `{}`: it is replaced on every clone; name a database of its own",
            dst.database
        )));
    }
    let mut admin = maintenance(staging).await?;
    let recreated = async {
        drop_database(&mut admin, &dst.database).await?;
        create_database(&mut admin, &dst.database).await
    }
    .await;
    let _ = admin.close().await;
    recreated?;

    let mut dump = src.command("pg_dump")?;
    dump.arg("--format=custom")
        .arg("--no-password")
        .arg(format!("--dbname={}", src.conninfo));
    let mut load = dst.command("pg_restore")?;
    load.args(["--no-owner", "--no-password", "--exit-on-error"])
        .arg(format!("--dbname={}", dst.conninfo));
    let (copied, dumped, loaded) = tool::pipe(dump, "pg_dump", load, "pg_restore").await?;
    check("pg_dump", &src, dumped)?;
    check("pg_restore", &dst, loaded)?;
    Ok(copied?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conninfo_values_are_quoted() {
        assert_eq!(conninfo_value("shop"), "'shop'");
        assert_eq!(conninfo_value(r"a'b\c"), r"'a\'b\\c'");
    }

    #[test]
    fn passwords_are_percent_decoded() {
        assert_eq!(percent_decode("p%40ss%2Fw"), "p@ss/w");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn endpoint_keeps_the_password_out_of_the_connection_string() {
        let url = DbUrl::parse("postgres://app:s3cr%40t@db.internal:6432/shop").unwrap();
        let ep = Endpoint::of(&url).unwrap();
        assert!(!ep.conninfo.contains("s3cr"), "{}", ep.conninfo);
        assert!(
            ep.conninfo
                .contains("host='db.internal' port='6432' user='app' dbname='shop'"),
            "{}",
            ep.conninfo
        );
        assert_eq!(ep.password.as_deref(), Some("s3cr@t"));
        assert_eq!(
            ep.redact("password s3cr@t rejected"),
            "password *** rejected"
        );
    }

    #[test]
    fn toc_summary_needs_a_custom_archive_with_entries() {
        let list = ";\n; Archive created at 2024-11-28\n;     TOC Entries: 12\n;     Format: CUSTOM\n;\n\
                    215; 1259 16390 TABLE public users postgres\n\
                    3310; 0 16390 TABLE DATA public users postgres\n";
        assert_eq!(
            TocSummary::parse(list),
            Some(TocSummary {
                entries: 2,
                table_data: 1
            })
        );
        let empty_db = ";     TOC Entries: 4\n;     Format: CUSTOM\n";
        assert_eq!(
            TocSummary::parse(empty_db),
            Some(TocSummary {
                entries: 0,
                table_data: 0
            })
        );
        assert_eq!(TocSummary::parse("garbage"), None);
        assert_eq!(
            TocSummary::parse(";     TOC Entries: 0\n;     Format: CUSTOM\n"),
            None
        );
    }
}
