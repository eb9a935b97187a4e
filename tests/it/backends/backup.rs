//! Backups and restores with the servers' dump tools: verified, owner-only,
//! restorable into a new database, the password kept out of sight, and the
//! tools dying with the runner.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use migrate_core::driver::{self, ConnectOptions};
use migrate_core::url::DbUrl;

use super::{TestDb, eventually, mysql_db, pg_db, run, scalar_at, unique_name};
use crate::bin;
use crate::support::{Run, Sandbox, block_on};

/// Process ids whose command line contains `needle`.
fn processes_mentioning(needle: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
        })
        .collect()
}

fn backup_then_restore_gives_the_same_rows(db: &TestDb) {
    let sb = Sandbox::new(bin!("fx-shop"));
    assert_eq!(db.run(&sb, &["apply"]).code, 0);
    let r = db.run(&sb, &["backup", "--format", "json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let doc = r.json();
    let id = doc["backup"]["id"].as_str().expect("backup id").to_string();
    let file = sb
        .path()
        .join("backups")
        .join(doc["backup"]["file"].as_str().expect("backup file"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file)
            .expect("backup file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "backups are owner-only");
    }
    assert!(
        !doc["backup"]["verification"]
            .as_str()
            .unwrap_or("")
            .is_empty()
    );

    let into = db.sibling();
    let r = db.run(&sb, &["restore", &id, "--into", &into.url]);
    assert_eq!(r.code, 0, "{r:?}");
    let counts = db.row_counts();
    assert!(
        counts.iter().any(|(t, n)| t == "users" && *n == 2),
        "{counts:?}"
    );
    assert_eq!(into.row_counts(), counts, "every table has the same rows");
    assert_eq!(into.schema(), db.schema(), "and the same schema");

    let r = db.run(&sb, &["restore", &id, "--into", &into.url]);
    assert_eq!(r.code, 4, "an existing target needs --force: {r:?}");
    assert!(
        r.stderr.contains("--force") && r.stderr.contains("Nothing was changed"),
        "{}",
        r.stderr
    );
    block_on(async {
        let mut c = into.connect().await;
        c.execute("DELETE FROM users").await.expect("delete");
        c.close().await;
    });
    let r = db.run(&sb, &["restore", &id, "--into", &into.url, "--force"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        into.row_counts(),
        counts,
        "--force replaced the changed copy"
    );
}

#[test]
fn backup_then_restore_gives_the_same_rows_on_postgres() {
    let Some(db) = pg_db() else { return };
    backup_then_restore_gives_the_same_rows(&db);
}

#[test]
fn backup_then_restore_gives_the_same_rows_on_mysql() {
    let Some(db) = mysql_db() else { return };
    backup_then_restore_gives_the_same_rows(&db);
}

/// Trust authentication accepts any password: the check is that it appears
/// nowhere, including the dump tool's argument list while it runs (held up
/// by a table lock so there is time to look) and the runner's output.
#[test]
fn backup_keeps_the_password_out_of_output_and_arguments_and_its_tool_dies_with_the_runner_on_postgres()
 {
    let Some(db) = pg_db() else { return };
    let sb = Sandbox::new(bin!("fx-shop"));
    assert_eq!(db.run(&sb, &["apply"]).code, 0);
    let password = format!("pw-{}", unique_name());
    let url = db.url_with_password(&password);

    let r = run({
        let mut c = db.cmd(&sb, &sb.runner, &["backup", "--format", "json"]);
        c.env("DATABASE_URL", &url);
        c
    });
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.all().contains(&password), "{r:?}");
    let manifests: Vec<String> = std::fs::read_dir(sb.path().join("backups"))
        .expect("backup folder")
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect();
    assert!(!manifests.is_empty() && manifests.iter().all(|m| !m.contains(&password)));

    // An open transaction holding ACCESS EXCLUSIVE on users makes pg_dump wait.
    let (release, released) = std::sync::mpsc::channel::<()>();
    let blocker = std::thread::spawn({
        let url = db.url.clone();
        move || {
            block_on(async {
                let mut c =
                    driver::connect(&DbUrl::parse(&url).unwrap(), &ConnectOptions::default())
                        .await
                        .unwrap();
                c.begin().await.unwrap();
                c.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
                    .await
                    .unwrap();
                let _ = released.recv_timeout(Duration::from_secs(60));
                let _ = c.rollback().await;
                c.close().await;
            })
        }
    });
    let backups = || {
        db.run(&sb, &["backups", "--format", "json"]).json()["backups"]
            .as_array()
            .map(Vec::len)
    };
    let before = backups();
    let mut cmd = db.cmd(&sb, &sb.runner, &["backup"]);
    cmd.env("DATABASE_URL", &url)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut runner = cmd.spawn().expect("runner starts");
    let waiting_sql = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' AND wait_event_type = 'Lock'",
        db.name
    );
    let waiting = eventually(Duration::from_secs(15), || {
        scalar_at(&db.admin_url, &waiting_sql) > 0
    });
    let dumps = processes_mentioning(&format!("dbname='{}'", db.name));
    let leaked = processes_mentioning(&password);
    runner.kill().expect("SIGKILL the runner");
    let _ = runner.wait();
    assert!(waiting, "pg_dump never waited on the lock");
    assert!(
        !dumps.is_empty(),
        "pg_dump is running while the runner lives"
    );
    assert!(
        leaked.is_empty(),
        "the password is in an argument list: {leaked:?}"
    );
    let gone = eventually(Duration::from_secs(5), || {
        dumps
            .iter()
            .all(|pid| !Path::new(&format!("/proc/{pid}")).exists())
    });
    let _ = release.send(());
    blocker.join().expect("blocker");
    assert!(gone, "pg_dump {dumps:?} outlived the killed runner");
    assert_eq!(backups(), before, "the killed backup does not count");
}

#[test]
fn two_databases_of_one_project_keep_their_own_backups_on_postgres() {
    let Some(db) = pg_db() else { return };
    let other = db.created_sibling();
    let sb = Sandbox::with_config(bin!("fx-shop"), "keep = 2\n");
    db.run(&sb, &["apply"]).expect(0);
    other.run(&sb, &["apply"]).expect(0);
    crate::workflow::each_database_keeps_its_own_newest_backups(&sb, [&db.url, &other.url]);
}

#[test]
fn two_databases_of_one_project_keep_their_own_backups_on_mysql() {
    let Some(db) = mysql_db() else { return };
    let other = db.created_sibling();
    let sb = Sandbox::with_config(bin!("fx-shop"), "keep = 2\n");
    db.run(&sb, &["apply"]).expect(0);
    other.run(&sb, &["apply"]).expect(0);
    crate::workflow::each_database_keeps_its_own_newest_backups(&sb, [&db.url, &other.url]);
}

/// Runs `backup` with `PATH` set to `path` (the runner is started by its full path).
fn backup_with_path(db: &TestDb, sb: &Sandbox, path: &Path) -> Run {
    let mut c = db.cmd(sb, &sb.runner, &["backup", "--format", "json"]);
    c.env("PATH", path);
    run(c)
}

fn backup_names_a_missing_dump_tool(db: &TestDb, tool: &str) {
    let sb = Sandbox::new(bin!("fx-shop"));
    assert_eq!(db.run(&sb, &["apply"]).code, 0);
    let empty = tempfile::tempdir().expect("temp dir");
    let r = backup_with_path(db, &sb, empty.path());
    assert_eq!(r.code, 4, "a backup that cannot be taken is refused: {r:?}");
    let err = r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(err.contains(tool) && err.contains("installed"), "{err}");
}

#[test]
fn backup_names_a_missing_dump_tool_on_postgres() {
    let Some(db) = pg_db() else { return };
    backup_names_a_missing_dump_tool(&db, "`pg_dump`");
}

#[test]
fn backup_names_a_missing_dump_tool_on_mysql() {
    let Some(db) = mysql_db() else { return };
    backup_names_a_missing_dump_tool(&db, "`mariadb-dump` nor `mysqldump`");
}

/// Where only the MySQL-named tools exist, they are used.
#[cfg(unix)]
#[test]
fn backup_and_restore_fall_back_to_mysqldump_and_mysql_on_mysql() {
    let Some(db) = mysql_db() else { return };
    let (Some(dump), Some(client)) = (which("mariadb-dump"), which("mariadb")) else {
        eprintln!("note: skipping: mariadb-dump / mariadb are not installed");
        return;
    };
    let sb = Sandbox::new(bin!("fx-shop"));
    assert_eq!(db.run(&sb, &["apply"]).code, 0);
    let tools = tempfile::tempdir().expect("temp dir");
    std::os::unix::fs::symlink(dump, tools.path().join("mysqldump")).unwrap();
    std::os::unix::fs::symlink(client, tools.path().join("mysql")).unwrap();
    let r = backup_with_path(&db, &sb, tools.path());
    assert_eq!(r.code, 0, "{r:?}");
    let doc = r.json();
    assert!(
        doc["backup"]["verification"]
            .as_str()
            .unwrap_or_default()
            .starts_with("mysqldump:"),
        "{doc}"
    );
    let into = db.sibling();
    let mut c = db.cmd(
        &sb,
        &sb.runner,
        &[
            "restore",
            doc["backup"]["id"].as_str().unwrap(),
            "--into",
            &into.url,
        ],
    );
    c.env("PATH", tools.path());
    let r = run(c);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(into.row_counts(), db.row_counts());
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
