//! The MySQL / MariaDB schema as normalized lines (see [`crate::schema`]),
//! read from `information_schema` for `DATABASE()`: per table its columns
//! (in column order), then its constraints, indexes and triggers sorted by
//! line; then views and sequences. Names are compared byte-wise, not in the
//! catalog's case-insensitive collation, so the order never depends on it.

use std::collections::BTreeMap;

use sqlx::Row as _;
use sqlx::mysql::{MySqlConnection, MySqlRow};

use crate::schema::normalize_sql;

/// Objects of the current database the snapshot covers (not the runtime's own).
const MINE: &str = "TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT LIKE '\\_migrate%'";

#[derive(Default)]
struct TableLines {
    columns: Vec<String>,
    /// Constraints, indexes and triggers, sorted before output.
    others: Vec<String>,
}

type PerTable = BTreeMap<String, TableLines>;

/// The schema as normalized lines.
pub async fn schema(c: &mut MySqlConnection) -> std::result::Result<Vec<String>, sqlx::Error> {
    let mariadb = super::is_mariadb(c).await?;
    let database: Option<String> = sqlx::query_scalar("SELECT CAST(DATABASE() AS CHAR)")
        .fetch_one(&mut *c)
        .await?;
    let objects = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(TABLE_TYPE AS CHAR) FROM information_schema.TABLES WHERE {MINE}"
    )))
    .fetch_all(&mut *c)
    .await?;
    let mut tables: PerTable = BTreeMap::new();
    let mut sequences = Vec::new();
    for r in &objects {
        let (name, kind): (String, String) = (r.try_get(0)?, r.try_get(1)?);
        match kind.as_str() {
            "BASE TABLE" | "SYSTEM VERSIONED" => {
                tables.entry(name).or_default();
            }
            "SEQUENCE" => sequences.push(format!("sequence {name}")),
            _ => {}
        }
    }
    columns(c, &mut tables).await?;
    constraints(c, &mut tables, mariadb).await?;
    indexes(c, &mut tables).await?;
    triggers(c, &mut tables).await?;

    let mut lines = Vec::new();
    for (name, mut t) in tables {
        lines.push(format!("table {name}"));
        lines.append(&mut t.columns);
        t.others.sort();
        lines.append(&mut t.others);
    }
    lines.extend(views(c, database.as_deref()).await?);
    sequences.sort();
    lines.extend(sequences);
    Ok(lines)
}

fn text(r: &MySqlRow, i: usize) -> std::result::Result<String, sqlx::Error> {
    Ok(r.try_get::<Option<String>, _>(i)?.unwrap_or_default())
}

/// `  column name TYPE NULL|NOT NULL [DEFAULT x] [EXTRA]`, in column order.
async fn columns(
    c: &mut MySqlConnection,
    tables: &mut PerTable,
) -> std::result::Result<(), sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(COLUMN_NAME AS CHAR), CAST(UPPER(COLUMN_TYPE) AS CHAR), \
                CAST(IS_NULLABLE AS CHAR), CAST(COLUMN_DEFAULT AS CHAR), CAST(EXTRA AS CHAR), \
                CAST(GENERATION_EXPRESSION AS CHAR) \
         FROM information_schema.COLUMNS WHERE {MINE} ORDER BY TABLE_NAME, ORDINAL_POSITION"
    )))
    .fetch_all(&mut *c)
    .await?;
    for r in &rows {
        let table = text(r, 0)?;
        let Some(t) = tables.get_mut(&table) else {
            continue;
        };
        let (name, ty, nullable) = (text(r, 1)?, text(r, 2)?, text(r, 3)?);
        let default: Option<String> = r.try_get(4)?;
        let (extra, generated) = (text(r, 5)?, text(r, 6)?);
        let mut line = format!(
            "  column {name} {ty} {}",
            if nullable == "YES" {
                "NULL"
            } else {
                "NOT NULL"
            }
        );
        // MariaDB reports "no default" on a nullable column as the text NULL.
        if let Some(d) = default.filter(|d| d != "NULL")
            && generated.is_empty()
        {
            line.push_str(&format!(" DEFAULT {d}"));
        }
        let extra = extra.replace("DEFAULT_GENERATED", "");
        let extra = extra.trim();
        if !extra.is_empty() {
            line.push_str(&format!(" {}", extra.to_uppercase()));
        }
        if !generated.is_empty() {
            line.push_str(&format!(" AS ({})", normalize_sql(&generated)));
        }
        t.columns.push(line);
    }
    Ok(())
}

/// `  constraint name PRIMARY KEY (cols)`, `UNIQUE (cols)`,
/// `FOREIGN KEY (cols) REFERENCES t (cols) ON UPDATE x ON DELETE y`, `CHECK (clause)`.
async fn constraints(
    c: &mut MySqlConnection,
    tables: &mut PerTable,
    mariadb: bool,
) -> std::result::Result<(), sqlx::Error> {
    let keys = sqlx::query(
        "SELECT CAST(k.TABLE_NAME AS CHAR), CAST(k.CONSTRAINT_NAME AS CHAR), CAST(tc.CONSTRAINT_TYPE AS CHAR), \
                CAST(GROUP_CONCAT(k.COLUMN_NAME ORDER BY k.ORDINAL_POSITION SEPARATOR ', ') AS CHAR), \
                CAST(MAX(k.REFERENCED_TABLE_NAME) AS CHAR), \
                CAST(GROUP_CONCAT(k.REFERENCED_COLUMN_NAME ORDER BY k.ORDINAL_POSITION SEPARATOR ', ') AS CHAR), \
                CAST(MAX(rc.UPDATE_RULE) AS CHAR), CAST(MAX(rc.DELETE_RULE) AS CHAR) \
         FROM information_schema.KEY_COLUMN_USAGE k \
         JOIN information_schema.TABLE_CONSTRAINTS tc \
           ON tc.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND tc.TABLE_NAME = k.TABLE_NAME \
          AND tc.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
         LEFT JOIN information_schema.REFERENTIAL_CONSTRAINTS rc \
           ON rc.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND rc.TABLE_NAME = k.TABLE_NAME \
          AND rc.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
         WHERE k.TABLE_SCHEMA = DATABASE() \
         GROUP BY k.TABLE_NAME, k.CONSTRAINT_NAME, tc.CONSTRAINT_TYPE",
    )
    .fetch_all(&mut *c)
    .await?;
    for r in &keys {
        let table = text(r, 0)?;
        let Some(t) = tables.get_mut(&table) else {
            continue;
        };
        let (name, kind, cols) = (text(r, 1)?, text(r, 2)?, text(r, 3)?);
        let def = match kind.as_str() {
            "FOREIGN KEY" => format!(
                "FOREIGN KEY ({cols}) REFERENCES {} ({}) ON UPDATE {} ON DELETE {}",
                text(r, 4)?,
                text(r, 5)?,
                text(r, 6)?,
                text(r, 7)?
            ),
            other => format!("{other} ({cols})"),
        };
        t.others.push(format!("  constraint {name} {def}"));
    }
    // MariaDB names a column-level check after its column, so the same name
    // can appear in several tables: its catalog has the table, MySQL's does not.
    let checks_sql = if mariadb {
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(CONSTRAINT_NAME AS CHAR), CAST(CHECK_CLAUSE AS CHAR) \
         FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()"
    } else {
        "SELECT CAST(tc.TABLE_NAME AS CHAR), CAST(cc.CONSTRAINT_NAME AS CHAR), CAST(cc.CHECK_CLAUSE AS CHAR) \
         FROM information_schema.TABLE_CONSTRAINTS tc JOIN information_schema.CHECK_CONSTRAINTS cc \
           ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME \
         WHERE tc.CONSTRAINT_TYPE = 'CHECK' AND tc.TABLE_SCHEMA = DATABASE()"
    };
    // Servers older than MySQL 8.0.16 / MariaDB 10.2 have no CHECK catalog (nor enforce checks).
    let checks = sqlx::query(checks_sql)
        .fetch_all(&mut *c)
        .await
        .unwrap_or_default();
    for r in &checks {
        let table = text(r, 0)?;
        let Some(t) = tables.get_mut(&table) else {
            continue;
        };
        let (name, clause) = (text(r, 1)?, text(r, 2)?);
        t.others.push(format!(
            "  constraint {name} CHECK ({})",
            normalize_sql(&clause)
        ));
    }
    Ok(())
}

/// `  index name on t (cols) [using type] [unique]`; prefix lengths as
/// `col(n)`, descending columns as `col DESC`.
async fn indexes(
    c: &mut MySqlConnection,
    tables: &mut PerTable,
) -> std::result::Result<(), sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(INDEX_NAME AS CHAR), MIN(NON_UNIQUE) = 0, CAST(MAX(INDEX_TYPE) AS CHAR), \
                CAST(GROUP_CONCAT(CONCAT(COALESCE(COLUMN_NAME, '<expr>'), \
                                         IF(SUB_PART IS NULL, '', CONCAT('(', SUB_PART, ')')), \
                                         IF(COLLATION = 'D', ' DESC', '')) \
                                  ORDER BY SEQ_IN_INDEX SEPARATOR ', ') AS CHAR) \
         FROM information_schema.STATISTICS WHERE {MINE} GROUP BY TABLE_NAME, INDEX_NAME"
    )))
    .fetch_all(&mut *c)
    .await?;
    for r in &rows {
        let table = text(r, 0)?;
        let Some(t) = tables.get_mut(&table) else {
            continue;
        };
        let name = text(r, 1)?;
        let unique: bool = r.try_get::<i64, _>(2)? != 0;
        let (method, cols) = (text(r, 3)?, text(r, 4)?);
        let mut line = format!("  index {name} on {table} ({cols})");
        if method != "BTREE" {
            line.push_str(&format!(" using {}", method.to_lowercase()));
        }
        if unique {
            line.push_str(" unique");
        }
        t.others.push(line);
    }
    Ok(())
}

/// `  trigger name on t: BEFORE INSERT FOR EACH ROW statement`.
async fn triggers(
    c: &mut MySqlConnection,
    tables: &mut PerTable,
) -> std::result::Result<(), sqlx::Error> {
    let rows = sqlx::query(
        "SELECT CAST(EVENT_OBJECT_TABLE AS CHAR), CAST(TRIGGER_NAME AS CHAR), CAST(ACTION_TIMING AS CHAR), \
                CAST(EVENT_MANIPULATION AS CHAR), CAST(ACTION_STATEMENT AS CHAR) \
         FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()",
    )
    .fetch_all(&mut *c)
    .await?;
    for r in &rows {
        let table = text(r, 0)?;
        let Some(t) = tables.get_mut(&table) else {
            continue;
        };
        t.others.push(format!(
            "  trigger {} on {table}: {} {} FOR EACH ROW {}",
            text(r, 1)?,
            text(r, 2)?,
            text(r, 3)?,
            normalize_sql(&text(r, 4)?)
        ));
    }
    Ok(())
}

/// `view v: select ...`, with the database's own name taken out of the
/// definition so that copies under another name (staging, a restore) compare equal.
async fn views(
    c: &mut MySqlConnection,
    database: Option<&str>,
) -> std::result::Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(VIEW_DEFINITION AS CHAR) FROM information_schema.VIEWS WHERE {MINE}"
    )))
    .fetch_all(&mut *c)
    .await?;
    let qualifier = database.map(|d| format!("{}.", super::quote_ident(d)));
    let mut lines = rows
        .iter()
        .map(|r| {
            let (name, def) = (text(r, 0)?, text(r, 1)?);
            let def = match &qualifier {
                Some(q) => def.replace(q.as_str(), ""),
                None => def,
            };
            Ok(format!("view {name}: {}", normalize_sql(&def)))
        })
        .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?;
    lines.sort();
    Ok(lines)
}
