//! One module per command; each returns its exit code or an error.

pub mod apply;
pub mod backup;
pub mod check;
pub mod deploy;
mod metrics;
pub mod plan;
pub mod repair;
pub mod rollback;
pub mod stage;
pub mod status;
pub mod verify;

use crate::Context;

/// The command that restores the newest backup of `db` in which `version`
/// was not yet applied, or what to do when there is none.
pub(crate) fn restore_hint(ctx: &Context, db: &migrate_core::url::DbUrl, version: u64) -> String {
    match migrate_core::backup::newest_without(&ctx.config.backup.dir, db, version) {
        Ok(Some(m)) => format!("`{}`", backup::restore_command(ctx, &m)),
        _ => format!(
            "no backup of {} from before it is in {}; restore your own backup from before that time",
            db.redacted(),
            ctx.config.backup.dir.display()
        ),
    }
}
