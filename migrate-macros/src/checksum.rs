//! The checksum of a migration: sha256 over a canonical walk of the body's
//! token trees, so formatting and comments never change it.
//!
//! The walk is fixed here, independent of the compiler's pretty-printer:
//! each token is written as a tag byte and its text, then a `0` byte.
//! Identifiers and literals keep their exact text (a literal's line endings
//! normalized to `\n`), punctuation is one character without its spacing,
//! groups are their open and close delimiters. Two things rustfmt may add or
//! remove are skipped: a `,` right before a closing delimiter (doc
//! comments in between do not count), and doc comments (`///`, `//!`)
//! inside the body. The cost is that `(x,)` and `(x)`
//! hash alike.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use sha2::{Digest, Sha256};

/// Version of the walk, hashed first, so a future change of it changes
/// every checksum instead of silently colliding with old ones.
const WALK_VERSION: &[u8] = b"migrate-checksum-v1\0";

/// The hex sha256 of the canonical form of `body`.
pub(crate) fn checksum(body: &TokenStream) -> String {
    let mut hasher = Sha256::new();
    hasher.update(WALK_VERSION);
    walk(body.clone(), &mut hasher);
    hex::encode(hasher.finalize())
}

/// Feeds the canonical form of `tokens` to `hasher`.
fn walk(tokens: TokenStream, hasher: &mut Sha256) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        if let Some(skip) = doc_attribute_len(&tokens[i..]) {
            i += skip;
            continue;
        }
        match &tokens[i] {
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    Delimiter::Parenthesis => (b'(', b')'),
                    Delimiter::Brace => (b'{', b'}'),
                    Delimiter::Bracket => (b'[', b']'),
                    Delimiter::None => (b'<', b'>'),
                };
                hasher.update([b'G', open, 0]);
                walk(group.stream(), hasher);
                hasher.update([b'G', close, 0]);
            }
            TokenTree::Ident(ident) => {
                hasher.update(b"I");
                hasher.update(ident.to_string().as_bytes());
                hasher.update([0]);
            }
            TokenTree::Punct(punct) => {
                let trailing_comma = punct.as_char() == ',' && only_docs(&tokens[i + 1..]);
                if !trailing_comma {
                    let mut buf = [0; 4];
                    hasher.update(b"P");
                    hasher.update(punct.as_char().encode_utf8(&mut buf).as_bytes());
                    hasher.update([0]);
                }
            }
            TokenTree::Literal(literal) => {
                hasher.update(b"L");
                hasher.update(literal.to_string().replace("\r\n", "\n").as_bytes());
                hasher.update([0]);
            }
        }
        i += 1;
    }
}

/// Whether `tokens` are nothing but doc attributes (so a `,` before them is
/// trailing however the doc comments are placed).
fn only_docs(mut tokens: &[TokenTree]) -> bool {
    while !tokens.is_empty() {
        match doc_attribute_len(tokens) {
            Some(len) => tokens = &tokens[len..],
            None => return false,
        }
    }
    true
}

/// How many tokens the doc attribute starting `tokens` spans (`# [doc = ..]`
/// or `# ! [doc = ..]`), if it starts one.
fn doc_attribute_len(tokens: &[TokenTree]) -> Option<usize> {
    let TokenTree::Punct(hash) = tokens.first()? else {
        return None;
    };
    if hash.as_char() != '#' {
        return None;
    }
    let bang = matches!(tokens.get(1), Some(TokenTree::Punct(p)) if p.as_char() == '!');
    let group_at = if bang { 2 } else { 1 };
    let TokenTree::Group(group) = tokens.get(group_at)? else {
        return None;
    };
    if group.delimiter() != Delimiter::Bracket {
        return None;
    }
    let is_doc = matches!(
        group.stream().into_iter().next(),
        Some(TokenTree::Ident(ident)) if ident == "doc"
    );
    is_doc.then_some(group_at + 1)
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(src: &str) -> String {
        checksum(&src.parse().expect("valid tokens"))
    }

    const BODY: &str = r#"{
    db.execute("CREATE TABLE users (id BIGINT PRIMARY KEY, email TEXT NOT NULL)").await?;
    db.execute_many(&["CREATE INDEX a ON users (email)", "ANALYZE users"]).await?;
    Ok(())
}"#;

    #[test]
    fn is_hex_sha256() {
        let sum = sum(BODY);
        assert_eq!(sum.len(), 64);
        assert!(sum.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn ignores_indentation_and_line_breaks() {
        let reindented = "{ db.execute(\"CREATE TABLE users (id BIGINT PRIMARY KEY, email TEXT NOT NULL)\")\n\t\t.await?;\n\
            db . execute_many ( & [ \"CREATE INDEX a ON users (email)\" , \"ANALYZE users\" ] ) . await ? ; Ok(()) }";
        assert_eq!(sum(BODY), sum(reindented));
    }

    #[test]
    fn ignores_comments() {
        let commented = r#"{
    // Create the table first.
    db.execute("CREATE TABLE users (id BIGINT PRIMARY KEY, email TEXT NOT NULL)").await?; /* then */
    /// An index helps lookups by email.
    db.execute_many(&["CREATE INDEX a ON users (email)", "ANALYZE users"]).await?;
    /** done */
    Ok(())
}"#;
        assert_eq!(sum(BODY), sum(commented));
    }

    #[test]
    fn ignores_trailing_commas_from_rewrapping() {
        let rewrapped = r#"{
    db.execute("CREATE TABLE users (id BIGINT PRIMARY KEY, email TEXT NOT NULL)",).await?;
    db.execute_many(&[
        "CREATE INDEX a ON users (email)",
        "ANALYZE users",
    ])
    .await?;
    Ok(())
}"#;
        assert_eq!(sum(BODY), sum(rewrapped));
    }

    #[test]
    fn ignores_crlf_line_endings() {
        assert_eq!(sum(BODY), sum(&BODY.replace('\n', "\r\n")));
        let multiline = "{ db.execute(\"CREATE TABLE t (\n  id INT\n)\").await }";
        assert_eq!(sum(multiline), sum(&multiline.replace('\n', "\r\n")));
    }

    #[test]
    fn changes_when_the_sql_changes() {
        assert_ne!(sum(BODY), sum(&BODY.replace("NOT NULL", "NULL")));
    }

    #[test]
    fn changes_when_the_code_changes() {
        assert_ne!(sum(BODY), sum(&BODY.replace("Ok(())", "Ok(((),).0)")));
        assert_ne!(sum("{ a; b }"), sum("{ a; b; }"));
        assert_ne!(sum("{ ab }"), sum("{ a b }"));
        assert_ne!(sum("{ (a) }"), sum("{ [a] }"));
        assert_ne!(sum("{ f(a, b) }"), sum("{ f(a b) }"));
    }

    #[test]
    fn keeps_non_doc_attributes() {
        assert_ne!(
            sum("{ #[allow(unused)] let x = 1; }"),
            sum("{ let x = 1; }")
        );
    }

    #[test]
    fn is_stable_across_releases() {
        // Recorded checksums of applied migrations depend on this value: if it
        // changes, every applied migration reports drift.
        assert_eq!(
            sum("{ db.execute(\"SELECT 1\").await?; Ok(()) }"),
            "17479bb19e45ef7a28d7ec3e7aa0c64fa827a9e23635f5806fc96733273e2aac"
        );
    }
}
