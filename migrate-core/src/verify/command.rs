//! The optional shell check (`verify.command`): a team's own smoke test,
//! run with `sh -c` in the project folder; exit status 0 passes. Bounded by a
//! timeout; the last lines of its output go into the report.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How many trailing output lines the report keeps.
const TAIL_LINES: usize = 5;

/// Runs `command`; returns whether it passed and a sentence for the report.
/// `DATABASE_URL` is set for it to the database being verified.
pub async fn run(
    command: &str,
    dir: &Path,
    database_url: &str,
    timeout: Duration,
) -> (bool, String) {
    let (command, dir, url) = (
        command.to_string(),
        dir.to_path_buf(),
        database_url.to_string(),
    );
    tokio::task::spawn_blocking(move || run_blocking(&command, &dir, &url, timeout))
        .await
        .unwrap_or_else(|e| (false, format!("could not run: {e}")))
}

fn run_blocking(command: &str, dir: &Path, url: &str, timeout: Duration) -> (bool, String) {
    let started = Instant::now();
    let mut cmd = Command::new("sh");
    // Its own process group, so a timeout kills whatever it started too.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = match cmd
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .env("DATABASE_URL", url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return (false, format!("could not start `sh -c {command}`: {e}")),
    };
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|mut pipe| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            buf
        })
    })
    .collect();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() >= timeout => {
                let _ = Command::new("kill")
                    .args(["-s", "KILL", "--", &format!("-{}", child.id())])
                    .status();
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return (false, format!("could not wait for `{command}`: {e}")),
        }
    };
    let output: String = readers
        .into_iter()
        .filter_map(|r| r.join().ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect();
    let tail = tail(&crate::url::redact(&output));
    let took = crate::human_duration(started.elapsed());
    match status {
        None => (
            false,
            format!(
                "`{command}` did not finish within {}; it was killed{tail}",
                crate::human_duration(timeout)
            ),
        ),
        Some(s) if s.success() => (true, format!("`{command}` exited 0 in {took}")),
        Some(s) => (
            false,
            format!(
                "`{command}` failed ({}) in {took}{tail}",
                s.code()
                    .map(|c| format!("exit status {c}"))
                    .unwrap_or_else(|| "killed by a signal".into())
            ),
        ),
    }
}

/// `: <last lines>` of the output, or nothing when it printed nothing.
fn tail(output: &str) -> String {
    let lines: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let start = lines.len().saturating_sub(TAIL_LINES);
    format!(": {}", lines[start..].join(" | "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(cmd: &str, timeout: Duration) -> (bool, String) {
        run_blocking(cmd, Path::new("."), "sqlite://x.db", timeout)
    }

    #[test]
    fn exit_status_decides_and_output_tail_is_reported() {
        let (ok, detail) = run("echo fine; exit 0", Duration::from_secs(10));
        assert!(ok, "{detail}");
        let (ok, detail) = run(
            "for i in 1 2 3 4 5 6 7; do echo line $i; done; echo 'smoke: /orders returned 500' >&2; exit 3",
            Duration::from_secs(10),
        );
        assert!(!ok);
        assert!(detail.contains("exit status 3"), "{detail}");
        assert!(detail.contains("smoke: /orders returned 500"), "{detail}");
        assert!(!detail.contains("line 1"), "only the tail: {detail}");
    }

    #[test]
    fn the_database_url_is_passed_and_a_hung_command_is_killed() {
        assert!(
            run(
                "test \"$DATABASE_URL\" = sqlite://x.db",
                Duration::from_secs(10)
            )
            .0
        );
        let (ok, detail) = run("sleep 30", Duration::from_millis(300));
        assert!(!ok);
        assert!(detail.contains("did not finish within"), "{detail}");
    }
}
