//! The decision rule on a corpus: valid statements of the three dialects,
//! many of which sqlparser does not parse, are never errors; clear typos are.

use sqlparser::dialect::{Dialect, GenericDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::tokenizer::{Token, Tokenizer};

use super::{problems, sql_literals, verdict};

/// Valid statements; sqlparser rejects some of them in every dialect.
const VALID: &[&str] = &[
    // PostgreSQL
    "CREATE TABLE users (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    "CREATE INDEX CONCURRENTLY users_email_idx ON users (email)",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email)",
    "CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (lower(email)) WHERE deleted_at IS NULL",
    "DROP INDEX CONCURRENTLY users_email_idx",
    "DROP INDEX CONCURRENTLY IF EXISTS users_email_idx",
    "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'mood') THEN CREATE TYPE mood AS ENUM ('sad', 'ok'); END IF; END $$",
    "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID",
    "ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk",
    "ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID",
    "ALTER TABLE users ALTER COLUMN email SET NOT NULL",
    "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key",
    "ALTER TABLE users ALTER COLUMN name TYPE VARCHAR(200) USING name::varchar(200)",
    "CREATE EXTENSION IF NOT EXISTS pgcrypto",
    "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
    "ALTER TYPE mood ADD VALUE 'ecstatic'",
    "CREATE OR REPLACE FUNCTION touch() RETURNS trigger AS $$ BEGIN NEW.updated_at = now(); RETURN NEW; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch()",
    "INSERT INTO users (email) VALUES ('a@b.c') ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email",
    "INSERT INTO users (email) VALUES ('a@b.c') ON CONFLICT DO NOTHING RETURNING id",
    "UPDATE orders o SET total = l.sum FROM (SELECT order_id, sum(amount) AS sum FROM lines GROUP BY order_id) l WHERE l.order_id = o.id",
    "COMMENT ON COLUMN users.email IS 'login, unique'",
    "VACUUM ANALYZE users",
    "CLUSTER users USING users_pkey",
    "REINDEX INDEX CONCURRENTLY users_email_idx",
    "CREATE TABLE events (id BIGINT GENERATED ALWAYS AS IDENTITY, at TIMESTAMPTZ NOT NULL, EXCLUDE USING gist (tstzrange(at, at) WITH &&))",
    "CREATE TABLE prices (amount NUMERIC(12, 2), tax NUMERIC(12, 2) GENERATED ALWAYS AS (amount * 0.2) STORED)",
    "SELECT pg_advisory_lock(42)",
    "LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE",
    "CREATE MATERIALIZED VIEW totals AS SELECT user_id, count(*) FROM orders GROUP BY user_id",
    "REFRESH MATERIALIZED VIEW CONCURRENTLY totals",
    "ANALYSE users",
    "SET lock_timeout = '2s'",
    // MariaDB / MySQL
    "ALTER TABLE orders ADD COLUMN note VARCHAR(200) NULL, ALGORITHM=INPLACE, LOCK=NONE",
    "ALTER TABLE orders ADD INDEX orders_user_idx (user_id), ALGORITHM=INPLACE, LOCK=NONE",
    "CREATE INDEX orders_user_idx ON orders (user_id) ALGORITHM=INPLACE LOCK=NONE",
    "ALTER TABLE users MODIFY COLUMN name VARCHAR(200) NOT NULL, ALGORITHM=INPLACE, LOCK=NONE",
    "ALTER TABLE users CHANGE COLUMN name full_name VARCHAR(200) NOT NULL",
    "CREATE TABLE `order lines` (`id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, total DECIMAL(10,2) AS (qty * price) STORED) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    "INSERT INTO counters (name, n) VALUES ('a', 1) ON DUPLICATE KEY UPDATE n = n + 1",
    "INSERT INTO notes (body) VALUES ('it\\'s fine')",
    "CREATE TRIGGER orders_bi BEFORE INSERT ON orders FOR EACH ROW SET NEW.created_at = NOW()",
    "OPTIMIZE TABLE orders",
    "RENAME TABLE orders TO orders_old",
    "ALTER TABLE users ADD FULLTEXT INDEX users_bio (bio)",
    // SQLite
    "PRAGMA foreign_keys = ON",
    "PRAGMA journal_mode = WAL",
    "CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID",
    "CREATE TRIGGER kv_touch AFTER UPDATE ON kv BEGIN UPDATE kv SET v = v WHERE k = NEW.k; END",
    "INSERT OR REPLACE INTO kv (k, v) VALUES ('a', 'b')",
    "CREATE TABLE boxes (w INT, h INT, area INT GENERATED ALWAYS AS (w * h) VIRTUAL)",
    "VACUUM",
    "ATTACH DATABASE 'other.db' AS other",
    "REINDEX kv",
    "ALTER TABLE kv RENAME COLUMN v TO value",
    // Comments, strings that look wrong, quoted identifiers.
    "-- a comment (with a paren\nSELECT 1",
    "SELECT 'a, ) ( , FROM' AS text",
    "SELECT \"select\", `from` FROM t",
    // More vendor syntax, to keep the rule honest.
    "CREATE INDEX CONCURRENTLY orders_user_idx ON orders (user_id) INCLUDE (total)",
    "ALTER TABLE orders SET (fillfactor = 70)",
    "CREATE TABLE orders_2024 PARTITION OF orders FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
    "ALTER TABLE orders ATTACH PARTITION orders_2024 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
    "GRANT SELECT ON ALL TABLES IN SCHEMA public TO app",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO app",
    "CREATE POLICY own_rows ON orders USING (user_id = current_setting('app.user')::bigint)",
    "SECURITY LABEL ON TABLE orders IS 'classified'",
    "COPY orders (id, total) FROM STDIN WITH (FORMAT csv)",
    "CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email) NULLS NOT DISTINCT",
    "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE NULLS NOT DISTINCT (email)",
    "ALTER TABLE users REPLICA IDENTITY FULL",
    "CREATE SEQUENCE order_no START 1000 INCREMENT 1 CACHE 20",
    "SELECT setval('order_no', (SELECT max(no) FROM orders))",
    "ALTER TABLE users ALTER COLUMN email SET STATISTICS 1000",
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 10) INSERT INTO nums SELECT n FROM t",
    "DELETE FROM orders o USING users u WHERE o.user_id = u.id AND u.deleted",
    "UPDATE docs SET data = data || '{\"a\": 1}'::jsonb WHERE data ? 'b' AND data #>> '{c,d}' = 'e'",
    "CREATE INDEX CONCURRENTLY docs_data_idx ON docs USING gin (data jsonb_path_ops)",
    "ALTER TABLE orders ADD COLUMN id2 uuid NOT NULL DEFAULT gen_random_uuid()",
    "REASSIGN OWNED BY old_role TO new_role",
    "CHECKPOINT",
    "ALTER TABLE t ADD COLUMN c INT AFTER b, ALGORITHM=INSTANT",
    "ALTER TABLE orders DROP FOREIGN KEY orders_user_fk",
    "ALTER ONLINE TABLE orders ADD INDEX orders_total_idx (total)",
    "ALTER TABLE orders ENGINE=InnoDB",
    "CREATE TABLE logs (y INT) PARTITION BY RANGE (y) (PARTITION p0 VALUES LESS THAN (2000), PARTITION p1 VALUES LESS THAN MAXVALUE)",
    "SET SESSION lock_wait_timeout = 5",
    "SELECT GET_LOCK('deploy', 10)",
    "CREATE PROCEDURE bump() BEGIN UPDATE counters SET n = n + 1; SELECT n FROM counters; END",
    "CREATE EVENT purge ON SCHEDULE EVERY 1 DAY DO DELETE FROM logs WHERE y < 2000",
    "ALTER TABLE users ADD COLUMN full_name VARCHAR(200) AS (CONCAT(first, ' ', last)) VIRTUAL",
    "CREATE VIRTUAL TABLE docs USING fts5(title, body)",
    "INSERT INTO kv (k, v) VALUES ('a', 'b') ON CONFLICT (k) DO UPDATE SET v = excluded.v",
    "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, x TEXT COLLATE NOCASE) STRICT",
    "DETACH DATABASE other",
    "SELECT json_extract(v, '$.a') FROM kv",
    // Statement keyword pairs inside one valid statement.
    "CREATE SCHEMA s CREATE TABLE t (id int)",
    "CREATE SCHEMA s AUTHORIZATION app CREATE TABLE t (id int) CREATE VIEW v AS SELECT id FROM t",
    "WITH d AS (DELETE FROM a RETURNING *) INSERT INTO b SELECT * FROM d",
    "CREATE RULE r AS ON INSERT TO a DO INSTEAD INSERT INTO b VALUES (NEW.id)",
    "CREATE OR REPLACE RULE r AS ON UPDATE TO a DO ALSO UPDATE b SET x = NEW.x",
    "INSERT INTO a (x) SELECT x FROM b ON CONFLICT (x) DO UPDATE SET x = EXCLUDED.x",
    "ALTER TABLE a DROP COLUMN b, ALTER COLUMN c TYPE text",
    "CREATE TABLE a (b int REFERENCES c ON DELETE CASCADE ON UPDATE CASCADE)",
    "GRANT INSERT, UPDATE, DELETE ON a TO r",
    "GRANT CREATE VIEW, DROP ON db.* TO app",
    "SHOW CREATE TABLE a",
    "CREATE TRIGGER t BEFORE UPDATE ON a FOR EACH ROW EXECUTE FUNCTION f()",
    "CREATE TRIGGER t AFTER INSERT ON a FOR EACH ROW INSERT INTO log VALUES (NEW.id)",
    "CREATE DEFINER = CURRENT_USER TRIGGER t AFTER DELETE ON a FOR EACH ROW DELETE FROM b WHERE b.a = OLD.id",
    "CREATE TRIGGER t AFTER INSERT ON a BEGIN INSERT INTO log VALUES (NEW.id); UPDATE b SET n = n + 1; END",
    "INSERT INTO a VALUES (1) ON DUPLICATE KEY UPDATE x = 1",
    "PREPARE p AS INSERT INTO a VALUES ($1)",
    "CREATE POLICY p ON a FOR UPDATE USING (true)",
    "SELECT * FROM a FOR UPDATE",
    "EXPLAIN ANALYZE INSERT INTO a SELECT * FROM b",
    "MERGE INTO a USING b ON a.id = b.id WHEN MATCHED THEN UPDATE SET x = b.x WHEN NOT MATCHED THEN INSERT (id, x) VALUES (b.id, b.x)",
    "ALTER TABLE orders DROP INDEX orders_user_idx, ADD INDEX orders_user_idx2 (user_id)",
    "ALTER EXTENSION e DROP TABLE t",
    "ALTER PUBLICATION p DROP TABLE a",
    "CREATE TEMP TABLE t (x int) ON COMMIT DROP",
    "CREATE EVENT purge ON SCHEDULE EVERY 1 DAY DO DELETE FROM logs WHERE y < 2000",
    "CREATE FUNCTION f() RETURNS void LANGUAGE sql BEGIN ATOMIC INSERT INTO a VALUES (1); DELETE FROM b; END",
    "CREATE PROCEDURE p() BEGIN IF 1 THEN UPDATE a SET x = 1; ELSE DELETE FROM a; END IF; END",
    "BEGIN NOT ATOMIC DECLARE CONTINUE HANDLER FOR SQLEXCEPTION INSERT INTO log VALUES (1); INSERT INTO a VALUES (1); END",
    "CREATE VIEW v AS SELECT 'ALTER TABLE a' AS \"INSERT INTO\" FROM a -- DROP TABLE a\n",
    "DO $$ BEGIN ALTER TABLE a DROP CONSTRAINT a_pkey; END $$",
    "CREATE TABLE a (id int); CREATE INDEX a_idx ON a (id)",
];

/// Clear mistakes: each must be an error.
const INVALID: &[&str] = &[
    "CRATE TABLE users (id INT)",
    "SELEC id FROM users",
    "INSRT INTO users (id) VALUES (1)",
    "ALTR TABLE users ADD COLUMN name TEXT",
    "DELET FROM users WHERE id = 1",
    "CREATE TABEL users (id INT)",
    "INSERT INTO users (name) VALUES ('ann)",
    "CREATE TABLE users (id INT, name TEXT,)",
    "SELECT id, name, FROM users",
    "INSERT INTO users (id, name) VALUES (1, 'a'",
    "UPDATE users SET name = 'a' WHERE id IN (1, 2,)",
    "SELECT \"unclosed FROM users",
    "ALTER TABLE a DROP CONSTRAINT a_pkey ALTER TABLE a ADD PRIMARY KEY (id)",
    "CREATE TABLE a (id int) CREATE INDEX a_idx ON a (id)",
    "INSERT INTO a VALUES (1) INSERT INTO a VALUES (2)",
    "UPDATE a SET x = 1 DELETE FROM b",
    "DROP TABLE a DROP TABLE b",
    "CREATE INDEX i ON a (x) ALTER TABLE a ADD COLUMN y int",
    "DELETE FROM a WHERE id = 1 UPDATE b SET x = 2",
    "CREATE TABLE a (id int) COMMENT ON TABLE a IS 'x'",
    "ALTER TABLE a ADD COLUMN b int CREATE UNIQUE INDEX a_b ON a (b)",
];

#[test]
fn valid_statements_are_never_errors() {
    for sql in VALID {
        assert_eq!(verdict::problem(sql), None, "{sql}");
    }
}

#[test]
fn valid_statements_never_hold_a_missing_semicolon_in_any_dialect() {
    // Stricter than the verdict, which is reached only when no dialect parses.
    for sql in VALID {
        for dialect in [
            &PostgreSqlDialect {} as &dyn Dialect,
            &MySqlDialect {},
            &SQLiteDialect {},
            &GenericDialect {},
        ] {
            let Ok(tokens) = Tokenizer::new(dialect, sql).tokenize() else {
                continue;
            };
            let tokens: Vec<Token> = tokens
                .into_iter()
                .filter(|t| !matches!(t, Token::Whitespace(_)))
                .collect();
            assert_eq!(
                verdict::missing_semicolon(&tokens),
                None,
                "{dialect:?}: {sql}"
            );
        }
    }
}

#[test]
fn clear_mistakes_are_errors() {
    for sql in INVALID {
        assert!(verdict::problem(sql).is_some(), "not reported: {sql}");
    }
}

#[test]
fn a_misspelt_keyword_gets_a_suggestion() {
    let problem = verdict::problem("CRATE TABLE users (id INT)").expect("an error");
    assert_eq!(
        problem.hint.as_deref(),
        Some("`CRATE` is not a SQL keyword: did you mean `CREATE`?")
    );
    assert!(
        problem.message.contains("found: CRATE"),
        "{}",
        problem.message
    );
}

#[test]
fn a_misspelt_clause_keyword_taken_for_an_alias_is_named() {
    for (sql, hint) in [
        (
            "SELECT count(*) FORM orders WHERE total_cents < 0",
            "`FORM` is not a SQL keyword: did you mean `FROM`?",
        ),
        (
            "SELECT id FROM orders WEHRE total_cents < 0",
            "`WEHRE` is not a SQL keyword: did you mean `WHERE`?",
        ),
    ] {
        let problem = verdict::problem(sql).expect("an error");
        assert_eq!(problem.hint.as_deref(), Some(hint), "{sql}");
    }
}

#[test]
fn a_stray_comma_is_named() {
    let problem = verdict::problem("SELECT id, name, FROM users").expect("an error");
    assert_eq!(
        problem.hint.as_deref(),
        Some("remove the comma before `FROM`")
    );
}

#[test]
fn an_unterminated_string_is_an_error_in_every_dialect() {
    let problem = verdict::problem("INSERT INTO t (a) VALUES ('x)").expect("an error");
    assert!(
        problem.message.contains("nterminated"),
        "{}",
        problem.message
    );
}

#[test]
fn a_script_is_checked_statement_by_statement() {
    let script = "CREATE TABLE a (x INT);\nDO $$ BEGIN PERFORM 1; END $$;\nSELEC 1;";
    let found = problems("execute_many", script);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].1, "SELEC 1");
}

#[test]
fn a_script_is_an_error_only_when_every_dialect_cuts_it_into_an_error() {
    // PostgreSQL reads `'C:\'` as a whole string; MySQL reads on to the
    // next quote and so sees one statement holding an unterminated string.
    assert!(
        problems(
            "execute_many",
            "INSERT INTO t VALUES ('C:\\'); DROP TABLE o"
        )
        .is_empty()
    );
    // Every dialect cuts this one at the semicolon, and `SELEC` is a typo.
    assert_eq!(problems("execute_many", "SELECT 1; SELEC 2").len(), 1);
}

#[test]
fn only_whole_literal_arguments_of_sql_methods_are_checked() {
    let body: proc_macro2::TokenStream = quote::quote! {{
        db.execute("SELECT 1").await?;
        self.conn().fetch_i64("SELECT 2").await?;
        tokio::try_join!(a.execute_many("SELECT 3"));
        db.execute_many(
            r#"SELECT 4"#,
        ).await?;
        db.execute("SELECT 5", 6).await?;
        db.execute(&format!("SELECT {}", 4)).await?;
        db.execute(concat!("SELECT ", "5")).await?;
        db.execute(SQL).await?;
        db.backfill("SELECT 6").await?;
        execute("SELECT 7");
    }};
    let found: Vec<String> = sql_literals(body).iter().map(|(_, l)| l.value()).collect();
    assert_eq!(found, ["SELECT 1", "SELECT 2", "SELECT 3", "SELECT 4"]);
}

#[test]
fn a_missing_semicolon_between_two_statements_is_named() {
    let problem =
        verdict::problem("ALTER TABLE a DROP CONSTRAINT a_pkey ALTER TABLE a ADD PRIMARY KEY (id)")
            .expect("an error");
    assert_eq!(
        problem.message,
        "missing `;` before `ALTER TABLE` (a second statement starts here: `…ALTER TABLE a ADD…`)"
    );
}

#[test]
fn a_missing_semicolon_is_named_for_each_statement_pair() {
    for (sql, before) in [
        (
            "CREATE TABLE a (id int) CREATE INDEX a_idx ON a (id)",
            "`CREATE INDEX`",
        ),
        (
            "INSERT INTO a VALUES (1) INSERT INTO a VALUES (2)",
            "`INSERT INTO`",
        ),
        ("UPDATE a SET x = 1 DELETE FROM b", "`DELETE FROM`"),
        ("INSERT INTO a VALUES (1) UPDATE s.a SET x = 2", "`UPDATE`"),
        ("DROP TABLE a DROP TABLE b", "`DROP TABLE`"),
        (
            "CREATE INDEX i ON a (x) ALTER TABLE a ADD COLUMN y int",
            "`ALTER TABLE`",
        ),
        ("TRUNCATE TABLE a TRUNCATE TABLE b", "`TRUNCATE TABLE`"),
    ] {
        let problem = verdict::problem(sql).expect(sql);
        assert!(
            problem
                .message
                .starts_with(&format!("missing `;` before {before}")),
            "{sql}: {}",
            problem.message
        );
    }
}

#[test]
fn a_missing_semicolon_is_found_in_a_piece_of_a_script() {
    let script = "CREATE TABLE a (id int);\nINSERT INTO a VALUES (1)\nINSERT INTO a VALUES (2);";
    let found = problems("execute_many", script);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0]
            .0
            .message
            .starts_with("missing `;` before `INSERT INTO`")
    );
}
