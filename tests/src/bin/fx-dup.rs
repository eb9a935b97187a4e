//! Runner linking two crates that register the same version.
use dup_a as _;
use dup_b as _;

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
