//! The server key: 32 random bytes that encrypt secrets at rest (AES-256-GCM).
//!
//! It lives in `<data-dir>/server.key` (mode 0600) or wherever `IMADM_SERVER_KEY_FILE`
//! points, so an operator can keep it off the disk that holds the database. Each value is
//! sealed with a fresh random 96-bit nonce and the row's identity as associated data, so
//! a ciphertext copied into another row (or another column) fails to open.
//!
//! The key also authenticates backup snapshots: a MAC key derived from it with BLAKE3's
//! key derivation under a context of its own ([`BACKUP_MAC_CONTEXT`]), so the two uses
//! never share a key (docs/backup-format.md).

use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use imadm_api::backup::MacKey;
use rand::RngCore;
use zeroize::Zeroizing;

use crate::fsutil;

pub const KEY_FILE_ENV: &str = "IMADM_SERVER_KEY_FILE";
const NONCE_LEN: usize = 12;
/// BLAKE3 `derive_key` context of the backup MAC key: hard-coded, globally unique, and
/// never used for anything else, as BLAKE3's key derivation requires.
pub const BACKUP_MAC_CONTEXT: &str = "imadm 2026-01-01 backup snapshot MAC v2";

pub struct ServerKey {
    cipher: Aes256Gcm,
    backup_mac: MacKey,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the server key {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the server key {path} must be exactly 32 bytes, found {len}")]
    Length { path: PathBuf, len: usize },
    #[error(
        "the server key {path} is readable by group or others (mode {mode:o}); run `chmod 600 {path}`"
    )]
    Mode { path: PathBuf, mode: u32 },
    #[error("cannot write the server key {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl ServerKey {
    /// Where the key is: `IMADM_SERVER_KEY_FILE` if set, else `<data-dir>/server.key`.
    pub fn path(data_dir: &Path) -> PathBuf {
        match std::env::var_os(KEY_FILE_ENV) {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => data_dir.join("server.key"),
        }
    }

    /// Load the key, refusing files that others can read.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|source| KeyError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::Mode {
                path: path.to_owned(),
                mode,
            });
        }
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|source| KeyError::Read {
            path: path.to_owned(),
            source,
        })?);
        if bytes.len() != 32 {
            return Err(KeyError::Length {
                path: path.to_owned(),
                len: bytes.len(),
            });
        }
        Ok(Self::from_bytes(&bytes))
    }

    fn from_bytes(bytes: &[u8]) -> Self {
        ServerKey {
            cipher: Aes256Gcm::new_from_slice(bytes).expect("32-byte key"),
            backup_mac: MacKey::from_bytes(blake3::derive_key(BACKUP_MAC_CONTEXT, bytes)),
        }
    }

    /// Create a new random key at `path` (0600). Fails if one exists: keys are never
    /// silently replaced, as that would make every sealed value unreadable.
    pub fn create(path: &Path) -> Result<Self, KeyError> {
        if path.exists() {
            return Self::load(path);
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(bytes.as_mut());
        fsutil::write_atomic(path, bytes.as_ref(), 0o600).map_err(|source| KeyError::Write {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self::from_bytes(bytes.as_ref()))
    }

    /// Seal `plaintext`; `aad` names the row and column it belongs to.
    pub fn seal(&self, plaintext: &[u8], aad: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .expect("AES-GCM encryption cannot fail for in-memory buffers");
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// A public fingerprint of the key (hex SHA-256 of a GCM tag under a fixed nonce and
    /// label): backups carry it so a restore can refuse a different key without ever
    /// writing the key, or anything it could be recovered from, into the archive.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let tag = self
            .cipher
            .encrypt(
                Nonce::from_slice(&[0u8; NONCE_LEN]),
                Payload {
                    msg: b"",
                    aad: b"imadm backup key fingerprint v1",
                },
            )
            .expect("AES-GCM encryption cannot fail for in-memory buffers");
        hex::encode(Sha256::digest(&tag))
    }

    /// The key of backup snapshots' MACs: only a server holding this server key can
    /// write a snapshot that it (or another server with the same key) will restore.
    pub fn backup_mac_key(&self) -> &MacKey {
        &self.backup_mac
    }

    /// Open a value sealed by [`seal`](Self::seal) with the same `aad`.
    pub fn open(&self, sealed: &[u8], aad: &str) -> Option<Zeroizing<Vec<u8>>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: aad.as_bytes(),
                },
            )
            .ok()
            .map(Zeroizing::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checked by the compiler: the key material the server keeps for its lifetime (the
    /// AES key schedule inside `ServerKey`'s cipher, the audit signing key) is wiped when
    /// dropped, given the crate features in Cargo.toml.
    #[test]
    fn key_material_is_zeroized_on_drop() {
        fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop>() {}
        zeroized_on_drop::<aes::Aes256>();
        zeroized_on_drop::<ed25519_dalek::SigningKey>();
    }

    #[test]
    fn sealed_values_open_only_with_their_aad() {
        let dir = tempfile::tempdir().unwrap();
        let key = ServerKey::create(&dir.path().join("k")).unwrap();
        let sealed = key.seal(b"JBSWY3DPEHPK3PXP", "operator:1:totp");
        assert!(!sealed.windows(16).any(|w| w == b"JBSWY3DPEHPK3PXP"));
        assert_eq!(
            key.open(&sealed, "operator:1:totp").unwrap().as_slice(),
            b"JBSWY3DPEHPK3PXP"
        );
        assert!(key.open(&sealed, "operator:2:totp").is_none());
        let reloaded = ServerKey::load(&dir.path().join("k")).unwrap();
        assert!(reloaded.open(&sealed, "operator:1:totp").is_some());
    }

    /// The MAC key is neither the server key nor independent of it: the same file gives
    /// the same MAC key, another file another one.
    #[test]
    fn backup_mac_key_is_derived_per_server_key() {
        let dir = tempfile::tempdir().unwrap();
        let start = b"IMADMBAK\0\0\0\x02{}";
        let tag = |k: &ServerKey| k.backup_mac_key().header_tag(start);
        let a = ServerKey::create(&dir.path().join("a")).unwrap();
        let b = ServerKey::create(&dir.path().join("b")).unwrap();
        assert_eq!(
            tag(&a),
            tag(&ServerKey::load(&dir.path().join("a")).unwrap())
        );
        assert_ne!(tag(&a), tag(&b));
        let raw: [u8; 32] = std::fs::read(dir.path().join("a"))
            .unwrap()
            .try_into()
            .unwrap();
        assert_ne!(tag(&a), MacKey::from_bytes(raw).header_tag(start));
        assert_eq!(
            tag(&a),
            MacKey::from_bytes(blake3::derive_key(BACKUP_MAC_CONTEXT, &raw)).header_tag(start)
        );
    }

    #[test]
    fn key_file_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        ServerKey::create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(ServerKey::load(&path), Err(KeyError::Mode { .. })));
    }
}
