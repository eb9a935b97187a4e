//! The application in this repository is the deploy-2 version of renaming
//! `customers.name` to `full_name` (it reads and writes only `full_name`):
//! it works on customers written the old way once the expand migrations ran,
//! and keeps working, on the same connections, across the contract migration.
#![expect(
    clippy::inconsistent_digit_grouping,
    reason = "versions are written `date_time`, as in the attributes"
)]

use migrate_core::apply::{ApplyOptions, ApplyReport};
use migrate_core::compare::PlanOptions;
use migrate_core::registry::Registry;
use migrate_core::url::DbUrl;
use migrate_core::{Migrator, Target};
use shop_app::store::Store;
// Links the migrations so that `Migrator::registered` finds them.
use shop_migrations as _;

/// The last migration before the rename.
const BEFORE_RENAME: u64 = 20241215_100000;
/// The contract migration dropping `customers.name`.
const DROP_NAME: u64 = 20250115_000000;

async fn apply(
    target: &mut Target,
    registry: &Registry,
    to: Option<u64>,
    contract: bool,
) -> ApplyReport {
    let options = ApplyOptions {
        plan: PlanOptions {
            to,
            contract,
            ..PlanOptions::default()
        },
        ..ApplyOptions::default()
    };
    target
        .apply(registry, &options, &mut |_| {})
        .await
        .expect("apply")
}

#[tokio::test]
async fn the_app_works_on_old_rows_before_and_after_the_contract_migration() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = format!("sqlite://{}/shop.db", dir.path().display());
    let migrator = Migrator::registered();
    let registry = migrator.registry().expect("no duplicate versions");
    let mut target = migrator
        .connect(&DbUrl::parse(&url).expect("url"), true)
        .await
        .expect("connect");
    apply(&mut target, &registry, Some(BEFORE_RENAME), false).await;
    target
        .db()
        .execute(
            "INSERT INTO customers (email, name) VALUES ('ada@example.com', 'Ada Lovelace'), \
             ('alan@example.com', 'Alan Turing')",
        )
        .await
        .expect("customers written before the rename");
    let report = apply(&mut target, &registry, None, false).await;
    assert_eq!(report.held_back, Some(DROP_NAME), "the contract waits");

    let store = Store::open(&url).await.expect("open");
    let seeded = store.seed(1, 3).await.expect("seed on the expanded schema");
    assert_eq!(seeded.customers, 1);
    store
        .place_order(1, "mug-stoneware", 2, 1450)
        .await
        .expect("an order on the expanded schema");
    let before = store.report().await.expect("report");
    let names: Vec<&str> = before.customers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names[..2], ["Ada Lovelace", "Alan Turing"]);
    assert_eq!(before.customers.len(), 3);

    let report = apply(&mut target, &registry, None, true).await;
    let applied: Vec<u64> = report.applied.iter().map(|a| a.version).collect();
    assert_eq!(applied, [DROP_NAME]);
    target.close().await;

    // The same store, its connections opened before the contract.
    store
        .seed(1, 1)
        .await
        .expect("seed on the contracted schema");
    let placed = store
        .place_order(2, "tea-sencha", 1, 890)
        .await
        .expect("an order on the contracted schema");
    assert_eq!(placed.total_cents, 890);
    let after = store.report().await.expect("report");
    assert_eq!(after.customers.len(), 4);
    let who = |r: &shop_app::Report| -> Vec<(i64, String, String)> {
        r.customers
            .iter()
            .map(|c| (c.id, c.email.clone(), c.name.clone()))
            .collect()
    };
    assert_eq!(who(&after)[..3], who(&before)[..]);
    assert!(!after.customers[3].name.is_empty());
    let alan = |r: &shop_app::Report| r.customers[1].orders;
    assert_eq!(alan(&after), alan(&before) + 1);
    store.close().await;
}
