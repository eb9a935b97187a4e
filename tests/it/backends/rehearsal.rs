//! The staging rehearsal on PostgreSQL and MariaDB: application queries,
//! round trips, time budget, schema snapshot, the apply gate, production
//! left alone, and JSON output (the SQLite side is tests/it/staging.rs).

use super::{TestDb, mysql_db, pg_db};
use crate::bin;
use crate::support::{Run, Sandbox};

/// A sandbox whose production is `db` and whose staging is a sibling database.
struct Rehearsal {
    sb: Sandbox,
    prod: TestDb,
    staging: TestDb,
}

impl Rehearsal {
    fn new(prod: TestDb, runner: std::path::PathBuf, queries: Option<&str>) -> Rehearsal {
        let sb = Sandbox::with_config(runner, "[verify]\nqueries = [\"queries/*.sql\"]\n");
        if let Some(sql) = queries {
            std::fs::create_dir_all(sb.path().join("queries")).unwrap();
            std::fs::write(sb.path().join("queries/customers.sql"), sql).unwrap();
        }
        let staging = prod.sibling();
        Rehearsal { sb, prod, staging }
    }

    fn run_with(&self, runner: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut c = self.prod.cmd(&self.sb, runner, args);
        c.env("STAGING_DATABASE_URL", &self.staging.url);
        for (k, v) in env {
            c.env(k, v);
        }
        let o = c.output().expect("runner starts");
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with(&self.sb.runner, args, &[])
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.run_with(&self.sb.runner, args, env)
    }

    /// Production's schema and row counts: what `stage` must never change.
    fn production(&self) -> (Vec<String>, Vec<(String, i64)>) {
        (self.prod.schema(), self.prod.row_counts())
    }
}

fn renaming_a_column_the_app_reads_fails_stage(make: fn() -> Option<TestDb>, message: &str) {
    let Some(db) = make() else { return };
    let r = Rehearsal::new(
        db,
        bin!("fx-rename"),
        Some("SELECT id, email, name FROM customers WHERE id = ?;\n"),
    );
    r.run(&["apply", "--to", "20240701_000001"]).expect(0);
    let before = r.production();
    let out = r.run(&["stage"]);
    out.expect(1);
    assert!(
        out.stdout.contains("queries/customers.sql"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(message),
        "the database's message `{message}`: {}",
        out.stdout
    );
    assert_eq!(r.production(), before, "stage never writes production");

    let Some(db) = make() else { return };
    let contract = Rehearsal::new(
        db,
        bin!("fx-rename-contract"),
        Some("SELECT id, email, full_name FROM customers WHERE id = ?;\n"),
    );
    contract
        .run(&["apply", "--to", "20240701_000001"])
        .expect(0);
    let out = contract.run(&["stage", "--phase", "contract"]);
    out.expect(0);
    assert!(
        out.stdout.contains("1 application queries prepare"),
        "{}",
        out.stdout
    );
}

#[test]
fn renaming_a_column_the_app_reads_fails_stage_on_postgres() {
    renaming_a_column_the_app_reads_fails_stage(pg_db, "column \"name\" does not exist");
}

#[test]
fn renaming_a_column_the_app_reads_fails_stage_on_mysql() {
    renaming_a_column_the_app_reads_fails_stage(mysql_db, "Unknown column 'name'");
}

fn a_down_that_forgets_an_index_fails_the_round_trip(db: TestDb) {
    let r = Rehearsal::new(db, bin!("fx-bad-down"), None);
    let out = r.run(&["stage"]);
    out.expect(1);
    assert!(
        out.stdout.contains("round trip FAILED after down"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("customers_email_idx"), "{}", out.stdout);
}

#[test]
fn a_down_that_forgets_an_index_fails_the_round_trip_on_postgres() {
    if let Some(db) = pg_db() {
        a_down_that_forgets_an_index_fails_the_round_trip(db);
    }
}

#[test]
fn a_down_that_forgets_an_index_fails_the_round_trip_on_mysql() {
    if let Some(db) = mysql_db() {
        a_down_that_forgets_an_index_fails_the_round_trip(db);
    }
}

fn budget_snapshot_gate_and_json(db: TestDb, backend: &str) {
    let r = Rehearsal::new(db, bin!("fx-rename"), None);
    // Time budget: measured vs budget, then a larger budget passes.
    let out = r.run_env(
        &["stage", "--format", "json"],
        &[("MIGRATE_STAGING_MAX_DURATION", "1ms")],
    );
    out.expect(1);
    let doc = out.json();
    assert!(
        doc["failures"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f.as_str().unwrap().contains("over the budget of 1 ms")),
        "{doc}"
    );
    assert_eq!(
        doc["stage"]["migrations"].as_array().unwrap().len(),
        2,
        "every check is in the JSON"
    );
    assert_eq!(doc["stage"]["migrations"][1]["round_trip"]["result"], "ok");
    assert!(
        doc["stage"]["diff"]
            .as_str()
            .unwrap()
            .contains("+table customers")
    );

    // Snapshot: missing, blessed, matching, then a change not in it fails with a diff.
    let out = r.run(&["stage"]);
    out.expect(0);
    assert!(out.stdout.contains("--bless"), "{}", out.stdout);
    r.run(&["stage", "--bless"]).expect(0);
    let path = r.sb.path().join(format!("schema.{backend}.snapshot"));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("column full_name"), "{text}");
    r.run(&["stage"]).expect(0);
    std::fs::write(&path, text.replace("full_name", "display_name")).unwrap();
    let out = r.run(&["stage"]);
    out.expect(1);
    assert!(
        out.stdout.contains("+  column full_name"),
        "unified diff: {}",
        out.stdout
    );
    r.run(&["stage", "--bless"]).expect(0);

    // The gate: apply needs the passing rehearsal of exactly what it applies.
    let gate = [("MIGRATE_APPLY_REQUIRE_REHEARSAL", "true")];
    let before = r.production();
    r.run(&["stage"]).expect(0);
    assert_eq!(r.production(), before, "stage never writes production");
    r.run_env(&["apply"], &gate).expect(0);
    assert_eq!(r.prod.scalar("SELECT count(*) FROM _migrate_history"), 2);
}

#[test]
fn budget_snapshot_gate_and_json_on_postgres() {
    if let Some(db) = pg_db() {
        budget_snapshot_gate_and_json(db, "postgres");
    }
}

#[test]
fn budget_snapshot_gate_and_json_on_mysql() {
    if let Some(db) = mysql_db() {
        budget_snapshot_gate_and_json(db, "mysql");
    }
}

fn apply_without_a_matching_rehearsal_is_refused(db: TestDb) {
    let r = Rehearsal::new(db, bin!("fx-drift-v1"), None);
    let gate = [("MIGRATE_APPLY_REQUIRE_REHEARSAL", "true")];
    let out = r.run_env(&["apply"], &gate);
    out.expect(4);
    assert!(out.stderr.contains("cargo migrate stage"), "{}", out.stderr);
    r.run(&["stage"]).expect(0);
    let out = r.run_with(&bin!("fx-drift-v2"), &["apply"], &gate);
    out.expect(4);
    assert!(out.stderr.contains("code changed"), "{}", out.stderr);
    r.run_env(&["apply"], &gate).expect(0);
}

#[test]
fn apply_without_a_matching_rehearsal_is_refused_on_postgres() {
    if let Some(db) = pg_db() {
        apply_without_a_matching_rehearsal_is_refused(db);
    }
}

#[test]
fn apply_without_a_matching_rehearsal_is_refused_on_mysql() {
    if let Some(db) = mysql_db() {
        apply_without_a_matching_rehearsal_is_refused(db);
    }
}

fn the_canary_fails_a_migration_holding_a_blocking_lock(db: TestDb) {
    let r = Rehearsal::new(db, bin!("fx-lock-hog"), None);
    r.run(&["apply", "--to", "20240801_000001"]).expect(0);
    let out = r.run_env(&["stage", "--format", "json"], &[("FX_HOLD_MS", "1500")]);
    out.expect(1);
    let doc = out.json();
    let impact = doc["stage"]["migrations"][0]["lock_impact"]["max_block_ms"]
        .as_u64()
        .unwrap();
    assert!(impact >= 1000, "the canary was blocked {impact} ms: {doc}");
    assert_eq!(doc["stage"]["migrations"][0]["lock_impact"]["table"], "t");
    assert!(
        doc["failures"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f.as_str().unwrap().contains("over the lock budget")),
        "{doc}"
    );
    let out = r.run_env(&["stage"], &[("FX_HOLD_MS", "50")]);
    out.expect(0);
    assert!(out.stdout.contains("lock impact"), "{}", out.stdout);
}

#[test]
fn the_canary_fails_a_migration_holding_a_blocking_lock_on_postgres() {
    if let Some(db) = pg_db() {
        the_canary_fails_a_migration_holding_a_blocking_lock(db);
    }
}

#[test]
fn the_canary_fails_a_migration_holding_a_blocking_lock_on_mysql() {
    if let Some(db) = mysql_db() {
        the_canary_fails_a_migration_holding_a_blocking_lock(db);
    }
}
