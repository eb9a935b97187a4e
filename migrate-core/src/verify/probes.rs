//! Probe queries: read-only statements the team lists in `verify.probes`,
//! each run repeatedly over a window inside a read-only transaction that is
//! rolled back, so their p50/p95 latency can be compared before and after a
//! change.

use std::time::{Duration, Instant};

use crate::driver::Connection;
use crate::{Error, Result};

/// Most runs of one probe in one window (a probe that takes microseconds
/// would otherwise run millions of times).
const MAX_RUNS: usize = 2_000;
/// Fewest runs of one probe, however long the window.
const MIN_RUNS: usize = 3;

/// Latency of one probe over one window.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProbeStats {
    /// The statement.
    pub sql: String,
    /// How many times it ran.
    pub runs: usize,
    /// Median, in milliseconds.
    pub p50_ms: f64,
    /// 95th percentile, in milliseconds.
    pub p95_ms: f64,
    /// The database's error, when the probe failed (then it ran no more in
    /// this window); e.g. before the first deploy its table does not exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Rejects a probe that is not a single read-only query: probes run against
/// production, over and over.
pub fn validate(sql: &str) -> Result<()> {
    let words: Vec<String> = sql
        .split(|c: char| c.is_whitespace() || c == '(')
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    let first = words.first().map(String::as_str).unwrap_or("");
    let writes = [
        "INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "ALTER", "DROP", "TRUNCATE", "GRANT",
        "LOCK", "CALL", "DO", "COPY", "VACUUM",
    ];
    let writes_inside = words.iter().any(|w| writes.contains(&w.as_str()));
    let single = !sql.trim().trim_end_matches(';').contains(';');
    if !matches!(first, "SELECT" | "WITH" | "VALUES" | "TABLE") || writes_inside || !single {
        return Err(Error::Config(format!(
            "verify.probes: `{}` is not a single read-only query. Probes run against production, \
             repeatedly: list SELECT statements with literal values (e.g. \
             `SELECT id FROM orders WHERE customer_id = 42`).",
            crate::sql::one_line(sql, 80)
        )));
    }
    Ok(())
}

/// Runs every probe repeatedly for `window` (round robin, so a slow probe
/// does not starve the others), in a read-only transaction rolled back after
/// each run. A probe that fails is recorded with its error and not run again
/// in this window.
pub async fn measure(
    conn: &mut Connection,
    probes: &[String],
    window: Duration,
) -> Result<Vec<ProbeStats>> {
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); probes.len()];
    let mut errors: Vec<Option<String>> = vec![None; probes.len()];
    let started = Instant::now();
    loop {
        for ((sql, times), error) in probes.iter().zip(samples.iter_mut()).zip(errors.iter_mut()) {
            if times.len() >= MAX_RUNS || error.is_some() {
                continue;
            }
            conn.begin_read().await?;
            let t = Instant::now();
            let result = conn.fetch_all_discard(sql).await;
            let elapsed = t.elapsed();
            let _ = conn.rollback().await;
            match result {
                Ok(_) => times.push(elapsed.as_secs_f64() * 1e3),
                Err(e) => *error = Some(crate::url::redact(&e.to_string())),
            }
        }
        let running = || samples.iter().zip(&errors).filter(|(_, e)| e.is_none());
        let fewest = running().map(|(s, _)| s.len()).min().unwrap_or(MAX_RUNS);
        let done = running().all(|(s, _)| s.len() >= MAX_RUNS);
        if done || (started.elapsed() >= window && fewest >= MIN_RUNS) {
            break;
        }
    }
    Ok(probes
        .iter()
        .zip(samples)
        .zip(errors)
        .map(|((sql, mut times), error)| {
            times.sort_by(f64::total_cmp);
            ProbeStats {
                sql: sql.clone(),
                runs: times.len(),
                p50_ms: percentile(&times, 0.50),
                p95_ms: percentile(&times, 0.95),
                error,
            }
        })
        .collect())
}

/// The `q` quantile of sorted samples (nearest rank).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Whether `after` stayed within `factor` × `before` (p50 and p95); an
/// increase smaller than `floor` never counts, so sub-millisecond noise on a
/// busy machine cannot roll a deploy back. Returns the verdict and a
/// sentence with the numbers.
pub fn compare(
    before: &ProbeStats,
    after: &ProbeStats,
    factor: f64,
    floor: Duration,
) -> (bool, String) {
    let floor_ms = floor.as_secs_f64() * 1e3;
    let worse = |b: f64, a: f64| a > b * factor && a - b > floor_ms;
    let ok = !worse(before.p50_ms, after.p50_ms) && !worse(before.p95_ms, after.p95_ms);
    let ratio = |b: f64, a: f64| if b > 0.0 { a / b } else { f64::INFINITY };
    let detail = format!(
        "p50 {} → {} (×{:.1}), p95 {} → {} (×{:.1}); limit ×{factor} (increases under {} ignored); {} runs",
        ms(before.p50_ms),
        ms(after.p50_ms),
        ratio(before.p50_ms, after.p50_ms),
        ms(before.p95_ms),
        ms(after.p95_ms),
        ratio(before.p95_ms, after.p95_ms),
        ms(floor_ms),
        after.runs,
    );
    (ok, detail)
}

/// Milliseconds, with precision that suits the size.
pub(crate) fn ms(v: f64) -> String {
    if v < 1.0 {
        format!("{v:.3} ms")
    } else if v < 100.0 {
        format!("{v:.1} ms")
    } else {
        format!("{v:.0} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(p50: f64, p95: f64) -> ProbeStats {
        ProbeStats {
            sql: "SELECT 1".into(),
            runs: 10,
            p50_ms: p50,
            p95_ms: p95,
            error: None,
        }
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.95), 95.0);
        assert_eq!(percentile(&[7.0], 0.95), 7.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn a_tenfold_regression_fails_and_noise_under_the_floor_does_not() {
        let floor = Duration::from_millis(1);
        let (ok, detail) = compare(&stats(2.0, 3.0), &stats(20.0, 30.0), 2.0, floor);
        assert!(!ok, "{detail}");
        assert!(detail.contains("p50 2.0 ms → 20.0 ms (×10.0)"), "{detail}");
        // ×10 but only 0.09 ms more: noise.
        let (ok, detail) = compare(&stats(0.01, 0.02), &stats(0.1, 0.2), 2.0, floor);
        assert!(ok, "{detail}");
        // Within the factor.
        assert!(compare(&stats(5.0, 8.0), &stats(9.0, 15.0), 2.0, floor).0);
        // Only the tail regressed.
        assert!(!compare(&stats(5.0, 8.0), &stats(5.0, 40.0), 2.0, floor).0);
    }

    #[test]
    fn only_single_read_only_queries_are_probes() {
        assert!(validate("SELECT count(*) FROM orders WHERE customer_id = 42").is_ok());
        assert!(validate("  with x as (select 1) select * from x;").is_ok());
        for bad in [
            "DELETE FROM orders",
            "UPDATE orders SET total = 0",
            "WITH gone AS (DELETE FROM orders RETURNING id) SELECT count(*) FROM gone",
            "SELECT 1; DROP TABLE orders",
            "VACUUM orders",
        ] {
            let err = validate(bad).unwrap_err().to_string();
            assert!(err.contains("not a single read-only query"), "{bad}: {err}");
        }
    }
}
