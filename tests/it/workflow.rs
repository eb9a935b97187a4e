//! The `cargo migrate` workflow on SQLite through the real binaries: deploy,
//! backup and restore, health-check rollback, irreversible steps, bad input,
//! and JSON output.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::bin;
use crate::support::{Sandbox, block_on};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn backup_files(sb: &Sandbox) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(sb.backup_dir())
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Runs `deploy-example.sh <args>` (a deploy of `examples/shop`) on SQLite
/// databases in `tmp`: exit code, stdout, stderr.
fn deploy_example(tmp: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let o = std::process::Command::new(root.join("deploy-example.sh"))
        .args(args)
        .envs(example_env(tmp))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The environment that points the shop example at databases in `tmp`.
fn example_env(tmp: &Path) -> Vec<(&'static str, String)> {
    vec![
        (
            "DATABASE_URL",
            format!("sqlite://{}/shop.db", tmp.display()),
        ),
        (
            "STAGING_DATABASE_URL",
            format!("sqlite://{}/staging.db", tmp.display()),
        ),
        (
            "MIGRATE_BACKUP_DIR",
            tmp.join("backups").display().to_string(),
        ),
        ("NO_COLOR", "1".to_string()),
    ]
}

#[test]
fn readme_command_deploys_the_example_then_has_nothing_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let run = || deploy_example(tmp.path(), &[]);
    let (code, out, err) = run();
    assert_eq!(code, Some(0), "{out}\n{err}");
    let backup_line = out
        .lines()
        .find(|l| l.starts_with("backup "))
        .unwrap_or_else(|| panic!("no backup line:\n{out}"));
    assert!(
        backup_line.contains("verified") && backup_line.contains('T') && backup_line.contains("Z"),
        "{backup_line}"
    );
    let applied: Vec<_> = out.lines().filter(|l| l.starts_with("apply ")).collect();
    assert!(applied.len() >= 6, "{out}");
    assert!(
        applied
            .iter()
            .all(|l| l.contains(" ms") || l.contains(" s ")),
        "durations: {out}"
    );
    assert!(
        out.contains("verify") && out.contains("health:"),
        "verify results: {out}"
    );
    assert!(out.contains("deployed"), "{out}");
    assert!(
        tmp.path()
            .join("backups")
            .read_dir()
            .unwrap()
            .next()
            .is_some()
    );

    let (code, out, err) = run();
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("nothing to deploy"), "{out}");
    assert!(!out.lines().any(|l| l.starts_with("apply ")), "{out}");
}

/// The shop's `drop_customers_name` (`phase = contract`) waits for
/// `deploy --phase contract`, and `status` says so meanwhile.
#[test]
fn the_example_holds_its_contract_migration_back_until_phase_contract() {
    let tmp = tempfile::tempdir().unwrap();
    let held = "held back: 20250115_000000 drop_customers_name is a contract migration";
    let (code, out, err) = deploy_example(tmp.path(), &[]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("apply     20250108_000000"), "{out}");
    assert!(!out.contains("apply     20250115_000000"), "{out}");
    assert!(out.contains(held), "{out}");

    let (code, out, err) = deploy_example(tmp.path(), &[]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(
        out.contains("nothing to deploy")
            && out.contains("but for the contract migration held back below"),
        "{out}"
    );
    assert!(out.contains(held), "{out}");

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let status = || {
        let o = std::process::Command::new(root.join("target/debug/cargo-migrate"))
            .args(["migrate", "status"])
            .current_dir(root.join("examples/shop"))
            .envs(example_env(tmp.path()))
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    let (_, out) = status();
    let line = out
        .lines()
        .find(|l| l.contains("drop_customers_name"))
        .unwrap_or_else(|| panic!("no drop_customers_name in status:\n{out}"));
    assert!(line.contains("held back"), "{out}");
    assert!(
        out.contains("1 held back. Deploy them with `--phase contract`"),
        "status says how to deploy what it holds back, not `apply`: {out}"
    );

    let (code, out, err) = deploy_example(tmp.path(), &["--phase", "contract"]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    let applied: Vec<_> = out.lines().filter(|l| l.starts_with("apply ")).collect();
    assert_eq!(applied.len(), 1, "{out}");
    assert!(
        applied[0].contains("20250115_000000  drop_customers_name"),
        "{out}"
    );
    assert!(out.contains("deployed 1 migration "), "{out}");
    assert!(!out.contains("held back:"), "{out}");

    let (code, out) = status();
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("held back"), "{out}");
}

#[test]
fn backup_then_restore_gives_back_the_same_rows() {
    let sb = Sandbox::with_config(bin!("fx-shop"), "");
    sb.run(&["apply"]).expect(0);
    let r = sb.run(&["backup", "--format", "json"]);
    r.expect(0);
    let doc = r.json();
    let id = doc["backup"]["id"].as_str().unwrap().to_string();
    assert!(
        doc["backup"]["verification"]
            .as_str()
            .unwrap()
            .contains("integrity_check ok")
    );
    for f in backup_files(&sb) {
        assert_eq!(mode(&f), 0o600, "{} must be owner-only", f.display());
    }
    let original = block_on(sb.state());
    // Change production after the backup; the restore must give the old rows back.
    block_on(async {
        use sqlx::Executor;
        sb.connect()
            .await
            .execute("DELETE FROM users")
            .await
            .unwrap();
    });
    let r = sb.run(&["restore", &id, "--format", "json"]);
    r.expect(0);
    let into = r.json()["restored_into"]
        .as_str()
        .unwrap()
        .trim_start_matches("sqlite://")
        .to_string();
    assert_eq!(block_on(sb.state_of(Path::new(&into))), original);
    assert_eq!(mode(Path::new(&into)), 0o600);
    let r = sb.run(&["restore", &id, "--into", &format!("sqlite://{into}")]);
    r.expect(4);
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
    sb.run(&["restore", &id, "--into", &sb.url(), "--force"])
        .expect(0);
    assert_eq!(block_on(sb.state()), original);
}

/// Backs up the databases `urls` (already migrated) from the one project
/// of `sb`, whose `Migrate.toml` says `[backup] keep = 2`, three times each,
/// in turn: each keeps its own two newest backups, the listing says which
/// database each is of, and a backup restores by its id.
pub(crate) fn each_database_keeps_its_own_newest_backups(sb: &Sandbox, urls: [&str; 2]) {
    let run = |url: &str, args: &[&str]| sb.run_with_env(args, &[("DATABASE_URL", url)]);
    // Per database: its identity, and each backup's (time taken, id).
    // Ids are only unique among the backups present: a pruned one's may come back.
    let mut taken: [(serde_json::Value, Vec<(String, String)>); 2] = Default::default();
    for _ in 0..3 {
        for (i, url) in urls.iter().enumerate() {
            let r = run(url, &["backup", "--format", "json"]);
            r.expect(0);
            let m = &r.json()["backup"];
            assert!(m["database_id"].is_string(), "{m}");
            taken[i].0 = m["database_id"].clone();
            taken[i].1.push((
                m["created_at"].as_str().unwrap().to_string(),
                m["id"].as_str().unwrap().to_string(),
            ));
        }
    }
    assert_ne!(taken[0].0, taken[1].0, "two databases, two identities");
    let listing = run(urls[0], &["backups", "--format", "json"]);
    listing.expect(0);
    let doc = listing.json();
    let backups = doc["backups"].as_array().unwrap();
    assert_eq!(backups.len(), 4, "{doc:#}");
    for (i, url) in urls.iter().enumerate() {
        let kept: Vec<(String, String)> = backups
            .iter()
            .filter(|b| b["database_id"] == taken[i].0)
            .map(|b| {
                (
                    b["created_at"].as_str().unwrap().to_string(),
                    b["id"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            kept,
            taken[i].1[1..],
            "{url} keeps its own two newest: {doc:#}"
        );
        let marked = backups.iter().filter(|b| b["current_database"] == (i == 0));
        assert_eq!(marked.count(), 2, "{doc:#}");
    }
    let human = run(urls[1], &["backups"]);
    human.expect(0);
    assert_eq!(
        human.stdout.matches("(this database)").count(),
        2,
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains("2 databases share") && human.stdout.contains("keep = 2"),
        "{}",
        human.stdout
    );
    run(urls[0], &["restore", &taken[0].1[2].1, "--format", "json"]).expect(0);
}

#[test]
fn two_sqlite_databases_of_one_project_keep_their_own_backups() {
    let sb = Sandbox::with_config(bin!("fx-shop"), "keep = 2\n");
    let other = format!("sqlite://{}", sb.path().join("other.db").display());
    sb.run(&["apply"]).expect(0);
    sb.run_with_env(&["apply"], &[("DATABASE_URL", &other)])
        .expect(0);
    each_database_keeps_its_own_newest_backups(&sb, [&sb.url(), &other]);
}

#[test]
fn a_backup_killed_while_writing_its_manifest_is_not_listed_and_the_next_one_works() {
    let sb = Sandbox::with_config(bin!("fx-shop"), "");
    sb.run(&["apply"]).expect(0);
    let listed = || {
        sb.run(&["backups", "--format", "json"]).json()["backups"]
            .as_array()
            .map_or(0, Vec::len)
    };
    let before = listed();
    sb.kill_at("backup.writing_manifest", &["backup"]);
    assert_eq!(listed(), before, "a dump without its manifest is no backup");
    // Usually within the same second as the killed one, whose files are still there.
    sb.run(&["backup"]).expect(0);
    assert_eq!(listed(), before + 1);
}

#[test]
fn backup_file_is_owner_only_while_being_written() {
    let sb = Sandbox::with_config(bin!("fx-shop"), "");
    sb.run(&["apply"]).expect(0);
    let before = backup_files(&sb);
    sb.kill_at("backup.after_copy", &["backup"]);
    let partial: Vec<_> = backup_files(&sb)
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    assert_eq!(partial.len(), 1, "{partial:?}");
    assert!(
        partial[0]
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .ends_with(".partial")
    );
    assert_eq!(mode(&partial[0]), 0o600);
    let r = sb.run(&["backups", "--format", "json"]);
    assert_eq!(
        r.json()["backups"].as_array().unwrap().len(),
        before
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .count(),
        "an unfinished backup is not listed"
    );
    assert_eq!(
        sb.run(&["status", "--format", "json"]).json()["lock"]["lock"],
        "free"
    );
    sb.run(&["backup"]).expect(0);
}

#[test]
fn apply_refuses_when_the_backup_folder_cannot_be_written() {
    let sb = Sandbox::new(bin!("fx-shop"));
    sb.run(&["apply", "--to", "20240101_000001"]).expect(0);
    std::fs::write(sb.path().join("afile"), "not a folder").unwrap();
    let before = block_on(sb.state());
    let r = sb.run_with_env(
        &["apply"],
        &[(
            "MIGRATE_BACKUP_DIR",
            sb.path().join("afile/backups").to_str().unwrap(),
        )],
    );
    r.expect(4);
    assert!(
        r.stderr.contains("backup folder") && r.stderr.contains("not touched"),
        "{}",
        r.stderr
    );
    assert_eq!(block_on(sb.state()), before);
}

#[test]
fn failing_health_check_rolls_the_deploy_back() {
    let sb = Sandbox::with_config(bin!("fx-health"), "");
    sb.run(&["apply", "--to", "20240601_000001"]).expect(0);
    let before = block_on(sb.state());
    let r = sb.run(&["deploy"]);
    r.expect(1);
    assert!(
        r.stdout.contains("health:no_flag_column") && r.stdout.contains("FAIL"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("health:rows_have_values"),
        "passing checks are listed: {}",
        r.stdout
    );
    assert!(
        r.stdout.contains("rollback") && r.stdout.contains("1 migration undone"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("deploy failed: verify failed: health:no_flag_column"),
        "{}",
        r.stdout
    );
    assert_eq!(
        block_on(sb.state()),
        before,
        "schema, data and history as before the deploy"
    );
    let reports: Vec<_> = backup_files(&sb)
        .into_iter()
        .filter(|p| p.to_str().unwrap().ends_with(".deploy.json"))
        .collect();
    assert_eq!(reports.len(), 1);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&reports[0]).unwrap()).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["recovery"]["rolled_back"][0]["name"], "add_flag");
}

#[test]
fn rollback_across_an_irreversible_migration_prints_a_restore_command_that_works() {
    let sb = Sandbox::with_config(bin!("fx-shop"), "");
    sb.run(&["apply", "--to", "20240101_000001"]).expect(0);
    let before_deploy = block_on(sb.state());
    sb.run(&["deploy"]).expect(0);
    let r = sb.run(&["rollback", "--steps", "3"]);
    r.expect(4);
    let cmd = r
        .stderr
        .split('`')
        .find(|s| s.starts_with("cargo migrate") && s.contains(" restore "))
        .unwrap_or_else(|| panic!("no restore command in: {}", r.stderr))
        .to_string();
    assert!(cmd.contains("--force") && cmd.contains(&sb.url()), "{cmd}");
    let args: Vec<&str> = cmd
        .trim_start_matches("cargo migrate")
        .split_whitespace()
        .collect();
    sb.run(&args).expect(0);
    assert_eq!(block_on(sb.state()), before_deploy);
    let r = sb.run(&["status", "--format", "json"]);
    assert_eq!(r.json()["summary"]["pending"], 3);
}

#[test]
fn bad_inputs_fail_clearly_and_change_nothing() {
    let sb = Sandbox::with_config(bin!("fx-shop"), "");
    sb.run(&["apply", "--to", "20240101_000003"]).expect(0);
    let before = block_on(sb.state());
    let check = |r: &crate::support::Run, code: i32, needle: &str| {
        r.expect(code);
        assert!(
            r.all().contains(needle),
            "expected `{needle}` in:\n{}",
            r.all()
        );
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    };

    check(
        &sb.run(&["--config", "missing.toml", "status"]),
        2,
        "--config",
    );
    std::fs::write(sb.path().join("broken.toml"), "[database\nurl = 1").unwrap();
    check(&sb.run(&["--config", "broken.toml", "status"]), 2, "line");
    std::fs::write(
        sb.path().join("typo.toml"),
        "[apply]\nlock_timout = \"2s\"\n",
    )
    .unwrap();
    check(
        &sb.run(&["--config", "typo.toml", "apply"]),
        2,
        "did you mean `lock_timeout`",
    );
    check(
        &sb.run_with_env(&["apply"], &[("DATABASE_URL", "oracle://db/x")]),
        2,
        "unknown scheme",
    );
    std::fs::write(sb.path().join("afile"), "x").unwrap();
    let uncreatable = format!("sqlite://{}/afile/sub/app.db", sb.path().display());
    check(
        &sb.run_with_env(&["apply"], &[("DATABASE_URL", &uncreatable)]),
        2,
        "cannot create the folder",
    );
    check(&sb.run(&["frobnicate"]), 2, "unrecognized subcommand");
    check(
        &sb.run(&["rollback", "--to", "20991231_000000"]),
        4,
        "not applied",
    );
    check(
        &sb.run(&["apply", "--to", "not-a-version"]),
        2,
        "is not a version",
    );

    let started = Instant::now();
    let r = sb.run_with_env(
        &["apply"],
        &[("DATABASE_URL", "postgres://app:s3cr3t-pw@127.0.0.1:1/shop")],
    );
    check(&r, 3, "cannot connect");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "unreachable server answered in {:?}",
        started.elapsed()
    );
    assert!(
        !r.all().contains("s3cr3t-pw"),
        "password leaked: {}",
        r.all()
    );

    assert_eq!(
        block_on(sb.state()),
        before,
        "no bad input changed the database"
    );
}

#[test]
fn json_output_is_one_document_for_every_workflow_command() {
    let sb = Sandbox::with_config(bin!("fx-shop"), "");
    for args in [
        &["status", "--format", "json"][..],
        &["plan", "--format", "json"],
        &["stage", "--format", "json"],
        &["apply", "--to", "20240101_000001", "--format", "json"],
        &["deploy", "--format", "json"],
        &["verify", "--format", "json"],
        &["backups", "--format", "json"],
        &["check", "--format", "json"],
    ] {
        let r = sb.run(args);
        let doc = r.json();
        assert!(doc.is_object(), "{args:?}: {doc}");
        assert!(r.code == 0 || r.code == 4, "{args:?}: {r:?}");
    }
    let r = sb.run(&["deploy", "--format", "json"]);
    assert_eq!(r.json()["ok"], true);
}

#[test]
fn plan_and_stage_never_touch_production() {
    let sb = Sandbox::with_config(bin!("fx-shop"), "");
    sb.run(&["apply", "--to", "20240101_000001"]).expect(0);
    let bytes = std::fs::read(sb.db_path()).unwrap();
    let r = sb.run(&["plan", "--format", "json"]);
    r.expect(0);
    let doc = r.json();
    assert_eq!(doc["migrations"].as_array().unwrap().len(), 3);
    assert_eq!(
        doc["migrations"][2]["statements"][0]["sql"],
        "CREATE INDEX orders_user_idx ON orders (user_id)"
    );
    let sql = sb.run(&["plan", "--format", "sql"]);
    assert!(sql.stdout.contains("-- 20240101_000004 index_orders_user\nCREATE INDEX orders_user_idx ON orders (user_id);"), "{}", sql.stdout);
    let r = sb.run(&["stage"]);
    r.expect(0);
    assert!(
        r.stdout.contains("round trip ok") && r.stdout.contains("+   index orders_user_idx"),
        "{}",
        r.stdout
    );
    assert_eq!(
        std::fs::read(sb.db_path()).unwrap(),
        bytes,
        "production is byte-for-byte unchanged"
    );
}

#[test]
fn rust_log_shows_lock_waits_and_statement_durations() {
    let sb = Sandbox::new(bin!("fx-shop"));
    let mut holder = sb.cmd_with(&sb.runner, &["apply", "--to", "20240101_000001"]);
    holder
        .env("MIGRATE_FAILPOINT", "lock.after:sleep(800)")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut holder = holder.spawn().unwrap();
    crate::support::wait_for_line(&mut holder, "failpoint lock.after", Duration::from_secs(30));
    let r = sb.run_with_env(&["apply"], &[("RUST_LOG", "migrate=debug")]);
    r.expect(0);
    assert!(holder.wait().unwrap().success());
    assert!(
        r.stderr.contains("taking the migrator lock"),
        "{}",
        r.stderr
    );
    let waited: u64 = r
        .stderr
        .lines()
        .find(|l| l.contains("migrator lock acquired"))
        .and_then(|l| l.split("waited_ms=").nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no lock wait logged: {}", r.stderr));
    assert!(
        waited >= 100,
        "the lock wait is logged with its duration ({waited} ms)"
    );
    assert!(
        r.stderr.contains("statement done duration_ms=")
            && r.stderr.contains("sql=CREATE TABLE orders"),
        "{}",
        r.stderr
    );
    // Without RUST_LOG nothing is logged.
    let quiet = sb.run(&["status"]);
    assert!(!quiet.stderr.contains("migrate::"), "{}", quiet.stderr);
}
