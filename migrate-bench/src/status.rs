//! The status benchmark: `status` of the generated runner with N applied
//! migrations against `sqlx migrate info` on the same N (each tool on its
//! own database holding its own history, applied untimed beforehand).

use std::time::Duration;

use migrate_core::url::Backend;

use crate::apply::{Inputs, short};
use crate::fresh::{self, Fresh};
use crate::table::{Table, ratio};
use crate::tools::{self, median_of};

/// Goal of the issue.
pub const GOAL: Duration = Duration::from_millis(300);

/// Medians of one backend.
pub struct StatusResult {
    pub backend: Backend,
    pub ours: Result<Vec<Duration>, String>,
    pub sqlx: Result<Vec<Duration>, String>,
    /// How long applying the N migrations took (untimed setup, reported).
    pub setup_ours: Option<Duration>,
    pub setup_sqlx: Option<Duration>,
}

/// Applies everything with both tools, then times `runs` interleaved
/// `status` / `sqlx migrate info` calls.
pub async fn bench(inputs: &Inputs, backend: Backend, runs: usize) -> Result<StatusResult, String> {
    let name = fresh::backend_name(backend);
    let ours_db = Fresh::create(backend, "status_ours").await?;
    eprintln!(
        "  {name}: applying {} migrations with ours (setup)…",
        inputs.count
    );
    let setup_ours = tools::time(inputs.ours(&ours_db)?.arg("apply"))?;
    eprintln!("    {:.1} s", setup_ours.as_secs_f64());
    let sqlx_db = Fresh::create(backend, "status_sqlx").await?;
    let mut sqlx: Result<Vec<Duration>, String> = Ok(Vec::new());
    let mut setup_sqlx = None;
    match inputs.sqlx_cmd(&sqlx_db, "run") {
        Ok(mut c) => {
            eprintln!(
                "  {name}: applying {} migrations with sqlx-cli (setup)…",
                inputs.count
            );
            match tools::time(&mut c) {
                Ok(d) => {
                    eprintln!("    {:.1} s", d.as_secs_f64());
                    setup_sqlx = Some(d);
                }
                Err(e) => sqlx = Err(e),
            }
        }
        Err(e) => sqlx = Err(e),
    }
    let mut ours = Vec::new();
    // One untimed call each first: the page cache and the servers' catalogs warm.
    tools::time(inputs.ours(&ours_db)?.arg("status"))?;
    if sqlx.is_ok() {
        let _ = tools::time(&mut inputs.sqlx_cmd(&sqlx_db, "info")?);
    }
    for run in 0..runs {
        let d = tools::time(inputs.ours(&ours_db)?.arg("status"))?;
        eprintln!(
            "  {name} status run {}: {:.0} ms",
            run + 1,
            d.as_secs_f64() * 1000.0
        );
        ours.push(d);
        if let Ok(list) = &mut sqlx {
            match tools::time(&mut inputs.sqlx_cmd(&sqlx_db, "info")?) {
                Ok(d) => {
                    eprintln!(
                        "  {name} sqlx info run {}: {:.0} ms",
                        run + 1,
                        d.as_secs_f64() * 1000.0
                    );
                    list.push(d);
                }
                Err(e) => sqlx = Err(e),
            }
        }
    }
    Ok(StatusResult {
        backend,
        ours: Ok(ours),
        sqlx,
        setup_ours: Some(setup_ours),
        setup_sqlx,
    })
}

/// The table of all backends.
pub fn table(results: &[StatusResult]) -> Table {
    let mut t = Table::new(&[
        "backend",
        "ours: `status`",
        "`sqlx migrate info`",
        "ours ÷ sqlx-cli",
        "goal < 300 ms",
        "ours runs (s)",
    ]);
    for r in results {
        let ours = median_of(&r.ours);
        let sqlx = median_of(&r.sqlx);
        t.row(vec![
            fresh::backend_name(r.backend).into(),
            ours.map_or("failed".into(), crate::report::ms),
            match (&r.sqlx, sqlx) {
                (_, Some(s)) => crate::report::ms(s),
                (Err(e), _) => format!("skipped: {}", short(e)),
                _ => "—".into(),
            },
            ratio(ours, sqlx),
            match ours {
                Some(o) if o < GOAL => "met".into(),
                Some(_) => "missed".into(),
                None => "—".into(),
            },
            r.ours
                .as_ref()
                .map(|s| {
                    s.iter()
                        .map(|d| format!("{:.3}", d.as_secs_f64()))
                        .collect::<Vec<_>>()
                        .join(" / ")
                })
                .unwrap_or_default(),
        ]);
    }
    t
}
