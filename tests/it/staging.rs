//! The staging rehearsal on SQLite through the real runners: application
//! queries, round trips, time budget, schema snapshot, the apply gate, the
//! clone, and JSON output.

use crate::bin;
use crate::support::{Sandbox, block_on};

const QUERIES: &str = "[verify]\nqueries = [\"queries/*.sql\"]\n";

fn with_queries(runner: std::path::PathBuf, sql: &str) -> Sandbox {
    let sb = Sandbox::with_config(runner, QUERIES);
    std::fs::create_dir_all(sb.path().join("queries")).unwrap();
    std::fs::write(sb.path().join("queries/customers.sql"), sql).unwrap();
    sb
}

#[test]
fn renaming_a_column_the_app_reads_fails_stage_naming_the_query() {
    let sb = with_queries(
        bin!("fx-rename"),
        "SELECT id, email, name FROM customers WHERE id = ?;\n",
    );
    sb.run(&["apply", "--to", "20240701_000001"]).expect(0);
    let r = sb.run(&["stage"]);
    r.expect(1);
    assert!(r.stdout.contains("queries/customers.sql"), "{}", r.stdout);
    assert!(
        r.stdout.contains("no such column: name"),
        "the database's message: {}",
        r.stdout
    );
    assert!(
        r.stdout.contains("SELECT id, email, name FROM customers"),
        "{}",
        r.stdout
    );

    // As a contract migration with the application's queries updated, it passes.
    let contract = with_queries(
        bin!("fx-rename-contract"),
        "SELECT id, email, full_name FROM customers WHERE id = ?;\n",
    );
    contract
        .run(&["apply", "--to", "20240701_000001"])
        .expect(0);
    let r = contract.run(&["stage"]);
    r.expect(0);
    assert!(
        r.stdout.contains("nothing pending") || r.stdout.contains("not compared"),
        "held back by default: {}",
        r.stdout
    );
    let r = contract.run(&["stage", "--phase", "contract"]);
    r.expect(0);
    assert!(
        r.stdout.contains("1 application queries prepare"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_down_that_forgets_an_index_fails_the_round_trip() {
    let sb = Sandbox::with_config(bin!("fx-bad-down"), "");
    let r = sb.run(&["stage"]);
    r.expect(1);
    assert!(
        r.stdout.contains("round trip FAILED after down"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("customers_email_idx"),
        "the diff names the index: {}",
        r.stdout
    );
}

#[test]
fn over_the_time_budget_fails_with_the_numbers_and_a_larger_budget_passes() {
    let sb = Sandbox::with_config(bin!("fx-rename"), "");
    let r = sb.run_with_env(
        &["stage", "--format", "json"],
        &[("MIGRATE_STAGING_MAX_DURATION", "1ms")],
    );
    r.expect(1);
    let doc = r.json();
    let failures = doc["failures"].as_array().unwrap();
    assert!(
        failures
            .iter()
            .any(|f| f.as_str().unwrap().contains("over the budget of 1 ms")),
        "{failures:?}"
    );
    assert!(doc["stage"]["total_ms"].as_u64().unwrap() >= 1);
    sb.run_with_env(&["stage"], &[("MIGRATE_STAGING_MAX_DURATION", "5m")])
        .expect(0);
}

#[test]
fn schema_changes_must_match_the_blessed_snapshot() {
    let sb = Sandbox::with_config(bin!("fx-rename"), "");
    let r = sb.run(&["stage"]);
    r.expect(0);
    assert!(
        r.stdout.contains("--bless"),
        "no snapshot yet: {}",
        r.stdout
    );
    sb.run(&["stage", "--bless"]).expect(0);
    let snapshot = sb.path().join("schema.sqlite.snapshot");
    let text = std::fs::read_to_string(&snapshot).unwrap();
    assert!(
        text.contains("  column full_name VARCHAR(255) NOT NULL"),
        "{text}"
    );
    sb.run(&["stage"]).expect(0);
    // Someone's schema change that is not in the committed snapshot:
    std::fs::write(&snapshot, text.replace("full_name", "display_name")).unwrap();
    let r = sb.run(&["stage"]);
    r.expect(1);
    assert!(
        r.stdout
            .contains("-  column display_name VARCHAR(255) NOT NULL")
            || r.stdout.contains("-  column display_name"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("+  column full_name VARCHAR(255) NOT NULL"),
        "unified diff: {}",
        r.stdout
    );
    sb.run(&["stage", "--bless"]).expect(0);
    sb.run(&["stage"]).expect(0);
}

#[test]
fn apply_needs_a_matching_passing_rehearsal() {
    let sb = Sandbox::with_config(bin!("fx-drift-v1"), "");
    let gate = [("MIGRATE_APPLY_REQUIRE_REHEARSAL", "true")];
    let r = sb.run_with_env(&["apply"], &gate);
    r.expect(4);
    assert!(r.stderr.contains("cargo migrate stage"), "{}", r.stderr);
    assert!(!sb.db_path().exists(), "a refused apply creates nothing");

    sb.run(&["stage"]).expect(0);
    // The code of a rehearsed migration changes: the rehearsal no longer counts.
    let mut c = sb.cmd_with(&bin!("fx-drift-v2"), &["apply"]);
    c.env("MIGRATE_APPLY_REQUIRE_REHEARSAL", "true");
    let o = c.output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("code changed"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    let r = sb.run_with_env(&["apply"], &gate);
    r.expect(0);
    assert_eq!(
        block_on(sb.scalar("SELECT count(*) FROM _migrate_history WHERE rehearsal_skipped = 0")),
        2
    );
}

#[test]
fn skipping_the_rehearsal_is_recorded_and_shown() {
    let sb = Sandbox::with_config(bin!("fx-shop"), "");
    let r = sb.run_with_env(
        &["apply", "--skip-rehearsal"],
        &[("MIGRATE_APPLY_REQUIRE_REHEARSAL", "true")],
    );
    r.expect(0);
    assert!(
        r.stderr.contains("without a staging rehearsal"),
        "{}",
        r.stderr
    );
    assert_eq!(
        block_on(sb.scalar("SELECT count(*) FROM _migrate_history WHERE rehearsal_skipped = 1")),
        4
    );
    assert!(sb.run(&["status"]).stdout.contains("rehearsal skipped"));
}

#[test]
fn clone_refreshes_staging_and_never_writes_production() {
    let sb = Sandbox::with_config(bin!("fx-rename"), "");
    sb.run(&["apply", "--to", "20240701_000001"]).expect(0);
    block_on(async {
        use sqlx::Executor;
        sb.connect()
            .await
            .execute("DELETE FROM customers WHERE id > 15000")
            .await
            .unwrap();
    });
    let prod_bytes = std::fs::read(sb.db_path()).unwrap();
    sb.run(&["stage"]).expect(0);
    assert_eq!(
        std::fs::read(sb.db_path()).unwrap(),
        prod_bytes,
        "production unchanged by stage"
    );
    let staging = Sandbox::new(bin!("fx-rename"));
    std::fs::copy(sb.path().join("staging.db"), staging.db_path()).unwrap();
    assert_eq!(
        block_on(staging.scalar("SELECT count(*) FROM customers")),
        15000,
        "row counts match production"
    );
    assert_eq!(
        block_on(staging.scalar("SELECT count(*) FROM _migrate_history")),
        2
    );
}

#[test]
fn without_clone_stage_warns_when_staging_is_not_representative() {
    let sb = Sandbox::with_config(bin!("fx-rename"), "");
    std::fs::write(
        sb.path().join("Migrate.toml"),
        "[database]\nurl = \"sqlite://app.db\"\n[staging]\nurl = \"sqlite://staging.db\"\nclone = false\n",
    )
    .unwrap();
    sb.run(&["apply", "--to", "20240701_000001"]).expect(0);
    // Staging with the first migration but few rows.
    let mut c = sb.cmd_with(&sb.runner, &["apply", "--to", "20240701_000001"]);
    c.env(
        "DATABASE_URL",
        format!("sqlite://{}", sb.path().join("staging.db").display()),
    );
    assert!(c.status().unwrap().success());
    let staging = Sandbox::new(bin!("fx-rename"));
    std::fs::copy(sb.path().join("staging.db"), staging.db_path()).unwrap();
    block_on(async {
        use sqlx::Executor;
        staging
            .connect()
            .await
            .execute("DELETE FROM customers WHERE id > 100")
            .await
            .unwrap();
    });
    std::fs::copy(staging.db_path(), sb.path().join("staging.db")).unwrap();
    let r = sb.run(&["stage"]);
    r.expect(0);
    assert!(
        r.stdout
            .contains("staging has 100 rows in `customers`, production 20000"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("on production, 200.0× the rows"),
        "extrapolated: {}",
        r.stdout
    );
}

#[test]
fn stage_json_has_every_check() {
    let sb = with_queries(bin!("fx-rename"), "SELECT id FROM customers;\n");
    let r = sb.run(&["stage", "--format", "json"]);
    r.expect(0);
    let doc = r.json();
    let stage = &doc["stage"];
    assert_eq!(stage["migrations"].as_array().unwrap().len(), 2);
    assert_eq!(stage["migrations"][1]["round_trip"]["result"], "ok");
    assert!(stage["migrations"][0]["duration_ms"].is_u64());
    assert!(stage["diff"].as_str().unwrap().contains("+table customers"));
    assert_eq!(stage["queries"][0]["source"], "queries/customers.sql");
    assert_eq!(stage["snapshot"]["status"], "missing");
    assert!(stage["max_duration_ms"].as_u64().unwrap() > 0);
    assert_eq!(doc["failures"].as_array().unwrap().len(), 0);
}

#[test]
fn the_canary_measures_lock_impact_and_fails_over_the_lock_budget() {
    let sb = Sandbox::with_config(bin!("fx-lock-hog"), "");
    sb.run(&["apply", "--to", "20240801_000001"]).expect(0);
    let r = sb.run_with_env(&["stage", "--format", "json"], &[("FX_HOLD_MS", "1500")]);
    r.expect(1);
    let doc = r.json();
    let impact = doc["stage"]["migrations"][0]["lock_impact"]["max_block_ms"]
        .as_u64()
        .unwrap();
    assert!(impact >= 1000, "the canary was blocked {impact} ms");
    assert!(
        doc["failures"].as_array().unwrap().iter().any(|f| f
            .as_str()
            .unwrap()
            .contains("over the lock budget of 1.0 s")),
        "{doc}"
    );
    let r = sb.run_with_env(&["stage"], &[("FX_HOLD_MS", "100")]);
    r.expect(0);
    assert!(r.stdout.contains("lock impact"), "{}", r.stdout);
}
