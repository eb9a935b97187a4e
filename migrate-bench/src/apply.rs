//! The apply benchmark: N trivial migrations (one `CREATE TABLE` each) on a
//! fresh database per run, by the generated runner, by plain sqlx on one
//! connection (the raw limit), by `sqlx migrate run` and by `refinery migrate`.

use std::process::Command;
use std::time::{Duration, Instant};

use migrate_core::url::Backend;
use sqlx::Connection as _;

use crate::fresh::{self, Fresh};
use crate::generate;
use crate::table::{Table, ratio};
use crate::tools::{self, median};

/// Who applies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Who {
    Raw,
    Ours,
    OursWithBackup,
    Sqlx,
    Refinery,
}

impl Who {
    pub fn label(self) -> &'static str {
        match self {
            Who::Raw => "raw: plain sqlx, one connection, no history",
            Who::Ours => "ours: `apply --backup <id>` (lock, history, checksums; no dump)",
            Who::OursWithBackup => "ours: `apply` (as above + verified backup first)",
            Who::Sqlx => "`sqlx migrate run` (sqlx-cli)",
            Who::Refinery => "`refinery migrate` (refinery_cli)",
        }
    }
}

/// The inputs shared by the runs.
pub struct Inputs {
    pub count: usize,
    pub runner: generate::Crate,
    pub sqlx: Result<std::path::PathBuf, String>,
    pub refinery: Result<std::path::PathBuf, String>,
    pub sqlx_dir: std::path::PathBuf,
    pub refinery_dir: std::path::PathBuf,
}

impl Inputs {
    /// Generates and builds (release) the runner with `count` migrations
    /// under `label`, and writes the peers' SQL folders.
    pub fn prepare(label: &str, count: usize) -> Result<Inputs, String> {
        let runner = generate::migrations_crate(label, count)?;
        eprintln!(
            "building the generated runner with {count} migrations ({})…",
            runner.dir.display()
        );
        let took = runner.build("release")?;
        eprintln!("  built in {:.1} s", took.as_secs_f64());
        Ok(Inputs {
            count,
            runner,
            sqlx: tools::peer("sqlx"),
            refinery: tools::peer("refinery"),
            sqlx_dir: generate::sqlx_folder(count)?,
            refinery_dir: generate::refinery_folder(count)?,
        })
    }

    /// The runner invoked on `db`.
    pub fn ours(&self, db: &Fresh) -> Result<Command, String> {
        let config = db.config(&self.runner.package)?;
        let mut c = Command::new(self.runner.runner());
        c.arg("--config")
            .arg(config)
            .arg("--database-url")
            .arg(&db.url)
            .current_dir(&db.dir);
        Ok(c)
    }

    /// `sqlx migrate <sub>` on `db`.
    pub fn sqlx_cmd(&self, db: &Fresh, sub: &str) -> Result<Command, String> {
        let mut c = Command::new(self.sqlx.clone()?);
        c.args(["migrate", sub, "--source"])
            .arg(&self.sqlx_dir)
            .arg("--database-url")
            .arg(&db.url)
            .current_dir(&db.dir);
        Ok(c)
    }

    /// `refinery migrate` on `db` (the URL through an environment variable).
    pub fn refinery_cmd(&self, db: &Fresh) -> Result<Command, String> {
        let mut c = Command::new(self.refinery.clone()?);
        c.args(["migrate", "-e", "BENCH_REFINERY_URL", "-p"])
            .arg(&self.refinery_dir)
            .env("BENCH_REFINERY_URL", &db.url)
            .current_dir(&db.dir);
        Ok(c)
    }
}

/// The statements of migrations `1..=count` through plain sqlx on one
/// connection, each committing on its own; connect and close included.
pub async fn raw(backend: Backend, url: &str, count: usize) -> Result<Duration, String> {
    macro_rules! run {
        ($conn:ty) => {{
            let started = Instant::now();
            let mut c = <$conn>::connect(url).await.map_err(|e| e.to_string())?;
            for i in 1..=count {
                sqlx::Executor::execute(
                    &mut c,
                    sqlx::raw_sql(sqlx::AssertSqlSafe(generate::statement(i))),
                )
                .await
                .map_err(|e| format!("{}: {e}", generate::statement(i)))?;
            }
            c.close().await.map_err(|e| e.to_string())?;
            Ok(started.elapsed())
        }};
    }
    match backend {
        Backend::Sqlite => run!(sqlx::SqliteConnection),
        Backend::Postgres => run!(sqlx::PgConnection),
        _ => run!(sqlx::MySqlConnection),
    }
}

/// Checks that the last table exists: the tool really applied everything.
pub async fn check_applied(db: &Fresh, count: usize) -> Result<(), String> {
    let url = migrate_core::url::DbUrl::parse(&db.url).map_err(|e| e.to_string())?;
    let mut conn = migrate_core::driver::connect(&url, &Default::default())
        .await
        .map_err(|e| e.to_string())?;
    let r = conn.execute(&format!("SELECT id FROM t{count}")).await;
    conn.close().await;
    r.map(drop)
        .map_err(|e| format!("table t{count} is missing after the run: {e}"))
}

/// One timed run of `who` on a fresh database.
async fn once(inputs: &Inputs, backend: Backend, who: Who, run: usize) -> Result<Duration, String> {
    let tag = match who {
        Who::Raw => "raw",
        Who::Ours => "ours",
        Who::OursWithBackup => "oursb",
        Who::Sqlx => "sqlx",
        Who::Refinery => "refinery",
    };
    let db = Fresh::create(backend, &format!("apply_{tag}_{run}")).await?;
    let took = match who {
        Who::Raw => raw(backend, &db.url, inputs.count).await?,
        Who::Ours => {
            // The backup the apply reuses: taken (untimed) of the empty database.
            let json = tools::output(inputs.ours(&db)?.args(["--format", "json", "backup"]))?;
            let doc: serde_json::Value =
                serde_json::from_str(&json).map_err(|e| format!("backup printed no JSON: {e}"))?;
            let id = doc["backup"]["id"]
                .as_str()
                .ok_or("backup printed no id")?
                .to_string();
            tools::time(inputs.ours(&db)?.args(["apply", "--backup", &id]))?
        }
        Who::OursWithBackup => tools::time(inputs.ours(&db)?.arg("apply"))?,
        Who::Sqlx => tools::time(&mut inputs.sqlx_cmd(&db, "run")?)?,
        Who::Refinery => tools::time(&mut inputs.refinery_cmd(&db)?)?,
    };
    check_applied(&db, inputs.count).await?;
    Ok(took)
}

/// Medians of one backend (`None`: skipped or failed, with the note).
pub struct BackendResult {
    pub rows: Vec<(Who, Result<Vec<Duration>, String>)>,
}

impl BackendResult {
    pub fn median(&self, who: Who) -> Option<Duration> {
        self.rows
            .iter()
            .find(|(w, _)| *w == who)
            .and_then(|(_, r)| r.as_ref().ok())
            .map(|s| median(s))
    }
}

/// Runs every contender `runs` times on `backend`, interleaved.
pub async fn bench(inputs: &Inputs, backend: Backend, runs: usize) -> BackendResult {
    let order = [
        Who::Raw,
        Who::Ours,
        Who::OursWithBackup,
        Who::Sqlx,
        Who::Refinery,
    ];
    let mut rows: Vec<(Who, Result<Vec<Duration>, String>)> =
        order.iter().map(|w| (*w, Ok(Vec::new()))).collect();
    if let Err(e) = &inputs.sqlx {
        rows[3].1 = Err(e.clone());
    }
    if let Err(e) = &inputs.refinery {
        rows[4].1 = Err(e.clone());
    }
    for run in 0..runs {
        for (who, samples) in rows.iter_mut() {
            let Ok(list) = samples else { continue };
            match once(inputs, backend, *who, run).await {
                Ok(d) => {
                    eprintln!(
                        "  {} {:<9} run {}: {:.3} s",
                        fresh::backend_name(backend),
                        format!("{who:?}"),
                        run + 1,
                        d.as_secs_f64()
                    );
                    list.push(d);
                }
                Err(e) => {
                    eprintln!("  {} {who:?} failed: {e}", fresh::backend_name(backend));
                    *samples = Err(e);
                }
            }
        }
    }
    BackendResult { rows }
}

/// The table of one backend.
pub fn table(r: &BackendResult, count: usize) -> Table {
    let mut t = Table::new(&[
        "contender",
        "median",
        "per migration",
        "÷ raw",
        "ours ÷ this",
        "runs",
    ]);
    let raw = r.median(Who::Raw);
    let ours = r.median(Who::Ours);
    for (who, samples) in &r.rows {
        match samples {
            Ok(s) if !s.is_empty() => {
                let m = median(s);
                t.row(vec![
                    who.label().into(),
                    crate::report::ms(m),
                    crate::report::ms(m / count as u32),
                    ratio(Some(m), raw),
                    if *who == Who::Ours {
                        "1.00×".into()
                    } else {
                        ratio(ours, Some(m))
                    },
                    s.iter()
                        .map(|d| format!("{:.2}", d.as_secs_f64()))
                        .collect::<Vec<_>>()
                        .join(" / "),
                ]);
            }
            Ok(_) => {}
            Err(e) => t.row(vec![
                who.label().into(),
                "skipped".into(),
                String::new(),
                String::new(),
                String::new(),
                short(e),
            ]),
        }
    }
    t
}

/// The first sentence of a note (tables stay one line per row).
pub fn short(note: &str) -> String {
    let one = note.replace('\n', " ").replace('|', "/");
    let mut s: String = one.chars().take(140).collect();
    if one.chars().count() > 140 {
        s.push('…');
    }
    s
}

/// The goal check: ours ≤ 1.2× raw and faster than sqlx-cli.
pub fn verdict(r: &BackendResult) -> String {
    let (raw, ours, sqlx) = (r.median(Who::Raw), r.median(Who::Ours), r.median(Who::Sqlx));
    let vs_raw = match (ours, raw) {
        (Some(o), Some(w)) => {
            let x = o.as_secs_f64() / w.as_secs_f64();
            format!(
                "{} ≤ 1.2× raw ({x:.2}×)",
                if x <= 1.2 { "met:" } else { "missed:" }
            )
        }
        _ => "≤ 1.2× raw: not measured".into(),
    };
    let vs_sqlx = match (ours, sqlx) {
        (Some(o), Some(s)) if o < s => {
            format!("met: faster than sqlx-cli ({})", ratio(Some(o), Some(s)))
        }
        (Some(o), Some(s)) => format!("missed: slower than sqlx-cli ({})", ratio(Some(o), Some(s))),
        _ => "faster than sqlx-cli: not measured (sqlx-cli not installed)".into(),
    };
    format!("Goals (ours without the dump): {vs_raw}; {vs_sqlx}.")
}
