//! The core runtime through the real runner binaries on SQLite: registry,
//! drift, failing and crashing migrations, concurrency, rollback, JSON.

use crate::bin;
use crate::support::{Sandbox, block_on};

#[test]
fn duplicate_version_across_crates_refuses_to_start_naming_both() {
    let sb = Sandbox::new(bin!("fx-dup"));
    let r = sb.run(&["status"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("20240101_000000 is registered twice"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("dup-a") && r.stderr.contains("dup-b"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("create_a") && r.stderr.contains("create_b"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("src/lib.rs:"), "{}", r.stderr);
    let r = sb.run(&["apply"]);
    assert_eq!(r.code, 2);
    assert!(
        !sb.db_path().exists(),
        "nothing may be created when the registry is invalid"
    );
}

#[test]
fn edited_body_drifts_but_reformatting_does_not() {
    let sb = Sandbox::new(bin!("fx-drift-v1"));
    assert_eq!(sb.run(&["apply"]).code, 0);
    let r = sb.run_with(&bin!("fx-drift-v1-reformatted"), &["status"]);
    assert_eq!(
        r.code, 0,
        "re-indenting, comments and re-wrapping must not drift: {r:?}"
    );
    assert!(!r.stdout.contains("DRIFTED"));

    let v2 = bin!("fx-drift-v2");
    let r = sb.run_with(&v2, &["status", "--format", "json"]);
    assert_eq!(r.code, 4, "{r:?}");
    let doc = r.json();
    let m = &doc["migrations"][1];
    assert_eq!(m["state"], "drifted");
    let (applied, current) = (
        m["detail"]["applied"].as_str().unwrap(),
        m["detail"]["current"].as_str().unwrap(),
    );
    assert_ne!(applied, current);
    assert_eq!(applied.len(), 64);

    let r = sb.run_with(&v2, &["status"]);
    assert!(
        r.stdout.contains("DRIFTED")
            && r.stdout.contains(&applied[..12])
            && r.stdout.contains(&current[..12]),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("drift_v2.rs"),
        "names the source location: {}",
        r.stdout
    );

    let before = block_on(sb.state());
    let r = sb.run_with(&v2, &["apply"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains(&applied[..12]) && r.stderr.contains(&current[..12]),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--allow-drift"), "{}", r.stderr);
    assert_eq!(block_on(sb.state()), before);
    assert_eq!(sb.run_with(&v2, &["apply", "--allow-drift"]).code, 0);
}

#[test]
fn failing_migration_leaves_everything_as_before_and_names_the_statement() {
    let sb = Sandbox::new(bin!("fx-failing"));
    assert_eq!(sb.run(&["apply", "--to", "20240301_000001"]).code, 0);
    let before = block_on(sb.state());
    assert!(before.iter().any(|l| l == "t: 1|kept"), "{before:?}");
    let r = sb.run(&["apply"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("20240301_000002 `fails_halfway` failed"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("INSERT INTO no_such_table (id) VALUES (1)"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("no such table"),
        "the database's message: {}",
        r.stderr
    );
    assert_eq!(
        block_on(sb.state()),
        before,
        "schema, data and history unchanged"
    );
    let r = sb.run(&["status", "--format", "json"]);
    assert_eq!(r.json()["summary"]["pending"], 1);
    assert_eq!(r.json()["lock"]["lock"], "free");
}

#[test]
fn kill_inside_non_transactional_migration_leaves_it_dirty_until_repair() {
    let sb = Sandbox::new(bin!("fx-nontx"));
    let seen = sb.kill_at("apply.after_started_row", &["apply"]);
    assert!(
        seen.contains("failpoint apply.after_started_row reached"),
        "{seen}"
    );

    let r = sb.run(&["status", "--format", "json"]);
    assert_eq!(r.code, 4);
    let doc = r.json();
    assert_eq!(
        doc["lock"]["lock"], "free",
        "the killed runner's lock died with it"
    );
    assert_eq!(doc["migrations"][1]["state"], "dirty");
    assert_eq!(doc["summary"]["dirty"], 1);
    let r = sb.run(&["status"]);
    assert!(r.stdout.contains("DIRTY (started)"), "{}", r.stdout);

    let before = block_on(sb.state());
    let r = sb.run(&["apply"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains("dirty") && r.stderr.contains("repair 20240401_000002"),
        "{}",
        r.stderr
    );
    assert_eq!(block_on(sb.state()), before);

    let r = sb.run(&["repair", "20240401_000002", "--rolled-back"]);
    assert_eq!(r.code, 4, "repair without a terminal needs --yes: {r:?}");
    assert!(r.stderr.contains("--yes"));
    let r = sb.run(&["repair", "20240401_000002", "--rolled-back", "--yes"]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = sb.run(&["apply"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        block_on(sb.scalar("SELECT count(*) FROM _migrate_history WHERE state = 'finished'")),
        2
    );
    assert_eq!(
        block_on(sb.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'u_t_idx'")),
        1
    );
}

#[test]
fn kill_between_statements_of_non_transactional_migration_is_reported_dirty() {
    let sb = Sandbox::new(bin!("fx-nontx"));
    // db.execute is hit before each statement: #1 create t, #2 create u, #3 create index.
    sb.kill_at("db.execute@3", &["apply"]);
    let r = sb.run(&["status", "--format", "json"]);
    assert_eq!(r.json()["migrations"][1]["state"], "dirty");
    assert_eq!(
        block_on(sb.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'u'")),
        1,
        "first statement stays"
    );
    // The operator finishes the migration by hand, then marks it applied.
    block_on(async {
        use sqlx::Executor;
        let mut c = sb.connect().await;
        c.execute("CREATE INDEX u_t_idx ON u (t_id)").await.unwrap();
    });
    assert_eq!(
        sb.run(&["repair", "20240401_000002", "--applied", "--yes"])
            .code,
        0
    );
    let r = sb.run(&["status"]);
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn concurrent_applies_run_each_migration_exactly_once() {
    let sb = Sandbox::new(bin!("fx-many"));
    let children: Vec<_> = (0..4)
        .map(|_| {
            let mut c = sb.cmd_with(&sb.runner, &["apply", "--format", "json"]);
            // Hold the lock a little so the four processes really overlap.
            c.env("MIGRATE_FAILPOINT", "lock.after:sleep(300)")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            c.spawn().expect("runner starts")
        })
        .collect();
    let mut applied_total = 0;
    let mut waited = 0;
    for child in children {
        let o = child.wait_with_output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        applied_total += doc["applied"].as_array().unwrap().len();
        if doc["lock_waited_ms"].as_u64().unwrap() >= 200 {
            waited += 1;
        }
    }
    assert_eq!(
        applied_total, 21,
        "every migration applied by exactly one process"
    );
    assert!(
        waited >= 3,
        "the processes overlapped and waited on the lock ({waited} waited)"
    );
    assert_eq!(block_on(sb.scalar("SELECT count(*) FROM log")), 20);
    assert_eq!(
        block_on(sb.scalar("SELECT count(DISTINCT version) FROM log")),
        20
    );
    assert_eq!(
        block_on(sb.scalar("SELECT count(*) FROM _migrate_history")),
        21
    );
}

#[test]
fn rollback_steps_runs_the_newest_downs_and_stops_before_an_irreversible_one() {
    let sb = Sandbox::new(bin!("fx-shop"));
    assert_eq!(sb.run(&["apply"]).code, 0);
    let full = block_on(sb.state());

    let r = sb.run(&["rollback", "--steps", "3"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains("purge_users") && r.stderr.contains("irreversible"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("deletes rows that cannot be restored"),
        "{}",
        r.stderr
    );
    assert_eq!(block_on(sb.state()), full, "nothing ran");

    let r = sb.run(&["rollback", "--steps", "2"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        block_on(sb.rows("SELECT version FROM _migrate_history ORDER BY version")),
        vec!["20240101000001", "20240101000002"]
    );
    assert_eq!(
        block_on(sb.scalar(
            "SELECT count(*) FROM sqlite_master WHERE name IN ('orders', 'orders_user_idx')"
        )),
        0
    );
    let r = sb.run(&["rollback", "--to", "20240101_000003"]);
    assert_eq!(
        r.code, 4,
        "rolling back to a version never applied is refused: {r:?}"
    );
    assert!(r.stderr.contains("not applied"), "{}", r.stderr);
}

#[test]
fn status_and_apply_json_are_single_documents() {
    let sb = Sandbox::new(bin!("fx-shop"));
    let r = sb.run(&["status", "--format", "json"]);
    assert_eq!(r.code, 4);
    let doc = r.json();
    assert_eq!(doc["summary"]["pending"], 4);
    assert_eq!(doc["migrations"].as_array().unwrap().len(), 4);
    let r = sb.run(&["apply", "--format", "json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let doc = r.json();
    assert_eq!(doc["applied"].as_array().unwrap().len(), 4);
    assert_eq!(
        doc["applied"][0]["statements"][0]["sql"],
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)"
    );
    let r = sb.run(&["status", "--format", "json"]);
    assert_eq!(r.code, 0);
    assert_eq!(r.json()["summary"]["applied"], 4);
    let r = sb.run(&["apply", "--format", "json"]);
    assert_eq!(r.json()["applied"].as_array().unwrap().len(), 0);
    let failing = Sandbox::new(bin!("fx-failing"));
    let r = failing.run(&["apply", "--format", "json"]);
    assert_eq!(r.code, 1);
    let doc = r.json();
    assert_eq!(doc["error"]["kind"], "migration_failed");
    assert_eq!(doc["applied"].as_array().unwrap().len(), 1);
}
