//! The rehearsal's round trip when a down does not restore the schema, on
//! SQLite, PostgreSQL and MariaDB: the failure is reported with its diff,
//! the up is applied again so the later migrations are rehearsed on the
//! schema it produces, or the rehearsal stops and says so, and staging holds
//! what the report says.

use std::process::Command;

use super::{TestDb, mysql_db, pg_db, run};
use crate::bin;
use crate::support::{Run, Sandbox};

/// Production and staging for the `fx-unrestored-down` runner, both fresh.
struct Staging {
    sb: Sandbox,
    prod: String,
    staging: String,
    _dbs: Vec<TestDb>,
}

impl Staging {
    fn sqlite() -> Staging {
        let sb = Sandbox::with_config(bin!("fx-unrestored-down"), "");
        let staging = format!("sqlite://{}", sb.path().join("staging.db").display());
        Staging {
            prod: sb.url(),
            staging,
            sb,
            _dbs: Vec::new(),
        }
    }

    fn server(prod: TestDb) -> Staging {
        let staging = prod.sibling();
        Staging {
            sb: Sandbox::with_config(bin!("fx-unrestored-down"), ""),
            prod: prod.url.clone(),
            staging: staging.url.clone(),
            _dbs: vec![prod, staging],
        }
    }

    fn cmd(&self, database: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut c = self.sb.cmd_with(&self.sb.runner, args);
        c.env("DATABASE_URL", database)
            .env("STAGING_DATABASE_URL", &self.staging);
        for (k, v) in env {
            c.env(k, v);
        }
        c
    }

    fn stage(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        run(self.cmd(&self.prod, args, env))
    }

    /// Each migration's state in `status` on the staging database.
    fn staging_states(&self) -> Vec<(String, String)> {
        let out = run(self.cmd(&self.staging, &["status", "--format", "json"], &[]));
        let doc = out.json();
        doc["migrations"]
            .as_array()
            .unwrap_or_else(|| panic!("status lists migrations: {doc}"))
            .iter()
            .map(|m| {
                (
                    m["version"].to_string(),
                    m["state"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }
}

fn failures(doc: &serde_json::Value) -> Vec<String> {
    doc["failures"]
        .as_array()
        .unwrap_or_else(|| panic!("failures in the JSON: {doc}"))
        .iter()
        .map(|f| f.as_str().unwrap_or_default().to_string())
        .collect()
}

fn a_down_that_does_not_restore_is_reported_and_the_later_migrations_rehearse(
    make: fn() -> Option<Staging>,
) {
    let Some(s) = make() else { return };
    let out = s.stage(&["stage"], &[]);
    out.expect(1);
    assert!(
        out.stdout.contains("round trip FAILED after down"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("customers_name_idx"),
        "the diff: {}",
        out.stdout
    );
    assert!(!out.all().contains("does not exist"), "{}", out.all());
    assert!(!out.all().contains("run apply again"), "{}", out.all());

    assert!(
        out.stdout.contains("its up was applied again"),
        "{}",
        out.stdout
    );

    let Some(s) = make() else { return };
    let out = s.stage(&["stage", "--format", "json"], &[]);
    out.expect(1);
    let doc = out.json();
    let failures = failures(&doc);
    assert_eq!(
        failures.len(),
        1,
        "only m2's round trip fails: {failures:#?}"
    );
    assert!(
        failures[0].contains("rename_name: after its down the schema differs")
            && failures[0].contains("customers_name_idx")
            && failures[0].contains("its up was applied again"),
        "{failures:#?}"
    );
    let trips: Vec<_> = doc["stage"]["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["round_trip"]["result"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(trips, ["ok", "failed", "ok"], "{doc}");
    assert_eq!(doc["stage"]["migrations"][1]["round_trip"]["step"], "down");
    let states = s.staging_states();
    assert!(
        states.iter().all(|(_, state)| state == "applied"),
        "all three applied on staging, as reported: {states:?}"
    );
}

#[test]
fn a_down_that_does_not_restore_is_reported_and_the_later_migrations_rehearse_on_sqlite() {
    a_down_that_does_not_restore_is_reported_and_the_later_migrations_rehearse(|| {
        Some(Staging::sqlite())
    });
}

#[test]
fn a_down_that_does_not_restore_is_reported_and_the_later_migrations_rehearse_on_postgres() {
    a_down_that_does_not_restore_is_reported_and_the_later_migrations_rehearse(|| {
        pg_db().map(Staging::server)
    });
}

#[test]
fn a_down_that_does_not_restore_is_reported_and_the_later_migrations_rehearse_on_mysql() {
    a_down_that_does_not_restore_is_reported_and_the_later_migrations_rehearse(|| {
        mysql_db().map(Staging::server)
    });
}

fn an_up_that_cannot_be_applied_again_stops_the_rehearsal(s: Staging) {
    let strict = [("FX_STRICT_DROP", "1")];
    let out = s.stage(&["stage", "--format", "json"], &strict);
    out.expect(1);
    let doc = out.json();
    let failures = failures(&doc);
    assert_eq!(failures.len(), 2, "{failures:#?}");
    assert!(
        failures[0].contains("rename_name: after its down the schema differs")
            && failures[0].contains("customers_name_idx"),
        "{failures:#?}"
    );
    assert!(
        failures[1].contains("the rehearsal stopped at")
            && failures[1].contains("applying its up again after the down failed")
            && failures[1].contains("1 later migration was not rehearsed"),
        "{failures:#?}"
    );
    assert_eq!(doc["stage"]["migrations"].as_array().unwrap().len(), 2);
    let states = s.staging_states();
    assert_eq!(states[0].1, "applied", "{states:?}");
    assert_ne!(
        states[1].1, "applied",
        "m2 is not applied on staging: {states:?}"
    );
    assert_eq!(states[2].1, "pending", "m3 was not rehearsed: {states:?}");
}

#[test]
fn an_up_that_cannot_be_applied_again_stops_the_rehearsal_on_sqlite() {
    an_up_that_cannot_be_applied_again_stops_the_rehearsal(Staging::sqlite());
}

#[test]
fn an_up_that_cannot_be_applied_again_stops_the_rehearsal_on_postgres() {
    if let Some(db) = pg_db() {
        an_up_that_cannot_be_applied_again_stops_the_rehearsal(Staging::server(db));
    }
}

#[test]
fn an_up_that_cannot_be_applied_again_stops_the_rehearsal_on_mysql() {
    if let Some(db) = mysql_db() {
        an_up_that_cannot_be_applied_again_stops_the_rehearsal(Staging::server(db));
    }
}
