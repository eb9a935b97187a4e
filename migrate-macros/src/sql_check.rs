//! Compile-time syntax check of the SQL string literals a migration or a
//! health check passes to `Db` (`db.execute("...")` and the other statement
//! methods): a clear syntax error becomes a compile error spanned on the
//! literal.
//!
//! The body is scanned as tokens rather than as a syntax tree, so calls
//! inside macros (`tokio::try_join!`, `assert!`) are seen too and syn needs
//! no extra feature. Only a call whose whole argument is one string literal
//! is checked: SQL built with `format!`, `concat!` or a variable is not.

#[cfg(test)]
mod tests;
mod verdict;

use migrate_sql::Dialect;
use proc_macro2::{Delimiter, TokenStream, TokenTree};
use syn::LitStr;

use crate::errors::Errors;

/// The `Db` methods whose argument is SQL (see `migrate_core::Db`).
const SQL_METHODS: &[&str] = &[
    "execute",
    "execute_many",
    "fetch_i64",
    "fetch_optional_i64",
    "fetch_strings",
];

/// The `allow(...)` id that turns the check off for one migration.
pub(crate) const ALLOW_ID: &str = "sql_syntax";

/// Where the checked SQL stands, for the way out the message offers.
#[derive(Clone, Copy)]
pub(crate) enum In {
    /// A `#[migration]`: `allow(sql_syntax = "reason")` turns the check off.
    Migration,
    /// A `#[health_check]`, which has no `allow`: SQL passed through a
    /// variable is not checked.
    HealthCheck,
}

/// Reports every SQL literal in `body` that is certainly not valid SQL.
pub(crate) fn body(body: TokenStream, within: In, errors: &mut Errors) {
    for (method, literal) in sql_literals(body) {
        let sql = literal.value();
        for (problem, statement) in problems(&method, &sql) {
            errors.at(literal.span(), message(&problem, &statement, &sql, within));
        }
    }
}

/// The problems of one literal passed to `method`. `execute_many` runs the
/// pieces `migrate_sql::split` cuts by the backend's rules, which the macro
/// does not know: the literal is cut once per dialect, and reported (as the
/// first dialect cuts it) only when no dialect's pieces are all accepted.
/// The other methods send the text as one statement (sqlparser then parses
/// every `;` piece).
fn problems(method: &str, sql: &str) -> Vec<(verdict::Problem, String)> {
    let cuts: Vec<Vec<String>> = if method == "execute_many" {
        Dialect::ALL
            .iter()
            .map(|&d| migrate_sql::split(sql, d))
            .collect()
    } else {
        vec![vec![sql.to_string()]]
    };
    let mut first = None;
    for statements in cuts {
        let found: Vec<_> = statements
            .into_iter()
            .filter_map(|s| verdict::problem(&s).map(|p| (p, s)))
            .collect();
        if found.is_empty() {
            return found;
        }
        first.get_or_insert(found);
    }
    first.unwrap_or_default()
}

fn message(problem: &verdict::Problem, statement: &str, whole: &str, within: In) -> String {
    let which = if statement.trim() == whole.trim().trim_end_matches(';').trim() {
        String::new()
    } else {
        format!(" `{}`", shorten(statement))
    };
    let hint = problem
        .hint
        .as_ref()
        .map_or(String::new(), |h| format!("; {h}"));
    let way_out = match within {
        In::Migration => format!("write `allow({ALLOW_ID} = \"reason\")` in the attribute"),
        In::HealthCheck => {
            "pass it through a variable (`let sql = \"...\"; db.execute(sql)`), which is not checked".to_string()
        }
    };
    format!(
        "SQL syntax error in this statement{which}: {}{hint} (if the SQL is right for your database, {way_out})",
        problem.message
    )
}

fn shorten(statement: &str) -> String {
    let flat = statement.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= 60 {
        flat
    } else {
        format!("{}…", flat.chars().take(59).collect::<String>())
    }
}

/// The string literals passed as the only argument of a `.method(...)` call
/// to one of [`SQL_METHODS`], at any depth.
fn sql_literals(tokens: TokenStream) -> Vec<(String, LitStr)> {
    let mut found = Vec::new();
    collect(tokens, &mut found);
    found
}

fn collect(tokens: TokenStream, found: &mut Vec<(String, LitStr)>) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, tree) in trees.iter().enumerate() {
        if let TokenTree::Group(group) = tree {
            collect(group.stream(), found);
        }
        let (Some(TokenTree::Punct(dot)), TokenTree::Ident(method), Some(TokenTree::Group(args))) = (
            i.checked_sub(1).and_then(|p| trees.get(p)),
            tree,
            trees.get(i + 1),
        ) else {
            continue;
        };
        if dot.as_char() != '.'
            || args.delimiter() != Delimiter::Parenthesis
            || !SQL_METHODS.iter().any(|m| method == m)
        {
            continue;
        }
        let mut inside = args.stream().into_iter();
        let (first, mut rest) = (inside.next(), inside.next());
        // rustfmt leaves a trailing comma after an argument it wraps.
        if matches!(&rest, Some(TokenTree::Punct(p)) if p.as_char() == ',') {
            rest = inside.next();
        }
        if let (Some(TokenTree::Literal(lit)), None) = (first, rest)
            && let Ok(lit) = syn::parse2::<LitStr>(TokenTree::Literal(lit).into())
        {
            found.push((method.to_string(), lit));
        }
    }
}
