//! The online-DDL benchmark: write latency of a concurrent load while the
//! online helpers of `Db` run, compared with the naive statements they replace.

use std::time::{Duration, Instant};

use migrate_core::online::Backfill;
use migrate_core::url::Backend;
use migrate_core::{Db, Options, Target};

use crate::args::{OnlineArgs, Servers};
use crate::load::Load;
use crate::report::{self, Phase, ServerResult, Stats};
use crate::server::{self, Machine, TempDatabase};

/// How long the baseline phase measures the load without DDL.
const BASELINE: Duration = Duration::from_secs(5);
/// Load before each phase's window opens, so the connection is warm.
const WARM_UP: Duration = Duration::from_millis(500);
/// Rows per `INSERT ... SELECT` when filling the MariaDB table.
const MYSQL_CHUNK: u64 = 100_000;

/// The migration-side operation of a phase.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Operation {
    Baseline,
    IndexOnline,
    IndexNaive,
    Backfill,
    UpdateNaive,
}

impl Operation {
    const ALL: [Operation; 5] = [
        Operation::Baseline,
        Operation::IndexOnline,
        Operation::IndexNaive,
        Operation::Backfill,
        Operation::UpdateNaive,
    ];

    fn name(self, backend: Backend) -> &'static str {
        match (self, backend) {
            (Operation::Baseline, _) => "baseline (no DDL)",
            (Operation::IndexOnline, Backend::MySql) => {
                "`create_index_concurrently` (INPLACE, LOCK=NONE)"
            }
            (Operation::IndexOnline, _) => "`create_index_concurrently` (CONCURRENTLY)",
            (Operation::IndexNaive, Backend::MySql) => "naive `CREATE INDEX ... ALGORITHM=COPY`",
            (Operation::IndexNaive, _) => "naive `CREATE INDEX`",
            (Operation::Backfill, _) => "`backfill` (batches of 10,000)",
            (Operation::UpdateNaive, _) => "naive single `UPDATE`",
        }
    }

    fn is_helper(self) -> bool {
        matches!(self, Operation::IndexOnline | Operation::Backfill)
    }
}

/// Runs the benchmark on the chosen servers, prints a table per server and
/// writes the section of `--write`.
pub async fn run(args: &OnlineArgs) -> Result<(), String> {
    let backends = match args.servers {
        Servers::Postgres => vec![Backend::Postgres],
        Servers::MySql => vec![Backend::MySql],
        Servers::All => vec![Backend::Postgres, Backend::MySql],
    };
    let machine = Machine::detect();
    let mut results = Vec::new();
    for backend in backends {
        let result = bench(backend, args.rows).await?;
        println!(
            "\n{}\n\n{}\n\n{}\n",
            result.server,
            report::table(&result),
            report::verdict(&result)
        );
        results.push(result);
    }
    if let Some(path) = &args.write {
        let existing = match std::fs::read_to_string(path) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(format!("reading {}: {e}", path.display())),
        };
        let section = report::section(&results, &machine, &command(args));
        std::fs::write(path, report::replace_section(&existing, &section))
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        eprintln!(
            "wrote the \"Online DDL under load\" section of {}",
            path.display()
        );
    }
    Ok(())
}

/// The command that regenerates what `args` measured.
fn command(args: &OnlineArgs) -> String {
    let mut c = String::from("cargo run --release -p migrate-bench -- online");
    if args.rows != 2_000_000 {
        c.push_str(&format!(" --rows {}", args.rows));
    }
    match args.servers {
        Servers::Postgres => c.push_str(" --backend postgres"),
        Servers::MySql => c.push_str(" --backend mysql"),
        Servers::All => {}
    }
    c.push_str(" --write BENCHMARKS.md");
    c
}

/// All phases on one server, in a database of its own dropped at the end.
async fn bench(backend: Backend, rows: u64) -> Result<ServerResult, String> {
    let name = format!("bench_online_{}", std::process::id());
    let temp = TempDatabase::create(&server::server_url(backend), &name).await?;
    let mut target = Target::connect(&temp.url, &Options::default(), false)
        .await
        .map_err(|e| e.to_string())?;
    let result = phases(&temp, target.db(), backend, rows).await;
    target.close().await;
    drop(temp);
    result
}

async fn phases(
    temp: &TempDatabase,
    db: &mut Db,
    backend: Backend,
    rows: u64,
) -> Result<ServerResult, String> {
    let server = version(db, backend).await?;
    eprintln!("{server}: filling {} with {rows} rows", temp.url);
    let started = Instant::now();
    fill(db, backend, rows).await?;
    eprintln!("  filled in {}", report::ms(started.elapsed()));
    let mut phases = Vec::new();
    for op in Operation::ALL {
        settle(db, backend).await?;
        let phase = measure(temp, db, backend, rows, op).await?;
        eprintln!(
            "  {}: {} ops, p99 {}, max {}",
            phase.name,
            phase.stats.ops,
            report::ms(phase.stats.p99),
            report::ms(phase.stats.max)
        );
        phases.push(phase);
        reset(db, backend, op).await?;
    }
    Ok(ServerResult {
        server,
        rows,
        phases,
    })
}

/// One phase: the load runs while `op` does, and its statements sent
/// during `op` are summarized.
async fn measure(
    temp: &TempDatabase,
    db: &mut Db,
    backend: Backend,
    rows: u64,
    op: Operation,
) -> Result<Phase, String> {
    let load = Load::start(&temp.url, rows).await?;
    tokio::time::sleep(WARM_UP).await;
    let start = Instant::now();
    let done = perform(db, backend, op).await;
    let end = Instant::now();
    let window = end - start;
    let ops = load.stop(end).await?;
    done.map_err(|e| format!("{}: {e}", op.name(backend)))?;
    Ok(Phase {
        name: op.name(backend).to_string(),
        ddl: (op != Operation::Baseline).then_some(window),
        stats: Stats::of(&ops, start, window),
        helper: op.is_helper(),
    })
}

async fn perform(db: &mut Db, backend: Backend, op: Operation) -> migrate_core::Result<()> {
    match op {
        Operation::Baseline => tokio::time::sleep(BASELINE).await,
        Operation::IndexOnline => db.create_index_concurrently("t_k_idx", "t", &["k"]).await?,
        Operation::IndexNaive => {
            let sql = match backend {
                Backend::MySql => "CREATE INDEX t_k_idx ON t (k) ALGORITHM=COPY",
                _ => "CREATE INDEX t_k_idx ON t (k)",
            };
            db.execute(sql).await?;
        }
        Operation::Backfill => {
            db.backfill(Backfill::new("t", "counter = counter + 1").batch_size(10_000))
                .await?;
        }
        Operation::UpdateNaive => {
            db.execute("UPDATE t SET counter = counter + 1").await?;
        }
    }
    Ok(())
}

/// Puts the state back for the next phase: no index on `k`, no dead rows.
async fn reset(db: &mut Db, backend: Backend, after: Operation) -> Result<(), String> {
    let sql = match (after, backend) {
        (Operation::IndexOnline | Operation::IndexNaive, Backend::MySql) => {
            "DROP INDEX t_k_idx ON t"
        }
        (Operation::IndexOnline | Operation::IndexNaive, _) => "DROP INDEX t_k_idx",
        _ => return Ok(()),
    };
    run_sql(db, sql).await
}

/// Starts every phase from a quiet server: PostgreSQL vacuums the table (the
/// updates' dead rows) and checkpoints, so neither lands inside a phase.
async fn settle(db: &mut Db, backend: Backend) -> Result<(), String> {
    if backend == Backend::Postgres {
        run_sql(db, "VACUUM ANALYZE t").await?;
        run_sql(db, "CHECKPOINT").await?;
    }
    Ok(())
}

/// Creates and fills `t` server-side.
async fn fill(db: &mut Db, backend: Backend, rows: u64) -> Result<(), String> {
    match backend {
        Backend::MySql => {
            run_sql(db, "CREATE TABLE digits (d INT NOT NULL PRIMARY KEY)").await?;
            run_sql(
                db,
                "INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)",
            )
            .await?;
            run_sql(
                db,
                "CREATE TABLE t (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, k BIGINT NOT NULL, \
                 counter BIGINT NOT NULL DEFAULT 0, payload VARCHAR(64) NOT NULL) ENGINE=InnoDB",
            )
            .await?;
            let mut offset = 0;
            while offset < rows {
                let n = MYSQL_CHUNK.min(rows - offset);
                run_sql(
                    db,
                    &format!(
                        "INSERT INTO t (id, k, counter, payload) \
                         SELECT {offset} + n + 1, MOD(({offset} + n + 1) * 7919, 1000003), 0, MD5({offset} + n + 1) \
                         FROM (SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d AS n \
                         FROM digits a CROSS JOIN digits b CROSS JOIN digits c CROSS JOIN digits e CROSS JOIN digits f) s \
                         WHERE n < {n}"
                    ),
                )
                .await?;
                offset += n;
            }
            run_sql(db, "ANALYZE TABLE t").await
        }
        _ => {
            run_sql(
                db,
                "CREATE TABLE t (id BIGSERIAL PRIMARY KEY, k BIGINT NOT NULL, \
                 counter BIGINT NOT NULL DEFAULT 0, payload TEXT NOT NULL)",
            )
            .await?;
            run_sql(
                db,
                &format!(
                    "INSERT INTO t (k, counter, payload) \
                     SELECT (g * 7919) % 1000003, 0, md5(g::text) FROM generate_series(1::bigint, {rows}) g"
                ),
            )
            .await
        }
    }
}

/// `PostgreSQL 15.4`, `MariaDB 10.11.6`, `MySQL 8.0.36`.
async fn version(db: &mut Db, backend: Backend) -> Result<String, String> {
    let sql = match backend {
        Backend::MySql => "SELECT VERSION()",
        _ => "SELECT current_setting('server_version')",
    };
    let v = db
        .fetch_strings(sql)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .next()
        .unwrap_or_default();
    let number = v.split([' ', '-']).next().unwrap_or("").to_string();
    Ok(match backend {
        Backend::MySql if v.contains("MariaDB") => format!("MariaDB {number}"),
        Backend::MySql => format!("MySQL {number}"),
        _ => format!("PostgreSQL {number}"),
    })
}

async fn run_sql(db: &mut Db, sql: &str) -> Result<(), String> {
    db.execute(sql).await.map(drop).map_err(|e| e.to_string())
}
