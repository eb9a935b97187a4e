//! The command line: every command, flag and exit code, as clap parses them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::output::Format;

/// Exit codes, shown at the end of `--help`.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  done; for `status`, nothing to do
  1  a migration, check or verification failed
  2  usage or configuration error (bad flag, Migrate.toml, URL, duplicate version)
  3  database unreachable
  4  action needed or refused (pending or dirty for `status`; drift, dirty, irreversible, no backup)
  5  migrator lock not acquired (another deployer holds it)";

/// Compile-time checked database migrations, applied safely.
#[derive(Debug, Parser)]
#[command(name = "cargo migrate", bin_name = "cargo migrate", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
    /// Options shared by every command.
    #[command(flatten)]
    pub global: Global,
}

/// Options shared by every command.
#[derive(Debug, Args)]
pub struct Global {
    /// Output format: `human` (default), `json` (one document on stdout), or `sql` (`plan` only: the statements as a script).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "human",
        hide_possible_values = true
    )]
    pub format: Format,
    /// Database URL (overrides DATABASE_URL and Migrate.toml).
    #[arg(long, global = true, value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Act on the staging database (`[staging] url` or `STAGING_DATABASE_URL`) instead of production: `status`, `repair` or `rollback` after a failed rehearsal.
    #[arg(long, global = true, conflicts_with = "database_url")]
    pub staging: bool,
    /// Path of Migrate.toml (default: searched upwards from the current folder).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show applied, pending, missing, drifted, dirty and held-back migrations (exit 4 when action is needed).
    Status,
    /// Apply pending migrations under the migrator lock.
    Apply(ApplyArgs),
    /// Undo the newest applied migrations with their down functions.
    Rollback(RollbackArgs),
    /// Resolve a dirty migration left by a crash or a failed non-transactional migration.
    Repair(RepairArgs),
    /// Offline sanity check: registry, order, and a dry run of every migration on a scratch database.
    Check,
    /// Show the statements the pending migrations would run, captured on a scratch clone (never production).
    Plan(PlanArgs),
    /// Rehearse the pending migrations on staging: clone, time, round trip, schema diff.
    Stage(StageArgs),
    /// Take a verified backup of the database now.
    Backup,
    /// List the backups in the backup folder.
    Backups,
    /// Restore a backup into a new database (or over one with `--into URL --force`).
    Restore(RestoreArgs),
    /// Run the health checks against the database.
    Verify,
    /// stage → backup → apply → verify, rolling back what it applied when a check fails.
    Deploy(DeployArgs),
}

/// Which migrations a rehearsal or deploy covers.
#[derive(Debug, Args)]
pub struct Selection {
    /// Up to and including this version.
    #[arg(long, value_name = "VERSION", value_parser = parse_version)]
    pub to: Option<u64>,
    /// `contract` also covers contract migrations.
    #[arg(long, value_enum, default_value = "expand")]
    pub phase: PhaseArg,
}

/// `plan` options.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Which migrations.
    #[command(flatten)]
    pub selection: Selection,
}

/// `stage` options.
#[derive(Debug, Args)]
pub struct StageArgs {
    /// Which migrations.
    #[command(flatten)]
    pub selection: Selection,
    /// Accept the schema after the rehearsal as the expected one: write `schema.<backend>.snapshot`.
    #[arg(long)]
    pub bless: bool,
}

/// `restore` options.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup id (or a unique prefix), from `cargo migrate backups`.
    pub id: String,
    /// Target database URL (default: a new SQLite file beside the database, or a new database on the server).
    #[arg(long, value_name = "URL")]
    pub into: Option<String>,
    /// Replace the target if it exists (stop the application first).
    #[arg(long)]
    pub force: bool,
}

/// `deploy` options.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Which migrations.
    #[command(flatten)]
    pub selection: Selection,
}

/// `apply` options.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Apply up to and including this version.
    #[arg(long, value_name = "VERSION", value_parser = parse_version)]
    pub to: Option<u64>,
    /// `contract` also applies contract migrations (after the application stopped using the old objects).
    #[arg(long, value_enum, default_value = "expand")]
    pub phase: PhaseArg,
    /// Apply even though an applied migration's code changed since.
    #[arg(long)]
    pub allow_drift: bool,
    /// Apply pending migrations older than the newest applied one.
    #[arg(long)]
    pub allow_out_of_order: bool,
    /// Reuse this backup (id from `cargo migrate backups`) instead of taking one; it must hold exactly the applied set of now.
    #[arg(long, value_name = "ID")]
    pub backup: Option<String>,
    /// Apply without a passing staging rehearsal of exactly these migrations (recorded in the history).
    #[arg(long)]
    pub skip_rehearsal: bool,
}

/// `--phase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PhaseArg {
    /// Expand migrations only; stop before the first contract migration.
    Expand,
    /// Expand and contract migrations.
    Contract,
}

/// `rollback` options.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct RollbackArgs {
    /// Undo every migration newer than this version (`0`: all).
    #[arg(long, value_name = "VERSION", value_parser = parse_version)]
    pub to: Option<u64>,
    /// Undo the N newest applied migrations.
    #[arg(long, value_name = "N")]
    pub steps: Option<usize>,
}

/// `repair` options.
#[derive(Debug, Args)]
pub struct RepairArgs {
    /// The dirty migration's version.
    #[arg(value_parser = parse_version)]
    pub version: u64,
    /// Its changes are in place: mark it applied.
    #[arg(long, group = "resolution")]
    pub applied: bool,
    /// Its changes were undone by hand: forget it, so `apply` runs it again.
    #[arg(long, group = "resolution")]
    pub rolled_back: bool,
    /// Run its down function, then forget it.
    #[arg(long, group = "resolution")]
    pub run_down: bool,
    /// Do not ask for confirmation (required without a terminal).
    #[arg(long, short)]
    pub yes: bool,
}

/// Parses a version, allowing `_` separators (`20241124_120000`).
pub fn parse_version(s: &str) -> Result<u64, String> {
    let digits: String = s.chars().filter(|c| *c != '_').collect();
    digits
        .parse::<u64>()
        .map_err(|_| format!("`{s}` is not a version (a positive integer such as 20241124_120000)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn versions_accept_underscores() {
        assert_eq!(parse_version("20241124_120000"), Ok(20241124120000));
        assert!(parse_version("abc").is_err());
    }
}
