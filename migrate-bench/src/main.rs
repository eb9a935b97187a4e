//! `migrate-bench`: benchmarks of cargo-migrate against the local database
//! servers, printed as tables and optionally written into `BENCHMARKS.md`.
//!
//! ```text
//! cargo run --release -p migrate-bench -- online [--rows N] [--backend postgres|mysql|all] [--write BENCHMARKS.md]
//! ```

mod args;
mod load;
mod online;
mod report;
mod server;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(args::Command::Help) => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(args::Command::Online(a)) => a,
        Err(e) => {
            eprintln!("error: {e}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    match online::run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
