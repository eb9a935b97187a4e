//! Rules about statements that rewrite or scan a whole table, or fail on
//! one that has rows.

use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation as Op, ColumnDef, ColumnOption, DataType, Expr,
    Statement,
};

use super::{Ctx, Hit, ident_key};
use crate::Dialect;

/// PostgreSQL functions whose value differs per row: a default calling one
/// must be computed for every existing row, which rewrites the table.
/// `now()` / `CURRENT_TIMESTAMP` are STABLE (one value per transaction), so
/// PostgreSQL 11+ stores them as a fast default without a rewrite.
const VOLATILE: &[&str] = &[
    "random",
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "uuidv4",
    "uuidv7",
    "clock_timestamp",
    "timeofday",
    "nextval",
    "txid_current",
    "setseed",
];

/// The rewrite-related findings of one statement.
pub(crate) fn check(stmt: &Statement, ctx: &Ctx<'_>, found: &mut Vec<Hit>) {
    let Statement::AlterTable(alter) = stmt else {
        return;
    };
    if ctx.is_new(&alter.name) {
        return;
    }
    let table = &alter.name;
    for op in &alter.operations {
        match op {
            Op::AddColumn { column_def, .. } => add_column(column_def, table, ctx, found),
            Op::AlterColumn {
                column_name,
                op: AlterColumnOperation::SetDataType { data_type, .. },
            } if ctx.dialect == Dialect::Postgres
                && !ctx.column_type(table, column_name).is_some_and(|old| {
                    super::types::postgres_no_rewrite(
                        &old,
                        &super::types::parse(ctx.dialect, &data_type.to_string()),
                    )
                }) =>
            {
                found.push(Hit::new(
                "column-type-change",
                format!(
                    "changing {table}.{column_name} to {data_type} rewrites the table under an ACCESS EXCLUSIVE lock"
                ),
            ));
            }
            Op::ModifyColumn {
                col_name: name,
                data_type,
                ..
            }
            | Op::ChangeColumn {
                old_name: name,
                data_type,
                ..
            } if ctx.dialect == Dialect::MySql && !super::locks::mysql_no_copy(&alter.operations) => {
                found.push(Hit::new(
                    "column-type-change",
                    format!(
                        "redefining {table}.{name} as {data_type} without ALGORITHM=INSTANT/INPLACE may copy the whole table"
                    ),
                ))
            }
            _ => {}
        }
    }
}

fn add_column(
    column: &ColumnDef,
    table: &sqlparser::ast::ObjectName,
    ctx: &Ctx<'_>,
    found: &mut Vec<Hit>,
) {
    let default = column.options.iter().find_map(|o| match &o.option {
        ColumnOption::Default(e) => Some(e),
        _ => None,
    });
    let serial = is_serial(&column.data_type);
    if ctx.dialect == Dialect::Postgres {
        if let Some(f) = default.and_then(volatile_call) {
            found.push(Hit::new(
                "volatile-default",
                format!(
                    "column {} of {table} defaults to the volatile {f}(): every existing row is rewritten under an ACCESS EXCLUSIVE lock",
                    column.name
                ),
            ));
        } else if serial {
            found.push(Hit::new(
                "volatile-default",
                format!(
                    "column {} of {table} is {}: its nextval() default rewrites every existing row under an ACCESS EXCLUSIVE lock",
                    column.name, column.data_type
                ),
            ));
        }
    }
    let not_null = column.options.iter().any(|o| {
        matches!(
            o.option,
            ColumnOption::NotNull | ColumnOption::PrimaryKey(_)
        )
    });
    let filled = default.is_some()
        || serial
        || column.options.iter().any(|o| {
            matches!(
                o.option,
                ColumnOption::Generated { .. }
                    | ColumnOption::Identity(_)
                    | ColumnOption::Materialized(_)
                    | ColumnOption::Alias(_)
            )
        });
    if not_null && !filled {
        found.push(Hit::new(
            "add-not-null-without-default",
            format!(
                "column {} of {table} is NOT NULL without a default: adding it fails when the table has rows",
                column.name
            ),
        ));
    }
}

fn is_serial(ty: &DataType) -> bool {
    let name = ty.to_string().to_lowercase();
    matches!(
        name.as_str(),
        "serial" | "bigserial" | "smallserial" | "serial2" | "serial4" | "serial8"
    )
}

/// The first volatile function the default calls, if any.
fn volatile_call(expr: &Expr) -> Option<&'static str> {
    // Calls inside string literals are text, not calls.
    let mut text = String::new();
    let mut quoted = false;
    for c in expr.to_string().to_lowercase().chars() {
        if c == '\'' {
            quoted = !quoted;
        } else if !quoted {
            text.push(c);
        }
    }
    VOLATILE.iter().copied().find(|f| {
        text.match_indices(f).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + f.len()..].trim_start().chars().next();
            before.is_none_or(|c| !(c.is_alphanumeric() || c == '_')) && after == Some('(')
        })
    })
}

/// The column of a `CHECK (column IS NOT NULL)` expression.
pub(crate) fn is_not_null_check(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Nested(inner) => is_not_null_check(inner),
        Expr::IsNotNull(inner) => match inner.as_ref() {
            Expr::Identifier(ident) => Some(ident_key(ident)),
            Expr::CompoundIdentifier(parts) => parts.last().map(ident_key),
            _ => None,
        },
        _ => None,
    }
}
