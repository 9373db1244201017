//! `imadm backup run`: snapshot → age → every `--to` directory, in one pass.
//!
//! Each destination gets a temp file in that directory, fsynced and renamed to the final
//! name only after the whole snapshot arrived and verified (its trailer is checked while
//! it streams), then the directory is fsynced: a killed run never leaves a final name.

use std::io::{self, BufReader, Read, Write};
use std::path::PathBuf;
use std::str::FromStr;

use clap::Args;
use imadm_api::backup::{FORMAT_NAME, FORMAT_VERSION, Item, Reader};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Manifest, integrity, manifest_path, sync_dir};
use crate::client::Auth;
use crate::context::Context;
use crate::error::{CliError, Result};
use crate::session::connect;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm backup run --recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p --to /backups --to /mnt/offsite\n  $ imadm backup run --recipients-file ~/.config/imadm/backup-recipients.txt --to /backups --name nightly"
)]
pub struct RunArgs {
    /// age recipient (age1...) or SSH public key (ssh-ed25519/ssh-rsa ...); repeatable
    #[arg(short, long = "recipient", value_name = "R")]
    pub recipients: Vec<String>,
    /// File with one recipient per line (# comments allowed)
    #[arg(short = 'R', long, value_name = "FILE")]
    pub recipients_file: Option<PathBuf>,
    /// Destination directory; repeat to write several copies in one pass
    #[arg(long = "to", value_name = "DIR", required = true)]
    pub to: Vec<PathBuf>,
    /// Extra name part: imadm-<server_id>-<name>-<time>.age
    #[arg(long)]
    pub name: Option<String>,
}

fn parse_recipient(s: &str) -> Result<Box<dyn age::Recipient + Send>> {
    if s.starts_with("age1") {
        return age::x25519::Recipient::from_str(s)
            .map(|r| Box::new(r) as _)
            .map_err(|e| {
                CliError::usage(format!("invalid age recipient {s:?}: {e}"))
                    .hint("an age recipient looks like age1... (see `age-keygen -y key.txt`)")
            });
    }
    age::ssh::Recipient::from_str(s)
        .map(|r| Box::new(r) as _)
        .map_err(|e| {
            CliError::usage(format!("invalid recipient {s:?}: {e:?}"))
                .hint("use an age1... recipient or an ssh-ed25519/ssh-rsa public key line")
        })
}

/// Tees the ciphertext into every destination and hashes it once.
struct Tee {
    files: Vec<tempfile::NamedTempFile>,
    hash: Sha256,
    size: u64,
}

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for f in &mut self.files {
            f.write_all(buf)?;
        }
        self.hash.update(buf);
        self.size += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.files.iter_mut().try_for_each(|f| f.flush())
    }
}

/// Everything read from the server is also written to the encryptor.
struct TapRead<R, W> {
    inner: R,
    sink: W,
    progress: indicatif::ProgressBar,
}

impl<R: Read, W: Write> Read for TapRead<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sink.write_all(&buf[..n])?;
        self.progress.inc(n as u64);
        Ok(n)
    }
}

pub fn run(ctx: &mut Context, args: RunArgs) -> Result<()> {
    let mut lines = args.recipients.clone();
    if let Some(f) = &args.recipients_file {
        let text = std::fs::read_to_string(f).map_err(|e| {
            CliError::usage(format!("cannot read {}: {e}", f.display()))
                .hint("one recipient per line, # for comments")
        })?;
        lines.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned),
        );
    }
    if lines.is_empty() {
        return Err(
            CliError::usage("no recipients: nobody could decrypt the backup")
                .hint("pass --recipient age1... or --recipients-file FILE"),
        );
    }
    let recipients = lines
        .iter()
        .map(|l| parse_recipient(l))
        .collect::<Result<Vec<_>>>()?;
    let mut files = Vec::new();
    for dir in &args.to {
        let f = tempfile::Builder::new()
            .prefix(".imadm-backup-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| {
                CliError::usage(format!("cannot write in {}: {e}", dir.display()))
                    .hint("create the directory and check its permissions")
            })?;
        files.push(f);
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
    let progress = ctx.progress(estimate, "backup");
    let tee = Tee {
        files,
        hash: Sha256::new(),
        size: 0,
    };
    let enc = age::Encryptor::with_recipients(recipients.iter().map(|r| r.as_ref() as _))
        .map_err(|e| CliError::usage(format!("cannot encrypt to these recipients: {e}")))?;
    let writer = enc
        .wrap_output(io::BufWriter::with_capacity(256 << 10, tee))
        .map_err(CliError::from)?;
    let tap = TapRead {
        inner: resp,
        sink: writer,
        progress: progress.clone(),
    };
    let mut reader = Reader::new(BufReader::with_capacity(256 << 10, tap)).map_err(|e| {
        integrity(format!("the server's snapshot stream is invalid: {e}"))
            .hint("nothing was written; retry, and check the server log")
    })?;
    let trailer = loop {
        match reader.next() {
            Ok(Item::End(t)) => break t,
            Ok(Item::Record { .. }) => {}
            Err(e) => {
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
    let buf = tap.sink.finish().map_err(CliError::from)?;
    let mut tee = buf
        .into_inner()
        .map_err(|e| CliError::from(e.into_error()))?;
    tee.flush()?;
    let sha = hex::encode(tee.hash.finalize_reset());
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
    let file_name = match &args.name {
        Some(n) => format!("imadm-{}-{n}-{stamp}.age", header.server_id),
        None => format!("imadm-{}-{stamp}.age", header.server_id),
    };
    let manifest = Manifest {
        schema_version: super::MANIFEST_SCHEMA,
        server,
        server_id: header.server_id.clone(),
        created_at: header.created_at,
        format: FORMAT_NAME.into(),
        format_version: FORMAT_VERSION,
        db_schema_version: header.schema_version,
        counts: trailer.counts.clone(),
        size: tee.size,
        sha256: sha.clone(),
        recipients: lines.clone(),
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest).map_err(io::Error::from)?;
    let mut written = Vec::new();
    for (f, dir) in tee.files.into_iter().zip(&args.to) {
        f.as_file().sync_all()?;
        let dest = dir.join(&file_name);
        f.persist(&dest).map_err(|e| CliError::from(e.error))?;
        let mut m = tempfile::Builder::new()
            .prefix(".imadm-manifest-")
            .tempfile_in(dir)?;
        m.write_all(&manifest_json)?;
        m.as_file().sync_all()?;
        m.persist(manifest_path(&dest))
            .map_err(|e| CliError::from(e.error))?;
        sync_dir(dir)?;
        written.push(dest.display().to_string());
    }
    if matches!(
        ctx.output(),
        crate::cli::OutputFormat::Json | crate::cli::OutputFormat::Jsonl
    ) {
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

fn reader_into_tap<R: Read>(r: Reader<BufReader<R>>) -> R {
    r.into_inner().into_inner()
}
