//! apply, status and rollback through the runner on each server.

use super::{TestDb, mysql_db, pg_db};
use crate::bin;
use crate::support::Sandbox;

/// apply → status 0 → rollback --steps 2 → status 4 with two pending.
fn apply_status_rollback(db: &TestDb, runner: std::path::PathBuf, total: usize) {
    let sb = Sandbox::new(runner);
    let r = db.run(&sb, &["status", "--format", "json"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert_eq!(r.json()["summary"]["pending"], total);
    let r = db.run(&sb, &["apply"]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = db.run(&sb, &["status", "--format", "json"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["summary"]["applied"], total);
    assert_eq!(r.json()["lock"]["lock"], "free");
    let r = db.run(&sb, &["rollback", "--steps", "2"]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = db.run(&sb, &["status", "--format", "json"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert_eq!(r.json()["summary"]["pending"], 2);
    assert_eq!(
        db.scalar("SELECT count(*) FROM _migrate_history") as usize,
        total - 2
    );
}

#[test]
fn apply_status_rollback_on_postgres() {
    let Some(db) = pg_db() else { return };
    apply_status_rollback(&db, bin!("fx-shop"), 4);
    assert_eq!(
        db.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name IN ('orders', 'users') AND table_schema = current_schema()"),
        1,
        "orders was dropped by the rollback, users kept"
    );
}

/// fx-shop's `DROP INDEX orders_user_idx` is not MySQL syntax (it needs
/// `ON orders`), so its rollback cannot run there; fx-many's migrations are portable.
#[test]
fn apply_status_rollback_on_mysql() {
    let Some(db) = mysql_db() else { return };
    apply_status_rollback(&db, bin!("fx-many"), 21);
    assert_eq!(db.scalar("SELECT count(*) FROM log"), 18);
}
