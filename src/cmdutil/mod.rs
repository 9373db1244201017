//! Helpers that several nouns share (gh's `cmdutil`), so that no command imports from a
//! sibling noun: backup archives and manifests (`archive`: backup verbs and the compliance
//! gate), the integrity error, the signing key's passphrase (audit export and report, the
//! compliance gate). The step-up dialogue of sensitive requests is `session::Conn::step_up`.
//! (`auth login` still runs `mfa enroll`'s dialogue for an account without MFA: that is
//! one command running another, not a borrowed helper.)

pub mod archive;

use crate::context::Context;
use crate::error::{CliError, Kind, Result};

/// An integrity failure (exit 8): a checksum, signature or document that does not check out.
pub fn integrity(msg: impl Into<String>) -> CliError {
    CliError::new(Kind::Integrity, msg)
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
