//! `cargo migrate new <name>`: a migration file with a timestamp version,
//! up and down stubs that compile, and its `mod` line.

use std::path::Path;

use migrate_cli::output::{Output, Tone};
use migrate_core::Error;
use serde_json::json;

use crate::args::NewArgs;
use crate::timestamp::{Timestamp, next_version, version_text};
use crate::{edit, locate, show};

/// Words that cannot name a function.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Checks that `name` can name the migration's file, module and function.
pub fn check_name(name: &str) -> Result<(), Error> {
    let snake = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 80;
    if !snake {
        return Err(Error::Config(format!(
            "`{name}` is not a valid migration name: use a snake_case identifier such as `add_users` \
             (lowercase letters, digits and underscores, starting with a letter, at most 80 characters)\n  \
             It names the file, the module and the migration's function. Nothing was written."
        )));
    }
    if KEYWORDS.contains(&name) {
        return Err(Error::Config(format!(
            "`{name}` is a Rust keyword and cannot name the migration's function: use a snake_case identifier \
             such as `add_users`. Nothing was written."
        )));
    }
    Ok(())
}

/// Reads a migration module name `m20241124_120000_add_users` as its
/// version and migration name.
pub fn parse_module_name(module: &str) -> Option<(u64, &str)> {
    let rest = module.strip_prefix('m')?;
    let (date, rest) = (rest.get(..8)?, rest.get(8..)?);
    let rest = rest.strip_prefix('_')?;
    let (time, rest) = (rest.get(..6)?, rest.get(6..)?);
    let name = rest.strip_prefix('_')?;
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(date) || !digits(time) || name.is_empty() || check_name(name).is_err() {
        return None;
    }
    Some((format!("{date}{time}").parse().ok()?, name))
}

/// The source of a new migration: documented, compiling up and down
/// functions that do nothing yet.
pub fn migration_source(name: &str, version: u64, created: Timestamp) -> String {
    let version = version_text(version);
    let mut title = name.replace('_', " ");
    if let Some(first) = title.get(..1) {
        title.replace_range(..1, &first.to_ascii_uppercase());
    }
    format!(
        r#"//! Migration `{name}`, created by `cargo migrate new` on {created}.

use migrate_core::{{Db, Result, migration}};

/// {title}.
#[migration({version}, reversible)]
async fn {name}(_db: &mut Db) -> Result<()> {{
    // Make the change with `db.execute("...").await?` (`db.execute_many` runs a
    // script), after renaming the argument to `db`. It runs in one transaction
    // with its history row.
    Ok(())
}}

/// Undoes `{name}`: puts the schema back as it was before it.
async fn {name}_down(_db: &mut Db) -> Result<()> {{
    // Undo the change here. If it cannot be undone, delete this function and
    // write `irreversible = "why"` instead of `reversible` above.
    Ok(())
}}
"#,
        created = created.display()
    )
}

/// Runs `new`.
pub fn run(args: &NewArgs, config: Option<&Path>, out: &Output) -> Result<u8, Error> {
    check_name(&args.name)?;
    let config = locate::config(config)?;
    let package = locate::migrations_package(&config)?;
    let module_root = package.module_root()?.to_path_buf();
    let dir = module_root.parent().unwrap_or(Path::new("."));
    let mut versions = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let file = entry?.file_name();
        let Some(module) = file.to_str().and_then(|f| f.strip_suffix(".rs")) else {
            continue;
        };
        if let Some((version, name)) = parse_module_name(module) {
            if name == args.name {
                return Err(Error::Refused(format!(
                    "a migration named `{}` exists already: {}\n  Pick another name, or edit that file. Nothing was written.",
                    args.name,
                    show(&dir.join(&file))
                )));
            }
            versions.push(version);
        }
    }
    let now = Timestamp::now();
    let version = next_version(now, &versions);
    let module = format!("m{}_{}", version_text(version), args.name);
    let path = dir.join(format!("{module}.rs"));
    let lib = std::fs::read_to_string(&module_root)?;
    crate::write_new(&path, &migration_source(&args.name, version, now))?;
    std::fs::write(&module_root, edit::add_mod_line(&lib, &module))?;

    if out.json() {
        out.document(&json!({
            "ok": true,
            "version": version,
            "name": args.name,
            "file": path,
            "module": module,
            "declared_in": module_root,
        }));
    } else {
        out.line(format!(
            "{} {}   version {}",
            out.paint("created", Tone::Good),
            show(&path),
            version_text(version)
        ));
        out.line(format!(
            "        `mod {module};` added to {}",
            show(&module_root)
        ));
        out.line(format!(
            "Write `{0}` and its down function `{0}_down`, then run `cargo migrate status`.",
            args.name
        ));
    }
    Ok(0)
}

#[cfg(test)]
#[expect(
    clippy::inconsistent_digit_grouping,
    reason = "versions are written YYYYMMDD_HHMMSS, as in migration attributes"
)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_snake_case_identifiers() {
        for good in ["add_users", "a", "v2_backfill", "drop_x_"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "AddUsers",
            "add-users",
            "2fa",
            "_x",
            "add users",
            "é",
            "type",
            "fn",
            &"x".repeat(81),
        ] {
            let err = check_name(bad).expect_err(bad);
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
        assert!(
            check_name("Add")
                .unwrap_err()
                .to_string()
                .contains("snake_case")
        );
    }

    #[test]
    fn module_names_give_version_and_name() {
        assert_eq!(
            parse_module_name("m20241124_120000_add_users"),
            Some((20241124120000, "add_users"))
        );
        assert_eq!(parse_module_name("m20241124_120000_"), None);
        assert_eq!(parse_module_name("m2024112_120000_x"), None);
        assert_eq!(parse_module_name("create_users"), None);
        assert_eq!(parse_module_name("m20241124_12000a_x"), None);
    }

    #[test]
    fn the_stub_names_its_functions_and_version() {
        let created = Timestamp::from_version(20241124_120000).expect("valid");
        let src = migration_source("add_users", 20241124_120001, created);
        assert!(src.contains(
            "#[migration(20241124_120001, reversible)]\nasync fn add_users(_db: &mut Db)"
        ));
        assert!(src.contains("async fn add_users_down(_db: &mut Db)"));
        assert!(src.contains("/// Add users.\n"));
        assert!(src.starts_with(
            "//! Migration `add_users`, created by `cargo migrate new` on 2024-11-24 12:00:00 UTC."
        ));
        assert!(!src.contains("TODO"));
    }
}
