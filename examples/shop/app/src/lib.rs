//! The shop example's application: customers place orders of items, a
//! report sums them up, and [`serve`] exposes it over HTTP with Prometheus
//! metrics.
//!
//! It reads and writes the tables that `shop-migrations` creates, with plain
//! runtime queries (`sqlx::query`). All of its SQL lives in [`sql`], loaded
//! from the `examples/shop/queries/*.sql` files that `cargo migrate` checks
//! still prepare after each migration.

pub mod cli;
pub mod serve;
pub mod sql;
pub mod store;

pub use store::{Error, Report, Store};
