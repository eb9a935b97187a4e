//! What the attributes' generated code refers to. Not a public API: names
//! and shapes may change in any release.

use std::future::Future;
use std::marker::PhantomData;

pub use crate::migration::{BoxFuture, HealthCheck, Migration, MigrationFnPtr, Phase};
pub use crate::{Db, Result};
pub use inventory;

/// The shape of an up, down or health-check function:
/// `async fn(&mut Db) -> migrate_core::Result<()>`, whose future is `Send`.
///
/// The marker `M` only lets the decoy impls below exist, so that the compiler
/// reports wrong arities and `&Db` with this trait's message instead of a
/// generic closure-signature mismatch.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a migration function",
    label = "expected `async fn(&mut Db) -> migrate_core::Result<()>`",
    note = "migration, down and health-check functions must be `async fn name(db: &mut migrate_core::Db) -> migrate_core::Result<()>`, not generic, and their future must be `Send` (hold no `Rc` or `RefCell` borrow across an `.await`)"
)]
pub trait MigrationFn<'a, M> {
    /// The future the function returns.
    type Fut: Future<Output = Result<()>> + Send + 'a;
    /// Calls the function.
    fn call(self, db: &'a mut Db) -> Self::Fut;
}

#[diagnostic::do_not_recommend]
impl<'a, F, Fut> MigrationFn<'a, ()> for F
where
    F: FnOnce(&'a mut Db) -> Fut,
    Fut: Future<Output = Result<()>> + Send + 'a,
{
    type Fut = Fut;
    fn call(self, db: &'a mut Db) -> Fut {
        self(db)
    }
}

/// Never implemented: exists so decoy impls can never apply.
#[doc(hidden)]
pub trait Never {}

/// Decoy for functions without arguments (never satisfiable).
#[diagnostic::do_not_recommend]
impl<'a, F, R> MigrationFn<'a, (u8,)> for F
where
    F: FnOnce() -> R,
    R: Never,
{
    type Fut = std::future::Ready<Result<()>>;
    fn call(self, _db: &'a mut Db) -> Self::Fut {
        unreachable!("decoy impl for diagnostics, never satisfiable")
    }
}

/// Decoy for functions with two arguments (never satisfiable).
#[diagnostic::do_not_recommend]
impl<'a, F, A, B, R> MigrationFn<'a, (u16, A, B)> for F
where
    F: FnOnce(A, B) -> R,
    R: Never,
{
    type Fut = std::future::Ready<Result<()>>;
    fn call(self, _db: &'a mut Db) -> Self::Fut {
        unreachable!("decoy impl for diagnostics, never satisfiable")
    }
}

/// Boxes a call of a user function into the registered pointer shape.
pub fn boxed<'a, F>(f: F, db: &'a mut Db) -> BoxFuture<'a, Result<()>>
where
    F: MigrationFn<'a, ()>,
{
    Box::pin(f.call(db))
}

/// Compile-time check that `f` is a migration function; generates no code.
pub const fn assert_migration_fn<F>(_f: &F)
where
    F: for<'a> MigrationFn<'a, ()>,
{
}

/// What `#[migration]` knows about a down function that does not exist.
pub trait MissingDownInfo {
    /// Names the migration and the missing function.
    const MESSAGE: &'static str;
}

/// Stands in for a missing down function.
///
/// `#[migration]` glob-imports a `#[deprecated]` constant of this type under
/// the down function's name; a real function of that name shadows the glob
/// import, so the constant is only used when the function is missing. Its
/// use is denied, so the deprecation note (naming the function and the fix)
/// is the one error. Type checking passes on purpose, so that no second,
/// vaguer error follows; when lints are capped (a registry dependency), the
/// build still fails as soon as `call` is instantiated, with [`MissingDownInfo::MESSAGE`].
pub struct MissingDownFn<T>(PhantomData<T>);

impl<T> MissingDownFn<T> {
    /// The stand-in.
    #[expect(clippy::new_without_default, reason = "only the attribute constructs it, in a `const`")]
    pub const fn new() -> Self {
        MissingDownFn(PhantomData)
    }
}

/// Fails compilation, once instantiated, with the message of `T`.
struct MissingDownError<T>(PhantomData<T>);

impl<T: MissingDownInfo> MissingDownError<T> {
    const FAIL: () = panic!("{}", T::MESSAGE);
}

impl<'a, T: MissingDownInfo> MigrationFn<'a, ()> for MissingDownFn<T> {
    type Fut = std::future::Ready<Result<()>>;
    fn call(self, _db: &'a mut Db) -> Self::Fut {
        #[expect(clippy::let_unit_value, reason = "evaluates the failing constant")]
        let () = MissingDownError::<T>::FAIL;
        unreachable!("a missing down function fails compilation")
    }
}
