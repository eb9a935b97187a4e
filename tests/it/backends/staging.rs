//! Refreshing staging from production with the dump tools.

use std::time::Duration;

use migrate_core::driver::{self, ConnectOptions};
use migrate_core::url::DbUrl;

use super::{TestDb, admin_execute, mysql_db, pg_db};
use crate::bin;
use crate::support::{Sandbox, block_on};

fn staging_clone_copies_production_and_leaves_it_alone(db: &TestDb) {
    let sb = Sandbox::new(bin!("fx-shop"));
    assert_eq!(db.run(&sb, &["apply"]).code, 0);
    let staging = db.sibling();
    admin_execute(
        &staging.admin_url,
        &format!("CREATE DATABASE {}", db.server.quote(&staging.name)),
    )
    .unwrap();
    block_on(async {
        let mut c = staging.connect().await;
        c.execute("CREATE TABLE stale (id INTEGER)").await.unwrap();
        c.close().await;
    });
    let (counts, schema) = (db.row_counts(), db.schema());
    // An idle session on staging (an earlier rehearsal, a developer's shell) does not stop the refresh.
    let idle = std::thread::spawn({
        let url = staging.url.clone();
        move || {
            block_on(async {
                let mut c =
                    driver::connect(&DbUrl::parse(&url).unwrap(), &ConnectOptions::default())
                        .await
                        .unwrap();
                let _ = c.execute("SELECT count(*) FROM stale").await;
                tokio::time::sleep(Duration::from_secs(3)).await;
                c.close().await;
            })
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    let info = block_on(migrate_core::stage::refresh(
        &DbUrl::parse(&db.url).unwrap(),
        &DbUrl::parse(&staging.url).unwrap(),
        Duration::from_secs(10),
    ))
    .expect("clone");
    let _ = idle.join();
    assert!(info.bytes > 0 && info.from_production, "{info:?}");
    assert_eq!(
        staging.row_counts(),
        counts,
        "staging holds production's rows, and only them"
    );
    assert_eq!(staging.schema(), schema);
    assert_eq!(
        (db.row_counts(), db.schema()),
        (counts, schema),
        "production is unchanged"
    );

    let err = block_on(migrate_core::stage::refresh(
        &DbUrl::parse(&db.url).unwrap(),
        &DbUrl::parse(&db.url.replace("127.0.0.1", "localhost")).unwrap(),
        Duration::from_secs(10),
    ))
    .expect_err("the same database under another host name");
    assert!(err.to_string().contains("separate database"), "{err}");
}

#[test]
fn staging_clone_copies_production_and_leaves_it_alone_on_postgres() {
    let Some(db) = pg_db() else { return };
    staging_clone_copies_production_and_leaves_it_alone(&db);
}

#[test]
fn staging_clone_copies_production_and_leaves_it_alone_on_mysql() {
    let Some(db) = mysql_db() else { return };
    staging_clone_copies_production_and_leaves_it_alone(&db);
}
