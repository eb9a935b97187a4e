//! The backup benchmark: `backup` of the generated runner (lock, dump,
//! fsync, sha256, structural verification, manifest) against the bare dump
//! tool on the same seeded database: `pg_dump -Fc`, `mariadb-dump
//! --single-transaction --routines --triggers`, and for SQLite `VACUUM INTO`
//! through sqlx (the copy ours makes) and the `sqlite3` shell's `.backup`.

use std::process::Command;
use std::time::{Duration, Instant};

use migrate_core::url::{Backend, DbUrl};

use crate::apply::{Inputs, short};
use crate::fresh::{self, Fresh};
use crate::table::{Table, ratio};
use crate::tools::{self, median_of};

/// One backend's samples: ours, then each baseline.
pub struct BackupResult {
    pub backend: Backend,
    pub rows: u64,
    pub size: Option<u64>,
    pub ours: Result<Vec<Duration>, String>,
    pub baselines: Vec<(String, Result<Vec<Duration>, String>)>,
}

/// Fills table `items` with `rows` rows.
async fn seed(db: &Fresh, rows: u64) -> Result<(), String> {
    let url = DbUrl::parse(&db.url).map_err(|e| e.to_string())?;
    let mut c = migrate_core::driver::connect(&url, &Default::default())
        .await
        .map_err(|e| e.to_string())?;
    let statements: Vec<String> = match db.backend {
        Backend::Postgres => vec![
            "CREATE TABLE items (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, qty INT NOT NULL, price NUMERIC(10,2) NOT NULL, created_at TIMESTAMP NOT NULL)".into(),
            format!("INSERT INTO items SELECT g, 'item ' || g, g % 100, (g % 10000) / 100.0, TIMESTAMP '2024-01-01' + g * INTERVAL '1 second' FROM generate_series(1, {rows}) g"),
            "CREATE INDEX items_qty ON items (qty)".into(),
        ],
        Backend::MySql => vec![
            "CREATE TABLE items (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, qty INT NOT NULL, price DECIMAL(10,2) NOT NULL, created_at DATETIME NOT NULL)".into(),
            format!("INSERT INTO items SELECT seq, CONCAT('item ', seq), seq % 100, (seq % 10000) / 100.0, TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq SECOND FROM seq_1_to_{rows}"),
            "CREATE INDEX items_qty ON items (qty)".into(),
        ],
        _ => vec![
            "CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL, qty INT NOT NULL, price NUMERIC(10,2) NOT NULL, created_at TEXT NOT NULL)".into(),
            format!("INSERT INTO items WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {rows}) SELECT n, 'item ' || n, n % 100, (n % 10000) / 100.0, datetime('2024-01-01', '+' || n || ' seconds') FROM g"),
            "CREATE INDEX items_qty ON items (qty)".into(),
        ],
    };
    for sql in statements {
        c.execute(&sql).await.map_err(|e| format!("seeding: {e}"))?;
    }
    c.close().await;
    Ok(())
}

/// The baselines of `backend`: a label and a command writing into `out`.
fn baselines(db: &Fresh, out: &std::path::Path) -> Vec<(String, Option<Command>)> {
    let url = DbUrl::parse(&db.url).ok();
    match db.backend {
        Backend::Postgres => {
            let mut c = Command::new("pg_dump");
            c.arg("--format=custom")
                .arg("--no-password")
                .arg("--file")
                .arg(out)
                .arg(format!("--dbname={}", db.url));
            vec![("`pg_dump -Fc`".into(), Some(c))]
        }
        Backend::MySql => {
            let name = db.url.rsplit('/').next().unwrap_or_default().to_string();
            let (host, port) = mysql_host_port(url.as_ref().map_or("", |u| u.expose()));
            let mut c = Command::new("mariadb-dump");
            c.args(["--single-transaction", "--routines", "--triggers"])
                .arg(format!("--host={host}"))
                .arg(format!("--port={port}"))
                .arg("--user=root")
                .arg(format!("--result-file={}", out.display()))
                .arg(name);
            vec![(
                "`mariadb-dump --single-transaction --routines --triggers`".into(),
                Some(c),
            )]
        }
        _ => {
            let file = db.dir.join("db.sqlite");
            let mut c = Command::new("sqlite3");
            c.arg(&file).arg(format!(".backup '{}'", out.display()));
            vec![
                ("`VACUUM INTO` through sqlx (no checks)".into(), None),
                ("`sqlite3 db .backup` (shell)".into(), Some(c)),
            ]
        }
    }
}

/// `host`, `port` of a `mysql://user@host:port/db` URL.
fn mysql_host_port(url: &str) -> (String, String) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let hostport = rest.split('/').next().unwrap_or("127.0.0.1:3306");
    match hostport.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.to_string()),
        None => (hostport.to_string(), "3306".into()),
    }
}

async fn vacuum_into(file: &std::path::Path, out: &std::path::Path) -> Result<Duration, String> {
    use sqlx::Connection as _;
    let started = Instant::now();
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query("VACUUM INTO ?")
        .bind(out.display().to_string())
        .execute(&mut c)
        .await
        .map_err(|e| e.to_string())?;
    c.close().await.map_err(|e| e.to_string())?;
    Ok(started.elapsed())
}

/// Seeds one database with `rows` rows and times ours and the baselines,
/// interleaved, `runs` times.
pub async fn bench(
    inputs: &Inputs,
    backend: Backend,
    rows: u64,
    runs: usize,
) -> Result<BackupResult, String> {
    let db = Fresh::create(backend, "backup").await?;
    eprintln!("  {}: seeding {rows} rows…", fresh::backend_name(backend));
    seed(&db, rows).await?;
    let out = db.dir.join("baseline.dump");
    let mut ours: Result<Vec<Duration>, String> = Ok(Vec::new());
    let names: Vec<String> = baselines(&db, &out).into_iter().map(|(n, _)| n).collect();
    let mut base: Vec<(String, Result<Vec<Duration>, String>)> =
        names.into_iter().map(|n| (n, Ok(Vec::new()))).collect();
    let mut size = None;
    for run in 0..runs {
        if let Ok(list) = &mut ours {
            let _ = std::fs::remove_dir_all(db.dir.join("backups"));
            match inputs
                .ours(&db)
                .and_then(|mut c| tools::time(c.arg("backup")))
            {
                Ok(d) => {
                    eprintln!(
                        "  {} ours run {}: {:.3} s",
                        fresh::backend_name(backend),
                        run + 1,
                        d.as_secs_f64()
                    );
                    list.push(d);
                }
                Err(e) => ours = Err(e),
            }
        }
        for (i, (label, cmd)) in baselines(&db, &out).into_iter().enumerate() {
            let _ = std::fs::remove_file(&out);
            let Ok(list) = &mut base[i].1 else { continue };
            let r = match cmd {
                Some(mut c) => tools::time(&mut c),
                None => vacuum_into(&db.dir.join("db.sqlite"), &out).await,
            };
            match r {
                Ok(d) => {
                    eprintln!(
                        "  {} {label} run {}: {:.3} s",
                        fresh::backend_name(backend),
                        run + 1,
                        d.as_secs_f64()
                    );
                    size = std::fs::metadata(&out).ok().map(|m| m.len()).or(size);
                    list.push(d);
                }
                Err(e) => base[i].1 = Err(e),
            }
        }
    }
    Ok(BackupResult {
        backend,
        rows,
        size,
        ours,
        baselines: base,
    })
}

/// The table of all backends.
pub fn table(results: &[BackupResult]) -> Table {
    let mut t = Table::new(&[
        "backend",
        "ours: `backup`",
        "baseline",
        "baseline time",
        "ours ÷ baseline",
        "dump size",
    ]);
    for r in results {
        let ours = median_of(&r.ours);
        for (label, samples) in &r.baselines {
            let b = median_of(samples);
            t.row(vec![
                format!("{} ({} rows)", fresh::backend_name(r.backend), r.rows),
                match &r.ours {
                    Err(e) => format!("failed: {}", short(e)),
                    Ok(_) => ours.map_or("—".into(), crate::report::ms),
                },
                label.clone(),
                match samples {
                    Err(e) => format!("failed: {}", short(e)),
                    Ok(_) => b.map_or("—".into(), crate::report::ms),
                },
                ratio(ours, b),
                r.size.map_or("—".into(), |s| {
                    format!("{:.1} MB", s as f64 / 1_048_576.0)
                }),
            ]);
        }
    }
    t
}
