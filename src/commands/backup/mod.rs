//! `imadm backup`: age-encrypted snapshots of the server's data. `run` streams the
//! server's snapshot through age into every destination in one pass (atomic files plus
//! a JSON manifest each); `verify` checks an archive against its manifest or, with an
//! identity, decrypts and checks the snapshot's own trailer; `restore` streams a
//! decrypted archive back to the server, which switches only after it verified.

pub mod list;
pub mod prune;
pub mod restore;
pub mod run;
pub mod verify;

use std::io::{self, BufReader, Read};
use std::path::Path;

// Manifests are read by the compliance gate too, so they live in `cmdutil`.
pub use crate::cmdutil::archive::{Archive, MANIFEST_SCHEMA, Manifest, manifest_path};
pub use crate::cmdutil::integrity;
use crate::context::Context;
use crate::error::{CliError, Result};

/// Environment variable holding the passphrase of a passphrase-protected identity, for
/// cron; on a terminal imadm prompts instead.
pub const PASSPHRASE_ENV: &str = "IMADM_IDENTITY_PASSPHRASE";

/// Hands a passphrase obtained up front to age (which asks through callbacks). Getting it
/// first lets imadm prompt through its own context and fail with exit 2 under --no-input.
#[derive(Clone)]
struct Given(age::secrecy::SecretString);

impl age::Callbacks for Given {
    fn display_message(&self, _: &str) {}
    fn confirm(&self, _: &str, _: &str, _: Option<&str>) -> Option<bool> {
        None
    }
    fn request_public_string(&self, _: &str) -> Option<String> {
        None
    }
    fn request_passphrase(&self, _: &str) -> Option<age::secrecy::SecretString> {
        Some(self.0.clone())
    }
}

fn passphrase(ctx: &Context, path: &Path) -> Result<age::secrecy::SecretString> {
    if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        return Ok(p.into());
    }
    ctx.ask_secret(
        &format!("Passphrase for {}", path.display()),
        &format!("set {PASSPHRASE_ENV} to the passphrase of the identity file"),
    )
    .map(Into::into)
}

fn wrong_passphrase(path: &Path, e: impl std::fmt::Display) -> CliError {
    CliError::usage(format!("cannot unlock {}: {e}", path.display())).hint(format!(
        "check the passphrase (prompted on a terminal, else from {PASSPHRASE_ENV})"
    ))
}

/// Identities from an age identity file or an SSH private key (ed25519, rsa), either of
/// them possibly passphrase-protected (`age -p` of an identity file, armored or not; an
/// encrypted OpenSSH key). A protected one is unlocked here, once, so a wrong passphrase
/// fails before anything is read or sent.
pub fn load_identities(ctx: &Context, path: &Path) -> Result<Vec<Box<dyn age::Identity>>> {
    let bytes = std::fs::read(path).map_err(|e| {
        CliError::usage(format!("cannot read identity file {}: {e}", path.display()))
            .hint("pass an age identity file (age-keygen) or an SSH private key with --identity")
    })?;
    let name = path.display().to_string();
    if bytes.starts_with(b"age-encryption.org/")
        || bytes.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----")
    {
        let dec = age::Decryptor::new_buffered(age::armor::ArmoredReader::new(&bytes[..]))
            .map_err(|e| {
                CliError::usage(format!("{name} is not a readable age file: {e}")).hint(
                    "an encrypted identity file is made with `age-keygen | age -p -a > key.age`",
                )
            })?;
        let Some(enc) =
            age::encrypted::EncryptedIdentity::new(dec, Given(passphrase(ctx, path)?), None)
        else {
            return Err(CliError::usage(format!(
                "{name} is encrypted to a recipient, not a passphrase"
            ))
            .hint("use an identity file, or one encrypted with `age -p`"));
        };
        let file = enc
            .decrypt(Some(&name))
            .map_err(|e| wrong_passphrase(path, e))?;
        return identities_of(path, file);
    }
    let text = String::from_utf8_lossy(&bytes);
    if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----")
        || text.contains("-----BEGIN RSA PRIVATE KEY-----")
    {
        let id = age::ssh::Identity::from_buffer(BufReader::new(&bytes[..]), Some(name.clone()))
            .map_err(|e| {
                CliError::usage(format!("{name} is not a usable SSH key: {e}"))
                    .hint("use an ed25519 or rsa key, or an age identity")
            })?;
        return match id {
            age::ssh::Identity::Encrypted(key) => {
                let key = key
                    .decrypt(passphrase(ctx, path)?)
                    .map_err(|e| wrong_passphrase(path, e))?;
                Ok(vec![Box::new(age::ssh::Identity::Unencrypted(key))])
            }
            age::ssh::Identity::Unsupported(k) => Err(CliError::usage(format!(
                "{name} is an SSH key of a kind age cannot use ({k:?})"
            ))
            .hint("use an ed25519 or rsa key, or an age identity")),
            id => Ok(vec![Box::new(id)]),
        };
    }
    let file = age::IdentityFile::from_buffer(BufReader::new(&bytes[..])).map_err(|e| {
        CliError::usage(format!("{name} is not an age identity file: {e}"))
            .hint("generate one with `age-keygen -o key.txt`")
    })?;
    identities_of(path, file)
}

fn identities_of<C: age::Callbacks>(
    path: &Path,
    file: age::IdentityFile<C>,
) -> Result<Vec<Box<dyn age::Identity>>> {
    let ids = file.into_identities().map_err(|e| {
        CliError::usage(format!("cannot use identities in {}: {e}", path.display()))
            .hint("use an age identity file (`age-keygen -o key.txt`) or an SSH private key")
    })?;
    Ok(ids
        .into_iter()
        .map(|i| i as Box<dyn age::Identity>)
        .collect())
}

/// Open an archive for decrypted reading, as a stream.
pub fn decrypt(
    archive: &Archive,
    identities: &[Box<dyn age::Identity>],
) -> Result<Box<dyn Read + Send>> {
    let (f, _) = archive.open()?;
    let dec = age::Decryptor::new_buffered(BufReader::with_capacity(256 << 10, f))
        .map_err(|e| match e {
            age::DecryptError::Io(e) => unreadable(archive, e),
            e => integrity(format!("{archive} is not a readable age archive: {e}"))
                .hint("the file is damaged or not an age file; `imadm backup verify` checks it against its manifest"),
        })?;
    let r = dec
        .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::Io(e) => unreadable(archive, e),
            e => integrity(format!("cannot decrypt {archive}: {e}")).hint(
                "use the identity matching a recipient the backup was made for (see its manifest)",
            ),
        })?;
    Ok(Box::new(r))
}

/// A read of `archive` that failed: the S3 service failing (a dropped connection, a
/// service gone: exit 3; refused: 4 or 5) keeps its own exit code; anything else means
/// the archive is damaged (exit 8).
pub fn unreadable(archive: &Archive, e: io::Error) -> CliError {
    if e.get_ref()
        .is_some_and(|i| i.is::<crate::cmdutil::s3::Failure>())
    {
        return CliError::from(e);
    }
    integrity(format!("{archive} is damaged: {e}")).hint("use another copy of the backup")
}

/// A reader that keeps the first error it passed on (a copy goes to the caller), so a
/// failed restore can be reported as what it was: a damaged archive, or an S3 service
/// that failed, rather than as the upload's error.
pub struct Remember<R> {
    pub inner: R,
    pub error: std::sync::Arc<std::sync::Mutex<Option<io::Error>>>,
}

impl<R: Read> Read for Remember<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            let copy = io::Error::new(e.kind(), e.to_string());
            let mut slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert(e);
            copy
        })
    }
}
