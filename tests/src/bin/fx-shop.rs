//! Runner with the shop fixture migrations.
#[path = "../fixtures/shop_base.rs"]
mod shop_base;

fn main() -> std::process::ExitCode {
    migrate_cli::run()
}
