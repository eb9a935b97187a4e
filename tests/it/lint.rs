//! The statement lint end to end: `plan` and `stage` fail on findings,
//! show allowances with their reasons, and never touch production.

use crate::bin;
use crate::support::Sandbox;

/// A sandbox with the base migration applied, so later ones alter a table
/// that has rows.
fn with_base(runner: std::path::PathBuf) -> Sandbox {
    let sb = Sandbox::with_config(runner, "");
    sb.run(&["apply", "--to", "20240801_000001"]).expect(0);
    sb
}

#[test]
fn drop_column_in_an_expand_migration_fails_plan() {
    let sb = with_base(bin!("fx-lint-drop"));
    let r = sb.run(&["plan"]);
    r.expect(1);
    assert!(
        r.stdout
            .contains("ALTER TABLE users DROP COLUMN nickname  [lock: database write lock]")
            && r.stdout
                .contains("finding [destructive-in-expand] dropping column users.nickname")
            && r.stdout.contains("phase = contract")
            && r.stdout.contains("failed: 1 lint finding"),
        "{}",
        r.stdout
    );
}

#[test]
fn plan_json_lists_statements_locks_findings_and_allowances() {
    let sb = with_base(bin!("fx-lint-drop"));
    let r = sb.run(&["plan", "--format", "json"]);
    r.expect(1);
    let doc = r.json();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["findings"], 1);
    let m = &doc["migrations"][0];
    assert_eq!(m["name"], "drop_nickname");
    assert_eq!(
        m["statements"][0]["sql"],
        "ALTER TABLE users DROP COLUMN nickname"
    );
    assert_eq!(m["statements"][0]["lock"], "database write lock");
    assert_eq!(m["statements"][0]["checked"], true);
    assert_eq!(m["findings"][0]["rule"], "destructive-in-expand");
    assert_eq!(m["findings"][0]["statement"], 0);
    assert!(
        m["findings"][0]["safe_alternative"]
            .as_str()
            .unwrap()
            .contains("contract")
    );
    assert_eq!(m["allowances"].as_array().unwrap().len(), 0);
    assert_eq!(m["fully_checked"], true);

    let sb = with_base(bin!("fx-lint-allowed"));
    let r = sb.run(&["plan", "--format", "json"]);
    r.expect(0);
    let doc = r.json();
    assert_eq!(doc["ok"], true);
    let drop = &doc["migrations"][0];
    assert_eq!(drop["findings"].as_array().unwrap().len(), 0);
    assert_eq!(drop["allowances"][0]["rule"], "destructive-in-expand");
    assert_eq!(
        drop["allowances"][0]["reason"],
        "no released version reads nickname since 2.3"
    );
    let add = &doc["migrations"][1];
    assert_eq!(add["statements"].as_array().unwrap().len(), 3);
    assert_eq!(add["findings"].as_array().unwrap().len(), 0);
}

#[test]
fn plan_shows_allowances_with_their_reasons_in_every_format() {
    let sb = with_base(bin!("fx-lint-allowed"));
    let r = sb.run(&["plan"]);
    r.expect(0);
    assert!(
        r.stdout.contains(
            "allowed [destructive-in-expand] no released version reads nickname since 2.3"
        ),
        "{}",
        r.stdout
    );
    let sql = sb.run(&["plan", "--format", "sql"]);
    sql.expect(0);
    assert!(
        sql.stdout.contains(
            "-- allowed [destructive-in-expand]: no released version reads nickname since 2.3\nALTER TABLE users DROP COLUMN nickname; -- lock: database write lock"
        ),
        "{}",
        sql.stdout
    );
}

#[test]
fn plan_sql_format_shows_findings_as_comments() {
    let sb = with_base(bin!("fx-lint-drop"));
    let r = sb.run(&["plan", "--format", "sql"]);
    r.expect(1);
    assert!(
        r.stdout
            .contains("-- finding [destructive-in-expand]: dropping column users.nickname")
            && r.stdout.contains("--   instead: keep the old object")
            && r.stdout.contains("ALTER TABLE users DROP COLUMN nickname;"),
        "{}",
        r.stdout
    );
}

#[test]
fn plan_with_findings_leaves_production_byte_for_byte_unchanged() {
    let sb = with_base(bin!("fx-lint-drop"));
    let before = std::fs::read(sb.db_path()).unwrap();
    sb.run(&["plan", "--format", "json"]).expect(1);
    sb.run(&["plan"]).expect(1);
    assert_eq!(std::fs::read(sb.db_path()).unwrap(), before);
}

#[test]
fn stage_fails_on_a_lint_finding() {
    let sb = with_base(bin!("fx-lint-drop"));
    let r = sb.run(&["stage"]);
    r.expect(1);
    assert!(
        r.all()
            .contains("lint [destructive-in-expand] in 20240801_000002 drop_nickname"),
        "{}",
        r.all()
    );
    let sb = with_base(bin!("fx-lint-allowed"));
    sb.run(&["stage", "--bless"]).expect(0);
}

/// On PostgreSQL and MariaDB, through the backend harness: `plan` captures
/// on the staging clone, fails on the DROP COLUMN, names the server's lock,
/// and leaves production as it was.
#[test]
fn drop_column_in_an_expand_migration_fails_plan_on_servers() {
    use crate::backends::{Server, mysql_db, pg_db};
    for db in [pg_db(), mysql_db()].into_iter().flatten() {
        let sb = Sandbox::new(bin!("fx-lint-drop"));
        let staging = db.sibling();
        let run = |args: &[&str]| {
            let mut c = db.cmd(&sb, &sb.runner, args);
            staging.stage_into(&mut c);
            crate::backends::run(c)
        };
        run(&["apply", "--to", "20240801_000001"]).expect(0);
        let before = db.state();
        let r = run(&["plan", "--format", "json"]);
        r.expect(1);
        let doc = r.json();
        let m = &doc["migrations"][0];
        let rules: Vec<_> = m["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap())
            .collect();
        assert!(rules.contains(&"destructive-in-expand"), "{doc}");
        let lock = m["statements"][0]["lock"].as_str().unwrap();
        match db.server {
            Server::Postgres => assert_eq!(lock, "ACCESS EXCLUSIVE"),
            Server::MySql => {
                assert!(
                    lock.starts_with("ALGORITHM=DEFAULT, LOCK=DEFAULT"),
                    "{lock}"
                );
                assert!(rules.contains(&"mysql-alter-without-algorithm"), "{doc}");
            }
        }
        assert_eq!(db.state(), before, "plan never writes production");
    }
}

/// On PostgreSQL and MariaDB: `plan` compares each type change of an
/// expand migration with the column's type on the staging clone: a
/// narrowing fails, a widening passes, a narrowing allowed with a reason is
/// listed with it, and a table created in the same migration is free.
#[test]
fn type_narrowing_in_an_expand_migration_fails_plan_on_servers() {
    use crate::backends::{mysql_db, pg_db};
    for db in [pg_db(), mysql_db()].into_iter().flatten() {
        let sb = Sandbox::new(bin!("fx-lint-narrowing"));
        let staging = db.sibling();
        let run = |args: &[&str]| {
            let mut c = db.cmd(&sb, &sb.runner, args);
            staging.stage_into(&mut c);
            crate::backends::run(c)
        };
        run(&["apply", "--to", "20240801_000001"]).expect(0);
        let before = db.state();
        let r = run(&["plan", "--format", "json"]);
        r.expect(1);
        let doc = r.json();
        let migrations = doc["migrations"].as_array().unwrap();
        let rules = |i: usize, what: &str| -> Vec<String> {
            migrations[i][what]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["rule"].as_str().unwrap().to_string())
                .collect()
        };
        let narrow = migrations[0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "type-narrowing-in-expand")
            .unwrap_or_else(|| panic!("{doc}"));
        let message = narrow["message"].as_str().unwrap();
        assert!(
            message.contains("users.email from")
                && message.contains("(255) to VARCHAR(100) narrows it"),
            "{message}"
        );
        assert!(rules(1, "findings").is_empty(), "widening: {doc}");
        assert!(rules(2, "findings").is_empty(), "allowed: {doc}");
        let allowed = &migrations[2]["allowances"];
        let narrowing = allowed
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["rule"] == "type-narrowing-in-expand")
            .unwrap_or_else(|| panic!("{doc}"));
        assert!(
            narrowing["message"]
                .as_str()
                .unwrap()
                .contains("from VARCHAR(500) to VARCHAR(300)"),
            "{narrowing}"
        );
        assert_eq!(
            narrowing["reason"],
            "no nickname is longer than 300 characters and the form caps it at 300"
        );
        assert!(rules(3, "findings").is_empty(), "new table: {doc}");
        assert_eq!(
            doc["findings"],
            migrations[0]["findings"].as_array().unwrap().len(),
            "only the narrowing migration has findings: {doc}"
        );
        assert_eq!(db.state(), before, "plan never writes production");
    }
}

#[test]
fn check_lints_the_pending_migrations_on_a_scratch_copy() {
    let sb = with_base(bin!("fx-lint-drop"));
    let before = std::fs::read(sb.db_path()).unwrap();
    let r = sb.run(&["check"]);
    r.expect(1);
    assert!(
        r.stdout
            .contains("lint: 1 pending migration, 1 statement captured on a scratch copy")
            && r.stdout
                .contains("lint [destructive-in-expand] in 20240801_000002 drop_nickname"),
        "{}",
        r.stdout
    );
    assert_eq!(std::fs::read(sb.db_path()).unwrap(), before);

    let sb = with_base(bin!("fx-lint-allowed"));
    let r = sb.run(&["check", "--format", "json"]);
    r.expect(0);
    let doc = r.json();
    let lint = &doc["lint"];
    assert_eq!(lint["findings"], 0, "{doc}");
    assert_eq!(lint["migrations"].as_array().unwrap().len(), 2, "{doc}");
    assert_eq!(
        lint["migrations"][0]["allowances"][0]["rule"],
        "destructive-in-expand"
    );
}

/// On PostgreSQL and MariaDB, `check` runs its dry run and its lint copy on
/// scratch databases it creates beside staging and drops afterwards: with a
/// failing migration, production and staging are unchanged, the scratch
/// databases are gone, and the message names where it failed without
/// advising a `repair` on a database that no longer exists.
#[test]
fn check_on_servers_leaves_no_trace_on_staging_or_production() {
    use crate::backends::{mysql_db, pg_db};
    for db in [pg_db(), mysql_db()].into_iter().flatten() {
        let sb = Sandbox::new(bin!("fx-failing"));
        let staging = db.created_sibling();
        db.run(&sb, &["apply", "--to", "20240301_000001"]).expect(0);
        staging
            .run(&sb, &["apply", "--to", "20240301_000001"])
            .expect(0);
        let (prod_before, staging_before) = (db.state(), staging.state());
        let mut c = db.cmd(&sb, &sb.runner, &["check", "--format", "json"]);
        staging.stage_into(&mut c);
        let r = crate::backends::run(c);
        r.expect(1);
        let doc = r.json();
        let problems: Vec<&str> = doc["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        let dry = problems
            .iter()
            .find(|p| p.starts_with("dry run failed on an empty scratch database"))
            .unwrap_or_else(|| panic!("{doc}"));
        assert!(
            dry.contains("20240301_000002 `fails_halfway` failed")
                && dry.contains("dropped afterwards")
                && dry.contains("Production and staging were not touched")
                && !dry.contains("repair"),
            "{dry}"
        );
        let lint = problems
            .iter()
            .find(|p| p.contains("on a scratch copy of production"))
            .unwrap_or_else(|| panic!("{doc}"));
        assert!(!lint.contains("repair"), "{lint}");
        for p in [dry, lint] {
            let name = p
                .split("database migrate_check_")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .map(|n| format!("migrate_check_{n}"))
                .unwrap_or_else(|| panic!("no scratch database named: {p}"));
            assert!(!db.server_has_database(&name), "{name} was left behind");
        }
        assert_eq!(db.state(), prod_before, "check never writes production");
        assert_eq!(
            staging.state(),
            staging_before,
            "check never writes staging"
        );
    }
}

/// On PostgreSQL and MariaDB, `check`'s dry run runs every migration on an
/// empty scratch database and counts what it captured (it used to be
/// skipped on servers, with `"statements": 0`).
#[test]
fn check_dry_runs_on_a_scratch_database_on_servers() {
    use crate::backends::{mysql_db, pg_db};
    for db in [pg_db(), mysql_db()].into_iter().flatten() {
        let sb = Sandbox::new(bin!("fx-lint-allowed"));
        let r = db.run(&sb, &["check", "--format", "json"]);
        r.expect(0);
        let doc = r.json();
        assert!(doc["statements"].as_u64().unwrap() >= 2, "{doc}");
        let dry = doc["dry_run"].as_str().unwrap();
        assert!(
            dry.starts_with("3 migrations ran on an empty scratch database (6 statements)")
                && dry.contains("dropped afterwards"),
            "{dry}"
        );
        assert_eq!(
            doc["lint"]["migrations"].as_array().unwrap().len(),
            3,
            "{doc}"
        );
    }
}
