//! Race: 8 `apply` and 2 `rollback` processes started at once in a random
//! order, over migrations that are not idempotent (each INSERTs a row into
//! `log`). A sampler watches that no migration's row is ever there twice;
//! at the end the history must match the rows, with no lock left behind.

use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::rng::{Rng, mix};
use crate::support::Run;
use crate::{Backend, On, Tally, bin, soak};

const APPLIES: usize = 8;
const ROLLBACKS: usize = 2;
/// The INSERT migrations of `fx-faults-many` (after the one creating `log`).
const LOGGED: i64 = 10;

/// Rows logged more than once at this moment (must always be 0).
const TWICE: &str =
    "SELECT count(*) FROM (SELECT version FROM log GROUP BY version HAVING count(*) > 1) d";

/// One round on a database where everything is applied; `Err` says what broke.
fn round(on: &On, rng: &mut Rng) -> Result<String, String> {
    let mut procs: Vec<Vec<String>> = (0..APPLIES)
        .map(|_| {
            vec![
                "apply".to_string(),
                "--format".to_string(),
                "json".to_string(),
            ]
        })
        .chain((0..ROLLBACKS).map(|_| {
            vec![
                "rollback".to_string(),
                "--steps".to_string(),
                rng.range(1, 4).to_string(),
            ]
        }))
        .collect();
    rng.shuffle(&mut procs);
    let delays: Vec<u64> = procs.iter().map(|_| rng.range(0, 40)).collect();
    let order: Vec<&str> = procs
        .iter()
        .map(|p| if p[0] == "apply" { "A" } else { "R" })
        .collect();

    let done = AtomicBool::new(false);
    let samples = AtomicUsize::new(0);
    let (runs, twice) = std::thread::scope(|s| {
        let sampler = s.spawn(|| {
            let mut worst = 0;
            while !done.load(Ordering::Relaxed) {
                worst = worst.max(on.scalar(TWICE));
                samples.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(15));
            }
            worst
        });
        let mut children = Vec::new();
        for (args, delay) in procs.iter().zip(&delays) {
            std::thread::sleep(Duration::from_millis(*delay));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut c = on.cmd(&args);
            c.env("MIGRATE_APPLY_LOCK_WAIT", "120s")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            children.push((args.join(" "), c.spawn().expect("runner starts")));
        }
        let runs: Vec<(String, Run)> = children
            .into_iter()
            .map(|(what, child)| {
                let o = child.wait_with_output().expect("runner ends");
                let r = Run {
                    code: o.status.code().unwrap_or(-1),
                    stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
                    stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
                };
                (what, r)
            })
            .collect();
        done.store(true, Ordering::Relaxed);
        (runs, sampler.join().expect("sampler"))
    });
    let order = order.join("");
    for (what, r) in &runs {
        if r.code != 0 {
            return Err(format!(
                "order {order}: `{what}` exited {}: {}",
                r.code, r.stderr
            ));
        }
    }
    // How many migrations the applies ran: what the rollbacks had undone.
    let reapplied: usize = runs
        .iter()
        .filter(|(what, _)| what.starts_with("apply"))
        .map(|(_, r)| r.json()["applied"].as_array().map_or(0, Vec::len))
        .sum();
    if twice != 0 {
        return Err(format!(
            "order {order}: a migration's row was there twice at once"
        ));
    }

    // The history agrees with the rows: applied is a prefix, each logged once.
    let (states, lock) = on.status();
    let applied = states.iter().take_while(|s| *s == "applied").count();
    if lock != "free" || states[applied..].iter().any(|s| s != "pending") || applied == 0 {
        return Err(format!("order {order}: status {states:?}, lock {lock}"));
    }
    let n = applied as i64 - 1;
    let rows = (
        on.scalar("SELECT count(*) FROM log"),
        on.scalar("SELECT count(DISTINCT version) FROM log"),
        on.scalar(&format!(
            "SELECT count(*) FROM log WHERE version BETWEEN 1 AND {n}"
        )),
    );
    if rows != (n, n, n) {
        return Err(format!(
            "order {order}: {n} INSERT migrations applied but log has (rows, distinct, in 1..={n}) {rows:?}"
        ));
    }

    // And everything applies again, exactly once.
    let r = on.run(&["apply"]);
    let rows = (
        on.scalar("SELECT count(*) FROM log"),
        on.scalar("SELECT count(DISTINCT version) FROM log"),
    );
    if r.code != 0 || rows != (LOGGED, LOGGED) {
        return Err(format!("order {order}: final apply {r:?}, log {rows:?}"));
    }
    Ok(format!(
        "order {order}, {reapplied} re-applied, {n} left applied, {} samples",
        samples.load(Ordering::Relaxed)
    ))
}

/// Runs the race category: 3 rounds per backend (20 with `MIGRATE_SOAK=1`),
/// each on the same fresh database.
pub fn run(seed: u64) -> Tally {
    let rounds = if soak() { 20 } else { 3 };
    let mut tally = Tally::default();
    for (b, backend) in Backend::ALL.into_iter().enumerate() {
        if !tally.reachable(backend) {
            continue;
        }
        let mut rng = Rng::new(mix(seed, b as u64));
        let db = match std::panic::catch_unwind(|| backend.fresh()) {
            Ok(Ok(db)) => db,
            _ => {
                tally.case(backend.name(), "fresh database", || {
                    Err("cannot create a database".into())
                });
                continue;
            }
        };
        let on = On::new(bin!("fx-faults-many"), db.as_ref());
        let r = on.run(&["apply"]);
        if r.code != 0 {
            tally.case(backend.name(), "first apply", || Err(format!("{r:?}")));
            continue;
        }
        for i in 0..rounds {
            tally.case(backend.name(), &format!("round {i}"), || {
                let what = round(&on, &mut rng)?;
                eprintln!("race on {} round {i}: {what}", backend.name());
                Ok(())
            });
        }
    }
    tally
}
