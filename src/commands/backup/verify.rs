//! `imadm backup verify FILE [--identity FILE]`: without an identity, size and SHA-256 of
//! the ciphertext against the manifest; with one, also decrypt everything and check the
//! snapshot's structure, counts and trailer hash (like `restic check --read-data`), BLAKE3
//! in format version 2, SHA-256 in version 1. Authenticity (the MACs) needs the server's
//! key: the server checks it at restore, and the output says so.

use std::io::BufReader;
use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::{Manifest, decrypt, integrity, load_identities, manifest_path};
use crate::context::Context;
use crate::error::{CliError, Kind, Result};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm backup verify /backups/imadm-3f2a-20260101T020000Z.age\n  $ imadm backup verify /backups/imadm-3f2a-20260101T020000Z.age --identity ~/backup-key.txt"
)]
pub struct VerifyArgs {
    /// The archive (its manifest is FILE.manifest.json)
    pub file: PathBuf,
    /// age identity file or SSH private key (passphrase: prompted, or IMADM_IDENTITY_PASSPHRASE): also decrypt and check the snapshot
    #[arg(short, long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
}

pub fn run(ctx: &mut Context, args: VerifyArgs) -> Result<()> {
    let mpath = manifest_path(&args.file);
    let manifest: Manifest = serde_json::from_slice(&std::fs::read(&mpath).map_err(|e| {
        CliError::new(
            Kind::NotFound,
            format!("cannot read manifest {}: {e}", mpath.display()),
        )
        .hint("`imadm backup run` writes it beside the archive; copy both together")
    })?)
    .map_err(|e| {
        integrity(format!("manifest {} is unreadable: {e}", mpath.display()))
            .hint("the manifest is damaged; with --identity the archive can still be checked")
    })?;
    super::check_archive(&args.file, &manifest)?;
    let mut decrypted = false;
    let mut version = manifest.format_version;
    if let Some(id) = &args.identity {
        let ids = load_identities(ctx, id)?;
        let plain = decrypt(&args.file, &ids)?;
        let (header, trailer) =
            imadm_api::backup::verify(BufReader::with_capacity(256 << 10, plain)).map_err(|e| {
                integrity(format!("{}: {e}", args.file.display()))
                    .hint("the archive is damaged; use another copy")
            })?;
        if trailer.counts != manifest.counts {
            return Err(integrity(format!(
                "{}: the snapshot's counts differ from its manifest's",
                args.file.display()
            ))
            .hint("the manifest belongs to another archive"));
        }
        decrypted = true;
        version = header.version;
    }
    let authenticity = if version == imadm_api::backup::FORMAT_V1 {
        "none: format version 1 has no MAC; servers of this version refuse to restore it"
    } else {
        "checked by the server when it restores the archive (MAC under its key)"
    };
    crate::output::object(
        ctx,
        vec![
            ("file", "File", json!(args.file.display().to_string())),
            ("ok", "OK", json!(true)),
            ("size", "Size", json!(manifest.size)),
            ("sha256", "SHA-256", json!(manifest.sha256)),
            ("decrypted", "Decrypted and checked", json!(decrypted)),
            ("format_version", "Format version", json!(version)),
            ("authenticity", "Authenticity", json!(authenticity)),
            ("counts", "Counts", json!(manifest.counts)),
        ],
    )
}
