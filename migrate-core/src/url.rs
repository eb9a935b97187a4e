//! Database URLs: which backend they name, and their redacted form, the only
//! one that ever reaches output, logs or errors.

use crate::{Error, Result};

/// The kind of database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// SQLite (`sqlite://path`, `sqlite::memory:`).
    Sqlite,
    /// PostgreSQL (`postgres://`, `postgresql://`).
    Postgres,
    /// MySQL or MariaDB (`mysql://`, `mariadb://`).
    MySql,
}

impl Backend {
    /// The name used in output and file names: `sqlite`, `postgres`, `mysql`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
        }
    }

    /// The lexical rules the statement splitter follows for this backend.
    pub fn sql_dialect(self) -> migrate_sql::Dialect {
        match self {
            Backend::Sqlite => migrate_sql::Dialect::Sqlite,
            Backend::Postgres => migrate_sql::Dialect::Postgres,
            Backend::MySql => migrate_sql::Dialect::MySql,
        }
    }
}

/// A parsed database URL that knows its backend and prints redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct DbUrl {
    raw: String,
    backend: Backend,
}

impl std::fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DbUrl({})", self.redacted())
    }
}

impl std::fmt::Display for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl DbUrl {
    /// Parses a URL, checking only what is needed to pick a backend.
    pub fn parse(raw: &str) -> Result<DbUrl> {
        let raw = raw.trim();
        let invalid = |reason: &str| Error::InvalidUrl {
            url: redact(raw),
            reason: reason.to_string(),
        };
        if raw.is_empty() {
            return Err(invalid(
                "it is empty; set DATABASE_URL or [database] url in Migrate.toml",
            ));
        }
        let Some((scheme, rest)) = raw.split_once(':') else {
            return Err(invalid(
                "it has no scheme; expected sqlite://path, postgres://user@host/db or mysql://user@host/db",
            ));
        };
        let backend = match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Backend::Sqlite,
            "postgres" | "postgresql" => Backend::Postgres,
            "mysql" | "mariadb" => Backend::MySql,
            other => {
                return Err(invalid(&format!(
                    "unknown scheme `{other}`; expected sqlite, postgres or mysql"
                )));
            }
        };
        if backend != Backend::Sqlite {
            let Some(after) = rest.strip_prefix("//") else {
                return Err(invalid("expected `//` after the scheme"));
            };
            let authority = after.split(['/', '?']).next().unwrap_or("");
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            if host.is_empty() {
                return Err(invalid("it names no host"));
            }
            if let Some((_, port)) = host.rsplit_once(':')
                && !host.ends_with(']')
                && port.parse::<u16>().is_err()
            {
                return Err(invalid(&format!("port `{port}` is not a number")));
            }
        } else if rest.trim_start_matches('/').is_empty() {
            return Err(invalid(
                "it names no file; expected sqlite://path/to/app.db",
            ));
        }
        Ok(DbUrl {
            raw: raw.to_string(),
            backend,
        })
    }

    /// The backend this URL names.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL with its password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact(&self.raw)
    }

    /// The full URL, password included: only for handing to a driver.
    pub fn expose(&self) -> &str {
        &self.raw
    }

    /// The password, if the URL has one (percent-decoding is not applied).
    pub fn password(&self) -> Option<&str> {
        let after = self.raw.split_once("://")?.1;
        let authority = after.split(['/', '?']).next()?;
        let userinfo = authority.rsplit_once('@')?.0;
        userinfo
            .split_once(':')
            .map(|(_, p)| p)
            .filter(|p| !p.is_empty())
    }

    /// For SQLite, the file path (`None` for in-memory databases).
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        if self.backend != Backend::Sqlite {
            return None;
        }
        let rest = self.raw.split_once(':')?.1;
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let path = rest.split('?').next()?;
        if path.is_empty() || path == ":memory:" || self.raw.contains("mode=memory") {
            return None;
        }
        Some(std::path::PathBuf::from(path))
    }

    /// This server URL naming database `name` instead of its own, with its
    /// credentials and query kept (tests and benchmarks create databases
    /// beside the one they were given).
    pub fn with_database(&self, name: &str) -> DbUrl {
        let url = self.raw.as_str();
        let (base, query) = url
            .split_once('?')
            .map_or((url, None), |(b, q)| (b, Some(q)));
        let start = base.find("://").map_or(0, |i| i + 3);
        let end = base[start..].find('/').map_or(base.len(), |i| start + i);
        DbUrl {
            raw: format!(
                "{}/{name}{}",
                &base[..end],
                query.map(|q| format!("?{q}")).unwrap_or_default()
            ),
            backend: self.backend,
        }
    }

    /// A stable name of the database this URL reaches, without user or
    /// password: `postgres://host:port/name` or `mysql://host:port/name`
    /// (host lowercased, the default port filled in, the query dropped), or
    /// `sqlite://` and the file's canonical path (`sqlite::memory:` for an
    /// in-memory database). Two URLs reaching the same database through
    /// other credentials or options have the same identity; backups are kept
    /// and pruned per identity.
    ///
    /// ```
    /// use migrate_core::url::DbUrl;
    /// let a = DbUrl::parse("postgresql://app:secret@DB.local/shop?sslmode=require").unwrap();
    /// let b = DbUrl::parse("postgres://admin@db.local:5432/shop").unwrap();
    /// assert_eq!(a.identity(), "postgres://db.local:5432/shop");
    /// assert_eq!(a.identity(), b.identity());
    /// ```
    pub fn identity(&self) -> String {
        match self.backend {
            Backend::Sqlite => match self.sqlite_path() {
                Some(path) => format!("sqlite://{}", canonical(&path).display()),
                None => "sqlite::memory:".to_string(),
            },
            backend => {
                let after = self.raw.split_once("://").map_or("", |(_, a)| a);
                let authority = after.split(['/', '?']).next().unwrap_or("");
                let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
                let has_port = host
                    .rsplit_once(':')
                    .is_some_and(|(_, p)| !host.ends_with(']') && !p.is_empty());
                let host = host.to_ascii_lowercase();
                let host = if has_port {
                    host
                } else {
                    let port = if backend == Backend::Postgres {
                        5432
                    } else {
                        3306
                    };
                    format!("{host}:{port}")
                };
                format!("{}://{host}/{}", backend.as_str(), self.database_name())
            }
        }
    }

    /// The database name (server backends) or file stem (SQLite).
    pub fn database_name(&self) -> String {
        match self.backend {
            Backend::Sqlite => self
                .sqlite_path()
                .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "memory".into()),
            _ => {
                let after = self.raw.split_once("://").map_or("", |(_, a)| a);
                let path = after.split_once('/').map_or("", |(_, p)| p);
                path.split('?').next().unwrap_or("").to_string()
            }
        }
    }
}

/// `path` made absolute and free of symbolic links; a file that does not
/// exist yet gets its folder's canonical path (or the path as given).
fn canonical(path: &std::path::Path) -> std::path::PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match (absolute.parent(), absolute.file_name()) {
        (Some(dir), Some(name)) => dir
            .canonicalize()
            .map(|d| d.join(name))
            .unwrap_or(absolute.clone()),
        _ => absolute,
    }
}

/// Replaces the password of any `scheme://user:password@host` URL in `text`.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '/' || c == '?' || c == '`' || c == '"')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rsplit_once('@') {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, _password)) => {
                    out.push_str(user);
                    out.push_str(":***@");
                    out.push_str(host);
                }
                None => out.push_str(authority),
            },
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_is_replaced_keeping_credentials_and_query() {
        let url = |raw: &str, name: &str| {
            DbUrl::parse(raw)
                .unwrap()
                .with_database(name)
                .expose()
                .to_string()
        };
        assert_eq!(
            url("postgres://u:p@h:5432/postgres?sslmode=disable", "t1"),
            "postgres://u:p@h:5432/t1?sslmode=disable"
        );
        assert_eq!(
            url("mysql://root@127.0.0.1:3306", "t2"),
            "mysql://root@127.0.0.1:3306/t2"
        );
    }

    #[test]
    fn the_identity_names_the_database_and_never_the_credentials() {
        let id = |raw: &str| DbUrl::parse(raw).unwrap().identity();
        assert_eq!(
            id("postgres://u:p@h/shop"),
            id("postgresql://other@H:5432/shop?sslmode=disable")
        );
        assert_ne!(id("postgres://u@h/shop"), id("postgres://u@h/shop_staging"));
        assert_ne!(id("postgres://u@h/shop"), id("postgres://u@h:5433/shop"));
        assert_ne!(id("postgres://u@h/shop"), id("mysql://u@h/shop"));
        assert_eq!(
            id("mysql://root:pw@127.0.0.1/app"),
            "mysql://127.0.0.1:3306/app"
        );
        assert!(!id("postgres://u:s3cret@h/shop").contains("s3cret"));
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.db");
        std::fs::write(&a, b"").unwrap();
        let canon = a.canonicalize().unwrap();
        assert_eq!(
            id(&format!("sqlite://{}", a.display())),
            format!("sqlite://{}", canon.display())
        );
        assert_eq!(
            id(&format!(
                "sqlite://{}/../{}/a.db?mode=rwc",
                a.parent().unwrap().display(),
                dir.path().file_name().unwrap().to_string_lossy()
            )),
            format!("sqlite://{}", canon.display())
        );
        assert_ne!(
            id(&format!("sqlite://{}", a.display())),
            id(&format!("sqlite://{}", dir.path().join("b.db").display()))
        );
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("postgres://app:s3cr3t@db:5432/shop"),
            "postgres://app:***@db:5432/shop"
        );
        assert_eq!(
            redact("error at mysql://root:pw@h/x and sqlite://a.db"),
            "error at mysql://root:***@h/x and sqlite://a.db"
        );
        assert_eq!(redact("postgres://app@db/shop"), "postgres://app@db/shop");
    }

    #[test]
    fn password_with_at_sign_is_redacted() {
        let url = DbUrl::parse("postgres://u:p@ss@h/db").unwrap();
        assert!(!url.redacted().contains("p@ss"));
        assert_eq!(url.password(), Some("p@ss"));
    }

    #[test]
    fn picks_backends() {
        assert_eq!(
            DbUrl::parse("sqlite://a.db").unwrap().backend(),
            Backend::Sqlite
        );
        assert_eq!(
            DbUrl::parse("postgresql://h/db").unwrap().backend(),
            Backend::Postgres
        );
        assert_eq!(
            DbUrl::parse("mariadb://h/db").unwrap().backend(),
            Backend::MySql
        );
        assert!(DbUrl::parse("oracle://h/db").is_err());
        assert!(DbUrl::parse("postgres://").is_err());
        assert!(DbUrl::parse("postgres://h:port/db").is_err());
        assert!(DbUrl::parse("nonsense").is_err());
    }

    #[test]
    fn sqlite_paths() {
        let u = DbUrl::parse("sqlite://data/app.db?mode=rwc").unwrap();
        assert_eq!(
            u.sqlite_path().unwrap(),
            std::path::PathBuf::from("data/app.db")
        );
        assert_eq!(u.database_name(), "app");
        assert!(
            DbUrl::parse("sqlite::memory:")
                .unwrap()
                .sqlite_path()
                .is_none()
        );
        let abs = DbUrl::parse("sqlite:///tmp/x.db").unwrap();
        assert_eq!(
            abs.sqlite_path().unwrap(),
            std::path::PathBuf::from("/tmp/x.db")
        );
    }
}
