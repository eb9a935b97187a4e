//! `shop-app serve` as a real process on a migrated, seeded SQLite database,
//! read over HTTP the way `cargo migrate verify` reads an app's metrics.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use migrate_core::verify::metrics::{self, MetricsConfig, Thresholds};
use sqlx::{Connection as _, Executor as _};
use tempfile::TempDir;
// Links the migrations so that `Migrator::registered` finds them.
use shop_migrations as _;

/// A running `shop-app serve`, stopped on drop.
struct Server {
    child: Child,
    base: String,
    stderr: PathBuf,
}

impl Server {
    fn start(dir: &TempDir, database_url: &str, extra: &[&str]) -> Server {
        let stderr = dir.path().join("serve.stderr");
        let mut child = Command::new(env!("CARGO_BIN_EXE_shop-app"))
            .args([
                "serve",
                "--database-url",
                database_url,
                "--addr",
                "127.0.0.1:0",
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&stderr).expect("a file for stderr"))
            .spawn()
            .expect("start shop-app serve");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the first line");
        let Some(base) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            panic!(
                "the first line is {line:?}, stderr: {}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
        };
        Server {
            base: base.to_owned(),
            child,
            stderr,
        }
    }

    fn metrics(&self) -> MetricsConfig {
        MetricsConfig::new(format!("{}/metrics", self.base))
    }

    fn request(&self, method: &str, path: &str, form: &str) -> (u16, String) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let url = format!("{}{path}", self.base);
        let response = match method {
            "GET" => agent.get(&url).call(),
            _ => agent
                .post(&url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .send(form),
        };
        let mut response = response.expect("the server answers");
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().expect("a text body");
        (status, body)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "shop-app serve stderr:\n{}",
                std::fs::read_to_string(&self.stderr).unwrap_or_default()
            );
        }
    }
}

/// A fresh database with the latest schema, 3 customers and 5 orders.
async fn seeded() -> (TempDir, String) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = format!("sqlite://{}/shop.db", dir.path().display());
    migrate_core::Migrator::registered()
        .apply(&url)
        .await
        .expect("the migrations apply to a fresh database");
    let store = shop_app::Store::open(&url).await.expect("open");
    store.seed(3, 5).await.expect("seed");
    store.close().await;
    (dir, url)
}

/// Makes the database refuse the app's writes, as a migration adding a
/// constraint they violate would.
async fn refuse_order_items(url: &str) {
    let mut conn = sqlx::SqliteConnection::connect(url).await.expect("connect");
    conn.execute(
        "CREATE TRIGGER refuse_order_items BEFORE INSERT ON order_items \
         BEGIN SELECT RAISE(ABORT, 'order items are refused by the test'); END",
    )
    .await
    .expect("create the trigger");
    conn.close().await.expect("close");
}

async fn orders(url: &str) -> usize {
    let store = shop_app::Store::open(url).await.expect("open");
    let n = store.report().await.expect("report").orders.len();
    store.close().await;
    n
}

#[tokio::test]
async fn requests_and_their_status_are_counted_in_the_metrics() {
    let (dir, url) = seeded().await;
    let server = Server::start(&dir, &url, &[]);
    let cfg = server.metrics();
    let before = metrics::fetch(&cfg).await.expect("scrape");
    let started = Instant::now();

    assert_eq!(server.request("GET", "/health", ""), (200, "ok\n".into()));
    let (status, body) = server.request(
        "POST",
        "/orders",
        "customer_id=2&sku=mug-stoneware&quantity=3&unit_price_cents=1450",
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("total_cents 4350"), "{body}");
    assert_eq!(orders(&url).await, 6);
    let (status, body) = server.request(
        "POST",
        "/orders",
        "customer_id=2&sku=tea&quantity=0&unit_price_cents=1",
    );
    assert_eq!(status, 400, "{body}");
    refuse_order_items(&url).await;
    let (status, body) = server.request(
        "POST",
        "/orders",
        "customer_id=1&sku=tea-sencha&quantity=1&unit_price_cents=890",
    );
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("refused by the test"), "{body}");
    assert_eq!(orders(&url).await, 6, "the refused order was rolled back");

    let after = metrics::fetch(&cfg).await.expect("scrape");
    let w = metrics::window(&before, &after, &cfg, started.elapsed()).expect("window");
    // /health, one order placed, one refused as invalid (400) and one the
    // database refused (500); the scrapes themselves are not counted.
    assert_eq!((w.requests, w.errors), (4.0, 1.0));
    assert_eq!(w.error_rate, Some(0.25));
    assert!(w.p95_seconds.is_some());
}

#[tokio::test]
async fn background_writes_count_and_refused_writes_raise_the_error_rate() {
    let (dir, url) = seeded().await;
    let server = Server::start(&dir, &url, &["--write-rate", "50/s"]);
    let cfg = server.metrics();

    let healthy = metrics::measure(&cfg, Duration::from_millis(800))
        .await
        .expect("measure");
    assert!(healthy.requests > 0.0, "{healthy:?}");
    assert_eq!(healthy.errors, 0.0, "{healthy:?}");
    assert!(healthy.p50_seconds.is_some(), "{healthy:?}");
    assert!(
        orders(&url).await > 5,
        "the background writes placed orders"
    );

    refuse_order_items(&url).await;
    let refused = metrics::measure(&cfg, Duration::from_millis(800))
        .await
        .expect("measure");
    assert!(refused.requests > 0.0, "{refused:?}");
    assert_eq!(refused.error_rate, Some(1.0), "{refused:?}");

    let verdict = metrics::compare(&healthy, &refused, &Thresholds::default());
    assert!(!verdict.ok, "{}", verdict.detail);
    assert!(
        verdict
            .detail
            .contains("error rate 0.0% → 100.0% (max 1.0%)"),
        "{}",
        verdict.detail
    );
}

#[tokio::test]
async fn serve_without_customers_to_write_for_says_to_seed() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = format!("sqlite://{}/shop.db", dir.path().display());
    migrate_core::Migrator::registered()
        .apply(&url)
        .await
        .expect("migrate");
    let output = Command::new(env!("CARGO_BIN_EXE_shop-app"))
        .args(["serve", "--database-url", &url, "--addr", "127.0.0.1:0"])
        .args(["--write-rate", "5"])
        .output()
        .expect("run shop-app serve");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("seed with `--customers N`"), "{stderr}");
    assert!(output.stdout.is_empty(), "it did not start listening");
}
