//! The migrator lock: one deployer at a time per database and history table.
//! SQLite uses an OS file lock beside the database (the kernel drops it when
//! the process dies); server backends use a session lock on a dedicated
//! connection. A [`LockGuard`] frees it on drop.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::human_duration;
use crate::{Error, Result};

/// Who holds a lock, as recorded by the holder.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Holder {
    /// Process id.
    pub pid: u32,
    /// Host name.
    pub host: String,
    /// RFC 3339 time the lock was taken.
    pub since: String,
}

impl Holder {
    /// This process, now.
    pub fn me() -> Holder {
        Holder {
            pid: std::process::id(),
            host: crate::history::hostname(),
            since: crate::history::now_rfc3339(),
        }
    }

    fn encode(&self) -> String {
        format!("pid={} host={} since={}\n", self.pid, self.host, self.since)
    }

    /// Parses the `pid=.. host=.. since=..` form.
    pub fn decode(s: &str) -> Option<Holder> {
        let mut pid = None;
        let mut host = None;
        let mut since = None;
        for part in s.split_whitespace() {
            match part.split_once('=') {
                Some(("pid", v)) => pid = v.parse().ok(),
                Some(("host", v)) => host = Some(v.to_string()),
                Some(("since", v)) => since = Some(v.to_string()),
                _ => {}
            }
        }
        Some(Holder {
            pid: pid?,
            host: host?,
            since: since?,
        })
    }

    /// `: pid 48211 on ci-runner-7 since 2024-11-28T08:11:52Z`
    pub fn describe(holder: Option<&Holder>) -> String {
        match holder {
            Some(h) => format!(": pid {} on {} since {}", h.pid, h.host, h.since),
            None => String::new(),
        }
    }
}

/// Whether the lock is free or who holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "lock", rename_all = "lowercase")]
pub enum LockStatus {
    /// Nobody holds it.
    Free,
    /// Somebody holds it.
    Held {
        /// Who, when they said so.
        holder: Option<Holder>,
    },
    /// The backend has no lock for this database (in-memory SQLite).
    None,
}

/// The held migrator lock; dropping it releases it.
#[derive(Debug)]
pub struct LockGuard {
    inner: Inner,
    waited: Duration,
}

#[derive(Debug)]
enum Inner {
    File {
        file: File,
        path: PathBuf,
    },
    Unlocked,
    #[cfg(feature = "postgres")]
    Postgres(crate::driver::postgres::AdvisoryLock),
    #[cfg(feature = "mysql")]
    MySql(crate::driver::mysql::NamedLock),
}

impl LockGuard {
    /// How long the acquisition waited for another holder.
    pub fn waited(&self) -> Duration {
        self.waited
    }

    /// A guard for a database that needs no lock (in-memory SQLite).
    pub fn unlocked() -> LockGuard {
        LockGuard {
            inner: Inner::Unlocked,
            waited: Duration::ZERO,
        }
    }

    #[cfg(feature = "postgres")]
    pub(crate) fn postgres(
        lock: crate::driver::postgres::AdvisoryLock,
        waited: Duration,
    ) -> LockGuard {
        LockGuard {
            inner: Inner::Postgres(lock),
            waited,
        }
    }

    #[cfg(feature = "mysql")]
    pub(crate) fn mysql(lock: crate::driver::mysql::NamedLock, waited: Duration) -> LockGuard {
        LockGuard {
            inner: Inner::MySql(lock),
            waited,
        }
    }

    /// Releases the lock now (dropping the guard does the same, less politely
    /// for server locks: their connection is closed instead).
    pub async fn release(self) {
        match self.inner {
            Inner::File { file, path } => release_file(file, &path),
            Inner::Unlocked => {}
            #[cfg(feature = "postgres")]
            Inner::Postgres(l) => l.release().await,
            #[cfg(feature = "mysql")]
            Inner::MySql(l) => l.release().await,
        }
    }
}

fn release_file(file: File, _path: &Path) {
    // Clearing the holder first keeps `status` from naming a finished process.
    let _ = file.set_len(0);
    let _ = file.unlock();
}

/// The lock file of a SQLite database and history table.
pub fn lock_file_path(db: &Path, history_table: &str) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".{history_table}.lock"));
    db.with_file_name(name)
}

fn open_lock_file(path: &Path) -> Result<File> {
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path).map_err(|e| {
        Error::Config(format!(
            "cannot open the lock file {}: {e}; the folder of the SQLite database must be writable",
            path.display()
        ))
    })
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut s = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut s).ok()?;
    Holder::decode(&s)
}

/// Takes the file lock at `path`, waiting at most `wait`.
pub async fn acquire_file(path: &Path, wait: Duration, target: &str) -> Result<LockGuard> {
    let mut file = open_lock_file(path)?;
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) => {
                if started.elapsed() >= wait {
                    return Err(Error::LockNotAcquired {
                        target: target.to_string(),
                        holder: Holder::describe(read_holder(&mut file).as_ref()),
                        waited: human_duration(started.elapsed()),
                    });
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
        }
    }
    let waited = started.elapsed();
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(Holder::me().encode().as_bytes())?;
    file.flush()?;
    Ok(LockGuard {
        inner: Inner::File {
            file,
            path: path.to_path_buf(),
        },
        waited,
    })
}

/// Whether the file lock at `path` is held, without taking it for long.
pub fn probe_file(path: &Path) -> Result<LockStatus> {
    if !path.exists() {
        return Ok(LockStatus::Free);
    }
    let mut file = open_lock_file(path)?;
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            Ok(LockStatus::Free)
        }
        Err(std::fs::TryLockError::WouldBlock) => Ok(LockStatus::Held {
            holder: read_holder(&mut file),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn second_acquirer_waits_then_fails_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let g = acquire_file(&path, Duration::from_secs(1), "t")
            .await
            .unwrap();
        assert!(
            matches!(probe_file(&path).unwrap(), LockStatus::Held { holder: Some(ref h) } if h.pid == std::process::id())
        );
        let err = acquire_file(&path, Duration::from_millis(100), "t")
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 5);
        assert!(
            err.to_string()
                .contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        g.release().await;
        assert_eq!(probe_file(&path).unwrap(), LockStatus::Free);
        let g2 = acquire_file(&path, Duration::from_millis(100), "t")
            .await
            .unwrap();
        drop(g2);
    }

    #[test]
    fn lock_file_sits_beside_the_database() {
        let p = lock_file_path(Path::new("data/app.db"), "_migrate_history");
        assert_eq!(p, PathBuf::from("data/app.db._migrate_history.lock"));
    }
}
