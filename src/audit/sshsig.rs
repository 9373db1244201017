//! OpenSSH SSHSIG detached signatures (PROTOCOL.sshsig) over streamed report bytes.
//!
//! The signature covers `"SSHSIG" || string(namespace) || string(reserved) ||
//! string(hash_alg) || string(H(file))`, so we hash the file while it is written (or
//! read) and sign the digest: nothing is re-read into memory. Signing uses sha512 and an
//! Ed25519 key from an OpenSSH private key file; verifying accepts sha256 and sha512,
//! which is what `ssh-keygen -Y sign` produces. [`SignKey::sign_file`] is the one way
//! a command signs a file it wrote: the signature goes to `FILE.sig` ([`sig_path_for`]).

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, Verifier};
use sha2::{Digest, Sha256, Sha512};
use ssh_key::{HashAlg, LineEnding, PrivateKey, SshSig};

use crate::error::{CliError, Kind, Result};

/// A writer that hashes with SHA-512 everything it passes on.
pub struct HashingWriter<W: Write> {
    inner: W,
    /// None when nothing will be signed: SHA-512 of a large report costs a fifth of an
    /// export's CPU.
    hash: Option<Sha512>,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hash: Some(Sha512::new()),
        }
    }
    /// Stop hashing; [`HashingWriter::into_parts`] then returns an all-zero digest.
    pub fn skip_digest(&mut self) {
        self.hash = None;
    }
    pub fn into_parts(self) -> (W, [u8; 64]) {
        let digest = self.hash.map_or([0; 64], |h| h.finalize().into());
        (self.inner, digest)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(h) = &mut self.hash {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A file digest in one of the two SSHSIG hash algorithms.
pub enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
    /// No signature to check: skip hashing.
    None,
}

impl Hasher {
    pub fn for_alg(alg: HashAlg) -> Self {
        match alg {
            HashAlg::Sha256 => Hasher::Sha256(Sha256::new()),
            _ => Hasher::Sha512(Sha512::new()),
        }
    }
    pub fn update(&mut self, b: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(b),
            Hasher::Sha512(h) => h.update(b),
            Hasher::None => {}
        }
    }
    pub fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
            Hasher::None => Vec::new(),
        }
    }
}

/// A reader that hashes everything read through it.
pub struct HashingReader<R: Read> {
    pub inner: R,
    pub hash: Hasher,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s);
}

/// The bytes an SSHSIG signature is made over, given the message digest.
pub fn signed_data(namespace: &str, reserved: &[u8], alg: HashAlg, digest: &[u8]) -> Vec<u8> {
    let mut out = b"SSHSIG".to_vec();
    put_string(&mut out, namespace.as_bytes());
    put_string(&mut out, reserved);
    put_string(&mut out, alg.as_str().as_bytes());
    put_string(&mut out, digest);
    out
}

/// An Ed25519 signing key loaded from an OpenSSH private key file.
pub struct SignKey {
    key: ed25519_dalek::SigningKey,
    public: ssh_key::public::KeyData,
}

impl SignKey {
    /// Load `path`; `passphrase` is asked for only when the key is encrypted.
    pub fn load(path: &Path, passphrase: impl FnOnce() -> Result<String>) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            CliError::usage(format!("cannot read signing key {}: {e}", path.display()))
                .hint("pass an OpenSSH Ed25519 private key with --sign-key (ssh-keygen -t ed25519)")
        })?;
        let mut key = PrivateKey::from_openssh(&text).map_err(|e| {
            CliError::usage(format!(
                "{} is not an OpenSSH private key: {e}",
                path.display()
            ))
            .hint("use a key made by `ssh-keygen -t ed25519` (the file without .pub)")
        })?;
        if key.is_encrypted() {
            let pass = passphrase()?;
            key = key.decrypt(pass.as_bytes()).map_err(|_| {
                CliError::new(
                    Kind::Auth,
                    format!("wrong passphrase for signing key {}", path.display()),
                )
                .hint("check IMADM_SIGN_KEY_PASSPHRASE or type the key's passphrase again")
            })?;
        }
        let Some(kp) = key.key_data().ed25519() else {
            return Err(CliError::usage(format!(
                "signing key {} is {}, not Ed25519",
                path.display(),
                key.algorithm()
            ))
            .hint("make an Ed25519 key with `ssh-keygen -t ed25519`"));
        };
        Ok(SignKey {
            key: ed25519_dalek::SigningKey::from_bytes(&kp.private.to_bytes()),
            public: key.public_key().key_data().clone(),
        })
    }

    /// An armored `-----BEGIN SSH SIGNATURE-----` over a file whose SHA-512 is `digest`.
    pub fn sign_sha512(&self, namespace: &str, digest: &[u8; 64]) -> Result<String> {
        let data = signed_data(namespace, &[], HashAlg::Sha512, digest);
        let sig = self.key.sign(&data);
        let sig = ssh_key::Signature::new(ssh_key::Algorithm::Ed25519, sig.to_bytes().to_vec())
            .and_then(|s| SshSig::new(self.public.clone(), namespace, HashAlg::Sha512, s))
            .and_then(|s| s.to_pem(LineEnding::LF))
            .map_err(|e| CliError::unexpected(format!("cannot encode the signature: {e}")))?;
        Ok(sig)
    }
}

impl SignKey {
    /// Sign a file whose SHA-512 is `digest` (in [`crate::audit::NAMESPACE`]) and write the
    /// signature atomically to `FILE.sig`; returns that path.
    pub fn sign_file(&self, file: &Path, digest: &[u8; 64]) -> Result<PathBuf> {
        let sig = self.sign_sha512(crate::audit::NAMESPACE, digest)?;
        let path = sig_path_for(file);
        imadm_server::fsutil::write_atomic(&path, sig.as_bytes(), 0o600)
            .map_err(|e| CliError::write_failed(&path, e))?;
        Ok(path)
    }
}

/// `FILE.sig` beside `FILE`, like `ssh-keygen -Y sign`.
pub fn sig_path_for(file: &Path) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".sig");
    PathBuf::from(s)
}

/// A parsed detached signature, before the file is hashed.
pub struct Detached {
    pub sig: SshSig,
}

impl Detached {
    pub fn parse(pem: &str, namespace: &str, what: &str) -> Result<Self> {
        let sig = SshSig::from_pem(pem.trim()).map_err(|e| {
            CliError::new(
                Kind::Integrity,
                format!("{what} is not an SSH signature: {e}"),
            )
            .hint("expected an armored -----BEGIN SSH SIGNATURE----- file (ssh-keygen -Y sign)")
        })?;
        if sig.namespace() != namespace {
            return Err(CliError::new(
                Kind::Integrity,
                format!(
                    "{what} was made for namespace {:?}, not {namespace:?}",
                    sig.namespace()
                ),
            )
            .hint(format!("audit reports are signed with `-n {namespace}`")));
        }
        if sig.public_key().ed25519().is_none() {
            return Err(CliError::new(
                Kind::Integrity,
                format!(
                    "{what} is made with a {} key; only Ed25519 is accepted",
                    sig.algorithm()
                ),
            )
            .hint("sign with an Ed25519 key (ssh-keygen -t ed25519)"));
        }
        Ok(Detached { sig })
    }

    pub fn hasher(&self) -> Hasher {
        Hasher::for_alg(self.sig.hash_alg())
    }

    /// Check the signature over a file with this digest (from [`Detached::hasher`]).
    pub fn verify_digest(&self, digest: &[u8], what: &str) -> Result<()> {
        let data = signed_data(
            self.sig.namespace(),
            self.sig.reserved(),
            self.sig.hash_alg(),
            digest,
        );
        let bad = || {
            CliError::new(
                Kind::Integrity,
                format!("{what} does not match the report: the file was changed after signing"),
            )
            .hint("get the original report and its .sig again; do not edit signed reports")
        };
        let pk = self.sig.public_key().ed25519().ok_or_else(bad)?;
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&pk.0).map_err(|_| bad())?;
        let sig =
            ed25519_dalek::Signature::from_slice(self.sig.signature_bytes()).map_err(|_| bad())?;
        vk.verify(&data, &sig).map_err(|_| bad())
    }

    /// The signer's public key as `ssh-ed25519 AAAA...`.
    pub fn public_openssh(&self) -> String {
        ssh_key::PublicKey::new(self.sig.public_key().clone(), "")
            .to_openssh()
            .unwrap_or_default()
            .trim()
            .to_owned()
    }
}

/// Hash a whole file (tests compare with what was streamed).
#[cfg(test)]
pub fn digest_file(path: &Path, alg: HashAlg) -> io::Result<Vec<u8>> {
    let f = std::fs::File::open(path)?;
    let mut r = HashingReader {
        inner: io::BufReader::with_capacity(1 << 16, f),
        hash: Hasher::for_alg(alg),
    };
    io::copy(&mut r, &mut io::sink())?;
    Ok(r.hash.finish())
}
