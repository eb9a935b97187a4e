//! Generated inputs: a real migrations crate with N `#[migration]` functions
//! (built once in release into a scratch target directory), and the same
//! statements as `.sql` folders for sqlx-cli and refinery.
//!
//! Everything lands under `target/bench-gen/` of this workspace; the crates
//! depend on this checkout's `migrate-core`/`migrate-cli` by path, under the
//! package names `cargo metadata` reports (so a rename does not break them).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Migrations per generated module: keeps each file small and lets rustc
/// work on them as separate codegen units.
const PER_MODULE: usize = 100;

/// The workspace root (the folder of this crate's parent).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// `target/bench-gen` of the workspace.
pub fn gen_root() -> PathBuf {
    workspace_root().join("target").join("bench-gen")
}

/// The shared target directory of every generated crate (dependencies are
/// compiled once for all of them, apart from the other engineers' builds).
pub fn gen_target() -> PathBuf {
    gen_root().join("target")
}

/// The version of migration `i` (1-based): plain integers, which every tool accepts.
pub fn version(i: usize) -> u64 {
    i as u64
}

/// The one statement of migration `i`, portable across the three backends.
pub fn statement(i: usize) -> String {
    format!("CREATE TABLE t{i} (id INTEGER PRIMARY KEY)")
}

/// Package names of the core and CLI crates in this workspace, by manifest path.
fn package_names() -> Result<(String, String), String> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(workspace_root())
        .output()
        .map_err(|e| format!("could not run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("cargo metadata printed no JSON: {e}"))?;
    let root = workspace_root();
    let name_of = |dir: &str| -> Result<String, String> {
        let manifest = root.join(dir).join("Cargo.toml");
        meta["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["manifest_path"].as_str().map(Path::new) == Some(manifest.as_path()))
            .and_then(|p| p["name"].as_str())
            .map(str::to_string)
            .ok_or_else(|| format!("no package at {}", manifest.display()))
    };
    Ok((name_of("migrate-core")?, name_of("migrate-cli")?))
}

/// A generated migrations crate.
#[derive(Debug, Clone)]
pub struct Crate {
    pub dir: PathBuf,
    /// The package (and runner binary) name.
    pub package: String,
}

impl Crate {
    /// The release runner binary (after [`Crate::build`]).
    pub fn runner(&self) -> PathBuf {
        gen_target().join("release").join(&self.package)
    }

    /// Builds the crate with `profile` (`release` or `dev`); returns the wall time.
    pub fn build(&self, profile: &str) -> Result<Duration, String> {
        let started = Instant::now();
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--quiet", "--profile", profile, "--manifest-path"])
            .arg(self.dir.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(gen_target())
            .status()
            .map_err(|e| format!("could not run cargo build: {e}"))?;
        if !status.success() {
            return Err(format!(
                "building the generated crate {} failed",
                self.dir.display()
            ));
        }
        Ok(started.elapsed())
    }

    /// `cargo check` of the crate; returns the wall time.
    pub fn check(&self) -> Result<Duration, String> {
        let started = Instant::now();
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["check", "--quiet", "--manifest-path"])
            .arg(self.dir.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(gen_target())
            .status()
            .map_err(|e| format!("could not run cargo check: {e}"))?;
        if !status.success() {
            return Err(format!("checking {} failed", self.dir.display()));
        }
        Ok(started.elapsed())
    }

    /// Removes this package's own build artifacts (not its dependencies')
    /// from the scratch target directory, so the next build is clean.
    pub fn clean(&self, profile: &str) -> Result<(), String> {
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "clean",
                "--quiet",
                "--profile",
                profile,
                "-p",
                &self.package,
            ])
            .arg("--manifest-path")
            .arg(self.dir.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(gen_target())
            .status()
            .map_err(|e| format!("could not run cargo clean: {e}"))?;
        if !status.success() {
            return Err(format!("cargo clean -p {} failed", self.package));
        }
        Ok(())
    }

    /// Adds migration `i` in a module of its own (what `cargo migrate new` does).
    pub fn add_migration(&self, i: usize) -> Result<(), String> {
        let module = format!("extra_{i}");
        write(
            &self.dir.join("src").join(format!("{module}.rs")),
            &module_source(&[i]),
        )?;
        let lib = self.dir.join("src").join("lib.rs");
        let mut text = std::fs::read_to_string(&lib).map_err(|e| e.to_string())?;
        text.push_str(&format!("mod {module};\n"));
        write(&lib, &text)
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    // Unchanged files keep their mtime, so cargo does not rebuild for nothing.
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn module_source(indices: &[usize]) -> String {
    let mut s = String::from("use migrate_core::{Db, Result, migration};\n");
    for &i in indices {
        let _ = write!(
            s,
            "\n#[migration({v}, reversible)]\nasync fn m{i}(db: &mut Db) -> Result<()> {{\n    db.execute(\"{sql}\").await?;\n    Ok(())\n}}\n\nasync fn m{i}_down(db: &mut Db) -> Result<()> {{\n    db.execute(\"DROP TABLE t{i}\").await?;\n    Ok(())\n}}\n",
            v = version(i),
            sql = statement(i),
        );
    }
    s
}

/// Writes (or refreshes) crate `label` with migrations `1..=count`.
pub fn migrations_crate(label: &str, count: usize) -> Result<Crate, String> {
    let (core, cli) = package_names()?;
    let dir = gen_root().join(label);
    let package = format!("bench-gen-{label}");
    let root = workspace_root();
    let features = r#"features = ["sqlite", "postgres", "mysql"]"#;
    let manifest = format!(
        "# Generated by migrate-bench; overwritten on every run.\n[package]\nname = \"{package}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[workspace]\n\n[dependencies]\nmigrate-core = {{ package = \"{core}\", path = \"{}\", default-features = false, {features} }}\nmigrate-cli = {{ package = \"{cli}\", path = \"{}\", default-features = false, {features} }}\n",
        root.join("migrate-core").display(),
        root.join("migrate-cli").display(),
    );
    write(&dir.join("Cargo.toml"), &manifest)?;
    let lock = dir.join("Cargo.lock");
    if !lock.exists() {
        // Same dependency versions as the workspace.
        let _ = std::fs::copy(root.join("Cargo.lock"), &lock);
    }
    let lib_name = package.replace('-', "_");
    write(
        &dir.join("src").join("main.rs"),
        &format!(
            "//! Generated runner.\nuse {lib_name} as _;\n\nfn main() -> std::process::ExitCode {{\n    migrate_cli::run()\n}}\n"
        ),
    )?;
    let src = dir.join("src");
    // Drop modules of a previous, larger generation (and added extras).
    if let Ok(entries) = std::fs::read_dir(&src) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with("extra_") || name.starts_with("ms") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let mut lib = String::from("//! Generated migrations.\n#![allow(missing_docs)]\n");
    let all: Vec<usize> = (1..=count).collect();
    for (n, chunk) in all.chunks(PER_MODULE).enumerate() {
        let module = format!("ms{n:04}");
        let _ = writeln!(lib, "mod {module};");
        write(&src.join(format!("{module}.rs")), &module_source(chunk))?;
    }
    write(&src.join("lib.rs"), &lib)?;
    Ok(Crate { dir, package })
}

/// The sqlx-cli folder (`<version>_<name>.sql`) of migrations `1..=count`.
pub fn sqlx_folder(count: usize) -> Result<PathBuf, String> {
    sql_folder(&format!("sqlx-{count}"), count, |i| {
        format!("{}_t{i}.sql", version(i))
    })
}

/// The refinery folder (`V<version>__<name>.sql`) of migrations `1..=count`.
pub fn refinery_folder(count: usize) -> Result<PathBuf, String> {
    sql_folder(&format!("refinery-{count}"), count, |i| {
        format!("V{}__t{i}.sql", version(i))
    })
}

fn sql_folder(
    label: &str,
    count: usize,
    name: impl Fn(usize) -> String,
) -> Result<PathBuf, String> {
    let dir = gen_root().join(label);
    if dir.join(name(count)).exists() && !dir.join(name(count + 1)).exists() {
        return Ok(dir);
    }
    let _ = std::fs::remove_dir_all(&dir);
    for i in 1..=count {
        write(&dir.join(name(i)), &format!("{};\n", statement(i)))?;
    }
    Ok(dir)
}
