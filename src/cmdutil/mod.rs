//! Helpers that several nouns share (gh's `cmdutil`), so that no command imports from a
//! sibling noun: backup archives and manifests (`archive`: backup verbs and the compliance
//! gate), S3-compatible destinations (`s3`), the integrity error, signing a written file
//! and the signing key's passphrase (audit export and report, the compliance gate), time
//! flags and query values (`time_arg`, `q`: audit and incident verbs), a Lanying request
//! acting on one IM user (`call_as`: user and incident verbs), one CSV line split
//! (`split_csv_line`: user import, incident files), the server library's errors and the
//! database URL (`server`: server verbs and `__seed-audit`). The step-up dialogue of sensitive
//! requests is `session::Conn::step_up`.
//! (`auth login` still runs `mfa enroll`'s dialogue for an account without MFA: that is
//! one command running another, not a borrowed helper.)

pub mod archive;
pub mod s3;
pub mod server;

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

/// The signing key of a command that signs what it writes: `--sign-key` (`flag`), else
/// the profile's `sign_key`, loaded before any request is sent, so a wrong passphrase
/// costs nothing. `None` when neither names a key.
pub fn sign_key(ctx: &Context, flag: Option<&Path>) -> Result<Option<SignKey>> {
    match flag.map(Path::to_owned).or(ctx.profile().sign_key) {
        Some(p) => SignKey::load(&p, || sign_key_passphrase(ctx)).map(Some),
        None => Ok(None),
    }
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

/// A time flag: RFC 3339 as is, or `24h`/`7d` meaning that long ago; RFC 3339 out.
pub fn time_arg(flag: &str, v: &str) -> Result<String> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(v, &Rfc3339) {
        return Ok(t.format(&Rfc3339).unwrap_or_else(|_| v.to_owned()));
    }
    let secs = crate::duration::parse_secs(v).map_err(|_| {
        CliError::usage(format!(
            "{flag} {v:?} is neither an RFC 3339 time nor a duration"
        ))
        .hint("use e.g. 2026-11-26T08:00:00Z, 24h or 7d")
    })?;
    let t = time::OffsetDateTime::now_utc() - time::Duration::seconds(secs as i64);
    Ok(t.format(&Rfc3339).expect("formatting a valid time"))
}

/// Percent-encode a query value (RFC 3986 unreserved characters pass).
pub fn q(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A Lanying request acting on one IM user (the `user_id` header).
pub fn call_as<B: serde::Serialize, T: serde::de::DeserializeOwned>(
    ctx: &Context,
    conn: &crate::session::Conn,
    method: reqwest::Method,
    path: &str,
    user_id: i64,
    body: Option<&B>,
    otp: Option<&str>,
) -> Result<T> {
    let headers = [(imadm_api::im::HEADER_USER_ID, user_id.to_string())];
    conn.call(ctx, |c, t| {
        c.request(
            method.clone(),
            path,
            body,
            &crate::client::Auth {
                token: Some(t),
                otp,
            },
            &headers,
            false,
        )
    })
}

/// Split one CSV line (RFC 4180 quoting; a quoted field cannot span lines here).
pub fn split_csv_line(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cur.push('"');
                }
                '"' => {
                    quoted = false;
                    if !matches!(chars.peek(), None | Some(',')) {
                        return Err("text after a closing quote".into());
                    }
                }
                _ => cur.push(c),
            }
            continue;
        }
        match c {
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            ',' => {
                fields.push(std::mem::take(&mut cur));
                at_start = true;
            }
            _ => {
                cur.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        return Err("a quoted field is not closed on this line".into());
    }
    fields.push(cur);
    Ok(fields)
}
