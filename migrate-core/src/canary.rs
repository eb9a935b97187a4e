//! The canary: while a migration runs on staging, a separate connection
//! probes the tables it may touch (a read, and a write in a transaction it
//! rolls back) every 20 ms; the longest probe is how long the application
//! would have been blocked.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::driver::{ConnectOptions, Connection};
use crate::url::{Backend, DbUrl};
use crate::{Error, Result};

/// What the canary saw.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CanaryReport {
    /// The longest probe, in milliseconds: how long a query of the
    /// application would have waited.
    pub max_block_ms: u64,
    /// The table whose probe waited longest.
    pub table: Option<String>,
    /// Probes completed.
    pub probes: u64,
    /// A probe error other than waiting (the table was dropped, …), if any.
    pub note: Option<String>,
}

/// A running canary; [`Canary::stop`] ends it and returns what it saw.
pub struct Canary {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<CanaryReport>,
}

/// Probes at most this many tables per round, so a huge schema stays cheap.
const MAX_TABLES: usize = 50;

impl Canary {
    /// Connects to `url` and starts probing `tables` every `interval`.
    pub async fn start(url: &DbUrl, tables: Vec<String>, interval: Duration) -> Result<Canary> {
        let conn = crate::driver::connect(url, &ConnectOptions::default()).await?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(probe_loop(conn, tables, interval, flag));
        Ok(Canary { stop, task })
    }

    /// Stops probing and returns the report.
    pub async fn stop(self) -> CanaryReport {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.unwrap_or_else(|e| CanaryReport {
            note: Some(format!("the canary stopped: {e}")),
            ..CanaryReport::default()
        })
    }
}

async fn probe_loop(
    mut conn: Connection,
    mut tables: Vec<String>,
    interval: Duration,
    stop: Arc<AtomicBool>,
) -> CanaryReport {
    tables.truncate(MAX_TABLES);
    let mut report = CanaryReport::default();
    // The canary must wait as the application would, not give up early.
    let _ = conn.set_timeouts(Duration::from_secs(600), None).await;
    while !stop.load(Ordering::SeqCst) {
        for t in &tables {
            let started = Instant::now();
            if let Err(e) = probe(&mut conn, t).await {
                let _ = conn.rollback().await;
                report
                    .note
                    .get_or_insert_with(|| format!("probe of `{t}`: {e}"));
            }
            let ms = started.elapsed().as_millis() as u64;
            report.probes += 1;
            if ms > report.max_block_ms {
                report.max_block_ms = ms;
                report.table = Some(t.clone());
            }
            if stop.load(Ordering::SeqCst) {
                break;
            }
        }
        tokio::time::sleep(interval).await;
    }
    conn.close().await;
    report
}

/// A read, then a write that takes the table's write lock but changes no
/// row, in a transaction that is rolled back.
async fn probe(conn: &mut Connection, table: &str) -> std::result::Result<(), Error> {
    let q = match conn.backend() {
        Backend::MySql => format!("`{table}`"),
        _ => format!("\"{table}\""),
    };
    conn.fetch_optional_i64(&format!("SELECT 1 FROM {q} LIMIT 1"))
        .await?;
    match conn.backend() {
        Backend::Sqlite => conn.execute("BEGIN IMMEDIATE").await?,
        _ => conn.execute("BEGIN").await?,
    };
    let write = conn.execute(&format!("DELETE FROM {q} WHERE 1 = 0")).await;
    conn.rollback().await?;
    write?;
    Ok(())
}
