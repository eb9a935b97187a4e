//! Crash: the runner SIGKILLed at randomized points during `apply`,
//! `rollback` and `backup` on every backend. After each kill `status` must
//! tell the truth (checked against the catalog), no lock may be held, the
//! rows of an unrelated table must be intact, and repair + apply must
//! bring the database to the fully applied state.

use std::process::{Command, Stdio};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use crate::harness::eventually;
use crate::rng::{Rng, mix};
use crate::{Backend, On, Tally, Unreachable, bin, soak};

const VERSIONS: [&str; 3] = ["20240902000001", "20240902000002", "20240902000003"];

/// What is killed.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Apply = 0,
    Rollback = 1,
    Backup = 2,
}

/// How it is killed.
#[derive(Debug, Clone)]
enum Kill {
    /// At a named failpoint (`name` or `name@N`), once it is reached.
    At(String),
    /// After this many milliseconds.
    After(u64),
}

/// One randomized crash case.
#[derive(Debug)]
struct Plan {
    op: Op,
    /// Run before the killed command (`apply`, `apply --to V1`, or nothing).
    setup: Option<Vec<&'static str>>,
    args: Vec<String>,
    kill: Kill,
    /// Rows seeded into `keep_rows`, which no migration touches.
    keep: u64,
}

/// How a kill went.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// Killed at the failpoint or by the timer.
    Killed,
    /// The command finished first, with this exit code, after this many milliseconds.
    Finished(i32, u64),
}

/// Per-backend counts of how the kills went, for the report.
#[derive(Default)]
struct Kills {
    at_failpoint: usize,
    by_timer: usize,
    finished_first: usize,
    /// The kills that came too late, for the report.
    missed: Vec<String>,
}

fn plan(rng: &mut Rng, backend: Backend, budgets: &[u64; 3]) -> Plan {
    let op = *rng.pick(&[
        Op::Apply,
        Op::Apply,
        Op::Apply,
        Op::Rollback,
        Op::Rollback,
        Op::Backup,
    ]);
    let backup_point = if backend == Backend::Sqlite {
        "backup.after_copy"
    } else {
        *rng.pick(&["backup.dump_running", "backup.after_copy"])
    };
    // `fx-faults-crash`: (statements, transactional) of migrations 1..=3.
    const SHAPE: [(u64, bool); 3] = [(2, true), (2, false), (1, true)];
    let mysql = backend == Backend::MariaDb;
    // `name@N` with N drawn among the hits the command will make (none: left out).
    let at = |rng: &mut Rng, name: &str, hits: u64| -> Option<String> {
        (hits > 0).then(|| format!("{name}@{}", rng.range(1, hits)))
    };
    let (setup, args, points): (Option<Vec<&str>>, Vec<String>, Vec<Option<String>>) = match op {
        Op::Apply => {
            let first = rng.range(0, 1) as usize;
            let pending = &SHAPE[first..];
            let count = |f: fn(&(u64, bool)) -> u64| pending.iter().map(f).sum::<u64>();
            let started_rows = if mysql {
                pending.len() as u64
            } else {
                count(|m| u64::from(!m.1))
            };
            (
                (first == 1).then(|| vec!["apply", "--to", VERSIONS[0]]),
                vec!["apply".into()],
                vec![
                    Some("lock.before".into()),
                    Some("lock.after".into()),
                    at(rng, "apply.before_migration", pending.len() as u64),
                    at(rng, "apply.after_migration", pending.len() as u64),
                    at(rng, "apply.after_started_row", started_rows),
                    at(rng, "apply.in_transaction", count(|m| u64::from(m.1))),
                    at(rng, "db.execute", count(|m| m.0)),
                    at(rng, "db.execute", count(|m| m.0)),
                    Some(backup_point.into()),
                    Some("backup.before_rename".into()),
                    Some("backup.writing_manifest".into()),
                ],
            )
        }
        Op::Rollback => {
            let (args, steps): (Vec<String>, usize) = match rng.range(0, 2) {
                0 => (vec!["rollback".into(), "--to".into(), "0".into()], 3),
                1 => (
                    vec!["rollback".into(), "--to".into(), VERSIONS[0].into()],
                    2,
                ),
                _ => {
                    let k = rng.range(1, 3);
                    (
                        vec!["rollback".into(), "--steps".into(), k.to_string()],
                        k as usize,
                    )
                }
            };
            // Newest first: the downs of the last `steps` migrations, one statement each.
            let undone = &SHAPE[3 - steps..];
            let started_rows = if mysql {
                steps as u64
            } else {
                undone.iter().filter(|m| !m.1).count() as u64
            };
            let transactional = undone.iter().filter(|m| m.1).count() as u64;
            (
                Some(vec!["apply"]),
                args,
                vec![
                    Some("lock.after".into()),
                    at(rng, "rollback.before_migration", steps as u64),
                    at(rng, "rollback.in_transaction", transactional),
                    at(rng, "rollback.after_started_row", started_rows),
                    at(rng, "db.execute", steps as u64),
                    at(rng, "db.execute", steps as u64),
                ],
            )
        }
        Op::Backup => (
            Some(vec!["apply"]),
            vec!["backup".into()],
            vec![
                Some(backup_point.into()),
                Some("backup.before_rename".into()),
                Some("backup.writing_manifest".into()),
            ],
        ),
    };
    let points: Vec<String> = points.into_iter().flatten().collect();
    let kill = if rng.range(0, 9) < 7 {
        Kill::At(rng.pick(&points).clone())
    } else {
        Kill::After(rng.range(0, budgets[op as usize]))
    };
    Plan {
        op,
        setup,
        args,
        kill,
        keep: rng.range(1, 40),
    }
}

/// Spawns `cmd` and SIGKILLs it as `kill` says; a failpoint that is never
/// reached (its `@N` beyond the hits) lets the command finish.
fn spawn_and_kill(mut cmd: Command, kill: &Kill) -> Result<Outcome, String> {
    use std::io::{BufRead, BufReader};
    if let Kill::At(point) = kill {
        cmd.env("MIGRATE_FAILPOINT", format!("{point}:pause"));
    }
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
    let stderr = child.stderr.take().expect("stderr piped");
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let started = Instant::now();
    let mut seen = String::new();
    let outcome = loop {
        if let Kill::After(ms) = kill
            && started.elapsed() >= Duration::from_millis(*ms)
        {
            break Outcome::Killed;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("neither killed nor finished within 60 s:\n{seen}"));
        }
        match rx.recv_timeout(Duration::from_millis(5)) {
            Ok(line) => {
                let reached = line.starts_with("failpoint ") && line.contains(" reached");
                seen.push_str(&line);
                seen.push('\n');
                if reached {
                    break Outcome::Killed;
                }
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                    break Outcome::Finished(status.code().unwrap_or(-1), ms(started));
                }
            }
        }
    };
    if outcome == Outcome::Killed {
        // Already exited? Then it finished before the timer: report that.
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(Outcome::Finished(status.code().unwrap_or(-1), ms(started)));
        }
        child.kill().map_err(|e| format!("SIGKILL: {e}"))?;
    }
    let _ = child.wait();
    if let Outcome::Finished(code, _) = outcome
        && code != 0
    {
        return Err(format!(
            "the command failed on its own (exit {code}):\n{seen}"
        ));
    }
    Ok(outcome)
}

/// Milliseconds since `started`.
fn ms(started: Instant) -> u64 {
    started.elapsed().as_millis() as u64
}

/// Whether `states` reads applied* [dirty] pending*.
fn well_formed(states: &[String]) -> bool {
    let mut phase = 0; // 0: applied, 1: after dirty, 2: pending
    for s in states {
        match (s.as_str(), phase) {
            ("applied", 0) => {}
            ("dirty", 0) => phase = 1,
            ("pending", _) => phase = 2,
            _ => return false,
        }
    }
    true
}

/// `keep_rows`: its rows, distinct values, and ids in the seeded range.
fn keep_rows(on: &On, seeded: u64) -> (i64, i64, i64) {
    (
        on.scalar("SELECT count(*) FROM keep_rows"),
        on.scalar("SELECT count(DISTINCT v) FROM keep_rows"),
        on.scalar(&format!(
            "SELECT count(*) FROM keep_rows WHERE id BETWEEN 1 AND {seeded}"
        )),
    )
}

/// Checks that what `status` says matches the catalog and the rows.
fn status_tells_the_truth(on: &On, states: &[String]) -> Result<(), String> {
    if states.len() != 3 || !well_formed(states) {
        return Err(format!("status reports {states:?}"));
    }
    let (t, u) = (on.has_table("t"), on.has_table("u"));
    if states[0] != "dirty" && t != (states[0] == "applied") {
        return Err(format!("{states:?} but table t exists: {t}"));
    }
    if states[1] != "dirty" && u != (states[1] == "applied") {
        return Err(format!("{states:?} but table u exists: {u}"));
    }
    if t && states[0] == "applied" && states[2] != "dirty" {
        let rows = on.scalar("SELECT count(*) FROM t");
        let want = if states[2] == "applied" { 2 } else { 1 };
        if rows != want {
            return Err(format!("{states:?} but t has {rows} rows, not {want}"));
        }
    }
    Ok(())
}

/// One case on a fresh database; `Err` says what was wrong.
fn case(on: &On, plan: &Plan, kills: &mut Kills, budgets: &mut [u64; 3]) -> Result<(), String> {
    if on.db.is_none() {
        // An empty file is an empty SQLite database, for the seeding below.
        std::fs::File::create(on.sb.db_path()).map_err(|e| e.to_string())?;
    }
    on.execute("CREATE TABLE keep_rows (id INTEGER PRIMARY KEY, v VARCHAR(20))");
    let values: Vec<String> = (1..=plan.keep)
        .map(|i| format!("({i}, 'row {i}')"))
        .collect();
    on.execute(&format!(
        "INSERT INTO keep_rows (id, v) VALUES {}",
        values.join(", ")
    ));
    let keep = keep_rows(on, plan.keep);
    if let Some(setup) = &plan.setup {
        let r = on.run(setup);
        if r.code != 0 {
            return Err(format!("setup {setup:?}: {r:?}"));
        }
    }
    let backups_before = on.backups();
    let args: Vec<&str> = plan.args.iter().map(String::as_str).collect();
    match spawn_and_kill(on.cmd(&args), &plan.kill)? {
        Outcome::Killed if matches!(plan.kill, Kill::At(_)) => kills.at_failpoint += 1,
        Outcome::Killed => kills.by_timer += 1,
        Outcome::Finished(_, took) => {
            // A timer that came too late: the next one of this command stays within its run time.
            if matches!(plan.kill, Kill::After(_)) {
                budgets[plan.op as usize] = took;
            }
            kills.finished_first += 1;
            kills
                .missed
                .push(format!("{} {:?}", plan.args.join(" "), plan.kill));
        }
    }

    // No lock survives the runner, and status tells the truth.
    let mut last = (Vec::new(), String::new());
    if !eventually(Duration::from_secs(10), || {
        last = on.status();
        last.1 == "free"
    }) {
        return Err(format!(
            "the lock is still held 10 s after the kill: {last:?}"
        ));
    }
    let states = last.0;
    status_tells_the_truth(on, &states)?;
    if keep_rows(on, plan.keep) != keep {
        return Err(format!(
            "keep_rows changed: {:?} -> {:?}",
            keep,
            keep_rows(on, plan.keep)
        ));
    }
    let killed_backup = matches!(&plan.kill, Kill::At(p) if p.starts_with("backup."));
    let backups_now = on.backups();
    if killed_backup && backups_now != backups_before {
        return Err(format!(
            "a backup killed before it was renamed into place is listed ({backups_before} -> {backups_now})"
        ));
    }

    // Repair what is dirty, judging from the catalog what is in place.
    if let Some(i) = states.iter().position(|s| s == "dirty") {
        let resolution = match i {
            0 if on.has_table("t") => "--run-down",
            1 if on.has_table("u") => "--run-down",
            2 => "--run-down",
            _ => "--rolled-back",
        };
        let r = on.run(&["repair", VERSIONS[i], resolution, "--yes"]);
        if r.code != 0 {
            return Err(format!("repair {} {resolution}: {r:?}", VERSIONS[i]));
        }
    }
    let r = on.run_env(
        &["apply", "--format", "json"],
        &[("MIGRATE_APPLY_LOCK_WAIT", "5s")],
    );
    if r.code != 0 {
        return Err(format!("apply after the kill: {r:?}"));
    }
    let waited = r.json()["lock_waited_ms"].as_u64().unwrap_or(u64::MAX);
    if waited > 500 {
        return Err(format!("the next apply waited {waited} ms for the lock"));
    }
    let (states, lock) = on.status();
    if states != ["applied"; 3] || lock != "free" {
        return Err(format!("after recovery: {states:?}, lock {lock}"));
    }
    let t = (
        on.scalar("SELECT count(*) FROM t"),
        on.scalar("SELECT count(DISTINCT id) FROM t"),
    );
    if t != (2, 2) || !on.has_table("u") {
        return Err(format!(
            "after recovery: t has {t:?} rows (distinct ids), u exists: {}",
            on.has_table("u")
        ));
    }
    if keep_rows(on, plan.keep) != keep {
        return Err(format!(
            "keep_rows changed: {:?} -> {:?}",
            keep,
            keep_rows(on, plan.keep)
        ));
    }
    if plan.op == Op::Backup {
        let r = on.run(&["backup"]);
        if r.code != 0 || on.backups() != backups_now + 1 {
            return Err(format!("backup after the kill: {r:?}"));
        }
    }
    Ok(())
}

/// Runs the crash category: 20 cases per backend (100 with `MIGRATE_SOAK=1`),
/// the first a fixed kill inside a DDL down, the others drawn from the seed.
pub fn run(seed: u64) -> Tally {
    let cases = if soak() { 100 } else { 20 };
    let mut tally = Tally::default();
    for (b, backend) in Backend::ALL.into_iter().enumerate() {
        if !tally.reachable(backend) {
            continue;
        }
        let mut rng = Rng::new(mix(seed, b as u64));
        let mut kills = Kills::default();
        // Per command (apply, rollback, backup): timers are drawn below this many ms.
        let first = if backend == Backend::Sqlite { 200 } else { 800 };
        let mut budgets = [first; 3];
        for i in 0..cases {
            let mut plan = plan(&mut rng, backend, &budgets);
            if i == 0 {
                // Always one kill inside the transactional down of a DDL
                // migration (`DROP TABLE t`), which MariaDB commits at once.
                plan.op = Op::Rollback;
                plan.setup = Some(vec!["apply"]);
                plan.args = vec!["rollback".into(), "--to".into(), "0".into()];
                plan.kill = Kill::At("rollback.in_transaction@2".into());
            }
            let label = format!(
                "case {i}: {:?} {:?} (setup {:?})",
                plan.args, plan.kill, plan.setup
            );
            tally.case(backend.name(), &label, || {
                let db = backend
                    .fresh()
                    .map_err(|Unreachable| "the server went away".to_string())?;
                let on = On::new(bin!("fx-faults-crash"), db.as_ref());
                case(&on, &plan, &mut kills, &mut budgets)
            });
        }
        eprintln!(
            "crash on {}: killed at a failpoint {}, by a timer {}, finished before the kill {} {:?}",
            backend.name(),
            kills.at_failpoint,
            kills.by_timer,
            kills.finished_first,
            kills.missed
        );
    }
    tally
}
