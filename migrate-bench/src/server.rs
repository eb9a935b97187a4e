//! The servers measured: their URLs, a temporary database per run (dropped by
//! its guard, also on error or panic), and what the machine is.

use migrate_core::driver::{self, ConnectOptions};
use migrate_core::url::{Backend, DbUrl};

/// The server URL of `backend` (any database on it; the benchmark makes its own).
pub fn server_url(backend: Backend) -> String {
    let (var, default) = match backend {
        Backend::MySql => (
            "MIGRATE_TEST_MYSQL_URL",
            "mysql://root@127.0.0.1:3306/mysql",
        ),
        _ => (
            "MIGRATE_TEST_PG_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
        ),
    };
    std::env::var(var).unwrap_or_else(|_| default.to_string())
}

/// A database created for one run; dropped when the guard is dropped.
pub struct TempDatabase {
    admin: DbUrl,
    name: String,
    /// The URL of the temporary database.
    pub url: DbUrl,
}

impl TempDatabase {
    /// Creates `name` on the server of `admin` (dropping a leftover first).
    pub async fn create(admin: &str, name: &str) -> Result<TempDatabase, String> {
        let admin = DbUrl::parse(admin).map_err(|e| e.to_string())?;
        let url = admin.with_database(name);
        let mut conn = driver::connect(&admin, &ConnectOptions::default())
            .await
            .map_err(|e| e.to_string())?;
        for sql in [
            drop_sql(admin.backend(), name),
            format!("CREATE DATABASE {name}"),
        ] {
            conn.execute(&sql)
                .await
                .map_err(|e| format!("{sql}: {}", migrate_core::url::redact(&e.to_string())))?;
        }
        conn.close().await;
        Ok(TempDatabase {
            admin,
            name: name.to_string(),
            url,
        })
    }
}

fn drop_sql(backend: Backend, name: &str) -> String {
    match backend {
        // FORCE ends the load's and the helpers' sessions if an error left them open.
        Backend::Postgres => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        _ => format!("DROP DATABASE IF EXISTS {name}"),
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        // Drop cannot await, and may run inside the runtime (or while a panic
        // unwinds): a thread with its own small runtime does the async work.
        let admin = self.admin.clone();
        let sql = drop_sql(admin.backend(), &self.name);
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let mut conn = driver::connect(&admin, &ConnectOptions::default())
                    .await
                    .map_err(|e| e.to_string())?;
                let r = conn
                    .execute(&sql)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string());
                conn.close().await;
                r
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: could not drop database {}: {e}", self.name),
            Err(_) => eprintln!("warning: could not drop database {}", self.name),
        }
    }
}

/// What the numbers were measured on.
#[derive(Debug, Clone)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: Option<String>,
    pub memory_gib: Option<f64>,
    /// The 1-minute load average when the run started (other work skews p99).
    pub load_average: Option<String>,
    pub date: String,
}

impl Machine {
    /// Reads the CPU count, `/proc/cpuinfo`, `/proc/meminfo` and the clock.
    pub fn detect() -> Machine {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        });
        let memory_gib = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
                .map(|kib| kib / 1024.0 / 1024.0)
        });
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            memory_gib,
            load_average: std::fs::read_to_string("/proc/loadavg")
                .ok()
                .and_then(|s| s.split_whitespace().next().map(str::to_string)),
            date: utc_date(secs),
        }
    }
}

/// `YYYY-MM-DD` (UTC) of a Unix time, by the days-to-civil algorithm.
pub fn utc_date(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64 + 719_468;
    let era = days.div_euclid(146_097);
    let doe = days.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(1_795_000_000), "2026-11-18");
    }
}
