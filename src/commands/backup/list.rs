//! `imadm backup list DIR...` (or `--in DIR`, repeatable): the archives in directories,
//! from their manifests, in name order (names carry the snapshot's time) within each
//! directory, written a page at a time (a directory may hold years of archives). A
//! DIR may be `s3://BUCKET/PREFIX`: the archives directly under the prefix.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::{Archive, Manifest};
use crate::cmdutil::archive::archives_in;
use crate::cmdutil::s3;
use crate::context::Context;
use crate::error::Result;
use crate::output::{ListWriter, OutputFormat};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm backup list /backups\n  $ imadm backup list /backups /mnt/offsite -o json"
)]
pub struct ListArgs {
    /// Directories or s3://BUCKET/PREFIX holding archives and their manifests (those given to `backup run --to`)
    #[arg(value_name = "DIR", required_unless_present = "in_dirs")]
    pub dirs: Vec<PathBuf>,
    /// A directory holding archives and their manifests, like DIR (repeatable)
    #[arg(long = "in", value_name = "DIR")]
    pub in_dirs: Vec<PathBuf>,
}

pub fn run(ctx: &mut Context, args: ListArgs) -> Result<()> {
    // People get the columns they read (the name carries server id and time), none of
    // them wrapped: a path broken across lines cannot be copied. Machine formats get all.
    let columns: &[&'static str] = if ctx.output() == OutputFormat::Table {
        &["archive", "created_at", "size"]
    } else {
        &["archive", "server_id", "created_at", "size", "sha256"]
    };
    let mut w = ListWriter::new(ctx, columns)?.unbroken(columns);
    for dir in args.dirs.iter().chain(&args.in_dirs) {
        let archives = archives_in(dir, &s3::Settings::of(&ctx.profile()))?;
        for page in archives.chunks(PAGE) {
            let items: Vec<_> = page.iter().map(item).collect();
            w.page(ctx, &items)?;
        }
    }
    w.finish(ctx)?;
    Ok(())
}

/// Archives per table (a table is sized to its rows).
const PAGE: usize = 500;

/// One archive as listed: its manifest's facts, or that it has none.
fn item(archive: &Archive) -> serde_json::Value {
    let m: Option<Manifest> = archive
        .read_manifest()
        .ok()
        .flatten()
        .and_then(|t| serde_json::from_slice(&t).ok());
    match m {
        Some(m) => json!({
            "archive": archive.to_string(),
            "server": m.server,
            "server_id": m.server_id,
            "created_at": crate::output::rfc3339(m.created_at),
            "format_version": m.format_version,
            "size": m.size,
            "sha256": m.sha256,
            "counts": m.counts,
            "recipients": m.recipients,
        }),
        None => json!({"archive": archive.to_string(), "manifest": "missing or unreadable"}),
    }
}
