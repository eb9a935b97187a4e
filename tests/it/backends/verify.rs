//! The verify gate of `deploy` on every backend: a baseline before apply,
//! probes, health checks and the team's command after it, rollback of what
//! the deploy applied when a check fails, the restore command when it cannot
//! be rolled back, and the report saved for audits.

use std::process::Command;

use super::on::On;
use super::{Server, TestDb, mysql_db, pg_db, run};
use crate::bin;
use crate::support::Run;

/// A probe that uses `events_account_idx` (40 of 200,000 rows).
const PROBE: &str = "SELECT count(*) FROM events WHERE account_id = 42";

/// A case: where it runs, plus the staging database for a server.
struct Case<'a> {
    on: On<'a>,
    staging: Option<TestDb>,
}

impl<'a> Case<'a> {
    fn new(runner: std::path::PathBuf, db: Option<&'a TestDb>, verify: &str) -> Case<'a> {
        let on = On::new(runner, db);
        on.sb.write_config(&format!("\n[verify]\n{verify}"));
        Case {
            staging: db.map(TestDb::sibling),
            on,
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.on.cmd(args);
        if let Some(st) = &self.staging {
            st.stage_into(&mut c);
        }
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        run(self.cmd(args))
    }

    /// Schema, history states and the rows of the fixture's tables.
    fn state(&self) -> (Vec<String>, Vec<String>) {
        (self.on.schema(), self.on.states())
    }

    fn reports(&self) -> Vec<serde_json::Value> {
        let dir = self.on.sb.backup_dir();
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p: &std::path::PathBuf| p.to_string_lossy().ends_with(".deploy.json"));
        files.sort();
        files
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }
}

fn check<'v>(doc: &'v serde_json::Value, name: &str) -> &'v serde_json::Value {
    doc["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no check {name} in {doc}"))
}

fn index_exists(on: &On<'_>) -> bool {
    on.schema()
        .iter()
        .any(|l| l.contains("index events_account_idx"))
}

fn latency_regression_is_rolled_back(db: Option<&TestDb>) {
    let case = Case::new(
        bin!("fx-verify-latency"),
        db,
        &format!(
            "probes = [\"{PROBE}\"]\nwindow = \"1s\"\nlatency_regression = 3.0\nlatency_floor = \"1ms\"\n\
             command = \"test -n \\\"$DATABASE_URL\\\"\"\n"
        ),
    );
    let label = case.on.label();
    case.run(&["apply", "--to", "20240701_000001"]).expect(0);
    assert!(index_exists(&case.on), "{label}: seeded with the index");
    let statements =
        db.is_some_and(|d| d.server == Server::Postgres) && pg_stat_statements(&case.on);

    // A healthy deploy: every check green, the report saved, exit 0.
    let r = case.run(&["deploy", "--to", "20240701_000002"]);
    r.expect(0);
    for needle in [
        "baseline",
        "probe:1",
        "health:events_have_accounts",
        "command",
        "deployed 1 migration",
    ] {
        assert!(
            r.stdout.contains(needle),
            "{label}: {needle} in\n{}",
            r.stdout
        );
    }
    assert!(!r.stdout.contains("FAIL"), "{label}: {}", r.stdout);
    let reports = case.reports();
    assert_eq!(reports.len(), 1, "{label}: one report per deploy");
    let healthy = &reports[0];
    assert_eq!(healthy["ok"], true);
    assert_eq!(healthy["baseline"]["probes"][0]["sql"], PROBE);
    let probe = check(&healthy["verify"], "probe:1");
    assert_eq!(probe["ok"], true, "{label}: {probe}");
    assert!(
        probe["data"]["before"]["runs"].as_u64().unwrap() >= 3,
        "{probe}"
    );
    assert_eq!(
        check(&healthy["verify"], "rehearsal")["ok"],
        true,
        "{label}: live schema = rehearsal's"
    );
    assert_eq!(check(&healthy["verify"], "command")["ok"], true);
    if statements {
        let c = check(&healthy["verify"], "pg_stat_statements");
        assert!(
            c["ok"] == true && c["skipped"].is_null(),
            "{label}: compared, within the limit: {c}"
        );
    }

    // Re-running deploys nothing.
    let r = case.run(&["deploy", "--to", "20240701_000002"]);
    r.expect(0);
    assert!(
        r.stdout.contains("nothing to deploy"),
        "{label}: {}",
        r.stdout
    );

    // Dropping the index makes the probe far slower: rolled back.
    let before = case.state();
    let r = case.run(&["deploy", "--format", "json"]);
    r.expect(1);
    let doc = r.json();
    let probe = check(&doc["verify"], "probe:1");
    assert_eq!(probe["ok"], false, "{label}: {probe}");
    let (b, a) = (
        probe["data"]["before"]["p50_ms"].as_f64().unwrap(),
        probe["data"]["after"]["p50_ms"].as_f64().unwrap(),
    );
    assert!(
        a > 3.0 * b,
        "{label}: the failed probe is over its limit: {b} → {a} ms"
    );
    eprintln!(
        "{label}: probe p50 {b:.3} ms → {a:.3} ms (×{:.0}) without the index",
        a / b
    );
    if statements {
        // The server's own statistics see the probe's statement slow down too.
        let c = check(&doc["verify"], "pg_stat_statements");
        assert_eq!(c["ok"], false, "{label}: {c}");
        let detail = c["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains("mean time regressed") && detail.contains("events"),
            "{label}: names the statement: {c}"
        );
        eprintln!("{label}: pg_stat_statements: {detail}");
    }
    assert_eq!(
        doc["recovery"]["rolled_back"][0]["name"], "drop_account_index",
        "{doc}"
    );
    assert_eq!(
        doc["recovery"]["verify_after"]["checks"]
            .as_array()
            .map(|c| c.iter().all(|c| c["ok"] == true)),
        Some(true),
        "{label}: healthy again after the rollback: {doc}"
    );
    assert!(index_exists(&case.on), "{label}: the index is back");
    assert_eq!(
        case.state(),
        before,
        "{label}: schema and history as before the deploy"
    );
    assert_eq!(
        case.reports().len(),
        2,
        "{label}: the failed deploy's report is saved too"
    );
}

/// Creates the pg_stat_statements extension in the case's database; whether
/// the server preloads the library (`.ci/run` sees to it; without it the
/// comparison is skipped, which fails under `MIGRATE_TEST_REQUIRE_SERVERS=1`).
fn pg_stat_statements(on: &On<'_>) -> bool {
    on.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    let loaded = on.scalar(
        "SELECT count(*) FROM pg_settings WHERE name = 'shared_preload_libraries' AND setting LIKE '%pg_stat_statements%'",
    ) > 0;
    if !loaded {
        let why = "the PostgreSQL server does not preload pg_stat_statements: `.ci/run` sets shared_preload_libraries and restarts it";
        assert!(
            !std::env::var("MIGRATE_TEST_REQUIRE_SERVERS").is_ok_and(|v| v == "1"),
            "{why} (MIGRATE_TEST_REQUIRE_SERVERS=1)"
        );
        eprintln!("note: {why}; its comparison is not checked here");
    }
    loaded
}

#[test]
fn latency_regression_is_rolled_back_on_sqlite() {
    latency_regression_is_rolled_back(None);
}

#[test]
fn latency_regression_is_rolled_back_on_postgres() {
    let Some(db) = pg_db() else { return };
    latency_regression_is_rolled_back(Some(&db));
}

#[test]
fn latency_regression_is_rolled_back_on_mysql() {
    let Some(db) = mysql_db() else { return };
    latency_regression_is_rolled_back(Some(&db));
}

fn irreversible_step_stops_the_rollback_with_a_restore_command(db: Option<&TestDb>) {
    let case = Case::new(
        bin!("fx-shop"),
        db,
        "command = \"echo 'smoke test: checkout returned 500' >&2; exit 1\"\n",
    );
    let label = case.on.label();
    case.run(&["apply", "--to", "20240101_000001"]).expect(0);
    let before = case.state();
    let r = case.run(&["deploy"]);
    r.expect(1);
    assert!(
        r.stdout.contains("smoke test: checkout returned 500")
            && r.stdout.contains("exit status 1"),
        "{label}: the command's failure and output: {}",
        r.stdout
    );
    assert!(
        r.stdout.contains("not rolled back") && r.stdout.contains("irreversible"),
        "{label}: {}",
        r.stdout
    );
    assert_ne!(case.state(), before, "{label}: nothing was undone");
    let cmd = r
        .stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("cargo migrate") && l.contains(" restore "))
        .unwrap_or_else(|| panic!("{label}: no restore command in: {}", r.stdout))
        .to_string();
    let args: Vec<&str> = cmd
        .trim_start_matches("cargo migrate")
        .split_whitespace()
        .collect();
    case.run(&args).expect(0);
    assert_eq!(
        case.state(),
        before,
        "{label}: the restore command brings back the database before the deploy"
    );
}

#[test]
fn irreversible_step_stops_the_rollback_with_a_restore_command_on_sqlite() {
    irreversible_step_stops_the_rollback_with_a_restore_command(None);
}

#[test]
fn irreversible_step_stops_the_rollback_with_a_restore_command_on_postgres() {
    let Some(db) = pg_db() else { return };
    irreversible_step_stops_the_rollback_with_a_restore_command(Some(&db));
}

#[test]
fn irreversible_step_stops_the_rollback_with_a_restore_command_on_mysql() {
    let Some(db) = mysql_db() else { return };
    irreversible_step_stops_the_rollback_with_a_restore_command(Some(&db));
}

#[test]
fn a_check_is_disabled_only_with_a_reason_shown_in_every_report() {
    let case = Case::new(
        bin!("fx-verify-latency"),
        None,
        &format!(
            "probes = [\"{PROBE}\"]\nwindow = \"200ms\"\ncommand = \"exit 1\"\n\n\
             [verify.disable]\ncommand = \"the smoke test needs the VPN this week (OPS-1234)\"\n"
        ),
    );
    case.run(&["apply", "--to", "20240701_000001"]).expect(0);
    let r = case.run(&["deploy", "--to", "20240701_000002"]);
    r.expect(0);
    assert!(
        r.stdout.contains("off")
            && r.stdout
                .contains("the smoke test needs the VPN this week (OPS-1234)"),
        "{}",
        r.stdout
    );
    let report = &case.reports()[0];
    assert_eq!(
        check(&report["verify"], "command")["disabled"],
        "the smoke test needs the VPN this week (OPS-1234)"
    );

    // `verify` alone: the probe's numbers, without a baseline to compare with.
    let r = case.run(&["verify", "--format", "json"]);
    r.expect(0);
    let doc = r.json();
    let probe = check(&doc["verify"], "probe:1");
    assert!(
        probe["detail"].as_str().unwrap().contains("no baseline"),
        "{probe}"
    );
    assert_eq!(
        check(&doc["verify"], "command")["disabled"],
        "the smoke test needs the VPN this week (OPS-1234)"
    );

    // A name that is no check is refused, listing the checks.
    case.on
        .sb
        .write_config("\n[verify.disable]\nlatency = \"too slow\"\n");
    let before = case.state();
    let r = case.run(&["deploy"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("`latency`, which is not a check") && r.stderr.contains("probes"),
        "{}",
        r.stderr
    );
    assert_eq!(case.state(), before, "nothing applied");

    // A probe that writes is refused before anything runs.
    case.on
        .sb
        .write_config("\n[verify]\nprobes = [\"DELETE FROM events\"]\n");
    let r = case.run(&["deploy"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("not a single read-only query"),
        "{}",
        r.stderr
    );
    assert_eq!(case.state(), before, "nothing applied");
    assert_eq!(case.on.scalar("SELECT count(*) FROM events"), 200_000);
}

/// The stand-in application, killed when dropped.
struct App(std::process::Child);

impl App {
    /// Starts `fx-events-app` writing to `url`; returns it and its metrics URL.
    fn start(url: &str) -> (App, String) {
        let mut child = Command::new(bin!("fx-events-app"))
            .arg("50")
            .env("DATABASE_URL", url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start fx-events-app");
        let seen = crate::support::wait_for_line(
            &mut child,
            "listening on ",
            std::time::Duration::from_secs(30),
        );
        let addr = seen
            .lines()
            .find_map(|l| l.strip_prefix("listening on "))
            .expect("address")
            .to_string();
        (App(child), format!("{addr}/metrics"))
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn app_errors_after_a_migration_roll_it_back(db: Option<&TestDb>) {
    let case = Case::new(bin!("fx-verify-errors"), db, "");
    let url = db.map_or_else(|| case.on.sb.url(), |d| d.url.clone());
    case.run(&["apply", "--to", "20240701_000002"]).expect(0);
    let (app, metrics_url) = App::start(&url);
    // The app's latency is not under test here: a busy machine moves its p95 by tens of ms.
    case.on.sb.write_config(&format!(
        "\n[verify]\nmetrics_url = \"{metrics_url}\"\nwindow = \"2s\"\nerror_rate_max = 0.05\nlatency_floor = \"500ms\"\n"
    ));
    let label = case.on.label();
    let schema_before = case.on.schema();
    let r = case.run(&["deploy", "--format", "json"]);
    drop(app);
    r.expect(1);
    let doc = r.json();
    let metrics = check(&doc["verify"], "metrics");
    assert_eq!(metrics["ok"], false, "{label}: {metrics}");
    let before = metrics["data"]["before"]["error_rate"]
        .as_f64()
        .expect("rate before");
    let after = metrics["data"]["after"]["error_rate"]
        .as_f64()
        .expect("rate after");
    assert!(
        before <= 0.05,
        "{label}: the app was healthy before: {metrics}"
    );
    assert!(
        after > 0.5,
        "{label}: the app's writes fail after: {metrics}"
    );
    let detail = metrics["detail"].as_str().unwrap();
    assert!(
        detail.contains("error rate") && detail.contains('→'),
        "{label}: numbers in the report: {detail}"
    );
    assert_eq!(
        doc["recovery"]["rolled_back"][0]["name"], "limit_payload",
        "{label}: {doc}"
    );
    let again = check(&doc["recovery"]["verify_after"], "metrics");
    assert_eq!(
        again["ok"], true,
        "{label}: the app is healthy again after the rollback: {again}"
    );
    assert_eq!(
        case.on.schema(),
        schema_before,
        "{label}: the constraint is gone"
    );
    assert!(
        case.on
            .scalar("SELECT count(*) FROM events WHERE payload = 'written-by-the-app'")
            > 0,
        "{label}: the app's writes before the deploy are kept"
    );
}

#[test]
fn app_errors_after_a_migration_roll_it_back_on_sqlite() {
    app_errors_after_a_migration_roll_it_back(None);
}

#[test]
fn app_errors_after_a_migration_roll_it_back_on_postgres() {
    let Some(db) = pg_db() else { return };
    app_errors_after_a_migration_roll_it_back(Some(&db));
}

#[test]
fn app_errors_after_a_migration_roll_it_back_on_mysql() {
    let Some(db) = mysql_db() else { return };
    app_errors_after_a_migration_roll_it_back(Some(&db));
}

/// A session that holds a row lock on `events` and one queued behind it:
/// `verify` reports the queue, and says why `pg_stat_statements` could not be read.
fn queued_sessions_fail_verify(db: &TestDb) {
    let case = Case::new(
        bin!("fx-verify-latency"),
        Some(db),
        "[verify.disable]\n\"health:events_have_accounts\" = \"reads events, which the test keeps locked\"\n",
    );
    let label = case.on.label();
    case.run(&["apply", "--to", "20240701_000002"]).expect(0);
    let r = case.run(&["verify", "--format", "json"]);
    r.expect(0);
    let doc = r.json();
    assert_eq!(
        check(&doc["verify"], "lock_waiters")["ok"],
        true,
        "{label}: {doc}"
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    let (mut holder, mut waiter) = rt.block_on(async { (db.connect().await, db.connect().await) });
    let lock = "SELECT * FROM events WHERE id = 1 FOR UPDATE";
    rt.block_on(async {
        holder.begin().await.unwrap();
        holder.execute(lock).await.unwrap();
    });
    let queued = rt.spawn(async move {
        waiter.begin().await.unwrap();
        let r = waiter
            .execute("UPDATE events SET payload = 'x' WHERE id = 1")
            .await;
        (waiter, r)
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    let r = case.run(&["verify", "--format", "json"]);
    rt.block_on(async { holder.rollback().await.unwrap() });
    let (waiter, _) = rt.block_on(queued).unwrap();
    rt.block_on(async {
        waiter.close().await;
        holder.close().await;
    });
    r.expect(1);
    let doc = r.json();
    let waiters = check(&doc["verify"], "lock_waiters");
    assert_eq!(waiters["ok"], false, "{label}: {waiters}");
    assert!(
        waiters["data"]["waiting"].as_i64().unwrap() >= 1,
        "{label}: {waiters}"
    );
    if db.server == super::Server::Postgres {
        let pss = check(&doc["verify"], "pg_stat_statements");
        assert!(
            pss["skipped"]
                .as_str()
                .is_some_and(|s| s.contains("pg_stat_statements")),
            "{label}: says why it is not available: {pss}"
        );
    }
}

#[test]
fn queued_sessions_fail_verify_on_postgres() {
    let Some(db) = pg_db() else { return };
    queued_sessions_fail_verify(&db);
}

#[test]
fn queued_sessions_fail_verify_on_mysql() {
    let Some(db) = mysql_db() else { return };
    queued_sessions_fail_verify(&db);
}

/// `verify` on its own compares the live schema with the latest rehearsal
/// recorded on staging for this database: the schema before or after the
/// rehearsed migrations, whichever set production holds.
fn standalone_verify_compares_with_the_latest_rehearsal(db: Option<&TestDb>) {
    let case = Case::new(bin!("fx-shop"), db, "");
    let label = case.on.label();
    // Runs `verify`, expects `code`, and checks the rehearsal check's verdict
    // and that `field` ("skipped" or "detail") says `needle`.
    let rehearsal = |code: i32, ok: bool, field: &str, needle: &str| {
        let r = case.run(&["verify", "--format", "json"]);
        r.expect(code);
        let c = check(&r.json()["verify"], "rehearsal").clone();
        assert_eq!(c["ok"], ok, "{label}: {c}");
        assert!(
            c[field].as_str().is_some_and(|s| s.contains(needle)),
            "{label}: {field} says {needle:?}: {c}"
        );
    };
    case.run(&["apply", "--to", "20240101_000001"]).expect(0);
    // No rehearsal yet: skipped, saying what to run.
    rehearsal(0, true, "skipped", "cargo migrate stage");

    case.run(&["stage"]).expect(0);
    rehearsal(0, true, "detail", "before its migrations");

    case.run(&["apply"]).expect(0);
    rehearsal(0, true, "detail", "after its migrations");

    // A table created out of band is named in the diff.
    case.on.execute("CREATE TABLE intruder (id INT)");
    rehearsal(1, false, "detail", "intruder");
}

#[test]
fn standalone_verify_compares_with_the_latest_rehearsal_on_sqlite() {
    standalone_verify_compares_with_the_latest_rehearsal(None);
}

#[test]
fn standalone_verify_compares_with_the_latest_rehearsal_on_postgres() {
    let Some(db) = pg_db() else { return };
    standalone_verify_compares_with_the_latest_rehearsal(Some(&db));
}

#[test]
fn standalone_verify_compares_with_the_latest_rehearsal_on_mysql() {
    let Some(db) = mysql_db() else { return };
    standalone_verify_compares_with_the_latest_rehearsal(Some(&db));
}
