//! Server-side health signals: sessions waiting on locks (PostgreSQL and
//! MariaDB/MySQL), and the mean execution time of the busiest statements
//! from `pg_stat_statements` when that extension is loaded.

use std::collections::BTreeMap;

use crate::driver::Connection;
use crate::url::Backend;

/// Sessions of this database waiting for a lock right now; `None` on SQLite
/// (one writer, nobody queues on the server). Sessions of other databases
/// on the same server do not count: their waits say nothing about this
/// deploy (InnoDB's transactions are joined to their session's database).
pub async fn lock_waiters(conn: &mut Connection) -> Option<Result<i64, String>> {
    let sql = match conn.backend() {
        Backend::Sqlite => return None,
        Backend::Postgres => {
            "SELECT count(*)::bigint FROM pg_stat_activity \
             WHERE wait_event_type = 'Lock' AND datname = current_database() AND pid <> pg_backend_pid()"
        }
        Backend::MySql => {
            "SELECT CAST((SELECT count(*) FROM information_schema.PROCESSLIST \
               WHERE DB = DATABASE() AND STATE LIKE 'Waiting for%lock%') \
             + (SELECT count(*) FROM information_schema.INNODB_TRX t \
                JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id \
                WHERE t.trx_state = 'LOCK WAIT' AND p.DB = DATABASE()) AS SIGNED)"
        }
    };
    Some(
        conn.fetch_optional_i64(sql)
            .await
            .map(|n| n.unwrap_or(0))
            .map_err(|e| crate::url::redact(&e.to_string())),
    )
}

/// Cumulative counters of one statement in `pg_stat_statements`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StatementCounters {
    /// Times it ran.
    pub calls: f64,
    /// Total execution time, in milliseconds.
    pub total_ms: f64,
}

/// A reading of `pg_stat_statements` for this database: normalized query
/// text → counters.
pub type StatementsSnapshot = BTreeMap<String, StatementCounters>;

/// Mean time of one statement over a window.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StatementMean {
    /// The normalized statement, shortened.
    pub query: String,
    /// Calls in the window.
    pub calls: f64,
    /// Mean execution time in the window, in milliseconds.
    pub mean_ms: f64,
}

/// Reads `pg_stat_statements`; `Err` says why it is unavailable (not
/// PostgreSQL, extension not created, library not preloaded).
pub async fn statements(conn: &mut Connection) -> Result<StatementsSnapshot, String> {
    if conn.backend() != Backend::Postgres {
        return Err("only PostgreSQL has pg_stat_statements".into());
    }
    let rows = conn
        .fetch_strings(
            "SELECT calls::text || '|' || total_exec_time::text || '|' || \
                    left(regexp_replace(query, '\\s+', ' ', 'g'), 120) \
             FROM pg_stat_statements \
             WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
               AND query NOT ILIKE '%pg_stat_statements%' AND query NOT ILIKE '%_migrate%'",
        )
        .await
        .map_err(|e| {
            let e = e.to_string();
            if e.contains("does not exist") {
                "the pg_stat_statements extension is not created in this database \
                 (CREATE EXTENSION pg_stat_statements)"
                    .to_string()
            } else if e.contains("shared_preload_libraries") {
                "pg_stat_statements is not loaded (add it to shared_preload_libraries)".to_string()
            } else {
                crate::url::redact(&e)
            }
        })?;
    let mut out = StatementsSnapshot::new();
    for row in rows {
        let mut parts = row.splitn(3, '|');
        let (Some(calls), Some(total), Some(query)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (Ok(calls), Ok(total_ms)) = (calls.parse::<f64>(), total.parse::<f64>()) else {
            continue;
        };
        let e = out.entry(query.to_string()).or_insert(StatementCounters {
            calls: 0.0,
            total_ms: 0.0,
        });
        e.calls += calls;
        e.total_ms += total_ms;
    }
    Ok(out)
}

/// Mean time per statement between two readings, busiest first (at most
/// `top`); statements that did not run in the window are left out.
pub fn window_means(
    start: &StatementsSnapshot,
    end: &StatementsSnapshot,
    top: usize,
) -> Vec<StatementMean> {
    let mut means: Vec<StatementMean> = end
        .iter()
        .filter_map(|(q, e)| {
            let s = start.get(q).copied().unwrap_or(StatementCounters {
                calls: 0.0,
                total_ms: 0.0,
            });
            // A reset in between: the end reading is the whole window.
            let (calls, total) = if e.calls < s.calls {
                (e.calls, e.total_ms)
            } else {
                (e.calls - s.calls, e.total_ms - s.total_ms)
            };
            (calls >= 1.0).then(|| StatementMean {
                query: q.clone(),
                calls,
                mean_ms: total / calls,
            })
        })
        .collect();
    means.sort_by(|a, b| b.calls.total_cmp(&a.calls).then(a.query.cmp(&b.query)));
    means.truncate(top);
    means
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(rows: &[(&str, f64, f64)]) -> StatementsSnapshot {
        rows.iter()
            .map(|(q, c, t)| {
                (
                    q.to_string(),
                    StatementCounters {
                        calls: *c,
                        total_ms: *t,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn means_are_taken_over_the_window_busiest_first() {
        let start = snap(&[("SELECT a", 100.0, 50.0), ("SELECT b", 10.0, 10.0)]);
        let end = snap(&[
            ("SELECT a", 300.0, 250.0),
            ("SELECT b", 10.0, 10.0),
            ("SELECT c", 5.0, 50.0),
        ]);
        let m = window_means(&start, &end, 5);
        assert_eq!(m.len(), 2, "b did not run in the window: {m:?}");
        assert_eq!(m[0].query, "SELECT a");
        assert_eq!(m[0].calls, 200.0);
        assert_eq!(m[0].mean_ms, 1.0);
        assert_eq!(m[1].mean_ms, 10.0);
        // A reset between the readings.
        let m = window_means(&end, &start, 5);
        assert_eq!(m[0].query, "SELECT a");
        assert_eq!(m[0].calls, 100.0);
    }
}
