//! What happened between two scrapes: request and error counts, error rate
//! and latency quantiles from histogram bucket deltas. Pure, so it is tested
//! on text samples without a server.

use std::collections::HashMap;
use std::time::Duration;

use super::scrape::{Histogram, Labels, Scrape, Series};
use super::{DEFAULT_ERRORS, MetricsConfig, WindowStats};
use crate::{Error, Result};

/// Computes the window's numbers; `elapsed` is the time between the scrapes.
///
/// A counter that went down between the scrapes was reset (the app
/// restarted): its after value is taken as the increase, and
/// [`WindowStats::counter_reset`] says so. A series that appears only in
/// `after` counts from zero. Errors are counted as [`MetricsConfig::errors`]
/// documents.
pub fn window(
    before: &Scrape,
    after: &Scrape,
    cfg: &MetricsConfig,
    elapsed: Duration,
) -> Result<WindowStats> {
    let mut reset = false;
    require_series(after, &cfg.requests, cfg, "requests")?;
    let requests_series = |s| matching_requests(s, cfg);
    let requests = counter_delta(
        &requests_series(before),
        &requests_series(after),
        &mut reset,
    );
    if requests_series(after).is_empty() {
        return Err(no_match(after, &cfg.requests, cfg));
    }

    let errors = match errors_source(before, after, cfg) {
        ErrorsSource::Counter(name) => {
            require_series(after, name, cfg, "errors")?;
            counter_delta(
                &matching(&before.series, name, &cfg.labels),
                &matching(&after.series, name, &cfg.labels),
                &mut reset,
            )
        }
        ErrorsSource::ServerErrorStatus => {
            let five_xx = |s| -> Vec<&Series> {
                matching_requests(s, cfg)
                    .into_iter()
                    .filter(|s| is_server_error(&s.labels))
                    .collect()
            };
            counter_delta(&five_xx(before), &five_xx(after), &mut reset)
        }
    };

    let (p50, p95) = if cfg.latency.is_empty() {
        (None, None)
    } else {
        if !after.has_histogram(&cfg.latency) {
            return Err(missing(after, &cfg.latency, cfg, "latency", "histogram"));
        }
        let buckets = histogram_delta(before, after, cfg, &mut reset);
        (quantile(0.5, &buckets), quantile(0.95, &buckets))
    };

    Ok(WindowStats {
        window_seconds: elapsed.as_secs_f64(),
        requests,
        errors,
        error_rate: (requests > 0.0).then(|| (errors / requests).min(1.0)),
        p50_seconds: p50,
        p95_seconds: p95,
        counter_reset: reset,
    })
}

/// Where the error count comes from.
enum ErrorsSource<'a> {
    /// A separate counter.
    Counter(&'a str),
    /// The request counter's series with a 5xx `status` (or `code`) label.
    ServerErrorStatus,
}

fn errors_source<'a>(before: &Scrape, after: &Scrape, cfg: &'a MetricsConfig) -> ErrorsSource<'a> {
    match cfg.errors.as_deref() {
        Some(name) => ErrorsSource::Counter(name),
        None if after.has_series(DEFAULT_ERRORS) || before.has_series(DEFAULT_ERRORS) => {
            ErrorsSource::Counter(DEFAULT_ERRORS)
        }
        None => ErrorsSource::ServerErrorStatus,
    }
}

/// A 5xx `status` label, else a 5xx `code` label.
fn is_server_error(labels: &Labels) -> bool {
    let status = labels.get("status").or_else(|| labels.get("code"));
    status.is_some_and(|s| {
        s.len() == 3 && s.starts_with('5') && s.bytes().all(|b| b.is_ascii_digit())
    })
}

fn matching_requests<'a>(scrape: &'a Scrape, cfg: &MetricsConfig) -> Vec<&'a Series> {
    matching(&scrape.series, &cfg.requests, &cfg.labels)
}

fn matching<'a>(series: &'a [Series], name: &str, filter: &Labels) -> Vec<&'a Series> {
    series
        .iter()
        .filter(|s| s.name == name && labels_match(&s.labels, filter))
        .collect()
}

fn labels_match(labels: &Labels, filter: &Labels) -> bool {
    filter.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// The increase of the summed series, series by series (a reset series
/// counts its after value).
fn counter_delta(before: &[&Series], after: &[&Series], reset: &mut bool) -> f64 {
    let previous: HashMap<&Labels, f64> = before.iter().map(|s| (&s.labels, s.value)).collect();
    after
        .iter()
        .filter(|s| s.value.is_finite())
        .map(|s| match previous.get(&s.labels) {
            Some(&b) if s.value >= b => s.value - b,
            Some(_) => {
                *reset = true;
                s.value
            }
            None => s.value,
        })
        .sum()
}

/// The bucket increases of the matching histogram series, summed by bound.
fn histogram_delta(
    before: &Scrape,
    after: &Scrape,
    cfg: &MetricsConfig,
    reset: &mut bool,
) -> Vec<(f64, f64)> {
    fn pick<'a>(s: &'a Scrape, cfg: &MetricsConfig) -> Vec<&'a Histogram> {
        s.histograms
            .iter()
            .filter(|h| h.name == cfg.latency && labels_match(&h.labels, &cfg.labels))
            .collect()
    }
    let previous: HashMap<&Labels, &Histogram> = pick(before, cfg)
        .into_iter()
        .map(|h| (&h.labels, h))
        .collect();
    let mut sums: HashMap<u64, (f64, f64)> = HashMap::new();
    for h in pick(after, cfg) {
        let old: HashMap<u64, f64> = previous
            .get(&h.labels)
            .map(|b| b.buckets.iter().map(|&(le, c)| (le.to_bits(), c)).collect())
            .unwrap_or_default();
        let went_down = h
            .buckets
            .iter()
            .any(|&(le, c)| old.get(&le.to_bits()).is_some_and(|&o| c < o));
        if went_down {
            *reset = true;
        }
        for &(le, count) in &h.buckets {
            let base = if went_down {
                0.0
            } else {
                old.get(&le.to_bits()).copied().unwrap_or(0.0)
            };
            sums.entry(le.to_bits()).or_insert((le, 0.0)).1 += count - base;
        }
    }
    let mut buckets: Vec<(f64, f64)> = sums.into_values().collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    buckets
}

/// The `q` quantile of cumulative buckets `(upper bound, count)` sorted by
/// bound, the way Prometheus' `histogram_quantile` computes it: linear
/// interpolation inside the bucket holding the rank, the lowest bucket
/// starting at 0, and the upper bound of the highest finite bucket when the
/// rank falls in `+Inf`. `None` without observations or a `+Inf` bucket.
pub(super) fn quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let &(last_bound, total) = buckets.last()?;
    if last_bound != f64::INFINITY || total.is_nan() || total <= 0.0 || buckets.len() < 2 {
        return None;
    }
    // Buckets are cumulative; a scrape racing an observation can break that,
    // which Prometheus also smooths over by taking the running maximum.
    let mut running = 0.0_f64;
    let cumulative: Vec<(f64, f64)> = buckets
        .iter()
        .map(|&(le, c)| {
            running = running.max(c);
            (le, running)
        })
        .collect();
    let rank = q * total;
    let finite = &cumulative[..cumulative.len() - 1];
    let Some(i) = finite.iter().position(|&(_, c)| c >= rank) else {
        return Some(finite[finite.len() - 1].0);
    };
    let (end, count) = cumulative[i];
    if i == 0 && end <= 0.0 {
        return Some(end);
    }
    let (start, below) = if i == 0 {
        (0.0, 0.0)
    } else {
        cumulative[i - 1]
    };
    let inside = count - below;
    if inside <= 0.0 {
        return Some(end);
    }
    Some(start + (end - start) * (rank - below) / inside)
}

fn require_series(after: &Scrape, name: &str, cfg: &MetricsConfig, key: &str) -> Result<()> {
    if after.has_series(name) {
        Ok(())
    } else {
        Err(missing(after, name, cfg, key, "counter"))
    }
}

fn missing(scrape: &Scrape, name: &str, cfg: &MetricsConfig, key: &str, kind: &str) -> Error {
    let names = scrape.names();
    let suggestion = names
        .iter()
        .map(|n| (strsim::jaro_winkler(name, n), n))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, n)| format!(" did you mean `{n}`?"))
        .unwrap_or_default();
    const SHOWN: usize = 12;
    let mut present = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        present.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    if names.is_empty() {
        present = "no metric at all".into();
    }
    Error::Message(format!(
        "the {kind} `{name}` is not among the metrics of {url};{suggestion}\n  \
         The endpoint has {present}. Set metrics_{key} in [verify] (Migrate.toml) to the app's metric name{hint}",
        url = cfg.redacted_url(),
        hint = if key == "latency" {
            ", or to \"\" when the app has no latency histogram"
        } else {
            ""
        },
    ))
}

fn no_match(scrape: &Scrape, name: &str, cfg: &MetricsConfig) -> Error {
    let seen: Vec<String> = scrape
        .series
        .iter()
        .filter(|s| s.name == name)
        .take(5)
        .map(|s| format!("{:?}", s.labels))
        .collect();
    Error::Message(format!(
        "no series of `{name}` at {url} has the labels {filter:?} the check filters on; \
         its series have {seen}\n  Fix or remove the label filter",
        url = cfg.redacted_url(),
        filter = cfg.labels,
        seen = seen.join(", "),
    ))
}
