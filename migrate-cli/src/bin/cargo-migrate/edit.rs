//! Careful text edits of the user's own files: the workspace `members` of
//! the root Cargo.toml, `.gitignore`, and the `mod` lines of the migrations
//! crate. Each edit keeps every other byte, comment and formatting as it was.

use toml::{Table, Value};

/// The result of adding a workspace member.
#[derive(Debug, PartialEq, Eq)]
pub enum MemberEdit {
    /// The new manifest text.
    Added(String),
    /// `members` lists it already.
    AlreadyMember,
}

/// `s` as a TOML basic string, quotes included.
pub fn toml_string(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

/// Adds `member` to the `[workspace]` members of the manifest `text`; a plain
/// package gets a `[workspace]` with itself and `member`. The edit is checked
/// by parsing the result: everything but `members` must be unchanged. The
/// error says why the edit cannot be made safely.
pub fn add_member(text: &str, member: &str) -> Result<MemberEdit, String> {
    let old: Table = text.parse().map_err(|e: toml::de::Error| {
        format!("it is not valid TOML ({})", first_line(&e.to_string()))
    })?;
    let has_package = old.contains_key("package");
    let implicit: Vec<&str> = if has_package {
        vec![".", member]
    } else {
        vec![member]
    };
    let quoted = toml_string(member);
    let (new_text, expected) = match old.get("workspace") {
        None => {
            let mut new_text = text.to_string();
            if !new_text.is_empty() && !new_text.ends_with('\n') {
                new_text.push('\n');
            }
            let list: Vec<String> = implicit.iter().map(|m| toml_string(m)).collect();
            new_text.push_str(&format!("\n[workspace]\nmembers = [{}]\n", list.join(", ")));
            let mut expected = old.clone();
            let mut workspace = Table::new();
            workspace.insert("members".into(), strings(&implicit));
            expected.insert("workspace".into(), Value::Table(workspace));
            (new_text, expected)
        }
        Some(workspace) => {
            let members = workspace.get("members");
            let listed: Vec<&str> = match members {
                None => Vec::new(),
                Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
                Some(_) => return Err("its `workspace.members` is not a list".into()),
            };
            let normalize = |m: &str| m.trim_start_matches("./").trim_end_matches('/').to_string();
            if listed.iter().any(|m| normalize(m) == member) {
                return Ok(MemberEdit::AlreadyMember);
            }
            let header = table_header(text, "workspace").ok_or(
                "its `[workspace]` is not written as a `[workspace]` table (an inline table or dotted keys)",
            )?;
            let new_text = match members {
                None => {
                    let list: Vec<String> = implicit.iter().map(|m| toml_string(m)).collect();
                    let mut t = text.to_string();
                    t.insert_str(header, &format!("members = [{}]\n", list.join(", ")));
                    t
                }
                Some(_) => {
                    let open = members_array(text, header)
                        .ok_or("its `members` list could not be found in the text")?;
                    insert_into_array(text, open, &quoted)
                        .ok_or("its `members` list could not be read")?
                }
            };
            let mut expected = old.clone();
            let mut all: Vec<&str> = if members.is_none() {
                Vec::new()
            } else {
                listed.clone()
            };
            if members.is_none() {
                all.extend(&implicit);
            } else {
                all.push(member);
            }
            if let Some(Value::Table(w)) = expected.get_mut("workspace") {
                w.insert("members".into(), strings(&all));
            }
            (new_text, expected)
        }
    };
    match new_text.parse::<Table>() {
        Ok(parsed) if parsed == expected => Ok(MemberEdit::Added(new_text)),
        _ => Err("editing its text would change more than `members`".into()),
    }
}

fn strings(items: &[&str]) -> Value {
    Value::Array(
        items
            .iter()
            .map(|s| Value::String((*s).to_string()))
            .collect(),
    )
}

fn first_line(s: &str) -> &str {
    s.lines().find(|l| !l.trim().is_empty()).unwrap_or(s).trim()
}

/// The byte offset just after the `[name]` header line.
fn table_header(text: &str, name: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let code = line.split('#').next().unwrap_or("").trim();
        if let Some(inner) = code.strip_prefix('[').and_then(|c| c.strip_suffix(']'))
            && !inner.starts_with('[')
            && inner.trim() == name
        {
            return Some(offset + line.len());
        }
        offset += line.len();
    }
    None
}

/// The byte offset of the `[` opening the `members = [...]` array of the
/// table whose body starts at `body`.
fn members_array(text: &str, body: usize) -> Option<usize> {
    let mut offset = body;
    for line in text[body..].split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            return None; // the next table
        }
        if let Some(rest) = trimmed.strip_prefix("members")
            && let Some(value) = rest.trim_start().strip_prefix('=')
            && value.trim_start().starts_with('[')
        {
            let line_start = offset + (line.len() - trimmed.len());
            let value_start = line_start + (trimmed.len() - value.len());
            return Some(value_start + (value.len() - value.trim_start().len()));
        }
        offset += line.len();
    }
    None
}

/// Inserts `item` (already quoted) as the last element of the array of
/// strings opening at `open`, following its layout: one line per element
/// with the same indent and trailing-comma style, or inline.
fn insert_into_array(text: &str, open: usize, item: &str) -> Option<String> {
    #[derive(PartialEq)]
    enum State {
        Code,
        Basic { escaped: bool },
        Literal,
        Comment,
    }
    let mut state = State::Code;
    let mut last: Option<(usize, char)> = None; // end offset and char of the last significant char
    let mut close = None;
    for (i, c) in text[open + 1..].char_indices() {
        let at = open + 1 + i;
        match state {
            State::Code => match c {
                ']' => {
                    close = Some(at);
                    break;
                }
                '#' => state = State::Comment,
                '"' => {
                    state = State::Basic { escaped: false };
                    last = Some((at + 1, c));
                }
                '\'' => {
                    state = State::Literal;
                    last = Some((at + 1, c));
                }
                '[' | '{' => return None, // nested values: not a list of paths
                c if c.is_whitespace() => {}
                c => last = Some((at + c.len_utf8(), c)),
            },
            State::Basic { escaped } => {
                last = Some((at + c.len_utf8(), c));
                state = match (escaped, c) {
                    (false, '\\') => State::Basic { escaped: true },
                    (false, '"') => State::Code,
                    _ => State::Basic { escaped: false },
                };
            }
            State::Literal => {
                last = Some((at + c.len_utf8(), c));
                if c == '\'' {
                    state = State::Code;
                }
            }
            State::Comment => {
                if c == '\n' {
                    state = State::Code;
                }
            }
        }
    }
    let close = close?;
    let mut out = text.to_string();
    let Some((last_end, last_char)) = last else {
        out.insert_str(open + 1, item);
        return Some(out);
    };
    let trailing_comma = last_char == ',';
    match text[last_end..close].find('\n') {
        Some(newline) => {
            let line_start = text[..last_end].rfind('\n').map_or(0, |n| n + 1);
            let indent: String = text[line_start..]
                .chars()
                .take_while(|c| *c == ' ' || *c == '\t')
                .collect();
            let comma = if trailing_comma { "," } else { "" };
            out.insert_str(last_end + newline, &format!("\n{indent}{item}{comma}"));
            if !trailing_comma {
                out.insert(last_end, ',');
            }
        }
        None if trailing_comma => out.insert_str(last_end, &format!(" {item}")),
        None => out.insert_str(last_end, &format!(", {item}")),
    }
    Some(out)
}

/// `.gitignore` with `entries` added, or `None` when every entry is there
/// already (as `data/`, `data`, `/data/` or `/data`).
pub fn gitignore_with(existing: Option<&str>, entries: &[&str]) -> Option<String> {
    let text = existing.unwrap_or("");
    let bare = |s: &str| {
        s.trim()
            .trim_start_matches('/')
            .trim_end_matches('/')
            .to_string()
    };
    let present: Vec<String> = text.lines().map(bare).collect();
    let missing: Vec<&&str> = entries
        .iter()
        .filter(|e| !present.contains(&bare(e)))
        .collect();
    if missing.is_empty() {
        return None;
    }
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    for entry in missing {
        out.push_str(entry);
        out.push('\n');
    }
    Some(out)
}

/// Whether `line` declares a migration module (`mod m20241124_120000_name;`);
/// returns the module name.
fn migration_module(line: &str) -> Option<&str> {
    let code = line.trim();
    let code = code
        .strip_prefix("pub(crate) ")
        .or_else(|| code.strip_prefix("pub "))
        .unwrap_or(code);
    let name = code.strip_prefix("mod ")?.trim().strip_suffix(';')?.trim();
    crate::new::parse_module_name(name).map(|_| name)
}

/// `lib` with `mod <module>;` added among the migration modules, in version
/// order (after the last one older than it), or at the end when there is none.
pub fn add_mod_line(lib: &str, module: &str) -> String {
    let new_line = format!("mod {module};\n");
    let mut offset = 0;
    let mut insert_at = None;
    let mut after_last = None;
    for line in lib.split_inclusive('\n') {
        if let Some(existing) = migration_module(line) {
            if existing > module && insert_at.is_none() {
                insert_at = Some(offset);
            }
            after_last = Some(offset + line.len());
        }
        offset += line.len();
    }
    let mut out = lib.to_string();
    match insert_at.or(after_last) {
        Some(at) if at == out.len() && !out.ends_with('\n') => {
            out.push('\n');
            out.push_str(&new_line);
        }
        Some(at) => out.insert_str(at, &new_line),
        None => {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&new_line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn added(text: &str) -> String {
        match add_member(text, "migrations") {
            Ok(MemberEdit::Added(t)) => t,
            other => panic!("not added: {other:?}"),
        }
    }

    #[test]
    fn a_plain_package_becomes_a_workspace() {
        let text = "[package]\nname = \"app\"\nedition = \"2024\"\n\n[dependencies]\n";
        assert_eq!(
            added(text),
            format!("{text}\n[workspace]\nmembers = [\".\", \"migrations\"]\n")
        );
        let no_newline = "[package]\nname = \"app\"";
        assert_eq!(
            added(no_newline),
            "[package]\nname = \"app\"\n\n[workspace]\nmembers = [\".\", \"migrations\"]\n"
        );
    }

    #[test]
    fn a_multiline_list_gets_a_line_in_its_style() {
        let text = "[workspace]\nresolver = \"3\"\nmembers = [\n    \"app\",\n    \"lib\", # the library\n]\n\n[workspace.dependencies]\nx = \"1\"\n";
        assert_eq!(
            added(text),
            "[workspace]\nresolver = \"3\"\nmembers = [\n    \"app\",\n    \"lib\", # the library\n    \"migrations\",\n]\n\n[workspace.dependencies]\nx = \"1\"\n"
        );
        let no_trailing = "[workspace]\nmembers = [\n  \"app\",\n  \"lib\"\n]\n";
        assert_eq!(
            added(no_trailing),
            "[workspace]\nmembers = [\n  \"app\",\n  \"lib\",\n  \"migrations\"\n]\n"
        );
        let closing_on_last_line = "[workspace]\nmembers = [\"app\",\n           \"lib\"]\n";
        assert_eq!(
            added(closing_on_last_line),
            "[workspace]\nmembers = [\"app\",\n           \"lib\", \"migrations\"]\n"
        );
    }

    #[test]
    fn an_inline_list_stays_inline() {
        assert_eq!(
            added("[workspace]\nmembers = [\"app\"]\n"),
            "[workspace]\nmembers = [\"app\", \"migrations\"]\n"
        );
        assert_eq!(
            added("[workspace]\nmembers = ['crates/*', \"app\",]  # all\n"),
            "[workspace]\nmembers = ['crates/*', \"app\", \"migrations\"]  # all\n"
        );
        assert_eq!(
            added("[workspace]\nmembers = []\n"),
            "[workspace]\nmembers = [\"migrations\"]\n"
        );
        assert_eq!(
            added("[workspace] # root\nmembers=[\"a]b\"] # x = [\n"),
            "[workspace] # root\nmembers=[\"a]b\", \"migrations\"] # x = [\n"
        );
    }

    #[test]
    fn a_workspace_without_members_gets_them() {
        assert_eq!(
            added("[package]\nname = \"app\"\n\n[workspace]\nresolver = \"3\"\n"),
            "[package]\nname = \"app\"\n\n[workspace]\nmembers = [\".\", \"migrations\"]\nresolver = \"3\"\n"
        );
    }

    #[test]
    fn an_existing_member_is_left_alone() {
        assert_eq!(
            add_member("[workspace]\nmembers = [\"./migrations/\"]\n", "migrations"),
            Ok(MemberEdit::AlreadyMember)
        );
    }

    #[test]
    fn unusual_manifests_are_refused_not_mangled() {
        assert!(add_member("workspace = { members = [\"app\"] }\n", "migrations").is_err());
        assert!(add_member("[workspace\n", "migrations").is_err());
        assert!(add_member("[workspace]\nmembers = \"app\"\n", "migrations").is_err());
        // A `[workspace]` inside a multi-line string fools the line scan; the check catches it.
        let tricky = "[package]\nname = \"app\"\ndescription = \"\"\"\n[workspace]\nmembers = [\"x\"]\n\"\"\"\n[workspace]\nmembers = [\"app\"]\n";
        match add_member(tricky, "migrations") {
            Ok(MemberEdit::Added(t)) => {
                assert!(t.ends_with("members = [\"app\", \"migrations\"]\n"), "{t}")
            }
            Err(_) => {}
            Ok(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn gitignore_entries_are_added_once() {
        assert_eq!(
            gitignore_with(None, &["data/", "backups/"]),
            Some("data/\nbackups/\n".into())
        );
        assert_eq!(
            gitignore_with(Some("/target"), &["data/"]),
            Some("/target\ndata/\n".into())
        );
        assert_eq!(
            gitignore_with(Some("/target\n/data\n"), &["data/", "backups/"]),
            Some("/target\n/data\nbackups/\n".into())
        );
        assert_eq!(
            gitignore_with(Some("data/\nbackups\n"), &["data/", "backups/"]),
            None
        );
    }

    #[test]
    fn mod_lines_go_in_version_order() {
        let lib = "//! Migrations.\n\nmod m20240101_000000_a;\nmod m20240301_000000_c;\n\npub fn helper() {}\n";
        assert_eq!(
            add_mod_line(lib, "m20240201_000000_b"),
            "//! Migrations.\n\nmod m20240101_000000_a;\nmod m20240201_000000_b;\nmod m20240301_000000_c;\n\npub fn helper() {}\n"
        );
        assert_eq!(
            add_mod_line(lib, "m20240401_000000_d"),
            "//! Migrations.\n\nmod m20240101_000000_a;\nmod m20240301_000000_c;\nmod m20240401_000000_d;\n\npub fn helper() {}\n"
        );
        assert_eq!(
            add_mod_line("//! Migrations.", "m20240101_000000_a"),
            "//! Migrations.\nmod m20240101_000000_a;\n"
        );
        assert_eq!(
            add_mod_line("pub mod m20240101_000000_a;", "m20240201_000000_b"),
            "pub mod m20240101_000000_a;\nmod m20240201_000000_b;\n"
        );
        assert_eq!(
            add_mod_line("", "m20240101_000000_a"),
            "mod m20240101_000000_a;\n"
        );
    }
}
