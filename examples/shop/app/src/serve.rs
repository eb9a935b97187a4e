//! `shop-app serve`: the shop as a small HTTP server with Prometheus
//! metrics, so that `cargo migrate deploy` can watch a running app's error
//! rate and latency around a migration.
//!
//! Routes: `POST /orders` (form fields `customer_id`, `sku`, `quantity`,
//! `unit_price_cents`), `GET /health`, `GET /metrics`. With a write rate, a
//! background loop places orders through the same code as `POST /orders`
//! and counts each one as a request, so a migration that makes the app's
//! writes fail shows up as `http_requests_total{status="500"}` climbing.
//! Scrapes of `/metrics` itself are not counted.
//!
//! [`tiny_http`] serves it: a small blocking server (no async HTTP stack);
//! requests are taken one at a time and handled on the tokio runtime, where
//! the background writes run too.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write as _};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tiny_http::{Header, Method, Request, Response, Server};

use crate::store::{Error, Store};

/// The latency histogram's bucket bounds, in seconds (those of the Prometheus
/// client libraries, starting lower since SQLite writes take about a millisecond).
const BOUNDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Products the background writes cycle through: sku, unit price in cents,
/// quantity.
const WRITES: &[(&str, i64, i64)] = &[
    ("tea-earl-grey", 650, 1),
    ("mug-stoneware", 1450, 2),
    ("tea-sencha", 890, 3),
    ("kettle-steel", 3990, 1),
];

/// Requests by status and their durations, rendered in the Prometheus text format.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    by_status: BTreeMap<u16, u64>,
    /// Observations per bucket (not cumulative), the last one for `+Inf`.
    buckets: Vec<u64>,
    sum_seconds: f64,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            // 200 and 500 are always shown, so the error series exists
            // before the first error.
            by_status: BTreeMap::from([(200, 0), (500, 0)]),
            buckets: vec![0; BOUNDS.len() + 1],
            sum_seconds: 0.0,
        }
    }
}

impl Metrics {
    /// Counts one request.
    pub fn observe(&mut self, status: u16, took: Duration) {
        *self.by_status.entry(status).or_default() += 1;
        let seconds = took.as_secs_f64();
        let i = BOUNDS
            .iter()
            .position(|&b| seconds <= b)
            .unwrap_or(BOUNDS.len());
        self.buckets[i] += 1;
        self.sum_seconds += seconds;
    }

    /// The text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP http_requests_total Requests handled (HTTP and background writes), by status.\n\
             # TYPE http_requests_total counter\n",
        );
        for (status, n) in &self.by_status {
            let _ = writeln!(out, "http_requests_total{{status=\"{status}\"}} {n}");
        }
        out.push_str(
            "# HELP http_request_duration_seconds Time to handle a request.\n\
             # TYPE http_request_duration_seconds histogram\n",
        );
        let mut cumulative = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            cumulative += n;
            let le = BOUNDS.get(i).map_or("+Inf".to_owned(), f64::to_string);
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{le=\"{le}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "http_request_duration_seconds_sum {}",
            self.sum_seconds
        );
        let _ = writeln!(out, "http_request_duration_seconds_count {cumulative}");
        out
    }
}

type Shared = Arc<Mutex<Metrics>>;

fn observe(metrics: &Shared, status: u16, started: Instant) {
    // A poisoned lock only means another request panicked mid-update.
    let mut m = metrics.lock().unwrap_or_else(|p| p.into_inner());
    m.observe(status, started.elapsed());
}

/// Listens on `addr`, prints `listening on http://IP:PORT` as the first line
/// on stdout, and serves until the process is stopped.
pub async fn serve(
    store: Store,
    addr: &str,
    write_rate: Option<f64>,
) -> Result<(), Box<dyn std::error::Error>> {
    // Checked before listening, so a server that says it listens also writes.
    let customers = match write_rate {
        Some(_) => store.customer_ids().await?,
        None => Vec::new(),
    };
    if write_rate.is_some() && customers.is_empty() {
        return Err(Error::NoCustomers.into());
    }
    let server = Server::http(addr).map_err(|e| {
        format!("cannot listen on {addr}: {e}; pick another address with --addr (port 0 takes any free port)")
    })?;
    let bound = server
        .server_addr()
        .to_ip()
        .ok_or("the server is not listening on an IP address")?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on http://{bound}")?;
    stdout.flush()?;

    let metrics = Shared::default();
    if let Some(rate) = write_rate {
        tokio::spawn(write_loop(store.clone(), metrics.clone(), rate, customers));
    }
    let server = Arc::new(server);
    loop {
        let next = server.clone();
        let request = tokio::task::spawn_blocking(move || next.recv()).await??;
        handle(&store, &metrics, request).await;
    }
}

/// Places `rate` orders a second, cycling through the customers and [`WRITES`].
async fn write_loop(store: Store, metrics: Shared, rate: f64, customers: Vec<i64>) {
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for n in 0.. {
        tick.tick().await;
        let (sku, price, quantity) = WRITES[n % WRITES.len()];
        let customer = customers[n % customers.len()];
        let started = Instant::now();
        let status = match store.place_order(customer, sku, quantity, price).await {
            Ok(_) => 200,
            Err(e) => {
                eprintln!("background write failed: {e}");
                status_of(&e)
            }
        };
        observe(&metrics, status, started);
    }
}

async fn handle(store: &Store, metrics: &Shared, mut request: Request) {
    let started = Instant::now();
    let path = request.url().split('?').next().unwrap_or("").to_owned();
    let (status, body) = match (request.method(), path.as_str()) {
        (Method::Get, "/metrics") => {
            let text = metrics.lock().unwrap_or_else(|p| p.into_inner()).render();
            let content_type = Header::from_bytes("Content-Type", "text/plain; version=0.0.4")
                .expect("a valid header");
            let _ = request.respond(Response::from_string(text).with_header(content_type));
            return;
        }
        (Method::Get, "/health") => match store.ping().await {
            Ok(()) => (200, "ok\n".to_owned()),
            Err(e) => (status_of(&e), format!("{e}\n")),
        },
        (Method::Post, "/orders") => place_order(store, &mut request).await,
        (_, "/metrics" | "/health" | "/orders") => (405, "method not allowed\n".to_owned()),
        _ => (
            404,
            "not found; the routes are POST /orders, GET /health, GET /metrics\n".to_owned(),
        ),
    };
    observe(metrics, status, started);
    let _ = request.respond(Response::from_string(body).with_status_code(status));
}

async fn place_order(store: &Store, request: &mut Request) -> (u16, String) {
    let mut form = String::new();
    if request
        .as_reader()
        .take(4096)
        .read_to_string(&mut form)
        .is_err()
    {
        return (400, "the body is not UTF-8 text\n".into());
    }
    let fields: BTreeMap<&str, &str> = form
        .trim()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let number = |name: &str| fields.get(name).and_then(|v| v.parse::<i64>().ok());
    let (Some(customer), Some(sku), Some(quantity), Some(price)) = (
        number("customer_id"),
        fields.get("sku"),
        number("quantity"),
        number("unit_price_cents"),
    ) else {
        return (
            400,
            "expected the form fields customer_id, sku, quantity and unit_price_cents\n".into(),
        );
    };
    match store.place_order(customer, sku, quantity, price).await {
        Ok(order) => (
            200,
            format!(
                "placed order {} total_cents {}\n",
                order.id, order.total_cents
            ),
        ),
        Err(e) => (status_of(&e), format!("{e}\n")),
    }
}

/// The HTTP status of an app error: the client's mistakes are 4xx, the
/// database's failures 500.
fn status_of(e: &Error) -> u16 {
    match e {
        Error::UnknownCustomer(_) => 404,
        Error::InvalidItem(_) => 400,
        Error::NoCustomers => 409,
        _ => 500,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_render_counters_and_a_cumulative_histogram() {
        let mut m = Metrics::default();
        m.observe(200, Duration::from_micros(300));
        m.observe(200, Duration::from_millis(3));
        m.observe(500, Duration::from_secs(9));
        let text = m.render();
        assert!(
            text.contains("http_requests_total{status=\"200\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("http_requests_total{status=\"500\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("_bucket{le=\"0.0005\"} 1\n"), "{text}");
        assert!(text.contains("_bucket{le=\"0.005\"} 2\n"), "{text}");
        assert!(text.contains("_bucket{le=\"2.5\"} 2\n"), "{text}");
        assert!(text.contains("_bucket{le=\"+Inf\"} 3\n"), "{text}");
        assert!(
            text.contains("http_request_duration_seconds_count 3\n"),
            "{text}"
        );
    }

    #[test]
    fn a_fresh_server_shows_zero_errors() {
        let text = Metrics::default().render();
        assert!(
            text.contains("http_requests_total{status=\"500\"} 0\n"),
            "{text}"
        );
    }
}
