//! Parses the arguments of `#[migration(...)]` and `#[health_check(...)]`.
//!
//! Arguments are split at top-level commas and each one is parsed on its own,
//! so one malformed argument does not hide the mistakes in the others.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{ParseStream, Parser};
use syn::{Expr, ExprLit, Ident, Lit, LitBool, LitInt, LitStr, Meta, Token};

use crate::errors::Errors;

/// Every argument `#[migration]` accepts, as shown in messages.
const MIGRATION_ARGS: &[&str] = &[
    "version",
    "reversible",
    "irreversible",
    "down",
    "transaction",
    "phase",
    "allow",
    "name",
];

/// Every argument `#[health_check]` accepts.
const HEALTH_CHECK_ARGS: &[&str] = &["name"];

/// How the arguments of `#[migration]` are written, for messages.
const MIGRATION_USAGE: &str = "the version, `reversible`, `irreversible = \"reason\"`, \
     `down = path`, `transaction = false`, `phase = expand | contract`, \
     `allow(rule_id = \"reason\")` or `name = \"...\"`";

/// The parsed arguments of `#[migration(...)]`.
///
/// Only well-formed arguments are kept; each malformed one has been recorded
/// in the [`Errors`] the parser was given.
#[derive(Default)]
pub(crate) struct MigrationArgs {
    /// The version and the literal it was written as.
    pub(crate) version: Option<Version>,
    /// The `reversible` keyword.
    pub(crate) reversible: Option<Ident>,
    /// The `irreversible` keyword and its reason.
    pub(crate) irreversible: Option<(Ident, LitStr)>,
    /// `down = path`.
    pub(crate) down: Option<syn::Path>,
    /// `transaction = bool`.
    pub(crate) transaction: Option<LitBool>,
    /// `phase = expand | contract`.
    pub(crate) phase: Option<Phase>,
    /// `allow(rule_id = "reason", ...)`.
    pub(crate) allow: Vec<AllowRule>,
    /// `name = "..."`.
    pub(crate) name: Option<LitStr>,
}

/// A migration version.
pub(crate) struct Version {
    /// The value.
    pub(crate) value: u64,
    /// The literal, whose span the duplicate-version check points at.
    pub(crate) span: Span,
}

/// `phase = expand | contract`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Phase {
    /// The default.
    Expand,
    /// Removes what the old application code needed.
    Contract,
}

/// One `rule_id = "reason"` of `allow(...)`.
pub(crate) struct AllowRule {
    /// The lint rule, as written (`snake_case`, `kebab-case` or a string).
    pub(crate) rule: String,
    /// Why the finding is acceptable.
    pub(crate) reason: String,
}

/// The parsed arguments of `#[health_check(...)]`.
#[derive(Default)]
pub(crate) struct HealthCheckArgs {
    /// `name = "..."`.
    pub(crate) name: Option<LitStr>,
}

/// One argument: a bare literal (the positional version) or `key`,
/// `key = value`, `key(...)`.
enum Arg {
    Literal(Lit),
    Meta(Box<Meta>),
}

/// Parses `#[migration(...)]` of the function `fn_name`, recording every
/// mistake in `errors`.
pub(crate) fn parse_migration(
    tokens: TokenStream,
    fn_name: &str,
    errors: &mut Errors,
) -> MigrationArgs {
    let mut args = MigrationArgs::default();
    let mut seen = HashMap::new();
    let (mut given_version, mut given_reversibility) = (false, false);
    for arg in split_args(tokens, errors) {
        let meta = match arg {
            Arg::Literal(Lit::Int(lit)) => {
                given_version = true;
                if first_time(
                    "version",
                    lit.span(),
                    &mut seen,
                    errors,
                    "the version is given twice",
                ) && let Some(version) = parse_version(&lit, errors)
                {
                    args.version = Some(version);
                }
                continue;
            }
            Arg::Literal(lit) => {
                errors.spanned(
                    &lit,
                    "expected the version, a positive integer such as `20241124_120000`",
                );
                continue;
            }
            Arg::Meta(meta) => *meta,
        };
        let key = match known_key(&meta, MIGRATION_ARGS, Some(MIGRATION_USAGE), errors) {
            Ok(key) => key,
            Err(meant) => {
                // A misspelt `reversible` must not also be reported as missing.
                given_version |= meant == Some("version");
                given_reversibility |= matches!(meant, Some("reversible" | "irreversible"));
                continue;
            }
        };
        let name = key.to_string();
        given_version |= name == "version";
        given_reversibility |= name == "reversible" || name == "irreversible";
        let duplicate = format!("duplicate argument `{name}`");
        let message = if name == "version" {
            "the version is given twice"
        } else {
            &duplicate
        };
        if !first_time(&name, key.span(), &mut seen, errors, message) {
            continue;
        }
        match name.as_str() {
            "version" => {
                if let Some(lit) = name_value(&meta, errors, "`version = 20241124_120000`")
                    .and_then(|value| int_value(value, errors))
                    && let Some(version) = parse_version(&lit, errors)
                {
                    args.version = Some(version);
                }
            }
            "reversible" => {
                if let Some(conflict) = &args.irreversible {
                    conflicting(&key, &conflict.0, errors);
                } else if flag(
                    &meta,
                    errors,
                    "`reversible` takes no value: name another down function with `down = path`",
                ) {
                    args.reversible = Some(key);
                }
            }
            "irreversible" => {
                if let Some(conflict) = &args.reversible {
                    conflicting(&key, conflict, errors);
                } else if let Some(reason) = reason_value(
                    &meta,
                    errors,
                    "`irreversible` needs a reason: `irreversible = \"why it cannot be undone\"`",
                ) {
                    if reason.value().trim().is_empty() {
                        errors.spanned(
                            &reason,
                            "the reason must not be empty: say why the migration cannot be undone",
                        );
                    } else {
                        args.irreversible = Some((key, reason));
                    }
                }
            }
            "down" => {
                if let Some(value) = name_value(&meta, errors, "`down = path_to_down_fn`") {
                    match value {
                        Expr::Path(path) if path.qself.is_none() && path.attrs.is_empty() => {
                            args.down = Some(path.path.clone());
                        }
                        Expr::Lit(ExprLit {
                            lit: Lit::Str(lit), ..
                        }) => errors.spanned(
                            lit,
                            format!(
                                "expected a path, not a string: `down = {}`",
                                lit.value().trim()
                            ),
                        ),
                        other => errors.spanned(
                            other,
                            "expected the path of the down function: `down = drop_users`",
                        ),
                    }
                }
            }
            "transaction" => {
                let usage = "`transaction` takes a boolean: `transaction = false` runs the migration outside a transaction";
                if let Some(value) = name_value(&meta, errors, usage) {
                    match value {
                        Expr::Lit(ExprLit {
                            lit: Lit::Bool(lit),
                            ..
                        }) => {
                            args.transaction = Some(lit.clone());
                        }
                        other => errors.spanned(other, "expected `true` or `false`"),
                    }
                }
            }
            "phase" => {
                if let Some(value) =
                    name_value(&meta, errors, "`phase = expand` or `phase = contract`")
                {
                    args.phase = parse_phase(value, errors);
                }
            }
            "allow" => args.allow = parse_allow(&meta, errors),
            "name" => {
                if let Some(name) = reason_value(&meta, errors, "`name = \"displayed name\"`") {
                    if name.value().trim().is_empty() {
                        errors.spanned(&name, "the name must not be empty");
                    } else {
                        args.name = Some(name);
                    }
                }
            }
            _ => unreachable!("known_key only returns keys of MIGRATION_ARGS"),
        }
    }
    if !given_version {
        errors.at(
            Span::call_site(),
            "missing the version: write it first, e.g. `#[migration(20241124_120000, reversible)]`",
        );
    }
    if !given_reversibility {
        errors.at(
            Span::call_site(),
            format!(
                "missing `reversible` or `irreversible = \"reason\"`: say whether the migration can be undone \
                 (`reversible` expects a down function `{fn_name}_down`, or the one named by `down = path`)"
            ),
        );
    }
    if let (Some(down), Some((keyword, _))) = (&args.down, &args.irreversible) {
        errors.spanned(
            down,
            format!(
                "an irreversible migration has no down function: remove `down = {}` or replace `{keyword} = \"...\"` with `reversible`",
                path_text(down)
            ),
        );
    }
    args
}

/// Parses `#[health_check]` or `#[health_check(name = "...")]`.
pub(crate) fn parse_health_check(tokens: TokenStream, errors: &mut Errors) -> HealthCheckArgs {
    let mut args = HealthCheckArgs::default();
    let mut seen = HashMap::new();
    for arg in split_args(tokens, errors) {
        let meta = match arg {
            Arg::Literal(lit) => {
                errors.spanned(
                    lit,
                    "expected `name = \"...\"`: a health check takes no other argument",
                );
                continue;
            }
            Arg::Meta(meta) => *meta,
        };
        let Ok(key) = known_key(&meta, HEALTH_CHECK_ARGS, None, errors) else {
            continue;
        };
        if !first_time(
            "name",
            key.span(),
            &mut seen,
            errors,
            "duplicate argument `name`",
        ) {
            continue;
        }
        if let Some(name) = reason_value(&meta, errors, "`name = \"displayed name\"`") {
            if name.value().trim().is_empty() {
                errors.spanned(&name, "the name must not be empty");
            } else {
                args.name = Some(name);
            }
        }
    }
    args
}

/// Splits at top-level commas and parses each piece; a piece that does not
/// parse is reported and skipped.
fn split_args(tokens: TokenStream, errors: &mut Errors) -> Vec<Arg> {
    let mut args = Vec::new();
    for piece in split_at_commas(tokens, errors) {
        let first = piece.clone().into_iter().next();
        let parsed = match first {
            Some(TokenTree::Literal(_)) => syn::parse2::<Lit>(piece).map(Arg::Literal),
            Some(TokenTree::Ident(_)) => {
                syn::parse2::<Meta>(piece).map(|meta| Arg::Meta(Box::new(meta)))
            }
            Some(other) => Err(syn::Error::new(
                other.span(),
                format!("expected an argument: {MIGRATION_USAGE}"),
            )),
            None => continue,
        };
        match parsed {
            Ok(arg) => args.push(arg),
            Err(error) => errors.push(error),
        }
    }
    args
}

/// The comma-separated pieces of `tokens`, without the commas; reports an
/// empty piece (`a,,b`), accepts a trailing comma.
fn split_at_commas(tokens: TokenStream, errors: &mut Errors) -> Vec<TokenStream> {
    let mut pieces = Vec::new();
    let mut current = Vec::new();
    for token in tokens {
        match &token {
            TokenTree::Punct(punct) if punct.as_char() == ',' => {
                if current.is_empty() {
                    errors.at(
                        punct.span(),
                        "unexpected `,`: expected an argument before it",
                    );
                }
                pieces.push(current.drain(..).collect());
            }
            _ => current.push(token),
        }
    }
    if !current.is_empty() {
        pieces.push(current.into_iter().collect());
    }
    pieces
}

/// The key of `meta` when it is one of `known`; otherwise reports it,
/// suggesting the nearest known key, and returns that key.
fn known_key(
    meta: &Meta,
    known: &[&'static str],
    usage: Option<&str>,
    errors: &mut Errors,
) -> Result<Ident, Option<&'static str>> {
    let path = meta.path();
    let Some(ident) = path.get_ident() else {
        errors.spanned(path, format!("unknown argument `{}`", path_text(path)));
        return Err(None);
    };
    let key = ident.to_string();
    if known.contains(&key.as_str()) {
        return Ok(ident.clone());
    }
    let meant = suggestion(&key, known);
    let message = match (meant, usage) {
        (Some("phase"), _) if matches!(key.as_str(), "expand" | "contract") => {
            format!("unknown argument `{key}`: did you mean `phase = {key}`?")
        }
        (Some(meant), _) => format!(
            "unknown argument `{key}`: did you mean `{}`?",
            usage_of(meant)
        ),
        (None, Some(usage)) => format!("unknown argument `{key}`: expected {usage}"),
        (None, None) => format!("unknown argument `{key}`: expected `name = \"...\"`"),
    };
    errors.spanned(ident, message);
    Err(meant)
}

/// The known key nearest to an unknown one, if any is near.
fn suggestion(key: &str, known: &[&'static str]) -> Option<&'static str> {
    let lower = key.to_ascii_lowercase();
    let alias = match lower.as_str() {
        "no_transaction" | "notransaction" | "non_transactional" | "without_transaction" => {
            Some("transaction")
        }
        "expand" | "contract" => Some("phase"),
        "reason" => Some("irreversible"),
        _ => None,
    };
    if let Some(alias) = alias.and_then(|alias| known.iter().find(|k| **k == alias)) {
        return Some(alias);
    }
    known
        .iter()
        .map(|candidate| (edit_distance(&lower, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// How an argument is written, for suggestions.
fn usage_of(key: &str) -> &str {
    match key {
        "irreversible" => "irreversible = \"reason\"",
        "down" => "down = path",
        "transaction" => "transaction = false",
        "phase" => "phase = expand | contract",
        "allow" => "allow(rule_id = \"reason\")",
        "name" => "name = \"...\"",
        "version" => "version = N",
        other => other,
    }
}

/// Levenshtein distance, counting a swap of two neighbours as one edit.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

/// Records `key` as seen; reports `message` at `span` when it was seen before.
fn first_time(
    key: &str,
    span: Span,
    seen: &mut HashMap<String, Span>,
    errors: &mut Errors,
    message: &str,
) -> bool {
    if seen.contains_key(key) {
        errors.at(span, message);
        false
    } else {
        seen.insert(key.to_owned(), span);
        true
    }
}

/// Reports `reversible` and `irreversible` given together, at the later one.
fn conflicting(later: &Ident, earlier: &Ident, errors: &mut Errors) {
    errors.spanned(
        later,
        format!(
            "`{later}` conflicts with `{earlier}`: a migration is either `reversible` (it has a down function) or `irreversible = \"reason\"`, not both"
        ),
    );
}

/// Whether `meta` is a bare key; reports `message` otherwise.
fn flag(meta: &Meta, errors: &mut Errors, message: &str) -> bool {
    match meta {
        Meta::Path(_) => true,
        Meta::NameValue(nv) => {
            errors.spanned(&nv.value, message);
            false
        }
        Meta::List(list) => {
            errors.spanned(&list.tokens, message);
            false
        }
    }
}

/// The value of `key = value`; reports `usage` for any other shape.
fn name_value<'m>(meta: &'m Meta, errors: &mut Errors, usage: &str) -> Option<&'m Expr> {
    match meta {
        Meta::NameValue(nv) => Some(&nv.value),
        Meta::Path(path) => {
            errors.spanned(path, format!("expected {usage}"));
            None
        }
        Meta::List(list) => {
            errors.spanned(list, format!("expected {usage}"));
            None
        }
    }
}

/// The string of `key = "..."`; reports `usage` for any other shape.
fn reason_value(meta: &Meta, errors: &mut Errors, usage: &str) -> Option<LitStr> {
    match meta {
        Meta::NameValue(nv) => match &nv.value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(lit), ..
            }) => Some(lit.clone()),
            other => {
                errors.spanned(other, format!("expected a string: {usage}"));
                None
            }
        },
        Meta::Path(path) => {
            errors.spanned(path, usage);
            None
        }
        Meta::List(list) => {
            errors.spanned(list, usage);
            None
        }
    }
}

/// The integer literal `value` is, or an error.
fn int_value(value: &Expr, errors: &mut Errors) -> Option<LitInt> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => Some(lit.clone()),
        other => {
            errors.spanned(
                other,
                "expected the version, a positive integer such as `20241124_120000`",
            );
            None
        }
    }
}

/// Checks that a version literal is a positive `u64` without suffix.
fn parse_version(lit: &LitInt, errors: &mut Errors) -> Option<Version> {
    if !lit.suffix().is_empty() {
        errors.spanned(lit, "the version takes no type suffix");
        return None;
    }
    match lit.base10_digits().parse::<u64>() {
        Ok(0) => {
            errors.spanned(
                lit,
                "the version must be positive: use a timestamp such as `20241124_120000`",
            );
            None
        }
        Ok(value) => Some(Version {
            value,
            span: lit.span(),
        }),
        Err(_) => {
            errors.spanned(
                lit,
                format!(
                    "version `{lit}` does not fit in u64 (at most {}): use a timestamp such as `20241124_120000`",
                    u64::MAX
                ),
            );
            None
        }
    }
}

/// `expand` or `contract`.
fn parse_phase(value: &Expr, errors: &mut Errors) -> Option<Phase> {
    let text = match value {
        Expr::Path(path) if path.qself.is_none() => path.path.get_ident().map(Ident::to_string),
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => {
            errors.spanned(
                lit,
                format!(
                    "expected `expand` or `contract` without quotes: `phase = {}`",
                    lit.value()
                ),
            );
            return None;
        }
        _ => None,
    };
    match text.as_deref() {
        Some("expand") => Some(Phase::Expand),
        Some("contract") => Some(Phase::Contract),
        _ => {
            errors.spanned(value, "expected `expand` or `contract`");
            None
        }
    }
}

/// `allow(rule_id = "reason", ...)`; rule ids may be `snake_case`,
/// `kebab-case` or a string.
fn parse_allow(meta: &Meta, errors: &mut Errors) -> Vec<AllowRule> {
    let usage = "expected `allow(rule_id = \"reason\", ...)`";
    let list = match meta {
        Meta::List(list) if matches!(list.delimiter, syn::MacroDelimiter::Paren(_)) => list,
        other => {
            errors.spanned(other, usage);
            return Vec::new();
        }
    };
    let mut rules: Vec<AllowRule> = Vec::new();
    let pieces = split_at_commas(list.tokens.clone(), errors);
    if pieces.is_empty() {
        errors.spanned(
            list,
            "`allow()` lists no rule: write `allow(rule_id = \"reason\")` or remove it",
        );
    }
    for piece in pieces {
        match parse_allow_rule.parse2(piece) {
            Ok((rule, reason)) => {
                if reason.value().trim().is_empty() {
                    errors.spanned(
                        &reason,
                        "the reason must not be empty: say why the finding is acceptable",
                    );
                } else if rules.iter().any(|r| r.rule == rule.0) {
                    errors.at(rule.1, format!("rule `{}` is allowed twice", rule.0));
                } else {
                    rules.push(AllowRule {
                        rule: rule.0,
                        reason: reason.value(),
                    });
                }
            }
            Err(error) => errors.push(error),
        }
    }
    rules
}

/// One `rule_id = "reason"`: the rule id text and span, and the reason.
fn parse_allow_rule(input: ParseStream<'_>) -> syn::Result<((String, Span), LitStr)> {
    let rule = if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        if lit.value().trim().is_empty() {
            return Err(syn::Error::new(lit.span(), "the rule id must not be empty"));
        }
        (lit.value(), lit.span())
    } else {
        let first: Ident = input.call(syn::ext::IdentExt::parse_any).map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected a lint rule id: `allow(rule_id = \"reason\")`",
            )
        })?;
        let span = first.span();
        let mut text = first.to_string();
        while input.peek(Token![-]) {
            input.parse::<Token![-]>()?;
            let next: Ident = input.call(syn::ext::IdentExt::parse_any)?;
            text.push('-');
            text.push_str(&next.to_string());
        }
        (text, span)
    };
    if !input.peek(Token![=]) {
        return Err(input.error(format!(
            "expected `=` and a reason: `{} = \"why the finding is acceptable\"`",
            rule.0
        )));
    }
    input.parse::<Token![=]>()?;
    let reason = input
        .parse::<LitStr>()
        .map_err(|e| syn::Error::new(e.span(), "expected the reason as a string"))?;
    Ok((rule, reason))
}

/// A path as written, without spaces.
pub(crate) fn path_text(path: &syn::Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}

#[cfg(test)]
mod tests;
