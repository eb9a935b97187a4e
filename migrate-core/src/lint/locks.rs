//! Rules about the locks a statement holds, and the lock level each takes.

use sqlparser::ast::{
    AlterColumnOperation, AlterTableAlgorithm, AlterTableLock, AlterTableOperation as Op,
    ColumnOption, LockTableMode, Statement, TableConstraint,
};

use super::{Ctx, Hit, ident_key, table_key};
use crate::Dialect;

/// The lock-related findings of one statement.
pub(crate) fn check(stmt: &Statement, ctx: &Ctx<'_>, found: &mut Vec<Hit>) {
    match (ctx.dialect, stmt) {
        (Dialect::Postgres, Statement::CreateIndex(index))
            if !index.concurrently && !ctx.is_new(&index.table_name) =>
        {
            found.push(Hit::new(
                "index-not-concurrent",
                format!(
                    "CREATE INDEX on {} without CONCURRENTLY blocks writes to the table while the index builds",
                    index.table_name
                ),
            ));
        }
        (Dialect::MySql, Statement::CreateIndex(index))
            if !ctx.is_new(&index.table_name)
                && !explicit_algorithm_and_lock(&index.alter_options) =>
        {
            found.push(Hit::new(
                "mysql-alter-without-algorithm",
                format!(
                    "CREATE INDEX on {} states no ALGORITHM and LOCK: the server may copy the table and block writes",
                    index.table_name
                ),
            ));
        }
        (_, Statement::AlterTable(alter)) if !ctx.is_new(&alter.name) => {
            let table = &alter.name;
            if ctx.dialect == Dialect::Postgres {
                for op in &alter.operations {
                    postgres_operation(op, table, ctx, found);
                }
                if ctx.kind.transactional
                    && ctx
                        .state
                        .alters
                        .get(&table_key(table))
                        .copied()
                        .unwrap_or(0)
                        > 0
                {
                    found.push(Hit::new(
                        "multiple-alters-one-table",
                        format!(
                            "another ALTER TABLE on {table} in the same transaction keeps its lock until commit across all of them"
                        ),
                    ));
                }
            }
            if ctx.dialect == Dialect::MySql
                && !explicit_algorithm_and_lock(&alter.operations)
                && !only_renames(&alter.operations)
            {
                found.push(Hit::new(
                    "mysql-alter-without-algorithm",
                    format!(
                        "ALTER TABLE {table} states no ALGORITHM and LOCK: the server may copy the table and block writes"
                    ),
                ));
            }
        }
        (Dialect::Postgres, Statement::Vacuum(v))
            if v.full && v.table_name.as_ref().is_none_or(|t| !ctx.is_new(t)) =>
        {
            let what = v
                .table_name
                .as_ref()
                .map_or("every table".to_string(), |t| t.to_string());
            found.push(Hit::new(
                "table-rewrite-or-lock",
                format!("VACUUM FULL rewrites {what} under an ACCESS EXCLUSIVE lock"),
            ));
        }
        (Dialect::Postgres, Statement::Lock(lock))
            if lock.tables.iter().any(|t| !ctx.is_new(&t.name)) =>
        {
            found.push(Hit::new(
                "table-rewrite-or-lock",
                "LOCK TABLE blocks other sessions until the migration's transaction ends",
            ));
        }
        (Dialect::MySql, Statement::LockTables { tables })
            if tables
                .iter()
                .any(|t| !ctx.state.new_tables.contains(&ident_key(&t.table))) =>
        {
            found.push(Hit::new(
                "table-rewrite-or-lock",
                "LOCK TABLES blocks other sessions until UNLOCK TABLES",
            ));
        }
        _ => {}
    }
}

/// `CLUSTER [table]` (PostgreSQL), recognized by its keyword.
pub(crate) fn check_cluster(table: Option<&str>, ctx: &Ctx<'_>, found: &mut Vec<Hit>) {
    if ctx.dialect == Dialect::Postgres && table.is_none_or(|t| !ctx.state.new_tables.contains(t)) {
        found.push(Hit::new(
            "table-rewrite-or-lock",
            format!(
                "CLUSTER rewrites {} under an ACCESS EXCLUSIVE lock",
                table.unwrap_or("every clustered table")
            ),
        ));
    }
}

fn postgres_operation(
    op: &Op,
    table: &sqlparser::ast::ObjectName,
    ctx: &Ctx<'_>,
    found: &mut Vec<Hit>,
) {
    match op {
        Op::AddConstraint {
            constraint,
            not_valid,
        } => match constraint {
            TableConstraint::ForeignKey(_) | TableConstraint::Check(_) if !not_valid => {
                let kind = if matches!(constraint, TableConstraint::ForeignKey(_)) {
                    "FOREIGN KEY"
                } else {
                    "CHECK"
                };
                found.push(Hit::new(
                    "constraint-not-valid",
                    format!(
                        "adding a {kind} constraint to {table} without NOT VALID checks every row while blocking writes"
                    ),
                ));
            }
            TableConstraint::Unique(_) | TableConstraint::PrimaryKey(_) => {
                found.push(Hit::new(
                    "unique-constraint",
                    format!(
                        "adding a UNIQUE / PRIMARY KEY constraint to {table} builds its index under an ACCESS EXCLUSIVE lock"
                    ),
                ));
            }
            _ => {}
        },
        Op::AddColumn { column_def, .. }
            if column_def
                .options
                .iter()
                .any(|o| matches!(o.option, ColumnOption::ForeignKey(_))) =>
        {
            found.push(Hit::new(
                "constraint-not-valid",
                format!(
                    "column {} of {table} REFERENCES another table: the foreign key is validated at once, locking both tables",
                    column_def.name
                ),
            ));
        }
        Op::AlterColumn {
            column_name,
            op: AlterColumnOperation::SetNotNull,
        } if !ctx
            .state
            .validated_not_null
            .contains(&(table_key(table), ident_key(column_name))) =>
        {
            found.push(Hit::new(
                "set-not-null",
                format!(
                    "SET NOT NULL on {table}.{column_name} scans the table under an ACCESS EXCLUSIVE lock: no validated CHECK ({column_name} IS NOT NULL) precedes it"
                ),
            ));
        }
        _ => {}
    }
}

/// Renames alone change only metadata (instant on MariaDB 10.5+).
fn only_renames(ops: &[Op]) -> bool {
    ops.iter().all(|o| {
        matches!(
            o,
            Op::RenameColumn { .. } | Op::RenameTable { .. } | Op::RenameConstraint { .. }
        )
    })
}

fn explicit_algorithm_and_lock(ops: &[Op]) -> bool {
    ops.iter().any(|o| matches!(o, Op::Algorithm { .. }))
        && ops.iter().any(|o| matches!(o, Op::Lock { .. }))
}

/// Whether the ALTER states ALGORITHM=INSTANT or INPLACE (the server then
/// refuses a change it cannot do without copying).
pub(crate) fn mysql_no_copy(ops: &[Op]) -> bool {
    ops.iter().any(|o| {
        matches!(
            o,
            Op::Algorithm {
                algorithm: AlterTableAlgorithm::Instant | AlterTableAlgorithm::Inplace,
                ..
            }
        )
    })
}

const ACCESS_EXCLUSIVE: &str = "ACCESS EXCLUSIVE";

/// PostgreSQL lock levels, weakest first.
const PG_LEVELS: &[&str] = &[
    "ACCESS SHARE",
    "ROW SHARE",
    "ROW EXCLUSIVE",
    "SHARE UPDATE EXCLUSIVE",
    "SHARE",
    "SHARE ROW EXCLUSIVE",
    "EXCLUSIVE",
    ACCESS_EXCLUSIVE,
];

/// How strong a lock description is, to show the strongest of a statement.
pub(crate) fn strength(level: &str) -> usize {
    PG_LEVELS
        .iter()
        .position(|l| *l == level)
        .map_or(0, |p| p + 1)
}

/// The lock one parsed statement takes on this backend.
pub(crate) fn level(dialect: Dialect, stmt: &Statement) -> Option<String> {
    match dialect {
        Dialect::Postgres => postgres_level(stmt).map(str::to_string),
        Dialect::MySql => mysql_level(stmt),
        Dialect::Sqlite => match stmt {
            Statement::Query(_) => None,
            _ => Some("database write lock".into()),
        },
    }
}

fn postgres_level(stmt: &Statement) -> Option<&'static str> {
    Some(match stmt {
        Statement::CreateIndex(i) if i.concurrently => "SHARE UPDATE EXCLUSIVE",
        Statement::CreateIndex(_) => "SHARE",
        Statement::AlterTable(alter) => alter
            .operations
            .iter()
            .map(|op| match op {
                Op::ValidateConstraint { .. } => "SHARE UPDATE EXCLUSIVE",
                Op::AddConstraint {
                    constraint: TableConstraint::ForeignKey(_),
                    ..
                } => "SHARE ROW EXCLUSIVE",
                _ => ACCESS_EXCLUSIVE,
            })
            .max_by_key(|l| strength(l))
            .unwrap_or(ACCESS_EXCLUSIVE),
        Statement::Drop { .. } | Statement::Truncate(_) => ACCESS_EXCLUSIVE,
        Statement::Vacuum(v) if v.full => ACCESS_EXCLUSIVE,
        Statement::Vacuum(_) => "SHARE UPDATE EXCLUSIVE",
        Statement::Lock(lock) => match lock.lock_mode {
            Some(LockTableMode::AccessShare) => "ACCESS SHARE",
            Some(LockTableMode::RowShare) => "ROW SHARE",
            Some(LockTableMode::RowExclusive) => "ROW EXCLUSIVE",
            Some(LockTableMode::ShareUpdateExclusive) => "SHARE UPDATE EXCLUSIVE",
            Some(LockTableMode::Share) => "SHARE",
            Some(LockTableMode::ShareRowExclusive) => "SHARE ROW EXCLUSIVE",
            Some(LockTableMode::Exclusive) => "EXCLUSIVE",
            Some(LockTableMode::AccessExclusive) | None => ACCESS_EXCLUSIVE,
        },
        Statement::Insert(_)
        | Statement::Update(_)
        | Statement::Delete(_)
        | Statement::Merge(_) => "ROW EXCLUSIVE",
        Statement::Query(_) => "ACCESS SHARE",
        _ => return None,
    })
}

fn mysql_level(stmt: &Statement) -> Option<String> {
    let online = |ops: &[Op]| {
        let algorithm = ops.iter().find_map(|o| match o {
            Op::Algorithm { algorithm, .. } => Some(algorithm.to_string()),
            _ => None,
        });
        let lock = ops.iter().find_map(|o| match o {
            Op::Lock { lock, .. } => Some(lock.to_string()),
            _ => None,
        });
        match (algorithm, lock) {
            (None, None) => {
                "ALGORITHM=DEFAULT, LOCK=DEFAULT (the server picks; it may copy the table)"
                    .to_string()
            }
            (a, l) => format!(
                "ALGORITHM={}, LOCK={}",
                a.unwrap_or_else(|| "DEFAULT".into()),
                l.unwrap_or_else(|| AlterTableLock::Default.to_string())
            ),
        }
    };
    Some(match stmt {
        Statement::AlterTable(alter) => online(&alter.operations),
        Statement::CreateIndex(index) => online(&index.alter_options),
        Statement::Drop { .. } | Statement::Truncate(_) | Statement::RenameTable(_) => {
            "exclusive metadata lock".into()
        }
        Statement::LockTables { .. } => "table lock until UNLOCK TABLES".into(),
        Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_) => "row locks".into(),
        _ => return None,
    })
}
