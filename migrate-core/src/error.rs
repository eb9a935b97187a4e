//! The error type of the runtime, each variant a sentence that says what
//! happened and what to do, mapped to a documented exit code.

use std::time::Duration;

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while migrating.
///
/// Messages are lowercase, without a trailing period, and never contain a
/// database password (URLs are redacted before they get here).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A message from a migration, a health check or the tool itself.
    #[error("{0}")]
    Message(String),

    /// A database error outside of any particular statement.
    #[error("database error: {}", db_message(.0))]
    Database(#[from] sqlx::Error),

    /// A statement run through [`crate::Db`] failed.
    #[error("statement failed: {message}\n  statement: {sql}")]
    Statement {
        /// The statement, as sent.
        sql: String,
        /// The database's message.
        message: String,
        /// Whether the failure was a lock timeout (the statement can be retried).
        lock_timeout: bool,
        /// The underlying error.
        #[source]
        source: sqlx::Error,
    },

    /// A file system error.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),

    /// The configuration or the command line is wrong.
    #[error("{0}")]
    Config(String),

    /// The database URL cannot be used.
    #[error("invalid database url `{url}`: {reason}")]
    InvalidUrl {
        /// The URL, redacted.
        url: String,
        /// Why it is invalid and what a valid one looks like.
        reason: String,
    },

    /// The database did not answer.
    #[error(
        "cannot connect to {url}: {reason}\n  Check that the server is running and the URL is right. Nothing was changed."
    )]
    Unreachable {
        /// The URL, redacted.
        url: String,
        /// What the driver said.
        reason: String,
    },

    /// Two registered migrations share a version.
    #[error(
        "migration version {v} is registered twice: `{first_name}` at {first_location} and `{second_name}` at {second_location}\n  Give one of them a new version (`cargo migrate new` picks a timestamp). Nothing was changed.",
        v = crate::display_version(*.version)
    )]
    DuplicateVersion {
        /// The version.
        version: u64,
        /// Name of the first migration.
        first_name: String,
        /// `file:line` of the first migration.
        first_location: String,
        /// Name of the second migration.
        second_name: String,
        /// `file:line` of the second migration.
        second_location: String,
    },

    /// The migrator lock is held by someone else.
    #[error(
        "cannot take the migration lock on {target}\n  another deployer holds it{holder}; waited {waited} (apply.lock_wait). Retry when it finishes, or raise MIGRATE_APPLY_LOCK_WAIT. Nothing was changed."
    )]
    LockNotAcquired {
        /// Which database, redacted.
        target: String,
        /// Who holds it, as `: pid 1 on host since ...`, or empty.
        holder: String,
        /// How long we waited, human readable.
        waited: String,
    },

    /// The history says a migration was started and never finished.
    #[error(
        "the database is dirty: migration {v} `{name}` {state} and was not finished{detail}\n  Inspect the database, then run `cargo migrate repair {v} --applied` if its changes are in place, or `cargo migrate repair {v} --rolled-back` after undoing them. Nothing was changed.",
        v = crate::display_version(*.version)
    )]
    Dirty {
        /// Version of the dirty migration.
        version: u64,
        /// Its name.
        name: String,
        /// `started` or `failed`.
        state: String,
        /// The recorded error and statement, if any.
        detail: String,
    },

    /// An applied migration's code changed since it was applied.
    #[error(
        "migration {v} `{name}` was applied with checksum {applied}, the code now hashes to {current} ({location})\n  Restore the applied code, or accept the edit with `--allow-drift`. Nothing was changed.",
        v = crate::display_version(*.version)
    )]
    Drift {
        /// Version.
        version: u64,
        /// Name.
        name: String,
        /// Checksum in the history.
        applied: String,
        /// Checksum of the code.
        current: String,
        /// `file:line` of the migration.
        location: String,
    },

    /// Pending migrations older than the newest applied one.
    #[error(
        "migration {v} `{name}` is pending but older than the newest applied migration {n}\n  It was probably merged after a newer one was deployed. Apply it with `--allow-out-of-order` if it does not depend on the order. Nothing was changed.",
        v = crate::display_version(*.version),
        n = crate::display_version(*.newest)
    )]
    OutOfOrder {
        /// The pending version.
        version: u64,
        /// Its name.
        name: String,
        /// The newest applied version.
        newest: u64,
    },

    /// A migration failed; the database is as it was before it (or dirty, for
    /// non-transactional migrations, as the message says).
    #[error("migration {v} `{name}` failed: {source}\n  {state}", v = crate::display_version(*.version))]
    MigrationFailed {
        /// Version.
        version: u64,
        /// Name.
        name: String,
        /// The failing statement, if one failed.
        statement: Option<String>,
        /// What state the database is in now.
        state: String,
        /// The cause.
        #[source]
        source: Box<Error>,
    },

    /// The operation was refused because it would be unsafe.
    #[error("{0}")]
    Refused(String),

    /// A check failed (verify, stage, round trip).
    #[error("{0}")]
    CheckFailed(String),

    /// An error on a named database: the message says which one and in
    /// which role, and the commands it suggests act on that database.
    /// Exit code and kind are the wrapped error's.
    #[error("{message}")]
    On {
        /// The role: `production`, `staging`, `scratch`.
        role: String,
        /// The database, redacted.
        database: String,
        /// The wrapped error's message, naming the database, its suggested
        /// commands completed for it.
        message: String,
        /// The wrapped error.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// An error carrying a message of its own, for migrations and health checks.
    ///
    /// ```
    /// # use migrate_core::Error;
    /// let err = Error::msg("orders.total has negative values");
    /// assert_eq!(err.to_string(), "orders.total has negative values");
    /// ```
    pub fn msg(message: impl std::fmt::Display) -> Self {
        Error::Message(message.to_string())
    }

    /// This error, said to be about `database` in `role` (`production`,
    /// `staging`, ...): the message starts with both, and every
    /// ``cargo migrate …`` command it suggests gets `flag` (e.g.
    /// `--staging`) so that, run as printed, it acts on that database.
    /// An error already placed is returned as it is.
    ///
    /// ```
    /// use migrate_core::{Error, url::DbUrl};
    /// let url = DbUrl::parse("postgres://app:secret@db/shop_staging").unwrap();
    /// let e = Error::msg("dirty: run `cargo migrate repair 1 --run-down`").on("staging", &url, Some("--staging"));
    /// assert_eq!(
    ///     e.to_string(),
    ///     "on the staging database postgres://app:***@db/shop_staging: dirty: run `cargo migrate repair 1 --run-down --staging`"
    /// );
    /// ```
    pub fn on(self, role: &str, url: &crate::url::DbUrl, flag: Option<&str>) -> Error {
        if matches!(self, Error::On { .. }) {
            return self;
        }
        let database = url.redacted();
        let mut text = self.to_string();
        if let Some(flag) = flag {
            text = complete_commands(&text, flag);
        }
        // A message that names the URL already only needs the role.
        let message = match text.contains(&database) {
            true => format!("on the {role} database: {text}"),
            false => format!("on the {role} database {database}: {text}"),
        };
        let message = crate::url::redact(&message);
        Error::On {
            role: role.to_string(),
            database,
            message,
            source: Box::new(self),
        }
    }

    /// The process exit code for this error, as documented in `--help`:
    /// 1 failed, 2 usage or configuration, 3 database unreachable, 4 action
    /// needed or refused, 5 migrator lock not acquired.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) | Error::InvalidUrl { .. } | Error::DuplicateVersion { .. } => 2,
            Error::Unreachable { .. } => 3,
            Error::Dirty { .. }
            | Error::Drift { .. }
            | Error::OutOfOrder { .. }
            | Error::Refused(_) => 4,
            Error::LockNotAcquired { .. } => 5,
            Error::On { source, .. } => source.exit_code(),
            _ => 1,
        }
    }

    /// Whether this error is a lock timeout that may succeed when retried.
    pub fn is_lock_timeout(&self) -> bool {
        match self {
            Error::Statement { lock_timeout, .. } => *lock_timeout,
            Error::MigrationFailed { source, .. } | Error::On { source, .. } => {
                source.is_lock_timeout()
            }
            _ => false,
        }
    }

    /// The failing statement, if the error comes from one.
    pub fn statement(&self) -> Option<&str> {
        match self {
            Error::Statement { sql, .. } => Some(sql),
            Error::MigrationFailed { statement, .. } => statement.as_deref(),
            Error::On { source, .. } => source.statement(),
            _ => None,
        }
    }

    /// A short machine-readable kind, used in JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Message(_) => "message",
            Error::Database(_) => "database",
            Error::Statement { .. } => "statement",
            Error::Io(_) => "io",
            Error::Config(_) => "config",
            Error::InvalidUrl { .. } => "invalid_url",
            Error::Unreachable { .. } => "unreachable",
            Error::DuplicateVersion { .. } => "duplicate_version",
            Error::LockNotAcquired { .. } => "lock_not_acquired",
            Error::Dirty { .. } => "dirty",
            Error::Drift { .. } => "drift",
            Error::OutOfOrder { .. } => "out_of_order",
            Error::MigrationFailed { .. } => "migration_failed",
            Error::Refused(_) => "refused",
            Error::CheckFailed(_) => "check_failed",
            Error::On { source, .. } => source.kind(),
        }
    }
}

/// `text` with `flag` added at the end of every `` `cargo migrate …` ``
/// command in backticks that does not carry it yet, so that advice printed
/// for another database than production (`--staging`) acts on it.
pub fn complete_commands(text: &str, flag: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(start) = rest.find("`cargo migrate ") {
        let (before, from) = rest.split_at(start);
        out.push_str(before);
        match from[1..].find('`') {
            Some(end) => {
                let command = &from[..end + 1];
                out.push_str(command);
                if !command.contains(flag) {
                    out.push(' ');
                    out.push_str(flag);
                }
                out.push('`');
                rest = &from[end + 2..];
            }
            None => {
                out.push_str(from);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Formats a duration for people: `41 ms`, `2.3 s`, `2 min 40 s`.
pub fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        let s = d.as_secs();
        format!("{} min {} s", s / 60, s % 60)
    }
}

/// What a database error says, as a user reads it: sqlx's text, URLs
/// redacted, without the ` at line N` sqlx appends to a PostgreSQL error (the
/// line of the server's C source that raised it, e.g. `postinit.c` line 948:
/// noise to a user). Every database error that reaches a message goes
/// through here. Everything else the server said is kept, including a
/// MySQL/MariaDB `... at line 1`, which is the line of the statement.
pub fn db_message(err: &sqlx::Error) -> String {
    #[allow(unused_mut)]
    let mut source_line = None;
    #[cfg(feature = "postgres")]
    if let sqlx::Error::Database(db) = err
        && let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
    {
        source_line = pg.line();
    }
    crate::url::redact(&without_source_line(&err.to_string(), source_line))
}

/// `text` without the ` at line {line}` that ends it, when it does.
fn without_source_line(text: &str, line: Option<usize>) -> String {
    match line {
        Some(line) => text
            .strip_suffix(&format!(" at line {line}"))
            .unwrap_or(text)
            .to_string(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod placed_tests {
    use super::*;

    #[test]
    fn every_suggested_command_gets_the_flag_once() {
        let text = "run `cargo migrate repair 1 --run-down` or `cargo migrate repair 1 --rolled-back --staging`, then `cargo migrate status`. Fix `x`.";
        assert_eq!(
            complete_commands(text, "--staging"),
            "run `cargo migrate repair 1 --run-down --staging` or `cargo migrate repair 1 --rolled-back --staging`, then `cargo migrate status --staging`. Fix `x`."
        );
        assert_eq!(complete_commands("no command", "--staging"), "no command");
        assert_eq!(
            complete_commands("`cargo migrate broken", "--s"),
            "`cargo migrate broken"
        );
    }

    #[test]
    fn a_placed_error_keeps_its_exit_code_and_kind() {
        let url = crate::url::DbUrl::parse("mysql://root:hunter2@127.0.0.1/app").unwrap();
        let e = Error::Refused("no".into()).on("production", &url, None);
        assert_eq!((e.exit_code(), e.kind()), (4, "refused"));
        assert!(!e.to_string().contains("hunter2"));
        let twice = e.on("staging", &url, Some("--staging"));
        assert!(
            twice
                .to_string()
                .starts_with("on the production database mysql://root:***@127.0.0.1/app: no")
        );
        let named = Error::Unreachable {
            url: url.redacted(),
            reason: "refused".into(),
        }
        .on("production", &url, None);
        assert!(
            named.to_string().starts_with(
                "on the production database: cannot connect to mysql://root:***@127.0.0.1/app"
            ),
            "{named}"
        );
    }
}

#[cfg(test)]
mod db_message_tests {
    use super::without_source_line;

    #[test]
    fn the_server_source_line_of_a_postgres_error_is_dropped_and_nothing_else() {
        assert_eq!(
            without_source_line(
                r#"error returned from database: database "x" does not exist at line 948"#,
                Some(948)
            ),
            r#"error returned from database: database "x" does not exist"#
        );
        // Only the line the server reported, and only at the end.
        assert_eq!(
            without_source_line(
                "syntax error at line 3 of the file at line 1202",
                Some(1202)
            ),
            "syntax error at line 3 of the file"
        );
        assert_eq!(
            without_source_line("relation \"t\" does not exist at line 7", Some(1381)),
            "relation \"t\" does not exist at line 7"
        );
        // MySQL's `at line 1` is the line of the statement: kept (no source line).
        let mysql = "1064 (42000): You have an error in your SQL syntax; check the manual near 'x' at line 1";
        assert_eq!(without_source_line(mysql, None), mysql);
    }
}
