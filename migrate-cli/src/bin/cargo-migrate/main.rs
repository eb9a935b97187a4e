//! `cargo migrate`: scaffolds migrations (`init`, `new`) and runs every other
//! command through the project's migrations runner, which it finds and builds.

mod args;
mod edit;
mod forward;
mod init;
mod locate;
mod new;
mod timestamp;

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use migrate_cli::output::{Format, Output};
use migrate_core::Error;

use crate::args::{OuterCommand, Route};

fn main() -> ExitCode {
    let args = args::user_args(std::env::args_os());
    let (format, result) = match args::route(&args) {
        Route::Outer => match args::parse(&args) {
            Ok(outer) => {
                let out = Output::new(outer.format);
                let result = match &outer.command {
                    OuterCommand::Init(a) => init::run(a, &out),
                    OuterCommand::New(a) => new::run(a, outer.config.as_deref(), &out),
                    OuterCommand::Completions(a) => {
                        // Completes `cargo-migrate <TAB>`, every command of the runner included.
                        let mut script = Vec::new();
                        clap_complete::generate(
                            a.shell,
                            &mut args::command(),
                            "cargo-migrate",
                            &mut script,
                        );
                        // A closed pipe (`| head`) is not an error worth a message.
                        let _ = std::io::stdout().write_all(&script);
                        Ok(0)
                    }
                };
                (outer.format, result)
            }
            Err(e) => return clap_exit(&e),
        },
        Route::Forward { command } => (format_arg(&args), forward(&args, &command)),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let code = e.exit_code();
            Output::new(format).error(&e, code);
            ExitCode::from(code)
        }
    }
}

/// Finds, builds and runs the runner with `args`. When there is no runner
/// to ask, help and unknown commands are answered from this binary's own
/// copy of the command line.
fn forward(args: &[OsString], command: &str) -> Result<u8, Error> {
    let explicit = args::config_arg(args);
    let located = locate::config(explicit.as_deref())
        .and_then(|config| locate::migrations_package(&config).map(|package| (config, package)));
    let (config, package) = match located {
        Ok(found) => found,
        Err(e) => {
            let known = args::known_commands().iter().any(|k| k == command);
            if (args::wants_help(args) || !known)
                && let Err(clap_error) = args::parse(args)
            {
                let _ = clap_error.print();
                return Ok(clap_exit_code(&clap_error));
            }
            return Err(e);
        }
    };
    let runner = forward::build(&config.root, &package)?;
    let cwd = std::env::current_dir()?;
    let args = args::absolute_config(args, &cwd);
    forward::run(&runner, &config.root, &args, config.file.as_deref())
}

/// The `--format` given before or after the command, for printing errors.
fn format_arg(args: &[OsString]) -> Format {
    let mut previous_was_flag = false;
    for arg in args.iter().take_while(|a| *a != "--") {
        let text = arg.to_string_lossy();
        if (previous_was_flag && text == "json") || text == "--format=json" {
            return Format::Json;
        }
        previous_was_flag = text == "--format";
    }
    Format::Human
}

/// clap's own errors are usage errors (2); help and version are not errors.
fn clap_exit_code(e: &clap::Error) -> u8 {
    if e.use_stderr() { 2 } else { 0 }
}

fn clap_exit(e: &clap::Error) -> ExitCode {
    let _ = e.print();
    ExitCode::from(clap_exit_code(e))
}

/// `path` as the user should read it: relative to the working folder when
/// it is inside it.
pub fn show(path: &Path) -> String {
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| path.to_path_buf());
    shown.display().to_string()
}

/// Writes a file that must not exist yet.
pub fn write_new(path: &Path, text: &str) -> Result<(), Error> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::Refused(format!(
                    "{} exists already; nothing was overwritten",
                    show(path)
                ))
            } else {
                Error::Message(format!("cannot write {}: {e}", show(path)))
            }
        })?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::Message(format!("cannot write {}: {e}", show(path))))
}
