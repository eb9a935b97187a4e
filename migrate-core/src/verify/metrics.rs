//! The application-metrics check: read the app's Prometheus text endpoint
//! before and after a window, and compare the error rate and latency of the
//! window measured before a change with the one measured after it.
//!
//! Crates, and why:
//! - [`ureq`] 3 with default features off fetches the page: a maintained,
//!   blocking HTTP/1.1 client without an async stack or TLS (metrics
//!   endpoints are scraped over plain http on the app's own network), run in
//!   [`tokio::task::spawn_blocking`]. Its dependencies are a handful of small
//!   crates (`http`, `httparse`, `base64`, `log`).
//! - [`prometheus_parse`] reads the text exposition format: the most used
//!   Rust parser of it, Apache-2.0, small (one file) and still released.
//!   The alternatives were `openmetrics-parser` (LGPL-3.0, a licence this
//!   MIT/Apache project does not take on) and `prom_text_format_parser`
//!   (a single 0.1 release pulling `derive_more` 0.99 and `syn` 1). The
//!   crate skips lines it cannot read, so [`Scrape::parse`] checks every
//!   line first with the crate's own line parser and names the bad one.
//!   Known limits of the crate: label values containing `,` or `=` are
//!   misread, and names with `:` (recording rules) are listed but not read.
//!
//! ```no_run
//! # async fn f() -> migrate_core::Result<()> {
//! use std::time::Duration;
//! use migrate_core::verify::metrics::{self, MetricsConfig, Thresholds};
//!
//! let cfg = MetricsConfig::new("http://127.0.0.1:9100/metrics");
//! let before = metrics::measure(&cfg, Duration::from_secs(30)).await?;
//! // ... apply the migrations ...
//! let after = metrics::measure(&cfg, Duration::from_secs(30)).await?;
//! let verdict = metrics::compare(&before, &after, &Thresholds::default());
//! println!("{}", verdict.detail);
//! # Ok(()) }
//! ```

mod scrape;
#[cfg(test)]
mod tests;
mod window;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

pub use scrape::{Labels, Scrape};
pub use window::window;

use crate::url::redact;
use crate::{Error, Result};

/// The request counter read by default (the Prometheus client libraries' convention).
pub const DEFAULT_REQUESTS: &str = "http_requests_total";
/// The separate error counter used by default when the endpoint has it.
pub const DEFAULT_ERRORS: &str = "http_requests_errors_total";
/// The latency histogram read by default.
pub const DEFAULT_LATENCY: &str = "http_request_duration_seconds";
/// Connect and read timeout of one scrape.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// The largest metrics page read, in bytes.
const MAX_BODY: u64 = 16 * 1024 * 1024;

/// Which metrics to read. `Migrate.toml` spells these keys `metrics_url`,
/// `metrics_requests`, `metrics_errors`, `metrics_latency` in `[verify]`; the
/// struct also deserializes from a table of its own:
///
/// ```toml
/// url = "http://127.0.0.1:9100/metrics"
/// requests = "http_requests_total"              # a counter (the default)
/// # errors = "http_requests_errors_total"       # see `errors` for the rule without it
/// latency = "http_request_duration_seconds"     # a histogram (the default); "" for none
/// labels = { job = "shop" }                     # only series with these labels
/// ```
#[derive(Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// The app's metrics endpoint (plain `http://`).
    pub url: String,
    /// The counter of handled requests.
    #[serde(default = "default_requests")]
    pub requests: String,
    /// The counter of failed requests. When it is not set: the counter
    /// [`DEFAULT_ERRORS`] if the endpoint has it, else the series of
    /// `requests` whose `status` label (or, without one, `code` label) is a
    /// 5xx status (`500` to `599`).
    #[serde(default)]
    pub errors: Option<String>,
    /// The histogram of request durations in seconds (its base name, without
    /// `_bucket`); empty when the app has none, which skips the latency check.
    #[serde(default = "default_latency")]
    pub latency: String,
    /// Only series carrying all these labels are counted (for an endpoint
    /// that mixes several apps or routes).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

fn default_requests() -> String {
    DEFAULT_REQUESTS.to_owned()
}

fn default_latency() -> String {
    DEFAULT_LATENCY.to_owned()
}

impl MetricsConfig {
    /// The defaults for an endpoint.
    pub fn new(url: impl Into<String>) -> MetricsConfig {
        MetricsConfig {
            url: url.into(),
            requests: default_requests(),
            errors: None,
            latency: default_latency(),
            labels: BTreeMap::new(),
        }
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted_url(&self) -> String {
        redact(&self.url)
    }
}

impl std::fmt::Debug for MetricsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsConfig")
            .field("url", &self.redacted_url())
            .field("requests", &self.requests)
            .field("errors", &self.errors)
            .field("latency", &self.latency)
            .field("labels", &self.labels)
            .finish()
    }
}

/// What the metrics say about one window.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WindowStats {
    /// Time between the two scrapes, in seconds.
    pub window_seconds: f64,
    /// Requests handled in the window.
    pub requests: f64,
    /// Of which failed.
    pub errors: f64,
    /// `errors / requests`; `None` without requests.
    pub error_rate: Option<f64>,
    /// Median request duration in seconds; `None` without observations or histogram.
    pub p50_seconds: Option<f64>,
    /// 95th percentile request duration in seconds.
    pub p95_seconds: Option<f64>,
    /// A counter went down between the scrapes (the app restarted); its
    /// after value was counted as the increase.
    pub counter_reset: bool,
}

/// Scrapes the endpoint, waits `window`, scrapes again, and computes the
/// window's numbers.
///
/// The metric names are checked on the first scrape, so a wrong name fails
/// at once rather than after the window.
pub async fn measure(cfg: &MetricsConfig, window: Duration) -> Result<WindowStats> {
    let before = fetch(cfg).await?;
    self::window(&before, &before, cfg, Duration::ZERO)?;
    let started = Instant::now();
    tokio::time::sleep(window).await;
    let after = fetch(cfg).await?;
    self::window(&before, &after, cfg, started.elapsed())
}

/// Scrapes the endpoint once.
pub async fn fetch(cfg: &MetricsConfig) -> Result<Scrape> {
    let url = cfg.url.clone();
    let text = tokio::task::spawn_blocking(move || get(&url))
        .await
        .map_err(|e| Error::Message(format!("the metrics scrape did not finish: {e}")))??;
    Scrape::parse(&text)
}

/// The body of `GET url`, with [`TIMEOUT`] to connect and to read.
fn get(url: &str) -> Result<String> {
    let shown = redact(url);
    let fail = |what: String| {
        Error::Message(scrub(
            &format!(
                "cannot read the app's metrics from {shown}: {what}\n  \
                 Check that the app is running and serves Prometheus metrics at that url \
                 ([verify] metrics_url in Migrate.toml), or disable the check with a reason"
            ),
            url,
        ))
    };
    if !url.trim_start().to_ascii_lowercase().starts_with("http://") {
        return Err(fail(
            "only plain http:// endpoints are supported (no TLS in this build)".into(),
        ));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(TIMEOUT))
        .timeout_recv_response(Some(TIMEOUT))
        .timeout_recv_body(Some(TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .get(url)
        .header("Accept", "text/plain;version=0.0.4")
        .call()
        .map_err(|e| fail(e.to_string()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(fail(format!("it answered {status}")));
    }
    response
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_string()
        .map_err(|e| fail(format!("reading the page failed: {e}")))
}

/// `text` redacted, and without the URL's password even where it appears
/// outside a URL (some client errors quote the authority alone).
fn scrub(text: &str, url: &str) -> String {
    let mut out = redact(text);
    let password = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split(['/', '?', '#']).next())
        .and_then(|authority| authority.rsplit_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, p)| p)
        .filter(|p| !p.is_empty());
    if let Some(p) = password {
        out = out.replace(p, "***");
    }
    out
}

/// The limits a window after a change is held to.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// The highest acceptable error rate after the change (0.01 = 1 %).
    pub error_rate_max: f64,
    /// The error rate after may be at most this factor × the one before...
    pub error_rate_regression: f64,
    /// ...unless it rose by less than this (absolute, 0.005 = 0.5 points), so
    /// 0.01 % → 0.03 % is noise, not an anomaly.
    pub error_rate_min_increase: f64,
    /// The p95 latency after may be at most this factor × the one before...
    pub latency_regression: f64,
    /// ...unless it rose by less than this.
    pub latency_min_increase: Duration,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            error_rate_max: 0.01,
            error_rate_regression: 2.0,
            error_rate_min_increase: 0.005,
            latency_regression: 2.0,
            latency_min_increase: Duration::from_millis(5),
        }
    }
}

/// The outcome of [`compare`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Verdict {
    /// Every limit held.
    pub ok: bool,
    /// The numbers, then what failed, e.g. `error rate 0.0% → 37.5% (max
    /// 1.0%) over 3.0 s, 40 → 32 requests: error rate 37.5% is above the
    /// maximum 1.0%`.
    pub detail: String,
    /// Each limit that did not hold, one sentence each.
    pub failures: Vec<String>,
}

/// Holds the window after a change to the thresholds, against the window
/// before it.
pub fn compare(before: &WindowStats, after: &WindowStats, t: &Thresholds) -> Verdict {
    let mut failures = Vec::new();
    let mut facts = Vec::new();
    let rate_before = before.error_rate.unwrap_or(0.0);
    match after.error_rate {
        Some(rate) => {
            facts.push(format!(
                "error rate {} → {} (max {}) over {}, {} → {} requests",
                percent(before.error_rate),
                percent(Some(rate)),
                percent(Some(t.error_rate_max)),
                crate::human_duration(Duration::from_secs_f64(after.window_seconds.max(0.0))),
                count(before.requests),
                count(after.requests),
            ));
            if rate > t.error_rate_max {
                failures.push(format!(
                    "error rate {} is above the maximum {}",
                    percent(Some(rate)),
                    percent(Some(t.error_rate_max))
                ));
            } else if rate > t.error_rate_regression * rate_before
                && rate - rate_before >= t.error_rate_min_increase
            {
                failures.push(format!(
                    "error rate rose from {} to {}, more than {:.1}× and by at least {} points",
                    percent(Some(rate_before)),
                    percent(Some(rate)),
                    t.error_rate_regression,
                    percent(Some(t.error_rate_min_increase))
                ));
            }
        }
        None => facts.push(format!(
            "no requests in the {} after (before: {} requests), error rate not judged",
            crate::human_duration(Duration::from_secs_f64(after.window_seconds.max(0.0))),
            count(before.requests)
        )),
    }
    if let (Some(b), Some(a)) = (before.p95_seconds, after.p95_seconds) {
        facts.push(format!(
            "p95 {} → {} (≤ {:.1}×)",
            millis(b),
            millis(a),
            t.latency_regression
        ));
        if a > t.latency_regression * b && a - b >= t.latency_min_increase.as_secs_f64() {
            failures.push(format!(
                "p95 latency rose from {} to {}, more than {:.1}×",
                millis(b),
                millis(a),
                t.latency_regression
            ));
        }
    }
    if after.counter_reset {
        facts.push("the app restarted during the window (a counter was reset)".into());
    }
    let mut detail = facts.join("; ");
    if !failures.is_empty() {
        detail.push_str(": ");
        detail.push_str(&failures.join("; "));
    }
    Verdict {
        ok: failures.is_empty(),
        detail,
        failures,
    }
}

fn percent(rate: Option<f64>) -> String {
    match rate {
        None => "n/a".into(),
        Some(r) if r > 0.0 && r < 0.01 => format!("{:.2}%", r * 100.0),
        Some(r) => format!("{:.1}%", r * 100.0),
    }
}

fn count(n: f64) -> String {
    format!("{}", n.round() as i64)
}

fn millis(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{:.1} ms", seconds * 1000.0)
    } else {
        format!("{seconds:.2} s")
    }
}
