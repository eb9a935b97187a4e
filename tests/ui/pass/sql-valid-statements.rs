//! Valid statements of PostgreSQL, MariaDB and SQLite pass the compile-time
//! SQL check, including the many that sqlparser itself does not parse
//! (`DO $$...$$`, `DROP INDEX CONCURRENTLY`, `PRAGMA`, `VACUUM`, ...).

use migrate_core::__private::{inventory, Migration};
use migrate_core::{migration, Db, Result};

/// PostgreSQL statements.
#[migration(20241201_000000, irreversible = "a compile-time test", transaction = false)]
async fn postgres_specifics(db: &mut Db) -> Result<()> {
    db.execute("CREATE TABLE users (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now())").await?;
    db.execute("CREATE INDEX CONCURRENTLY users_email_idx ON users (email)").await?;
    db.execute("CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email)").await?;
    db.execute("CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (lower(email)) WHERE deleted_at IS NULL").await?;
    db.execute("DROP INDEX CONCURRENTLY users_email_idx").await?;
    db.execute("DROP INDEX CONCURRENTLY IF EXISTS users_email_idx").await?;
    db.execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'mood') THEN CREATE TYPE mood AS ENUM ('sad', 'ok'); END IF; END $$").await?;
    db.execute("ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID").await?;
    db.execute("ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk").await?;
    db.execute("ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID").await?;
    db.execute("ALTER TABLE users ALTER COLUMN email SET NOT NULL").await?;
    db.execute("ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key").await?;
    db.execute("ALTER TABLE users ALTER COLUMN name TYPE VARCHAR(200) USING name::varchar(200)").await?;
    db.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto").await?;
    db.execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')").await?;
    db.execute("ALTER TYPE mood ADD VALUE 'ecstatic'").await?;
    db.execute("CREATE OR REPLACE FUNCTION touch() RETURNS trigger AS $$ BEGIN NEW.updated_at = now(); RETURN NEW; END $$ LANGUAGE plpgsql").await?;
    db.execute("CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch()").await?;
    db.execute("CREATE SCHEMA s CREATE TABLE t (id int)").await?;
    db.execute("WITH d AS (DELETE FROM a RETURNING *) INSERT INTO b SELECT * FROM d").await?;
    db.execute("CREATE RULE r AS ON INSERT TO a DO INSTEAD INSERT INTO b VALUES (NEW.id)").await?;
    db.execute("PREPARE p AS INSERT INTO a VALUES ($1)").await?;
    db.execute("INSERT INTO users (email) VALUES ('a@b.c') ON CONFLICT DO NOTHING RETURNING id").await?;
    db.execute("UPDATE orders o SET total = l.sum FROM (SELECT order_id, sum(amount) AS sum FROM lines GROUP BY order_id) l WHERE l.order_id = o.id").await?;
    db.execute("COMMENT ON COLUMN users.email IS 'login, unique'").await?;
    db.execute("VACUUM ANALYZE users").await?;
    db.execute("CLUSTER users USING users_pkey").await?;
    db.execute("REINDEX INDEX CONCURRENTLY users_email_idx").await?;
    db.execute("CREATE TABLE events (id BIGINT GENERATED ALWAYS AS IDENTITY, at TIMESTAMPTZ NOT NULL, EXCLUDE USING gist (tstzrange(at, at) WITH &&))").await?;
    db.execute("CREATE TABLE prices (amount NUMERIC(12, 2), tax NUMERIC(12, 2) GENERATED ALWAYS AS (amount * 0.2) STORED)").await?;
    db.execute("SELECT pg_advisory_lock(42)").await?;
    db.execute("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE").await?;
    db.execute("CREATE MATERIALIZED VIEW totals AS SELECT user_id, count(*) FROM orders GROUP BY user_id").await?;
    db.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY totals").await?;
    db.execute("ANALYSE users").await?;
    db.execute("SET lock_timeout = '2s'").await?;
    Ok(())
}

/// MariaDB statements.
#[migration(20241202_000000, irreversible = "a compile-time test", transaction = false)]
async fn mariadb_specifics(db: &mut Db) -> Result<()> {
    db.execute("ALTER TABLE orders ADD COLUMN note VARCHAR(200) NULL, ALGORITHM=INPLACE, LOCK=NONE").await?;
    db.execute("ALTER TABLE orders ADD INDEX orders_user_idx (user_id), ALGORITHM=INPLACE, LOCK=NONE").await?;
    db.execute("CREATE INDEX orders_user_idx ON orders (user_id) ALGORITHM=INPLACE LOCK=NONE").await?;
    db.execute("ALTER TABLE users MODIFY COLUMN name VARCHAR(200) NOT NULL, ALGORITHM=INPLACE, LOCK=NONE").await?;
    db.execute("ALTER TABLE users CHANGE COLUMN name full_name VARCHAR(200) NOT NULL").await?;
    db.execute("CREATE TABLE `order lines` (`id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, total DECIMAL(10,2) AS (qty * price) STORED) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4").await?;
    db.execute("INSERT INTO counters (name, n) VALUES ('a', 1) ON DUPLICATE KEY UPDATE n = n + 1").await?;
    db.execute("INSERT INTO notes (body) VALUES ('it\\'s fine')").await?;
    db.execute("CREATE TRIGGER orders_bi BEFORE INSERT ON orders FOR EACH ROW SET NEW.created_at = NOW()").await?;
    db.execute("OPTIMIZE TABLE orders").await?;
    db.execute("RENAME TABLE orders TO orders_old").await?;
    db.execute("ALTER TABLE users ADD FULLTEXT INDEX users_bio (bio)").await?;
    Ok(())
}

/// SQLite statements.
#[migration(20241203_000000, irreversible = "a compile-time test", transaction = false)]
async fn sqlite_specifics(db: &mut Db) -> Result<()> {
    db.execute("PRAGMA foreign_keys = ON").await?;
    db.execute("PRAGMA journal_mode = WAL").await?;
    db.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID").await?;
    db.execute("CREATE TRIGGER kv_touch AFTER UPDATE ON kv BEGIN UPDATE kv SET v = v WHERE k = NEW.k; END").await?;
    db.execute("INSERT OR REPLACE INTO kv (k, v) VALUES ('a', 'b')").await?;
    db.execute("CREATE TABLE boxes (w INT, h INT, area INT GENERATED ALWAYS AS (w * h) VIRTUAL)").await?;
    db.execute("VACUUM").await?;
    db.execute("ATTACH DATABASE 'other.db' AS other").await?;
    db.execute("REINDEX kv").await?;
    db.execute("ALTER TABLE kv RENAME COLUMN v TO value").await?;
    Ok(())
}

/// Other statements.
#[migration(20241204_000000, irreversible = "a compile-time test", transaction = false)]
async fn comments_and_quotes(db: &mut Db) -> Result<()> {
    db.execute("-- a comment (with a paren\nSELECT 1").await?;
    db.execute("SELECT 'a, ) ( , FROM' AS text").await?;
    db.execute("SELECT \"select\", `from` FROM t").await?;
    Ok(())
}

/// A script of several statements, checked one by one.
#[migration(20241205_000000, irreversible = "a compile-time test")]
async fn script(db: &mut Db) -> Result<()> {
    db.execute_many(
        "CREATE TABLE a (x INT);
         CREATE TRIGGER a_touch AFTER UPDATE ON a BEGIN UPDATE a SET x = x; END;
         DO $$ BEGIN PERFORM 1; END $$;",
    )
    .await?;
    let n = db.fetch_i64("SELECT count(*) FROM a").await?;
    let _ = db.fetch_optional_i64("SELECT max(x) FROM a WHERE x > 0").await?;
    let _ = db.fetch_strings("SELECT name FROM sqlite_master WHERE type = 'table'").await?;
    // Built at run time: not checked.
    db.execute(&format!("SELECT {n}")).await?;
    db.execute(concat!("SELECT", " 1")).await?;
    Ok(())
}

/// Escape hatch: a statement the check would reject, allowed with a reason.
#[migration(
    20241206_000000,
    irreversible = "a compile-time test",
    allow(sql_syntax = "vendor syntax the checker does not know")
)]
async fn allowed(db: &mut Db) -> Result<()> {
    db.execute("SELEC 1").await?;
    db.execute("DROP TABLE a DROP TABLE b").await?;
    Ok(())
}

fn main() {
    let registered = inventory::iter::<Migration>.into_iter().count();
    assert_eq!(registered, 6);
}
