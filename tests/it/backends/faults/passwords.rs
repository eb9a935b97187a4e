//! Passwords in URLs appear nowhere: output, files, history, child argument lists.

use super::*;

/// The command lines of every process whose command line contains `needle`.
fn command_lines_mentioning(needle: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(needle))
        .collect()
}

/// Every file under `dir`, as text.
fn files_text(dir: &Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_text(&p));
        } else if let Ok(bytes) = std::fs::read(&p) {
            out.push((p, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    out
}

/// With `url` carrying `password`: the password is in no output, error,
/// backup file or manifest, history row, or child process argument list
/// (read while the dump tool runs, held at `backup.dump_running`).
fn password_appears_nowhere(db: &TestDb, url: &str, password: &str) {
    let on = On::new(bin!("fx-faults-crash"), Some(db));
    // Every client tool the runner starts goes through a wrapper that logs
    // the argument list it was given (as the kernel has it, /proc/$$/cmdline),
    // then execs the real tool: a deterministic record however fast the tool is.
    let wrappers = tempfile::tempdir().unwrap();
    let argv_log = wrappers.path().join("argv.log");
    for tool in [
        "pg_dump",
        "pg_restore",
        "psql",
        "mariadb-dump",
        "mysqldump",
        "mariadb",
        "mysql",
    ] {
        let Some(real) = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
        else {
            continue;
        };
        let script = wrappers.path().join(tool);
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\ntr '\\000' ' ' < /proc/$$/cmdline >> '{log}'\necho >> '{log}'\nexec '{real}' \"$@\"\n",
                log = argv_log.display(),
                real = real.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
    }
    let path = std::env::join_paths(std::iter::once(wrappers.path().to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let with_url = |args: &[&str]| {
        let mut c = on.cmd(args);
        c.env("DATABASE_URL", url).env("PATH", &path);
        c
    };

    // A table locked by another session keeps the dump tool waiting (alive)
    // while its argument list is read, however fast the dump would be.
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (locked, is_locked) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn({
        let url = db.url.clone();
        let server = db.server;
        move || {
            block_on(async {
                let dburl = migrate_core::url::DbUrl::parse(&url).unwrap();
                let mut c = migrate_core::driver::connect(&dburl, &Default::default())
                    .await
                    .unwrap();
                c.execute("CREATE TABLE dump_blocker (id INTEGER)")
                    .await
                    .unwrap();
                match server {
                    Server::Postgres => {
                        c.execute("BEGIN").await.unwrap();
                        c.execute("LOCK TABLE dump_blocker IN ACCESS EXCLUSIVE MODE")
                            .await
                            .unwrap();
                    }
                    Server::MySql => {
                        c.execute("LOCK TABLES dump_blocker WRITE").await.unwrap();
                    }
                }
                locked.send(()).unwrap();
                let _ = tokio::task::spawn_blocking(move || released.recv()).await;
                let _ = c
                    .execute(match server {
                        Server::Postgres => "ROLLBACK",
                        Server::MySql => "UNLOCK TABLES",
                    })
                    .await;
                let _ = c.execute("DROP TABLE dump_blocker").await;
                c.close().await;
            })
        }
    });
    is_locked.recv().expect("the blocker holds its lock");

    let mut cmd = with_url(&["apply"]);
    cmd.env("MIGRATE_FAILPOINT", "backup.dump_running:pause")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("runner starts");
    let seen = wait_for_line(&mut child, "failpoint", Duration::from_secs(60));
    let dumps = command_lines_mentioning(&db.name)
        .into_iter()
        .filter(|c| c.contains("dump"))
        .collect::<Vec<_>>();
    let leaked = command_lines_mentioning(password);
    child.kill().expect("SIGKILL the runner");
    let _ = child.wait();
    let _ = release.send(());
    holder.join().expect("the blocker thread");
    assert!(!seen.contains(password), "{seen}");
    assert!(
        leaked.is_empty(),
        "the password is in an argument list: {leaked:?}"
    );

    let missing = {
        let (base, _) = url.rsplit_once('/').expect("a URL with a database");
        format!("{base}/{}_missing", db.name)
    };
    let mut outputs = Vec::new();
    for args in [
        &["apply"][..],
        &["status"],
        &["status", "--format", "json"],
        &["backup", "--format", "json"],
        &["backups", "--format", "json"],
        &["verify", "--format", "json"],
        &["plan"],
        &["rollback", "--steps", "1"],
        &["apply", "--format", "json"],
    ] {
        outputs.push((args.join(" "), run(with_url(args))));
    }
    for args in [&["status"][..], &["apply", "--format", "json"]] {
        let mut c = on.cmd(args);
        c.env("DATABASE_URL", &missing);
        outputs.push((format!("{} (missing database)", args.join(" ")), run(c)));
    }
    assert_eq!(outputs[0].1.code, 0, "{:?}", outputs[0]);
    assert_ne!(outputs.last().unwrap().1.code, 0, "{:?}", outputs.last());
    for (what, r) in &outputs {
        assert!(
            !r.all().contains(password),
            "`{what}` printed the password: {r:?}"
        );
    }
    let files = files_text(on.sb.path());
    assert!(
        files
            .iter()
            .any(|(p, _)| p.to_string_lossy().contains("backups")),
        "backups were written: {files:?}"
    );
    for (p, text) in &files {
        assert!(
            !text.contains(password),
            "{} holds the password",
            p.display()
        );
    }
    let argv = std::fs::read_to_string(&argv_log).unwrap_or_default();
    assert!(
        argv.lines()
            .any(|l| l.contains("dump") && l.contains(&db.name)),
        "the dump tools ran through the logging wrappers: {argv}"
    );
    assert!(
        !argv.contains(password),
        "the password is in a tool's argument list: {argv}"
    );
    let in_history = db.scalar(&format!(
        "SELECT count(*) FROM _migrate_history WHERE applied_by LIKE '%{password}%' \
         OR COALESCE(error, '') LIKE '%{password}%' OR COALESCE(failed_statement, '') LIKE '%{password}%'"
    ));
    assert_eq!(in_history, 0);
    eprintln!(
        "password on {}: absent from {} outputs, {} files, {} tool argument lists ({} seen live in /proc)",
        on.label(),
        outputs.len(),
        files.len(),
        argv.lines().count(),
        dumps.len()
    );
}

#[test]
fn password_appears_nowhere_on_postgres() {
    let Some(db) = pg_db() else { return };
    let password = format!("pw-{}", unique_name());
    // Trust authentication accepts any password.
    password_appears_nowhere(&db, &db.url_with_password(&password), &password);
}

#[test]
fn password_appears_nowhere_on_mysql() {
    let Some(db) = mysql_db() else { return };
    let password = format!("pw{}", unique_name());
    let user = format!("mu{}", &db.name[db.name.len().saturating_sub(12)..]);
    let mut setup = vec![];
    for host in ["%", "127.0.0.1", "localhost"] {
        setup.push(format!(
            "CREATE USER '{user}'@'{host}' IDENTIFIED BY '{password}'"
        ));
        setup.push(format!("GRANT ALL ON `{}`.* TO '{user}'@'{host}'", db.name));
        setup.push(format!("GRANT PROCESS, RELOAD ON *.* TO '{user}'@'{host}'"));
        setup.push(format!("GRANT SELECT ON mysql.* TO '{user}'@'{host}'"));
    }
    block_on(async {
        let mut c = db.connect().await;
        for sql in &setup {
            c.execute(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        c.close().await;
    });
    let url = db
        .url
        .replacen("://root@", &format!("://{user}:{password}@"), 1);
    assert_ne!(url, db.url, "the test server URL names root: {}", db.url);
    let result = std::panic::catch_unwind(|| password_appears_nowhere(&db, &url, &password));
    block_on(async {
        let mut c = db.connect().await;
        for host in ["%", "127.0.0.1", "localhost"] {
            let _ = c.execute(&format!("DROP USER '{user}'@'{host}'")).await;
        }
        c.close().await;
    });
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}
