//! The machine section of `BENCHMARKS.md`: cores, CPU, memory, OS, kernel,
//! the servers' and the toolchain's versions, date and load.

use std::process::Command;

use crate::server::Machine;

fn first_line(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
}

fn os_name() -> Option<String> {
    std::fs::read_to_string("/etc/os-release")
        .ok()?
        .lines()
        .find_map(|l| {
            l.strip_prefix("PRETTY_NAME=")
                .map(|v| v.trim_matches('"').to_string())
        })
}

/// The Markdown section.
pub fn section() -> String {
    let m = Machine::detect();
    let now = first_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or(m.date.clone());
    let rows = [
        (
            "CPU",
            format!(
                "{} core{}{}",
                m.cpus,
                if m.cpus == 1 { "" } else { "s" },
                m.cpu_model
                    .as_ref()
                    .map_or(String::new(), |c| format!(" ({c})"))
            ),
        ),
        (
            "memory",
            m.memory_gib
                .map_or("unknown".into(), |g| format!("{g:.1} GiB")),
        ),
        ("OS", os_name().unwrap_or_else(|| "unknown".into())),
        (
            "kernel",
            first_line("uname", &["-r"]).unwrap_or_else(|| "unknown".into()),
        ),
        (
            "PostgreSQL",
            first_line("psql", &["--version"]).unwrap_or_else(|| "unknown".into()),
        ),
        (
            "MariaDB",
            first_line("mariadb", &["--version"]).unwrap_or_else(|| "unknown".into()),
        ),
        (
            "SQLite",
            first_line("sqlite3", &["--version"])
                .map(|v| format!("bundled with sqlx (libsqlite3-sys); shell {v}"))
                .unwrap_or_else(|| "bundled with sqlx (libsqlite3-sys)".into()),
        ),
        (
            "Rust",
            first_line("rustc", &["--version"]).unwrap_or_else(|| "unknown".into()),
        ),
        ("measured", now),
        (
            "load",
            first_line("uptime", &[]).unwrap_or_else(|| "unknown".into()),
        ),
    ];
    let mut t = crate::table::Table::new(&["", "value"]);
    for (k, v) in rows {
        t.row(vec![k.to_string(), v]);
    }
    format!(
        "## Machine\n\nThe `apply`, `status`, `build` and `backup` sections below were measured on this machine (the online-DDL section names its own). The servers run locally on the same machine, which is shared with other engineers' builds: absolute times are noisy, the ratios measured interleaved less so.\n\n{}\n",
        t.render()
    )
}
