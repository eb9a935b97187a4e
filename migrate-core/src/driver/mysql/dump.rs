//! MySQL / MariaDB backups, restores and staging clones with `mariadb-dump`
//! (or `mysqldump`) and the `mariadb` (or `mysql`) client. Credentials reach
//! the tools through a `--defaults-extra-file` written 0600 in a private
//! temporary folder, never through an argument list. The tools run under
//! `setpriv --pdeathsig KILL` where available so they die with the runner,
//! and are killed when their future is dropped.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection as _;
use sqlx::Executor as _;
use sqlx::Row as _;
use sqlx::mysql::MySqlConnection;
use tokio::process::Command;

use super::{options, quote_ident};
use crate::driver::tool::{self, find_on_path, percent_decode};
use crate::url::DbUrl;
use crate::{Error, Result};

/// Databases a clone or restore must never drop or replace.
const PROTECTED: &[&str] = &["mysql", "information_schema", "performance_schema", "sys"];

/// The line a complete dump ends with.
const TRAILER: &[u8] = b"-- Dump completed";

/// How the client tools reach one database.
struct Endpoint {
    host: String,
    port: u16,
    socket: Option<PathBuf>,
    user: String,
    password: Option<String>,
    database: String,
}

impl Endpoint {
    fn of(url: &DbUrl) -> Result<Endpoint> {
        let o = options(url)?;
        Ok(Endpoint {
            host: o.get_host().to_string(),
            port: o.get_port(),
            socket: o.get_socket().cloned(),
            user: o.get_username().to_string(),
            password: url.password().map(percent_decode),
            database: o.get_database().unwrap_or_default().to_string(),
        })
    }

    /// The `[client]` option file: where to connect and as whom. TCP unless
    /// the URL names a socket (the tools would take `localhost` for a socket).
    fn option_file(&self) -> String {
        let mut s = String::from("[client]\n");
        s.push_str(&format!("user={}\n", option_value(&self.user)));
        if let Some(p) = &self.password {
            s.push_str(&format!("password={}\n", option_value(p)));
        }
        match &self.socket {
            Some(path) => {
                s.push_str("protocol=SOCKET\n");
                s.push_str(&format!(
                    "socket={}\n",
                    option_value(&path.display().to_string())
                ));
            }
            None => {
                s.push_str("protocol=TCP\n");
                s.push_str(&format!("host={}\n", option_value(&self.host)));
                s.push_str(&format!("port={}\n", self.port));
            }
        }
        s
    }

    /// Redacts what a tool printed: URLs, and the password if it shows up.
    fn redact(&self, text: &str) -> String {
        let text = crate::url::redact(text.trim());
        match &self.password {
            Some(p) if !p.is_empty() => text.replace(p.as_str(), "***"),
            _ => text,
        }
    }

    /// Whether both name the same database on the same server.
    fn same_database(&self, other: &Endpoint) -> bool {
        let norm = |h: &str| {
            if h == "localhost" || h == "::1" {
                "127.0.0.1".to_string()
            } else {
                h.to_string()
            }
        };
        self.database == other.database
            && self.port == other.port
            && self.socket == other.socket
            && norm(&self.host) == norm(&other.host)
    }
}

/// An option-file value: double-quoted, with `\` and line breaks escaped.
fn option_value(v: &str) -> String {
    let escaped = v
        .replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
        .replace('\t', "\\t");
    format!("\"{escaped}\"")
}

/// A folder only this user can enter, holding the option file; removed on drop.
struct Credentials {
    dir: PathBuf,
    file: PathBuf,
}

impl Credentials {
    const PREFIX: &str = "cargo-migrate-credentials-";

    fn write(ep: &Endpoint) -> Result<Credentials> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        Credentials::sweep();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "{}{}-{}-{nanos}",
            Credentials::PREFIX,
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&dir).map_err(|e| {
            Error::msg(format!(
                "cannot create a private folder for the client credentials in {}: {e}",
                dir.display()
            ))
        })?;
        let creds = Credentials {
            file: dir.join("client.cnf"),
            dir,
        };
        let mut f = crate::backup::create_private(&creds.file)?;
        f.write_all(ep.option_file().as_bytes())?;
        f.sync_all()?;
        Ok(creds)
    }

    /// Removes the folders of runners that were killed before they could
    /// (a SIGKILL runs no destructor), found by their process id being gone.
    fn sweep() {
        let proc = Path::new("/proc");
        if !proc.is_dir() {
            return;
        }
        let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .and_then(|n| n.strip_prefix(Credentials::PREFIX))
                .and_then(|rest| rest.split('-').next())
                .filter(|pid| pid.parse::<u32>().is_ok())
            else {
                continue;
            };
            if !proc.join(pid).exists() {
                let dir = entry.path();
                let _ = std::fs::remove_file(dir.join("client.cnf"));
                let _ = std::fs::remove_dir(&dir);
            }
        }
    }

    /// `--defaults-extra-file=...`, which the tools require as their first argument.
    fn arg(&self) -> String {
        format!("--defaults-extra-file={}", self.file.display())
    }
}

impl Drop for Credentials {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// The first of `names` installed, e.g. `mariadb-dump` else `mysqldump`.
fn find_tool(names: [&'static str; 2]) -> Result<(&'static str, PathBuf)> {
    names
        .iter()
        .find_map(|n| find_on_path(n).map(|p| (*n, p)))
        .ok_or_else(|| {
            Error::msg(format!(
                "neither `{}` nor `{}` is installed or on PATH; install the MariaDB or MySQL client tools (package mariadb-client)",
                names[0], names[1]
            ))
        })
}

/// A command for client tool `names` (first found) reading its credentials
/// from `creds`, under `setpriv --pdeathsig KILL` when util-linux has it,
/// killed on drop in any case, with no stdin.
fn tool_command(names: [&'static str; 2], creds: &Credentials) -> Result<(&'static str, Command)> {
    let (name, path) = find_tool(names)?;
    let mut cmd = tool::command(&path);
    cmd.arg(creds.arg());
    Ok((name, cmd))
}

fn dump_command(creds: &Credentials, database: &str) -> Result<(&'static str, Command)> {
    let (name, mut cmd) = tool_command(["mariadb-dump", "mysqldump"], creds)?;
    cmd.args([
        "--single-transaction",
        "--routines",
        "--triggers",
        "--hex-blob",
        "--no-tablespaces",
        "--default-character-set=utf8mb4",
    ])
    .arg(database);
    Ok((name, cmd))
}

fn load_command(creds: &Credentials, database: &str) -> Result<(&'static str, Command)> {
    let (name, mut cmd) = tool_command(["mariadb", "mysql"], creds)?;
    cmd.args(["--batch", "--default-character-set=utf8mb4"])
        .arg(database);
    Ok((name, cmd))
}

/// Turns a finished tool into `Ok(())` or an error naming the tool and what
/// it printed on stderr (redacted).
fn check(name: &str, ep: &Endpoint, out: std::process::Output) -> Result<()> {
    if out.status.success() {
        return Ok(());
    }
    Err(tool::failed(name, &out, |s| ep.redact(s)))
}

/// What a dump file holds, and whether it ends with the completion trailer.
#[derive(Debug, PartialEq, Eq)]
struct DumpSummary {
    tables: usize,
    inserts: usize,
    complete: bool,
}

impl DumpSummary {
    fn read(reader: impl BufRead) -> std::io::Result<DumpSummary> {
        let mut reader = reader;
        let mut summary = DumpSummary {
            tables: 0,
            inserts: 0,
            complete: false,
        };
        let mut line = Vec::new();
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            let trimmed = line.trim_ascii();
            if trimmed.is_empty() {
                continue;
            }
            summary.tables += usize::from(trimmed.starts_with(b"CREATE TABLE "));
            summary.inserts += usize::from(trimmed.starts_with(b"INSERT INTO "));
            // Only the last non-empty line counts: a trailer followed by more is no trailer.
            summary.complete = trimmed.starts_with(TRAILER);
        }
        Ok(summary)
    }
}

/// `mariadb-dump --single-transaction --routines --triggers` of `url` into
/// `path` (created 0600), verified by the dump's completion trailer.
pub async fn backup_into(url: &DbUrl, path: &Path) -> Result<String> {
    let ep = Endpoint::of(url)?;
    if ep.database.is_empty() {
        return Err(Error::Config(format!(
            "{} names no database to back up",
            url.redacted()
        )));
    }
    let file = crate::backup::create_private(path)?;
    let creds = Credentials::write(&ep)?;
    let (name, mut cmd) = dump_command(&creds, &ep.database)?;
    cmd.stdout(file).stderr(Stdio::piped());
    let child = cmd
        .spawn()
        .map_err(|e| Error::msg(format!("cannot run {name}: {e}")))?;
    crate::failpoint::hit("backup.dump_running");
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| Error::msg(format!("{name} did not finish: {e}")))?;
    drop(creds);
    check(name, &ep, out)?;
    crate::failpoint::hit("backup.after_copy");
    let summary = DumpSummary::read(std::io::BufReader::new(std::fs::File::open(path)?))?;
    if !summary.complete {
        return Err(Error::msg(format!(
            "the dump written by {name} does not end with its `-- Dump completed` trailer: it is incomplete"
        )));
    }
    Ok(format!(
        "{name}: `-- Dump completed` trailer present; {} tables, {} INSERT statements",
        summary.tables, summary.inserts
    ))
}

/// A connection to `url`'s server without selecting a database.
async fn server(url: &DbUrl) -> Result<MySqlConnection> {
    let raw = url.expose();
    let (base, query) = raw
        .split_once('?')
        .map_or((raw, None), |(b, q)| (b, Some(q)));
    let start = base.find("://").map_or(0, |i| i + 3);
    let end = base[start..].find('/').map_or(base.len(), |i| start + i);
    let server = DbUrl::parse(&format!(
        "{}/{}",
        &base[..end],
        query.map(|q| format!("?{q}")).unwrap_or_default()
    ))?;
    super::connect(&server).await
}

/// The character set and collation of `name`, if it exists.
async fn database_charset(c: &mut MySqlConnection, name: &str) -> Result<Option<(String, String)>> {
    let row = sqlx::query(
        "SELECT CAST(DEFAULT_CHARACTER_SET_NAME AS CHAR), CAST(DEFAULT_COLLATION_NAME AS CHAR) \
         FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
    )
    .bind(name)
    .fetch_optional(&mut *c)
    .await?;
    Ok(match row {
        Some(r) => Some((r.try_get(0)?, r.try_get(1)?)),
        None => None,
    })
}

/// Ends other sessions using `name` (best effort: it needs the privilege),
/// then drops it.
async fn drop_database(admin: &mut MySqlConnection, name: &str) -> Result<()> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
    )
    .bind(name)
    .fetch_all(&mut *admin)
    .await?;
    for id in ids {
        let _ = admin
            .execute(sqlx::raw_sql(sqlx::AssertSqlSafe(format!("KILL {id}"))))
            .await;
    }
    let sql = format!("DROP DATABASE IF EXISTS {}", quote_ident(name));
    admin
        .execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql)))
        .await?;
    Ok(())
}

async fn create_database(
    admin: &mut MySqlConnection,
    name: &str,
    charset: Option<&(String, String)>,
) -> Result<()> {
    let mut sql = format!("CREATE DATABASE {}", quote_ident(name));
    if let Some((cs, coll)) = charset {
        sql.push_str(&format!(
            " CHARACTER SET {} COLLATE {}",
            quote_ident(cs),
            quote_ident(coll)
        ));
    }
    admin
        .execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql)))
        .await?;
    Ok(())
}

fn refuse_protected(ep: &Endpoint, role: &str) -> Result<()> {
    if ep.database.is_empty() {
        return Err(Error::Config(format!("the {role} url names no database")));
    }
    if PROTECTED
        .iter()
        .any(|p| p.eq_ignore_ascii_case(&ep.database))
    {
        return Err(Error::Config(format!(
            "the {role} database cannot be the system database `{}`; name a database of its own",
            ep.database
        )));
    }
    Ok(())
}

/// Loads a dump into `into`: a database that does not exist yet is created
/// (and dropped again if the load fails); an existing one is only replaced
/// with `force`, by dropping and recreating it with its character set.
pub async fn restore(path: &Path, into: &DbUrl, force: bool) -> Result<()> {
    let ep = Endpoint::of(into)?;
    refuse_protected(&ep, "restore target")?;
    let mut admin = server(into).await?;
    let existing = database_charset(&mut admin, &ep.database).await?;
    if existing.is_some() && !force {
        let _ = admin.close().await;
        return Err(Error::Refused(format!(
            "the database `{}` exists on {}:{}; restore into a new database, or replace it with `--into {} --force` (stop the application first). Nothing was changed.",
            ep.database,
            ep.host,
            ep.port,
            into.redacted()
        )));
    }
    if existing.is_some() {
        drop_database(&mut admin, &ep.database).await?;
    }
    create_database(&mut admin, &ep.database, existing.as_ref()).await?;
    let loaded = async {
        let creds = Credentials::write(&ep)?;
        let (name, mut cmd) = load_command(&creds, &ep.database)?;
        cmd.stdin(std::fs::File::open(path)?)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let out = cmd
            .output()
            .await
            .map_err(|e| Error::msg(format!("cannot run {name}: {e}")))?;
        check(name, &ep, out)
    }
    .await;
    if let Err(e) = loaded {
        let _ = drop_database(&mut admin, &ep.database).await;
        let _ = admin.close().await;
        return Err(if existing.is_some() {
            Error::msg(format!(
                "{e}\n  `{}` was dropped before the load and is now gone; restore the backup again once the cause is fixed",
                ep.database
            ))
        } else {
            e
        });
    }
    let _ = admin.close().await;
    Ok(())
}

/// Replaces the staging database with a copy of production: drops and
/// recreates staging (with production's character set), then
/// `mariadb-dump production | mariadb staging`. Production is only read.
/// Returns the size of the dump stream in bytes.
pub async fn clone_into(production: &DbUrl, staging: &DbUrl) -> Result<u64> {
    let (src, dst) = (Endpoint::of(production)?, Endpoint::of(staging)?);
    refuse_protected(&src, "production")?;
    refuse_protected(&dst, "staging")?;
    if src.same_database(&dst) {
        return Err(Error::Config(format!(
            "the staging url names the production database `{}`; staging must be a separate database ([staging] url or STAGING_DATABASE_URL)",
            dst.database
        )));
    }
    let charset = {
        let mut prod = super::connect(production).await?;
        let cs = database_charset(&mut prod, &src.database).await;
        let _ = prod.close().await;
        cs?
    };
    let mut admin = server(staging).await?;
    let recreated = async {
        drop_database(&mut admin, &dst.database).await?;
        create_database(&mut admin, &dst.database, charset.as_ref()).await
    }
    .await;
    let _ = admin.close().await;
    recreated?;

    let (src_creds, dst_creds) = (Credentials::write(&src)?, Credentials::write(&dst)?);
    let (dump_name, dump) = dump_command(&src_creds, &src.database)?;
    let (load_name, load) = load_command(&dst_creds, &dst.database)?;
    let (copied, dumped, loaded) = tool::pipe(dump, dump_name, load, load_name).await?;
    check(dump_name, &src, dumped)?;
    check(load_name, &dst, loaded)?;
    Ok(copied?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_file_carries_the_password_and_forces_tcp() {
        let url = DbUrl::parse("mysql://app:p%22w%5Cd@db.internal:3307/shop").unwrap();
        let ep = Endpoint::of(&url).unwrap();
        assert_eq!(ep.password.as_deref(), Some("p\"w\\d"));
        let file = ep.option_file();
        assert!(file.starts_with("[client]\n"), "{file}");
        assert!(file.contains("password=\"p\"w\\\\d\"\n"), "{file}");
        assert!(
            file.contains("protocol=TCP\nhost=\"db.internal\"\nport=3307\n"),
            "{file}"
        );
        assert_eq!(ep.database, "shop");
    }

    #[test]
    fn credentials_are_private_and_removed() {
        let ep = Endpoint::of(&DbUrl::parse("mysql://root:pw@127.0.0.1/test").unwrap()).unwrap();
        let creds = Credentials::write(&ep).unwrap();
        let file = creds.file.clone();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
                0o600
            );
            assert_eq!(
                std::fs::metadata(&creds.dir).unwrap().permissions().mode() & 0o777,
                0o700
            );
        }
        assert!(
            std::fs::read_to_string(&file)
                .unwrap()
                .contains("password=\"pw\"")
        );
        drop(creds);
        assert!(!file.exists());
    }

    #[test]
    fn a_dump_is_complete_only_with_its_trailer_last() {
        let ok = b"-- MariaDB dump\nCREATE TABLE `t` (\n) ;\nINSERT INTO `t` VALUES (1);\n\n-- Dump completed on 2024-11-28  8:14:03\n";
        assert_eq!(
            DumpSummary::read(&ok[..]).unwrap(),
            DumpSummary {
                tables: 1,
                inserts: 1,
                complete: true
            }
        );
        let cut = b"-- MariaDB dump\nCREATE TABLE `t` (\nINSERT INTO `t` VALUES (1),";
        assert!(!DumpSummary::read(&cut[..]).unwrap().complete);
    }

    #[test]
    fn system_databases_are_never_targets() {
        let ep = Endpoint::of(&DbUrl::parse("mysql://root@127.0.0.1/mysql").unwrap()).unwrap();
        assert!(refuse_protected(&ep, "staging").is_err());
        let ep = Endpoint::of(&DbUrl::parse("mysql://root@127.0.0.1/").unwrap()).unwrap();
        assert!(refuse_protected(&ep, "staging").is_err());
    }
}
