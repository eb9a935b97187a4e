//! The cargo-migrate command line. A project's migrations runner is two
//! lines that call [`run`]:
//!
//! ```no_run
//! // migrations/src/main.rs
//! // use shop_migrations as _;   // links the crate so its migrations register
//! fn main() -> std::process::ExitCode {
//!     migrate_cli::run()
//! }
//! ```

pub mod cli;
mod commands;
pub mod config;
pub mod output;

use std::process::ExitCode;

use clap::Parser;
use migrate_core::url::DbUrl;
use migrate_core::{Error, Migrator, Options, Result};

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::output::Output;

/// Parses the command line, runs the command, and returns its exit code.
pub fn run() -> ExitCode {
    run_from(std::env::args_os())
}

/// [`run`] with explicit arguments (the first is the program name).
pub fn run_from<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    init_tracing();
    let out = Output::new(cli.global.format);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            out.error(&Error::Io(e), 1);
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(dispatch(cli, &out)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let code = e.exit_code();
            out.error(&e, code);
            ExitCode::from(code)
        }
    }
}

/// What every command needs: the output, the configuration and the migrator.
pub(crate) struct Context {
    pub out: Output,
    pub config: Config,
    pub migrator: Migrator,
    /// Whether `--staging` made the staging database the one acted on.
    pub staging: bool,
    /// Whether `--database-url` named the database acted on.
    url_given: bool,
    database_url: Option<String>,
}

impl Context {
    fn new(cli: &Cli, out: &Output) -> Result<Context> {
        let cwd = std::env::current_dir()?;
        let config = Config::load(cli.global.config.as_deref(), &cwd, &|k| {
            std::env::var(k).ok()
        })?;
        let options = Options {
            history_table: config.history_table.clone(),
            lock_wait: config.apply.lock_wait,
            lock_timeout: config.apply.lock_timeout,
            lock_retries: config.apply.lock_retries,
            statement_timeout: config.apply.statement_timeout,
            connect_timeout: config.apply.connect_timeout,
        };
        let database_url = if cli.global.staging {
            Some(config.staging_url().ok_or_else(|| {
                Error::Config(
                    "--staging names the staging database, but none is configured: set STAGING_DATABASE_URL or `url` in the [staging] section of Migrate.toml".into(),
                )
            })?)
        } else {
            cli.global
                .database_url
                .as_deref()
                .map(|u| config.resolve_url(u))
                .or_else(|| config.database_url())
        };
        Ok(Context {
            out: out.clone(),
            migrator: Migrator::registered().with_options(options),
            config,
            staging: cli.global.staging,
            url_given: cli.global.database_url.is_some(),
            database_url,
        })
    }

    /// `e`, met on the database this command acts on: named with its role
    /// (production, or staging with `--staging`), and the commands it
    /// suggests completed so that, run as printed, they act on it (a
    /// database named by `--database-url` is named again; its password
    /// stays `***` for the user to fill in).
    pub fn place(&self, e: Error) -> Error {
        let Ok(url) = self.database_url() else {
            return e;
        };
        match (self.staging, self.url_given) {
            (true, _) => e.on("staging", &url, Some("--staging")),
            (false, true) => {
                let flag = format!("--database-url {}", url.redacted());
                e.on("production", &url, Some(&flag))
            }
            (false, false) => e.on("production", &url, None),
        }
    }

    /// `text` (advice printed outside an error) with its suggested commands
    /// completed for the database this command acts on, as [`Context::place`]
    /// does for errors.
    pub fn complete(&self, text: String) -> String {
        match (self.staging, self.database_url()) {
            (true, _) => migrate_core::complete_commands(&text, "--staging"),
            (false, Ok(url)) if self.url_given => migrate_core::complete_commands(
                &text,
                &format!("--database-url {}", url.redacted()),
            ),
            _ => text,
        }
    }

    /// The production database URL.
    pub fn database_url(&self) -> Result<DbUrl> {
        match &self.database_url {
            Some(u) => DbUrl::parse(u),
            None => Err(Error::Config(
                "no database url: set DATABASE_URL, pass --database-url, or set `url` in the [database] section of Migrate.toml (`cargo migrate init` writes one)"
                    .into(),
            )),
        }
    }
}

async fn dispatch(cli: Cli, out: &Output) -> Result<u8> {
    let ctx = Context::new(&cli, out)?;
    // Commands that act on one configured database: their errors name it.
    // `stage`, `plan` and `check` name staging or their scratch database
    // themselves; `restore` names its target.
    let on_one_database = matches!(
        cli.command,
        Command::Status
            | Command::Apply(_)
            | Command::Rollback(_)
            | Command::Repair(_)
            | Command::Backup
            | Command::Verify
            | Command::Deploy(_)
    );
    let result = run_command(&ctx, cli.command).await;
    match result {
        Err(e) if on_one_database => Err(ctx.place(e)),
        result => result,
    }
}

async fn run_command(ctx: &Context, command: Command) -> Result<u8> {
    match command {
        Command::Status => commands::status::run(ctx).await,
        Command::Apply(args) => commands::apply::run(ctx, &args).await,
        Command::Rollback(args) => commands::rollback::run(ctx, &args).await,
        Command::Repair(args) => commands::repair::run(ctx, &args).await,
        Command::Check => commands::check::run(ctx).await,
        Command::Plan(args) => commands::plan::run(ctx, &args).await,
        Command::Stage(args) => commands::stage::run(ctx, &args).await,
        Command::Backup => commands::backup::take(ctx).await,
        Command::Backups => commands::backup::list(ctx).await,
        Command::Restore(args) => commands::backup::restore(ctx, &args).await,
        Command::Verify => commands::verify::run(ctx).await,
        Command::Deploy(args) => commands::deploy::run(ctx, &args).await,
    }
}

/// Logs to stderr when `RUST_LOG` is set, filtered by target the way
/// `RUST_LOG` usually is (`migrate=debug`, `migrate::lock=info,sqlx=warn`);
/// every event of this tool has a `migrate::…` target. Without `RUST_LOG`
/// nothing is installed, so logging costs nothing.
fn init_tracing() {
    let Ok(spec) = std::env::var("RUST_LOG") else {
        return;
    };
    let targets = match spec.parse::<tracing_subscriber::filter::Targets>() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("warning: RUST_LOG=`{spec}` is not a valid filter ({e}); logging stays off");
            return;
        }
    };
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(
                    std::io::IsTerminal::is_terminal(&std::io::stderr())
                        && std::env::var_os("NO_COLOR").is_none(),
                ),
        )
        .with(targets)
        .try_init();
}
