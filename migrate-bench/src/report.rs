//! Turning measurements into the printed tables and the generated section of
//! `BENCHMARKS.md`: pure functions, tested without a database.

use std::time::Duration;

use crate::load::Op;

/// The helpers pass when their p99 stays within this multiple of the baseline's.
pub const P99_GOAL: f64 = 2.0;
/// A naive form "blocks" when some write waited at least this long.
pub const BLOCKED: Duration = Duration::from_secs(1);

/// Latency summary of the load during one phase.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub ops: usize,
    pub failed: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub window: Duration,
}

impl Stats {
    /// The operations sent within `window` after `start` (an operation sent
    /// inside but answered after counts: that is the blocked write).
    pub fn of(ops: &[Op], start: std::time::Instant, window: Duration) -> Stats {
        let end = start + window;
        let mut lat: Vec<Duration> = ops
            .iter()
            .filter(|o| o.at >= start && o.at <= end)
            .map(|o| o.latency)
            .collect();
        let failed = ops
            .iter()
            .filter(|o| o.at >= start && o.at <= end && o.failed)
            .count();
        lat.sort_unstable();
        Stats {
            ops: lat.len(),
            failed,
            p50: percentile(&lat, 0.50),
            p99: percentile(&lat, 0.99),
            max: lat.last().copied().unwrap_or_default(),
            window,
        }
    }
}

/// Nearest-rank percentile of sorted `values` (zero when empty).
pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One row of a backend's table.
#[derive(Debug, Clone)]
pub struct Phase {
    pub name: String,
    /// The migration-side statement's duration (`None` for the baseline).
    pub ddl: Option<Duration>,
    pub stats: Stats,
    /// Whether this is one of the online helpers (judged against the goal).
    pub helper: bool,
}

/// The results of one server.
#[derive(Debug, Clone)]
pub struct ServerResult {
    /// `PostgreSQL 15.4`, `MariaDB 10.11.6`.
    pub server: String,
    pub rows: u64,
    pub phases: Vec<Phase>,
}

/// `0.41 ms`, `12.3 ms`, `251 ms`, `2.31 s`.
pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

fn ratio(p99: Duration, baseline: Duration) -> f64 {
    p99.as_secs_f64() / baseline.as_secs_f64().max(1e-9)
}

/// The Markdown table of one server (readable as printed, too).
pub fn table(result: &ServerResult) -> String {
    let baseline = result
        .phases
        .first()
        .map_or(Duration::ZERO, |p| p.stats.p99);
    let header = [
        "phase",
        "DDL duration",
        "load ops",
        "p50",
        "p99",
        "max",
        "p99 ÷ baseline p99",
    ];
    let mut rows: Vec<Vec<String>> = Vec::new();
    for p in &result.phases {
        let s = &p.stats;
        let failed = if s.failed > 0 {
            format!(" ({} failed)", s.failed)
        } else {
            String::new()
        };
        rows.push(vec![
            p.name.clone(),
            p.ddl
                .map_or_else(|| format!("— ({} window)", ms(s.window)), ms),
            format!("{}{failed}", s.ops),
            ms(s.p50),
            ms(s.p99),
            ms(s.max),
            format!("{:.1}×", ratio(s.p99, baseline)),
        ]);
    }
    let mut t = crate::table::Table::new(&header);
    for r in rows {
        t.row(r);
    }
    t.render()
}

/// The one-line judgement: helpers within [`P99_GOAL`]× the baseline p99,
/// naive forms blocking writes for at least [`BLOCKED`].
pub fn verdict(result: &ServerResult) -> String {
    let baseline = result
        .phases
        .first()
        .map_or(Duration::ZERO, |p| p.stats.p99);
    let judged: Vec<&Phase> = result.phases.iter().skip(1).collect();
    let helpers: Vec<String> = judged
        .iter()
        .filter(|p| p.helper)
        .map(|p| {
            format!(
                "{} {:.1}× (longest wait {})",
                p.name,
                ratio(p.stats.p99, baseline),
                ms(p.stats.max)
            )
        })
        .collect();
    let helpers_ok = judged
        .iter()
        .filter(|p| p.helper)
        .all(|p| ratio(p.stats.p99, baseline) <= P99_GOAL);
    let helpers_max = judged
        .iter()
        .filter(|p| p.helper)
        .map(|p| p.stats.max)
        .max()
        .unwrap_or_default();
    let naive: Vec<String> = judged
        .iter()
        .filter(|p| !p.helper)
        .map(|p| format!("{} max {}", p.name, ms(p.stats.max)))
        .collect();
    let naive_block = judged
        .iter()
        .filter(|p| !p.helper)
        .all(|p| p.stats.max >= BLOCKED);
    format!(
        "**Verdict: {}.** Helpers' p99 vs baseline (goal ≤ {P99_GOAL}×): {}. Naive forms' longest write wait: {}{}.",
        match (helpers_ok, naive_block) {
            (true, true) => "goal met",
            (true, false) =>
                "helpers within the goal; a naive form did not block for a second here",
            (false, _) if helpers_max < BLOCKED => {
                "goal missed: the helpers blocked no write for a second, but their p99 is above the goal"
            }
            (false, _) => "goal missed",
        },
        helpers.join(", "),
        naive.join(", "),
        if naive_block {
            " (they block writes for seconds)"
        } else {
            ""
        },
    )
}

/// Markers around the generated section, so other benchmarks can add theirs.
pub const BEGIN: &str = "<!-- BEGIN online-ddl: generated by `cargo run --release -p migrate-bench -- online --write BENCHMARKS.md`; edits inside are overwritten -->";
pub const END: &str = "<!-- END online-ddl -->";

/// `document` with the section between [`BEGIN`] and [`END`] replaced by
/// `section` (appended when absent; a new document gets a title).
pub fn replace_section(document: &str, section: &str) -> String {
    let block = format!("{BEGIN}\n{}\n{END}", section.trim_end());
    let begin = document.find("<!-- BEGIN online-ddl");
    let end = document.find(END);
    match (begin, end) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{block}{}", &document[..b], &document[e + END.len()..])
        }
        _ if document.trim().is_empty() => {
            format!(
                "# Benchmarks\n\nMeasured on real servers; each section says how to regenerate it.\n\n{block}\n"
            )
        }
        _ => format!("{}\n\n{block}\n", document.trim_end()),
    }
}

/// The Markdown section: method, machine, one table and verdict per server.
pub fn section(
    results: &[ServerResult],
    machine: &crate::server::Machine,
    command: &str,
) -> String {
    let rows = results.first().map_or(0, |r| r.rows);
    let mut out = String::new();
    out.push_str("## Online DDL under load\n\n");
    out.push_str(&format!(
        "Regenerate (PostgreSQL and MariaDB running locally):\n\n```sh\n{command}\n```\n\n"
    ));
    out.push_str(&format!(
        "A table `t (id, k, counter, payload)` of {rows} rows. A background task on its own \
         connection sends the application's writes at a fixed {rate} per second, alternately an \
         `INSERT` of a new row and an `UPDATE` of a random existing row by primary key, while the \
         migration side runs one operation through a `migrate_core::Db` on another connection. \
         Each phase lasts as long as that operation (the baseline: 5 s without DDL) and starts from \
         the same state (no index on `k`; on PostgreSQL the table vacuumed and a checkpoint taken). \
         A write's latency runs from when it was due, not from when it could be sent, so a write \
         stuck behind a lock also counts the writes queued behind it (the coordinated-omission \
         correction of wrk2); \"load ops\" are the writes due during the phase. Goal: the online \
         helpers keep p99 within {P99_GOAL}× the baseline p99, while the naive forms block writes \
         for seconds.\n\n",
        rate = (1.0 / crate::load::INTERVAL.as_secs_f64()).round()
    ));
    out.push_str(&format!(
        "Machine: {} CPU{}{}, {} RAM, load average {} at the start; servers: {}; measured {}.\n",
        machine.cpus,
        if machine.cpus == 1 { "" } else { "s" },
        machine
            .cpu_model
            .as_ref()
            .map_or(String::new(), |m| format!(" ({m})")),
        machine
            .memory_gib
            .map_or("unknown".into(), |g| format!("{g:.1} GiB")),
        machine.load_average.as_deref().unwrap_or("unknown"),
        results
            .iter()
            .map(|r| r.server.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        machine.date
    ));
    for r in results {
        out.push_str(&format!(
            "\n### {}\n\n{}\n\n{}\n",
            r.server,
            table(r),
            verdict(r)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(d).collect();
        assert_eq!(percentile(&v, 0.50), d(50));
        assert_eq!(percentile(&v, 0.99), d(99));
        assert_eq!(percentile(&v, 1.0), d(100));
        assert_eq!(percentile(&[], 0.99), Duration::ZERO);
    }

    #[test]
    fn stats_count_operations_sent_in_the_window_even_if_answered_after() {
        let t0 = std::time::Instant::now();
        let op = |at_ms, lat_ms| Op {
            at: t0 + d(at_ms),
            latency: d(lat_ms),
            failed: false,
        };
        let ops = [op(0, 1), op(10, 1), op(20, 5000), op(2000, 1)];
        let s = Stats::of(&ops, t0 + d(5), d(100));
        assert_eq!((s.ops, s.max), (2, d(5000)));
    }

    #[test]
    fn the_section_is_replaced_between_markers_and_the_rest_kept() {
        let first = replace_section("", "## Online DDL under load\n\nv1\n");
        assert!(first.starts_with("# Benchmarks"));
        let doc = format!("{first}\n## Other\n\nkept\n");
        let second = replace_section(&doc, "## Online DDL under load\n\nv2\n");
        assert!(second.contains("v2") && !second.contains("v1"));
        assert!(second.contains("## Other\n\nkept"));
        assert_eq!(second.matches(END).count(), 1);
        let appended = replace_section("# Mine\n", "s");
        assert!(appended.starts_with("# Mine\n\n<!-- BEGIN"));
    }

    #[test]
    fn the_verdict_compares_helpers_to_the_goal_and_naive_forms_to_a_second() {
        let phase = |name: &str, helper, p99, max| Phase {
            name: name.into(),
            ddl: Some(d(1)),
            helper,
            stats: Stats {
                ops: 1,
                failed: 0,
                p50: d(1),
                p99: d(p99),
                max: d(max),
                window: d(1000),
            },
        };
        let mut r = ServerResult {
            server: "PostgreSQL 15".into(),
            rows: 10,
            phases: vec![
                phase("baseline", false, 10, 12),
                phase("helper", true, 15, 20),
                phase("naive", false, 3000, 3000),
            ],
        };
        assert!(
            verdict(&r).starts_with("**Verdict: goal met.**"),
            "{}",
            verdict(&r)
        );
        r.phases[1].stats.p99 = d(30);
        assert!(verdict(&r).starts_with("**Verdict: goal missed: the helpers blocked no write"));
        r.phases[1].stats.max = d(1500);
        assert!(verdict(&r).starts_with("**Verdict: goal missed.**"));
        assert!(table(&r).contains("3.0×"));
    }
}
