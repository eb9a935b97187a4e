//! The outer command line: which arguments this binary handles itself
//! (`init`, `new`, help) and which it forwards to the project's runner.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};
use migrate_cli::cli::EXIT_CODES;
use migrate_cli::output::Format;

/// Compile-time checked database migrations, applied safely.
///
/// `init` and `new` work on the source tree; every other command builds the
/// project's migrations package (Migrate.toml `package`, or the workspace
/// member that depends on migrate-cli) and runs its runner with the command.
#[derive(Debug, Parser)]
#[command(
    name = "cargo migrate",
    bin_name = "cargo migrate",
    version,
    after_help = EXIT_CODES,
    subcommand_required = true,
    arg_required_else_help = true
)]
pub struct Outer {
    /// The command.
    #[command(subcommand)]
    pub command: OuterCommand,
    /// Output format: `human` (default) or `json` (one document on stdout).
    #[arg(long, global = true, value_enum, default_value = "human")]
    pub format: Format,
    /// Path of Migrate.toml (default: searched upwards from the current folder).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

/// The commands handled without the runner.
#[derive(Debug, Subcommand)]
pub enum OuterCommand {
    /// Scaffold the migrations package, its runner, Migrate.toml, queries/ and a first migration.
    Init(InitArgs),
    /// Add a migration file with a timestamp version, up and down stubs, and its `mod` line.
    New(NewArgs),
    /// Print a shell completion script for `cargo-migrate` (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
}

/// `completions` options.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `init` options.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Take migrate-core and migrate-cli from this cargo-migrate checkout (path dependencies).
    #[arg(long, value_name = "DIR", conflicts_with = "git")]
    pub path: Option<PathBuf>,
    /// Take migrate-core and migrate-cli from this git repository.
    #[arg(long, value_name = "URL")]
    pub git: Option<String>,
    /// Name of the migrations package and of its folder.
    #[arg(long, value_name = "NAME", default_value = "migrations")]
    pub name: String,
}

/// `new` options.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The migration's name, a snake_case identifier (`add_users`); it names the file and the function.
    pub name: String,
}

/// What to do with the command line.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// Parse it here: `init`, `new`, help, version, or nothing at all.
    Outer,
    /// Hand it to the runner; `command` is the command's name.
    Forward { command: String },
}

/// Global options that take a value in the next argument.
const VALUE_OPTIONS: [&str; 3] = ["--format", "--database-url", "--config"];

/// The arguments after the program name, without the `migrate` that cargo
/// inserts when it runs `cargo-migrate` as `cargo migrate`.
pub fn user_args(mut argv: impl Iterator<Item = OsString>) -> Vec<OsString> {
    let _program = argv.next();
    let mut args: Vec<OsString> = argv.collect();
    if args.first().is_some_and(|a| a == "migrate") {
        args.remove(0);
    }
    args
}

/// Decides who handles `args` from the command name, found after any
/// global options.
pub fn route(args: &[OsString]) -> Route {
    let Some(command) = command_name(args) else {
        return Route::Outer;
    };
    match command.to_str() {
        Some("init" | "new" | "completions" | "help") => Route::Outer,
        _ => Route::Forward {
            command: command.to_string_lossy().into_owned(),
        },
    }
}

/// The first argument that is neither an option nor an option's value.
fn command_name(args: &[OsString]) -> Option<&OsStr> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let text = arg.to_string_lossy();
        if text == "--" {
            return iter.next().map(OsString::as_os_str);
        }
        if VALUE_OPTIONS.contains(&text.as_ref()) {
            iter.next();
        } else if !text.starts_with('-') {
            return Some(arg);
        }
    }
    None
}

/// The `--config` value, if given.
pub fn config_arg(args: &[OsString]) -> Option<PathBuf> {
    let mut iter = args.iter();
    let mut found = None;
    while let Some(arg) = iter.next() {
        let text = arg.to_string_lossy();
        if text == "--" {
            break;
        } else if text == "--config" {
            found = iter.next().map(PathBuf::from);
        } else if let Some(value) = text.strip_prefix("--config=") {
            found = Some(PathBuf::from(value));
        }
    }
    found
}

/// Rewrites a relative `--config` value as `base.join(value)`, so the
/// runner, started in another folder, reads the same file.
pub fn absolute_config(args: &[OsString], base: &std::path::Path) -> Vec<OsString> {
    let mut out = Vec::with_capacity(args.len());
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let text = arg.to_string_lossy();
        if text == "--" {
            out.push(arg.clone());
            out.extend(iter.cloned());
            break;
        } else if text == "--config" {
            out.push(arg.clone());
            if let Some(value) = iter.next() {
                out.push(base.join(value).into_os_string());
            }
        } else if let Some(value) = text.strip_prefix("--config=") {
            let mut joined = OsString::from("--config=");
            joined.push(base.join(value));
            out.push(joined);
        } else {
            out.push(arg.clone());
        }
    }
    out
}

/// Whether the user asked for help (`-h`, `--help`) anywhere before `--`.
pub fn wants_help(args: &[OsString]) -> bool {
    args.iter()
        .take_while(|a| *a != "--")
        .any(|a| a == "-h" || a == "--help")
}

/// The whole command line as shown by `--help`: `init` and `new`, then the
/// runner's commands as this version of migrate-cli knows them.
pub fn command() -> clap::Command {
    let runner = migrate_cli::cli::Cli::command();
    let database_url = runner
        .get_arguments()
        .find(|a| a.get_id() == "database_url")
        .cloned();
    let forwarded = runner
        .get_subcommands()
        .filter(|s| !matches!(s.get_name(), "help" | "init" | "new" | "completions"))
        .enumerate()
        .map(|(i, s)| s.clone().display_order(i + 2))
        .collect::<Vec<_>>();
    let mut cmd = Outer::command()
        .mut_subcommand("init", |s| s.display_order(0))
        .mut_subcommand("new", |s| s.display_order(1))
        .subcommands(forwarded);
    if let Some(arg) = database_url {
        cmd = cmd.arg(arg);
    }
    cmd
}

/// The names of the runner's commands known to this binary.
pub fn known_commands() -> Vec<String> {
    command()
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect()
}

/// Parses a command line meant for this binary. Help, version and usage
/// errors come back as clap errors, to be printed with their exit code.
pub fn parse(args: &[OsString]) -> Result<Outer, clap::Error> {
    use clap::FromArgMatches;
    let argv = std::iter::once(OsString::from("cargo-migrate")).chain(args.iter().cloned());
    let mut cmd = command();
    let matches = cmd.try_get_matches_from_mut(argv)?;
    Outer::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn outer_command_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn cargo_inserted_migrate_is_dropped() {
        assert_eq!(
            user_args(os(&["cargo-migrate", "migrate", "status"]).into_iter()),
            os(&["status"])
        );
        assert_eq!(
            user_args(os(&["cargo-migrate", "status"]).into_iter()),
            os(&["status"])
        );
        assert_eq!(user_args(os(&["cargo-migrate"]).into_iter()), os(&[]));
    }

    #[test]
    fn init_new_and_help_stay_here_the_rest_is_forwarded() {
        assert_eq!(route(&os(&["init", "--name", "db"])), Route::Outer);
        assert_eq!(route(&os(&["--format", "json", "new", "x"])), Route::Outer);
        assert_eq!(route(&os(&["--help"])), Route::Outer);
        assert_eq!(route(&os(&["-V"])), Route::Outer);
        assert_eq!(route(&os(&[])), Route::Outer);
        assert_eq!(route(&os(&["help", "status"])), Route::Outer);
        assert_eq!(
            route(&os(&["--config", "init", "status"])),
            Route::Forward {
                command: "status".into()
            }
        );
        assert_eq!(
            route(&os(&["--format=json", "apply", "--to", "1"])),
            Route::Forward {
                command: "apply".into()
            }
        );
        assert_eq!(
            route(&os(&["frobnicate"])),
            Route::Forward {
                command: "frobnicate".into()
            }
        );
    }

    #[test]
    fn config_values_are_found_and_made_absolute() {
        let args = os(&["--config", "conf/Migrate.toml", "status", "--config=b.toml"]);
        assert_eq!(config_arg(&args), Some(PathBuf::from("b.toml")));
        let abs = absolute_config(&args, std::path::Path::new("/work"));
        assert_eq!(
            abs,
            os(&[
                "--config",
                "/work/conf/Migrate.toml",
                "status",
                "--config=/work/b.toml"
            ])
        );
        let already = os(&["status", "--config", "/etc/Migrate.toml"]);
        assert_eq!(
            absolute_config(&already, std::path::Path::new("/work")),
            already
        );
    }

    #[test]
    fn help_lists_every_command_and_the_exit_codes() {
        let help = command().render_long_help().to_string();
        for name in [
            "init",
            "new",
            "status",
            "apply",
            "rollback",
            "repair",
            "Exit codes:",
        ] {
            assert!(help.contains(name), "{name} missing from:\n{help}");
        }
    }

    #[test]
    fn init_and_new_parse() {
        let outer = parse(&os(&["init", "--path", "/src/cargo-migrate"])).expect("parses");
        assert!(matches!(
            outer.command,
            OuterCommand::Init(InitArgs { path: Some(_), .. })
        ));
        assert!(parse(&os(&["init", "--path", "a", "--git", "b"])).is_err());
        let outer = parse(&os(&["--format", "json", "new", "add_users"])).expect("parses");
        assert_eq!(outer.format, Format::Json);
        assert!(
            matches!(outer.command, OuterCommand::New(NewArgs { ref name }) if name == "add_users")
        );
    }
}
