//! The migrations on a fresh SQLite database: the batched backfill, the
//! purge, the round trip of the reversible ones, the health check, and the
//! rename of `customers.name` to `full_name` across its three deploys
//! (`rename.rs`).
#![expect(
    clippy::inconsistent_digit_grouping,
    reason = "versions are written `date_time`, as in the attributes"
)]

use std::path::Path;

use migrate_core::apply::{ApplyOptions, ApplyReport};
use migrate_core::compare::PlanOptions;
use migrate_core::registry::Registry;
use migrate_core::rollback::{self, RollbackTarget};
use migrate_core::url::DbUrl;
use migrate_core::{HealthCheck, Migrator, Target, display_version};
use tempfile::TempDir;

const INDEX_ORDERS: u64 = 20241201_091000;
const BACKFILL: u64 = 20241201_093000;
const PURGE: u64 = 20241215_100000;
const ADD_FULL_NAME: u64 = 20250101_000000;
const BACKFILL_FULL_NAME: u64 = 20250108_000000;
const DROP_NAME: u64 = 20250115_000000;

/// A fresh database in a temporary folder, with the registry.
async fn fresh() -> (TempDir, Target, Registry) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = DbUrl::parse(&format!("sqlite://{}/shop.db", dir.path().display())).expect("url");
    let migrator = Migrator::registered();
    let registry = migrator.registry().expect("no duplicate versions");
    let target = migrator.connect(&url, true).await.expect("connect");
    (dir, target, registry)
}

async fn apply_to(target: &mut Target, registry: &Registry, to: Option<u64>) -> Vec<u64> {
    let report = apply_report(target, registry, to, false).await;
    report.applied.iter().map(|a| a.version).collect()
}

/// Applies up to `to`, with the contract migrations when `contract`.
async fn try_apply(
    target: &mut Target,
    registry: &Registry,
    to: Option<u64>,
    contract: bool,
) -> migrate_core::Result<ApplyReport> {
    let options = ApplyOptions {
        plan: PlanOptions {
            to,
            contract,
            ..PlanOptions::default()
        },
        ..ApplyOptions::default()
    };
    target.apply(registry, &options, &mut |_| {}).await
}

/// [`try_apply`], which must succeed.
async fn apply_report(
    target: &mut Target,
    registry: &Registry,
    to: Option<u64>,
    contract: bool,
) -> ApplyReport {
    try_apply(target, registry, to, contract)
        .await
        .expect("apply")
}

async fn count(target: &mut Target, sql: &str) -> i64 {
    target.db().fetch_i64(sql).await.expect(sql)
}

async fn health_check(target: &mut Target) -> migrate_core::Result<()> {
    let check = HealthCheck::registered()
        .into_iter()
        .find(|h| h.name == "orders_have_customers")
        .expect("the health check is registered");
    (check.run)(target.db()).await
}

/// 1203 orders of customer 1, each with an item worth `2 * id` cents; every
/// tenth order also has an invalid item of quantity -1.
async fn insert_orders(target: &mut Target) {
    target
        .db()
        .execute_many(
            "INSERT INTO customers (email, name) VALUES ('a@example.com', 'A');
             INSERT INTO orders (customer_id)
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1203)
                 SELECT 1 FROM n;
             INSERT INTO order_items (order_id, sku, quantity, unit_price_cents)
                 SELECT id, 'tea', 2, id FROM orders;
             INSERT INTO order_items (order_id, sku, quantity, unit_price_cents)
                 SELECT id, 'void', -1, 1000 FROM orders WHERE id % 10 = 0;",
        )
        .await
        .expect("insert orders");
}

#[test]
fn each_migration_lives_in_its_own_module_with_a_description() {
    let registry = Migrator::registered()
        .registry()
        .expect("no duplicate versions");
    assert_eq!(registry.len(), 10);
    for m in registry.migrations() {
        let file = Path::new(m.file).file_name().expect("a file name");
        let expected = format!("m{}_{}.rs", display_version(m.version), m.name);
        assert_eq!(file.to_string_lossy(), expected);
        assert!(!m.description.is_empty(), "{} has no doc comment", m.name);
    }
    let irreversible: Vec<u64> = registry
        .migrations()
        .iter()
        .filter(|m| m.down.is_none())
        .map(|m| m.version)
        .collect();
    assert_eq!(irreversible, [PURGE, DROP_NAME]);
}

#[tokio::test]
async fn the_backfill_sums_valid_items_in_batches_of_500() {
    let (_dir, mut target, registry) = fresh().await;
    apply_to(&mut target, &registry, Some(INDEX_ORDERS)).await;
    insert_orders(&mut target).await;

    let options = ApplyOptions {
        plan: PlanOptions {
            to: Some(BACKFILL),
            ..PlanOptions::default()
        },
        ..ApplyOptions::default()
    };
    let report = target
        .apply(&registry, &options, &mut |_| {})
        .await
        .expect("apply the backfill");
    let updates = report.applied[0]
        .statements
        .iter()
        .filter(|s| s.sql.trim_start().starts_with("UPDATE"))
        .count();
    assert_eq!(updates, 3, "1203 orders in batches of 500");
    let wrong = count(
        &mut target,
        "SELECT COUNT(*) FROM orders WHERE total_cents IS NULL OR total_cents <> 2 * id",
    )
    .await;
    assert_eq!(wrong, 0);
    target.close().await;
}

#[tokio::test]
async fn the_purge_deletes_only_invalid_items() {
    let (_dir, mut target, registry) = fresh().await;
    apply_to(&mut target, &registry, Some(INDEX_ORDERS)).await;
    insert_orders(&mut target).await;
    apply_to(&mut target, &registry, None).await;

    assert_eq!(
        count(
            &mut target,
            "SELECT COUNT(*) FROM order_items WHERE quantity <= 0"
        )
        .await,
        0
    );
    assert_eq!(
        count(&mut target, "SELECT COUNT(*) FROM order_items").await,
        1203
    );
    target.close().await;
}

#[tokio::test]
async fn every_reversible_migration_rolls_back_to_an_empty_schema() {
    let (_dir, mut target, registry) = fresh().await;
    let applied = apply_to(&mut target, &registry, Some(BACKFILL)).await;
    assert_eq!(applied.len(), 6);
    insert_orders(&mut target).await;

    let comparison = target.compare(&registry).await.expect("compare");
    let steps =
        rollback::plan(&comparison, &registry, RollbackTarget::To(0)).expect("all reversible");
    let guard = target.lock().await.expect("lock");
    target
        .run_rollback(&steps, &mut |_| {})
        .await
        .expect("rollback");
    guard.release().await;

    let tables = count(
        &mut target,
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_migrate%' ESCAPE '\\'",
    )
    .await;
    assert_eq!(tables, 0);
    target.close().await;
}

#[tokio::test]
async fn the_health_check_passes_before_the_tables_exist() {
    let (_dir, mut target, _registry) = fresh().await;
    health_check(&mut target).await.expect("nothing to check");
    target.close().await;
}

#[tokio::test]
async fn the_health_check_passes_when_every_order_has_its_customer() {
    let (_dir, mut target, registry) = fresh().await;
    apply_to(&mut target, &registry, None).await;
    insert_orders(&mut target).await;
    health_check(&mut target).await.expect("no orphan order");
    target.close().await;
}

#[tokio::test]
async fn the_health_check_fails_on_an_order_without_customer() {
    let (_dir, mut target, registry) = fresh().await;
    apply_to(&mut target, &registry, None).await;
    target
        .db()
        .execute("INSERT INTO orders (customer_id) VALUES (999)")
        .await
        .expect("insert");
    let err = health_check(&mut target).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("1 order(s) reference a customer"),
        "{err}"
    );
    target.close().await;
}

/// The one-line reversibility check a team puts in its CI: every down
/// undoes its up (the irreversible purge is skipped, by its declaration).
#[test]
fn every_migration_round_trips() {
    migrate_core::testing::assert_round_trip();
}

mod rename;
