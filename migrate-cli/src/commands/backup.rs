//! `backup`, `backups` and `restore`.

use migrate_core::backup::{self, Manifest};
use migrate_core::url::{Backend, DbUrl};
use migrate_core::{Error, Result};
use serde_json::json;

use crate::Context;
use crate::cli::RestoreArgs;
use crate::output::{Output, Tone, table};

/// One line describing a backup.
pub(crate) fn describe(out: &Output, m: &Manifest) -> String {
    format!(
        "{}    {}  {}  sha256 {}…  {}",
        out.paint("backup", Tone::Good),
        m.id,
        human_bytes(m.size),
        &m.sha256[..12],
        out.paint("verified", Tone::Good)
    )
}

/// `1.2 MB`, `812 kB`, `512 B`.
pub(crate) fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{} kB", n >> 10),
        n => format!("{n} B"),
    }
}

pub async fn take(ctx: &Context) -> Result<u8> {
    let url = ctx.database_url()?;
    let mut target = ctx.migrator.connect(&url, false).await?;
    let guard = target.lock().await?;
    let result = backup::take(&mut target, &ctx.config.backup.dir).await;
    guard.release().await;
    target.close().await;
    let m = result?;
    let pruned = backup::prune(&ctx.config.backup.dir, ctx.config.backup.keep, &url)?;
    if ctx.out.json() {
        ctx.out
            .document(&json!({ "ok": true, "backup": m, "pruned": pruned }));
    } else {
        ctx.out.line(describe(&ctx.out, &m));
        ctx.out.line(format!("          {}", m.verification));
        ctx.out.line(format!(
            "          {}",
            m.path(&ctx.config.backup.dir).display()
        ));
        if !pruned.is_empty() {
            ctx.out.line(format!(
                "          removed (keep = {}, and leftovers of interrupted backups): {}",
                ctx.config.backup.keep,
                pruned.join(", ")
            ));
        }
    }
    Ok(0)
}

/// Every backup in the folder (all the databases of the project share it),
/// each with the database it is of; those of the current database (the one
/// `backup` and `keep` act on) are marked. `keep` applies per database.
pub async fn list(ctx: &Context) -> Result<u8> {
    let all = backup::list(&ctx.config.backup.dir)?;
    let current = ctx.database_url().ok().map(|u| u.identity());
    let is_current = |m: &Manifest| current.is_some() && m.database_identity() == current;
    if ctx.out.json() {
        let backups: Vec<serde_json::Value> = all
            .iter()
            .map(|m| {
                let mut v = json!(m);
                v["database_id"] = json!(m.database_identity());
                v["current_database"] = json!(is_current(m));
                v
            })
            .collect();
        ctx.out.document(&json!({
            "ok": true,
            "dir": ctx.config.backup.dir,
            "current_database_id": current,
            "backups": backups,
        }));
        return Ok(0);
    }
    if all.is_empty() {
        ctx.out
            .line(format!("no backups in {}", ctx.config.backup.dir.display()));
        return Ok(0);
    }
    let mut rows = vec![
        ["id", "database", "size", "head", "sha256"]
            .iter()
            .map(|s| ctx.out.paint(s, Tone::Dim))
            .collect::<Vec<_>>(),
    ];
    for m in &all {
        let database = if is_current(m) {
            format!(
                "{} {}",
                m.database,
                ctx.out.paint("(this database)", Tone::Good)
            )
        } else {
            m.database.clone()
        };
        rows.push(vec![
            m.id.clone(),
            database,
            human_bytes(m.size),
            m.head_version
                .map(migrate_core::display_version)
                .unwrap_or_else(|| "-".into()),
            format!("{}…", &m.sha256[..12]),
        ]);
    }
    for l in table(&rows) {
        ctx.out.line(l);
    }
    let databases: std::collections::BTreeSet<Option<String>> =
        all.iter().map(|m| m.database_identity()).collect();
    if databases.len() > 1 {
        ctx.out.line(ctx.out.paint(
            &format!(
                "{} databases share {}; `keep = {}` applies to each on its own",
                databases.len(),
                ctx.config.backup.dir.display(),
                ctx.config.backup.keep
            ),
            Tone::Dim,
        ));
    }
    Ok(0)
}

/// The default target of a restore: a new database beside production.
fn default_target(prod: &DbUrl, m: &Manifest) -> Result<DbUrl> {
    match prod.backend() {
        Backend::Sqlite => {
            let path = prod.sqlite_path().ok_or_else(|| {
                Error::Config("cannot restore beside an in-memory database; give --into".into())
            })?;
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let restored = path.with_file_name(format!("{stem}.restored-{}.db", m.id));
            DbUrl::parse(&format!("sqlite://{}", restored.display()))
        }
        _ => {
            let name = format!(
                "{}_restored_{}",
                prod.database_name(),
                m.id.replace(['-', ':', 'T', 'Z'], "")
            );
            let raw = prod.expose();
            let (base, query) = raw.split_once('?').map_or((raw, ""), |(b, q)| (b, q));
            let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
            DbUrl::parse(&format!(
                "{base}/{name}{}",
                if query.is_empty() {
                    String::new()
                } else {
                    format!("?{query}")
                }
            ))
        }
    }
}

pub async fn restore(ctx: &Context, args: &RestoreArgs) -> Result<u8> {
    let m = backup::find(&ctx.config.backup.dir, &args.id)?;
    let into = match &args.into {
        Some(u) => DbUrl::parse(&ctx.config.resolve_url(u))?,
        None => default_target(&ctx.database_url()?, &m)?,
    };
    backup::restore(&ctx.config.backup.dir, &m, &into, args.force).await?;
    if ctx.out.json() {
        ctx.out
            .document(&json!({ "ok": true, "backup": m, "restored_into": into.redacted() }));
    } else {
        ctx.out.line(format!(
            "{} backup {} into {} (head {}).",
            ctx.out.paint("restored", Tone::Good),
            m.id,
            into.redacted(),
            m.head_version
                .map(migrate_core::display_version)
                .unwrap_or_else(|| "none".into())
        ));
    }
    Ok(0)
}

/// The exact command that restores `m` over the production database.
pub(crate) fn restore_command(ctx: &Context, m: &Manifest) -> String {
    let into = match ctx.database_url() {
        Ok(u) if u.password().is_some() => "\"$DATABASE_URL\"".to_string(),
        Ok(u) => u.expose().to_string(),
        Err(_) => "<database url>".to_string(),
    };
    let config = ctx
        .config
        .file
        .as_ref()
        .map(|f| format!(" --config {}", f.display()))
        .unwrap_or_default();
    format!(
        "cargo migrate{config} restore {} --into {into} --force",
        m.id
    )
}
