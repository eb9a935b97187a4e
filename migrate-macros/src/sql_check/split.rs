//! Splits a literal into statements exactly as `Db::execute_many` does at
//! run time (a copy of `migrate_core::sql::split`: a proc-macro crate cannot
//! depend on the runtime), so each statement is checked on its own.

/// Splits `script` at top-level semicolons; empty statements are dropped.
pub(crate) fn split(script: &str) -> Vec<String> {
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
