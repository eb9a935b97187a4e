//! Splits a SQL script into statements the way the target database reads it:
//! quotes, comments, PostgreSQL dollar quotes and the `BEGIN … END` bodies of
//! SQLite and MySQL triggers and routines, each by the rules of one dialect.
//!
//! Shared by the runtime (`Db::execute_many`, plans, lint) and the
//! compile-time SQL check of `#[migration]`, so both cut a script alike.

#[cfg(test)]
mod tests;

use std::ops::Range;

/// The SQL dialect whose lexical rules the splitter follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// PostgreSQL: nested block comments, dollar quotes, backslash escapes
    /// only in `E'…'` strings (`standard_conforming_strings` on).
    Postgres,
    /// MySQL or MariaDB: backticks, `#` comments, backslash escapes in `'…'`
    /// and `"…"` (default `sql_mode`), `BEGIN … END` bodies of triggers,
    /// procedures, functions and events.
    MySql,
    /// SQLite: backticks and `[…]` identifiers, no backslash escapes,
    /// `BEGIN … END` bodies of triggers.
    Sqlite,
}

impl Dialect {
    /// Every dialect, in the order the compile-time check prefers.
    pub const ALL: [Dialect; 3] = [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite];
}

/// Splits `script` at top-level semicolons; each statement is trimmed, and
/// empty or comment-only pieces are dropped.
///
/// ```
/// use migrate_sql::{split, Dialect};
/// let parts = split("INSERT INTO t VALUES ('C:\\'); DROP TABLE other;", Dialect::Postgres);
/// assert_eq!(parts, ["INSERT INTO t VALUES ('C:\\')", "DROP TABLE other"]);
/// ```
pub fn split(script: &str, dialect: Dialect) -> Vec<String> {
    split_spans(script, dialect)
        .into_iter()
        .map(|r| script[r].to_string())
        .collect()
}

/// The byte ranges of the statements [`split`] returns, in order.
///
/// ```
/// use migrate_sql::{split_spans, Dialect};
/// assert_eq!(split_spans(" A; B ", Dialect::Sqlite), [1..2, 4..5]);
/// ```
pub fn split_spans(script: &str, dialect: Dialect) -> Vec<Range<usize>> {
    Scanner::new(script, dialect).run()
}

/// One pass over the script; `start` is where the current statement began.
struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    dialect: Dialect,
    out: Vec<Range<usize>>,
    i: usize,
    start: usize,
    /// Something other than whitespace and comments since `start`.
    content: bool,
    /// Words of the current statement seen before its first `(`.
    head: Vec<&'a str>,
    seen_paren: bool,
    /// The statement creates a trigger or routine whose body may hold `;`.
    routine: bool,
    /// Open `BEGIN` / `CASE` blocks of that body.
    depth: usize,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str, dialect: Dialect) -> Self {
        Scanner {
            text,
            bytes: text.as_bytes(),
            dialect,
            out: Vec::new(),
            i: 0,
            start: 0,
            content: false,
            head: Vec::new(),
            seen_paren: false,
            routine: false,
            depth: 0,
        }
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.i + ahead).copied()
    }

    fn run(mut self) -> Vec<Range<usize>> {
        while let Some(c) = self.peek(0) {
            match c {
                b'\'' => {
                    let escapes = self.dialect == Dialect::MySql;
                    self.quoted(b'\'', escapes);
                }
                b'"' => {
                    let escapes = self.dialect == Dialect::MySql;
                    self.quoted(b'"', escapes);
                }
                b'`' if self.dialect != Dialect::Postgres => self.quoted(b'`', false),
                b'[' if self.dialect == Dialect::Sqlite => {
                    self.content = true;
                    self.skip_past(']');
                }
                b'-' if self.peek(1) == Some(b'-') && self.dash_comment() => self.line_comment(),
                b'#' if self.dialect == Dialect::MySql => self.line_comment(),
                b'/' if self.peek(1) == Some(b'*') => self.block_comment(),
                b'$' if self.dialect == Dialect::Postgres => self.dollar(),
                b';' if self.depth == 0 => {
                    self.push(self.i);
                    self.i += 1;
                    self.start = self.i;
                }
                c if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 => self.word(),
                c => {
                    if c == b'(' {
                        self.seen_paren = true;
                    }
                    if !c.is_ascii_whitespace() {
                        self.content = true;
                    }
                    self.i += 1;
                }
            }
        }
        self.push(self.bytes.len());
        self.out
    }

    /// Ends the statement at `end` (exclusive) and resets the state.
    fn push(&mut self, end: usize) {
        let piece = &self.text[self.start..end];
        let lead = piece.len() - piece.trim_start().len();
        let trimmed = piece.trim();
        if self.content && !trimmed.is_empty() {
            let from = self.start + lead;
            self.out.push(from..from + trimmed.len());
        }
        self.content = false;
        self.head.clear();
        self.seen_paren = false;
        self.routine = false;
        self.depth = 0;
    }

    /// MySQL reads `--` as a comment only before whitespace or the end.
    fn dash_comment(&self) -> bool {
        self.dialect != Dialect::MySql || self.peek(2).is_none_or(|c| c.is_ascii_whitespace())
    }

    fn line_comment(&mut self) {
        while self.peek(0).is_some_and(|c| c != b'\n') {
            self.i += 1;
        }
    }

    fn block_comment(&mut self) {
        let nests = self.dialect == Dialect::Postgres;
        let mut level = 0usize;
        while self.i < self.bytes.len() {
            if self.peek(0) == Some(b'/') && self.peek(1) == Some(b'*') {
                if level == 0 || nests {
                    level += 1;
                }
                self.i += 2;
            } else if self.peek(0) == Some(b'*') && self.peek(1) == Some(b'/') {
                level -= 1;
                self.i += 2;
                if level == 0 {
                    return;
                }
            } else {
                self.i += 1;
            }
        }
    }

    /// A quoted string or identifier; a doubled quote stands for itself, and
    /// with `escapes` a backslash escapes the next byte. Unterminated: to the end.
    fn quoted(&mut self, quote: u8, escapes: bool) {
        self.content = true;
        self.i += 1;
        while let Some(c) = self.peek(0) {
            if c == quote {
                if self.peek(1) == Some(quote) {
                    self.i += 2;
                    continue;
                }
                self.i += 1;
                return;
            }
            self.i += if escapes && c == b'\\' { 2 } else { 1 };
        }
        self.i = self.i.min(self.bytes.len());
    }

    /// Skips to just past `end`, or to the end of the script.
    fn skip_past(&mut self, end: char) {
        match self.text[self.i + 1..].find(end) {
            Some(p) => self.i += 1 + p + end.len_utf8(),
            None => self.i = self.bytes.len(),
        }
    }

    /// `$tag$ … $tag$` (PostgreSQL); `$1` and a lone `$` are not quotes.
    fn dollar(&mut self) {
        self.content = true;
        let rest = &self.bytes[self.i + 1..];
        let tag_len = rest
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80))
            .unwrap_or(rest.len());
        let opens =
            rest.get(tag_len) == Some(&b'$') && !rest.first().is_some_and(u8::is_ascii_digit);
        if !opens {
            self.i += 1;
            return;
        }
        let tag = &self.text[self.i..self.i + tag_len + 2];
        let body = self.i + tag.len();
        self.i = match self.text[body..].find(tag) {
            Some(p) => body + p + tag.len(),
            None => self.bytes.len(),
        };
    }

    /// A word (keyword, identifier or number), with what it means for the
    /// statement: an `E'…'` prefix, the start of a routine, a body block.
    fn word(&mut self) {
        self.content = true;
        let from = self.i;
        let dollar_ok = self.dialect != Dialect::Sqlite;
        while self.peek(0).is_some_and(|c| {
            c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 || (dollar_ok && c == b'$')
        }) {
            self.i += 1;
        }
        let word = &self.text[from..self.i];
        if self.dialect == Dialect::Postgres
            && word.eq_ignore_ascii_case("e")
            && self.peek(0) == Some(b'\'')
        {
            self.quoted(b'\'', true);
            return;
        }
        if self.dialect == Dialect::Postgres {
            return;
        }
        if self.routine {
            self.body_word(word);
        } else if !self.seen_paren {
            self.head_word(word);
        }
    }

    /// Before the body: is this a `CREATE … TRIGGER` (or MySQL routine)?
    fn head_word(&mut self, word: &'a str) {
        let is = |k: &str| word.eq_ignore_ascii_case(k);
        let creates = self
            .head
            .first()
            .is_some_and(|w| w.eq_ignore_ascii_case("create"));
        let blocked = self.head.iter().any(|w| {
            ["table", "view", "index", "as", "select"]
                .iter()
                .any(|k| w.eq_ignore_ascii_case(k))
        });
        let routine_kind = is("trigger")
            || (self.dialect == Dialect::MySql
                && (is("procedure") || is("function") || is("event")));
        if creates && !blocked && routine_kind {
            self.routine = true;
        }
        self.head.push(word);
    }

    /// Inside a routine: `BEGIN` and `CASE` open a block, `END` (or `END
    /// CASE`) closes one; `END IF` / `END LOOP` / `END WHILE` / `END REPEAT` close blocks that
    /// never opened one (their `IF` may also be the `IF()` function).
    fn body_word(&mut self, word: &str) {
        if word.eq_ignore_ascii_case("begin") || word.eq_ignore_ascii_case("case") {
            self.depth += 1;
        } else if word.eq_ignore_ascii_case("end") {
            let next = self.next_word();
            let loose = ["if", "loop", "while", "repeat"]
                .iter()
                .any(|k| next.eq_ignore_ascii_case(k));
            if !loose {
                self.depth = self.depth.saturating_sub(1);
            }
            if loose || next.eq_ignore_ascii_case("case") {
                self.i += self.text[self.i..].len() - self.text[self.i..].trim_start().len();
                self.i += next.len();
            }
        }
    }

    /// The word after the current position and any whitespace, not consumed.
    fn next_word(&self) -> &'a str {
        let rest = self.text[self.i..].trim_start();
        let len = rest
            .bytes()
            .position(|c| !(c.is_ascii_alphanumeric() || c == b'_'))
            .unwrap_or(rest.len());
        &rest[..len]
    }
}
