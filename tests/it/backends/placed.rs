//! Every failure names the database it is about, and the command it
//! suggests, run as printed, acts on that database: a failing migration
//! under `stage`, `apply` and `deploy` on SQLite, PostgreSQL and MariaDB.

use std::process::Command;

use super::{TestDb, mysql_db, pg_db, run};
use crate::bin;
use crate::support::{Run, Sandbox};

const FAILING: &str = "20240501_000002";

/// Production and staging for one backend: the sandbox's SQLite files, or
/// two fresh databases on a server.
struct Pair {
    sb: Sandbox,
    server: Option<(TestDb, TestDb)>,
}

impl Pair {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = match &self.server {
            Some((prod, staging)) => {
                let mut c = prod.cmd(&self.sb, &self.sb.runner, args);
                staging.stage_into(&mut c);
                c
            }
            None => self.sb.cmd_with(&self.sb.runner, args),
        };
        c.env("MIGRATE_APPLY_REQUIRE_REHEARSAL", "false");
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        run(self.cmd(args))
    }

    /// How the message names each database.
    fn names(&self) -> (String, String) {
        match &self.server {
            Some((prod, staging)) => (prod.name.clone(), staging.name.clone()),
            None => ("app.db".into(), "staging.db".into()),
        }
    }

    /// The failing migration's state in `status --format json` (with
    /// `--staging` or not).
    fn state(&self, staging: bool) -> String {
        let mut args = vec!["status", "--format", "json"];
        if staging {
            args.push("--staging");
        }
        let doc = self.run(&args).json();
        doc["migrations"]
            .as_array()
            .unwrap_or_else(|| panic!("{doc}"))
            .iter()
            .find(|m| m["version"] == 20240501000002u64)
            .map(|m| m["state"].as_str().unwrap_or("?").to_string())
            .unwrap_or_else(|| panic!("{doc}"))
    }

    /// Runs the first `cargo migrate …` command of `message` as printed,
    /// plus `--yes`: the answer to the confirmation prompt it asks on a
    /// terminal (the test has none).
    fn follow(&self, message: &str) -> Run {
        let command = message
            .split('`')
            .find(|part| part.starts_with("cargo migrate repair"))
            .unwrap_or_else(|| panic!("no repair command in: {message}"));
        let mut args: Vec<&str> = command.split_whitespace().skip(2).collect();
        args.push("--yes");
        self.run(&args)
    }
}

fn pairs() -> Vec<(&'static str, Pair)> {
    let runner = bin!("fx-nontx-failing");
    let mut out = vec![(
        "SQLite",
        Pair {
            sb: Sandbox::with_config(runner.clone(), ""),
            server: None,
        },
    )];
    for (label, db) in [("PostgreSQL", pg_db()), ("MariaDB", mysql_db())] {
        if let Some(db) = db {
            let staging = db.created_sibling();
            out.push((
                label,
                Pair {
                    sb: Sandbox::new(runner.clone()),
                    server: Some((db, staging)),
                },
            ));
        }
    }
    out
}

#[test]
fn a_failed_rehearsal_names_staging_and_its_repair_acts_on_staging() {
    for (label, p) in pairs() {
        p.run(&["apply", "--to", "20240501_000001"]).expect(0);
        let (prod, staging) = p.names();
        for command in ["stage", "deploy"] {
            let r = p.run(&[command]);
            assert_ne!(r.code, 0, "{label} {command}: {}", r.all());
            let message = &r.stderr;
            assert!(
                message.contains("on the staging database")
                    && message.contains(&staging)
                    && message.contains(&format!(
                        "`cargo migrate repair {FAILING} --run-down --staging`"
                    ))
                    && !message.contains("run apply again"),
                "{label} {command}: {message}"
            );
            assert_eq!(
                p.state(true),
                "dirty",
                "{label} {command}: staging is dirty"
            );
            assert_eq!(
                p.state(false),
                "pending",
                "{label} {command}: production untouched"
            );
            let fixed = p.follow(message);
            fixed.expect(0);
            assert!(fixed.stdout.contains(&staging), "{label}: {}", fixed.stdout);
            assert_eq!(
                p.state(true),
                "pending",
                "{label} {command}: repaired on staging"
            );
            assert!(!message.contains(&format!("{prod} ")), "{label}: {message}");
        }
    }
}

#[test]
fn a_failed_apply_names_production_and_its_repair_acts_on_production() {
    for (label, p) in pairs() {
        let (prod, staging) = p.names();
        let r = p.run(&["apply"]);
        assert_ne!(r.code, 0, "{label}: {}", r.all());
        let message = &r.stderr;
        assert!(
            message.contains("on the production database")
                && message.contains(&prod)
                && message.contains(&format!("`cargo migrate repair {FAILING} --run-down`"))
                && !message.contains("--staging"),
            "{label}: {message}"
        );
        assert_eq!(p.state(false), "dirty", "{label}: production is dirty");
        let fixed = p.follow(message);
        fixed.expect(0);
        assert!(
            fixed.stdout.contains(&prod) && !fixed.stdout.contains(&staging),
            "{label}: {}",
            fixed.stdout
        );
        assert_eq!(p.state(false), "pending", "{label}: repaired on production");
    }
}

/// The advice part of a message: from the sentence that explains the dirty
/// state to the end of the sentence naming `--applied`.
fn advice(message: &str) -> &str {
    let start = message
        .find("MariaDB/MySQL commit DDL")
        .or_else(|| message.find("The migration is not transactional"))
        .unwrap_or_else(|| panic!("no advice in: {message}"));
    let rest = &message[start..];
    let end =
        rest.find("if they are in place).").expect("advice end") + "if they are in place).".len();
    &rest[..end]
}

#[test]
fn status_of_a_failed_migration_gives_the_advice_apply_gave_and_the_statement_once() {
    let mut cases: Vec<(&str, Pair)> = pairs();
    if let Some(db) = mysql_db() {
        let staging = db.created_sibling();
        cases.push((
            "MariaDB, transactional",
            Pair {
                sb: Sandbox::new(bin!("fx-failing")),
                server: Some((db, staging)),
            },
        ));
    }
    for (label, p) in cases {
        let r = p.run(&["apply"]);
        assert_ne!(r.code, 0, "{label}: {}", r.all());
        let told = advice(&r.stderr).to_string();
        let status = p.run(&["status"]);
        status.expect(4);
        assert!(
            status.stdout.contains(&told),
            "{label}: apply said\n{told}\nstatus said\n{}",
            status.stdout
        );
        let statement = "INSERT INTO no_such_table (id) VALUES (1)";
        assert_eq!(
            status.stdout.matches(statement).count(),
            1,
            "{label}: {}",
            status.stdout
        );
        if label.contains("transactional") {
            assert!(told.contains("--run-down"), "{told}");
        }
    }
}

#[test]
fn a_failed_check_names_its_scratch_database_and_advises_no_repair() {
    for (label, p) in pairs() {
        p.run(&["apply", "--to", "20240501_000001"]).expect(0);
        let r = p.run(&["check"]);
        r.expect(1);
        let failed: Vec<&str> = r
            .stdout
            .lines()
            .filter(|l| l.starts_with("failed:"))
            .collect();
        assert!(!failed.is_empty(), "{label}: {}", r.stdout);
        for line in failed {
            assert!(
                line.contains("scratch")
                    && (line.contains("dropped afterwards") || line.contains("removed afterwards"))
                    && !line.contains("repair"),
                "{label}: {line}"
            );
        }
        assert_eq!(
            r.stdout.matches("INSERT INTO no_such_table").count(),
            1,
            "{label}: the failure is said once: {}",
            r.stdout
        );
        assert_eq!(p.state(false), "pending", "{label}: production untouched");
    }
}

/// A database named with `--database-url` is named again in the advice, so
/// the printed repair acts on it and not on the configured database.
#[test]
fn advice_for_a_database_given_by_flag_carries_the_flag() {
    let p = Pair {
        sb: Sandbox::with_config(bin!("fx-nontx-failing"), ""),
        server: None,
    };
    let other = format!("sqlite://{}", p.sb.path().join("other.db").display());
    std::fs::File::create(p.sb.path().join("other.db")).unwrap();
    let r = p.run(&["apply", "--database-url", &other]);
    r.expect(1);
    let flagged = format!("`cargo migrate repair {FAILING} --run-down --database-url {other}`");
    assert!(r.stderr.contains(&flagged), "{}", r.stderr);
    p.follow(&r.stderr).expect(0);
    let doc = p
        .run(&["status", "--format", "json", "--database-url", &other])
        .json();
    assert_eq!(doc["migrations"][1]["state"], "pending", "{doc}");
    assert!(
        !p.sb.db_path().exists(),
        "the configured database was never touched"
    );
}
