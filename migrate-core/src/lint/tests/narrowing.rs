//! `type-narrowing-in-expand` and the column types behind it: which type
//! changes widen, what the lint knows of the current type (the schema the
//! plan starts from, earlier statements), and what it says when it knows
//! nothing.

use super::{MY, PG, lint, rules};
use crate::Phase;
use crate::lint::{Linter, MigrationKind, lint_migration, types};

#[test]
fn widening_and_narrowing_type_changes() {
    use types::{parse, widens};
    let cases = [
        (PG, "INTEGER", "BIGINT", true),
        (PG, "BIGINT", "INTEGER", false),
        (PG, "BIGINT", "SMALLINT", false),
        (PG, "CHARACTER VARYING(255)", "VARCHAR(255)", true),
        (PG, "CHARACTER VARYING(255)", "VARCHAR(100)", false),
        (PG, "CHARACTER VARYING(255)", "TEXT", true),
        (PG, "TEXT", "VARCHAR(100)", false),
        (PG, "NUMERIC(10,2)", "NUMERIC(12,2)", true),
        (PG, "NUMERIC(10,2)", "NUMERIC(8,2)", false),
        (PG, "NUMERIC(10,2)", "NUMERIC(10,3)", false),
        (PG, "NUMERIC(10,2)", "NUMERIC", true),
        (PG, "INTEGER", "NUMERIC(12,2)", true),
        (PG, "INTEGER", "NUMERIC(9,0)", false),
        (PG, "INTEGER", "TEXT", false),
        (PG, "REAL", "DOUBLE PRECISION", true),
        (PG, "TIMESTAMP WITH TIME ZONE", "TIMESTAMP", false),
        (MY, "INT(11)", "BIGINT", true),
        (MY, "INT", "INT UNSIGNED", false),
        (MY, "INT(10) UNSIGNED", "BIGINT", true),
        (MY, "VARCHAR(255)", "TEXT", true),
        (MY, "TEXT", "VARCHAR(255)", false),
        (MY, "LONGTEXT", "MEDIUMTEXT", false),
        (MY, "DECIMAL(10,2)", "DECIMAL(9,2)", false),
    ];
    for (dialect, old, new, widening) in cases {
        assert_eq!(
            widens(&parse(dialect, old), &parse(dialect, new)),
            widening,
            "{old} -> {new}"
        );
    }
}

#[test]
fn a_type_change_without_a_known_current_type_is_a_finding_in_expand() {
    for (dialect, sql) in [
        (PG, "ALTER TABLE users ALTER COLUMN email TYPE VARCHAR(500)"),
        (
            MY,
            "ALTER TABLE users MODIFY COLUMN email VARCHAR(500), ALGORITHM=INPLACE, LOCK=NONE",
        ),
        (
            MY,
            "ALTER TABLE users CHANGE COLUMN email email VARCHAR(500), ALGORITHM=INPLACE, LOCK=NONE",
        ),
    ] {
        let report = lint_migration(dialect, Phase::Expand, true, &[sql], &[]);
        let f = report
            .findings
            .iter()
            .find(|f| f.rule == "type-narrowing-in-expand")
            .unwrap_or_else(|| panic!("{sql}: {report:?}"));
        assert!(f.message.contains("not provably widening"), "{}", f.message);
    }
}

#[test]
fn a_narrowing_names_the_current_type() {
    let report = lint(
        PG,
        Phase::Expand,
        true,
        &["ALTER TABLE users ALTER COLUMN email TYPE VARCHAR(100)"],
        &[],
    );
    let f = report
        .findings
        .iter()
        .find(|f| f.rule == "type-narrowing-in-expand")
        .expect("a narrowing finding");
    assert!(
        f.message
            .contains("users.email from CHARACTER VARYING(255) to VARCHAR(100) narrows it"),
        "{}",
        f.message
    );
}

#[test]
fn type_narrowing_is_no_finding_in_contract() {
    let report = lint(
        MY,
        Phase::Contract,
        true,
        &["ALTER TABLE users MODIFY COLUMN email VARCHAR(100), ALGORITHM=COPY, LOCK=SHARED"],
        &[],
    );
    assert!(
        !rules(&report).contains(&"type-narrowing-in-expand"),
        "{report:?}"
    );
}

#[test]
fn a_type_set_earlier_in_the_plan_is_the_current_type() {
    let kind = MigrationKind {
        phase: Phase::Expand,
        transactional: true,
    };
    let mut linter = Linter::new(PG);
    let first = linter.migration(
        kind,
        &["ALTER TABLE users ADD COLUMN note VARCHAR(300)"],
        &[],
    );
    assert!(first.findings.is_empty(), "{first:?}");
    let widen = linter.migration(
        kind,
        &["ALTER TABLE users ALTER COLUMN note TYPE TEXT"],
        &[],
    );
    assert!(widen.findings.is_empty(), "{widen:?}");
    let narrow = linter.migration(
        kind,
        &["ALTER TABLE users ALTER COLUMN note TYPE VARCHAR(20)"],
        &[],
    );
    assert!(
        narrow
            .findings
            .iter()
            .any(|f| f.rule == "type-narrowing-in-expand"
                && f.message.contains("from TEXT to VARCHAR(20)")),
        "{narrow:?}"
    );
}

#[test]
fn a_postgres_type_change_that_only_relaxes_a_limit_rewrites_nothing() {
    for sql in [
        "ALTER TABLE users ALTER COLUMN email TYPE VARCHAR(500)",
        "ALTER TABLE users ALTER COLUMN email TYPE TEXT",
    ] {
        let report = lint(PG, Phase::Expand, true, &[sql], &[]);
        assert!(report.findings.is_empty(), "{sql}: {report:?}");
    }
    let report = lint(
        PG,
        Phase::Contract,
        true,
        &["ALTER TABLE users ALTER COLUMN age TYPE BIGINT"],
        &[],
    );
    assert_eq!(rules(&report), ["column-type-change"]);
}
