//! The runner: `cargo run -p shop-migrations -- <command>` (or `cargo migrate <command>`).

use shop_migrations as _; // links the crate so its migrations register

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
