//! The registered migrations of this binary: collected from every linked
//! crate, sorted by version, with duplicate versions rejected.

use crate::migration::Migration;
use crate::{Error, Result};

/// The sorted, validated set of registered migrations.
#[derive(Debug, Clone)]
pub struct Registry {
    migrations: Vec<&'static Migration>,
}

impl Registry {
    /// Every migration registered with `#[migration]` in this binary.
    ///
    /// Fails when two crates register the same version, naming both.
    pub fn collect() -> Result<Registry> {
        Registry::from_migrations(inventory::iter::<Migration>.into_iter().collect())
    }

    /// Builds a registry from explicit records (sorted and checked here).
    pub fn from_migrations(mut migrations: Vec<&'static Migration>) -> Result<Registry> {
        migrations.sort_by(|a, b| (a.version, a.file, a.line).cmp(&(b.version, b.file, b.line)));
        for pair in migrations.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if a.version == b.version {
                return Err(Error::DuplicateVersion {
                    version: a.version,
                    first_name: a.name.to_string(),
                    first_location: format!("{} ({})", a.location(), a.crate_name),
                    second_name: b.name.to_string(),
                    second_location: format!("{} ({})", b.location(), b.crate_name),
                });
            }
        }
        if let Some(m) = migrations.iter().find(|m| m.version > i64::MAX as u64) {
            return Err(Error::Config(format!(
                "migration `{}` ({}) has version {}, larger than the {} the history table can store; use a timestamp version such as 20241124_120000",
                m.name,
                m.location(),
                m.version,
                i64::MAX
            )));
        }
        Ok(Registry { migrations })
    }

    /// All migrations, ascending by version.
    pub fn migrations(&self) -> &[&'static Migration] {
        &self.migrations
    }

    /// The migration with this version.
    pub fn get(&self, version: u64) -> Option<&'static Migration> {
        self.migrations
            .binary_search_by_key(&version, |m| m.version)
            .ok()
            .map(|i| self.migrations[i])
    }

    /// Number of registered migrations.
    pub fn len(&self) -> usize {
        self.migrations.len()
    }

    /// Whether nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.migrations.is_empty()
    }

    /// What the pure comparison needs of each migration.
    pub fn specs(&self) -> Vec<crate::compare::Spec> {
        self.migrations
            .iter()
            .map(|m| crate::compare::Spec::of(m))
            .collect()
    }
}
