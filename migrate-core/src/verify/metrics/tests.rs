//! Parsing real exposition text, the window arithmetic, the comparison, and
//! one scrape over a real socket.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use super::window::quantile;
use super::*;

/// What a Go or Python client library exposes, with comments, HELP/TYPE lines,
/// labels, a histogram and a summary.
fn page(ok: u64, server_errors: u64, buckets: [u64; 5], sum: f64) -> String {
    let [b1, b2, b3, b4, inf] = buckets;
    format!(
        r#"# A comment that is not HELP or TYPE.
# HELP http_requests_total Requests handled, by status.
# TYPE http_requests_total counter
http_requests_total{{method="post",status="200"}} {ok}
http_requests_total{{method="post",status="500"}} {server_errors}
http_requests_total{{method="get",status="404"}} 3 1395066363000

# HELP http_request_duration_seconds Request latency.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{{method="post",le="0.005"}} {b1}
http_request_duration_seconds_bucket{{method="post",le="0.01"}} {b2}
http_request_duration_seconds_bucket{{method="post",le="0.05"}} {b3}
http_request_duration_seconds_bucket{{method="post",le="0.1"}} {b4}
http_request_duration_seconds_bucket{{method="post",le="+Inf"}} {inf}
http_request_duration_seconds_sum{{method="post"}} {sum}
http_request_duration_seconds_count{{method="post"}} {inf}
# HELP rpc_duration_seconds A summary.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{{quantile="0.5"}} 4773
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
process_start_time_seconds 1.7e9
"#
    )
}

fn parse(text: &str) -> Scrape {
    Scrape::parse(text).expect("valid exposition text")
}

fn cfg() -> MetricsConfig {
    MetricsConfig::new("http://127.0.0.1:1/metrics")
}

fn stats(requests: f64, errors: f64, p95_ms: Option<f64>) -> WindowStats {
    WindowStats {
        window_seconds: 3.0,
        requests,
        errors,
        error_rate: (requests > 0.0).then(|| errors / requests),
        p50_seconds: p95_ms.map(|ms| ms / 2000.0),
        p95_seconds: p95_ms.map(|ms| ms / 1000.0),
        counter_reset: false,
    }
}

#[test]
fn a_page_with_comments_labels_histogram_and_summary_parses() {
    let scrape = parse(&page(10, 1, [1, 2, 3, 4, 5], 0.25));
    assert_eq!(
        scrape.names(),
        [
            "http_request_duration_seconds",
            "http_request_duration_seconds_count",
            "http_request_duration_seconds_sum",
            "http_requests_total",
            "process_start_time_seconds",
            "rpc_duration_seconds",
            "rpc_duration_seconds_count",
            "rpc_duration_seconds_sum",
        ]
    );
    assert!(scrape.has_histogram(DEFAULT_LATENCY));
    assert!(scrape.has_series(DEFAULT_REQUESTS));
}

#[test]
fn the_window_counts_requests_and_5xx_errors_and_interpolates_quantiles() {
    let before = parse(&page(100, 2, [10, 20, 30, 40, 40], 1.0));
    // 40 more requests: 30 ok, 10 failed; 40 observations: 20 ≤ 5 ms,
    // 10 in (5, 10] ms, 8 in (10, 50] ms, 2 in (50, 100] ms.
    let after = parse(&page(130, 12, [30, 50, 68, 80, 80], 2.0));
    let s = window(&before, &after, &cfg(), Duration::from_secs(3)).unwrap();
    // The 404 series did not move: 30 + 10 requests.
    assert_eq!(s.requests, 40.0);
    assert_eq!(s.errors, 10.0);
    assert_eq!(s.error_rate, Some(0.25));
    assert!(!s.counter_reset);
    // p50: rank 20 falls at the top of the first bucket [0, 5 ms].
    let p50 = s.p50_seconds.unwrap();
    assert!((p50 - 0.005).abs() < 1e-12, "{p50}");
    // p95: rank 38 is the 8th of 10 in (10, 50] ms minus 30 → 10 + 40 × 8/8.
    let p95 = s.p95_seconds.unwrap();
    assert!((p95 - 0.05).abs() < 1e-12, "{p95}");
}

#[test]
fn quantiles_follow_histogram_quantile() {
    let b = [(0.1, 10.0), (0.2, 30.0), (0.4, 40.0), (f64::INFINITY, 40.0)];
    // rank 20: half way through (0.1, 0.2].
    assert!((quantile(0.5, &b).unwrap() - 0.15).abs() < 1e-12);
    // rank 5: half way through the first bucket, which starts at 0.
    assert!((quantile(0.125, &b).unwrap() - 0.05).abs() < 1e-12);
    // Everything above the highest finite bound: that bound.
    let high = [(0.1, 0.0), (f64::INFINITY, 5.0)];
    assert_eq!(quantile(0.95, &high), Some(0.1));
    // No observations, or no +Inf bucket: no quantile.
    assert_eq!(quantile(0.5, &[(0.1, 0.0), (f64::INFINITY, 0.0)]), None);
    assert_eq!(quantile(0.5, &[(0.1, 3.0), (0.2, 4.0)]), None);
}

#[test]
fn a_counter_that_went_down_counts_its_after_value() {
    let before = parse(&page(1000, 50, [10, 20, 30, 40, 40], 1.0));
    // The app restarted: its counters start over.
    let after = parse(&page(7, 3, [5, 6, 8, 9, 10], 0.1));
    let s = window(&before, &after, &cfg(), Duration::from_secs(3)).unwrap();
    assert!(s.counter_reset);
    // 7 + 3 + the unchanged 404 series (3 → 3).
    assert_eq!(s.requests, 10.0);
    assert_eq!(s.errors, 3.0);
    // Histogram also reset: 10 observations, rank 5 in the first bucket.
    assert!((s.p50_seconds.unwrap() - 0.005).abs() < 1e-12);
}

#[test]
fn a_separate_error_counter_is_used_when_present() {
    let text = |requests: u64, errors: u64| {
        format!(
            "# TYPE http_requests_total counter\nhttp_requests_total {requests}\n\
             # TYPE http_requests_errors_total counter\nhttp_requests_errors_total {errors}\n"
        )
    };
    let mut cfg = cfg();
    cfg.latency.clear();
    let s = window(
        &parse(&text(10, 1)),
        &parse(&text(30, 6)),
        &cfg,
        Duration::ZERO,
    )
    .unwrap();
    assert_eq!(
        (s.requests, s.errors, s.error_rate),
        (20.0, 5.0, Some(0.25))
    );
    assert_eq!(s.p95_seconds, None);
    // A configured error counter that is not there is an error.
    cfg.errors = Some("app_failures_total".into());
    let err = window(
        &parse(&text(10, 1)),
        &parse(&text(30, 6)),
        &cfg,
        Duration::ZERO,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("`app_failures_total`"), "{err}");
}

#[test]
fn the_code_label_counts_when_there_is_no_status_label_and_label_filters_apply() {
    let text = |a_err: u64, b_err: u64| {
        format!(
            "http_requests_total{{job=\"a\",code=\"200\"}} 10\n\
             http_requests_total{{job=\"a\",code=\"503\"}} {a_err}\n\
             http_requests_total{{job=\"b\",code=\"502\"}} {b_err}\n\
             http_request_duration_seconds_bucket{{job=\"a\",le=\"0.1\"}} 4\n\
             http_request_duration_seconds_bucket{{job=\"a\",le=\"+Inf\"}} 4\n"
        )
    };
    let mut cfg = cfg();
    cfg.labels.insert("job".into(), "a".into());
    let s = window(
        &parse(&text(0, 0)),
        &parse(&text(5, 100)),
        &cfg,
        Duration::ZERO,
    )
    .unwrap();
    // Job b's errors are filtered out; the untyped buckets still form a histogram.
    assert_eq!((s.requests, s.errors), (5.0, 5.0));
    assert_eq!(s.p95_seconds, None, "no new observation in the window");
    cfg.labels.insert("job".into(), "c".into());
    let err = window(
        &parse(&text(0, 0)),
        &parse(&text(5, 100)),
        &cfg,
        Duration::ZERO,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("labels"), "{err}");
}

#[test]
fn a_missing_metric_is_named_with_what_is_there_and_a_suggestion() {
    let text = "# TYPE http_request_total counter\nhttp_request_total 5\nup 1\n";
    let err = window(&parse(text), &parse(text), &cfg(), Duration::ZERO)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`http_requests_total` is not among"), "{err}");
    assert!(err.contains("did you mean `http_request_total`?"), "{err}");
    assert!(err.contains("`up`"), "{err}");
    assert!(err.contains("metrics_requests in [verify]"), "{err}");
}

#[test]
fn a_missing_histogram_says_how_to_do_without() {
    let text = "http_requests_total 5\n";
    let err = window(&parse(text), &parse(text), &cfg(), Duration::ZERO)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("histogram `http_request_duration_seconds`"),
        "{err}"
    );
    assert!(err.contains("\"\""), "{err}");
}

#[test]
fn malformed_text_names_the_line() {
    for (text, line, reason) in [
        (
            "up 1\nhttp_requests_total{status=\"200\"} ten\n",
            2,
            "not a number",
        ),
        ("# HELP up x\nup\n", 2, "not a sample"),
        ("up 1\n\nup{job=\"a\" 1\n", 3, "not a sample"),
        ("up 1 yesterday\n", 1, "timestamp"),
        ("up{job} 1\n", 1, "label"),
    ] {
        let err = Scrape::parse(text).unwrap_err().to_string();
        assert!(err.contains(&format!("at line {line}:")), "{text:?}: {err}");
        assert!(err.contains(reason), "{text:?}: {err}");
    }
    // Special values are numbers; recording-rule names (with `:`) are listed.
    let s = parse("a NaN\nb +Inf\nc -Inf\nd 1e-3\njob:requests:rate5m{job=\"a\"} 2\n");
    assert_eq!(s.names(), ["a", "b", "c", "d", "job:requests:rate5m"]);
}

#[test]
fn compare_passes_a_steady_window() {
    let v = compare(
        &stats(40.0, 0.0, Some(12.0)),
        &stats(38.0, 0.0, Some(14.0)),
        &Thresholds::default(),
    );
    assert!(v.ok, "{}", v.detail);
    assert_eq!(
        v.detail,
        "error rate 0.0% → 0.0% (max 1.0%) over 3.0 s, 40 → 38 requests; p95 12.0 ms → 14.0 ms (≤ 2.0×)"
    );
}

#[test]
fn compare_fails_an_error_rate_above_the_maximum() {
    let v = compare(
        &stats(40.0, 0.0, None),
        &stats(32.0, 12.0, None),
        &Thresholds::default(),
    );
    assert!(!v.ok);
    assert!(
        v.detail
            .starts_with("error rate 0.0% → 37.5% (max 1.0%) over 3.0 s, 40 → 32 requests"),
        "{}",
        v.detail
    );
    assert_eq!(v.failures, ["error rate 37.5% is above the maximum 1.0%"]);
}

#[test]
fn compare_ignores_a_tiny_error_rate_increase_but_not_a_real_one() {
    let t = Thresholds {
        error_rate_max: 0.5,
        ..Thresholds::default()
    };
    // 0.01 % → 0.03 %: triple, but by far less than half a point.
    let v = compare(&stats(10_000.0, 1.0, None), &stats(10_000.0, 3.0, None), &t);
    assert!(v.ok, "{}", v.detail);
    // 1 % → 10 %: under the (raised) maximum, but ten times as many.
    let v = compare(&stats(1000.0, 10.0, None), &stats(1000.0, 100.0, None), &t);
    assert!(!v.ok);
    assert!(
        v.failures[0].contains("rose from 1.0% to 10.0%"),
        "{:?}",
        v.failures
    );
}

#[test]
fn compare_fails_a_latency_regression_above_the_floor_only() {
    let t = Thresholds::default();
    let v = compare(
        &stats(10.0, 0.0, Some(20.0)),
        &stats(10.0, 0.0, Some(45.0)),
        &t,
    );
    assert!(!v.ok);
    assert!(
        v.failures[0].contains("p95 latency rose from 20.0 ms to 45.0 ms"),
        "{:?}",
        v.failures
    );
    // 0.5 ms → 2 ms is 4×, but 1.5 ms is below the 5 ms floor.
    let v = compare(
        &stats(10.0, 0.0, Some(0.5)),
        &stats(10.0, 0.0, Some(2.0)),
        &t,
    );
    assert!(v.ok, "{}", v.detail);
}

#[test]
fn the_config_reads_from_toml_with_defaults() {
    let cfg: MetricsConfig = toml::from_str("url = \"http://u:secret@h:9100/metrics\"\n").unwrap();
    assert_eq!(cfg, MetricsConfig::new("http://u:secret@h:9100/metrics"));
    assert!(!format!("{cfg:?}").contains("secret"));
    let cfg: MetricsConfig = toml::from_str(
        "url = \"http://h/m\"\nerrors = \"failures_total\"\nlatency = \"\"\nlabels = { job = \"shop\" }\n",
    )
    .unwrap();
    assert_eq!(cfg.errors.as_deref(), Some("failures_total"));
    assert!(cfg.latency.is_empty());
    assert_eq!(cfg.labels["job"], "shop");
    assert!(toml::from_str::<MetricsConfig>("url = \"x\"\nrequest = \"typo\"\n").is_err());
}

/// Serves `bodies` in turn to successive connections, then stops.
fn serve(bodies: Vec<(u16, String)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    let addr = listener.local_addr().expect("local address");
    std::thread::spawn(move || {
        for (status, body) in bodies {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: text/plain; version=0.0.4\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}/metrics")
}

#[tokio::test]
async fn measure_scrapes_a_real_endpoint_twice() {
    let url = serve(vec![
        (200, page(100, 2, [10, 20, 30, 40, 40], 1.0)),
        (200, page(130, 12, [30, 50, 68, 80, 80], 2.0)),
    ]);
    let s = measure(&MetricsConfig::new(url), Duration::from_millis(50))
        .await
        .unwrap();
    assert_eq!((s.requests, s.errors), (40.0, 10.0));
    assert!(s.window_seconds >= 0.05, "{}", s.window_seconds);
}

#[tokio::test]
async fn fetch_errors_say_what_to_do_without_the_password() {
    let url = serve(vec![(503, "down".into())]).replace("http://", "http://app:s3cret@");
    let err = fetch(&MetricsConfig::new(&url))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("answered 503"), "{err}");
    assert!(err.contains("Check that the app is running"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");

    // Nothing listens on a port just released.
    let free = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let err = fetch(&MetricsConfig::new(format!(
        "http://app:s3cret@{free}/metrics"
    )))
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("cannot read the app's metrics from http://app:***@"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");

    let err = fetch(&MetricsConfig::new(
        "https://app:s3cret@example.invalid/metrics",
    ))
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("only plain http://"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
}
