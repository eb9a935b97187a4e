//! The external programs a benchmark times: the generated runner, the peers
//! (sqlx-cli and refinery from `setup.sh`) and the dump tools, each run as a
//! child process and timed from spawn to exit.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where `setup.sh` installs the peers.
pub fn tools_bin() -> PathBuf {
    crate::generate::workspace_root()
        .join("target")
        .join("bench-tools")
        .join("bin")
}

/// A peer's binary from `setup.sh`, or the note saying why its column is skipped.
pub fn peer(name: &str) -> Result<PathBuf, String> {
    let path = tools_bin().join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "`{name}` is not installed in {} (run `sh migrate-bench/setup.sh`); its column is skipped",
            tools_bin().display()
        ))
    }
}

/// The first line `program --version` prints, if it runs.
pub fn version_of(program: &Path) -> Option<String> {
    let out = Command::new(program).arg("--version").output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .map(|l| l.trim().to_string())
}

/// Runs `cmd` to completion with stdout discarded; its wall time, or an error
/// quoting the end of its stderr.
pub fn time(cmd: &mut Command) -> Result<Duration, String> {
    let started = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("could not run {:?}: {e}", cmd.get_program()))?;
    let took = started.elapsed();
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: String = err
            .chars()
            .rev()
            .take(1500)
            .collect::<String>()
            .chars()
            .rev()
            .collect();
        return Err(format!(
            "{} exited with {}: {}",
            Path::new(cmd.get_program()).display(),
            out.status,
            migrate_core::url::redact(tail.trim())
        ));
    }
    Ok(took)
}

/// Runs `cmd` and returns its stdout (for `--format json` answers).
pub fn output(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run {:?}: {e}", cmd.get_program()))?;
    if !out.status.success() {
        return Err(format!(
            "{} exited with {}: {}",
            Path::new(cmd.get_program()).display(),
            out.status,
            migrate_core::url::redact(String::from_utf8_lossy(&out.stderr).trim())
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The median of `samples` (the lower middle one for an even count).
pub fn median(samples: &[Duration]) -> Duration {
    let mut v = samples.to_vec();
    v.sort_unstable();
    v.get(v.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or_default()
}

/// The median of a contender's runs; `None` when it failed or never ran.
pub fn median_of(runs: &Result<Vec<Duration>, String>) -> Option<Duration> {
    runs.as_ref()
        .ok()
        .filter(|s| !s.is_empty())
        .map(|s| median(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_sample() {
        let d = Duration::from_millis;
        assert_eq!(median(&[d(5), d(1), d(3)]), d(3));
        assert_eq!(median(&[d(4), d(1), d(3), d(2)]), d(2));
        assert_eq!(median(&[]), Duration::ZERO);
    }
}
