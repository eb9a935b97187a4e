//! Property tests of `Migrate.toml` reading: any text gives a config or a
//! configuration error (never a panic, never a password in the message),
//! valid configurations round-trip, and the environment wins over the file.

use std::time::Duration;

use proptest::prelude::*;

use super::{parse, parse_with_env};
use crate::config::Config;
use migrate_core::Error;

const SECTIONS: &[&str] = &[
    "[database]",
    "[staging]",
    "[backup]",
    "[apply]",
    "[verify]",
    "[verify.disable]",
    "[aply]",
    "[[apply]]",
    "[",
    "[database.url]",
    "",
];
/// Keys no section accepts (a misspelling, a quoted key, a dotted key).
const ODD_KEYS: &[&str] = &["lock_timout", "\"quoted key\"", "a.b"];
const VALUES: &[&str] = &[
    "\"2s\"",
    "\"5 parsecs\"",
    "\"0s\"",
    "3",
    "-1",
    "1000",
    "99999999999999999999",
    "1e400",
    "0.5",
    "nan",
    "true",
    "\"true\"",
    "[\"a/*.sql\", 1]",
    "[]",
    "{ latency = \"no traffic\" }",
    "{ x = 1 }",
    "\"\"",
    "\"_migrate_history\"",
    "\"drop table;\"",
    "1979-05-27T07:32:00Z",
    "\"unterminated",
    "'''multi\nline'''",
];
/// URL values carry this password; no error may show it.
const URLS: &[&str] = &[
    "\"postgres://app:hunter2@db/shop\"",
    "\"mysql://root:hunter2@127.0.0.1:1/x\"",
    "[\"postgres://app:hunter2@db/shop\"]",
    "{ u = \"postgres://app:hunter2@db\" }",
    "42",
];
const GARBAGE: &[&str] = &[
    "= 3",
    "key",
    "[[",
    "]]",
    "#",
    "\u{0}",
    "\u{feff}x = 1",
    "\t",
    "ü = 1",
];

/// Every key of every section, and some no section accepts.
fn keys() -> Vec<&'static str> {
    crate::config::sources::SCHEMA
        .iter()
        .flat_map(|(_, keys)| keys.iter().copied())
        .chain(ODD_KEYS.iter().copied())
        .collect()
}

/// One line of TOML-ish text.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(SECTIONS).prop_map(str::to_owned),
        (prop::sample::select(keys()), prop::sample::select(VALUES))
            .prop_map(|(k, v)| format!("{k} = {v}")),
        prop::sample::select(URLS).prop_map(|v| format!("url = {v}")),
        prop::sample::select(GARBAGE).prop_map(str::to_owned),
        ".{0,20}",
    ]
}

/// The result is a config or a configuration error with a message.
fn config_or_error(text: &str) -> Result<Option<Config>, TestCaseError> {
    match parse(text) {
        Ok(config) => Ok(Some(config)),
        Err(Error::Config(message)) => {
            prop_assert!(
                !message.trim().is_empty(),
                "an empty message for {:?}",
                text
            );
            prop_assert!(
                !message.contains("hunter2"),
                "a password shown: {}",
                message
            );
            Ok(None)
        }
        Err(other) => Err(TestCaseError::fail(format!(
            "not a configuration error: {other:?} for {text:?}"
        ))),
    }
}

/// A valid value of each kind, written as TOML, with what it must read as.
#[derive(Debug, Clone)]
struct Valid {
    url: String,
    package: String,
    history_table: String,
    dir: String,
    keep: usize,
    lock_wait: Duration,
    lock_retries: u32,
    require_rehearsal: bool,
    clone: bool,
}

fn valid() -> impl Strategy<Value = Valid> {
    (
        "(sqlite://[a-z]{1,8}\\.db|postgres://[a-z]{1,8}@[a-z]{1,8}/[a-z]{1,8})",
        "[a-z][a-z0-9-]{0,12}",
        "[a-z_][a-z0-9_]{0,40}",
        "[a-z]{1,8}(/[a-z]{1,8})?",
        0usize..100_000,
        (0u64..10_000_000).prop_map(Duration::from_millis),
        0u32..=100,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(
                url,
                package,
                history_table,
                dir,
                keep,
                lock_wait,
                lock_retries,
                rehearsal,
                clone,
            )| {
                Valid {
                    url,
                    package,
                    history_table,
                    dir,
                    keep,
                    lock_wait,
                    lock_retries,
                    require_rehearsal: rehearsal,
                    clone,
                }
            },
        )
}

fn toml_of(v: &Valid) -> String {
    format!(
        "package = \"{}\"\nhistory_table = \"{}\"\n\n[database]\nurl = \"{}\"\n\n\
         [staging]\nclone = {}\n\n[backup]\ndir = \"{}\"\nkeep = {}\n\n\
         [apply]\nlock_wait = \"{}\"\nlock_retries = {}\nrequire_rehearsal = {}\n",
        v.package,
        v.history_table,
        v.url,
        v.clone,
        v.dir,
        v.keep,
        humantime::format_duration(v.lock_wait),
        v.lock_retries,
        v.require_rehearsal,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_gives_a_config_or_an_error(text in "(?s).{0,200}") {
        config_or_error(&text)?;
    }

    #[test]
    fn toml_like_text_gives_a_config_or_an_error(lines in prop::collection::vec(line(), 0..12)) {
        let text = lines.join("\n");
        if let Some(config) = config_or_error(&text)? {
            // Reading is deterministic.
            prop_assert_eq!(parse(&text).ok(), Some(config));
        }
    }

    #[test]
    fn valid_configurations_round_trip(v in valid()) {
        let text = toml_of(&v);
        let c = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(c.database.url.as_deref(), Some(v.url.as_str()));
        prop_assert_eq!(c.package.as_deref(), Some(v.package.as_str()));
        prop_assert_eq!(&c.history_table, &v.history_table);
        prop_assert_eq!(&c.backup.dir, &std::path::Path::new("/x").join(&v.dir));
        prop_assert_eq!(c.backup.keep, v.keep);
        prop_assert_eq!(c.apply.lock_wait, v.lock_wait);
        prop_assert_eq!(c.apply.lock_retries, v.lock_retries);
        prop_assert_eq!(c.apply.require_rehearsal, v.require_rehearsal);
        prop_assert_eq!(c.staging.clone, v.clone);
    }

    #[test]
    fn the_environment_wins_over_the_file_unless_blank(
        file in valid(),
        env in valid(),
        // Per variable: 0 unset, 1 blank (counts as unset), 2 set.
        set in prop::collection::vec(0u8..3, 6),
    ) {
        let wait = humantime::format_duration(env.lock_wait).to_string();
        let (keep, retries) = (env.keep.to_string(), env.lock_retries.to_string());
        let rehearsal = env.require_rehearsal.to_string();
        let vars = [
            ("DATABASE_URL", env.url.as_str()),
            ("MIGRATE_HISTORY_TABLE", env.history_table.as_str()),
            ("MIGRATE_BACKUP_KEEP", keep.as_str()),
            ("MIGRATE_APPLY_LOCK_WAIT", wait.as_str()),
            ("MIGRATE_APPLY_LOCK_RETRIES", retries.as_str()),
            ("MIGRATE_APPLY_REQUIRE_REHEARSAL", rehearsal.as_str()),
        ];
        let env_vars: Vec<(&str, &str)> = vars
            .iter()
            .zip(&set)
            .filter(|(_, s)| **s > 0)
            .map(|((k, v), s)| (*k, if *s == 1 { "  " } else { *v }))
            .collect();
        let c = parse_with_env(&toml_of(&file), &env_vars)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let wins = |i: usize| set[i] == 2;
        prop_assert_eq!(
            c.database.url.as_deref(),
            Some(if wins(0) { env.url.as_str() } else { file.url.as_str() })
        );
        prop_assert_eq!(
            &c.history_table,
            if wins(1) { &env.history_table } else { &file.history_table }
        );
        prop_assert_eq!(c.backup.keep, if wins(2) { env.keep } else { file.keep });
        prop_assert_eq!(c.apply.lock_wait, if wins(3) { env.lock_wait } else { file.lock_wait });
        prop_assert_eq!(
            c.apply.lock_retries,
            if wins(4) { env.lock_retries } else { file.lock_retries }
        );
        prop_assert_eq!(
            c.apply.require_rehearsal,
            if wins(5) { env.require_rehearsal } else { file.require_rehearsal }
        );
    }

    #[test]
    fn database_url_wins_over_migrate_database_url_and_the_file(
        file in valid(),
        a in valid(),
        b in valid(),
        set_a in any::<bool>(),
        set_b in any::<bool>(),
    ) {
        let mut vars = Vec::new();
        if set_a {
            vars.push(("DATABASE_URL", a.url.as_str()));
        }
        if set_b {
            vars.push(("MIGRATE_DATABASE_URL", b.url.as_str()));
        }
        let c = parse_with_env(&toml_of(&file), &vars)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let want = if set_a { &a.url } else if set_b { &b.url } else { &file.url };
        prop_assert_eq!(c.database.url.as_deref(), Some(want.as_str()));
    }
}
