//! The command line, parsed by hand: three options do not justify a parser
//! crate in a build that should stay small.

use std::path::PathBuf;

/// Shown on `--help` and after a usage error.
pub const USAGE: &str = "\
usage: migrate-bench online [--rows N] [--backend postgres|mysql|all] [--write FILE]
       migrate-bench apply|status|build|backup|all [--count N] [--runs N]
                     [--backend sqlite|postgres|mysql|all] [--rows N] [--write FILE]

  online      write latency of a concurrent load during online and naive DDL
  apply       apply N trivial migrations (default 1000): ours, raw sqlx, sqlx-cli, refinery
  status      `status` with N applied migrations (default 10000) vs `sqlx migrate info`
  build       build cost of a migrations crate with N migrations (default 200)
  backup      `backup` vs the bare dump tool on a table of --rows rows (default 200000)
  all         apply, status, build and backup (not online), and the machine section
  --count N   migrations (apply, status, build)
  --runs N    timed runs per contender, median reported (default 3)
  --rows N    rows in the benchmark table (online: default 2000000)
  --backend   which servers to measure (default all; URLs from
              MIGRATE_TEST_PG_URL / MIGRATE_TEST_MYSQL_URL, else the local ones)
  --write F   replace the benchmark's own section of F (e.g. BENCHMARKS.md)

Peers come from `sh migrate-bench/setup.sh` (target/bench-tools); a missing
one is skipped with a note.";

/// What to run.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// Print the usage.
    Help,
    /// The online-DDL benchmark.
    Online(OnlineArgs),
    /// One of the other benchmarks, or all of them.
    Bench(Bench, BenchArgs),
}

/// The benchmarks besides `online`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bench {
    Apply,
    Status,
    Build,
    Backup,
    All,
}

/// Options of the benchmarks besides `online` (`None`: each one's default).
#[derive(Debug, Default, PartialEq)]
pub struct BenchArgs {
    pub count: Option<usize>,
    pub runs: Option<usize>,
    pub rows: Option<u64>,
    pub backends: Option<Vec<migrate_core::url::Backend>>,
    pub write: Option<PathBuf>,
}

/// Which servers to measure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Servers {
    Postgres,
    MySql,
    All,
}

/// Options of `online`.
#[derive(Debug, PartialEq)]
pub struct OnlineArgs {
    pub rows: u64,
    pub servers: Servers,
    pub write: Option<PathBuf>,
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut args = args.into_iter();
    let bench = match args.next().as_deref() {
        Some("online") => None,
        Some("apply") => Some(Bench::Apply),
        Some("status") => Some(Bench::Status),
        Some("build") => Some(Bench::Build),
        Some("backup") => Some(Bench::Backup),
        Some("all") => Some(Bench::All),
        Some("-h" | "--help" | "help") => return Ok(Command::Help),
        Some(other) => {
            return Err(format!(
                "unknown benchmark `{other}`; there are: online, apply, status, build, backup, all"
            ));
        }
        None => return Err("name a benchmark: online, apply, status, build, backup or all".into()),
    };
    if let Some(bench) = bench {
        return parse_bench(args).map(|a| Command::Bench(bench, a));
    }
    let mut parsed = OnlineArgs {
        rows: 2_000_000,
        servers: Servers::All,
        write: None,
    };
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (arg, None),
        };
        if flag == "-h" || flag == "--help" {
            return Ok(Command::Help);
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--rows" => {
                let v = value()?;
                parsed.rows = v.parse().ok().filter(|n| *n >= 1000).ok_or_else(|| {
                    format!("--rows takes a whole number of at least 1000, got `{v}`")
                })?;
            }
            "--backend" => {
                parsed.servers = match value()?.as_str() {
                    "postgres" | "pg" => Servers::Postgres,
                    "mysql" | "mariadb" => Servers::MySql,
                    "all" => Servers::All,
                    other => {
                        return Err(format!(
                            "--backend takes postgres, mysql or all, got `{other}`"
                        ));
                    }
                }
            }
            "--write" => parsed.write = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(Command::Online(parsed))
}

/// The options of `apply`, `status`, `build`, `backup` and `all`.
fn parse_bench(mut args: impl Iterator<Item = String>) -> Result<BenchArgs, String> {
    use migrate_core::url::Backend;
    let mut parsed = BenchArgs::default();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (arg, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        let number = |v: String| {
            v.parse::<u64>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| format!("{flag} takes a positive whole number, got `{v}`"))
        };
        match flag.as_str() {
            "--count" => parsed.count = Some(number(value()?)? as usize),
            "--runs" => parsed.runs = Some(number(value()?)? as usize),
            "--rows" => parsed.rows = Some(number(value()?)?),
            "--backend" => {
                parsed.backends = Some(match value()?.as_str() {
                    "sqlite" => vec![Backend::Sqlite],
                    "postgres" | "pg" => vec![Backend::Postgres],
                    "mysql" | "mariadb" => vec![Backend::MySql],
                    "all" => vec![Backend::Sqlite, Backend::Postgres, Backend::MySql],
                    other => {
                        return Err(format!(
                            "--backend takes sqlite, postgres, mysql or all, got `{other}`"
                        ));
                    }
                })
            }
            "--write" => parsed.write = Some(PathBuf::from(value()?)),
            "-h" | "--help" => return Err("see the usage".into()),
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<Command, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_are_two_million_rows_on_every_server() {
        assert_eq!(
            parse_strs(&["online"]).unwrap(),
            Command::Online(OnlineArgs {
                rows: 2_000_000,
                servers: Servers::All,
                write: None
            })
        );
    }

    #[test]
    fn options_take_separate_or_inline_values() {
        assert_eq!(
            parse_strs(&[
                "online",
                "--rows=5000",
                "--backend",
                "mysql",
                "--write",
                "B.md"
            ])
            .unwrap(),
            Command::Online(OnlineArgs {
                rows: 5000,
                servers: Servers::MySql,
                write: Some("B.md".into())
            })
        );
    }

    #[test]
    fn bad_values_and_unknown_options_are_refused() {
        assert!(parse_strs(&["online", "--rows", "ten"]).is_err());
        assert!(parse_strs(&["online", "--backend", "oracle"]).is_err());
        assert!(parse_strs(&["online", "--fast"]).is_err());
        assert!(parse_strs(&["offline"]).is_err());
        assert!(parse_strs(&["apply", "--runs", "0"]).is_err());
        assert!(parse_strs(&["status", "--backend", "oracle"]).is_err());
    }

    #[test]
    fn the_other_benchmarks_take_counts_runs_and_backends() {
        assert_eq!(
            parse_strs(&["apply", "--count=50", "--runs", "2", "--backend", "sqlite"]).unwrap(),
            Command::Bench(
                Bench::Apply,
                BenchArgs {
                    count: Some(50),
                    runs: Some(2),
                    backends: Some(vec![migrate_core::url::Backend::Sqlite]),
                    ..BenchArgs::default()
                }
            )
        );
        assert_eq!(
            parse_strs(&["all", "--write", "B.md"]).unwrap(),
            Command::Bench(
                Bench::All,
                BenchArgs {
                    write: Some("B.md".into()),
                    ..BenchArgs::default()
                }
            )
        );
    }
}
