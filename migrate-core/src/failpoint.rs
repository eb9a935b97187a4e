//! Named failpoints for fault tests: `MIGRATE_FAILPOINT=name:action` makes the
//! runner stop at an exact window. Compiled to nothing unless the test-only
//! `failpoints` feature is on.
//!
//! Actions: `pause` (print `failpoint <name> reached` on stderr and sleep, so a
//! test can SIGKILL the process there), `abort` (abort the process),
//! `error` (panic with a message), `sleep(ms)` (sleep, then continue).
//! Several failpoints can be given, separated by `;`; `name@N` triggers on the
//! N-th hit only (1-based).

/// Marks a named window; does nothing unless enabled for this name.
#[inline]
pub fn hit(name: &str) {
    #[cfg(feature = "failpoints")]
    enabled::hit(name);
    #[cfg(not(feature = "failpoints"))]
    let _ = name;
}

#[cfg(feature = "failpoints")]
mod enabled {
    use std::collections::HashMap;
    use std::io::Write;
    use std::sync::Mutex;
    use std::time::Duration;

    static COUNTS: Mutex<Option<HashMap<String, u32>>> = Mutex::new(None);

    pub fn hit(name: &str) {
        let Ok(spec) = std::env::var("MIGRATE_FAILPOINT") else {
            return;
        };
        for entry in spec.split(';') {
            let Some((point, action)) = entry.split_once(':') else {
                continue;
            };
            let (point, nth) = match point.split_once('@') {
                Some((p, n)) => (p, n.parse::<u32>().ok()),
                None => (point, None),
            };
            if point != name {
                continue;
            }
            let count = {
                let mut guard = COUNTS.lock().unwrap_or_else(|p| p.into_inner());
                let map = guard.get_or_insert_with(HashMap::new);
                let c = map.entry(name.to_string()).or_insert(0);
                *c += 1;
                *c
            };
            if nth.is_some_and(|n| n != count) {
                continue;
            }
            trigger(name, action);
        }
    }

    fn trigger(name: &str, action: &str) {
        let mut err = std::io::stderr();
        match action {
            "pause" => {
                let _ = writeln!(err, "failpoint {name} reached");
                let _ = err.flush();
                loop {
                    std::thread::sleep(Duration::from_secs(3600));
                }
            }
            "abort" => {
                let _ = writeln!(err, "failpoint {name} reached: aborting");
                std::process::abort();
            }
            "error" => panic!("failpoint {name} triggered an error"),
            other => {
                if let Some(ms) = other
                    .strip_prefix("sleep(")
                    .and_then(|r| r.strip_suffix(')'))
                    && let Ok(ms) = ms.parse::<u64>()
                {
                    let _ = writeln!(err, "failpoint {name} reached: sleeping {ms} ms");
                    std::thread::sleep(Duration::from_millis(ms));
                }
            }
        }
    }
}
