//! The command line of `shop-app`: parsed by hand, to keep the example's
//! dependencies to sqlx and tokio.

/// The database used when neither `--database-url` nor `DATABASE_URL` is set,
/// relative to the current folder (the one holding `Migrate.toml`).
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/shop.db";

/// The address `serve` listens on without `--addr`.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// The help text.
pub const USAGE: &str = "\
shop-app: the shop example's application

Usage: shop-app [--database-url URL] <command>

Commands:
  seed [--customers N] [--orders M]   insert N customers (default 10) and M orders (default 40)
  place-order <customer_id> <sku> <quantity> <unit_price_cents>
                                      place an order of one item
  report                              print customers, orders and totals
  serve [--addr HOST:PORT] [--write-rate N/s]
                                      serve POST /orders, GET /health and GET /metrics
                                      (Prometheus) on --addr (default 127.0.0.1:8080);
                                      --write-rate places N orders a second in the background

The database is --database-url, else DATABASE_URL, else sqlite://data/shop.db
(relative paths are relative to the current folder). Its schema comes from the
migrations: run `cargo migrate deploy` in examples/shop first.";

/// What to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Insert generated customers and orders.
    Seed {
        /// Customers to insert.
        customers: u32,
        /// Orders to insert.
        orders: u32,
    },
    /// Place an order of one item.
    PlaceOrder {
        /// The customer placing it.
        customer_id: i64,
        /// The product.
        sku: String,
        /// How many.
        quantity: i64,
        /// Price of one, in cents.
        unit_price_cents: i64,
    },
    /// Print customers, orders and totals.
    Report,
    /// Serve HTTP with Prometheus metrics.
    Serve {
        /// The address to listen on.
        addr: String,
        /// Orders placed a second in the background, if any.
        write_rate: Option<f64>,
    },
    /// Print the help text.
    Help,
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Args {
    /// `--database-url`, if given.
    pub database_url: Option<String>,
    /// The command.
    pub command: Command,
}

impl Args {
    /// The database URL: the flag, else `DATABASE_URL` (as `env` returns it),
    /// else [`DEFAULT_DATABASE_URL`].
    pub fn database_url(&self, env: Option<String>) -> String {
        self.database_url
            .clone()
            .or(env.filter(|url| !url.trim().is_empty()))
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
    }
}

/// Parses the arguments after the program name; the error says what is wrong.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Args, String> {
    let mut database_url = None;
    let mut options = Vec::new();
    let mut positional = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                return Ok(Args {
                    database_url,
                    command: Command::Help,
                });
            }
            "--database-url" => database_url = Some(value(&mut args, &arg)?),
            "--customers" | "--orders" | "--addr" | "--write-rate" => {
                let v = value(&mut args, &arg)?;
                options.push((arg, v));
            }
            flag if flag.starts_with("--") => {
                let (name, v) = flag
                    .split_once('=')
                    .ok_or_else(|| format!("unknown option `{flag}`"))?;
                match name {
                    "--database-url" => database_url = Some(v.to_owned()),
                    "--customers" | "--orders" | "--addr" | "--write-rate" => {
                        options.push((name.to_owned(), v.to_owned()))
                    }
                    _ => return Err(format!("unknown option `{name}`")),
                }
            }
            _ => positional.push(arg),
        }
    }
    let Some((name, rest)) = positional.split_first() else {
        return Err("a command is required: seed, place-order, report or serve".into());
    };
    let command = match name.as_str() {
        "seed" => {
            options_of(&options, "seed", &["--customers", "--orders"])?;
            no_extra(rest, "seed")?;
            let (mut customers, mut orders) = (10, 40);
            for (option, v) in &options {
                match option.as_str() {
                    "--customers" => customers = number(v, option)?,
                    _ => orders = number(v, option)?,
                }
            }
            Command::Seed { customers, orders }
        }
        "place-order" => {
            options_of(&options, "place-order", &[])?;
            let [customer_id, sku, quantity, price] = rest else {
                return Err(
                    "place-order takes <customer_id> <sku> <quantity> <unit_price_cents>".into(),
                );
            };
            Command::PlaceOrder {
                customer_id: number(customer_id, "customer_id")?,
                sku: sku.clone(),
                quantity: number(quantity, "quantity")?,
                unit_price_cents: number(price, "unit_price_cents")?,
            }
        }
        "report" => {
            options_of(&options, "report", &[])?;
            no_extra(rest, "report")?;
            Command::Report
        }
        "serve" => {
            options_of(&options, "serve", &["--addr", "--write-rate"])?;
            no_extra(rest, "serve")?;
            let mut addr = DEFAULT_ADDR.to_owned();
            let mut write_rate = None;
            for (option, v) in &options {
                match option.as_str() {
                    "--addr" => addr = v.clone(),
                    _ => write_rate = Some(rate(v)?),
                }
            }
            Command::Serve { addr, write_rate }
        }
        "help" => Command::Help,
        other => {
            return Err(format!(
                "unknown command `{other}`; the commands are seed, place-order, report and serve"
            ));
        }
    };
    Ok(Args {
        database_url,
        command,
    })
}

fn value(args: &mut impl Iterator<Item = String>, flag: &str) -> Result<String, String> {
    args.next().ok_or_else(|| format!("`{flag}` needs a value"))
}

fn number<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{what} must be a whole number, not `{text}`"))
}

fn no_extra(rest: &[String], command: &str) -> Result<(), String> {
    match rest.first() {
        Some(extra) => Err(format!("{command} takes no argument `{extra}`")),
        None => Ok(()),
    }
}

/// Each option belongs to one command.
fn options_of(options: &[(String, String)], command: &str, allowed: &[&str]) -> Result<(), String> {
    match options.iter().find(|(o, _)| !allowed.contains(&o.as_str())) {
        Some((option, _)) => {
            let owner = if option == "--addr" || option == "--write-rate" {
                "serve"
            } else {
                "seed"
            };
            Err(format!("`{option}` only applies to {owner}, not {command}"))
        }
        None => Ok(()),
    }
}

/// A positive rate: `20`, `20/s` or `0.5/s`.
fn rate(text: &str) -> Result<f64, String> {
    let number = text.strip_suffix("/s").unwrap_or(text);
    match number.parse::<f64>() {
        Ok(r) if r > 0.0 && r.is_finite() && r <= 10_000.0 => Ok(r),
        _ => Err(format!(
            "--write-rate must be a number of writes a second between 0 and 10000, like `20/s`, not `{text}`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(line: &str) -> Result<Args, String> {
        parse(line.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn seed_has_defaults_and_options() {
        assert_eq!(
            parse_str("seed").unwrap().command,
            Command::Seed {
                customers: 10,
                orders: 40
            }
        );
        assert_eq!(
            parse_str("seed --customers 3 --orders=5").unwrap().command,
            Command::Seed {
                customers: 3,
                orders: 5
            }
        );
    }

    #[test]
    fn place_order_takes_four_arguments() {
        let args = parse_str("--database-url sqlite://x.db place-order 7 tea 2 650").unwrap();
        assert_eq!(args.database_url.as_deref(), Some("sqlite://x.db"));
        assert_eq!(
            args.command,
            Command::PlaceOrder {
                customer_id: 7,
                sku: "tea".into(),
                quantity: 2,
                unit_price_cents: 650
            }
        );
        assert!(parse_str("place-order 7 tea 2").is_err());
        assert!(parse_str("place-order 7 tea two 650").is_err());
    }

    #[test]
    fn the_flag_wins_over_the_environment_and_the_default_comes_last() {
        let with_flag = parse_str("report --database-url=sqlite://flag.db").unwrap();
        assert_eq!(
            with_flag.database_url(Some("sqlite://env.db".into())),
            "sqlite://flag.db"
        );
        let without = parse_str("report").unwrap();
        assert_eq!(
            without.database_url(Some("sqlite://env.db".into())),
            "sqlite://env.db"
        );
        assert_eq!(without.database_url(None), DEFAULT_DATABASE_URL);
    }

    #[test]
    fn serve_takes_an_address_and_a_write_rate() {
        assert_eq!(
            parse_str("serve").unwrap().command,
            Command::Serve {
                addr: DEFAULT_ADDR.into(),
                write_rate: None
            }
        );
        assert_eq!(
            parse_str("serve --addr 127.0.0.1:0 --write-rate=20/s")
                .unwrap()
                .command,
            Command::Serve {
                addr: "127.0.0.1:0".into(),
                write_rate: Some(20.0)
            }
        );
        assert!(parse_str("serve --write-rate 0").is_err());
        assert!(parse_str("serve --write-rate fast").is_err());
        assert!(parse_str("serve --orders 3").is_err());
        assert!(parse_str("seed --addr 127.0.0.1:0").is_err());
    }

    #[test]
    fn mistakes_are_reported() {
        assert!(parse_str("").is_err());
        assert!(parse_str("sell").is_err());
        assert!(parse_str("report --orders 3").is_err());
        assert!(parse_str("report --verbose").is_err());
        assert!(parse_str("seed --customers").is_err());
    }
}
