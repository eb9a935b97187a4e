//! The `cargo migrate` binary itself on real `cargo new` projects: `init`
//! and `new` scaffold a package that builds and runs, every other command is
//! forwarded to it, and mistakes get one clear paragraph and exit code.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::support::Run;

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
}

fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into())
}

/// The scaffolded projects share one target folder, so their dependencies
/// (sqlx and friends, minutes on two cores) are compiled once, not per test run.
fn e2e_target_dir() -> PathBuf {
    workspace_root().join("target/e2e")
}

/// The `cargo-migrate` binary, built once per test run. It belongs to
/// another package, so cargo gives this one no `CARGO_BIN_EXE_` for it: build
/// it and read its path from cargo's JSON messages.
fn cargo_migrate() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let out = Command::new(cargo())
            .args([
                "build",
                "-p",
                "cargo-migrate",
                "--bin",
                "cargo-migrate",
                "--message-format=json",
            ])
            .arg("--manifest-path")
            .arg(workspace_root().join("Cargo.toml"))
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .expect("cargo starts");
        assert!(out.status.success(), "building cargo-migrate failed");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|m| {
                m["reason"] == "compiler-artifact" && m["target"]["name"] == "cargo-migrate"
            })
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo names the cargo-migrate executable")
    })
}

/// Runs `cargo-migrate migrate <args>` in `dir`, as cargo runs it for
/// `cargo migrate <args>`: no terminal, no inherited migration settings.
fn cargo_migrate_in(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(cargo_migrate())
        .arg("migrate")
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", e2e_target_dir())
        .env("NO_COLOR", "1")
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("DATABASE_URL")
        .env_remove("STAGING_DATABASE_URL")
        .env_remove("MIGRATE_CONFIG")
        .env_remove("MIGRATE_PACKAGE")
        .env_remove("MIGRATE_FAILPOINT")
        .stdin(Stdio::null())
        .output()
        .expect("cargo-migrate starts");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A fresh `cargo new --vcs none app` in a temporary folder.
fn new_package() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let app = tmp.path().join("app");
    let status = Command::new(cargo())
        .args(["new", "--quiet", "--vcs", "none", "--name", "app"])
        .arg(&app)
        .stdin(Stdio::null())
        .status()
        .expect("cargo new starts");
    assert!(status.success(), "cargo new failed");
    (tmp, app)
}

/// Every file under `dir` with its contents, to show that nothing changed.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                files.insert(path.clone(), Vec::new());
                stack.push(path);
            } else {
                files.insert(path.clone(), std::fs::read(&path).expect("read file"));
            }
        }
    }
    files
}

fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn init_and_new_scaffold_a_package_whose_runner_builds_and_applies() {
    let (_tmp, app) = new_package();

    let init = cargo_migrate_in(&app, &["init"]);
    assert_eq!(init.code, 0, "{init:?}");
    for shown in [
        "migrations/Cargo.toml",
        "migrations/src/main.rs",
        "Migrate.toml",
        "cargo migrate status",
    ] {
        assert!(init.stdout.contains(shown), "`{shown}` not in {init:?}");
    }
    assert!(
        read(app.join("Cargo.toml"))
            .ends_with("\n[workspace]\nmembers = [\".\", \"migrations\"]\n")
    );
    assert_eq!(read(app.join(".gitignore")), "data/\nbackups/\n");
    assert!(read(app.join("Migrate.toml")).contains("package = \"migrations\""));
    assert!(app.join("queries").is_dir());

    let new = cargo_migrate_in(&app, &["new", "add_users"]);
    assert_eq!(new.code, 0, "{new:?}");
    let lib = read(app.join("migrations/src/lib.rs"));
    let modules: Vec<&str> = lib.lines().filter(|l| l.starts_with("mod m")).collect();
    assert_eq!(modules.len(), 2, "{lib}");
    assert!(
        modules[0].ends_with("_init;") && modules[1].ends_with("_add_users;"),
        "{lib}"
    );
    let file = modules[1].trim_start_matches("mod ").trim_end_matches(';');
    assert!(
        new.stdout.contains(&format!("migrations/src/{file}.rs")),
        "{new:?}"
    );

    // The workspace's lock file pins the same dependency versions as the
    // rest of the suite, so the shared target folder is reused run after run
    // (without it cargo resolves afresh, which works too).
    let _ = std::fs::copy(workspace_root().join("Cargo.lock"), app.join("Cargo.lock"));

    let status = cargo_migrate_in(&app, &["status"]);
    assert_eq!(status.code, 4, "{status:?}");
    assert!(status.stdout.contains("2 pending"), "{status:?}");
    assert!(
        status.stdout.contains(" init ") && status.stdout.contains(" add_users "),
        "{status:?}"
    );

    // No further editing: the scaffold deploys as it is.
    let deploy = cargo_migrate_in(&app, &["deploy"]);
    assert_eq!(deploy.code, 0, "{deploy:?}");
    assert!(
        deploy.stdout.contains("deployed 2 migrations"),
        "{deploy:?}"
    );
    assert!(
        deploy.stdout.contains("round trip ok") && deploy.stdout.contains("verified"),
        "{deploy:?}"
    );
    assert!(
        app.join("data/staging.db").is_file() && app.join("data/app.db").is_file(),
        "databases are relative to Migrate.toml"
    );
    assert!(
        app.join("backups").read_dir().unwrap().next().is_some(),
        "a backup was taken"
    );

    let status = cargo_migrate_in(&app.join("migrations/src"), &["status"]);
    assert_eq!(status.code, 0, "{status:?}");

    let unknown = cargo_migrate_in(&app, &["frobnicate"]);
    assert_eq!(unknown.code, 2, "{unknown:?}");
    assert!(
        unknown
            .stderr
            .contains("unrecognized subcommand 'frobnicate'"),
        "{unknown:?}"
    );

    let build = Command::new(cargo())
        .args(["build", "--workspace", "--quiet"])
        .current_dir(&app)
        .env("CARGO_TARGET_DIR", e2e_target_dir())
        .stdin(Stdio::null())
        .status()
        .expect("cargo starts");
    assert!(
        build.success(),
        "the application package still builds as a workspace member"
    );
}

#[test]
fn init_adds_the_package_to_an_existing_workspace() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path();
    let manifest = "[workspace]\nresolver = \"3\"\nmembers = [\n    \"app\", # the service\n]\n\n[workspace.dependencies]\n";
    std::fs::write(root.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(root.join(".gitignore"), "/target").unwrap();
    std::fs::create_dir_all(root.join("app/src")).unwrap();
    std::fs::write(
        root.join("app/Cargo.toml"),
        "[package]\nname = \"app\"\nedition = \"2024\"\n",
    )
    .unwrap();
    std::fs::write(root.join("app/src/main.rs"), "fn main() {}\n").unwrap();

    let init = cargo_migrate_in(&root.join("app/src"), &["init", "--name", "db-migrations"]);
    assert_eq!(init.code, 0, "{init:?}");
    assert_eq!(
        read(root.join("Cargo.toml")),
        manifest.replace(
            "    \"app\", # the service\n",
            "    \"app\", # the service\n    \"db-migrations\",\n"
        )
    );
    assert_eq!(read(root.join(".gitignore")), "/target\ndata/\nbackups/\n");
    assert!(read(root.join("Migrate.toml")).contains("package = \"db-migrations\""));
    assert!(read(root.join("db-migrations/src/main.rs")).contains("use db_migrations as _;"));

    let metadata = Command::new(cargo())
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(root)
        .stdin(Stdio::null())
        .output()
        .expect("cargo starts");
    assert!(
        metadata.status.success(),
        "{}",
        String::from_utf8_lossy(&metadata.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&metadata.stdout).expect("JSON");
    let mut names: Vec<&str> = doc["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["app", "db-migrations"]);
}

#[test]
fn init_refuses_when_the_migrations_folder_exists() {
    let (_tmp, app) = new_package();
    std::fs::create_dir(app.join("migrations")).unwrap();
    std::fs::write(app.join("migrations/notes.txt"), "mine").unwrap();
    let before = snapshot(&app);

    let init = cargo_migrate_in(&app, &["init"]);
    assert_eq!(init.code, 4, "{init:?}");
    assert!(
        init.stderr.contains("`migrations/` exists already"),
        "{init:?}"
    );
    assert!(init.stderr.contains("Nothing was written"), "{init:?}");
    assert_eq!(
        snapshot(&app),
        before,
        "init changed files although it refused"
    );
}

#[test]
fn new_rejects_a_name_that_is_not_snake_case() {
    let tmp = tempfile::tempdir().expect("temp dir");
    for name in ["AddUsers", "add-users", "2fa", "type"] {
        let new = cargo_migrate_in(tmp.path(), &["new", name]);
        assert_eq!(new.code, 2, "{name}: {new:?}");
        assert!(
            new.stderr.contains(&format!("`{name}`")) && new.stderr.contains("snake_case"),
            "{new:?}"
        );
        assert!(!new.stderr.contains("panicked"), "{new:?}");
    }
    assert!(snapshot(tmp.path()).is_empty());
}

#[test]
fn forwarding_without_a_migrations_package_says_to_run_init() {
    let (_tmp, app) = new_package();
    let status = cargo_migrate_in(&app, &["status"]);
    assert_eq!(status.code, 2, "{status:?}");
    assert!(
        status.stderr.starts_with("error: no migrations package"),
        "{status:?}"
    );
    assert!(status.stderr.contains("cargo migrate init"), "{status:?}");
    assert_eq!(status.stdout, "");

    let json = cargo_migrate_in(&app, &["status", "--format", "json"]);
    assert_eq!(json.code, 2, "{json:?}");
    assert_eq!(json.json()["error"]["exit_code"], 2);
}

#[test]
fn an_unknown_command_without_a_runner_is_a_usage_error() {
    let (_tmp, app) = new_package();
    let unknown = cargo_migrate_in(&app, &["frobnicate"]);
    assert_eq!(unknown.code, 2, "{unknown:?}");
    assert!(
        unknown
            .stderr
            .contains("unrecognized subcommand 'frobnicate'"),
        "{unknown:?}"
    );
}

#[test]
fn help_lists_every_command_and_the_exit_codes() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let help = cargo_migrate_in(tmp.path(), &["--help"]);
    assert_eq!(help.code, 0, "{help:?}");
    for line in [
        "  init ",
        "  new ",
        "  status ",
        "  apply ",
        "  rollback ",
        "Exit codes:",
        "  4  action needed",
    ] {
        assert!(
            help.stdout.contains(line),
            "`{line}` not in:\n{}",
            help.stdout
        );
    }
    // Run directly rather than through cargo: no `migrate` argument first.
    let version = Command::new(cargo_migrate())
        .arg("--version")
        .output()
        .expect("starts");
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("cargo migrate {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn completions_cover_every_command() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let r = cargo_migrate_in(dir.path(), &["completions", shell]);
        assert_eq!(r.code, 0, "{r:?}");
        for command in ["init", "new", "status", "deploy", "rollback", "restore"] {
            assert!(
                r.stdout.contains(command),
                "{shell} completions lack `{command}`"
            );
        }
    }
    let r = cargo_migrate_in(dir.path(), &["completions", "nosh"]);
    assert_eq!(r.code, 2, "{r:?}");
}
