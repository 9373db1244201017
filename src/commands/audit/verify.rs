//! `imadm audit verify`: check a report offline. One streaming pass re-hashes the chain,
//! checks the server's checkpoint signatures with the trusted key (`--server-key`, else
//! the key pinned in the profile) and digests the file for its SSHSIG signature, which is
//! then checked against `--allowed-signers`. Chain errors are reported first (they name
//! the event), then signature errors; all of them exit 8.
//!
//! With the profile's key (no `--server-key`), the report is also held against the
//! checkpoint the profile pinned for its server: a report whose chain passes the pinned
//! seq must have the pinned chain value there (else exit 8, evidence saved), and one that
//! ends later advances the pin; the first report of a server pins its closing checkpoint.
//!
//! Given the files of a file audit sink instead (recognised by their header line), it
//! checks them as one chain (`audit::sinkfile`); they carry no SSH signature.

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use crate::audit::allowed_signers::AllowedSigners;
use crate::audit::checkpoint::{self as pins, AdvanceError, PinStore, Pinned};
use crate::audit::pin::ServerKey;
use crate::audit::sshsig::{Detached, Hasher, HashingReader, sig_path_for};
use crate::audit::{NAMESPACE, sinkfile, verify};
use crate::context::Context;
use crate::error::{CliError, Kind, Result};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm audit verify audit.json --allowed-signers allowed_signers\n  $ imadm audit verify audit.json --server-key 'ssh-ed25519 AAAA...' --signature audit.json.sig\n\nallowed_signers is OpenSSH's format: `alice@example.com namespaces=\"imadm-audit\" ssh-ed25519 AAAA...`.\nExit 8 when anything does not verify. With the profile's key (no --server-key), a report\nthat passes the checkpoint pinned in the profile must match it, and a newer one advances it."
)]
pub struct VerifyArgs {
    /// The report (JSON) to verify, or the files of a file audit sink (PATH and its
    /// rotated PATH.<seq> files, in any order)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The report, once `files` is known to be one.
    #[arg(skip)]
    pub file: PathBuf,
    /// Detached SSH signature [default: FILE.sig when it exists]
    #[arg(long, value_name = "FILE.sig")]
    pub signature: Option<PathBuf>,
    /// OpenSSH allowed_signers file of who may sign reports
    #[arg(long, value_name = "FILE")]
    pub allowed_signers: Option<PathBuf>,
    /// The server's audit key (`ssh-ed25519 AAAA...` or a file) [default: pinned in the profile]
    #[arg(long, value_name = "KEY")]
    pub server_key: Option<String>,
    /// Require this signer identity [default: the one recorded in the report]
    #[arg(long, value_name = "ID")]
    pub signer: Option<String>,
}

pub fn run(ctx: &mut Context, args: VerifyArgs) -> Result<()> {
    let from_profile = args.server_key.is_none();
    let key = match (&args.server_key, ctx.profile().audit_key) {
        (Some(k), _) => ServerKey::from_arg(k)?,
        (None, Some(k)) => ServerKey::parse(&k)?,
        (None, None) => {
            return Err(CliError::usage("no trusted server audit key to verify against")
                .hint("pass --server-key 'ssh-ed25519 AAAA...' or run `imadm audit export` once to pin the server's key in this profile"));
        }
    };
    if sink_files(&args.files)? {
        return verify_sink(ctx, &args, &key);
    }
    let [file] = &args.files[..] else {
        return Err(CliError::usage("verify takes one report")
            .hint("several files are for the rotated files of a file audit sink"));
    };
    let file = file.clone();
    let args = VerifyArgs { file, ..args };
    let allowed = args
        .allowed_signers
        .as_ref()
        .map(|p| {
            let text = std::fs::read_to_string(p).map_err(|e| {
                CliError::usage(format!(
                    "cannot read allowed signers file {}: {e}",
                    p.display()
                ))
                .hint("check --allowed-signers")
            })?;
            AllowedSigners::parse(&text, &p.display().to_string())
        })
        .transpose()?;
    let sig_path = args.signature.clone().or_else(|| {
        let p = sig_path_for(&args.file);
        p.exists().then_some(p)
    });
    let sig_name = sig_path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    // A bad signature file is reported after the chain, so keep its error for later.
    let detached: Option<Result<Detached>> = sig_path.as_ref().map(|p| {
        let text = std::fs::read_to_string(p).map_err(|e| {
            CliError::usage(format!("cannot read signature {}: {e}", p.display()))
                .hint("pass --signature FILE.sig, or leave it out to check the chain only")
        })?;
        Detached::parse(&text, NAMESPACE, &sig_name)
    });
    let hasher = match &detached {
        Some(Ok(d)) => d.hasher(),
        _ => Hasher::None,
    };
    let f = std::fs::File::open(&args.file).map_err(|e| {
        CliError::usage(format!("cannot read {}: {e}", args.file.display()))
            .hint("give the path of a report written by `imadm audit export`")
    })?;
    let mut reader = BufReader::with_capacity(
        1 << 16,
        HashingReader {
            inner: f,
            hash: hasher,
        },
    );
    let store = PinStore::new(&ctx.config_dir, &ctx.profile_name);
    // The pin is looked up once the report's header names its server.
    let pinned: RefCell<Option<Result<Option<Pinned>>>> = RefCell::new(None);
    let watch = |server_id: &str| {
        if !from_profile {
            return None;
        }
        let p = store.get(server_id);
        let seq = p.as_ref().ok().and_then(|p| p.as_ref().map(Pinned::seq));
        *pinned.borrow_mut() = Some(p);
        seq
    };
    let verified = verify::verify_watching(&mut reader, &key, &watch).map_err(|mut e| {
        e.message = format!("{}: {}", args.file.display(), e.message);
        e
    })?;
    let pin = match pinned.into_inner() {
        Some(p) => check_pin(ctx, &args, &store, p?, &verified, &key)?,
        None => "not checked",
    };
    // Hash whatever the parser did not need to read.
    std::io::copy(&mut reader.by_ref(), &mut std::io::sink())?;
    let digest = reader.into_inner().hash.finish();

    let mut principal = None;
    match detached {
        None if allowed.is_some() => {
            return Err(CliError::new(
                Kind::Integrity,
                format!(
                    "{} has no signature ({}.sig not found)",
                    args.file.display(),
                    args.file.display()
                ),
            )
            .hint("pass --signature FILE, or drop --allowed-signers to check the chain only"));
        }
        None => ctx.warn(
            "the report is not signed; only the server's chain and checkpoints were checked",
        )?,
        Some(d) => {
            let d = d?;
            d.verify_digest(&digest, &sig_name)?;
            let identity = args.signer.clone().or(verified.signer.clone());
            match &allowed {
                Some(a) => {
                    principal = Some(a.authorize(
                        d.sig.public_key(),
                        NAMESPACE,
                        ctx.now(),
                        identity.as_deref(),
                        &d.public_openssh(),
                    )?)
                }
                None => ctx.warn(format!(
                    "the signature is valid, made by {}, but no --allowed-signers says whether that key is trusted",
                    d.public_openssh()
                ))?,
            }
        }
    }
    crate::output::object(
        ctx,
        vec![
            ("file", "File", json!(args.file.display().to_string())),
            ("verified", "Verified", json!(true)),
            ("server_id", "Server id", json!(verified.server.server_id)),
            ("first_seq", "First seq", json!(verified.range.first_seq)),
            ("last_seq", "Last seq", json!(verified.range.last_seq)),
            ("count", "Events", json!(verified.range.count)),
            (
                "signature",
                "Signature",
                json!(sig_path.map(|p| p.display().to_string())),
            ),
            ("signer", "Signer", json!(principal)),
            ("pin", "Pinned checkpoint", json!(pin)),
        ],
    )
}

/// Whether the files are a file audit sink's (their first line is a sink header).
fn sink_files(files: &[PathBuf]) -> Result<bool> {
    let Some(first) = files.first() else {
        return Ok(false);
    };
    let mut line = Vec::new();
    if let Ok(f) = std::fs::File::open(first) {
        BufReader::new(f.take(64 << 10)).read_until(b'\n', &mut line)?;
    }
    Ok(sinkfile::is_sink_file(&line))
}

/// `verify` over the files of a file audit sink.
fn verify_sink(ctx: &mut Context, args: &VerifyArgs, key: &ServerKey) -> Result<()> {
    if args.signature.is_some() || args.allowed_signers.is_some() || args.signer.is_some() {
        return Err(CliError::usage("audit sink files carry no SSH signature")
            .hint("drop --signature, --allowed-signers and --signer: the server's seals in the files are checked"));
    }
    let v = sinkfile::verify_files(&args.files, key)?;
    let files: Vec<String> = v.files.iter().map(|p| p.display().to_string()).collect();
    crate::output::object(
        ctx,
        vec![
            ("file", "File", json!(files.join(", "))),
            ("verified", "Verified", json!(true)),
            ("server_id", "Server id", json!(v.server_id)),
            ("first_seq", "First seq", json!(v.first_seq)),
            ("last_seq", "Last seq", json!(v.last_seq)),
            ("count", "Events", json!(v.count)),
            ("signature", "Signature", json!(null)),
            ("signer", "Signer", json!(null)),
            ("pin", "Pinned checkpoint", json!("not checked")),
        ],
    )
}

/// Hold the verified report against the profile's pin for its server; what was found.
fn check_pin(
    ctx: &mut Context,
    args: &VerifyArgs,
    store: &PinStore,
    pinned: Option<Pinned>,
    verified: &verify::Verified,
    key: &ServerKey,
) -> Result<&'static str> {
    let Some(cp) = &verified.checkpoint else {
        return Ok("not covered");
    };
    let Some(p) = pinned else {
        store
            .advance(&Pinned::new(cp.clone(), key, ctx.now()))
            .map_err(|e| match e {
                AdvanceError::Fork(f) => fork(ctx, args, verified, key, &f.0, &f.1, cp),
                AdvanceError::Other(e) => e,
            })?;
        return Ok("pinned");
    };
    let Some((_, value)) = verified.watched else {
        return Ok("not covered");
    };
    pins::check_value(&p, &value).map_err(|f| fork(ctx, args, verified, key, &f, &p, cp))?;
    if cp.seq == p.seq() {
        return Ok("matches");
    }
    match store.advance(&Pinned::new(cp.clone(), key, ctx.now())) {
        Ok(_) => Ok("advanced"),
        Err(AdvanceError::Fork(f)) => Err(fork(ctx, args, verified, key, &f.0, &f.1, cp)),
        Err(AdvanceError::Other(e)) => Err(e),
    }
}

fn fork(
    ctx: &Context,
    args: &VerifyArgs,
    verified: &verify::Verified,
    key: &ServerKey,
    fork: &pins::Fork,
    pinned: &Pinned,
    closing: &imadm_api::audit::Checkpoint,
) -> CliError {
    let (mut e, _) = super::checkpoint::fork_found(
        ctx,
        "audit verify",
        &verified.server.url,
        key,
        fork,
        pinned,
        closing,
        json!({ "report": args.file.display().to_string() }),
    );
    e.message = format!("{}: {}", args.file.display(), e.message);
    e
}
