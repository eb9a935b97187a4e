//! `Store`: the shop's reads and writes, on a SQLite database whose schema
//! the migrations created.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{Row, SqliteConnection};

use crate::sql;

/// The products seeded orders are made of: sku and unit price in cents.
const CATALOG: &[(&str, i64)] = &[
    ("tea-earl-grey", 650),
    ("tea-sencha", 890),
    ("mug-stoneware", 1450),
    ("kettle-steel", 3990),
    ("teapot-glass", 2450),
    ("filter-paper", 350),
    ("honey-jar", 720),
    ("biscuits-oat", 480),
];

const FIRST_NAMES: &[&str] = &[
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken",
];

const LAST_NAMES: &[&str] = &[
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Ritchie",
];

const STATUSES: &[&str] = &["placed", "paid", "shipped", "delivered"];

/// The longest sku the `order_items.sku` column holds.
const MAX_SKU_LEN: usize = 64;

/// What can go wrong in the app.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The SQLite file does not exist: the migrations were not applied yet.
    NoDatabase(PathBuf),
    /// An order names a customer that does not exist.
    UnknownCustomer(i64),
    /// An order item is invalid (empty sku, quantity below 1, ...).
    InvalidItem(String),
    /// Orders were asked for but there is no customer to place them for.
    NoCustomers,
    /// The database failed.
    Database(sqlx::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoDatabase(path) => write!(
                f,
                "the database {} does not exist; create it by applying the migrations \
                 (`cargo migrate deploy` or `cargo run -p shop-migrations -- apply` in examples/shop)",
                path.display()
            ),
            Error::UnknownCustomer(id) => {
                write!(
                    f,
                    "customer {id} does not exist; `shop-app report` lists the customers"
                )
            }
            Error::InvalidItem(reason) => write!(f, "invalid order item: {reason}"),
            Error::NoCustomers => {
                write!(
                    f,
                    "there is no customer to place orders for; seed with `--customers N`"
                )
            }
            Error::Database(e) => write!(f, "database error: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Database(e) => Some(e),
            _ => None,
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::Database(e)
    }
}

/// What [`Store::seed`] inserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeded {
    /// Customers inserted.
    pub customers: u32,
    /// Orders inserted.
    pub orders: u32,
    /// Order items inserted.
    pub items: u32,
}

/// An order placed by [`Store::place_order`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlacedOrder {
    /// The new order's id.
    pub id: i64,
    /// Its total in cents.
    pub total_cents: i64,
}

/// One customer in the [`Report`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerLine {
    /// Customer id.
    pub id: i64,
    /// Email address.
    pub email: String,
    /// Full name (`customers.full_name`).
    pub name: String,
    /// Number of orders.
    pub orders: i64,
    /// Sum of the order totals in cents.
    pub spent_cents: i64,
}

/// One order in the [`Report`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    /// Order id.
    pub id: i64,
    /// The customer who placed it.
    pub customer_id: i64,
    /// `placed`, `paid`, `shipped` or `delivered`.
    pub status: String,
    /// Number of distinct items.
    pub items: i64,
    /// Total in cents.
    pub total_cents: i64,
}

/// Customers, orders and totals; its `Display` is what `shop-app report` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Every customer, by id.
    pub customers: Vec<CustomerLine>,
    /// Every order, by id.
    pub orders: Vec<OrderLine>,
}

impl Report {
    /// The sum of all order totals in cents.
    pub fn revenue_cents(&self) -> i64 {
        self.orders.iter().map(|o| o.total_cents).sum()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Customers ({})", self.customers.len())?;
        writeln!(
            f,
            "{:>6}  {:<28} {:<22} {:>6} {:>12}",
            "id", "email", "name", "orders", "spent"
        )?;
        for c in &self.customers {
            writeln!(
                f,
                "{:>6}  {:<28} {:<22} {:>6} {:>12}",
                c.id,
                c.email,
                c.name,
                c.orders,
                money(c.spent_cents)
            )?;
        }
        writeln!(f)?;
        writeln!(f, "Orders ({})", self.orders.len())?;
        writeln!(
            f,
            "{:>6}  {:>8}  {:<10} {:>5} {:>12}",
            "id", "customer", "status", "items", "total"
        )?;
        for o in &self.orders {
            writeln!(
                f,
                "{:>6}  {:>8}  {:<10} {:>5} {:>12}",
                o.id,
                o.customer_id,
                o.status,
                o.items,
                money(o.total_cents)
            )?;
        }
        writeln!(f)?;
        writeln!(f, "Revenue: {}", money(self.revenue_cents()))
    }
}

/// Formats cents as `1234.56`.
pub fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{}.{:02}", cents / 100, cents % 100)
}

/// The shop's database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens the database at `url` (`sqlite://data/shop.db` is relative to the
    /// current folder). The file must exist: the migrations create it.
    pub async fn open(url: &str) -> Result<Store, Error> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(false)
            .foreign_keys(true);
        let path = options.get_filename();
        if !url.contains(":memory:") && !path.exists() {
            let shown = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
            return Err(Error::NoDatabase(shown));
        }
        // One connection: a CLI runs one command at a time, and SQLite
        // serialises writers anyway.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        Ok(Store { pool })
    }

    /// Closes the connection.
    pub async fn close(self) {
        self.pool.close().await;
    }

    /// Inserts `customers` customers, then `orders` orders spread over all
    /// customers, each with one to three items, in one transaction.
    ///
    /// The data depends only on what is already there: seeding two empty
    /// databases the same way gives the same rows.
    pub async fn seed(&self, customers: u32, orders: u32) -> Result<Seeded, Error> {
        let mut tx = self.pool.begin().await?;
        let mut ids: Vec<i64> = sqlx::query_scalar(sql::CUSTOMER_IDS)
            .fetch_all(&mut *tx)
            .await?;
        for _ in 0..customers {
            let n = ids.len() + 1;
            let name = format!(
                "{} {}",
                FIRST_NAMES[n % FIRST_NAMES.len()],
                LAST_NAMES[n % LAST_NAMES.len()]
            );
            let id: i64 = sqlx::query_scalar(sql::INSERT_CUSTOMER)
                .bind(format!("customer{n}@example.com"))
                .bind(name)
                .fetch_one(&mut *tx)
                .await?;
            ids.push(id);
        }
        if orders > 0 && ids.is_empty() {
            return Err(Error::NoCustomers);
        }
        let mut items = 0;
        for j in 0..orders as usize {
            let customer_id = ids[j % ids.len()];
            let order_id = insert_order(&mut tx, customer_id, STATUSES[j % STATUSES.len()]).await?;
            for i in 0..1 + j % 3 {
                let (sku, price) = CATALOG[(3 * j + i) % CATALOG.len()];
                let quantity = 1 + ((j + 2 * i) % 4) as i64;
                insert_item(&mut tx, order_id, sku, quantity, price).await?;
                items += 1;
            }
            update_total(&mut tx, order_id).await?;
        }
        tx.commit().await?;
        Ok(Seeded {
            customers,
            orders,
            items,
        })
    }

    /// Places an order of one item for an existing customer.
    pub async fn place_order(
        &self,
        customer_id: i64,
        sku: &str,
        quantity: i64,
        unit_price_cents: i64,
    ) -> Result<PlacedOrder, Error> {
        if sku.is_empty() || sku.len() > MAX_SKU_LEN {
            return Err(Error::InvalidItem(format!(
                "the sku must have 1 to {MAX_SKU_LEN} bytes"
            )));
        }
        if quantity < 1 {
            return Err(Error::InvalidItem(format!(
                "the quantity must be at least 1, not {quantity}"
            )));
        }
        if unit_price_cents < 0 {
            return Err(Error::InvalidItem(format!(
                "the unit price cannot be negative ({unit_price_cents} cents)"
            )));
        }
        let total_cents = quantity.checked_mul(unit_price_cents).ok_or_else(|| {
            Error::InvalidItem(format!(
                "{quantity} × {unit_price_cents} cents does not fit a 64-bit total"
            ))
        })?;
        let mut tx = self.pool.begin().await?;
        // orders.customer_id has no foreign key (see the migrations), so the
        // app checks the customer in the same transaction.
        let exists: i64 = sqlx::query_scalar(sql::CUSTOMER_EXISTS)
            .bind(customer_id)
            .fetch_one(&mut *tx)
            .await?;
        if exists == 0 {
            return Err(Error::UnknownCustomer(customer_id));
        }
        let id = insert_order(&mut tx, customer_id, "placed").await?;
        insert_item(&mut tx, id, sku, quantity, unit_price_cents).await?;
        update_total(&mut tx, id).await?;
        tx.commit().await?;
        Ok(PlacedOrder { id, total_cents })
    }

    /// The ids of all customers, in order.
    pub async fn customer_ids(&self) -> Result<Vec<i64>, Error> {
        Ok(sqlx::query_scalar(sql::CUSTOMER_IDS)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Whether the database answers a read of the schema the app needs.
    pub async fn ping(&self) -> Result<(), Error> {
        let _: i64 = sqlx::query_scalar(sql::CUSTOMER_EXISTS)
            .bind(0_i64)
            .fetch_one(&self.pool)
            .await?;
        Ok(())
    }

    /// Every customer and order with their totals.
    pub async fn report(&self) -> Result<Report, Error> {
        let customers = sqlx::query(sql::CUSTOMER_REPORT)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                Ok(CustomerLine {
                    id: row.try_get(0)?,
                    email: row.try_get(1)?,
                    name: row.try_get(2)?,
                    orders: row.try_get(3)?,
                    spent_cents: row.try_get(4)?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let orders = sqlx::query(sql::ORDER_REPORT)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                Ok(OrderLine {
                    id: row.try_get(0)?,
                    customer_id: row.try_get(1)?,
                    status: row.try_get(2)?,
                    items: row.try_get(3)?,
                    total_cents: row.try_get(4)?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(Report { customers, orders })
    }
}

async fn insert_order(
    conn: &mut SqliteConnection,
    customer_id: i64,
    status: &str,
) -> Result<i64, Error> {
    Ok(sqlx::query_scalar(sql::INSERT_ORDER)
        .bind(customer_id)
        .bind(status.to_owned())
        .fetch_one(conn)
        .await?)
}

async fn insert_item(
    conn: &mut SqliteConnection,
    order_id: i64,
    sku: &str,
    quantity: i64,
    unit_price_cents: i64,
) -> Result<(), Error> {
    sqlx::query(sql::INSERT_ORDER_ITEM)
        .bind(order_id)
        .bind(sku.to_owned())
        .bind(quantity)
        .bind(unit_price_cents)
        .execute(conn)
        .await?;
    Ok(())
}

async fn update_total(conn: &mut SqliteConnection, order_id: i64) -> Result<(), Error> {
    sqlx::query(sql::UPDATE_ORDER_TOTAL)
        .bind(order_id)
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use sqlx::{Connection as _, Executor as _, SqlSafeStr as _};
    use tempfile::TempDir;

    use super::*;
    // Links the migrations so that `Migrator::registered` finds them.
    use shop_migrations as _;

    /// A fresh database migrated to the latest schema, and the folder holding it.
    async fn migrated() -> (TempDir, String) {
        let dir = tempfile::tempdir().expect("temporary folder");
        let url = format!("sqlite://{}/shop.db", dir.path().display());
        migrate_core::Migrator::registered()
            .apply(&url)
            .await
            .expect("the migrations apply to a fresh database");
        (dir, url)
    }

    #[tokio::test]
    async fn every_query_prepares_against_the_migrated_schema() {
        let (_dir, url) = migrated().await;
        let mut conn = sqlx::SqliteConnection::connect(&url)
            .await
            .expect("connect");
        for (file, query) in sql::ALL {
            if let Err(e) = conn.prepare(query.into_sql_str()).await {
                panic!("{file} does not prepare: {e}");
            }
        }
        conn.close().await.expect("close");
    }

    #[tokio::test]
    async fn seeding_the_same_way_gives_the_same_data() {
        let mut reports = Vec::new();
        for _ in 0..2 {
            let (_dir, url) = migrated().await;
            let store = Store::open(&url).await.expect("open");
            let seeded = store.seed(3, 7).await.expect("seed");
            assert_eq!((seeded.customers, seeded.orders), (3, 7));
            reports.push(store.report().await.expect("report"));
            store.close().await;
        }
        assert_eq!(reports[0], reports[1]);
        assert_eq!(reports[0].customers.len(), 3);
        assert_eq!(reports[0].orders.len(), 7);
    }

    #[tokio::test]
    async fn seeded_totals_are_the_sum_of_the_items() {
        let (_dir, url) = migrated().await;
        let store = Store::open(&url).await.expect("open");
        store.seed(2, 4).await.expect("seed");
        let report = store.report().await.expect("report");
        // Order 2 (j = 1): two items, CATALOG[3] × 2 and CATALOG[4] × 4.
        let expected = 3990 * 2 + 2450 * 4;
        assert_eq!(report.orders[1].items, 2);
        assert_eq!(report.orders[1].total_cents, expected);
        let spent: i64 = report.customers.iter().map(|c| c.spent_cents).sum();
        assert_eq!(spent, report.revenue_cents());
        store.close().await;
    }

    #[tokio::test]
    async fn placing_an_order_records_its_total() {
        let (_dir, url) = migrated().await;
        let store = Store::open(&url).await.expect("open");
        store.seed(1, 0).await.expect("seed");
        let placed = store
            .place_order(1, "mug-stoneware", 3, 1450)
            .await
            .expect("place");
        assert_eq!(placed.total_cents, 4350);
        let report = store.report().await.expect("report");
        assert_eq!(report.orders.len(), 1);
        assert_eq!(report.orders[0].id, placed.id);
        assert_eq!(report.orders[0].total_cents, 4350);
        assert_eq!(report.customers[0].spent_cents, 4350);
        store.close().await;
    }

    #[tokio::test]
    async fn an_order_for_a_missing_customer_is_refused() {
        let (_dir, url) = migrated().await;
        let store = Store::open(&url).await.expect("open");
        let err = store
            .place_order(42, "tea-sencha", 1, 890)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::UnknownCustomer(42)), "{err}");
        assert!(store.report().await.expect("report").orders.is_empty());
        store.close().await;
    }

    #[tokio::test]
    async fn a_quantity_below_one_is_refused() {
        let (_dir, url) = migrated().await;
        let store = Store::open(&url).await.expect("open");
        store.seed(1, 0).await.expect("seed");
        let err = store
            .place_order(1, "tea-sencha", 0, 890)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidItem(_)), "{err}");
        store.close().await;
    }

    #[tokio::test]
    async fn opening_a_missing_database_says_to_apply_the_migrations() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let url = format!("sqlite://{}/absent.db", dir.path().display());
        let err = Store::open(&url).await.unwrap_err();
        assert!(matches!(err, Error::NoDatabase(_)), "{err}");
        assert!(err.to_string().contains("applying the migrations"), "{err}");
    }

    #[test]
    fn money_has_two_decimals() {
        assert_eq!(money(0), "0.00");
        assert_eq!(money(4350), "43.50");
        assert_eq!(money(-5), "-0.05");
    }
}
