//! `imadm backup verify FILE [--identity FILE]`: without an identity, size and SHA-256 of
//! the ciphertext against the manifest; with one, also decrypt everything and check the
//! snapshot's structure, counts and trailer hash (like `restic check --read-data`), BLAKE3
//! in format version 2, SHA-256 in version 1. Authenticity (the MACs) needs the server's
//! key: the server checks it at restore, and the output says so.
//!
//! The archive may be an object (`s3://BUCKET/PREFIX/NAME.age`, manifest beside it),
//! read as a stream.
//!
//! An archive whose manifest was lost (only the `.age` file was copied) is checked from
//! the archive alone when an identity is given; without either there is nothing to check
//! it against, which is a usage error (exit 2), not a pass.

use std::io::BufReader;
use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::{Archive, Manifest, decrypt, integrity, load_identities, unreadable};
use crate::cmdutil::archive::{check_archive, digest_archive};
use crate::context::Context;
use crate::error::{CliError, Result};
use crate::output::OutputFormat;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm backup verify /backups/imadm-3f2a-20260101T020000Z.age\n  $ imadm backup verify /backups/imadm-3f2a-20260101T020000Z.age --identity ~/backup-key.txt"
)]
pub struct VerifyArgs {
    /// The archive, a file or s3://BUCKET/PREFIX/NAME.age (its manifest is FILE.manifest.json)
    pub file: PathBuf,
    /// age identity file or SSH private key (passphrase: prompted, or IMADM_IDENTITY_PASSPHRASE): also decrypt and check the snapshot
    #[arg(short, long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
}

pub fn run(ctx: &mut Context, args: VerifyArgs) -> Result<()> {
    let archive = Archive::from_arg(
        &args.file,
        &crate::cmdutil::s3::Settings::of(&ctx.profile()),
    )?;
    let mpath = archive.manifest_shown();
    let manifest: Option<Manifest> = match archive.read_manifest()? {
        Some(bytes) => Some(serde_json::from_slice(&bytes).map_err(|e| {
            integrity(format!("manifest {mpath} is unreadable: {e}")).hint(
                "the manifest is damaged: take it from another copy, or move it away and check the archive alone with --identity",
            )
        })?),
        None => None,
    };
    let (size, sha256) = match &manifest {
        Some(m) => {
            check_archive(&archive, m)?;
            (m.size, m.sha256.clone())
        }
        None => {
            if args.identity.is_none() {
                archive.open()?;
                return Err(CliError::usage(format!(
                    "nothing to verify {archive} against: it has no manifest ({mpath} is missing) and no --identity was given"
                ))
                .hint("pass --identity KEY to decrypt the archive and check the snapshot inside it, or copy the manifest beside it"));
            }
            digest_archive(&archive)?
        }
    };
    let mut decrypted = false;
    let mut version = manifest.as_ref().map(|m| m.format_version);
    let mut counts = manifest.as_ref().map(|m| m.counts.clone());
    if let Some(id) = &args.identity {
        let ids = load_identities(ctx, id)?;
        let plain = decrypt(&archive, &ids)?;
        let (header, trailer) =
            imadm_api::backup::verify(BufReader::with_capacity(256 << 10, plain)).map_err(|e| {
                match e {
                    imadm_api::backup::FormatError::Io(e) => unreadable(&archive, e),
                    e => integrity(format!("{archive}: {e}"))
                        .hint("the archive is damaged; use another copy"),
                }
            })?;
        if counts.as_ref().is_some_and(|c| *c != trailer.counts) {
            return Err(integrity(format!(
                "{archive}: the snapshot's counts differ from its manifest's"
            ))
            .hint("the manifest belongs to another archive"));
        }
        decrypted = true;
        version = Some(header.version);
        counts = Some(trailer.counts);
    }
    let authenticity = if version == Some(imadm_api::backup::FORMAT_V1) {
        "none: format version 1 has no MAC; servers of this version refuse to restore it"
    } else {
        "checked by the server when it restores the archive (MAC under its key)"
    };
    let table = ctx.output() == OutputFormat::Table;
    let manifest_shown = match (&manifest, table) {
        (Some(_), _) => json!(mpath),
        (None, true) => json!("missing: checked from the archive alone"),
        (None, false) => json!(null),
    };
    let counts = counts.unwrap_or_default();
    // People read `table: rows`, not a JSON object.
    let counts = if table {
        json!(
            counts
                .iter()
                .map(|(t, n)| format!("{t}: {n}"))
                .collect::<Vec<_>>()
        )
    } else {
        json!(counts)
    };
    crate::output::object(
        ctx,
        vec![
            ("file", "File", json!(archive.to_string())),
            ("ok", "OK", json!(true)),
            ("manifest", "Manifest", manifest_shown),
            ("size", "Size", json!(size)),
            ("sha256", "SHA-256", json!(sha256)),
            ("decrypted", "Decrypted and checked", json!(decrypted)),
            ("format_version", "Format version", json!(version)),
            ("authenticity", "Authenticity", json!(authenticity)),
            ("counts", "Counts", counts),
        ],
    )
}
