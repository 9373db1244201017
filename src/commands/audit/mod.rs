//! `imadm audit`: the audit log of the server. `export` writes a verified report of a
//! time range (optionally SSH-signed), `verify` checks one offline. The report format and
//! the cryptography live in `crate::audit`; these commands fetch and drive it.

pub mod export;
pub mod synth;
pub mod verify;

use crate::cli::AuditCommand;
use crate::context::Context;
use crate::error::{CliError, Result};

pub fn dispatch(ctx: &mut Context, c: AuditCommand) -> Result<()> {
    match c {
        AuditCommand::Export(a) => export::run(ctx, a),
        AuditCommand::Verify(a) => verify::run(ctx, a),
    }
}

/// `T` of the contract: RFC 3339, or a relative `24h`/`7d` before now, as RFC 3339.
pub fn parse_time(ctx: &Context, flag: &str, s: &str) -> Result<String> {
    if let Ok(t) = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Ok(imadm_api::audit::format_at(
            (t.unix_timestamp_nanos() / 1_000_000) as i64,
        ));
    }
    let secs = crate::duration::parse_secs(s).map_err(|_| {
        CliError::usage(format!(
            "{flag} {s:?} is neither an RFC 3339 time nor a duration"
        ))
        .hint(format!("e.g. {flag} 2026-11-01T00:00:00Z or {flag} 30d"))
    })?;
    Ok(imadm_api::audit::format_at(
        (ctx.now() - secs as i64) * 1000,
    ))
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
