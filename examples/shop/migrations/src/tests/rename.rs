//! Renaming `customers.name` to `full_name` across three deploys, on rows
//! written the old way: each step runs the SQL of the application version
//! deployed at that point (README.md "Expand and contract").

use migrate_core::rollback::{self, RollbackTarget};

use super::{
    ADD_FULL_NAME, BACKFILL_FULL_NAME, DROP_NAME, PURGE, apply_report, apply_to, count, fresh,
    try_apply,
};

/// 1203 customers written by the application before the rename (only `name`).
const OLD_CUSTOMERS: &str = "INSERT INTO customers (email, name)
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1203)
    SELECT 'c' || i || '@example.com', 'Customer ' || i FROM n";

/// Whether customers still has a column `name`.
async fn has_name_column(target: &mut migrate_core::Target) -> bool {
    count(
        target,
        "SELECT COUNT(*) FROM pragma_table_info('customers') WHERE name = 'name'",
    )
    .await
        == 1
}

#[tokio::test]
async fn old_rows_keep_their_names_through_the_three_deploys() {
    let (_dir, mut target, registry) = fresh().await;
    apply_to(&mut target, &registry, Some(PURGE)).await;
    target.db().execute(OLD_CUSTOMERS).await.expect("old rows");

    // Deploy 1: the expand migration; the old application keeps working.
    assert_eq!(
        apply_to(&mut target, &registry, Some(ADD_FULL_NAME)).await,
        [ADD_FULL_NAME]
    );
    let db = target.db();
    db.execute("INSERT INTO customers (email, name) VALUES ('late@example.com', 'Late Writer')")
        .await
        .expect("the old application's insert");
    // The deploy-1 application writes both columns.
    db.execute(
        "INSERT INTO customers (email, name, full_name) VALUES ('dual@example.com', 'Dual Writer', 'Dual Writer')",
    )
    .await
    .expect("the dual write");
    assert_eq!(
        count(
            &mut target,
            "SELECT COUNT(*) FROM customers WHERE name IS NULL"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &mut target,
            "SELECT COUNT(*) FROM customers WHERE full_name IS NULL"
        )
        .await,
        1204
    );

    // Deploy 2: the backfill, in batches of 500 keys.
    let report = apply_report(&mut target, &registry, Some(BACKFILL_FULL_NAME), false).await;
    assert_eq!(report.applied.len(), 1);
    let summary = &report.applied[0].statements[0].sql;
    assert!(
        summary.contains("backfill: 1204 rows in 3 batches of at most 500"),
        "{summary}"
    );
    assert_eq!(
        count(
            &mut target,
            "SELECT COUNT(*) FROM customers WHERE full_name IS NULL OR full_name <> name"
        )
        .await,
        0
    );
    // The deploy-2 application writes only full_name.
    target
        .db()
        .execute(
            "INSERT INTO customers (email, full_name) VALUES ('new@example.com', 'New Customer')",
        )
        .await
        .expect("an insert without name");

    // Deploy 3: held back until asked for, then name goes.
    let report = apply_report(&mut target, &registry, None, false).await;
    assert!(report.applied.is_empty());
    assert_eq!(report.held_back, Some(DROP_NAME));
    assert!(has_name_column(&mut target).await);
    let report = apply_report(&mut target, &registry, None, true).await;
    let applied: Vec<u64> = report.applied.iter().map(|a| a.version).collect();
    assert_eq!(applied, [DROP_NAME]);
    assert!(!has_name_column(&mut target).await);
    assert_eq!(
        count(
            &mut target,
            "SELECT COUNT(*) FROM customers WHERE full_name = 'Customer ' || id"
        )
        .await,
        1203
    );
    assert_eq!(
        count(
            &mut target,
            "SELECT COUNT(*) FROM customers WHERE email IN ('late@example.com', 'dual@example.com', 'new@example.com') \
             AND full_name IN ('Late Writer', 'Dual Writer', 'New Customer')"
        )
        .await,
        3
    );
    target
        .db()
        .execute("INSERT INTO customers (email, full_name) VALUES ('after@example.com', 'After Contract')")
        .await
        .expect("the deploy-2 application's insert after the contract");
    target.close().await;
}

#[tokio::test]
async fn the_contract_refuses_to_lose_a_name_without_full_name() {
    let (_dir, mut target, registry) = fresh().await;
    apply_to(&mut target, &registry, None).await;
    // An application that writes only name is still running.
    target
        .db()
        .execute("INSERT INTO customers (email, name) VALUES ('old@example.com', 'Old Writer')")
        .await
        .expect("insert");
    let err = try_apply(&mut target, &registry, None, true)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("1 customer(s) have a name but no full_name"),
        "{err}"
    );
    assert!(has_name_column(&mut target).await);
    target.close().await;
}

#[tokio::test]
async fn rolling_back_the_expand_migrations_gives_names_back() {
    let (_dir, mut target, registry) = fresh().await;
    apply_to(&mut target, &registry, None).await;
    target
        .db()
        .execute(
            "INSERT INTO customers (email, full_name) VALUES ('new@example.com', 'New Customer')",
        )
        .await
        .expect("an insert of the deploy-2 application");

    let comparison = target.compare(&registry).await.expect("compare");
    let steps = rollback::plan(&comparison, &registry, RollbackTarget::To(PURGE))
        .expect("both expand migrations are reversible");
    assert_eq!(steps.len(), 2);
    let guard = target.lock().await.expect("lock");
    target
        .run_rollback(&steps, &mut |_| {})
        .await
        .expect("rollback");
    guard.release().await;

    assert_eq!(
        count(
            &mut target,
            "SELECT COUNT(*) FROM customers WHERE email = 'new@example.com' AND name = 'New Customer'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &mut target,
            "SELECT COUNT(*) FROM pragma_table_info('customers') \
             WHERE (name = 'name' AND \"notnull\" = 1) OR name = 'full_name'"
        )
        .await,
        1,
        "name is NOT NULL again and full_name is gone"
    );
    target.close().await;
}
