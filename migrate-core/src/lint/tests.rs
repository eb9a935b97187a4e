//! Unit tests of the lint rules: statements, dialect and context in,
//! findings out. Each rule has a failing case, its safe rewrite, the failing
//! case allowed with a reason, and the same statements on a table the
//! migration creates.

use super::*;

mod narrowing;

const PG: Dialect = Dialect::Postgres;
const MY: Dialect = Dialect::MySql;
const LITE: Dialect = Dialect::Sqlite;

/// One rule's specification.
struct Case {
    rule: &'static str,
    dialect: Dialect,
    /// Statements that break the rule on an existing table.
    failing: &'static [&'static str],
    /// The safe rewrite of the same change.
    safe: &'static [&'static str],
    /// Whether the safe rewrite runs outside a transaction.
    safe_transactional: bool,
    /// The failing statements after a CREATE TABLE of the same table.
    on_new_table: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        rule: "index-not-concurrent",
        dialect: PG,
        failing: &["CREATE INDEX users_email_idx ON users (email)"],
        safe: &["CREATE INDEX CONCURRENTLY users_email_idx ON users (email)"],
        safe_transactional: false,
        on_new_table: &[
            "CREATE TABLE users (id BIGINT PRIMARY KEY, email TEXT)",
            "CREATE INDEX users_email_idx ON users (email)",
        ],
    },
    Case {
        rule: "volatile-default",
        dialect: PG,
        failing: &["ALTER TABLE users ADD COLUMN token UUID DEFAULT gen_random_uuid()"],
        safe: &[
            "ALTER TABLE users ADD COLUMN token UUID",
            "ALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid()",
        ],
        safe_transactional: false,
        on_new_table: &[
            "CREATE TABLE users (id BIGINT PRIMARY KEY)",
            "ALTER TABLE users ADD COLUMN token UUID DEFAULT gen_random_uuid()",
        ],
    },
    Case {
        rule: "volatile-default",
        dialect: PG,
        failing: &["ALTER TABLE users ADD COLUMN seq BIGSERIAL"],
        safe: &["ALTER TABLE users ADD COLUMN seq BIGINT"],
        safe_transactional: true,
        on_new_table: &[
            "CREATE TABLE users (id BIGINT PRIMARY KEY)",
            "ALTER TABLE users ADD COLUMN seq BIGSERIAL",
        ],
    },
    Case {
        rule: "add-not-null-without-default",
        dialect: LITE,
        failing: &["ALTER TABLE users ADD COLUMN age INTEGER NOT NULL"],
        safe: &["ALTER TABLE users ADD COLUMN age INTEGER NOT NULL DEFAULT 0"],
        safe_transactional: true,
        on_new_table: &[
            "CREATE TABLE users (id INTEGER PRIMARY KEY)",
            "ALTER TABLE users ADD COLUMN age INTEGER NOT NULL",
        ],
    },
    Case {
        rule: "add-not-null-without-default",
        dialect: PG,
        failing: &["ALTER TABLE users ADD COLUMN age INTEGER NOT NULL"],
        safe: &["ALTER TABLE users ADD COLUMN age INTEGER"],
        safe_transactional: true,
        on_new_table: &[
            "CREATE TABLE users (id INTEGER PRIMARY KEY)",
            "ALTER TABLE users ADD COLUMN age INTEGER NOT NULL",
        ],
    },
    Case {
        rule: "column-type-change",
        dialect: PG,
        failing: &["ALTER TABLE users ALTER COLUMN age TYPE BIGINT"],
        safe: &["ALTER TABLE users ADD COLUMN age_v2 BIGINT"],
        safe_transactional: true,
        on_new_table: &[
            "CREATE TABLE users (id INTEGER PRIMARY KEY, age INTEGER)",
            "ALTER TABLE users ALTER COLUMN age TYPE BIGINT",
        ],
    },
    Case {
        rule: "column-type-change",
        dialect: MY,
        failing: &["ALTER TABLE users MODIFY COLUMN age BIGINT"],
        safe: &["ALTER TABLE users MODIFY COLUMN age BIGINT, ALGORITHM=INPLACE, LOCK=NONE"],
        safe_transactional: true,
        on_new_table: &[
            "CREATE TABLE users (id INT PRIMARY KEY, age INT)",
            "ALTER TABLE users MODIFY COLUMN age BIGINT",
        ],
    },
    Case {
        rule: "set-not-null",
        dialect: PG,
        failing: &["ALTER TABLE users ALTER COLUMN email SET NOT NULL"],
        safe: &[
            "ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID",
            "ALTER TABLE users VALIDATE CONSTRAINT users_email_nn",
            "ALTER TABLE users ALTER COLUMN email SET NOT NULL",
        ],
        safe_transactional: false,
        on_new_table: &[
            "CREATE TABLE users (id BIGINT PRIMARY KEY, email TEXT)",
            "ALTER TABLE users ALTER COLUMN email SET NOT NULL",
        ],
    },
    Case {
        rule: "constraint-not-valid",
        dialect: PG,
        failing: &[
            "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id)",
        ],
        safe: &[
            "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID",
            "ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk",
        ],
        safe_transactional: false,
        on_new_table: &[
            "CREATE TABLE orders (id BIGINT PRIMARY KEY, user_id BIGINT)",
            "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id)",
        ],
    },
    Case {
        rule: "constraint-not-valid",
        dialect: PG,
        failing: &["ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0)"],
        safe: &[
            "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID",
        ],
        safe_transactional: true,
        on_new_table: &[
            "CREATE TABLE orders (id BIGINT PRIMARY KEY, total BIGINT)",
            "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0)",
        ],
    },
    Case {
        rule: "unique-constraint",
        dialect: PG,
        failing: &["ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email)"],
        safe: &[
            "CREATE UNIQUE INDEX CONCURRENTLY users_email_idx ON users (email)",
            "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_idx",
        ],
        safe_transactional: false,
        on_new_table: &[
            "CREATE TABLE users (id BIGINT PRIMARY KEY, email TEXT)",
            "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email)",
        ],
    },
    Case {
        rule: "mysql-alter-without-algorithm",
        dialect: MY,
        failing: &["ALTER TABLE users ADD COLUMN age INT"],
        safe: &["ALTER TABLE users ADD COLUMN age INT, ALGORITHM=INSTANT, LOCK=NONE"],
        safe_transactional: true,
        on_new_table: &[
            "CREATE TABLE users (id INT PRIMARY KEY)",
            "ALTER TABLE users ADD COLUMN age INT",
        ],
    },
    Case {
        rule: "mysql-alter-without-algorithm",
        dialect: MY,
        failing: &["CREATE INDEX users_email_idx ON users (email)"],
        safe: &["CREATE INDEX users_email_idx ON users (email) ALGORITHM=INPLACE LOCK=NONE"],
        safe_transactional: true,
        on_new_table: &[
            "CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(255))",
            "CREATE INDEX users_email_idx ON users (email)",
        ],
    },
    Case {
        rule: "table-rewrite-or-lock",
        dialect: PG,
        failing: &["VACUUM FULL users"],
        safe: &["VACUUM users"],
        safe_transactional: false,
        on_new_table: &[
            "CREATE TABLE users (id BIGINT PRIMARY KEY)",
            "VACUUM FULL users",
        ],
    },
    Case {
        rule: "table-rewrite-or-lock",
        dialect: PG,
        failing: &["CLUSTER users USING users_pkey"],
        safe: &["ANALYZE users"],
        safe_transactional: false,
        on_new_table: &[
            "CREATE TABLE users (id BIGINT PRIMARY KEY)",
            "CLUSTER users USING users_pkey",
        ],
    },
    Case {
        rule: "table-rewrite-or-lock",
        dialect: PG,
        failing: &["LOCK TABLE users IN ACCESS EXCLUSIVE MODE"],
        safe: &["UPDATE users SET email = lower(email) WHERE id < 1000"],
        safe_transactional: true,
        on_new_table: &[
            "CREATE TABLE users (id BIGINT PRIMARY KEY)",
            "LOCK TABLE users IN ACCESS EXCLUSIVE MODE",
        ],
    },
    Case {
        rule: "type-narrowing-in-expand",
        dialect: PG,
        failing: &["ALTER TABLE users ALTER COLUMN email TYPE VARCHAR(100)"],
        safe: &["ALTER TABLE users ALTER COLUMN email TYPE VARCHAR(500)"],
        safe_transactional: true,
        on_new_table: &[
            "CREATE TABLE users (id BIGINT PRIMARY KEY, email VARCHAR(255))",
            "ALTER TABLE users ALTER COLUMN email TYPE VARCHAR(100)",
        ],
    },
    Case {
        rule: "type-narrowing-in-expand",
        dialect: MY,
        failing: &["ALTER TABLE users MODIFY COLUMN age SMALLINT, ALGORITHM=COPY, LOCK=SHARED"],
        safe: &["ALTER TABLE users MODIFY COLUMN email VARCHAR(500), ALGORITHM=INPLACE, LOCK=NONE"],
        safe_transactional: true,
        on_new_table: &[
            "CREATE TABLE users (id INT PRIMARY KEY, age INT)",
            "ALTER TABLE users MODIFY COLUMN age SMALLINT",
        ],
    },
    Case {
        rule: "multiple-alters-one-table",
        dialect: PG,
        failing: &[
            "ALTER TABLE users ADD COLUMN a BIGINT",
            "ALTER TABLE users ADD COLUMN b BIGINT",
        ],
        safe: &["ALTER TABLE users ADD COLUMN a BIGINT, ADD COLUMN b BIGINT"],
        safe_transactional: true,
        on_new_table: &[
            "CREATE TABLE users (id BIGINT PRIMARY KEY)",
            "ALTER TABLE users ADD COLUMN a BIGINT",
            "ALTER TABLE users ADD COLUMN b BIGINT",
        ],
    },
];

/// `destructive-in-expand`: each destructive statement, on every backend
/// where it parses; the safe rewrite is the same statement in a contract
/// migration.
const DESTRUCTIVE: &[(Dialect, &str)] = &[
    (LITE, "ALTER TABLE users DROP COLUMN email"),
    (PG, "ALTER TABLE users DROP COLUMN email"),
    (
        MY,
        "ALTER TABLE users DROP COLUMN email, ALGORITHM=INSTANT, LOCK=NONE",
    ),
    (LITE, "ALTER TABLE users RENAME COLUMN email TO mail"),
    (PG, "ALTER TABLE users RENAME COLUMN email TO mail"),
    (
        MY,
        "ALTER TABLE users CHANGE COLUMN email mail TEXT, ALGORITHM=INPLACE, LOCK=NONE",
    ),
    (LITE, "DROP TABLE users"),
    (PG, "DROP TABLE users"),
    (LITE, "ALTER TABLE users RENAME TO members"),
    (MY, "RENAME TABLE users TO members"),
    (PG, "ALTER TABLE users ALTER COLUMN email DROP NOT NULL"),
];

/// The schema the cases' existing tables have before the migration, as a
/// snapshot of the database the plan runs on holds it.
const BEFORE: &str = "table orders
  column id BIGINT NOT NULL
  column total BIGINT NULL
  column user_id BIGINT NULL
table users
  column id BIGINT NOT NULL
  column email CHARACTER VARYING(255) NULL
  column age INTEGER NULL
";

/// Lints one migration of existing tables whose types are [`BEFORE`].
fn lint(
    dialect: Dialect,
    phase: Phase,
    tx: bool,
    sql: &[&str],
    allow: &[(&str, &str)],
) -> LintReport {
    let kind = MigrationKind {
        phase,
        transactional: tx,
    };
    Linter::new(dialect)
        .with_schema(&crate::schema::Schema::from_text(BEFORE))
        .migration(kind, sql, allow)
}

fn rules(report: &LintReport) -> Vec<&'static str> {
    report.findings.iter().map(|f| f.rule).collect()
}

#[test]
fn every_rule_has_a_case_and_every_case_names_a_rule() {
    for r in RULES {
        assert!(
            CASES.iter().any(|c| c.rule == r.id) || r.id == "destructive-in-expand",
            "{} has no case",
            r.id
        );
        assert!(!r.safe_alternative.is_empty() && !r.explanation.is_empty());
    }
    for c in CASES {
        assert!(rule(c.rule).is_some(), "{}", c.rule);
    }
}

#[test]
fn each_rule_finds_its_failing_case() {
    for c in CASES {
        let report = lint(c.dialect, Phase::Expand, true, c.failing, &[]);
        assert!(rules(&report).contains(&c.rule), "{}: {:?}", c.rule, report);
        assert!(!report.passed());
        let f = report.findings.iter().find(|f| f.rule == c.rule).unwrap();
        assert_eq!(f.safe_alternative, rule(c.rule).unwrap().safe_alternative);
        assert!(!f.message.is_empty());
        assert_eq!(report.not_checked(), 0, "{}", c.rule);
    }
}

#[test]
fn each_rule_passes_its_safe_rewrite() {
    for c in CASES {
        let report = lint(c.dialect, Phase::Expand, c.safe_transactional, c.safe, &[]);
        assert!(
            report.findings.is_empty(),
            "{}: {:?}",
            c.rule,
            report.findings
        );
        assert!(report.passed());
    }
}

#[test]
fn each_rule_turns_into_an_allowance_with_its_reason() {
    for c in CASES {
        let others: Vec<_> = rules(&lint(c.dialect, Phase::Expand, true, c.failing, &[]));
        let mut allow: Vec<(&str, &str)> = others
            .iter()
            .filter(|r| **r != c.rule)
            .map(|r| (*r, "covered by another test"))
            .collect();
        let snake = c.rule.replace('-', "_");
        allow.push((&snake, "the table has 12 rows"));
        let report = lint(c.dialect, Phase::Expand, true, c.failing, &allow);
        assert!(
            report.findings.is_empty(),
            "{}: {:?}",
            c.rule,
            report.findings
        );
        assert!(report.passed());
        let a = report
            .allowances
            .iter()
            .find(|a| a.finding.rule == c.rule)
            .unwrap_or_else(|| panic!("{}: {:?}", c.rule, report));
        assert_eq!(a.reason, "the table has 12 rows");
        assert!(report.unknown_allows.is_empty());
    }
}

#[test]
fn each_rule_ignores_a_table_created_in_the_same_migration() {
    for c in CASES {
        let report = lint(c.dialect, Phase::Expand, true, c.on_new_table, &[]);
        assert!(
            report.findings.is_empty(),
            "{}: {:?}",
            c.rule,
            report.findings
        );
    }
}

#[test]
fn destructive_statements_fail_in_expand() {
    for (dialect, sql) in DESTRUCTIVE {
        let report = lint(*dialect, Phase::Expand, true, &[sql], &[]);
        assert_eq!(
            rules(&report),
            ["destructive-in-expand"],
            "{dialect:?} {sql}: {report:?}"
        );
    }
}

#[test]
fn destructive_statements_pass_in_contract() {
    for (dialect, sql) in DESTRUCTIVE {
        let report = lint(*dialect, Phase::Contract, true, &[sql], &[]);
        assert!(
            report.findings.is_empty(),
            "{dialect:?} {sql}: {:?}",
            report.findings
        );
    }
}

#[test]
fn destructive_statements_in_expand_can_be_allowed_with_a_reason() {
    for (dialect, sql) in DESTRUCTIVE {
        let allow = [("destructive_in_expand", "no released code reads it")];
        let report = lint(*dialect, Phase::Expand, true, &[sql], &allow);
        assert!(report.findings.is_empty(), "{dialect:?} {sql}");
        assert_eq!(report.allowances[0].reason, "no released code reads it");
    }
}

#[test]
fn destructive_statements_on_a_table_created_in_the_same_migration_pass() {
    for (dialect, sql) in DESTRUCTIVE {
        let create = "CREATE TABLE users (id INT PRIMARY KEY, email TEXT NOT NULL)";
        let report = lint(*dialect, Phase::Expand, false, &[create, sql], &[]);
        assert!(
            report.findings.is_empty(),
            "{dialect:?} {sql}: {:?}",
            report.findings
        );
    }
}

#[test]
fn a_statement_no_dialect_parses_is_not_checked_and_no_finding() {
    let report = lint(
        PG,
        Phase::Expand,
        false,
        &[
            "DROP INDEX CONCURRENTLY users_email_idx",
            "DO $$ BEGIN END $$",
        ],
        &[],
    );
    assert!(report.findings.is_empty());
    assert_eq!(report.not_checked(), 2);
    assert!(
        report.statements[0]
            .not_checked
            .as_deref()
            .unwrap()
            .contains("no SQL dialect parses it")
    );
    assert!(report.passed());
}

#[test]
fn stable_defaults_are_not_volatile() {
    for sql in [
        "ALTER TABLE users ADD COLUMN created_at TIMESTAMPTZ DEFAULT now()",
        "ALTER TABLE users ADD COLUMN created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP",
        "ALTER TABLE users ADD COLUMN created_at TIMESTAMPTZ NOT NULL DEFAULT now()",
        "ALTER TABLE users ADD COLUMN day DATE DEFAULT CURRENT_DATE",
        "ALTER TABLE users ADD COLUMN at TIMESTAMPTZ DEFAULT statement_timestamp()",
        "ALTER TABLE users ADD COLUMN note TEXT DEFAULT 'random()'",
        "ALTER TABLE users ADD COLUMN n BIGINT DEFAULT my_random(1)",
    ] {
        assert!(
            lint(PG, Phase::Expand, true, &[sql], &[])
                .findings
                .is_empty(),
            "{sql}"
        );
    }
    for sql in [
        "ALTER TABLE users ADD COLUMN t TIMESTAMPTZ DEFAULT clock_timestamp()",
        "ALTER TABLE users ADD COLUMN r DOUBLE PRECISION DEFAULT random()",
        "ALTER TABLE users ADD COLUMN n BIGINT DEFAULT nextval('users_n_seq')",
        "ALTER TABLE users ADD COLUMN token UUID DEFAULT uuidv7()",
    ] {
        assert_eq!(
            rules(&lint(PG, Phase::Expand, true, &[sql], &[])),
            ["volatile-default"],
            "{sql}"
        );
    }
}

#[test]
fn set_not_null_needs_the_check_on_the_same_column() {
    let report = lint(
        PG,
        Phase::Expand,
        false,
        &[
            "ALTER TABLE users ADD CONSTRAINT users_name_nn CHECK (name IS NOT NULL) NOT VALID",
            "ALTER TABLE users VALIDATE CONSTRAINT users_name_nn",
            "ALTER TABLE users ALTER COLUMN email SET NOT NULL",
        ],
        &[],
    );
    assert_eq!(rules(&report), ["set-not-null"]);
    assert_eq!(report.findings[0].statement, 2);
}

#[test]
fn an_unknown_allow_is_reported_and_allows_nothing() {
    let report = lint(
        PG,
        Phase::Expand,
        true,
        &["CREATE INDEX i ON users (email)"],
        &[("index-not-concurent", "typo")],
    );
    assert_eq!(report.unknown_allows, ["index-not-concurent"]);
    assert_eq!(rules(&report), ["index-not-concurrent"]);
}

#[test]
fn a_table_created_earlier_in_the_plan_is_new_in_later_migrations() {
    let mut linter = Linter::new(PG);
    let kind = MigrationKind {
        phase: Phase::Expand,
        transactional: true,
    };
    let first = linter.migration(
        kind,
        &["CREATE TABLE orders (id BIGINT PRIMARY KEY, user_id BIGINT)"],
        &[],
    );
    assert!(first.findings.is_empty());
    let second = linter.migration(
        kind,
        &["CREATE INDEX orders_user_idx ON orders (user_id)"],
        &[],
    );
    assert!(second.findings.is_empty(), "{:?}", second.findings);
    let other = linter.migration(
        kind,
        &["CREATE INDEX users_email_idx ON users (email)"],
        &[],
    );
    assert_eq!(rules(&other), ["index-not-concurrent"]);
}

#[test]
fn lock_levels_per_statement_kind() {
    let cases: &[(Dialect, &str, Option<&str>)] = &[
        (
            PG,
            "ALTER TABLE users ADD COLUMN a BIGINT",
            Some("ACCESS EXCLUSIVE"),
        ),
        (PG, "CREATE INDEX i ON users (email)", Some("SHARE")),
        (
            PG,
            "CREATE INDEX CONCURRENTLY i ON users (email)",
            Some("SHARE UPDATE EXCLUSIVE"),
        ),
        (
            PG,
            "ALTER TABLE users VALIDATE CONSTRAINT c",
            Some("SHARE UPDATE EXCLUSIVE"),
        ),
        (
            PG,
            "ALTER TABLE o ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users (id) NOT VALID",
            Some("SHARE ROW EXCLUSIVE"),
        ),
        (PG, "UPDATE users SET a = 1", Some("ROW EXCLUSIVE")),
        (PG, "SELECT 1", Some("ACCESS SHARE")),
        (PG, "DROP TABLE users", Some("ACCESS EXCLUSIVE")),
        (PG, "LOCK TABLE users IN SHARE MODE", Some("SHARE")),
        (PG, "CLUSTER users", Some("ACCESS EXCLUSIVE")),
        (PG, "CREATE TABLE t (id INT)", None),
        (PG, "DO $$ BEGIN END $$", None),
        (
            MY,
            "ALTER TABLE users ADD COLUMN a INT, ALGORITHM=INSTANT, LOCK=NONE",
            Some("ALGORITHM=INSTANT, LOCK=NONE"),
        ),
        (
            MY,
            "CREATE INDEX i ON users (a) ALGORITHM=INPLACE LOCK=NONE",
            Some("ALGORITHM=INPLACE, LOCK=NONE"),
        ),
        (
            MY,
            "ALTER TABLE users ADD COLUMN a INT",
            Some("ALGORITHM=DEFAULT, LOCK=DEFAULT (the server picks; it may copy the table)"),
        ),
        (
            LITE,
            "ALTER TABLE users ADD COLUMN a INT",
            Some("database write lock"),
        ),
        (LITE, "SELECT 1", None),
    ];
    for (dialect, sql, want) in cases {
        assert_eq!(
            lock_level(*dialect, sql).as_deref(),
            *want,
            "{dialect:?} {sql}"
        );
    }
}

#[test]
fn a_mysql_alter_that_only_renames_needs_no_algorithm() {
    let sql = "ALTER TABLE users RENAME COLUMN email TO mail";
    assert!(
        lint(MY, Phase::Contract, true, &[sql], &[])
            .findings
            .is_empty()
    );
}

#[test]
fn findings_point_at_their_statement_and_keep_statement_order() {
    let report = lint(
        PG,
        Phase::Expand,
        false,
        &[
            "SELECT 1",
            "CREATE INDEX i ON users (email)",
            "ALTER TABLE users DROP COLUMN name",
        ],
        &[],
    );
    let at: Vec<_> = report
        .findings
        .iter()
        .map(|f| (f.rule, f.statement))
        .collect();
    assert_eq!(
        at,
        [("index-not-concurrent", 1), ("destructive-in-expand", 2)]
    );
    assert_eq!(report.statements.len(), 3);
    assert_eq!(report.statements[1].lock.as_deref(), Some("SHARE"));
}

#[test]
fn the_compile_time_sql_check_allowance_is_not_an_unknown_rule() {
    let report = lint(
        PG,
        Phase::Expand,
        true,
        &["SELECT 1"],
        &[("sql_syntax", "vendor syntax")],
    );
    assert!(report.unknown_allows.is_empty(), "{report:?}");
}
