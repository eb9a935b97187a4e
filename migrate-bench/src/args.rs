//! The command line, parsed by hand: three options do not justify a parser
//! crate in a build that should stay small.

use std::path::PathBuf;

/// Shown on `--help` and after a usage error.
pub const USAGE: &str = "\
usage: migrate-bench online [--rows N] [--backend postgres|mysql|all] [--write FILE]

  online      write latency of a concurrent load during online and naive DDL
  --rows N    rows in the benchmark table (default 2000000)
  --backend   which servers to measure (default all; URLs from
              MIGRATE_TEST_PG_URL / MIGRATE_TEST_MYSQL_URL, else the local ones)
  --write F   replace the \"Online DDL under load\" section of F (e.g. BENCHMARKS.md)";

/// What to run.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// Print the usage.
    Help,
    /// The online-DDL benchmark.
    Online(OnlineArgs),
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
    match args.next().as_deref() {
        Some("online") => {}
        Some("-h" | "--help" | "help") => return Ok(Command::Help),
        Some(other) => {
            return Err(format!(
                "unknown benchmark `{other}`; the one there is: online"
            ));
        }
        None => return Err("name a benchmark: online".into()),
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
    }
}
