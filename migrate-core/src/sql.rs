//! Splitting a SQL script into statements, aware of quotes, comments and
//! PostgreSQL dollar quoting, so that each statement is run and recorded alone.

/// Splits `script` at top-level semicolons; empty statements are dropped.
///
/// ```
/// let parts = migrate_core::sql::split("CREATE TABLE a (x TEXT DEFAULT ';'); -- c;\nDROP TABLE b;");
/// assert_eq!(parts, vec!["CREATE TABLE a (x TEXT DEFAULT ';')", "-- c;\nDROP TABLE b"]);
/// ```
pub fn split(script: &str) -> Vec<String> {
    let bytes = script.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut depth_begin = 0usize;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' | b'"' | b'`' => {
                let q = bytes[i];
                i += 1;
                while i < bytes.len() {
                    if bytes[i] == q {
                        if i + 1 < bytes.len() && bytes[i + 1] == q {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    if bytes[i] == b'\\' && q != b'"' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'$' => {
                // $tag$ ... $tag$
                let tag_end = bytes[i + 1..]
                    .iter()
                    .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_'))
                    .map(|p| i + 1 + p);
                match tag_end {
                    Some(e)
                        if bytes[e] == b'$'
                            && !bytes[i + 1..e].first().is_some_and(u8::is_ascii_digit) =>
                    {
                        let tag = &script[i..=e];
                        match script[e + 1..].find(tag) {
                            Some(p) => i = e + 1 + p + tag.len(),
                            None => i = bytes.len(),
                        }
                    }
                    _ => i += 1,
                }
            }
            b';' if depth_begin == 0 => {
                push(&mut out, &script[start..i]);
                i += 1;
                start = i;
            }
            c if c.is_ascii_alphabetic() => {
                // Track BEGIN ... END blocks of SQLite/MySQL triggers.
                let s = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                let word = &script[s..i];
                if word.eq_ignore_ascii_case("trigger") && statement_is_create(&script[start..s]) {
                    depth_begin = usize::MAX / 2;
                } else if word.eq_ignore_ascii_case("end") && depth_begin > 0 {
                    depth_begin = 0;
                }
            }
            _ => i += 1,
        }
    }
    push(&mut out, &script[start.min(script.len())..]);
    out
}

fn statement_is_create(head: &str) -> bool {
    head.trim_start().to_ascii_lowercase().starts_with("create")
}

fn push(out: &mut Vec<String>, stmt: &str) {
    let t = stmt.trim();
    let only_comments = t
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with("--"));
    if !t.is_empty() && !only_comments {
        out.push(t.to_string());
    }
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
        assert_eq!(split("A; B;C"), vec!["A", "B", "C"]);
        assert!(split(" ; ;\n").is_empty());
    }

    #[test]
    fn keeps_quoted_semicolons() {
        assert_eq!(
            split("INSERT INTO t VALUES ('a;b', 'it''s;');X"),
            vec!["INSERT INTO t VALUES ('a;b', 'it''s;')", "X"]
        );
    }

    #[test]
    fn keeps_dollar_quoted_bodies() {
        let s = "DO $$ BEGIN PERFORM 1; END $$; SELECT 1";
        assert_eq!(split(s), vec!["DO $$ BEGIN PERFORM 1; END $$", "SELECT 1"]);
        assert_eq!(split("SELECT $1; SELECT 2"), vec!["SELECT $1", "SELECT 2"]);
    }

    #[test]
    fn keeps_trigger_bodies() {
        let s = "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE b SET x = 1; END; SELECT 1";
        assert_eq!(split(s).len(), 2);
    }

    #[test]
    fn comments_do_not_split() {
        assert_eq!(split("/* ; */ A; -- ;\n"), vec!["/* ; */ A"]);
    }
}
