//! Props of the bad-input cases: dump tools that fail in chosen ways, a
//! tiny tmpfs for a full disk, and a second deployer holding the lock.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use super::{Ctx, Skip};
use crate::support::wait_for_line;

/// The dump tools the runner may call.
const DUMP_TOOLS: [&str; 3] = ["pg_dump", "mariadb-dump", "mysqldump"];

/// The real `tool` on `PATH`, if installed.
fn which(tool: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

/// A folder of wrappers around the dump tools, each running `body` with
/// `$REAL` set to the real tool (`--version` always answered by it).
pub fn wrapped_dump_tools(body: &str) -> Result<tempfile::TempDir, Skip> {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    for tool in DUMP_TOOLS {
        let Some(real) = which(tool) else { continue };
        let path = dir.path().join(tool);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\nREAL='{}'\ncase \"$1\" in --version) exec \"$REAL\" --version;; esac\n{body}\n",
                real.display()
            ),
        )
        .expect("write a wrapper");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("make the wrapper executable");
    }
    if std::fs::read_dir(dir.path()).map_or(0, Iterator::count) == 0 {
        return Err(Skip("no dump tool is installed".into()));
    }
    Ok(dir)
}

/// `PATH` with `first` in front.
pub fn path_with(first: &Path) -> std::ffi::OsString {
    std::env::join_paths(
        std::iter::once(first.to_path_buf()).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )),
    )
    .expect("join PATH")
}

/// A mounted tmpfs of `size`, unmounted on drop.
pub struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. `64k`) at `at`; skipped where mounting is not allowed.
    pub fn mount(at: &Path, size: &str) -> Result<Tmpfs, Skip> {
        std::fs::create_dir_all(at).expect("create the mount point");
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .map_err(|e| Skip(format!("cannot run mount: {e}")))?;
        if !out.status.success() {
            return Err(Skip(format!(
                "cannot mount a tmpfs here: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// A runner paused right after taking the migrator lock, killed on drop.
pub struct LockHolder(Child);

impl LockHolder {
    /// Starts `apply` in `ctx` and waits until it holds the lock.
    pub fn start(ctx: &Ctx) -> LockHolder {
        let mut c = ctx.on.cmd(&["apply"]);
        c.env("MIGRATE_FAILPOINT", "lock.after:pause")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("runner starts");
        wait_for_line(&mut child, "failpoint lock.after", Duration::from_secs(60));
        LockHolder(child)
    }
}

impl Drop for LockHolder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A local HTTP endpoint answering every request with `body` (as a
/// Prometheus text page), until dropped.
pub struct MetricsPage {
    /// `http://127.0.0.1:<port>/metrics`.
    pub url: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl MetricsPage {
    /// Serves `body` on a free port.
    pub fn serve(body: &'static str) -> MetricsPage {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a local port");
        let url = format!(
            "http://127.0.0.1:{}/metrics",
            listener.local_addr().expect("local address").port()
        );
        listener.set_nonblocking(true).expect("non-blocking");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        let _ = stream.set_nonblocking(false);
                        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                        let mut request = Vec::new();
                        let mut buf = [0; 1024];
                        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                            match stream.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => request.extend_from_slice(&buf[..n]),
                            }
                        }
                        let _ = write!(
                            stream,
                            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n\
                             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        MetricsPage { url, stop }
    }
}

impl Drop for MetricsPage {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
