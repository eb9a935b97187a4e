//! Property tests of checksum normalization: random token trees written with
//! random whitespace, comments, doc comments and trailing commas keep their
//! checksum; changing one identifier or literal changes it.

use proptest::prelude::*;

use super::checksum;

/// A token tree to write out as source.
#[derive(Debug, Clone)]
enum Tok {
    Ident(&'static str),
    Lit(&'static str),
    Punct(char),
    /// Open delimiter (`(`, `[` or `{`) and the children.
    Group(char, Vec<Tok>),
}

const IDENTS: &[&str] = &[
    "db", "execute", "await", "Ok", "let", "x", "users", "fn", "r#type",
];
const LITS: &[&str] = &[
    "\"CREATE TABLE t (id INT)\"",
    "\"UPDATE t SET v = 'a,b' -- not a comment\"",
    "1",
    "2.5",
    "'c'",
    "b\"bytes\"",
    "r#\"raw \"quoted\" text\"#",
    "\"multi\nline\"",
];
/// Punctuation that never starts a comment when written next to another.
const PUNCTS: &[char] = &[
    '.', ';', '?', '&', '=', '!', '<', '>', '+', '-', ':', '#', '@', ',',
];

fn tok() -> impl Strategy<Value = Tok> {
    let leaf = prop_oneof![
        prop::sample::select(IDENTS).prop_map(Tok::Ident),
        prop::sample::select(LITS).prop_map(Tok::Lit),
        prop::sample::select(PUNCTS).prop_map(Tok::Punct),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        (
            prop::sample::select(&['(', '[', '{'][..]),
            prop::collection::vec(inner, 0..6),
        )
            .prop_map(|(open, children)| Tok::Group(open, children))
    })
}

/// A migration body: a brace group of tokens.
fn body() -> impl Strategy<Value = Tok> {
    prop::collection::vec(tok(), 0..8).prop_map(|children| Tok::Group('{', children))
}

/// What goes between two tokens; `choices` picks one per gap, in turn.
struct Gaps<'a> {
    choices: &'a [u8],
    at: usize,
    options: &'a [&'a str],
}

impl Gaps<'_> {
    fn next(&mut self) -> &str {
        let c = self
            .choices
            .get(self.at % self.choices.len().max(1))
            .copied();
        self.at += 1;
        self.options[usize::from(c.unwrap_or(0)) % self.options.len()]
    }
}

fn close_of(open: char) -> char {
    match open {
        '(' => ')',
        '[' => ']',
        _ => '}',
    }
}

/// Writes `t`, each gap filled by `gaps`; with `trailing_commas`, a `,` is
/// added before every closing delimiter not already preceded by one.
fn write(t: &Tok, gaps: &mut Gaps<'_>, trailing_commas: bool, out: &mut String) {
    match t {
        Tok::Ident(s) | Tok::Lit(s) => out.push_str(s),
        Tok::Punct(c) => out.push(*c),
        Tok::Group(open, children) => {
            out.push(*open);
            for child in children {
                out.push_str(gaps.next());
                write(child, gaps, trailing_commas, out);
            }
            let ends_with_comma = matches!(children.last(), Some(Tok::Punct(',')));
            if trailing_commas && !ends_with_comma {
                out.push_str(gaps.next());
                out.push(',');
            }
            out.push_str(gaps.next());
            out.push(close_of(*open));
        }
    }
}

fn source(t: &Tok, choices: &[u8], options: &[&str], trailing_commas: bool) -> String {
    let mut gaps = Gaps {
        choices,
        at: 0,
        options,
    };
    let mut out = String::new();
    write(t, &mut gaps, trailing_commas, &mut out);
    out
}

fn sum(src: &str) -> String {
    checksum(
        &src.parse()
            .unwrap_or_else(|e| panic!("not tokens ({e}): {src}")),
    )
}

const PLAIN: &[&str] = &[" "];
const NOISY: &[&str] = &[
    " ",
    "\n",
    "\t  ",
    "\r\n",
    " /* a comment, with (parens] */ ",
    " // a line comment {\n",
    "\n    // an indented comment\n    ",
    " /* nested /* block */ comment */ ",
];
const DOCS: &[&str] = &[
    " ",
    "\n/// a doc comment\n",
    "\n//! an inner doc comment\n",
    " /** a block doc */ ",
];

/// A copy of `t` with its `n`-th identifier or literal (depth first) changed.
fn mutate(t: &Tok, n: &mut usize) -> Tok {
    match t {
        Tok::Group(open, children) => {
            Tok::Group(*open, children.iter().map(|c| mutate(c, n)).collect())
        }
        Tok::Ident(s) | Tok::Lit(s) if *n == 0 => {
            *n = usize::MAX;
            let changed = match t {
                Tok::Ident(_) if *s == "x" => "y",
                Tok::Ident(_) => "x",
                _ if *s == "1" => "2",
                _ => "1",
            };
            if matches!(t, Tok::Ident(_)) {
                Tok::Ident(changed)
            } else {
                Tok::Lit(changed)
            }
        }
        Tok::Ident(_) | Tok::Lit(_) => {
            *n = n.saturating_sub(1);
            t.clone()
        }
        Tok::Punct(_) => t.clone(),
    }
}

fn leaves(t: &Tok) -> usize {
    match t {
        Tok::Group(_, children) => children.iter().map(leaves).sum(),
        Tok::Ident(_) | Tok::Lit(_) => 1,
        Tok::Punct(_) => 0,
    }
}

/// `t` written plainly (single spaces).
fn plain(t: &Tok) -> String {
    source(t, &[0], PLAIN, false)
}

/// `t` written with gaps from `options` (and trailing commas if asked)
/// hashes as its plain form.
fn hashes_as_plain(
    t: &Tok,
    choices: &[u8],
    options: &[&str],
    commas: bool,
) -> Result<(), TestCaseError> {
    let (plain, written) = (plain(t), source(t, choices, options, commas));
    prop_assert_eq!(sum(&plain), sum(&written), "{}\n---\n{}", plain, written);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn whitespace_and_comments_keep_the_checksum(
        t in body(),
        choices in prop::collection::vec(any::<u8>(), 1..64),
    ) {
        hashes_as_plain(&t, &choices, NOISY, false)?;
    }

    #[test]
    fn doc_comments_keep_the_checksum(
        t in body(),
        choices in prop::collection::vec(any::<u8>(), 1..64),
    ) {
        hashes_as_plain(&t, &choices, DOCS, false)?;
    }

    #[test]
    fn trailing_commas_keep_the_checksum(
        t in body(),
        choices in prop::collection::vec(any::<u8>(), 1..64),
    ) {
        hashes_as_plain(&t, &choices, NOISY, true)?;
    }

    #[test]
    fn the_pretty_printed_form_keeps_the_checksum(t in body()) {
        let plain = plain(&t);
        let printed = plain.parse::<proc_macro2::TokenStream>().unwrap().to_string();
        prop_assert_eq!(sum(&plain), sum(&printed));
    }

    #[test]
    fn changing_one_identifier_or_literal_changes_the_checksum(
        t in body(),
        pick in any::<prop::sample::Index>(),
    ) {
        let n = leaves(&t);
        prop_assume!(n > 0);
        let changed = mutate(&t, &mut pick.index(n));
        let (a, b) = (plain(&t), plain(&changed));
        prop_assert_ne!(sum(&a), sum(&b), "{}\n---\n{}", a, b);
    }
}
