//! `imadm backup list --in DIR`: the archives in a directory, from their manifests,
//! written one at a time (a directory may hold years of archives).

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::{Manifest, manifest_path};
use crate::context::Context;
use crate::error::{CliError, Result};
use crate::output::ListWriter;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm backup list --in /backups\n  $ imadm backup list --in /backups -o json"
)]
pub struct ListArgs {
    /// Directory holding archives and their manifests
    #[arg(long = "in", value_name = "DIR")]
    pub dir: PathBuf,
}

pub fn run(ctx: &mut Context, args: ListArgs) -> Result<()> {
    let entries = std::fs::read_dir(&args.dir).map_err(|e| {
        CliError::usage(format!("cannot read {}: {e}", args.dir.display()))
            .hint("pass the directory given to `imadm backup run --to`")
    })?;
    let mut w = ListWriter::new(
        ctx,
        &["archive", "server_id", "created_at", "size", "sha256"],
    )?;
    for e in entries {
        let path = e?.path();
        if path.extension().is_none_or(|x| x != "age") {
            continue;
        }
        let m: Option<Manifest> = std::fs::read(manifest_path(&path))
            .ok()
            .and_then(|t| serde_json::from_slice(&t).ok());
        let item = match m {
            Some(m) => json!({
                "archive": path.display().to_string(),
                "server": m.server,
                "server_id": m.server_id,
                "created_at": crate::output::rfc3339(m.created_at),
                "format_version": m.format_version,
                "size": m.size,
                "sha256": m.sha256,
                "counts": m.counts,
                "recipients": m.recipients,
            }),
            None => {
                json!({"archive": path.display().to_string(), "manifest": "missing or unreadable"})
            }
        };
        w.page(ctx, &[item])?;
    }
    w.finish(ctx)?;
    Ok(())
}
