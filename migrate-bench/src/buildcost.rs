//! The build-cost benchmark: a migrations crate with N migrations against
//! the same crate with none (dependencies prebuilt, `dev` profile, as a
//! developer builds): clean build, clean `cargo check`, and the incremental
//! build after adding one migration. The difference divided by N is the
//! cost of one migration (macro expansion, type checking, codegen).

use std::time::Duration;

use crate::generate;
use crate::table::Table;
use crate::tools::median;

/// Timings of one crate (medians over the runs).
pub struct BuildResult {
    pub count: usize,
    pub build_n: Vec<Duration>,
    pub build_0: Vec<Duration>,
    pub check_n: Vec<Duration>,
    pub check_0: Vec<Duration>,
    pub incremental: Vec<Duration>,
}

/// Runs the measurements `runs` times, interleaving N and 0.
pub fn bench(count: usize, runs: usize) -> Result<BuildResult, String> {
    let label_n = format!("build-{count}");
    let n = generate::migrations_crate(&label_n, count)?;
    let zero = generate::migrations_crate("build-0", 0)?;
    eprintln!("building and checking the dependencies once (dev profile, untimed)…");
    n.build("dev")?;
    zero.build("dev")?;
    // `cargo check` needs the dependencies' metadata built in check mode too.
    n.check()?;
    zero.check()?;
    let mut r = BuildResult {
        count,
        build_n: vec![],
        build_0: vec![],
        check_n: vec![],
        check_0: vec![],
        incremental: vec![],
    };
    for run in 0..runs {
        for (c, is_n) in [(&n, true), (&zero, false)] {
            c.clean("dev")?;
            let check = c.check()?;
            c.clean("dev")?;
            let build = c.build("dev")?;
            eprintln!(
                "  run {}: {}: check {:.2} s, build {:.2} s",
                run + 1,
                c.package,
                check.as_secs_f64(),
                build.as_secs_f64()
            );
            let (checks, builds) = if is_n {
                (&mut r.check_n, &mut r.build_n)
            } else {
                (&mut r.check_0, &mut r.build_0)
            };
            checks.push(check);
            builds.push(build);
        }
        // Incremental: one more migration in a new module, as `cargo migrate new` adds it.
        n.add_migration(count + 1)?;
        let inc = n.build("dev")?;
        eprintln!(
            "  run {}: incremental +1: {:.2} s",
            run + 1,
            inc.as_secs_f64()
        );
        r.incremental.push(inc);
        // Back to N migrations for the next run.
        generate::migrations_crate(&label_n, count)?;
    }
    Ok(r)
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// The table.
pub fn table(r: &BuildResult) -> Table {
    let (bn, b0) = (median(&r.build_n), median(&r.build_0));
    let (cn, c0) = (median(&r.check_n), median(&r.check_0));
    let per = |a: Duration, b: Duration| {
        let diff = a.as_secs_f64() - b.as_secs_f64();
        format!("{:.1} ms", diff * 1000.0 / r.count as f64)
    };
    let mut t = Table::new(&[
        "measure",
        &format!("{} migrations", r.count),
        "0 migrations (baseline)",
        "ratio",
        "per migration",
    ]);
    t.row(vec![
        "clean `cargo build` of the crate (dev)".into(),
        secs(bn),
        secs(b0),
        crate::table::ratio(Some(bn), Some(b0)),
        per(bn, b0),
    ]);
    t.row(vec![
        "clean `cargo check` of the crate (expansion + type check, no codegen)".into(),
        secs(cn),
        secs(c0),
        crate::table::ratio(Some(cn), Some(c0)),
        per(cn, c0),
    ]);
    t.row(vec![
        format!(
            "incremental `cargo build` after adding migration {}",
            r.count + 1
        ),
        secs(median(&r.incremental)),
        "—".into(),
        "—".into(),
        "—".into(),
    ]);
    t
}
