//! What the server backends share to run their client tools (`pg_dump`,
//! `mariadb-dump`, …): finding them, and starting them so they die with the
//! runner.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use tokio::process::Command;

use crate::{Error, Result};

/// Decodes `%XX` escapes, as drivers do with the password of a URL.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The first `name` on `PATH`.
pub(crate) fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A command for the tool at `path`, under `setpriv --pdeathsig KILL` when
/// util-linux has it (the tool then dies with the runner even on SIGKILL),
/// killed on drop in any case, with no stdin.
pub(crate) fn command(path: &Path) -> Command {
    let mut cmd = match find_on_path("setpriv") {
        Some(setpriv) => {
            let mut c = Command::new(setpriv);
            c.args(["--pdeathsig", "KILL", "--"]).arg(path);
            c
        }
        None => Command::new(path),
    };
    cmd.kill_on_drop(true).stdin(Stdio::null());
    cmd
}

/// The error for client tool `name` that exited with `out`'s failing status:
/// its status and what it printed on stderr, passed through `redact` first.
pub(crate) fn failed(name: &str, out: &Output, redact: impl Fn(&str) -> String) -> Error {
    let stderr = redact(&String::from_utf8_lossy(&out.stderr));
    Error::msg(format!(
        "{name} failed ({}){}",
        out.status,
        if stderr.is_empty() {
            String::new()
        } else {
            format!(": {stderr}")
        }
    ))
}

/// Pipes `dump`'s stdout into `load`'s stdin and waits for both; returns
/// the bytes copied and each tool's output (status and stderr), for the
/// caller to judge. Both are spawned here; either failing to start is an error.
pub(crate) async fn pipe(
    mut dump: Command,
    dump_name: &str,
    mut load: Command,
    load_name: &str,
) -> Result<(std::io::Result<u64>, Output, Output)> {
    dump.stdout(Stdio::piped()).stderr(Stdio::piped());
    load.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut dumping = dump
        .spawn()
        .map_err(|e| Error::msg(format!("cannot run {dump_name}: {e}")))?;
    let mut loading = load
        .spawn()
        .map_err(|e| Error::msg(format!("cannot run {load_name}: {e}")))?;
    let (from, to) = (dumping.stdout.take(), loading.stdin.take());
    let copy = async move {
        let (Some(mut from), Some(mut to)) = (from, to) else {
            return Err(std::io::Error::other("the tools' pipes were not opened"));
        };
        // Dropping both ends on return closes the pipe, so the loader sees the end.
        tokio::io::copy(&mut from, &mut to).await
    };
    let (copied, dumped, loaded) =
        tokio::join!(copy, dumping.wait_with_output(), loading.wait_with_output());
    let dumped = dumped.map_err(|e| Error::msg(format!("{dump_name} did not finish: {e}")))?;
    let loaded = loaded.map_err(|e| Error::msg(format!("{load_name} did not finish: {e}")))?;
    Ok((copied, dumped, loaded))
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("p%40ss%2Fw%zz"), "p@ss/w%zz");
    }
}
