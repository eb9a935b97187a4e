//! Backups taken before production is touched: written under a temporary
//! name with owner-only permissions, verified structurally, renamed into
//! place, and described by a JSON manifest (size, sha256, head version).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::url::{Backend, DbUrl};
use crate::{Error, Result, Target};

/// What a backup holds and how it was checked.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// Identifier: the UTC time it was taken, `2024-11-28T08-14-03Z`.
    pub id: String,
    /// The database, redacted.
    pub database: String,
    /// The database's stable identity ([`DbUrl::identity`]: backend, host,
    /// port and name, or the SQLite file's canonical path; never a
    /// password). `keep` counts and prunes backups per identity. Manifests
    /// written before this field existed lack it; see
    /// [`Manifest::database_identity`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_id: Option<String>,
    /// `sqlite`, `postgres` or `mysql`.
    pub backend: String,
    /// File name of the backup, in the backup folder.
    pub file: String,
    /// Size in bytes.
    pub size: u64,
    /// sha256 of the file.
    pub sha256: String,
    /// Newest applied version when it was taken.
    pub head_version: Option<u64>,
    /// Every applied version when it was taken.
    pub applied_versions: Vec<u64>,
    /// The tool version that took it.
    pub tool_version: String,
    /// RFC 3339 time it was taken.
    pub created_at: String,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// What the verification checked.
    pub verification: String,
}

impl Manifest {
    /// Path of the backup file.
    pub fn path(&self, dir: &Path) -> PathBuf {
        dir.join(&self.file)
    }

    /// The identity of the database this is a backup of: the recorded
    /// `database_id`, or, for a manifest written before it was recorded,
    /// the identity of the redacted URL it carries (user and password play
    /// no part in an identity, so the redaction changes nothing; a relative
    /// SQLite path is taken from the current folder, as when it was taken).
    /// `None` when neither says: such a backup belongs to no database and is
    /// never pruned.
    pub fn database_identity(&self) -> Option<String> {
        self.database_id
            .clone()
            .or_else(|| DbUrl::parse(&self.database).ok().map(|u| u.identity()))
    }

    /// Whether this is a backup of `db`.
    pub fn is_of(&self, db: &DbUrl) -> bool {
        self.database_identity().as_deref() == Some(db.identity().as_str())
    }
}

/// Creates `path` empty, readable and writable by its owner only.
pub fn create_private(path: &Path) -> Result<File> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    Ok(opts.open(path)?)
}

/// sha256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

fn new_id(dir: &Path) -> String {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    free_id(dir, &now.replace(':', "-"))
}

/// `base`, or `base-2`, `base-3`…: the first id no file in `dir` uses yet.
/// Every file a backup writes (`.{id}.partial`, `{id}.sqlite`,
/// `.{id}.json.partial`, `{id}.json`, `{id}.deploy.json`) counts, so a backup
/// killed halfway in the same second cannot make the next one collide with
/// its leftovers.
fn free_id(dir: &Path, base: &str) -> String {
    let names: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let used = |id: &str| {
        let (plain, hidden) = (format!("{id}."), format!(".{id}."));
        names
            .iter()
            .any(|n| n.starts_with(&plain) || n.starts_with(&hidden))
    };
    let mut id = base.to_string();
    let mut n = 2;
    while used(&id) {
        id = format!("{base}-{n}");
        n += 1;
    }
    id
}

fn ensure_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| {
        Error::Refused(format!(
            "cannot create the backup folder {}: {e}. Production was not touched; fix `[backup] dir` in Migrate.toml (or MIGRATE_BACKUP_DIR).",
            dir.display()
        ))
    })?;
    let probe = dir.join(format!(".write-probe-{}", std::process::id()));
    match create_private(&probe) {
        Ok(_) => {
            let _ = fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(Error::Refused(format!(
            "the backup folder {} is not writable ({e}). Production was not touched; make it writable or point `[backup] dir` elsewhere.",
            dir.display()
        ))),
    }
}

/// Takes a backup of `target` into `dir`, verifies it, and writes its
/// manifest. Nothing counts as a backup until the manifest exists.
pub async fn take(target: &mut Target, dir: &Path) -> Result<Manifest> {
    let started = Instant::now();
    ensure_dir(dir)?;
    let id = new_id(dir);
    let rows = target.history_rows().await?;
    let applied: Vec<u64> = rows.iter().map(|r| r.version).collect();
    let partial = dir.join(format!(".{id}.partial"));
    let ext = match target.url.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "pgdump",
        Backend::MySql => "sql",
    };
    let file = format!("{id}.{ext}");
    let result = async {
        let verification = match target.url.backend() {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => {
                let c = match target.conn() {
                    crate::driver::Connection::Sqlite(c) => c,
                    #[allow(unreachable_patterns)]
                    _ => unreachable!("the backend says sqlite"),
                };
                crate::driver::sqlite::backup_into(c, &partial).await?
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                crate::driver::postgres::backup_into(&target.url, &partial).await?
            }
            #[cfg(feature = "mysql")]
            Backend::MySql => crate::driver::mysql::backup_into(&target.url, &partial).await?,
            #[allow(unreachable_patterns)]
            other => {
                return Err(Error::Config(format!(
                    "no backup support for {} in this build",
                    other.as_str()
                )));
            }
        };
        crate::failpoint::hit("backup.before_rename");
        let final_path = dir.join(&file);
        File::open(&partial)?.sync_all()?;
        fs::rename(&partial, &final_path)?;
        let manifest = Manifest {
            id: id.clone(),
            database: target.url.redacted(),
            database_id: Some(target.url.identity()),
            backend: target.url.backend().as_str().to_string(),
            file: file.clone(),
            size: fs::metadata(&final_path)?.len(),
            sha256: sha256_file(&final_path)?,
            head_version: applied.iter().max().copied(),
            applied_versions: applied.clone(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            created_at: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            duration_ms: started.elapsed().as_millis() as u64,
            verification,
        };
        write_manifest(dir, &manifest)?;
        tracing::info!(target: "migrate::backup", id = %manifest.id, bytes = manifest.size, duration_ms = manifest.duration_ms, verification = %manifest.verification, "backup taken");
        Ok(manifest)
    }
    .await;
    if result.is_err() {
        let _ = fs::remove_file(&partial);
    }
    result.map_err(|e| match e {
        Error::Refused(_) => e,
        other => Error::Refused(format!(
            "the backup of {} failed: {other}. Production was not touched. Check that `[backup] dir` ({}) has free space and that the dump tool runs on its own, then run the command again.",
            target.url.redacted(),
            dir.display()
        )),
    })
}

fn write_manifest(dir: &Path, m: &Manifest) -> Result<()> {
    let tmp = dir.join(format!(".{}.json.partial", m.id));
    let mut f = create_private(&tmp)?;
    crate::failpoint::hit("backup.writing_manifest");
    f.write_all(
        serde_json::to_string_pretty(m)
            .map_err(|e| Error::msg(e.to_string()))?
            .as_bytes(),
    )?;
    f.sync_all()?;
    fs::rename(&tmp, dir.join(format!("{}.json", m.id)))?;
    Ok(())
}

/// Every backup in `dir`, oldest first (a folder that does not exist has none).
pub fn list(dir: &Path) -> Result<Vec<Manifest>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e.into()),
    };
    for entry in entries {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') || !name.ends_with(".json") || name.ends_with(".deploy.json") {
            continue;
        }
        let text = fs::read_to_string(&path)?;
        if let Ok(m) = serde_json::from_str::<Manifest>(&text) {
            out.push(m);
        }
    }
    out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    Ok(out)
}

/// Finds a backup by id (or unique id prefix). An exact id wins over the
/// longer ids it is a prefix of (`…T10-00-00Z` beside `…T10-00-00Z-2`).
pub fn find(dir: &Path, id: &str) -> Result<Manifest> {
    let all = list(dir)?;
    if let Some(m) = all.iter().find(|m| m.id == id) {
        return Ok(m.clone());
    }
    let matches: Vec<_> = all.iter().filter(|m| m.id.starts_with(id)).collect();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Error::Refused(format!(
            "no backup `{id}` in {}; `cargo migrate backups` lists them",
            dir.display()
        ))),
        many => Err(Error::Refused(format!(
            "`{id}` matches {} backups; give more of the id",
            many.len()
        ))),
    }
}

/// Every backup of `db` in `dir`, oldest first.
pub fn list_of(dir: &Path, db: &DbUrl) -> Result<Vec<Manifest>> {
    Ok(list(dir)?.into_iter().filter(|m| m.is_of(db)).collect())
}

/// The newest backup of `db` in which `version` was not yet applied.
pub fn newest_without(dir: &Path, db: &DbUrl, version: u64) -> Result<Option<Manifest>> {
    Ok(list_of(dir, db)?
        .into_iter()
        .rev()
        .find(|m| !m.applied_versions.contains(&version)))
}

/// Checks the file still matches its manifest (size and sha256).
pub fn check_file(dir: &Path, m: &Manifest) -> Result<()> {
    let path = m.path(dir);
    let actual = sha256_file(&path)
        .map_err(|e| Error::Refused(format!("cannot read backup {}: {e}", path.display())))?;
    if actual != m.sha256 {
        return Err(Error::Refused(format!(
            "backup {} is corrupt: its sha256 is {actual}, the manifest says {}. Use another backup.",
            path.display(),
            m.sha256
        )));
    }
    Ok(())
}

/// How old a file of a backup without a manifest must be before `prune`
/// takes it for the leftover of an interrupted backup: a backup still being
/// written (by another process) touches its file far more often than this.
pub const LEFTOVER_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Deletes the oldest backups of `db` beyond `keep` (backups of other
/// databases sharing the folder are neither counted nor touched), and the
/// files interrupted backups left behind (a dump without a manifest, a
/// half-written manifest) once they are older than [`LEFTOVER_AGE`]; returns
/// the removed backup ids and leftover file names.
pub fn prune(dir: &Path, keep: usize, db: &DbUrl) -> Result<Vec<String>> {
    let identity = db.identity();
    prune_identity(dir, keep, &identity)
}

fn prune_identity(dir: &Path, keep: usize, identity: &str) -> Result<Vec<String>> {
    let all = list(dir)?;
    let ours: Vec<&Manifest> = all
        .iter()
        .filter(|m| m.database_identity().as_deref() == Some(identity))
        .collect();
    let excess = ours.len().saturating_sub(keep.max(1));
    let mut removed = Vec::new();
    for m in ours.iter().take(excess) {
        let _ = fs::remove_file(m.path(dir));
        let _ = fs::remove_file(dir.join(format!("{}.deploy.json", m.id)));
        fs::remove_file(dir.join(format!("{}.json", m.id)))?;
        removed.push(m.id.clone());
    }
    // Every backup that still has its manifest, of any database, is kept.
    let kept: Vec<&str> = all
        .iter()
        .filter(|m| !removed.contains(&m.id))
        .map(|m| m.id.as_str())
        .collect();
    removed.extend(remove_leftovers(dir, &kept, LEFTOVER_AGE)?);
    Ok(removed)
}

/// Removes the files of backups that have no manifest (`kept` lists the ids
/// that do) and were last written more than `age` ago. Only names a backup
/// writes are considered; anything else in the folder is left alone.
fn remove_leftovers(dir: &Path, kept: &[&str], age: std::time::Duration) -> Result<Vec<String>> {
    const SUFFIXES: [&str; 5] = [".partial", ".json.partial", ".sqlite", ".pgdump", ".sql"];
    let mut removed = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(removed);
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((id, suffix)) = name.trim_start_matches('.').split_once('.') else {
            continue;
        };
        let suffix = format!(".{suffix}");
        let looks_like_backup = id.len() >= 20 && id.as_bytes()[4] == b'-' && id.contains('T');
        if !looks_like_backup || !SUFFIXES.contains(&suffix.as_str()) || kept.contains(&id) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|elapsed| elapsed > age);
        if old {
            fs::remove_file(entry.path())?;
            tracing::info!(target: "migrate::backup", file = %name, "removed the leftover of an interrupted backup");
            removed.push(name);
        }
    }
    removed.sort();
    Ok(removed)
}

/// Restores backup `m` from `dir` into the database `into`. An existing
/// target is only replaced with `force`.
pub async fn restore(dir: &Path, m: &Manifest, into: &DbUrl, force: bool) -> Result<()> {
    check_file(dir, m)?;
    if into.backend().as_str() != m.backend {
        return Err(Error::Refused(format!(
            "backup {} is a {} backup; it cannot be restored into {}",
            m.id,
            m.backend,
            into.redacted()
        )));
    }
    match into.backend() {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite => crate::driver::sqlite::restore(&m.path(dir), into, force),
        #[cfg(feature = "postgres")]
        Backend::Postgres => crate::driver::postgres::restore(&m.path(dir), into, force).await,
        #[cfg(feature = "mysql")]
        Backend::MySql => crate::driver::mysql::restore(&m.path(dir), into, force).await,
        #[allow(unreachable_patterns)]
        other => Err(Error::Config(format!(
            "no restore support for {} in this build",
            other.as_str()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::{Manifest, free_id, list, prune_identity, remove_leftovers, write_manifest};
    use std::time::{Duration, SystemTime};

    #[test]
    fn leftovers_of_a_killed_backup_make_the_next_one_take_another_id() {
        let dir = tempfile::tempdir().unwrap();
        let base = "2026-11-25T21-40-01Z";
        assert_eq!(free_id(dir.path(), base), base);
        // Killed after the dump was renamed, while the manifest was being written.
        std::fs::write(dir.path().join(format!("{base}.sqlite")), b"x").unwrap();
        std::fs::write(dir.path().join(format!(".{base}.json.partial")), b"").unwrap();
        assert_eq!(free_id(dir.path(), base), format!("{base}-2"));
        std::fs::write(dir.path().join(format!(".{base}-2.partial")), b"").unwrap();
        assert_eq!(free_id(dir.path(), base), format!("{base}-3"));
        // Another id that merely starts with the same text does not count.
        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join(format!("{base}-2.json")), b"{}").unwrap();
        assert_eq!(free_id(other.path(), base), base);
    }

    #[test]
    fn prune_removes_old_leftovers_of_interrupted_backups_only() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, age: u64| {
            let path = dir.path().join(name);
            let f = std::fs::File::create(&path).unwrap();
            f.set_modified(SystemTime::now() - Duration::from_secs(age))
                .unwrap();
        };
        let hour = 3600;
        write("2026-11-20T10-00-00Z.sqlite", 2 * hour); // dump, manifest never written
        write(".2026-11-20T10-00-00Z.json.partial", 2 * hour);
        write(".2026-11-21T10-00-00Z.partial", 2 * hour); // killed during the dump
        write(".2026-11-25T21-00-00Z.partial", 60); // another process is dumping now
        write("2026-11-22T10-00-00Z.pgdump", 2 * hour); // a kept backup's file
        write("2026-11-22T10-00-00Z.json", 2 * hour);
        write("notes.txt", 2 * hour); // not ours
        let removed = remove_leftovers(
            dir.path(),
            &["2026-11-22T10-00-00Z"],
            Duration::from_secs(hour),
        )
        .unwrap();
        assert_eq!(
            removed,
            [
                ".2026-11-20T10-00-00Z.json.partial",
                ".2026-11-21T10-00-00Z.partial",
                "2026-11-20T10-00-00Z.sqlite",
            ]
        );
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                ".2026-11-25T21-00-00Z.partial",
                "2026-11-22T10-00-00Z.json",
                "2026-11-22T10-00-00Z.pgdump",
                "notes.txt",
            ]
        );
    }

    fn manifest(id: &str, database: &str, database_id: Option<&str>) -> Manifest {
        Manifest {
            id: id.to_string(),
            database: database.to_string(),
            database_id: database_id.map(str::to_string),
            backend: "postgres".into(),
            file: format!("{id}.pgdump"),
            size: 1,
            sha256: "0".repeat(64),
            head_version: None,
            applied_versions: vec![],
            tool_version: "0".into(),
            created_at: format!("{id}.000Z"),
            duration_ms: 0,
            verification: String::new(),
        }
    }

    #[test]
    fn prune_counts_and_removes_only_the_backups_of_the_same_database() {
        let dir = tempfile::tempdir().unwrap();
        let shop = "postgres://h:5432/shop";
        let other = "postgres://h:5432/other";
        let put = |m: &Manifest| {
            std::fs::write(m.path(dir.path()), b"x").unwrap();
            write_manifest(dir.path(), m).unwrap();
        };
        put(&manifest(
            "2026-11-20T10-00-00Z",
            "postgres://u:***@h/shop",
            Some(shop),
        ));
        put(&manifest(
            "2026-11-20T10-00-01Z",
            "postgres://u:***@h/other",
            Some(other),
        ));
        // Written before `database_id` existed: identified by its redacted URL.
        put(&manifest(
            "2026-11-20T10-00-02Z",
            "postgres://app:***@H:5432/shop",
            None,
        ));
        put(&manifest(
            "2026-11-20T10-00-03Z",
            "postgres://u:***@h/other",
            Some(other),
        ));
        put(&manifest(
            "2026-11-20T10-00-04Z",
            "postgres://u:***@h/shop",
            Some(shop),
        ));
        put(&manifest("2026-11-20T10-00-05Z", "not a url", None));
        let ids = || {
            list(dir.path())
                .unwrap()
                .into_iter()
                .map(|m| m.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            prune_identity(dir.path(), 2, shop).unwrap(),
            ["2026-11-20T10-00-00Z"]
        );
        assert_eq!(
            prune_identity(dir.path(), 1, other).unwrap(),
            ["2026-11-20T10-00-01Z"]
        );
        assert_eq!(
            ids(),
            [
                "2026-11-20T10-00-02Z",
                "2026-11-20T10-00-03Z",
                "2026-11-20T10-00-04Z",
                "2026-11-20T10-00-05Z"
            ]
        );
        assert!(dir.path().join("2026-11-20T10-00-03Z.pgdump").exists());
        assert!(!dir.path().join("2026-11-20T10-00-01Z.pgdump").exists());
        // An exact id is not ambiguous beside the ids it begins.
        std::fs::write(dir.path().join("2026-11-20T10-00-04Z-2.pgdump"), b"x").unwrap();
        write_manifest(
            dir.path(),
            &manifest(
                "2026-11-20T10-00-04Z-2",
                "postgres://u:***@h/other",
                Some(other),
            ),
        )
        .unwrap();
        assert_eq!(
            super::find(dir.path(), "2026-11-20T10-00-04Z").unwrap().id,
            "2026-11-20T10-00-04Z"
        );
        assert!(super::find(dir.path(), "2026-11-20T10-00-0").is_err());
        prune_identity(dir.path(), 2, other).unwrap();
        // A manifest that names no database is never pruned.
        prune_identity(dir.path(), 1, shop).unwrap();
        assert_eq!(
            ids(),
            [
                "2026-11-20T10-00-03Z",
                "2026-11-20T10-00-04Z-2",
                "2026-11-20T10-00-04Z",
                "2026-11-20T10-00-05Z"
            ]
        );
    }
}
