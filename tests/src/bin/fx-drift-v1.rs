//! Drift fixture runner (v1).
#[path = "../fixtures/drift_base.rs"]
mod drift_base;
#[path = "../fixtures/drift_v1.rs"]
mod drift_v1;

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
