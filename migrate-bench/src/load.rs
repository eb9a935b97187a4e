//! The application's write load: a task on its own connection that inserts a
//! row or updates a random existing one at a fixed rate, timing each statement
//! from when it was due, not from when it could be sent.
//!
//! A closed loop (send, wait, send) under-reports a stall: while one write
//! waits 10 s for a lock, the requests that would have arrived meanwhile are
//! never sent, and the stall is one sample among thousands. Here requests are
//! due every [`INTERVAL`]; a late one is sent as soon as the previous answers,
//! and its latency counts the time it waited in line (the correction for
//! "coordinated omission" of wrk2 and HdrHistogram).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use migrate_core::driver::{self, ConnectOptions, Connection};
use migrate_core::url::DbUrl;

/// Time between two due requests: 200 writes per second.
pub const INTERVAL: Duration = Duration::from_millis(5);

/// One timed statement of the load.
#[derive(Debug, Clone, Copy)]
pub struct Op {
    /// When it was due.
    pub at: Instant,
    /// From when it was due until the server answered.
    pub latency: Duration,
    /// Whether it failed (a lock-wait timeout, for instance).
    pub failed: bool,
}

/// A running load; [`Load::stop`] ends it and returns its operations.
pub struct Load {
    stop_at: Arc<Mutex<Option<Instant>>>,
    task: tokio::task::JoinHandle<Result<Vec<Op>, String>>,
}

/// Consecutive failures after which the load gives up (the connection is gone).
const GIVE_UP_AFTER: u32 = 100;

impl Load {
    /// Connects and starts the load on table `t`, whose existing keys are
    /// `1..=max_id`.
    pub async fn start(url: &DbUrl, max_id: u64) -> Result<Load, String> {
        let conn = driver::connect(url, &ConnectOptions::default())
            .await
            .map_err(|e| format!("load connection: {e}"))?;
        let stop_at = Arc::new(Mutex::new(None));
        let task = tokio::spawn(run(conn, max_id, stop_at.clone()));
        Ok(Load { stop_at, task })
    }

    /// Stops the load at `end`: every request due until then is still sent
    /// (the backlog of a stall included), then the operations are returned.
    pub async fn stop(self, end: Instant) -> Result<Vec<Op>, String> {
        *self.stop_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(end);
        self.task
            .await
            .map_err(|e| format!("the load task failed: {e}"))?
    }
}

async fn run(
    mut conn: Connection,
    max_id: u64,
    stop_at: Arc<Mutex<Option<Instant>>>,
) -> Result<Vec<Op>, String> {
    let mut ops = Vec::with_capacity(1 << 16);
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15 ^ u64::from(std::process::id()));
    let mut failures = 0;
    let first = Instant::now();
    for n in 0u32.. {
        let due = first + INTERVAL * n;
        let stop = *stop_at.lock().unwrap_or_else(|p| p.into_inner());
        if stop.is_some_and(|end| due > end) {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        // Statements carry literals rather than binds: one round trip each
        // and no statement cache to fill; the lock waits are what is measured.
        let sql = if n % 2 == 0 {
            format!(
                "INSERT INTO t (k, counter, payload) VALUES ({}, 0, 'load')",
                rng.next() % 1_000_003
            )
        } else {
            format!(
                "UPDATE t SET counter = counter + 1 WHERE id = {}",
                1 + rng.next() % max_id
            )
        };
        let result = conn.execute(&sql).await;
        ops.push(Op {
            at: due,
            latency: due.elapsed(),
            failed: result.is_err(),
        });
        match result {
            Ok(_) => failures = 0,
            Err(e) => {
                failures += 1;
                if failures >= GIVE_UP_AFTER {
                    return Err(format!(
                        "the load failed {failures} times in a row, last: {e}"
                    ));
                }
            }
        }
    }
    conn.close().await;
    Ok(ops)
}

/// A small deterministic generator: the keys only need to be spread out.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}
