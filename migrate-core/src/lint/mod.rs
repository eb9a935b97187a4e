//! Lint of the statements a migration runs: the blocking-lock and
//! table-rewrite rules of squawk / strong_migrations and the
//! application-breaking ones, decided per dialect from the parsed SQL.
//!
//! The engine is pure: captured statement texts, the migration's dialect,
//! phase, transaction mode and allowances go in; findings, allowances and
//! the lock each statement takes come out.
//!
//! ```
//! use migrate_core::lint::lint_migration;
//! use migrate_core::{Dialect, Phase};
//!
//! let report = lint_migration(
//!     Dialect::Postgres,
//!     Phase::Expand,
//!     true,
//!     &["CREATE INDEX users_email_idx ON users (email)"],
//!     &[],
//! );
//! assert_eq!(report.findings[0].rule, "index-not-concurrent");
//! assert_eq!(report.statements[0].lock.as_deref(), Some("SHARE"));
//! ```

mod compat;
mod locks;
mod rewrites;
#[cfg(test)]
mod tests;
mod types;

use std::collections::{HashMap, HashSet};

use sqlparser::ast::{Ident, ObjectName, Statement};
use sqlparser::dialect::{
    Dialect as SqlDialect, GenericDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect,
};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};

use crate::{Dialect, Phase};

/// How serious a finding is. Every rule today is an error: it fails `plan`
/// and `stage` unless the migration allows it with a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Severity {
    /// Fails the check unless allowed.
    Error,
    /// Shown, never fails.
    Warning,
}

/// A lint rule: its id (what `allow(...)` names), what it catches and the
/// safe way to do the same change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Rule {
    /// Kebab-case id, e.g. `index-not-concurrent`.
    pub id: &'static str,
    /// Which backends it applies to.
    pub backends: &'static str,
    /// Why the statement is dangerous.
    pub explanation: &'static str,
    /// What to write instead.
    pub safe_alternative: &'static str,
}

/// Every rule, in the order they are documented.
pub const RULES: &[Rule] = &[
    Rule {
        id: "index-not-concurrent",
        backends: "postgres",
        explanation: "CREATE INDEX without CONCURRENTLY holds a SHARE lock that blocks every write to the table while the index builds",
        safe_alternative: "CREATE INDEX CONCURRENTLY in a migration with `transaction = false` (or `Db::create_index_concurrently`)",
    },
    Rule {
        id: "volatile-default",
        backends: "postgres",
        explanation: "ADD COLUMN with a volatile default (random(), gen_random_uuid(), clock_timestamp(), nextval() ...) rewrites the whole table under an ACCESS EXCLUSIVE lock (now() and CURRENT_TIMESTAMP are STABLE, one value per transaction: PostgreSQL 11+ stores them as a fast default without a rewrite, so they are no finding)",
        safe_alternative: "add the column without a default, set the default with ALTER COLUMN ... SET DEFAULT, then backfill existing rows in batches (`Db::backfill`)",
    },
    Rule {
        id: "add-not-null-without-default",
        backends: "postgres, mysql, sqlite",
        explanation: "ADD COLUMN ... NOT NULL without a default fails on a table that has rows (MariaDB silently fills the type's zero value)",
        safe_alternative: "add the column nullable (`Db::add_column_nullable`), backfill it, then add the NOT NULL constraint (`Db::add_not_null_constraint`), or give it a constant default",
    },
    Rule {
        id: "column-type-change",
        backends: "postgres, mysql",
        explanation: "changing a column's type rewrites the table (and its indexes) under an exclusive lock, and breaks code reading the old type",
        safe_alternative: "add a column of the new type, backfill it, switch the application, then drop the old column in a contract migration; on MariaDB state ALGORITHM=INPLACE/INSTANT, LOCK=NONE so the server refuses a copy",
    },
    Rule {
        id: "set-not-null",
        backends: "postgres",
        explanation: "ALTER COLUMN ... SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock unless a validated CHECK (column IS NOT NULL) proves it",
        safe_alternative: "ADD CONSTRAINT c CHECK (column IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT c, then SET NOT NULL, in a migration with `transaction = false` (`Db::add_not_null_constraint`)",
    },
    Rule {
        id: "constraint-not-valid",
        backends: "postgres",
        explanation: "adding a FOREIGN KEY or CHECK constraint validates every row while holding a lock that blocks writes",
        safe_alternative: "ADD CONSTRAINT ... NOT VALID, then VALIDATE CONSTRAINT in a later statement outside the adding transaction (`Db::add_foreign_key`)",
    },
    Rule {
        id: "unique-constraint",
        backends: "postgres",
        explanation: "ADD CONSTRAINT ... UNIQUE / PRIMARY KEY builds its index under an ACCESS EXCLUSIVE lock that blocks reads and writes",
        safe_alternative: "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT c UNIQUE USING INDEX idx",
    },
    Rule {
        id: "destructive-in-expand",
        backends: "postgres, mysql, sqlite",
        explanation: "an expand migration must keep the deployed application working: dropping or renaming a table or column, or dropping NOT NULL, breaks the code that still uses them",
        safe_alternative: "keep the old object in the expand migration and remove it in a `phase = contract` migration once the application no longer uses it",
    },
    Rule {
        id: "type-narrowing-in-expand",
        backends: "postgres, mysql",
        explanation: "an expand migration must keep the deployed application working: a column type that no longer holds every value the application writes (a shorter VARCHAR, a smaller integer, less numeric precision or scale, TEXT to VARCHAR(n), a change to another kind of type) makes its inserts and updates fail; the current type comes from the schema of the database the plan runs on, and a change the lint cannot prove widening is a finding",
        safe_alternative: "only widen in an expand migration (a longer VARCHAR, a larger integer, more precision); to narrow, add a column of the new type, backfill and dual-write it, switch the application, then drop the old column in a `phase = contract` migration",
    },
    Rule {
        id: "mysql-alter-without-algorithm",
        backends: "mysql",
        explanation: "ALTER TABLE / CREATE INDEX without an explicit ALGORITHM and LOCK lets MariaDB silently fall back to copying the table under a lock that blocks writes (an ALTER that only renames is exempt: it changes metadata only)",
        safe_alternative: "state ALGORITHM=INSTANT or ALGORITHM=INPLACE with LOCK=NONE, so the server refuses the change instead of locking the table",
    },
    Rule {
        id: "table-rewrite-or-lock",
        backends: "postgres, mysql",
        explanation: "VACUUM FULL and CLUSTER rewrite the table under an ACCESS EXCLUSIVE lock; LOCK TABLE blocks others for the rest of the transaction",
        safe_alternative: "use pg_repack (or plain VACUUM) outside migrations, and let each statement take only the lock it needs",
    },
    Rule {
        id: "multiple-alters-one-table",
        backends: "postgres",
        explanation: "several ALTER TABLE statements on one table in one transaction keep the strongest lock until commit, across all of them",
        safe_alternative: "combine the changes into one ALTER TABLE with several actions, or use `transaction = false` / separate migrations",
    },
];

/// The `allow(...)` id of the `#[migration]` macro's compile-time SQL
/// syntax check: not a lint rule, but no typo either.
const COMPILE_TIME_ALLOW: &str = "sql_syntax";

/// The rule with this id (`snake_case` ids, as the attribute accepts, too).
pub fn rule(id: &str) -> Option<&'static Rule> {
    let id = id.replace('_', "-");
    RULES.iter().find(|r| r.id == id)
}

/// One thing the lint found wrong with a statement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The rule id.
    pub rule: &'static str,
    /// Whether it fails the check.
    pub severity: Severity,
    /// What is wrong with this statement.
    pub message: String,
    /// What to write instead.
    pub safe_alternative: &'static str,
    /// Index of the statement in the migration's captured statements.
    pub statement: usize,
}

/// A finding the migration allows, with the reason it gives.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Allowance {
    /// The allowed finding.
    #[serde(flatten)]
    pub finding: Finding,
    /// The reason written in `allow(rule_id = "reason")`.
    pub reason: String,
}

/// What the lint saw of one captured statement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatementLint {
    /// The SQL text as captured.
    pub sql: String,
    /// The lock it takes (PostgreSQL lock level, MariaDB algorithm/lock,
    /// SQLite database lock), when known.
    pub lock: Option<String>,
    /// Whether a dialect parsed it; unparsed statements are "not checked".
    pub checked: bool,
    /// Why it was not checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_checked: Option<String>,
}

/// The lint result of one migration.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LintReport {
    /// Each captured statement, in order.
    pub statements: Vec<StatementLint>,
    /// Findings not allowed by the migration.
    pub findings: Vec<Finding>,
    /// Findings the migration allows, with their reasons.
    pub allowances: Vec<Allowance>,
    /// `allow(...)` ids that name no rule (a typo allows nothing).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_allows: Vec<String>,
}

impl LintReport {
    /// Whether no error-level finding is left unallowed.
    pub fn passed(&self) -> bool {
        !self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// How many statements no dialect could parse.
    pub fn not_checked(&self) -> usize {
        self.statements.iter().filter(|s| !s.checked).count()
    }
}

/// What one migration is, for the rules that depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrationKind {
    /// Expand or contract.
    pub phase: Phase,
    /// Whether it runs in one transaction.
    pub transactional: bool,
}

/// Lints the migrations of one plan in order. Tables created earlier in
/// the plan are new: nothing uses them yet, so locking or rewriting them is
/// not a finding in later migrations either.
#[derive(Debug, Clone)]
pub struct Linter {
    dialect: Dialect,
    new_tables: HashSet<String>,
    columns: HashMap<(String, String), String>,
}

impl Linter {
    /// A linter for one backend.
    pub fn new(dialect: Dialect) -> Linter {
        Linter {
            dialect,
            new_tables: HashSet::new(),
            columns: HashMap::new(),
        }
    }

    /// Knows the column types of `schema`, the database before the plan
    /// runs, so a type change can be compared with the current type.
    ///
    /// ```
    /// use migrate_core::lint::{Linter, MigrationKind};
    /// use migrate_core::schema::Schema;
    /// use migrate_core::{Dialect, Phase};
    ///
    /// let schema = Schema::from_text("table users\n  column name CHARACTER VARYING(100) NULL\n");
    /// let kind = MigrationKind { phase: Phase::Expand, transactional: true };
    /// let widen = ["ALTER TABLE users ALTER COLUMN name TYPE VARCHAR(200)"];
    /// let report = Linter::new(Dialect::Postgres).with_schema(&schema).migration(kind, &widen, &[]);
    /// assert!(report.findings.is_empty());
    /// ```
    pub fn with_schema(mut self, schema: &crate::schema::Schema) -> Linter {
        let mut table = None;
        for line in &schema.lines {
            if let Some(name) = line.strip_prefix("table ") {
                table = Some(name.trim().to_lowercase());
            } else if let (Some(t), Some((column, ty))) = (&table, types::snapshot_column(line)) {
                self.columns
                    .insert((t.clone(), column.to_lowercase()), ty.to_string());
            }
        }
        self
    }

    /// Lints one migration's captured statements.
    pub fn migration(
        &mut self,
        kind: MigrationKind,
        statements: &[&str],
        allow: &[(&str, &str)],
    ) -> LintReport {
        let mut state = State {
            new_tables: std::mem::take(&mut self.new_tables),
            columns: std::mem::take(&mut self.columns),
            ..State::default()
        };
        let mut report = LintReport::default();
        let mut hits = Vec::new();
        for (index, sql) in statements.iter().enumerate() {
            let parsed = parse(self.dialect, sql);
            let (checked, not_checked) = match &parsed {
                Parsed::Ast(_) | Parsed::Cluster(_) => (true, None),
                Parsed::Unparsed(e) => (false, Some(e.clone())),
            };
            report.statements.push(StatementLint {
                sql: sql.to_string(),
                lock: lock_of(self.dialect, &parsed),
                checked,
                not_checked,
            });
            let ctx = Ctx {
                dialect: self.dialect,
                kind,
                state: &state,
            };
            let mut found = Vec::new();
            match &parsed {
                Parsed::Ast(stmts) => {
                    for stmt in stmts {
                        locks::check(stmt, &ctx, &mut found);
                        rewrites::check(stmt, &ctx, &mut found);
                        compat::check(stmt, &ctx, &mut found);
                    }
                }
                Parsed::Cluster(table) => locks::check_cluster(table.as_deref(), &ctx, &mut found),
                Parsed::Unparsed(_) => {}
            }
            hits.extend(found.into_iter().map(|h| (index, h)));
            if let Parsed::Ast(stmts) = &parsed {
                stmts.iter().for_each(|s| state.record(s));
            }
        }
        let allowed: HashMap<String, &str> = allow
            .iter()
            .map(|(id, reason)| (id.replace('_', "-"), *reason))
            .collect();
        report.unknown_allows = allow
            .iter()
            .filter(|(id, _)| rule(id).is_none() && id.replace('-', "_") != COMPILE_TIME_ALLOW)
            .map(|(id, _)| id.to_string())
            .collect();
        for (index, hit) in hits {
            let finding = Finding {
                rule: hit.rule,
                severity: Severity::Error,
                message: hit.message,
                safe_alternative: rule(hit.rule).map_or("", |r| r.safe_alternative),
                statement: index,
            };
            match allowed.get(hit.rule) {
                Some(reason) => report.allowances.push(Allowance {
                    finding,
                    reason: reason.to_string(),
                }),
                None => report.findings.push(finding),
            }
        }
        self.new_tables = state.new_tables;
        self.columns = state.columns;
        report
    }
}

/// Lints one migration on its own (no earlier migrations of the plan).
pub fn lint_migration(
    dialect: Dialect,
    phase: Phase,
    transactional: bool,
    statements: &[&str],
    allow: &[(&str, &str)],
) -> LintReport {
    Linter::new(dialect).migration(
        MigrationKind {
            phase,
            transactional,
        },
        statements,
        allow,
    )
}

/// The lock a statement takes: the PostgreSQL table lock level, the MariaDB
/// ALTER algorithm/lock, or SQLite's database write lock; `None` when it
/// does not parse or takes no lock worth showing.
///
/// ```
/// use migrate_core::lint::lock_level;
/// use migrate_core::Dialect;
///
/// let pg = Dialect::Postgres;
/// assert_eq!(lock_level(pg, "CREATE INDEX CONCURRENTLY i ON t (a)").as_deref(), Some("SHARE UPDATE EXCLUSIVE"));
/// assert_eq!(lock_level(pg, "ALTER TABLE t ADD COLUMN a int").as_deref(), Some("ACCESS EXCLUSIVE"));
/// ```
pub fn lock_level(dialect: Dialect, sql: &str) -> Option<String> {
    lock_of(dialect, &parse(dialect, sql))
}

fn lock_of(dialect: Dialect, parsed: &Parsed) -> Option<String> {
    match parsed {
        Parsed::Ast(stmts) => stmts
            .iter()
            .filter_map(|s| locks::level(dialect, s))
            .max_by_key(|l| locks::strength(l)),
        Parsed::Cluster(_) => (dialect == Dialect::Postgres).then(|| "ACCESS EXCLUSIVE".into()),
        Parsed::Unparsed(_) => None,
    }
}

/// A statement as the lint understood it.
enum Parsed {
    Ast(Vec<Statement>),
    /// `CLUSTER [table]`, which sqlparser does not parse: recognized by its
    /// first keyword so the rewrite it does is not missed.
    Cluster(Option<String>),
    Unparsed(String),
}

fn sql_dialect(dialect: Dialect) -> Box<dyn SqlDialect> {
    match dialect {
        Dialect::Postgres => Box::new(PostgreSqlDialect {}),
        Dialect::MySql => Box::new(MySqlDialect {}),
        Dialect::Sqlite => Box::new(SQLiteDialect {}),
    }
}

fn parse(dialect: Dialect, sql: &str) -> Parsed {
    let own = sql_dialect(dialect);
    let error = match Parser::parse_sql(own.as_ref(), sql) {
        Ok(stmts) => return Parsed::Ast(stmts),
        Err(e) => e,
    };
    if let Ok(stmts) = Parser::parse_sql(&GenericDialect {}, sql) {
        return Parsed::Ast(stmts);
    }
    let words: Vec<String> = Tokenizer::new(own.as_ref(), sql)
        .tokenize()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| match t {
            Token::Word(w) => Some(w.value),
            _ => None,
        })
        .take(3)
        .collect();
    if words
        .first()
        .is_some_and(|w| w.eq_ignore_ascii_case("cluster"))
    {
        let table = words
            .get(1)
            .filter(|w| !w.eq_ignore_ascii_case("verbose"))
            .or(words.get(2))
            .map(|w| w.to_lowercase());
        return Parsed::Cluster(table);
    }
    Parsed::Unparsed(format!(
        "no SQL dialect parses it ({}: {error})",
        dialect.as_str()
    ))
}

/// What a rule found, before allowances are applied.
pub(crate) struct Hit {
    rule: &'static str,
    message: String,
}

impl Hit {
    pub(crate) fn new(rule: &'static str, message: impl Into<String>) -> Hit {
        debug_assert!(self::rule(rule).is_some(), "unknown rule {rule}");
        Hit {
            rule,
            message: message.into(),
        }
    }
}

/// What the rules know about the statement being checked.
pub(crate) struct Ctx<'a> {
    pub dialect: Dialect,
    pub kind: MigrationKind,
    pub state: &'a State,
}

impl Ctx<'_> {
    /// Whether the table was created in this migration (or earlier in the plan).
    pub fn is_new(&self, table: &ObjectName) -> bool {
        self.state.new_tables.contains(&table_key(table))
    }

    /// The current type of a column, when the schema or an earlier
    /// statement of the plan says it.
    pub fn column_type(&self, table: &ObjectName, column: &Ident) -> Option<types::ColumnType> {
        self.state
            .columns
            .get(&(table_key(table), ident_key(column)))
            .map(|ty| types::parse(self.dialect, ty))
    }
}

/// What earlier statements of the migration did.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// Tables created in this plan.
    pub new_tables: HashSet<String>,
    /// `(table, constraint)` of CHECK (column IS NOT NULL) constraints added
    /// NOT VALID, with the column.
    pub not_null_checks: HashMap<(String, String), String>,
    /// `(table, column)` proven NOT NULL by a validated CHECK.
    pub validated_not_null: HashSet<(String, String)>,
    /// ALTER TABLE statements so far, per table.
    pub alters: HashMap<String, usize>,
    /// `(table, column)` to its type as declared, from the schema the plan
    /// starts from and the statements run since.
    pub columns: HashMap<(String, String), String>,
}

impl State {
    fn record(&mut self, stmt: &Statement) {
        use sqlparser::ast::{AlterTableOperation as Op, TableConstraint};
        match stmt {
            Statement::CreateTable(t) => {
                let table = table_key(&t.name);
                for c in &t.columns {
                    self.columns
                        .insert((table.clone(), ident_key(&c.name)), c.data_type.to_string());
                }
                self.new_tables.insert(table);
            }
            Statement::AlterTable(alter) => {
                let table = table_key(&alter.name);
                *self.alters.entry(table.clone()).or_default() += 1;
                for op in &alter.operations {
                    match op {
                        Op::AddConstraint {
                            constraint: TableConstraint::Check(c),
                            ..
                        } => {
                            if let (Some(name), Some(col)) =
                                (&c.name, rewrites::is_not_null_check(&c.expr))
                            {
                                self.not_null_checks
                                    .insert((table.clone(), ident_key(name)), col);
                            }
                        }
                        Op::ValidateConstraint { name } => {
                            if let Some(col) =
                                self.not_null_checks.get(&(table.clone(), ident_key(name)))
                            {
                                self.validated_not_null.insert((table.clone(), col.clone()));
                            }
                        }
                        Op::RenameTable { table_name } => {
                            use sqlparser::ast::RenameTableNameKind as K;
                            let (K::As(new) | K::To(new)) = table_name;
                            if self.new_tables.contains(&table) {
                                self.new_tables.insert(table_key(new));
                            }
                        }
                        op => types::record(&mut self.columns, &table, op),
                    }
                }
            }
            _ => {}
        }
    }
}

/// A table name as the rules compare it: the last part, unquoted parts
/// folded to lower case.
pub(crate) fn table_key(name: &ObjectName) -> String {
    name.0
        .last()
        .and_then(|p| p.as_ident())
        .map(ident_key)
        .unwrap_or_else(|| name.to_string())
}

/// An identifier as the rules compare it.
pub(crate) fn ident_key(ident: &Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}
