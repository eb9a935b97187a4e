//! The migrator lock on the servers: exclusive, naming its holder, scoped to
//! a database and history table, and freed when its holder dies.

use std::process::{Child, Stdio};
use std::time::Duration;

use super::{Server, TestDb, eventually, mysql_db, pg_db, run};
use crate::bin;
use crate::support::{Sandbox, wait_for_line};

/// A runner holding the migrator lock of `db`, paused right after taking it.
fn hold_lock(db: &TestDb, sb: &Sandbox) -> Child {
    let mut cmd = db.cmd(sb, &sb.runner, &["apply"]);
    cmd.env("MIGRATE_FAILPOINT", "lock.after:pause")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("runner starts");
    let seen = wait_for_line(&mut child, "failpoint", Duration::from_secs(60));
    assert!(seen.contains("failpoint lock.after reached"), "{seen}");
    child
}

fn lock_is_exclusive_names_its_holder_and_dies_with_it(db: &TestDb, other: &TestDb) {
    let sb = Sandbox::new(bin!("fx-shop"));
    let mut holder = hold_lock(db, &sb);
    let holder_pid = holder.id();

    let r = run({
        let mut c = db.cmd(&sb, &sb.runner, &["apply"]);
        c.env("MIGRATE_APPLY_LOCK_WAIT", "1s");
        c
    });
    let status = db.run(&sb, &["status", "--format", "json"]);
    let other_set = run({
        let mut c = db.cmd(&sb, &sb.runner, &["status", "--format", "json"]);
        c.env("MIGRATE_HISTORY_TABLE", "_migrate_other");
        c
    });
    let other_db = run({
        let mut c = other.cmd(&sb, &sb.runner, &["apply"]);
        c.env("MIGRATE_APPLY_LOCK_WAIT", "1s");
        c
    });
    holder.kill().expect("SIGKILL the holder");
    let _ = holder.wait();

    assert_eq!(r.code, 5, "{r:?}");
    assert!(
        r.stderr.contains("another deployer holds it: pid"),
        "{}",
        r.stderr
    );
    let lock = &status.json()["lock"];
    assert_eq!(lock["lock"], "held", "{status:?}");
    let named_pid = lock["holder"]["pid"].as_u64().expect("holder pid");
    assert!(
        !lock["holder"]["host"].as_str().unwrap_or("").is_empty(),
        "{lock}"
    );
    assert!(
        lock["holder"]["since"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z')),
        "{lock}"
    );
    if db.server == Server::Postgres {
        assert_eq!(
            named_pid,
            u64::from(holder_pid),
            "PostgreSQL names the runner's process"
        );
        assert!(
            r.stderr.contains(&format!("pid {holder_pid} on")),
            "{}",
            r.stderr
        );
    } else {
        assert!(named_pid > 0, "MySQL names the holder's connection id");
        assert!(
            r.stderr.contains(&format!("pid {named_pid} on")),
            "{}",
            r.stderr
        );
    }
    assert_eq!(
        other_set.json()["lock"]["lock"],
        "free",
        "another history table has its own lock: {other_set:?}"
    );
    assert_eq!(
        other_db.code, 0,
        "another database has its own lock: {other_db:?}"
    );

    let freed = eventually(Duration::from_secs(10), || {
        db.run(&sb, &["status", "--format", "json"]).json()["lock"]["lock"] == "free"
    });
    assert!(freed, "the lock died with its holder");
    let r = db.run(&sb, &["apply"]);
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn lock_is_exclusive_names_its_holder_and_dies_with_it_on_postgres() {
    let (Some(db), Some(other)) = (pg_db(), pg_db()) else {
        return;
    };
    lock_is_exclusive_names_its_holder_and_dies_with_it(&db, &other);
}

#[test]
fn lock_is_exclusive_names_its_holder_and_dies_with_it_on_mysql() {
    let (Some(db), Some(other)) = (mysql_db(), mysql_db()) else {
        return;
    };
    lock_is_exclusive_names_its_holder_and_dies_with_it(&db, &other);
}
