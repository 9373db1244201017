//! `imadm backup run`: snapshot → age → every `--to` directory, in one pass.
//!
//! Each destination gets an `AtomicFile` in that directory, committed under the final name
//! (fsync, rename, fsync of the directory) only after the whole snapshot arrived and
//! verified (its trailer is checked while it streams): a killed run never leaves a final
//! name. The manifest follows, written atomically too.
//! An `s3://BUCKET/PREFIX` destination (`cmdutil::s3`) gets a multipart upload instead,
//! completed before the local files are committed, then its manifest object (the commit
//! marker); any failure aborts it, and a failed run commits no local file either.
//! The check is of integrity (structure, counts, BLAKE3): the snapshot's MAC needs the
//! server's key, so the server checks it when the archive is restored.

use std::io::{self, BufReader, Read};
use std::sync::{Arc, OnceLock};

use clap::Args;
use imadm_api::backup::{FORMAT_NAME, Item, Reader};
use imadm_server::fsutil::write_atomic;
use serde_json::json;

use super::{Manifest, integrity, manifest_path};
use crate::client::Auth;
use crate::cmdutil::s3::{self, Location};
use crate::context::Context;
use crate::encrypt::{self, RecipientArgs, TapRead, Tee};
use crate::error::{CliError, Result};
use crate::session::connect;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm backup run --recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p --to /backups --to /mnt/offsite\n  $ imadm backup run --recipients-file ~/.config/imadm/backup-recipients.txt --to /backups --name nightly\n  $ AWS_ENDPOINT_URL=https://s3.example.net imadm backup run -R recipients.txt --to /backups --to s3://bucket/imadm"
)]
pub struct RunArgs {
    #[command(flatten)]
    pub recipients: RecipientArgs,
    /// Destination directory or s3://BUCKET/PREFIX (AWS_* environment); repeat to write
    /// several copies in one pass
    #[arg(long = "to", value_name = "DIR|S3URL", required = true)]
    pub to: Vec<Location>,
    /// S3 Object Lock: keep the S3 copies (archive and manifest) from deletion for N days
    /// (the bucket must have Object Lock enabled). Each copy's retention is read back and
    /// set where the service dropped it; a copy left unlocked is removed (exit 7)
    #[arg(long, value_name = "N", requires = "object_lock_mode", value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub object_lock_days: Option<u32>,
    /// Object Lock mode: compliance (nobody can remove it early) or governance
    #[arg(long, value_name = "MODE", requires = "object_lock_days")]
    pub object_lock_mode: Option<s3::LockMode>,
    /// Extra name part: imadm-<server_id>-<name>-<time>.age
    #[arg(long)]
    pub name: Option<String>,
}

pub fn run(ctx: &mut Context, args: RunArgs) -> Result<()> {
    let recipients = args.recipients.load("the backup")?;
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    let mut buckets = Vec::new();
    let settings = s3::Settings::of(&ctx.profile());
    let lock = match (args.object_lock_mode, args.object_lock_days) {
        (Some(mode), Some(days)) => Some(s3::Lock::new(mode, days, ctx.now())),
        _ => None,
    };
    if lock.is_some() && !args.to.iter().any(|t| matches!(t, Location::S3(_))) {
        return Err(
            CliError::usage("--object-lock-days needs an s3:// destination")
                .hint("add --to s3://BUCKET/PREFIX, or drop --object-lock-days"),
        );
    }
    for to in &args.to {
        match to {
            Location::Dir(dir) => {
                files.push(encrypt::output_in(dir)?);
                dirs.push(dir);
            }
            Location::S3(url) => buckets.push(match &lock {
                Some(l) => s3::Client::connect_locked(url, &settings, l)?,
                None => s3::Client::connect(url, &settings)?,
            }),
        }
    }

    let conn = connect(ctx)?;
    let resp = conn.call(ctx, |c, t| {
        c.get_stream("/admin/backup/snapshot", &Auth::token(t))
    })?;
    let server = conn.client.server();
    let estimate = resp
        .headers()
        .get("x-imadm-size-estimate")
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    // The archive's name comes from the snapshot's header; the uploads learn it before
    // their first part is full (the header is in the stream's first bytes). Their parts
    // are sized so that an archive of the estimated size fits S3's part count.
    let name = Arc::new(OnceLock::new());
    let plan = s3::PartPlan::for_estimate(estimate);
    let uploads = buckets
        .iter()
        .map(|b| b.upload(name.clone(), plan))
        .collect();
    let progress = ctx.progress(estimate, "backup");
    let writer = encrypt::Background::spawn(encrypt::encrypt(
        &recipients,
        Tee::with_uploads(files, uploads),
    )?);
    let tap = TapRead {
        inner: resp,
        sink: writer,
        progress: progress.clone(),
    };
    let mut reader = Reader::new(BufReader::with_capacity(256 << 10, tap))
        .map_err(|e| {
            integrity(format!("the server's snapshot stream is invalid: {e}"))
                .hint("nothing was written; retry, and check the server log")
        })?
        .skip_values(true);
    let file_name = archive_name(&reader.header, args.name.as_deref());
    let _ = name.set(file_name.clone());
    let trailer = loop {
        match reader.next() {
            Ok(Item::End(t)) => break t,
            Ok(Item::Record { .. }) => {}
            Err(e) => {
                // A destination that failed (an S3 service gone, a full disk) broke the
                // stream: report that, with its exit code.
                if let Some(f) = reader_into_tap(reader).sink.take_failure() {
                    return Err(f);
                }
                return Err(
                    integrity(format!("the server's snapshot stream broke: {e}")).hint(
                        "nothing was written under a final name; retry, and check the server log",
                    ),
                );
            }
        }
    };
    progress.finish_and_clear();
    let header = reader.header.clone();
    let tap = reader_into_tap(reader);
    let tee = tap.sink.finish()?;
    let sha = tee.sha256_hex();
    let manifest = Manifest {
        schema_version: super::MANIFEST_SCHEMA,
        server,
        server_id: header.server_id.clone(),
        created_at: header.created_at,
        format: FORMAT_NAME.into(),
        format_version: header.version,
        db_schema_version: header.schema_version,
        counts: trailer.counts.clone(),
        size: tee.size,
        sha256: sha.clone(),
        recipients: recipients.lines.clone(),
        object_lock: lock.as_ref().map(|l| crate::cmdutil::archive::ObjectLock {
            mode: l.mode_name().into(),
            until: l.until_unix,
        }),
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest).map_err(io::Error::from)?;
    let mut written = Vec::new();
    let manifest_name = format!("{file_name}.manifest.json");
    for (u, b) in tee.uploads.into_iter().zip(&buckets) {
        written.push(u.commit()?);
        b.put(&manifest_name, manifest_json.clone())?;
    }
    for (f, dir) in tee.files.into_iter().zip(dirs) {
        let dest = dir.join(&file_name);
        f.commit_as(&dest)
            .map_err(|e| CliError::write_failed(&dest, e))?;
        let m = manifest_path(&dest);
        write_atomic(&m, &manifest_json, 0o600).map_err(|e| CliError::write_failed(&m, e))?;
        written.push(dest.display().to_string());
    }
    if ctx.output().is_json() {
        crate::output::object(
            ctx,
            vec![
                ("archives", "Archives", json!(written)),
                ("server_id", "Server id", json!(header.server_id)),
                ("created_at", "Created", json!(header.created_at)),
                ("size", "Size", json!(manifest.size)),
                ("sha256", "SHA-256", json!(sha)),
                ("counts", "Counts", json!(trailer.counts)),
            ],
        )
    } else {
        for w in &written {
            ctx.info(format!("Wrote {w}"))?;
        }
        Ok(())
    }
}

/// `imadm-<server_id>[-<name>]-<UTC time>.age`.
fn archive_name(header: &imadm_api::backup::Header, name: Option<&str>) -> String {
    let when = time::OffsetDateTime::from_unix_timestamp(header.created_at)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        when.year(),
        u8::from(when.month()),
        when.day(),
        when.hour(),
        when.minute(),
        when.second()
    );
    let id = crate::fsname::file_part(&header.server_id);
    match name {
        Some(n) => format!("imadm-{id}-{n}-{stamp}.age"),
        None => format!("imadm-{id}-{stamp}.age"),
    }
}

fn reader_into_tap<R: Read>(r: Reader<BufReader<R>>) -> R {
    r.into_inner().into_inner()
}
