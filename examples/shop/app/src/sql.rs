//! The SQL the app runs: one statement per file of `examples/shop/queries/`.
//!
//! The files are included verbatim, so the queries `cargo migrate stage` and
//! `verify` prepare against the migrated schema are exactly the ones the app
//! runs. They are written for SQLite (`?` placeholders, `RETURNING`); another
//! backend would get its own set beside them, selected in [`crate::store`].

/// Whether a customer exists (a count, 0 or 1); binds the customer id.
pub const CUSTOMER_EXISTS: &str = include_str!("../../queries/customer_exists.sql");

/// The ids of all customers, in order.
pub const CUSTOMER_IDS: &str = include_str!("../../queries/customer_ids.sql");

/// Inserts a customer and returns its id; binds email and name.
pub const INSERT_CUSTOMER: &str = include_str!("../../queries/insert_customer.sql");

/// Inserts an order and returns its id; binds customer id and status.
pub const INSERT_ORDER: &str = include_str!("../../queries/insert_order.sql");

/// Inserts an order item; binds order id, sku, quantity and unit price in cents.
pub const INSERT_ORDER_ITEM: &str = include_str!("../../queries/insert_order_item.sql");

/// Recomputes an order's total from its items; binds the order id.
pub const UPDATE_ORDER_TOTAL: &str = include_str!("../../queries/update_order_total.sql");

/// Every customer with their number of orders and the sum of their totals.
pub const CUSTOMER_REPORT: &str = include_str!("../../queries/customer_report.sql");

/// Every order with its status, number of items and total.
pub const ORDER_REPORT: &str = include_str!("../../queries/order_report.sql");

/// Every query with the name of its file.
pub const ALL: &[(&str, &str)] = &[
    ("customer_exists.sql", CUSTOMER_EXISTS),
    ("customer_ids.sql", CUSTOMER_IDS),
    ("insert_customer.sql", INSERT_CUSTOMER),
    ("insert_order.sql", INSERT_ORDER),
    ("insert_order_item.sql", INSERT_ORDER_ITEM),
    ("update_order_total.sql", UPDATE_ORDER_TOTAL),
    ("customer_report.sql", CUSTOMER_REPORT),
    ("order_report.sql", ORDER_REPORT),
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    #[test]
    fn every_query_file_is_one_the_app_runs() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../queries");
        let files: BTreeSet<String> = std::fs::read_dir(&dir)
            .expect("the queries folder exists")
            .map(|entry| entry.expect("readable entry").file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        let used: BTreeSet<String> = super::ALL
            .iter()
            .map(|(name, _)| name.to_string())
            .collect();
        assert_eq!(files, used);
    }
}
