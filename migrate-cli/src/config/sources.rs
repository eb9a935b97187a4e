//! Reads each key from the environment and the parsed `Migrate.toml`, checking its form.

use std::collections::BTreeMap;
use std::time::Duration;

use toml::{Table, Value};

use super::suggest::nearest;

/// The sections of `Migrate.toml` and the keys each accepts; `None` is the top level.
pub(super) const SCHEMA: &[(Option<&str>, &[&str])] = &[
    (None, &["package", "history_table"]),
    (Some("database"), &["url"]),
    (
        Some("staging"),
        &[
            "url",
            "clone",
            "max_duration",
            "lock_budget",
            "max_migration_duration",
        ],
    ),
    (Some("backup"), &["dir", "keep"]),
    (
        Some("apply"),
        &[
            "lock_wait",
            "lock_timeout",
            "lock_retries",
            "statement_timeout",
            "require_rehearsal",
            "connect_timeout",
        ],
    ),
    (
        Some("verify"),
        &[
            "queries",
            "probes",
            "latency_regression",
            "window",
            "latency_floor",
            "metrics_url",
            "metrics_requests",
            "metrics_errors",
            "metrics_latency",
            "error_rate_max",
            "error_rate_regression",
            "lock_waiters_max",
            "command",
            "command_timeout",
            "disable",
        ],
    ),
];

/// How one kind of value is read from the file and from an environment
/// variable, and how its valid form is described when it is wrong.
pub(super) struct Kind<T> {
    /// The valid form in a file, e.g. `a duration such as "2s" or "5m"`.
    expected: &'static str,
    /// The valid form in an environment variable.
    env_expected: &'static str,
    from_toml: fn(&Value) -> Option<T>,
    from_env: fn(&str) -> Option<T>,
}

pub(super) const STRING: Kind<String> = Kind {
    expected: "a string",
    env_expected: "a string",
    from_toml: |v| v.as_str().map(str::to_owned),
    from_env: |s| Some(s.to_owned()),
};

pub(super) const BOOL: Kind<bool> = Kind {
    expected: "true or false",
    env_expected: "true or false (or 1 or 0)",
    from_toml: Value::as_bool,
    from_env: |s| match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    },
};

const DURATION_FORM: &str = "a duration such as \"2s\" or \"5m\"";

pub(super) const DURATION: Kind<Duration> = Kind {
    expected: DURATION_FORM,
    env_expected: DURATION_FORM,
    from_toml: |v| v.as_str().and_then(parse_duration),
    from_env: parse_duration,
};

const LIMIT_FORM: &str = "a duration such as \"30s\" or \"10m\", or \"0s\" for no limit";

/// A duration where zero means "no limit".
pub(super) const LIMIT: Kind<Option<Duration>> = Kind {
    expected: LIMIT_FORM,
    env_expected: LIMIT_FORM,
    from_toml: |v| v.as_str().and_then(parse_limit),
    from_env: parse_limit,
};

pub(super) const COUNT: Kind<usize> = Kind {
    expected: "a whole number such as 10",
    env_expected: "a whole number such as 10",
    from_toml: |v| v.as_integer().and_then(|n| usize::try_from(n).ok()),
    from_env: |s| s.trim().parse().ok(),
};

const RETRIES_FORM: &str = "a whole number from 0 to 100";

pub(super) const RETRIES: Kind<u32> = Kind {
    expected: RETRIES_FORM,
    env_expected: RETRIES_FORM,
    from_toml: |v| {
        v.as_integer()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|&n| n <= 100)
    },
    from_env: |s| s.trim().parse().ok().filter(|&n| n <= 100),
};

const FACTOR_FORM: &str = "a number of at least 1.0 such as 2.0";

/// A multiplier of at least 1.
pub(super) const FACTOR: Kind<f64> = Kind {
    expected: FACTOR_FORM,
    env_expected: FACTOR_FORM,
    from_toml: |v| toml_number(v).filter(|&x| x.is_finite() && x >= 1.0),
    from_env: |s| {
        s.trim()
            .parse()
            .ok()
            .filter(|&x: &f64| x.is_finite() && x >= 1.0)
    },
};

const RATIO_FORM: &str = "a number from 0 to 1 such as 0.01";

/// A fraction in `[0, 1]`.
pub(super) const RATIO: Kind<f64> = Kind {
    expected: RATIO_FORM,
    env_expected: RATIO_FORM,
    from_toml: |v| toml_number(v).filter(|x| (0.0..=1.0).contains(x)),
    from_env: |s| {
        s.trim()
            .parse()
            .ok()
            .filter(|x: &f64| (0.0..=1.0).contains(x))
    },
};

const IDENTIFIER_FORM: &str = "a plain SQL identifier such as \"_migrate_history\" \
     (ASCII letters, digits and underscores, not starting with a digit, at most 63 characters)";

pub(super) const IDENTIFIER: Kind<String> = Kind {
    expected: IDENTIFIER_FORM,
    env_expected: IDENTIFIER_FORM,
    from_toml: |v| v.as_str().filter(|s| is_identifier(s)).map(str::to_owned),
    from_env: |s| Some(s.to_owned()).filter(|s| is_identifier(s)),
};

/// A list of paths or globs; comma-separated in the environment.
pub(super) const PATTERNS: Kind<Vec<String>> = Kind {
    expected: "a list of strings such as [\"queries/*.sql\", \".sqlx\"]",
    env_expected: "a comma-separated list such as \"queries/*.sql,.sqlx\"",
    from_toml: string_list,
    from_env: |s| Some(split_list(s, ',')),
};

/// A list of SQL statements; semicolon-separated in the environment, because
/// SQL itself is full of commas.
pub(super) const STATEMENTS: Kind<Vec<String>> = Kind {
    expected: "a list of SQL queries such as [\"SELECT count(*) FROM orders\"]",
    env_expected: "a semicolon-separated list of SQL queries",
    from_toml: string_list,
    from_env: |s| Some(split_list(s, ';')),
};

/// Check names mapped to the reason each is disabled.
pub(super) const REASONS: Kind<BTreeMap<String, String>> = Kind {
    expected: "a table of check names to reasons such as { latency = \"no traffic in CI\" } \
               (a check can be disabled only with a reason)",
    env_expected: "`check=reason` pairs separated by semicolons such as \
                   \"latency=no traffic in CI\" (a check can be disabled only with a reason)",
    from_toml: |v| {
        v.as_table()?
            .iter()
            .map(|(check, reason)| {
                let reason = reason.as_str().map(str::trim).filter(|r| !r.is_empty())?;
                Some((check.clone(), reason.to_owned()))
            })
            .collect()
    },
    from_env: |s| {
        s.split(';')
            .filter(|pair| !pair.trim().is_empty())
            .map(|pair| {
                let (check, reason) = pair.split_once('=')?;
                let (check, reason) = (check.trim(), reason.trim());
                (!check.is_empty() && !reason.is_empty())
                    .then(|| (check.to_owned(), reason.to_owned()))
            })
            .collect()
    },
};

fn parse_duration(s: &str) -> Option<Duration> {
    humantime::parse_duration(s.trim()).ok()
}

fn parse_limit(s: &str) -> Option<Option<Duration>> {
    parse_duration(s).map(|d| Some(d).filter(|d| !d.is_zero()))
}

fn toml_number(v: &Value) -> Option<f64> {
    match v {
        Value::Float(x) => Some(*x),
        Value::Integer(n) => Some(*n as f64),
        _ => None,
    }
}

fn string_list(v: &Value) -> Option<Vec<String>> {
    v.as_array()?
        .iter()
        .map(|item| item.as_str().map(str::to_owned))
        .collect()
}

fn split_list(s: &str, separator: char) -> Vec<String> {
    s.split(separator)
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 63
}

/// The environment variable that overrides `key` in `section`:
/// `MIGRATE_<SECTION>_<KEY>`, or `MIGRATE_<KEY>` for a top-level key.
pub(super) fn env_var_name(section: Option<&str>, key: &str) -> String {
    match section {
        Some(section) => format!("MIGRATE_{section}_{key}").to_ascii_uppercase(),
        None => format!("MIGRATE_{key}").to_ascii_uppercase(),
    }
}

/// Keys ending in `url` may hold passwords: their values never appear in errors.
fn is_secret(key: &str) -> bool {
    key.ends_with("url")
}

/// The parsed file and the environment, read key by key; every problem found
/// is collected so that all of them can be reported at once.
pub(super) struct Sources<'a> {
    table: &'a Table,
    /// The file's path as shown in messages.
    origin: &'a str,
    env: &'a dyn Fn(&str) -> Option<String>,
    /// Every problem found so far, each a complete sentence.
    pub(super) errors: Vec<String>,
}

impl<'a> Sources<'a> {
    pub(super) fn new(
        table: &'a Table,
        origin: &'a str,
        env: &'a dyn Fn(&str) -> Option<String>,
    ) -> Self {
        Sources {
            table,
            origin,
            env,
            errors: Vec::new(),
        }
    }

    /// A set, non-empty environment variable (an empty one counts as unset).
    pub(super) fn env(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|value| !value.trim().is_empty())
    }

    /// Reads `key` of `section`: the environment wins over the file; `None`
    /// when neither sets it or when the value is wrong (then an error is recorded).
    pub(super) fn get<T>(&mut self, section: Option<&str>, key: &str, kind: &Kind<T>) -> Option<T> {
        let from_file = file_value(self.table, section, key).and_then(|value| {
            let parsed = (kind.from_toml)(value);
            if parsed.is_none() {
                let found = describe(value, is_secret(key));
                self.errors.push(format!(
                    "{} must be {}, found {found}; fix the value or remove the key to use the default",
                    self.place(section, key),
                    kind.expected,
                ));
            }
            parsed
        });
        let var = env_var_name(section, key);
        let from_env = self.env(&var).and_then(|raw| {
            let parsed = (kind.from_env)(&raw);
            if parsed.is_none() {
                let shown = if is_secret(key) {
                    String::new()
                } else {
                    format!(" is `{raw}`, which")
                };
                self.errors.push(format!(
                    "environment variable {var}{shown} is not {}; fix or unset it",
                    kind.env_expected,
                ));
            }
            parsed
        });
        from_env.or(from_file)
    }

    /// Records an error for every key or section that `SCHEMA` does not know.
    pub(super) fn check_keys(&mut self) {
        for (name, value) in self.table {
            if top_level_keys().any(|key| key == name) {
                continue;
            }
            match SCHEMA
                .iter()
                .find(|(section, _)| *section == Some(name.as_str()))
            {
                Some((_, keys)) => match value.as_table() {
                    Some(section) => self.check_section(name, keys, section),
                    None => self.errors.push(format!(
                        "`{name}` in {} must be a section (the `[{name}]` header with its keys \
                         below it), found {}; fix it",
                        self.origin,
                        describe(value, true),
                    )),
                },
                None if value.is_table() => self.unknown_section(name),
                None => self.unknown_top_level_key(name),
            }
        }
    }

    fn check_section(&mut self, section: &str, keys: &[&str], table: &Table) {
        for key in table.keys() {
            if keys.contains(&key.as_str()) {
                continue;
            }
            let hint = match nearest(key, keys.iter().copied()) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!("the keys of [{section}] are {}", list(keys, "`", "`")),
            };
            self.errors.push(format!(
                "unknown key `{key}` in [{section}] of {}; {hint}",
                self.origin
            ));
        }
    }

    fn unknown_section(&mut self, name: &str) {
        let sections: Vec<&str> = SCHEMA.iter().filter_map(|(section, _)| *section).collect();
        let hint = match nearest(name, sections.iter().copied()) {
            Some(near) => format!("did you mean [{near}]?"),
            None => format!("the sections are {}", list(&sections, "[", "]")),
        };
        self.errors.push(format!(
            "unknown section [{name}] in {}; {hint}",
            self.origin
        ));
    }

    fn unknown_top_level_key(&mut self, name: &str) {
        let home = SCHEMA
            .iter()
            .find(|(section, keys)| section.is_some() && keys.contains(&name))
            .and_then(|(section, _)| *section);
        let hint = match (home, nearest(name, top_level_keys())) {
            (Some(section), _) => {
                format!("it belongs in [{section}]: move it below the `[{section}]` header")
            }
            (None, Some(near)) => format!("did you mean `{near}`?"),
            (None, None) => format!(
                "the top-level keys are {}",
                list(&top_level_keys().collect::<Vec<_>>(), "`", "`")
            ),
        };
        self.errors.push(format!(
            "unknown key `{name}` at the top of {}; {hint}",
            self.origin
        ));
    }

    /// Where a key is, for messages: "`keep` in [backup] of /x/Migrate.toml".
    fn place(&self, section: Option<&str>, key: &str) -> String {
        match (section, is_secret(key)) {
            (Some(section), true) if key == "url" => {
                format!("the url in [{section}] of {}", self.origin)
            }
            (Some(section), _) => format!("`{key}` in [{section}] of {}", self.origin),
            (None, _) => format!("`{key}` in {}", self.origin),
        }
    }
}

fn top_level_keys() -> impl Iterator<Item = &'static str> {
    SCHEMA
        .iter()
        .filter(|(section, _)| section.is_none())
        .flat_map(|(_, keys)| keys.iter().copied())
}

fn file_value<'t>(table: &'t Table, section: Option<&str>, key: &str) -> Option<&'t Value> {
    match section {
        Some(section) => table.get(section)?.as_table()?.get(key),
        None => table.get(key),
    }
}

/// Describes a wrong value: the value itself for short scalars, else its type.
fn describe(value: &Value, secret: bool) -> String {
    let article = |kind: &str| {
        if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
            format!("an {kind}")
        } else {
            format!("a {kind}")
        }
    };
    match value {
        Value::Array(_) | Value::Table(_) => article(value.type_str()),
        _ if secret => article(value.type_str()),
        Value::String(s) if s.chars().count() > 40 => article(value.type_str()),
        Value::String(s) => format!("the string {s:?}"),
        Value::Integer(n) => format!("the integer {n}"),
        Value::Float(x) => format!("the float {x}"),
        Value::Boolean(b) => format!("the boolean {b}"),
        Value::Datetime(d) => format!("the datetime {d}"),
    }
}

fn list(items: &[&str], open: &str, close: &str) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|item| format!("{open}{item}{close}"))
        .collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}
