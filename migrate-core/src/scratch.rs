//! [`ScratchDatabase`]: a uniquely named, throw-away database beside a given
//! one (a temporary SQLite file, or a new database on the same server),
//! removed afterwards. Test databases, `check`'s dry run and its lint copy
//! live in one, so nothing they run leaves a trace on a configured database.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::driver::{ConnectOptions, Connection};
use crate::url::{Backend, DbUrl};
use crate::{Error, Result};

/// A database created for one job and removed by [`remove`](Self::remove)
/// or, failing that, when dropped.
///
/// Beside a `sqlite:` URL it is a file in a temporary folder of its own;
/// beside a PostgreSQL or MariaDB/MySQL URL it is a new database named
/// `<prefix>_<pid>_<counter>_<nanos>` on that server, created and dropped
/// with the URL's user (who needs `CREATE DATABASE`). The given database is
/// never touched.
pub struct ScratchDatabase {
    url: DbUrl,
    name: String,
    place: Place,
}

/// Where the scratch database lives, to remove it.
#[derive(Clone)]
enum Place {
    /// A temporary folder holding the SQLite file and its side files.
    Folder(PathBuf),
    /// A database on a server, dropped through the base URL.
    Server { base: DbUrl },
    /// Already removed.
    Gone,
}

impl std::fmt::Debug for ScratchDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScratchDatabase")
            .field("name", &self.name)
            .field("url", &self.url.redacted())
            .finish()
    }
}

impl ScratchDatabase {
    /// Creates an empty database beside `base` (`None`: a temporary SQLite
    /// file), named with `prefix` (`[a-z_]`, at most 24 characters).
    pub async fn create(base: Option<&DbUrl>, prefix: &str) -> Result<ScratchDatabase> {
        let name = unique_name(prefix);
        match base {
            Some(base) if base.backend() != Backend::Sqlite => {
                let quoted = quote(base.backend(), &name);
                admin(base, &format!("CREATE DATABASE {quoted}"))
                    .await
                    .map_err(|e| {
                        Error::Config(format!(
                            "cannot create the scratch database {name} on {}: {e}\n  The URL's user needs \
                             the right to create databases (PostgreSQL: CREATEDB; MariaDB/MySQL: CREATE, DROP).",
                            base.redacted()
                        ))
                    })?;
                Ok(ScratchDatabase {
                    url: base.with_database(&name),
                    name,
                    place: Place::Server { base: base.clone() },
                })
            }
            _ => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir(&dir).map_err(|e| {
                    Error::Config(format!(
                        "cannot create the scratch database folder {}: {e}\n  Check that the \
                         temporary folder (TMPDIR) is writable.",
                        dir.display()
                    ))
                })?;
                let url = DbUrl::parse(&format!(
                    "sqlite://{}",
                    dir.join(format!("{name}.db")).display()
                ))?;
                Ok(ScratchDatabase {
                    url,
                    name,
                    place: Place::Folder(dir),
                })
            }
        }
    }

    /// The scratch database's URL (its password is the base URL's).
    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    /// The database name on the server, or the SQLite file's stem.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Removes the database (drops it on the server, deletes the SQLite
    /// folder). Close every connection to it first.
    pub async fn remove(mut self) -> Result<()> {
        let place = std::mem::replace(&mut self.place, Place::Gone);
        remove(&place, &self.name).await
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let place = std::mem::replace(&mut self.place, Place::Gone);
        if matches!(place, Place::Gone) {
            return;
        }
        let name = self.name.clone();
        // Its own thread and runtime: this may run inside another runtime.
        let removed = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(remove(&place, &name))
        })
        .join();
        match removed {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: {e}"),
            Err(_) => eprintln!(
                "warning: removing the scratch database {} panicked",
                self.name
            ),
        }
    }
}

/// Removes the database at `place`.
async fn remove(place: &Place, name: &str) -> Result<()> {
    match place {
        Place::Gone => Ok(()),
        Place::Folder(dir) => std::fs::remove_dir_all(dir).or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(()),
            _ => Err(Error::Config(format!(
                "cannot remove the scratch database folder {}: {e}",
                dir.display()
            ))),
        }),
        Place::Server { base } => {
            let quoted = quote(base.backend(), name);
            let sql = match base.backend() {
                // FORCE ends sessions left open (PostgreSQL 13 and later).
                Backend::Postgres => format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"),
                _ => format!("DROP DATABASE IF EXISTS {quoted}"),
            };
            let mut result = admin(base, &sql).await;
            if result.is_err() && base.backend() == Backend::Postgres {
                // Before PostgreSQL 13 there is no FORCE.
                result = admin(base, &format!("DROP DATABASE IF EXISTS {quoted}")).await;
            }
            result.map_err(|e| {
                Error::Config(format!(
                    "cannot drop the scratch database {name} on {}: {e}\n  Drop it by hand: DROP DATABASE {quoted};",
                    base.redacted()
                ))
            })
        }
    }
}

/// Runs one statement on the base URL's database.
async fn admin(base: &DbUrl, sql: &str) -> std::result::Result<(), String> {
    let opts = ConnectOptions {
        create: false,
        timeout: Duration::from_secs(10),
    };
    let mut conn: Connection = crate::driver::connect(base, &opts)
        .await
        .map_err(|e| e.to_string())?;
    let result = conn
        .execute(sql)
        .await
        .map(drop)
        .map_err(|e| crate::url::redact(&e.to_string()));
    conn.close().await;
    result
}

/// `<prefix>_<pid>_<counter>_<nanos>`: unique across the jobs of one process
/// and across processes, short enough for every server (63 bytes).
fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{}_{}_{}_{nanos}",
        &prefix[..prefix.len().min(24)],
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A quoted database name (the name is `[a-z0-9_]` only).
fn quote(backend: Backend, name: &str) -> String {
    match backend {
        Backend::MySql => format!("`{name}`"),
        _ => format!("\"{name}\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_fit_every_server() {
        let (a, b) = (unique_name("migrate_test"), unique_name("migrate_test"));
        assert_ne!(a, b);
        assert!(a.len() <= 63 && a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    }

    #[tokio::test]
    async fn a_sqlite_scratch_database_is_removed_with_its_folder() {
        let scratch = ScratchDatabase::create(None, "migrate_scratch")
            .await
            .unwrap();
        let path = scratch.url().sqlite_path().unwrap();
        let folder = path.parent().unwrap().to_path_buf();
        assert!(folder.is_dir());
        scratch.remove().await.unwrap();
        assert!(!folder.exists());
    }
}
