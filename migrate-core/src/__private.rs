//! What the attributes' generated code refers to. Not a public API: names
//! and shapes may change in any release.

use std::future::Future;

pub use crate::migration::{BoxFuture, HealthCheck, Migration, MigrationFnPtr, Phase};
pub use crate::{Db, Result};
pub use inventory;

/// The shape of an up, down or health-check function:
/// `async fn(&mut Db) -> migrate_core::Result<()>`.
///
/// The attribute calls a function as
/// `Box::pin(<_ as MigrationFn<'a, _>>::call(f, db))`, coerced to
/// [`BoxFuture`]. The marker `M` is left to inference so the decoy impls below
/// stay candidates: a wrong arity or `&Db` then gets this trait's message,
/// spanned at the function's name, instead of a closure-signature mismatch.
/// `Send` is not part of the trait on purpose: the coercion checks it, and
/// rustc's own message for it points at the value held across an `.await`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a migration function",
    label = "expected `async fn(&mut Db) -> migrate_core::Result<()>`",
    note = "migration, down and health-check functions must be `async fn name(db: &mut migrate_core::Db) -> migrate_core::Result<()>`"
)]
pub trait MigrationFn<'a, M> {
    /// The future the function returns.
    type Fut: Future<Output = Result<()>> + 'a;
    /// Calls the function.
    fn call(self, db: &'a mut Db) -> Self::Fut;
}

#[diagnostic::do_not_recommend]
impl<'a, F, Fut> MigrationFn<'a, ()> for F
where
    F: FnOnce(&'a mut Db) -> Fut,
    Fut: Future<Output = Result<()>> + 'a,
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

/// Boxes the future of a migration function into the registered pointer
/// shape, for records built by hand (the attribute coerces in place, which
/// gives a better message when the future is not `Send`).
pub fn boxed<'a, Fut>(fut: Fut) -> BoxFuture<'a, Result<()>>
where
    Fut: Future<Output = Result<()>> + Send + 'a,
{
    Box::pin(fut)
}

/// Stands in for a missing down function.
///
/// `#[migration]` glob-imports a constant of this type under the down
/// function's name. A real function of that name shadows the glob import, so
/// the stand-in is only used when the function is missing; then the
/// attribute's `const` check ([`is_missing_down`]) fails compilation with a
/// message naming the function and the fix (a plain unresolved name would get
/// a rustc suggestion to rename `reversible`). The stand-in implements
/// [`MigrationFn`] so that no second, vaguer error follows.
///
/// Its odd size is what tells it apart: functions are zero-sized, function
/// pointers are pointer-sized.
pub struct MissingDownFn {
    _size: [u8; MISSING_DOWN_SIZE],
}

const MISSING_DOWN_SIZE: usize = 4093;

impl MissingDownFn {
    /// The stand-in.
    pub const NEW: MissingDownFn = MissingDownFn {
        _size: [0; MISSING_DOWN_SIZE],
    };
}

/// Whether `down` is the stand-in for a missing down function.
pub const fn is_missing_down<T>(_down: &T) -> bool {
    size_of::<T>() == MISSING_DOWN_SIZE
}

impl<'a> MigrationFn<'a, ()> for MissingDownFn {
    type Fut = std::future::Ready<Result<()>>;
    fn call(self, _db: &'a mut Db) -> Self::Fut {
        unreachable!("a missing down function fails compilation")
    }
}
