//! A stand-in for a running application, for the verify gate's metrics
//! check: it inserts into `events` at a steady rate (`DATABASE_URL`; rate per
//! second as the first argument, default 50) and serves its request counter
//! and latency histogram at `GET /metrics` in the Prometheus text format.
//! Prints `listening on http://ADDR` on stderr first, so a test can find it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use migrate_core::url::DbUrl;

/// Histogram bucket bounds, in seconds.
const BOUNDS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];

#[derive(Default)]
struct Counts {
    ok: u64,
    failed: u64,
    /// Cumulative count per bound, then `+Inf`.
    buckets: Vec<u64>,
    sum: f64,
    last_error: String,
}

impl Counts {
    fn observe(&mut self, ok: bool, seconds: f64) {
        if self.buckets.is_empty() {
            self.buckets = vec![0; BOUNDS.len() + 1];
        }
        if ok {
            self.ok += 1;
        } else {
            self.failed += 1;
        }
        for (i, b) in BOUNDS.iter().enumerate() {
            if seconds <= *b {
                self.buckets[i] += 1;
            }
        }
        self.buckets[BOUNDS.len()] += 1;
        self.sum += seconds;
    }

    fn render(&self) -> String {
        let mut out = String::from(
            "# HELP http_requests_total Requests handled, by status.\n# TYPE http_requests_total counter\n",
        );
        out += &format!("http_requests_total{{status=\"200\"}} {}\n", self.ok);
        out += &format!("http_requests_total{{status=\"500\"}} {}\n", self.failed);
        out += "# HELP http_request_duration_seconds Request latency.\n# TYPE http_request_duration_seconds histogram\n";
        let buckets = if self.buckets.is_empty() {
            vec![0; BOUNDS.len() + 1]
        } else {
            self.buckets.clone()
        };
        for (i, b) in BOUNDS.iter().enumerate() {
            out += &format!(
                "http_request_duration_seconds_bucket{{le=\"{b}\"}} {}\n",
                buckets[i]
            );
        }
        out += &format!(
            "http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\n",
            buckets[BOUNDS.len()]
        );
        out += &format!("http_request_duration_seconds_sum {}\n", self.sum);
        out += &format!(
            "http_request_duration_seconds_count {}\n",
            self.ok + self.failed
        );
        out += &format!("# last error: {}\n", self.last_error.replace('\n', " "));
        out
    }
}

fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let rate: f64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50.0);
    let server = tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1:0");
    eprintln!("listening on http://{}", server.server_addr());
    let counts = Arc::new(Mutex::new(Counts::default()));

    let writer = Arc::clone(&counts);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let url = DbUrl::parse(&url).expect("DATABASE_URL");
            let mut conn = migrate_core::driver::connect(&url, &Default::default())
                .await
                .expect("connect");
            let period = Duration::from_secs_f64(1.0 / rate);
            for id in 10_000_000u64.. {
                let started = Instant::now();
                let sql = format!(
                    "INSERT INTO events (id, account_id, payload) VALUES ({id}, {}, 'written-by-the-app')",
                    id % 5000
                );
                let result = conn.execute(&sql).await;
                let took = started.elapsed();
                {
                    let mut c = writer.lock().unwrap();
                    c.observe(result.is_ok(), took.as_secs_f64());
                    if let Err(e) = result {
                        c.last_error = e.to_string();
                    }
                }
                tokio::time::sleep(period.saturating_sub(took)).await;
            }
        });
    });

    for request in server.incoming_requests() {
        let response = if request.url() == "/metrics" {
            tiny_http::Response::from_string(counts.lock().unwrap().render())
        } else {
            tiny_http::Response::from_string("not found").with_status_code(404)
        };
        let _ = request.respond(response);
    }
}
