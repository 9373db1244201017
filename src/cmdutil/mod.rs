//! Helpers that several nouns share (gh's `cmdutil`), so that no command imports from a
//! sibling noun: backup archives and manifests (`archive`: backup verbs and the compliance
//! gate), S3-compatible destinations (`s3`), the integrity error, signing a written file and the signing key's passphrase
//! (audit export and report, the compliance gate). The step-up dialogue of sensitive requests is `session::Conn::step_up`.
//! (`auth login` still runs `mfa enroll`'s dialogue for an account without MFA: that is
//! one command running another, not a borrowed helper.)

pub mod archive;
pub mod s3;

use std::path::Path;

use serde_json::{Value, json};

use crate::audit::sshsig::SignKey;
use crate::context::Context;
use crate::error::{CliError, Kind, Result};

/// An integrity failure (exit 8): a checksum, signature or document that does not check out.
pub fn integrity(msg: impl Into<String>) -> CliError {
    CliError::new(Kind::Integrity, msg)
}

/// The tail of every command that writes a file it may sign: sign it when there is a key
/// (`FILE.sig`, [`SignKey::sign_file`]), and the fields its report starts with: the file,
/// the signature (null when unsigned) and the signer.
pub fn sign_written(
    key: Option<&SignKey>,
    file: &Path,
    digest: &[u8; 64],
    signer: Option<&str>,
) -> Result<Vec<(&'static str, &'static str, Value)>> {
    let sig = key.map(|k| k.sign_file(file, digest)).transpose()?;
    Ok(vec![
        ("file", "File", json!(file.display().to_string())),
        (
            "signature",
            "Signature",
            json!(sig.map(|p| p.display().to_string())),
        ),
        ("signer", "Signer", json!(signer)),
    ])
}

/// Passphrase of an encrypted signing key: IMADM_SIGN_KEY_PASSPHRASE, else a prompt.
pub fn sign_key_passphrase(ctx: &Context) -> Result<String> {
    if let Ok(p) = std::env::var("IMADM_SIGN_KEY_PASSPHRASE") {
        return Ok(p);
    }
    ctx.ask_secret(
        "Passphrase of the signing key:",
        "set IMADM_SIGN_KEY_PASSPHRASE, or use a key without a passphrase",
    )
}
