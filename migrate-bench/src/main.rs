//! `migrate-bench`: benchmarks of cargo-migrate against the local database
//! servers and its peers, printed as tables and optionally written into
//! `BENCHMARKS.md`.
//!
//! ```text
//! cargo run --release -p migrate-bench -- online [--rows N] [--backend postgres|mysql|all] [--write BENCHMARKS.md]
//! cargo run --release -p migrate-bench -- all --write BENCHMARKS.md   # apply, status, build, backup
//! ```

mod apply;
mod args;
mod backupbench;
mod buildcost;
mod fresh;
mod generate;
mod load;
mod machine;
mod online;
mod report;
mod server;
mod status;
mod suite;
mod table;
mod tools;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let result = match args::parse(std::env::args().skip(1)) {
        Ok(args::Command::Help) => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(args::Command::Online(a)) => online::run(&a).await,
        Ok(args::Command::Bench(bench, a)) => suite::run(bench, &a).await,
        Err(e) => {
            eprintln!("error: {e}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
