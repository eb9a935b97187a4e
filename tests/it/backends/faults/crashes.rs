//! The runner SIGKILLed at each named failpoint: status tells the truth and apply recovers.

use super::*;

const V1: &str = "20240902000001";
const V2: &str = "20240902000002";
const V3: &str = "20240902000003";

/// One SIGKILL case of `fx-faults-crash` (migrations t, u + index, row 2).
struct Crash {
    name: &'static str,
    /// Apply everything before the killed command.
    applied_first: bool,
    args: &'static [&'static str],
    failpoint: String,
    /// `status` states of the three migrations after the kill.
    states: [&'static str; 3],
    /// `repair <version> <resolution>` needed before the next apply.
    repair: Option<(&'static str, &'static str)>,
}

/// The cases on `server` (`None`: SQLite). MariaDB/MySQL commit DDL
/// implicitly, so there every migration gets a `started` row first and
/// the failpoint counts differ.
fn crash_cases(server: Option<Server>) -> Vec<Crash> {
    let mysql = server == Some(Server::MySql);
    let c = |name, applied_first, args, failpoint: &str, states, repair| Crash {
        name,
        applied_first,
        args,
        failpoint: failpoint.to_string(),
        states,
        repair,
    };
    const APPLY: &[&str] = &["apply"];
    const ROLLBACK: &[&str] = &["rollback", "--to", "0"];
    const PENDING: [&str; 3] = ["pending", "pending", "pending"];
    let mut cases = vec![
        c(
            "before the lock",
            false,
            APPLY,
            "lock.before",
            PENDING,
            None,
        ),
        c("after the lock", false, APPLY, "lock.after", PENDING, None),
        c(
            "during the backup",
            false,
            APPLY,
            if server.is_some() {
                "backup.dump_running"
            } else {
                "backup.after_copy"
            },
            PENDING,
            None,
        ),
        c(
            "just before the backup is renamed into place",
            false,
            APPLY,
            "backup.before_rename",
            PENDING,
            None,
        ),
    ];
    if mysql {
        cases.push(c(
            "inside a transactional migration, between its statements (DDL committed)",
            false,
            APPLY,
            "db.execute@2",
            ["dirty", "pending", "pending"],
            Some((V1, "--run-down")),
        ));
    } else {
        cases.push(c(
            "inside a transactional migration",
            false,
            APPLY,
            "apply.in_transaction@1",
            PENDING,
            None,
        ));
    }
    cases.extend([
        c(
            "after the started row of a transaction = false migration",
            false,
            APPLY,
            if mysql {
                "apply.after_started_row@2"
            } else {
                "apply.after_started_row@1"
            },
            ["applied", "dirty", "pending"],
            Some((V2, "--rolled-back")),
        ),
        c(
            "between the statements of a transaction = false migration",
            false,
            APPLY,
            "db.execute@4",
            ["applied", "dirty", "pending"],
            Some((V2, "--run-down")),
        ),
        c(
            "between migrations",
            false,
            APPLY,
            "apply.after_migration@1",
            ["applied", "pending", "pending"],
            None,
        ),
        if mysql {
            // The down's DML rolled back, but DDL might not have: dirty.
            c(
                "inside a transactional down (DDL would have committed)",
                true,
                ROLLBACK,
                "rollback.in_transaction@1",
                ["applied", "applied", "dirty"],
                Some((V3, "--applied")),
            )
        } else {
            c(
                "inside a transactional down",
                true,
                ROLLBACK,
                "rollback.in_transaction@1",
                ["applied", "applied", "applied"],
                None,
            )
        },
        c(
            "after the started row of a transaction = false down",
            true,
            ROLLBACK,
            if mysql {
                "rollback.after_started_row@2"
            } else {
                "rollback.after_started_row@1"
            },
            ["applied", "dirty", "pending"],
            Some((V2, "--applied")),
        ),
        c(
            "between rollback steps",
            true,
            ROLLBACK,
            "rollback.before_migration@2",
            ["applied", "applied", "pending"],
            None,
        ),
    ]);
    cases
}

/// Runs one crash case; `Err` says what was wrong.
fn crash_case(on: &On, case: &Crash) -> Result<(), String> {
    let fail = |what: String| Err(format!("{} / {}: {what}", on.label(), case.name));
    if case.applied_first {
        let r = on.run(&["apply"]);
        if r.code != 0 {
            return fail(format!("setup apply: {r:?}"));
        }
    }
    let backups_before = on.backups();
    let seen = kill_at(on.cmd(case.args), &case.failpoint);
    if !seen.contains(&format!(
        "failpoint {} reached",
        case.failpoint.split('@').next().unwrap_or_default()
    )) {
        return fail(format!("failpoint not reached: {seen}"));
    }

    // The lock died with the runner, and `status` tells the truth.
    let mut last = (Vec::new(), String::new());
    let truthful = eventually(Duration::from_secs(10), || {
        last = on.status();
        last.1 == "free"
    });
    if !truthful {
        return fail(format!("lock still held: {last:?}"));
    }
    if last.0 != case.states {
        return fail(format!("states {:?}, expected {:?}", last.0, case.states));
    }
    // A backup killed before it was renamed into place does not count.
    if case.failpoint.starts_with("backup.") && on.backups() != backups_before {
        return fail("a killed backup counts as a backup".into());
    }
    // Nothing half-applied unless reported dirty: what is not dirty is whole.
    let [s1, s2, s3] = case.states;
    if s1 != "dirty" && on.has_table("t") != (s1 == "applied") {
        return fail(format!("table t exists: {}, state {s1}", on.has_table("t")));
    }
    if s2 != "dirty" && on.has_table("u") != (s2 == "applied") {
        return fail(format!("table u exists: {}, state {s2}", on.has_table("u")));
    }
    if s1 == "applied" && s3 != "dirty" {
        let rows = on.scalar("SELECT count(*) FROM t");
        let want = if s3 == "applied" { 2 } else { 1 };
        if rows != want {
            return fail(format!("t has {rows} rows, expected {want}"));
        }
    }

    if let Some((version, resolution)) = case.repair {
        let r = on.run(&["repair", version, resolution, "--yes"]);
        if r.code != 0 {
            return fail(format!("repair: {r:?}"));
        }
    }
    let r = on.run_env(
        &["apply", "--format", "json"],
        &[("MIGRATE_APPLY_LOCK_WAIT", "5s")],
    );
    if r.code != 0 {
        return fail(format!("apply after the crash: {r:?}"));
    }
    let waited = r.json()["lock_waited_ms"].as_u64().unwrap_or(u64::MAX);
    if waited > 500 {
        return fail(format!("the next apply waited {waited} ms for the lock"));
    }
    let (states, _) = on.status();
    if states != ["applied"; 3] {
        return fail(format!("after apply: {states:?}"));
    }
    let rows = on.scalar("SELECT count(*) FROM t");
    let distinct = on.scalar("SELECT count(DISTINCT id) FROM t");
    if (rows, distinct) != (2, 2) || !on.has_table("u") {
        return fail(format!(
            "after apply: t has {rows} rows ({distinct} ids), u exists: {}",
            on.has_table("u")
        ));
    }
    Ok(())
}

/// Every crash case on a fresh database of `server` (made by `fresh`).
fn runner_killed_at_each_failpoint_leaves_a_truthful_recoverable_state(
    server: Option<Server>,
    fresh: impl Fn() -> Option<TestDb>,
) {
    let cases = crash_cases(server);
    let mut failures = Vec::new();
    let mut label = "SQLite";
    for case in &cases {
        let db = match server {
            Some(_) => match fresh() {
                Some(db) => Some(db),
                None => return,
            },
            None => None,
        };
        let on = On::new(bin!("fx-faults-crash"), db.as_ref());
        label = on.label();
        if let Err(e) = crash_case(&on, case) {
            failures.push(e);
        }
    }
    eprintln!(
        "crash on {label}: {} cases, {} passed",
        cases.len(),
        cases.len() - failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn runner_killed_at_each_failpoint_leaves_a_truthful_recoverable_state_on_sqlite() {
    runner_killed_at_each_failpoint_leaves_a_truthful_recoverable_state(None, || None);
}

#[test]
fn runner_killed_at_each_failpoint_leaves_a_truthful_recoverable_state_on_postgres() {
    runner_killed_at_each_failpoint_leaves_a_truthful_recoverable_state(
        Some(Server::Postgres),
        pg_db,
    );
}

#[test]
fn runner_killed_at_each_failpoint_leaves_a_truthful_recoverable_state_on_mysql() {
    runner_killed_at_each_failpoint_leaves_a_truthful_recoverable_state(
        Some(Server::MySql),
        mysql_db,
    );
}
