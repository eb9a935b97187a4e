//! Splitting a SQL script into statements by the backend's lexical rules
//! (the shared `migrate_sql` splitter), so that each statement is run and
//! recorded alone, and the one-line and table-name views of a statement.

use crate::url::Backend;

/// Splits `script` at top-level semicolons by `backend`'s lexical rules
/// (see [`migrate_sql::split`]); empty and comment-only statements are dropped.
///
/// ```
/// use migrate_core::url::Backend;
/// let parts = migrate_core::sql::split("CREATE TABLE a (x TEXT DEFAULT ';'); -- c;\nDROP TABLE b;", Backend::Sqlite);
/// assert_eq!(parts, vec!["CREATE TABLE a (x TEXT DEFAULT ';')", "-- c;\nDROP TABLE b"]);
/// ```
pub fn split(script: &str, backend: Backend) -> Vec<String> {
    migrate_sql::split(script, backend.sql_dialect())
}

/// The first line of a statement, shortened for one-line reports.
pub fn one_line(sql: &str, max: usize) -> String {
    let flat: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// The tables a statement names, by a plain scan: the identifier after
/// `TABLE`, `ON`, `INTO`, `UPDATE`, `FROM` or `JOIN` (skipping `IF [NOT]
/// EXISTS`, `ONLY`), quotes removed, schema kept. Good enough to ask the
/// server who holds locks on them; not a parser.
///
/// ```
/// let t = migrate_core::sql::relations("ALTER TABLE IF EXISTS \"Shop\".orders ADD COLUMN x INT");
/// assert_eq!(t, vec!["\"Shop\".orders"]);
/// ```
pub fn relations(sql: &str) -> Vec<String> {
    const BEFORE: [&str; 6] = ["TABLE", "ON", "INTO", "UPDATE", "FROM", "JOIN"];
    const SKIP: [&str; 4] = ["IF", "NOT", "EXISTS", "ONLY"];
    let words: Vec<&str> = sql
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',' || c == ';')
        .filter(|w| !w.is_empty())
        .collect();
    let mut out: Vec<String> = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if !BEFORE.iter().any(|k| w.eq_ignore_ascii_case(k)) {
            continue;
        }
        let Some(name) = words[i + 1..]
            .iter()
            .find(|n| !SKIP.iter().any(|k| n.eq_ignore_ascii_case(k)))
        else {
            continue;
        };
        let plain = name.replace('`', "");
        let is_ident = plain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '"' || c == '$');
        if is_ident && !plain.is_empty() && !out.contains(&plain) {
            out.push(plain);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{relations, split};
    use crate::url::Backend;

    fn split_sqlite(script: &str) -> Vec<String> {
        split(script, Backend::Sqlite)
    }

    #[test]
    fn relations_are_the_names_after_table_keywords() {
        assert_eq!(
            relations("CREATE UNIQUE INDEX CONCURRENTLY i ON items (v)"),
            vec!["items"]
        );
        assert_eq!(
            relations("INSERT INTO a SELECT * FROM b JOIN `c` ON b.id = c.id"),
            vec!["a", "b", "c", "b.id"]
        );
        assert_eq!(
            relations("LOCK TABLE t IN ACCESS EXCLUSIVE MODE"),
            vec!["t"]
        );
        assert!(relations("SELECT 1").is_empty());
    }

    #[test]
    fn splits_plain_statements() {
        assert_eq!(split_sqlite("A; B;C"), vec!["A", "B", "C"]);
        assert!(split_sqlite(" ; ;\n").is_empty());
    }

    #[test]
    fn keeps_quoted_semicolons() {
        assert_eq!(
            split_sqlite("INSERT INTO t VALUES ('a;b', 'it''s;');X"),
            vec!["INSERT INTO t VALUES ('a;b', 'it''s;')", "X"]
        );
    }

    #[test]
    fn keeps_dollar_quoted_bodies() {
        let s = "DO $$ BEGIN PERFORM 1; END $$; SELECT 1";
        assert_eq!(
            split(s, Backend::Postgres),
            vec!["DO $$ BEGIN PERFORM 1; END $$", "SELECT 1"]
        );
        assert_eq!(
            split_sqlite("SELECT $1; SELECT 2"),
            vec!["SELECT $1", "SELECT 2"]
        );
    }

    #[test]
    fn keeps_trigger_bodies() {
        let s = "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE b SET x = 1; END; SELECT 1";
        assert_eq!(split_sqlite(s).len(), 2);
    }

    #[test]
    fn comments_do_not_split() {
        assert_eq!(split_sqlite("/* ; */ A; -- ;\n"), vec!["/* ; */ A"]);
    }
}
