//! Large backups restored identically, and a failing dump tool refused.

use super::*;

/// `SELECT` 1..=n as `i`, from digits cross-joined (portable, no recursion limit).
fn numbers(n: u32) -> String {
    let digits = "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 \
                  UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)";
    format!(
        "SELECT i FROM (SELECT d1.d + 10 * d2.d + 100 * d3.d + 1000 * d4.d + 10000 * d5.d + 1 AS i \
         FROM {digits} d1, {digits} d2, {digits} d3, {digits} d4, {digits} d5) n WHERE i <= {n}"
    )
}

/// Per table: its row count and a checksum of every row in id order.
fn checksums(db: &TestDb, tables: &[&str]) -> Vec<(String, i64, String)> {
    block_on(async {
        let mut c = db.connect().await;
        if db.server == Server::MySql {
            c.execute("SET SESSION group_concat_max_len = 1073741824")
                .await
                .unwrap();
        }
        let mut out = Vec::new();
        for t in tables {
            let sum = match db.server {
                Server::Postgres => {
                    format!("SELECT md5(string_agg(x::text, ',' ORDER BY id)) FROM {t} x")
                }
                Server::MySql => format!(
                    "SELECT MD5(GROUP_CONCAT(CONCAT_WS('|', id, COALESCE(s, 'NULL'), COALESCE(n, 'NULL'), COALESCE(f, 'NULL')) ORDER BY id SEPARATOR ',')) FROM {t}"
                ),
            };
            let sum = c.fetch_strings(&sum).await.unwrap().remove(0);
            let n = c
                .fetch_optional_i64(&format!("SELECT count(*) FROM {t}"))
                .await
                .unwrap()
                .unwrap();
            out.push((t.to_string(), n, sum));
        }
        c.close().await;
        out
    })
}

/// 100,000 rows in three tables (quotes, NULLs, non-ASCII text, floats)
/// come back from a backup with the same counts and checksums.
fn backup_of_100k_rows_restores_identically(db: &TestDb) {
    let on = On::new(bin!("fx-faults-crash"), Some(db));
    let tables = [("big_a", 50_000), ("big_b", 30_000), ("big_c", 20_000)];
    block_on(async {
        let mut c = db.connect().await;
        for (t, n) in tables {
            c.execute(&format!(
                "CREATE TABLE {t} (id INTEGER PRIMARY KEY, s VARCHAR(100), n BIGINT, f DOUBLE PRECISION)"
            ))
            .await
            .unwrap();
            c.execute(&format!(
                "INSERT INTO {t} (id, s, n, f) SELECT i, \
                 CASE WHEN i % 11 = 0 THEN NULL ELSE CONCAT('row ', i, ' it''s \"q\" é,|;') END, \
                 CASE WHEN i % 7 = 0 THEN NULL ELSE i * 1000003.0 END, i / 7.0 FROM ({}) s",
                numbers(n)
            ))
            .await
            .unwrap();
        }
        c.close().await;
    });
    let names: Vec<&str> = tables.iter().map(|(t, _)| *t).collect();
    let before = checksums(db, &names);
    assert_eq!(before.iter().map(|(_, n, _)| n).sum::<i64>(), 100_000);

    let started = Instant::now();
    let r = on.run(&["backup", "--format", "json"]);
    r.expect(0);
    let backup_took = started.elapsed();
    let id = r.json()["backup"]["id"].as_str().expect("id").to_string();
    let into = db.sibling();
    let started = Instant::now();
    on.run(&["restore", &id, "--into", &into.url]).expect(0);
    eprintln!(
        "100k rows on {}: backup {:.1} s, restore {:.1} s",
        on.label(),
        backup_took.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(checksums(&into, &names), before);
    assert_eq!(into.row_counts(), db.row_counts());
}

#[test]
fn backup_of_100k_rows_restores_identically_on_postgres() {
    let Some(db) = pg_db() else { return };
    backup_of_100k_rows_restores_identically(&db);
}

#[test]
fn backup_of_100k_rows_restores_identically_on_mysql() {
    let Some(db) = mysql_db() else { return };
    backup_of_100k_rows_restores_identically(&db);
}

/// A folder of dump tools that fail (`--version` still answers), to put
/// first on `PATH`.
#[cfg(unix)]
fn broken_dump_tools() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    for tool in ["pg_dump", "mariadb-dump", "mysqldump"] {
        let path = dir.path().join(tool);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\ncase \"$1\" in --version) echo '{tool} (fake) 99.0'; exit 0;; esac\n\
                 echo 'partial dump' >&1\necho '{tool}: error: simulated failure' >&2\nexit 1\n"
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

/// With a dump tool that fails, `apply` refuses (exit 4) naming it, and
/// the database is untouched.
#[cfg(unix)]
fn apply_refuses_when_the_dump_tool_fails(db: &TestDb, tool: &str) {
    let on = On::new(bin!("fx-faults-crash"), Some(db));
    let fake = broken_dump_tools();
    let path = std::env::join_paths(std::iter::once(fake.path().to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let mut c = on.cmd(&["apply"]);
    c.env("PATH", &path);
    let r = run(c);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains(tool), "names {tool}: {}", r.stderr);
    let mut c = on.cmd(&["apply", "--format", "json"]);
    c.env("PATH", &path);
    let r = run(c);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains(tool),
        "{r:?}"
    );
    assert!(!on.has_table("t") && !on.has_table("u"), "untouched");
    let (states, lock) = on.status();
    assert_eq!(states, ["pending"; 3]);
    assert_eq!(lock, "free");
    assert_eq!(on.backups(), 0, "no backup counts");
    on.run(&["apply"]).expect(0);
}

#[cfg(unix)]
#[test]
fn apply_refuses_when_the_dump_tool_fails_on_postgres() {
    let Some(db) = pg_db() else { return };
    apply_refuses_when_the_dump_tool_fails(&db, "pg_dump");
}

#[cfg(unix)]
#[test]
fn apply_refuses_when_the_dump_tool_fails_on_mysql() {
    let Some(db) = mysql_db() else { return };
    apply_refuses_when_the_dump_tool_fails(&db, "mariadb-dump");
}
