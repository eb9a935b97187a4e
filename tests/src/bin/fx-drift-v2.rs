//! Drift fixture runner (v2).
#[path = "../fixtures/drift_base.rs"]
mod drift_base;
#[path = "../fixtures/drift_v2.rs"]
mod drift_v2;

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
