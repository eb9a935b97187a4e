//! Column types as the narrowing and rewrite rules compare them: whether a
//! new type holds every value of the old one, and whether PostgreSQL can
//! switch to it without rewriting the table.

use std::collections::HashMap;

use sqlparser::ast::Ident;

use super::ident_key;
use crate::Dialect;

/// A column type reduced to what the comparisons need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ColumnType {
    /// An integer of `bytes` bytes.
    Int { bytes: u8, unsigned: bool },
    /// Variable-length text of at most `max` characters (`None`: unbounded).
    Text { max: Option<u64> },
    /// Blank-padded text of exactly `len` characters.
    Char { len: u64 },
    /// Exact decimal: `(precision, scale)`, `None` when unconstrained.
    Numeric { precision: Option<(u64, u64)> },
    /// Floating point of `bytes` bytes.
    Float { bytes: u8 },
    /// Anything else, as normalized text: equal only to itself.
    Other(String),
}

/// Parses a type as sqlparser prints it (`VARCHAR(100)`, `INT UNSIGNED`) or
/// as a schema snapshot holds it (`CHARACTER VARYING(255)`, `INT(11)`).
pub(crate) fn parse(dialect: Dialect, text: &str) -> ColumnType {
    let norm = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let norm = norm.to_uppercase();
    let (head, args, tail) = match (norm.find('('), norm.find(')')) {
        (Some(open), Some(close)) if open < close => (
            norm[..open].trim(),
            Some(&norm[open + 1..close]),
            norm[close + 1..].trim(),
        ),
        _ => (norm.as_str(), None, ""),
    };
    let unsigned = head.ends_with(" UNSIGNED") || tail.split(' ').any(|w| w == "UNSIGNED");
    let head = head.trim_end_matches(" UNSIGNED");
    let numbers: Vec<u64> = args
        .map(|a| a.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_default();
    let int = |bytes| ColumnType::Int { bytes, unsigned };
    match head {
        "TINYINT" | "INT1" => int(1),
        "SMALLINT" | "INT2" | "SMALLSERIAL" | "SERIAL2" => int(2),
        "MEDIUMINT" | "INT3" => int(3),
        "INT" | "INTEGER" | "INT4" | "SERIAL" | "SERIAL4" => int(4),
        "BIGINT" | "INT8" | "BIGSERIAL" | "SERIAL8" => int(8),
        "VARCHAR" | "CHARACTER VARYING" | "NVARCHAR" | "VARCHAR2" => ColumnType::Text {
            max: numbers.first().copied(),
        },
        "CHAR" | "CHARACTER" | "BPCHAR" | "NCHAR" => ColumnType::Char {
            len: numbers.first().copied().unwrap_or(1),
        },
        // MariaDB's text types hold bytes: count 4 per utf8mb4 character.
        "TINYTEXT" => ColumnType::Text { max: Some(63) },
        "TEXT" if dialect == Dialect::MySql => ColumnType::Text { max: Some(16_383) },
        "MEDIUMTEXT" => ColumnType::Text {
            max: Some(4_194_303),
        },
        "TEXT" | "LONGTEXT" | "CITEXT" => ColumnType::Text { max: None },
        "NUMERIC" | "DECIMAL" | "DEC" => ColumnType::Numeric {
            precision: match (numbers.first(), numbers.get(1)) {
                (Some(p), scale) => Some((*p, scale.copied().unwrap_or(0))),
                // MariaDB's bare DECIMAL is DECIMAL(10,0).
                (None, _) if dialect == Dialect::MySql => Some((10, 0)),
                (None, _) => None,
            },
        },
        "REAL" | "FLOAT4" => ColumnType::Float { bytes: 4 },
        "FLOAT" if dialect == Dialect::MySql => ColumnType::Float { bytes: 4 },
        "DOUBLE PRECISION" | "DOUBLE" | "FLOAT8" | "FLOAT" => ColumnType::Float { bytes: 8 },
        _ => ColumnType::Other(norm.clone()),
    }
}

/// Decimal digits of the largest value an integer type holds.
fn digits(bytes: u8, unsigned: bool) -> u64 {
    match (bytes, unsigned) {
        (1, _) => 3,
        (2, _) => 5,
        (3, _) => 8,
        (4, _) => 10,
        (8, false) => 19,
        _ => 20,
    }
}

/// Whether every value of `old` fits `new` unchanged.
pub(crate) fn widens(old: &ColumnType, new: &ColumnType) -> bool {
    use ColumnType as T;
    match (old, new) {
        _ if old == new => true,
        (
            T::Int {
                bytes: a,
                unsigned: ua,
            },
            T::Int {
                bytes: b,
                unsigned: ub,
            },
        ) => match (ua, ub) {
            (false, true) => false,
            (true, false) => b > a,
            _ => b >= a,
        },
        (T::Int { .. }, T::Numeric { precision: None }) => true,
        (
            T::Int { bytes, unsigned },
            T::Numeric {
                precision: Some((p, s)),
            },
        ) => p.saturating_sub(*s) >= digits(*bytes, *unsigned),
        (T::Text { .. } | T::Char { .. }, T::Text { max: None }) => true,
        (T::Text { max: Some(a) }, T::Text { max: Some(b) }) => b >= a,
        (T::Char { len: a }, T::Char { len: b }) => b >= a,
        (T::Numeric { .. }, T::Numeric { precision: None }) => true,
        (
            T::Numeric {
                precision: Some((p, s)),
            },
            T::Numeric {
                precision: Some((p2, s2)),
            },
        ) => s2 >= s && p2.saturating_sub(*s2) >= p.saturating_sub(*s),
        (T::Float { bytes: a }, T::Float { bytes: b }) => b >= a,
        _ => false,
    }
}

/// Whether PostgreSQL changes `old` to `new` without rewriting the table:
/// a longer (or no) length limit on text, a larger precision at the same
/// scale (or none) on numeric.
pub(crate) fn postgres_no_rewrite(old: &ColumnType, new: &ColumnType) -> bool {
    use ColumnType as T;
    match (old, new) {
        _ if old == new => true,
        (T::Text { .. }, T::Text { .. }) => widens(old, new),
        (T::Numeric { .. }, T::Numeric { precision: None }) => true,
        (
            T::Numeric {
                precision: Some((p, s)),
            },
            T::Numeric {
                precision: Some((p2, s2)),
            },
        ) => s2 == s && p2 >= p,
        _ => false,
    }
}

/// `(column, type)` of a schema snapshot's column line
/// (`  column email CHARACTER VARYING(255) NOT NULL DEFAULT ...`).
pub(crate) fn snapshot_column(line: &str) -> Option<(&str, &str)> {
    let rest = line.trim_start().strip_prefix("column ")?;
    let (name, rest) = rest.split_once(' ')?;
    let end = [" NOT NULL", " NULL"]
        .iter()
        .filter_map(|marker| rest.find(marker))
        .min()
        .unwrap_or(rest.len());
    Some((name, rest[..end].trim()))
}

/// Keeps the known column types (`(table, column)` to type) current
/// through a column's ALTER.
pub(crate) fn record(
    columns: &mut HashMap<(String, String), String>,
    table: &str,
    op: &sqlparser::ast::AlterTableOperation,
) {
    use sqlparser::ast::{AlterColumnOperation, AlterTableOperation as Op};
    let key = |c: &Ident| (table.to_string(), ident_key(c));
    match op {
        Op::AddColumn { column_def, .. } => {
            columns.insert(key(&column_def.name), column_def.data_type.to_string());
        }
        Op::AlterColumn {
            column_name,
            op: AlterColumnOperation::SetDataType { data_type, .. },
        }
        | Op::ModifyColumn {
            col_name: column_name,
            data_type,
            ..
        } => {
            columns.insert(key(column_name), data_type.to_string());
        }
        Op::ChangeColumn {
            old_name,
            new_name,
            data_type,
            ..
        } => {
            columns.remove(&key(old_name));
            columns.insert(key(new_name), data_type.to_string());
        }
        Op::RenameColumn {
            old_column_name,
            new_column_name,
        } => {
            if let Some(ty) = columns.remove(&key(old_column_name)) {
                columns.insert(key(new_column_name), ty);
            }
        }
        Op::DropColumn { column_names, .. } => {
            for c in column_names {
                columns.remove(&key(c));
            }
        }
        _ => {}
    }
}
