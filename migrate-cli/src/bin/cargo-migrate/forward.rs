//! Builds the migrations package's runner with cargo and hands the command
//! line over to it.

use std::ffi::OsString;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cargo_metadata::{Message, TargetKind};
use migrate_core::Error;

use crate::locate::{self, MigrationsPackage};

/// Builds the runner (cargo's progress and diagnostics stay on stderr) and
/// returns its executable.
pub fn build(root: &Path, package: &MigrationsPackage) -> Result<PathBuf, Error> {
    let runner = package.runner()?;
    let mut child = Command::new(locate::cargo())
        .arg("build")
        .arg("--manifest-path")
        .arg(&package.manifest)
        .args(["--bin", runner, "--message-format=json-render-diagnostics"])
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            Error::Config(format!(
                "cannot start cargo to build the migrations package `{}`: {e}\n  Check that cargo is installed \
                 (or set CARGO to its path). Nothing was run against the database.",
                package.name
            ))
        })?;
    let mut executable = None;
    if let Some(stdout) = child.stdout.take() {
        for message in Message::parse_stream(BufReader::new(stdout)).map_while(Result::ok) {
            if let Message::CompilerArtifact(artifact) = message
                && artifact.target.name == runner
                && artifact.target.kind.contains(&TargetKind::Bin)
                && let Some(path) = artifact.executable
            {
                executable = Some(path.into_std_path_buf());
            }
        }
    }
    let status = child.wait()?;
    let built = |detail: &str| {
        Error::Config(format!(
            "cannot build the migrations package `{}` ({}): {detail}\n  Fix what cargo reported above and run the \
             command again; `cargo build -p {}` shows the same errors. Nothing was run against the database.",
            package.name,
            package.manifest.display(),
            package.name
        ))
    };
    if !status.success() {
        return Err(built(&match status.code() {
            Some(code) => format!("cargo build exited with status {code}"),
            None => "cargo build was stopped by a signal".to_string(),
        }));
    }
    executable.ok_or_else(|| {
        built(&format!(
            "cargo reported no executable for the binary `{runner}`"
        ))
    })
}

/// Runs the runner with `args` in `root`, with this process's stdio and
/// environment, and returns its exit code.
///
/// On Unix the runner replaces this process (as `cargo run` does), so
/// signals such as Ctrl-C reach it alone and it can finish what it must
/// (release the migrator lock, record a failure) before the shell returns.
/// Elsewhere it runs as a child; a child stopped without an exit code gives 1.
pub fn run(
    runner: &Path,
    root: &Path,
    args: &[OsString],
    config_file: Option<&Path>,
) -> Result<u8, Error> {
    let mut cmd = Command::new(runner);
    cmd.args(args).current_dir(root);
    // A relative MIGRATE_CONFIG was read from the working folder; the runner starts in `root`.
    if let (Some(file), Some(_)) = (
        config_file,
        std::env::var_os(migrate_cli::config::CONFIG_ENV),
    ) {
        cmd.env(migrate_cli::config::CONFIG_ENV, file);
    }
    let failed = |e: std::io::Error| {
        Error::Message(format!(
            "cannot start the migrations runner {}: {e}\n  Build it again with `cargo build`; nothing was run \
             against the database.",
            runner.display()
        ))
    };
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        Err(failed(cmd.exec()))
    }
    #[cfg(not(unix))]
    {
        let status = cmd.status().map_err(failed)?;
        Ok(status
            .code()
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(1))
    }
}
