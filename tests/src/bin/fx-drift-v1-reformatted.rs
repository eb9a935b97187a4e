//! Drift fixture runner (v1_reformatted).
#[path = "../fixtures/drift_base.rs"]
mod drift_base;
#[path = "../fixtures/drift_v1_reformatted.rs"]
mod drift_v1_reformatted;

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
