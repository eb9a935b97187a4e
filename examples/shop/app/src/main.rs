//! `shop-app`: seed the shop database, place orders, print a report, serve HTTP.

use std::process::ExitCode;

use shop_app::Store;
use shop_app::cli::{self, Command};
use shop_app::store::money;

fn main() -> ExitCode {
    let args = match cli::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("error: {message}\nRun `shop-app --help` for the commands.");
            return ExitCode::from(2);
        }
    };
    if args.command == Command::Help {
        println!("{}", cli::USAGE);
        return ExitCode::SUCCESS;
    }
    let url = args.database_url(std::env::var("DATABASE_URL").ok());
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&url, args.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(url: &str, command: Command) -> Result<(), Box<dyn std::error::Error>> {
    let store = Store::open(url).await?;
    let result = execute(&store, command).await;
    store.close().await;
    result
}

async fn execute(store: &Store, command: Command) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        Command::Seed { customers, orders } => {
            let seeded = store.seed(customers, orders).await?;
            println!(
                "seeded {} customers, {} orders and {} order items",
                seeded.customers, seeded.orders, seeded.items
            );
        }
        Command::PlaceOrder {
            customer_id,
            sku,
            quantity,
            unit_price_cents,
        } => {
            let order = store
                .place_order(customer_id, &sku, quantity, unit_price_cents)
                .await?;
            println!(
                "placed order {} for customer {customer_id}: {quantity} × {sku}, total {}",
                order.id,
                money(order.total_cents)
            );
        }
        Command::Report => print!("{}", store.report().await?),
        Command::Serve { addr, write_rate } => {
            shop_app::serve::serve(store.clone(), &addr, write_rate).await?
        }
        Command::Help => println!("{}", cli::USAGE),
    }
    Ok(())
}
