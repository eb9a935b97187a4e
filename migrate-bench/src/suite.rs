//! Runs `apply`, `status`, `build` and `backup` (or all of them), prints
//! their tables, and writes each one's section of `BENCHMARKS.md` (plus the
//! machine section) as soon as it is measured.

use migrate_core::url::Backend;

use crate::apply::{self, Inputs};
use crate::args::{Bench, BenchArgs};
use crate::fresh::{BACKENDS, backend_name};
use crate::table::write_section;
use crate::{backupbench, buildcost, machine, status};

/// Default counts of the issue.
const APPLY_COUNT: usize = 1000;
const STATUS_COUNT: usize = 10_000;
const BUILD_COUNT: usize = 200;
const BACKUP_ROWS: u64 = 200_000;
const RUNS: usize = 3;

fn command(bench: &str, extra: &str) -> String {
    format!("cargo run --release -p migrate-bench -- {bench}{extra} --write BENCHMARKS.md")
}

/// Prints and (with `--write`) records one section.
fn emit(args: &BenchArgs, key: &str, cmd: &str, body: &str) -> Result<(), String> {
    println!("\n{body}");
    if let Some(path) = &args.write {
        write_section(path, key, cmd, body)?;
    }
    Ok(())
}

fn load_note() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!(
        "Load average (1, 5, 15 min) when this section finished: {} — the machine is shared with other builds, so absolute times are noisy; contenders are run interleaved (one run of each in turn) and the median is reported.",
        load.join(", ")
    )
}

/// Runs `bench`.
pub async fn run(bench: Bench, args: &BenchArgs) -> Result<(), String> {
    let all = bench == Bench::All;
    let runs = args.runs.unwrap_or(RUNS);
    let backends = args.backends.clone().unwrap_or_else(|| BACKENDS.to_vec());
    if args.write.is_some() {
        // Every written run refreshes the machine description it was measured on.
        let body = machine::section();
        emit(args, "machine", &command("all", ""), &body)?;
    }
    if all || bench == Bench::Apply {
        let count = if all {
            APPLY_COUNT
        } else {
            args.count.unwrap_or(APPLY_COUNT)
        };
        let inputs = Inputs::prepare(&format!("apply-{count}"), count)?;
        let mut body = format!(
            "## Apply {count} trivial migrations\n\n{count} migrations of one `CREATE TABLE t<i> (id INTEGER PRIMARY KEY)` each, applied to a fresh, empty database per run ({runs} runs per contender, interleaved; median). \"Ours\" is the real product: a generated crate of {count} `#[migration(i, reversible)]` functions (with their down functions) built in release, whose runner (`migrate_cli::run()`) is timed from process start to exit. `apply` takes the migrator lock, compares the registry with the history, then applies each migration in its own transaction with its history row (version, name, checksum, timings) — on MariaDB, where DDL commits by itself, between `started`/`finished` history rows. Before applying, `apply` always takes a verified backup: the first \"ours\" row reuses one taken untimed just before with `apply --backup <id>` (no other way to skip it exists), the second includes it. The raw limit runs the same statements through plain sqlx on one connection in-process (connect included), with no history; sqlx-cli and refinery apply `.sql` folders with the same statements (each in a transaction with its history row where the backend allows).\n\n{}\n",
            peers_note(&inputs)
        );
        for &b in &backends {
            eprintln!("apply: {}", backend_name(b));
            let r = apply::bench(&inputs, b, runs).await;
            body.push_str(&format!(
                "\n### {}\n\n{}\n\n{}\n",
                backend_name(b),
                apply::table(&r, count).render(),
                apply::verdict(&r)
            ));
        }
        body.push_str(&format!("\n{}\n", load_note()));
        emit(args, "apply", &command("apply", ""), &body)?;
    }
    if all || bench == Bench::Build {
        let count = if all {
            BUILD_COUNT
        } else {
            args.count.unwrap_or(BUILD_COUNT)
        };
        let r = buildcost::bench(count, runs.min(2))?;
        let body = format!(
            "## Build cost of a migrations crate\n\nA generated migrations crate (lib + runner binary, like `cargo migrate init` makes) with {count} reversible migrations, one `CREATE TABLE` each, 100 per module, against the same crate with 0 migrations; dependencies prebuilt, `dev` profile, {} runs each (interleaved; median). \"Clean\" removes only the crate's own artifacts (`cargo clean -p`). Stable rustc cannot time macro expansion alone (`-Zself-profile` is nightly-only), so the per-migration cost is the difference to the empty crate divided by {count}: for `cargo check` that is expansion + name resolution + type checking of what the macro emits (an upper bound on expansion); for `cargo build` codegen and linking are added. The incremental row adds migration {} in a new module (as `cargo migrate new` does) and rebuilds.\n\n{}\n\n{}\n",
            runs.min(2),
            count + 1,
            buildcost::table(&r).render(),
            load_note()
        );
        emit(args, "build", &command("build", ""), &body)?;
    }
    if all || bench == Bench::Backup {
        let rows = args.rows.unwrap_or(BACKUP_ROWS);
        let count = APPLY_COUNT;
        let inputs = Inputs::prepare(&format!("apply-{count}"), count)?;
        let mut results = Vec::new();
        for &b in &backends {
            eprintln!("backup: {}", backend_name(b));
            match backupbench::bench(&inputs, b, rows, runs).await {
                Ok(r) => results.push(r),
                Err(e) => eprintln!("  {} skipped: {e}", backend_name(b)),
            }
        }
        let body = format!(
            "## Backup\n\nOne table `items (id, name, qty, price, created_at)` of {rows} rows with a secondary index, no migrations applied. Ours is `<runner> backup`: the migrator lock, the dump, fsync and rename, the sha256 of the file, a structural verification (PostgreSQL: `pg_restore --list` of the archive; MariaDB: the dump's completion marker and tables; SQLite: `PRAGMA integrity_check` and row counts of the copy) and the manifest. The baselines run only the bare dump into a file. {runs} runs each, interleaved; median.\n\n{}\n\n{}\n",
            backupbench::table(&results).render(),
            load_note()
        );
        emit(args, "backup", &command("backup", ""), &body)?;
    }
    if all || bench == Bench::Status {
        let count = if all {
            STATUS_COUNT
        } else {
            args.count.unwrap_or(STATUS_COUNT)
        };
        let status_backends: Vec<Backend> = if args.backends.is_some() {
            backends.clone()
        } else {
            // 10,000 `CREATE TABLE`s on InnoDB take minutes to set up; the
            // status query itself is the same shape on every backend.
            vec![Backend::Sqlite, Backend::Postgres]
        };
        status_section(args, count, runs, &status_backends).await?;
    }
    Ok(())
}

async fn status_section(
    args: &BenchArgs,
    count: usize,
    runs: usize,
    backends: &[Backend],
) -> Result<(), String> {
    let started = std::time::Instant::now();
    let inputs = Inputs::prepare(&format!("apply-{count}"), count)?;
    let build_time = started.elapsed();
    let mut results = Vec::new();
    for &b in backends {
        eprintln!("status: {}", backend_name(b));
        match status::bench(&inputs, b, runs.max(5)).await {
            Ok(r) => results.push(r),
            Err(e) => eprintln!("  {} skipped: {e}", backend_name(b)),
        }
    }
    let setup: Vec<String> = results
        .iter()
        .map(|r| {
            format!(
                "{}: ours {}, sqlx-cli {}",
                backend_name(r.backend),
                r.setup_ours.map_or("—".into(), crate::report::ms),
                r.setup_sqlx.map_or("—".into(), crate::report::ms)
            )
        })
        .collect();
    let body = format!(
        "## `status` with {count} applied migrations\n\nA generated runner with {count} registered migrations (100 per module; generating and building it in release took {:.0} s here, including any rebuild of the workspace crates) applied them to a fresh database, and sqlx-cli applied the same statements to another (untimed setup: {}). Then `<runner> status` and `sqlx migrate info` are run in turn, {} times each after one untimed warm-up call; each is a whole process run (start, connect, read the history, compare with the registry or the folder, print, exit). Goal: < 300 ms and not slower than `sqlx migrate info`. (refinery_cli has no status command.)\n\n{}\n\n{}\n",
        build_time.as_secs_f64(),
        setup.join("; "),
        runs.max(5),
        status::table(&results).render(),
        load_note()
    );
    emit(args, "status", &command("status", ""), &body)
}

fn peers_note(inputs: &Inputs) -> String {
    let v = |p: &Result<std::path::PathBuf, String>| match p {
        Ok(path) => crate::tools::version_of(path).unwrap_or_else(|| "installed".into()),
        Err(_) => "not installed (column skipped)".into(),
    };
    format!(
        "Peers: sqlx-cli: {}; refinery_cli: {} (installed by `migrate-bench/setup.sh`).",
        v(&inputs.sqlx),
        v(&inputs.refinery)
    )
}
