//! Finds the project: the folder holding Migrate.toml, the cargo workspace,
//! and in it the migrations package with its runner binary.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use cargo_metadata::{DependencyKind, Metadata, MetadataCommand, Package, TargetKind};
use migrate_cli::config::Config;
use migrate_core::Error;

/// The package every migrations package depends on for its runner (the
/// package of `migrate_cli`, usually under the dependency key `migrate-cli`).
pub const RUNNER_CRATE: &str = "cargo-migrate";

/// The cargo binary to run: `$CARGO` when cargo started us, else `cargo`.
pub fn cargo() -> OsString {
    std::env::var_os("CARGO")
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| OsString::from("cargo"))
}

/// Reads Migrate.toml (found upwards from the working folder, or `explicit`)
/// with the environment overlaid.
pub fn config(explicit: Option<&Path>) -> Result<Config, Error> {
    let cwd = std::env::current_dir()?;
    Config::load(explicit, &cwd, &|k| std::env::var(k).ok())
}

/// What to do when there is no cargo project, for commands that need the runner.
pub const NEEDS_PROJECT: &str = "Run `cargo migrate` inside a cargo project (`cargo new app` makes one, \
                                 then `cargo migrate init` adds the migrations package).";

/// `cargo metadata --no-deps` for the workspace around `dir`: no network,
/// no dependency resolution. `hint` says what to do when there is no
/// readable cargo project there.
pub fn workspace(dir: &Path, hint: &str) -> Result<Metadata, Error> {
    MetadataCommand::new()
        .cargo_path(cargo())
        .current_dir(dir)
        .no_deps()
        .exec()
        .map_err(|e| match e {
            cargo_metadata::Error::CargoMetadata { stderr } => Error::Config(format!(
                "cannot read the cargo workspace at {}: {}\n  {hint}",
                dir.display(),
                cargo_error(&stderr)
            )),
            other => Error::Config(format!(
                "cannot run `cargo metadata` in {}: {other}\n  Check that cargo works there (set CARGO to the cargo binary to use).",
                dir.display()
            )),
        })
}

/// The first `error:` line cargo printed, without its prefix.
fn cargo_error(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap_or_else(|| stderr.trim())
        .trim()
        .to_string()
}

/// What locating needs to know about a workspace member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The package name.
    pub name: String,
    /// Whether it depends on migrate-cli (a normal dependency).
    pub has_runner: bool,
}

impl Member {
    fn of(package: &Package) -> Member {
        Member {
            name: package.name.to_string(),
            has_runner: package
                .dependencies
                .iter()
                .any(|d| d.name == RUNNER_CRATE && d.kind == DependencyKind::Normal),
        }
    }
}

/// Picks the migrations package among the workspace members: the one named
/// by Migrate.toml's `package`, else the only member depending on
/// migrate-cli. Returns its index in `members`.
pub fn choose(members: &[Member], configured: Option<&str>, root: &Path) -> Result<usize, Error> {
    if let Some(name) = configured {
        return members.iter().position(|m| m.name == name).ok_or_else(|| {
            Error::Config(format!(
                "Migrate.toml names the migrations package `{name}`, but the workspace at {} has no such member \
                 (members: {})\n  Fix `package` in Migrate.toml, or add the package to `members` in the \
                 workspace's Cargo.toml.",
                root.display(),
                list(members.iter().map(|m| m.name.as_str()))
            ))
        });
    }
    let candidates: Vec<usize> = (0..members.len())
        .filter(|&i| members[i].has_runner)
        .collect();
    match candidates.as_slice() {
        [one] => Ok(*one),
        [] => Err(Error::Config(format!(
            "no migrations package in the workspace at {}: no member depends on {RUNNER_CRATE}, and no \
             Migrate.toml names one\n  Run `cargo migrate init` to scaffold it, or set `package` in Migrate.toml.",
            root.display()
        ))),
        several => Err(Error::Config(format!(
            "several workspace members depend on {RUNNER_CRATE}: {}\n  Say which one holds the migrations with \
             `package = \"<name>\"` in Migrate.toml (or MIGRATE_PACKAGE).",
            list(several.iter().map(|&i| members[i].name.as_str()))
        ))),
    }
}

fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// The migrations package, as found in the workspace.
#[derive(Debug)]
pub struct MigrationsPackage {
    /// The package name.
    pub name: String,
    /// Its Cargo.toml.
    pub manifest: PathBuf,
    /// The source file of its library (`src/lib.rs`), if it has one.
    pub lib: Option<PathBuf>,
    /// Its binaries: name and source file.
    pub bins: Vec<(String, PathBuf)>,
}

impl MigrationsPackage {
    /// The runner binary: the only one, or the one named like the package.
    pub fn runner(&self) -> Result<&str, Error> {
        match self.bins.as_slice() {
            [(name, _)] => Ok(name),
            [] => Err(Error::Config(format!(
                "the migrations package `{}` ({}) has no binary\n  Add the runner as src/main.rs: \
                 `fn main() -> std::process::ExitCode {{ migrate_cli::run() }}` (`cargo migrate init` writes one).",
                self.name,
                self.manifest.display()
            ))),
            several => several
                .iter()
                .find(|(name, _)| *name == self.name)
                .map(|(name, _)| name.as_str())
                .ok_or_else(|| {
                    Error::Config(format!(
                        "the migrations package `{}` has several binaries ({}) and none is named like the package\n  \
                         Name the runner binary `{}` in its Cargo.toml.",
                        self.name,
                        list(several.iter().map(|(n, _)| n.as_str())),
                        self.name
                    ))
                }),
        }
    }

    /// The source file the migration modules are declared in: the library's
    /// root, else the runner's.
    pub fn module_root(&self) -> Result<&Path, Error> {
        if let Some(lib) = &self.lib {
            return Ok(lib);
        }
        let runner = self.runner()?;
        Ok(self
            .bins
            .iter()
            .find(|(n, _)| n == runner)
            .map(|(_, p)| p.as_path())
            .unwrap_or(self.manifest.as_path()))
    }
}

/// Finds the migrations package of the workspace around `config.root`.
pub fn migrations_package(config: &Config) -> Result<MigrationsPackage, Error> {
    let metadata = workspace(&config.root, NEEDS_PROJECT)?;
    let packages = metadata.workspace_packages();
    let members: Vec<Member> = packages.iter().map(|p| Member::of(p)).collect();
    let workspace_root = metadata.workspace_root.as_std_path();
    let package = packages[choose(&members, config.package.as_deref(), workspace_root)?];
    let sources = |kinds: &'static [TargetKind]| {
        package
            .targets
            .iter()
            .filter(move |t| t.kind.iter().any(|k| kinds.contains(k)))
            .map(|t| (t.name.clone(), t.src_path.clone().into_std_path_buf()))
    };
    Ok(MigrationsPackage {
        name: package.name.to_string(),
        manifest: package.manifest_path.clone().into_std_path_buf(),
        lib: sources(&[TargetKind::Lib, TargetKind::RLib])
            .next()
            .map(|(_, path)| path),
        bins: sources(&[TargetKind::Bin]).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, has_runner: bool) -> Member {
        Member {
            name: name.to_string(),
            has_runner,
        }
    }

    #[test]
    fn the_only_member_with_the_runner_is_chosen() {
        let members = [member("app", false), member("migrations", true)];
        assert_eq!(choose(&members, None, Path::new("/p")).ok(), Some(1));
    }

    #[test]
    fn migrate_toml_package_wins() {
        let members = [member("a", true), member("b", true)];
        assert_eq!(choose(&members, Some("b"), Path::new("/p")).ok(), Some(1));
        let err = choose(&members, Some("c"), Path::new("/p"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`c`") && err.contains("`a`, `b`"), "{err}");
    }

    #[test]
    fn several_candidates_are_listed() {
        let members = [member("a", true), member("app", false), member("b", true)];
        let err = choose(&members, None, Path::new("/p")).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let text = err.to_string();
        assert!(
            text.contains("`a`, `b`") && text.contains("package = "),
            "{text}"
        );
    }

    #[test]
    fn no_candidate_points_at_init() {
        let err = choose(&[member("app", false)], None, Path::new("/p"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("cargo migrate init"), "{err}");
    }

    #[test]
    fn the_runner_is_the_only_bin_or_the_one_named_like_the_package() {
        let mut pkg = MigrationsPackage {
            name: "migrations".into(),
            manifest: PathBuf::from("/p/migrations/Cargo.toml"),
            lib: None,
            bins: vec![("run".into(), PathBuf::from("/p/migrations/src/main.rs"))],
        };
        assert_eq!(pkg.runner().ok(), Some("run"));
        assert_eq!(
            pkg.module_root().ok(),
            Some(Path::new("/p/migrations/src/main.rs"))
        );
        pkg.bins.push((
            "migrations".into(),
            PathBuf::from("/p/migrations/src/bin/m.rs"),
        ));
        assert_eq!(pkg.runner().ok(), Some("migrations"));
        pkg.bins.remove(1);
        pkg.bins
            .push(("other".into(), PathBuf::from("/p/migrations/src/bin/o.rs")));
        assert!(pkg.runner().is_err());
        pkg.bins.clear();
        assert!(
            pkg.runner()
                .unwrap_err()
                .to_string()
                .contains("migrate_cli::run()")
        );
    }
}
