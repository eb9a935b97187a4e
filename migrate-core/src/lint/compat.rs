//! Rules that keep the deployed application working during an `expand`
//! migration: nothing it uses may be dropped or renamed.

use sqlparser::ast::{AlterColumnOperation, AlterTableOperation as Op, ObjectType, Statement};

use super::{Ctx, Hit};
use crate::Phase;

const RULE: &str = "destructive-in-expand";

/// The compatibility findings of one statement.
pub(crate) fn check(stmt: &Statement, ctx: &Ctx<'_>, found: &mut Vec<Hit>) {
    if ctx.kind.phase != Phase::Expand {
        return;
    }
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
            }
        }
        _ => {}
    }
}
