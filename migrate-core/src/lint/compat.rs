//! Rules that keep the deployed application working during an `expand`
//! migration: nothing it uses may be dropped, renamed or narrowed.

use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation as Op, DataType, Ident, ObjectName, ObjectType,
    Statement,
};

use super::{Ctx, Hit, types};
use crate::Phase;

const RULE: &str = "destructive-in-expand";

/// The compatibility findings of one statement.
pub(crate) fn check(stmt: &Statement, ctx: &Ctx<'_>, found: &mut Vec<Hit>) {
    if ctx.kind.phase != Phase::Expand {
        return;
    }
    // Type changes report through their own rule, after the loop.
    let mut narrowed = Vec::new();
    let mut hit = |what: String| {
        found.push(Hit::new(
            RULE,
            format!("{what} in an expand migration breaks the application version still running"),
        ))
    };
    match stmt {
        Statement::Drop {
            object_type: ObjectType::Table,
            names,
            ..
        } => {
            for name in names.iter().filter(|n| !ctx.is_new(n)) {
                hit(format!("DROP TABLE {name}"));
            }
        }
        Statement::RenameTable(renames) => {
            for r in renames.iter().filter(|r| !ctx.is_new(&r.old_name)) {
                hit(format!("renaming table {} to {}", r.old_name, r.new_name));
            }
        }
        Statement::AlterTable(alter) if !ctx.is_new(&alter.name) => {
            let table = &alter.name;
            for op in &alter.operations {
                match op {
                    Op::DropColumn { column_names, .. } => {
                        for c in column_names {
                            hit(format!("dropping column {table}.{c}"));
                        }
                    }
                    Op::RenameColumn {
                        old_column_name,
                        new_column_name,
                    } => hit(format!(
                        "renaming column {table}.{old_column_name} to {new_column_name}"
                    )),
                    Op::ChangeColumn {
                        old_name, new_name, ..
                    } if super::ident_key(old_name) != super::ident_key(new_name) => {
                        hit(format!("renaming column {table}.{old_name} to {new_name}"))
                    }
                    Op::RenameTable { table_name } => {
                        use sqlparser::ast::RenameTableNameKind as K;
                        let (K::As(new) | K::To(new)) = table_name;
                        hit(format!("renaming table {table} to {new}"))
                    }
                    Op::AlterColumn {
                        column_name,
                        op: AlterColumnOperation::DropNotNull,
                    } => hit(format!(
                        "dropping NOT NULL from {table}.{column_name} (the running code may rely on it)"
                    )),
                    _ => {}
                }
                match op {
                    Op::AlterColumn {
                        column_name: column,
                        op: AlterColumnOperation::SetDataType { data_type, .. },
                    }
                    | Op::ModifyColumn {
                        col_name: column,
                        data_type,
                        ..
                    }
                    | Op::ChangeColumn {
                        old_name: column,
                        data_type,
                        ..
                    } => narrowing(table, column, data_type, ctx, &mut narrowed),
                    _ => {}
                }
            }
        }
        _ => {}
    }
    found.append(&mut narrowed);
}

/// A type change in an expand migration: a finding unless the lint can
/// prove the new type holds every value of the current one.
fn narrowing(
    table: &ObjectName,
    column: &Ident,
    new: &DataType,
    ctx: &Ctx<'_>,
    found: &mut Vec<Hit>,
) {
    const NARROWING: &str = "type-narrowing-in-expand";
    let message = match ctx.column_type(table, column) {
        Some(old) if types::widens(&old, &types::parse(ctx.dialect, &new.to_string())) => return,
        Some(_) => format!(
            "changing {table}.{column} from {} to {new} narrows it: values the running application writes may no longer fit",
            ctx.state.columns[&(super::table_key(table), super::ident_key(column))]
        ),
        None => format!(
            "changing {table}.{column} to {new} in an expand migration: its current type is unknown to the lint (no schema of the database before the plan), so the change is not provably widening"
        ),
    };
    found.push(Hit::new(NARROWING, message));
}
