//! A fresh, empty database for one timed run on any backend: a temporary
//! database on the server (`bench_…`, dropped afterwards) or a new SQLite
//! file, plus a scratch folder with a `Migrate.toml` for the runner.

use std::path::PathBuf;

use migrate_core::url::Backend;

use crate::server::{self, TempDatabase};

/// The backends, in table order.
pub const BACKENDS: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::MySql];

/// `SQLite`, `PostgreSQL`, `MariaDB`.
pub fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
        _ => "MariaDB",
    }
}

/// One fresh database and its scratch folder; both go when dropped.
pub struct Fresh {
    pub backend: Backend,
    /// The URL every tool is given.
    pub url: String,
    /// Scratch folder (holds `Migrate.toml` and the runner's backups).
    pub dir: PathBuf,
    _server: Option<TempDatabase>,
}

impl Fresh {
    /// Creates database `name` (a `bench_` prefix is added) on `backend`.
    pub async fn create(backend: Backend, name: &str) -> Result<Fresh, String> {
        let name = format!("bench_{name}");
        let dir = crate::generate::gen_root().join("run").join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let (url, server) = match backend {
            Backend::Sqlite => {
                let file = dir.join("db.sqlite");
                // An empty file is an empty database; sqlx-cli and refinery
                // refuse to create one, so every tool gets the same start.
                std::fs::write(&file, b"").map_err(|e| format!("{}: {e}", file.display()))?;
                (format!("sqlite://{}", file.display()), None)
            }
            _ => {
                let db = TempDatabase::create(&server::server_url(backend), &name).await?;
                (db.url.expose().to_string(), Some(db))
            }
        };
        Ok(Fresh {
            backend,
            url,
            dir,
            _server: server,
        })
    }

    /// Writes `Migrate.toml` for runner package `package`: backups in the
    /// scratch folder, no rehearsal gate (there is no staging here).
    pub fn config(&self, package: &str) -> Result<PathBuf, String> {
        let path = self.dir.join("Migrate.toml");
        let text = format!(
            "package = \"{package}\"\nhistory_table = \"_migrate_history\"\n\n[backup]\ndir = \"backups\"\nkeep = 100\n\n[apply]\nrequire_rehearsal = false\n"
        );
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
