//! Decides whether one SQL statement is a clear syntax error: an error only
//! when no dialect parses it *and* the failure cannot be valid SQL that the
//! parser merely does not know.
//!
//! `sqlparser` rejects plenty of valid statements (`DO $$ ... $$`,
//! `DROP INDEX CONCURRENTLY`, `VACUUM`, vendor options), so "does not parse"
//! alone is never an error. The statement is reported only when every
//! dialect fails and one of these holds:
//! - every dialect's tokenizer fails (an unterminated string or quoted
//!   identifier: no SQL has one);
//! - its parentheses do not balance, in every dialect that tokenizes it;
//! - a comma stands where no SQL allows one: before `)`, `,`, `;`, the end,
//!   or an unquoted `FROM` / `WHERE` / `VALUES`, or right after `(`;
//! - a word that is no keyword of any dialect (sqlparser's keyword list
//!   covers every vendor's) sits where a statement keyword belongs (the first
//!   word, the object after `CREATE` / `ALTER` / `DROP`) or where the parser
//!   stopped, and it is a near-miss of a keyword that belongs there;
//! - a second statement starts inside it with no `;` before it (see
//!   [`missing_semicolon`]).

use sqlparser::dialect::{Dialect, GenericDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, Tokenizer, Word};

use crate::args::edit_distance;

/// A statement that is certainly not valid SQL.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Problem {
    /// What the parser found wrong, e.g. `expected an SQL statement, found: CRATE at line 1, column 1`.
    pub(crate) message: String,
    /// How to fix it, e.g. ``did you mean `CREATE`?``.
    pub(crate) hint: Option<String>,
}

/// Valid words that sqlparser's keyword list lacks: never a misspelling.
const NOT_IN_KEYWORD_LIST: &[&str] = &[
    "ANALYSE",
    "BINLOG",
    "CHECKPOINT",
    "CONVERSION",
    "HELP",
    "INSTANCE",
    "LOGFILE",
    "MOVE",
    "OFFLINE",
    "ONLINE",
    "PUBLICATION",
    "REASSIGN",
    "RESIGNAL",
    "SHUTDOWN",
    "SIGNAL",
    "STOP",
    "SUBSCRIPTION",
    "TRANSFORM",
    "UNDO",
    "UNINSTALL",
    "UPSERT",
    "XA",
];

/// Statement keywords a misspelt first word is compared with.
const STATEMENT_KEYWORDS: &[&str] = &[
    "ALTER", "ANALYZE", "BEGIN", "CALL", "COMMENT", "COMMIT", "CREATE", "DELETE", "DROP",
    "EXPLAIN", "GRANT", "INSERT", "LOCK", "MERGE", "PRAGMA", "REINDEX", "RENAME", "REPLACE",
    "REVOKE", "ROLLBACK", "SELECT", "TRUNCATE", "UPDATE", "VACUUM", "VALUES", "WITH",
];

/// Objects a misspelt word after `CREATE` / `ALTER` / `DROP` is compared with.
const OBJECT_KEYWORDS: &[&str] = &[
    "COLUMN",
    "CONSTRAINT",
    "DATABASE",
    "EXTENSION",
    "FUNCTION",
    "INDEX",
    "MATERIALIZED",
    "PROCEDURE",
    "SCHEMA",
    "SEQUENCE",
    "TABLE",
    "TRIGGER",
    "UNIQUE",
    "VIEW",
];

/// Keywords a misspelt word where the parser stopped is compared with.
const CLAUSE_KEYWORDS: &[&str] = &[
    "CONSTRAINT",
    "DEFAULT",
    "FROM",
    "GROUP",
    "INTO",
    "KEY",
    "LIMIT",
    "NULL",
    "ORDER",
    "PRIMARY",
    "REFERENCES",
    "RETURNING",
    "SELECT",
    "SET",
    "TABLE",
    "UNIQUE",
    "VALUES",
    "WHERE",
];

const GENERIC: &str = "generic";

/// The dialects tried, in the order their messages are preferred.
fn dialects() -> [(&'static str, Box<dyn Dialect>); 4] {
    [
        ("PostgreSQL", Box::new(PostgreSqlDialect {})),
        ("MySQL", Box::new(MySqlDialect {})),
        ("SQLite", Box::new(SQLiteDialect {})),
        (GENERIC, Box::new(GenericDialect {})),
    ]
}

/// The problem of one statement, or `None` when some dialect parses it or
/// the failure may be valid SQL the parser does not know.
pub(crate) fn problem(sql: &str) -> Option<Problem> {
    let mut parse_errors = Vec::new();
    let mut tokenizer_errors = Vec::new();
    let mut token_lists = Vec::new();
    let mut generic_parses = false;
    for (name, dialect) in dialects() {
        match Parser::parse_sql(dialect.as_ref(), sql) {
            // The generic dialect accepts a trailing comma before FROM,
            // which none of the three databases does: see below.
            Ok(_) if name == GENERIC => generic_parses = true,
            Ok(_) => return None,
            Err(ParserError::TokenizerError(e)) => tokenizer_errors.push(e),
            Err(ParserError::ParserError(e)) => parse_errors.push(e),
            Err(ParserError::RecursionLimitExceeded) => return None,
        }
        if let Ok(tokens) = Tokenizer::new(dialect.as_ref(), sql).tokenize() {
            let tokens: Vec<Token> = tokens
                .into_iter()
                .filter(|t| !matches!(t, Token::Whitespace(_)))
                .collect();
            token_lists.push(tokens);
        }
    }
    if token_lists.is_empty() {
        return tokenizer_errors.first().map(|e| Problem {
            message: tidy(e),
            hint: Some("close the string or quoted identifier".into()),
        });
    }
    let message = parse_errors
        .first()
        .or(tokenizer_errors.first())
        .map_or_else(|| "no SQL dialect parses it".to_string(), |e| tidy(e));
    if generic_parses {
        let hint = token_lists
            .iter()
            .map(|tokens| stray_comma(tokens))
            .collect::<Option<Vec<String>>>()?;
        return Some(Problem {
            message,
            hint: hint.into_iter().next(),
        });
    }
    let structural = token_lists
        .iter()
        .map(|tokens| unbalanced(tokens).or_else(|| stray_comma(tokens)))
        .collect::<Option<Vec<String>>>();
    if let Some(hints) = structural {
        return Some(Problem {
            message,
            hint: hints.into_iter().next(),
        });
    }
    let missing = token_lists
        .iter()
        .map(|tokens| missing_semicolon(tokens))
        .collect::<Option<Vec<String>>>();
    if let Some(messages) = missing {
        return messages.into_iter().next().map(|message| Problem {
            message,
            hint: None,
        });
    }
    let tokens = &token_lists[0];
    if let Some(hint) = misspelt_keyword(tokens, &parse_errors) {
        return Some(Problem {
            message,
            hint: Some(hint),
        });
    }
    None
}

/// sqlparser's message, reworded for the sentence it goes into.
fn tidy(message: &str) -> String {
    let message = message
        .replace(" at Line: ", " at line ")
        .replace(", Column: ", ", column ");
    let message = message.replacen("Expected: ", "expected ", 1);
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => message,
    }
}

/// Why the parentheses do not balance, if they do not.
fn unbalanced(tokens: &[Token]) -> Option<String> {
    let mut depth: i64 = 0;
    for token in tokens {
        match token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth -= 1;
                if depth < 0 {
                    return Some("a `)` closes no `(`: remove it or add the missing `(`".into());
                }
            }
            _ => {}
        }
    }
    (depth > 0).then(|| {
        format!(
            "{depth} `(` never closed: add the missing `)`{}",
            if depth > 1 { "s" } else { "" }
        )
    })
}

/// A comma where no SQL allows one, if any.
fn stray_comma(tokens: &[Token]) -> Option<String> {
    let mut previous: Option<&Token> = None;
    for (i, token) in tokens.iter().enumerate() {
        if matches!(token, Token::Comma) && matches!(previous, Some(Token::LParen)) {
            return Some("remove the comma after `(`".into());
        }
        previous = Some(token);
        if !matches!(token, Token::Comma) {
            continue;
        }
        let next = tokens.get(i + 1);
        let before = match next {
            None | Some(Token::EOF) => "the end of the statement".to_string(),
            Some(Token::SemiColon) => "`;`".to_string(),
            Some(Token::RParen) => "`)`".to_string(),
            Some(Token::Comma) => "another comma".to_string(),
            Some(Token::Word(Word {
                quote_style: None,
                keyword: Keyword::FROM | Keyword::WHERE | Keyword::VALUES,
                value,
            })) => format!("`{}`", value.to_uppercase()),
            _ => continue,
        };
        return Some(format!("remove the comma before {before}"));
    }
    None
}

/// A near-miss of a keyword, as a hint, if a misspelling explains the failure.
fn misspelt_keyword(tokens: &[Token], parse_errors: &[String]) -> Option<String> {
    let words: Vec<&Word> = tokens
        .iter()
        .map_while(|t| match t {
            Token::Word(w) => Some(w),
            _ => None,
        })
        .take(2)
        .collect();
    let first = words.first()?;
    if let Some(hint) = near_miss(first, STATEMENT_KEYWORDS) {
        return Some(hint);
    }
    let starts_ddl = first.quote_style.is_none()
        && matches!(
            first.keyword,
            Keyword::CREATE | Keyword::ALTER | Keyword::DROP
        );
    if let (true, Some(second)) = (starts_ddl, words.get(1))
        && let Some(hint) = near_miss(second, OBJECT_KEYWORDS)
    {
        return Some(hint);
    }
    // Where every dialect stopped, the same unknown word near a clause keyword.
    let found: Vec<&str> = parse_errors
        .iter()
        .map(|e| {
            e.split_once(", found: ").map_or("", |(_, rest)| {
                rest.split(" at Line: ").next().unwrap_or("")
            })
        })
        .collect();
    let stopped_at = *found.first()?;
    if found.iter().any(|f| *f != stopped_at) {
        return None;
    }
    let at = tokens.iter().position(
        |t| matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value == stopped_at),
    )?;
    // A misspelt clause keyword right before is usually the cause: it was
    // taken for an alias (`count(*) FORM orders`), so the parser stopped
    // one word later.
    // Only in an alias position: after an expression, not after a keyword
    // (in `ALTER TABLE orders ENGINE=…`, `orders` is the table's name).
    let mut before = tokens[..at]
        .iter()
        .rev()
        .filter(|t| !matches!(t, Token::Whitespace(_)));
    if let (Some(Token::Word(previous)), Some(expression)) = (before.next(), before.next())
        && !matches!(expression, Token::Word(w) if w.quote_style.is_none() && w.keyword != Keyword::NoKeyword)
        && let Some(hint) = near_miss(previous, CLAUSE_KEYWORDS)
    {
        return Some(hint);
    }
    let Token::Word(word) = &tokens[at] else {
        return None;
    };
    near_miss(word, CLAUSE_KEYWORDS)
}

/// ``did you mean `KEYWORD`?`` when `word` is no keyword of any dialect and
/// close to one of `candidates`.
fn near_miss(word: &Word, candidates: &[&str]) -> Option<String> {
    if word.quote_style.is_some() || word.keyword != Keyword::NoKeyword || word.value.len() < 3 {
        return None;
    }
    let upper = word.value.to_uppercase();
    if NOT_IN_KEYWORD_LIST.contains(&upper.as_str()) {
        return None;
    }
    let limit = if upper.len() <= 4 { 1 } else { 2 };
    candidates
        .iter()
        .filter(|c| c.len() >= 4)
        .map(|c| (edit_distance(&upper, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| format!("`{}` is not a SQL keyword: did you mean `{c}`?", word.value))
}

/// Words that, right before a statement keyword pair, make it part of the
/// statement: a rule's or an event's action (`DO INSTEAD INSERT`), a
/// `MERGE` or `IF` branch (`THEN UPDATE t SET`), `PREPARE p AS INSERT`, a
/// routine body (`BEGIN ATOMIC INSERT`), a handler's action, a loop's body.
const PART_OF_STATEMENT_AFTER: &[&str] = &[
    "ALSO",
    "AS",
    "ATOMIC",
    "BEGIN",
    "DO",
    "ELSE",
    "EXECUTE",
    "FOUND",
    "INSTEAD",
    "KEY",
    "LOOP",
    "REPEAT",
    "ROW",
    "SQLEXCEPTION",
    "SQLWARNING",
    "THEN",
];

/// First words of statements that hold other statements or statement
/// keywords at their top level: schema elements (`CREATE SCHEMA s CREATE
/// TABLE …`), a data-modifying CTE's main statement (`WITH d AS (…) INSERT
/// …`), privileges (`GRANT CREATE VIEW …`), `SHOW CREATE TABLE`, `EXPLAIN
/// INSERT …`, `MERGE … THEN INSERT`, the statements of a compound block.
const HOLDS_STATEMENTS: &[&str] = &[
    "CASE", "DECLARE", "DO", "EXPLAIN", "FOR", "GRANT", "IF", "LOOP", "MERGE", "PREPARE", "REPEAT",
    "REVOKE", "SHOW", "WHILE", "WITH",
];

/// Objects that make a `CREATE` statement hold statements: a rule's action
/// and a schema's elements to its end, a routine's or a trigger's body (with
/// its own `;`s) to the end of the text.
const CREATES_RULE_OR_SCHEMA: &[Keyword] = &[Keyword::RULE, Keyword::SCHEMA];
const CREATES_ROUTINE: &[Keyword] = &[
    Keyword::EVENT,
    Keyword::FUNCTION,
    Keyword::PROCEDURE,
    Keyword::TRIGGER,
];

/// How far an exemption from [`missing_semicolon`] reaches.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Exempt {
    No,
    /// `ALTER …`: its clauses include `DROP INDEX i` (MySQL) and `ALTER
    /// EXTENSION e DROP TABLE t`, so `DROP` pairs are its own.
    DropPairs,
    ToStatementEnd,
    /// A routine body holds `;`s the statement does not end at.
    ToTextEnd,
}

/// ``missing `;` before `ALTER TABLE` (…)`` when a second statement starts
/// inside one with no `;` before it: a keyword pair only a statement starts
/// with (`ALTER TABLE`, `INSERT INTO`, `UPDATE t SET`, …) past a statement's
/// first word, outside parentheses, strings, quoted identifiers, comments and
/// dollar-quoted bodies (the tokenizer's), and after the end of an
/// expression (a word, a literal, `)` or `*`). Narrow on purpose: statements
/// and preceding words that hold such pairs in valid SQL are exempt.
pub(crate) fn missing_semicolon(tokens: &[Token]) -> Option<String> {
    let mut depth: usize = 0;
    let mut start = 0;
    let mut exempt = Exempt::No;
    for (i, token) in tokens.iter().enumerate() {
        match token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::SemiColon if depth == 0 && exempt != Exempt::ToTextEnd => {
                start = i + 1;
                exempt = Exempt::No;
            }
            _ => {}
        }
        if i == start {
            exempt = statement_exemption(&tokens[start..]);
        }
        if depth > 0 || i == start || matches!(exempt, Exempt::ToStatementEnd | Exempt::ToTextEnd) {
            continue;
        }
        let Some(pair) = statement_pair(&tokens[i..]) else {
            continue;
        };
        if exempt == Exempt::DropPairs && pair.starts_with("DROP") {
            continue;
        }
        let ends_expression = match &tokens[i - 1] {
            Token::Word(w) => !is_one_of(w, PART_OF_STATEMENT_AFTER),
            Token::RParen
            | Token::Number(..)
            | Token::Mul
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::NationalStringLiteral(_)
            | Token::EscapedStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::Placeholder(_) => true,
            _ => false,
        };
        if !ends_expression {
            continue;
        }
        return Some(format!(
            "missing `;` before `{pair}` (a second statement starts here: `…{}`)",
            excerpt(&tokens[i..], pair.split(' ').count() + 2)
        ));
    }
    None
}

/// How far the statement starting at `tokens[0]` is exempt from
/// [`missing_semicolon`].
fn statement_exemption(tokens: &[Token]) -> Exempt {
    let Some(Token::Word(first)) = tokens.first() else {
        return Exempt::ToStatementEnd;
    };
    if first.quote_style.is_some() {
        return Exempt::ToStatementEnd;
    }
    if is_one_of(first, HOLDS_STATEMENTS) {
        return Exempt::ToStatementEnd;
    }
    match first.keyword {
        Keyword::ALTER => Exempt::DropPairs,
        // MariaDB's `BEGIN NOT ATOMIC … END` block, not `BEGIN` a transaction.
        Keyword::BEGIN if matches!(tokens.get(1), Some(Token::Word(w)) if w.quote_style.is_none() && w.keyword == Keyword::NOT) => {
            Exempt::ToTextEnd
        }
        // The object follows modifiers (`OR REPLACE`, `TEMP`, `CONSTRAINT`,
        // `DEFINER = u`): any of these words before the first `(` or `;`.
        Keyword::CREATE => {
            let object_words = tokens[1..]
                .iter()
                .take_while(|t| !matches!(t, Token::LParen | Token::SemiColon))
                .filter_map(|t| match t {
                    Token::Word(w) if w.quote_style.is_none() => Some(w.keyword),
                    _ => None,
                });
            let mut exempt = Exempt::No;
            for keyword in object_words.take(6) {
                if CREATES_ROUTINE.contains(&keyword) {
                    return Exempt::ToTextEnd;
                }
                if CREATES_RULE_OR_SCHEMA.contains(&keyword) {
                    exempt = Exempt::ToStatementEnd;
                }
                // Past the object: `CREATE TABLE t AS …`, `CREATE INDEX i ON …`.
                if matches!(
                    keyword,
                    Keyword::TABLE
                        | Keyword::INDEX
                        | Keyword::VIEW
                        | Keyword::SEQUENCE
                        | Keyword::TYPE
                        | Keyword::EXTENSION
                ) {
                    break;
                }
            }
            exempt
        }
        _ => Exempt::No,
    }
}

/// Whether `word` is one of `words` (upper case), unquoted.
fn is_one_of(word: &Word, words: &[&str]) -> bool {
    word.quote_style.is_none() && words.contains(&word.value.to_uppercase().as_str())
}

/// The keyword pair a statement starts with, when `tokens` starts with one:
/// `ALTER TABLE`, `CREATE [UNIQUE] INDEX`, `INSERT INTO`, `UPDATE t SET`, ….
fn statement_pair(tokens: &[Token]) -> Option<String> {
    let word = |i: usize| match tokens.get(i) {
        Some(Token::Word(w)) if w.quote_style.is_none() => Some(w.keyword),
        _ => None,
    };
    let pair = match (word(0)?, word(1)) {
        (Keyword::ALTER, Some(Keyword::TABLE)) => "ALTER TABLE",
        (Keyword::CREATE, Some(Keyword::UNIQUE)) if word(2) == Some(Keyword::INDEX) => {
            "CREATE UNIQUE INDEX"
        }
        (Keyword::CREATE, Some(object)) => match object {
            Keyword::TABLE => "CREATE TABLE",
            Keyword::INDEX => "CREATE INDEX",
            Keyword::VIEW => "CREATE VIEW",
            Keyword::SEQUENCE => "CREATE SEQUENCE",
            Keyword::TYPE => "CREATE TYPE",
            Keyword::EXTENSION => "CREATE EXTENSION",
            Keyword::TRIGGER => "CREATE TRIGGER",
            Keyword::FUNCTION => "CREATE FUNCTION",
            _ => return None,
        },
        (Keyword::DROP, Some(object)) => match object {
            Keyword::TABLE => "DROP TABLE",
            Keyword::INDEX => "DROP INDEX",
            Keyword::VIEW => "DROP VIEW",
            Keyword::SEQUENCE => "DROP SEQUENCE",
            Keyword::TYPE => "DROP TYPE",
            Keyword::FUNCTION => "DROP FUNCTION",
            Keyword::TRIGGER => "DROP TRIGGER",
            _ => return None,
        },
        (Keyword::INSERT, Some(Keyword::INTO)) => "INSERT INTO",
        (Keyword::DELETE, Some(Keyword::FROM)) => "DELETE FROM",
        (Keyword::TRUNCATE, Some(Keyword::TABLE)) => "TRUNCATE TABLE",
        (Keyword::COMMENT, Some(Keyword::ON)) => "COMMENT ON",
        // `UPDATE t SET`, `UPDATE s.t SET`; never `DO UPDATE SET x` nor
        // `ON DUPLICATE KEY UPDATE x = 1`.
        (Keyword::UPDATE, _) => {
            let is_name = |i: usize| matches!(tokens.get(i), Some(Token::Word(w)) if w.quote_style.is_some() || w.keyword != Keyword::SET);
            let set_at = match tokens.get(2) {
                Some(Token::Period) if is_name(1) && is_name(3) => 4,
                _ if is_name(1) => 2,
                _ => return None,
            };
            if word(set_at) != Some(Keyword::SET) {
                return None;
            }
            "UPDATE"
        }
        _ => return None,
    };
    Some(pair.to_string())
}

/// The first `count` tokens as SQL, with `…` when more follow.
fn excerpt(tokens: &[Token], count: usize) -> String {
    let mut text = String::new();
    let mut previous: Option<&Token> = None;
    for token in tokens.iter().take(count) {
        if matches!(token, Token::EOF) {
            return text;
        }
        let glued = matches!(token, Token::Comma | Token::RParen | Token::Period)
            || matches!(previous, Some(Token::LParen | Token::Period));
        if previous.is_some() && !glued {
            text.push(' ');
        }
        text.push_str(&token.to_string());
        previous = Some(token);
    }
    if tokens.len() > count && !matches!(tokens.get(count), Some(Token::EOF)) {
        text.push('…');
    }
    text
}
