//! The splitter per dialect: examples from real migration histories, and
//! properties over generated scripts.

use proptest::prelude::*;

use crate::{Dialect, split, split_spans};

const PG: Dialect = Dialect::Postgres;
const MY: Dialect = Dialect::MySql;
const LITE: Dialect = Dialect::Sqlite;

#[test]
fn postgres_trigger_without_end_does_not_swallow_what_follows() {
    let s = "CREATE TRIGGER t BEFORE UPDATE ON a FOR EACH ROW EXECUTE PROCEDURE f();\n\
             ALTER TABLE a ADD COLUMN x INT;\nCREATE TABLE b (end_at INT)";
    assert_eq!(
        split(s, PG),
        [
            "CREATE TRIGGER t BEFORE UPDATE ON a FOR EACH ROW EXECUTE PROCEDURE f()",
            "ALTER TABLE a ADD COLUMN x INT",
            "CREATE TABLE b (end_at INT)",
        ]
    );
}

#[test]
fn postgres_trigger_function_body_is_one_statement() {
    let f = "CREATE FUNCTION touch() RETURNS trigger AS $$ BEGIN NEW.at = now(); RETURN NEW; END; $$ LANGUAGE plpgsql";
    let s = format!("{f};\nCREATE INDEX CONCURRENTLY a_at_idx ON a (at);");
    assert_eq!(
        split(&s, PG),
        [f, "CREATE INDEX CONCURRENTLY a_at_idx ON a (at)"]
    );
}

#[test]
fn postgres_do_block_is_one_statement() {
    let s = "DO $$ BEGIN PERFORM 1; END $$; SELECT 1";
    assert_eq!(split(s, PG), ["DO $$ BEGIN PERFORM 1; END $$", "SELECT 1"]);
}

#[test]
fn postgres_dollar_tags_close_only_on_their_own_tag() {
    let f = "CREATE FUNCTION g() RETURNS text AS $body$ SELECT $$;$$; $body$ LANGUAGE sql";
    assert_eq!(split(&format!("{f}; SELECT 2"), PG), [f, "SELECT 2"]);
}

#[test]
fn postgres_positional_parameters_are_not_dollar_quotes() {
    assert_eq!(
        split("SELECT $1; SELECT $2", PG),
        ["SELECT $1", "SELECT $2"]
    );
}

#[test]
fn postgres_backslash_escapes_only_in_e_strings() {
    assert_eq!(
        split("INSERT INTO t VALUES ('C:\\'); DROP TABLE other;", PG),
        ["INSERT INTO t VALUES ('C:\\')", "DROP TABLE other"]
    );
    assert_eq!(
        split("SELECT E'a\\'b;c'; SELECT e'\\\\'; SELECT 3", PG),
        ["SELECT E'a\\'b;c'", "SELECT e'\\\\'", "SELECT 3"]
    );
}

#[test]
fn postgres_block_comments_nest() {
    assert_eq!(
        split("/* a /* b; */ c; */ SELECT 1; SELECT 2", PG),
        ["/* a /* b; */ c; */ SELECT 1", "SELECT 2"]
    );
}

#[test]
fn comments_holding_semicolons_do_not_split() {
    for d in Dialect::ALL {
        assert_eq!(
            split("/* ; */ A; -- ;\nB; -- only a comment;\n", d),
            ["/* ; */ A", "-- ;\nB"],
            "{d:?}"
        );
    }
}

#[test]
fn comment_only_pieces_are_dropped() {
    for d in Dialect::ALL {
        assert!(split(" ; /* c */ ;\n-- x\n", d).is_empty(), "{d:?}");
    }
}

#[test]
fn mysql_trigger_body_without_delimiter_is_one_statement() {
    let t = "CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN\n  IF NEW.x < 0 THEN SET NEW.x = 0; END IF;\n  BEGIN SET @n = 1; END;\nEND";
    assert_eq!(split(&format!("{t};\nSELECT 1;"), MY), [t, "SELECT 1"]);
}

#[test]
fn mysql_procedure_with_nested_blocks_is_one_statement() {
    let p = "CREATE DEFINER=`root`@`%` PROCEDURE p(IN n INT) BEGIN\n\
             DECLARE i INT DEFAULT 0;\n\
             w: WHILE i < n DO SET i = i + 1; END WHILE;\n\
             REPEAT SET i = i - 1; UNTIL i = 0 END REPEAT;\n\
             l: LOOP LEAVE l; END LOOP;\n\
             CASE i WHEN 0 THEN SELECT IF(i = 0, 'a', 'b'); ELSE BEGIN SELECT 2; END; END CASE;\n\
             SELECT CASE WHEN i > 0 THEN 1 ELSE 0 END;\n\
             END";
    assert_eq!(
        split(&format!("{p}; DROP TABLE x"), MY),
        [p, "DROP TABLE x"]
    );
}

#[test]
fn mysql_function_without_body_block_ends_at_its_semicolon() {
    assert_eq!(
        split("CREATE FUNCTION f() RETURNS INT RETURN 1; SELECT f()", MY),
        ["CREATE FUNCTION f() RETURNS INT RETURN 1", "SELECT f()"]
    );
}

#[test]
fn mysql_backslash_escapes_quotes() {
    assert_eq!(
        split(r#"INSERT INTO t VALUES ('it\'s;', "a\";b"); SELECT 2"#, MY),
        [r#"INSERT INTO t VALUES ('it\'s;', "a\";b")"#, "SELECT 2"]
    );
}

#[test]
fn mysql_hash_comments_and_backticks() {
    assert_eq!(
        split("SELECT `a;b` FROM t # c;\n; SELECT 2", MY),
        ["SELECT `a;b` FROM t # c;", "SELECT 2"]
    );
}

#[test]
fn sqlite_trigger_body_is_one_statement() {
    let t = "CREATE TEMP TRIGGER t AFTER INSERT ON a BEGIN UPDATE b SET x = CASE WHEN 1 THEN 2 END; DELETE FROM c; END";
    assert_eq!(split(&format!("{t}; SELECT 1"), LITE), [t, "SELECT 1"]);
}

#[test]
fn sqlite_backslash_does_not_escape() {
    assert_eq!(
        split("INSERT INTO t VALUES ('C:\\'); SELECT [a;b] FROM t", LITE),
        ["INSERT INTO t VALUES ('C:\\')", "SELECT [a;b] FROM t"]
    );
}

#[test]
fn begin_outside_a_trigger_is_a_transaction() {
    for d in Dialect::ALL {
        assert_eq!(
            split("BEGIN; SELECT 1; END;", d),
            ["BEGIN", "SELECT 1", "END"]
        );
    }
}

#[test]
fn unterminated_quotes_run_to_the_end() {
    for d in Dialect::ALL {
        assert_eq!(split("SELECT 'a; SELECT 2", d), ["SELECT 'a; SELECT 2"]);
    }
}

/// A string literal holding `raw`, written so that `dialect` reads it back.
fn literal(raw: &str, dialect: Dialect) -> String {
    match dialect {
        Dialect::MySql => format!("'{}'", raw.replace('\\', "\\\\").replace('\'', "\\'")),
        Dialect::Postgres if raw.contains('\\') && raw.len().is_multiple_of(2) => {
            format!("E'{}'", raw.replace('\\', "\\\\").replace('\'', "\\'"))
        }
        _ => format!("'{}'", raw.replace('\'', "''")),
    }
}

fn dialect() -> impl Strategy<Value = Dialect> {
    prop_oneof![Just(PG), Just(MY), Just(LITE)]
}

/// A simple statement: an insert of generated literals, maybe behind comments.
fn statement(d: Dialect) -> impl Strategy<Value = String> {
    (
        "[a-z][a-z0-9_]{0,8}",
        prop::collection::vec("[a-z ;'\"\\\\$]{0,10}", 1..4),
        prop::option::of("[a-z ;']{0,8}"),
        any::<bool>(),
    )
        .prop_map(move |(table, values, comment, block)| {
            let values: Vec<String> = values.iter().map(|v| literal(v, d)).collect();
            let body = format!("INSERT INTO {table} VALUES ({})", values.join(", "));
            match comment {
                Some(c) if block => format!("/* {} */ {body}", c.replace('*', "")),
                Some(c) => format!("-- {c}\n{body}"),
                None => body,
            }
        })
}

fn script() -> impl Strategy<Value = (Dialect, Vec<String>)> {
    dialect().prop_flat_map(|d| (Just(d), prop::collection::vec(statement(d), 1..6)))
}

proptest! {
    #[test]
    fn joined_statements_split_back((d, stmts) in script(), trailing in any::<bool>()) {
        let mut s = stmts.join(";\n");
        if trailing {
            s.push(';');
        }
        prop_assert_eq!(split(&s, d), stmts);
    }

    #[test]
    fn pieces_are_ordered_substrings_of_the_input(s in "[a-zA-Z $;'\"`\\\\/*\\-\n#\\[\\]]{0,60}", d in dialect()) {
        let spans = split_spans(&s, d);
        let mut last = 0;
        for r in &spans {
            prop_assert!(r.start >= last && r.end <= s.len() && r.start < r.end);
            last = r.end;
        }
        let pieces: Vec<&str> = spans.iter().map(|r| &s[r.clone()]).collect();
        prop_assert_eq!(split(&s, d), pieces);
    }

    #[test]
    fn splitting_a_piece_again_yields_it(s in "[a-zA-Z $;'\"`\\\\/*\\-\n#\\[\\]]{0,60}", d in dialect()) {
        for piece in split(&s, d) {
            prop_assert_eq!(split(&piece, d), vec![piece.clone()]);
        }
    }

    #[test]
    fn splitting_a_generated_script_is_idempotent((d, stmts) in script()) {
        for piece in split(&stmts.join(";"), d) {
            prop_assert_eq!(split(&piece, d), vec![piece.clone()]);
        }
    }
}
