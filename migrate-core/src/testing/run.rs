//! The runtime behind `#[migrate_core::test]`: starts a tokio runtime,
//! creates the test's database, runs the body, and removes the database
//! whether the body returned or panicked.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::TestDatabase;
use crate::Db;

/// What a `#[migrate_core::test]` function may take: `&mut Db` (the
/// migrated database) or `&mut TestDatabase` (to reach its URL or apply
/// later migrations).
#[diagnostic::on_unimplemented(
    message = "a #[migrate_core::test] function takes `&mut Db` or `&mut TestDatabase`, not `{Self}`",
    label = "use `db: &mut migrate_core::Db` or `test: &mut migrate_core::testing::TestDatabase`"
)]
pub trait TestArg<'a> {
    /// The argument, borrowed from the test's database.
    fn from_test(test: &'a mut TestDatabase) -> Self;
}

impl<'a> TestArg<'a> for &'a mut Db {
    fn from_test(test: &'a mut TestDatabase) -> Self {
        test.db()
    }
}

impl<'a> TestArg<'a> for &'a mut TestDatabase {
    fn from_test(test: &'a mut TestDatabase) -> Self {
        test
    }
}

/// What a `#[migrate_core::test]` function may return: nothing, or a
/// `Result<(), E>` whose error fails the test (as with `#[test]`).
#[diagnostic::on_unimplemented(
    message = "a #[migrate_core::test] function returns `()` or `Result<(), E>`, not `{Self}`"
)]
pub trait TestReturn {
    /// The value of a test skipped because its `url = …` gave no URL.
    fn skipped() -> Self;
}

impl TestReturn for () {
    fn skipped() -> Self {}
}

impl<E> TestReturn for Result<(), E> {
    fn skipped() -> Self {
        Ok(())
    }
}

/// What `url = …` of the attribute may evaluate to: a URL, or `None` to
/// skip the test (for a server that is not configured).
pub trait IntoBaseUrl {
    /// The URL, or `None` to skip.
    fn into_base_url(self) -> Option<String>;
}

impl IntoBaseUrl for &str {
    fn into_base_url(self) -> Option<String> {
        Some(self.to_string())
    }
}

impl IntoBaseUrl for String {
    fn into_base_url(self) -> Option<String> {
        Some(self)
    }
}

impl IntoBaseUrl for &String {
    fn into_base_url(self) -> Option<String> {
        Some(self.clone())
    }
}

impl<T: IntoBaseUrl> IntoBaseUrl for Option<T> {
    fn into_base_url(self) -> Option<String> {
        self.and_then(IntoBaseUrl::into_base_url)
    }
}

/// Where a test's database comes from.
#[doc(hidden)]
#[derive(Debug)]
pub enum Base {
    /// The URL in this environment variable; unset or empty: a temporary SQLite file.
    Env(&'static str),
    /// This URL; `None`: skip the test.
    Url(Option<String>),
}

impl Base {
    /// `url = expr`.
    pub fn url(url: impl IntoBaseUrl) -> Base {
        Base::Url(url.into_base_url())
    }
}

/// A boxed test body borrowing the test database.
#[doc(hidden)]
pub type Body<'a, R> = Pin<Box<dyn Future<Output = R> + 'a>>;

/// Runs one `#[migrate_core::test]` body on a fresh database (the code the
/// attribute expands to calls this).
#[doc(hidden)]
pub fn run<R: TestReturn>(
    test: &str,
    base: Base,
    up_to: Option<u64>,
    body: impl for<'a> FnOnce(&'a mut TestDatabase) -> Body<'a, R>,
) -> R {
    let base = match base {
        Base::Env(var) => std::env::var(var).ok().filter(|u| !u.trim().is_empty()),
        Base::Url(Some(url)) => Some(url),
        Base::Url(None) => {
            eprintln!("note: skipping {test}: its `url = …` gave no database URL");
            return R::skipped();
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{test}: cannot start a tokio runtime: {e}"));
    runtime.block_on(async move {
        let mut database = TestDatabase::create(base.as_deref(), up_to)
            .await
            .unwrap_or_else(|e| panic!("{test}: cannot set up the test database: {e}"));
        let outcome = CatchUnwind(body(&mut database)).await;
        let removed = database.close().await;
        match outcome {
            Ok(value) => {
                if let Err(e) = removed {
                    panic!("{test}: {e}");
                }
                value
            }
            Err(panic) => {
                if let Err(e) = removed {
                    eprintln!("warning: {test}: {e}");
                }
                std::panic::resume_unwind(panic)
            }
        }
    })
}

/// Polls a future, turning a panic into `Err` with its payload, so the
/// database is removed before the panic continues.
struct CatchUnwind<'a, R>(Body<'a, R>);

impl<R> Future for CatchUnwind<'_, R> {
    type Output = std::thread::Result<R>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}
