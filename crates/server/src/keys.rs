//! The server keyring: keys of 32 random bytes that encrypt secrets at rest (AES-256-GCM),
//! the active one sealing, every other one only opening.
//!
//! The original key lives in `<data-dir>/server.key` (mode 0600) or wherever
//! `IMADM_SERVER_KEY_FILE` points, so an operator can keep it off the disk that holds the
//! database. Keys made by a rotation live beside it, in the directory `<key file>.d/`
//! (`<id>.key`, 0600, and `keyring.json` naming the active key and the retired ones), so
//! they stay wherever the operator keeps the original. Without that directory the
//! original key is the active one, as before rotation existed.
//!
//! Each value is sealed with a fresh random 96-bit nonce and the row's identity as
//! associated data, so a ciphertext copied into another row (or another column) fails to
//! open. A value sealed since key rotation exists starts with [`SEALED_MAGIC`] and the
//! 8-byte id of its key ([`KeyId`]); a value without that prefix is the original key's
//! (databases written before rotation keep working unchanged). A key's id is the start
//! of its public fingerprint, so it names the key without revealing anything about it.
//!
//! Each key also authenticates backup snapshots: a MAC key derived from it with BLAKE3's
//! key derivation under a context of its own ([`BACKUP_MAC_CONTEXT`]), so the two uses
//! never share a key (docs/backup-format.md). A snapshot carries the fingerprint of the
//! key that was active when it was taken; a restore finds that key in the keyring, so
//! retired keys are kept (see [`ServerKey::rotate`], [`ServerKey::retire`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use imadm_api::backup::MacKey;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::fsutil;

pub const KEY_FILE_ENV: &str = "IMADM_SERVER_KEY_FILE";
const NONCE_LEN: usize = 12;
/// BLAKE3 `derive_key` context of the backup MAC key: hard-coded, globally unique, and
/// never used for anything else, as BLAKE3's key derivation requires.
pub const BACKUP_MAC_CONTEXT: &str = "imadm 2026-01-01 backup snapshot MAC v2";
/// BLAKE3 `derive_key` context of the key that names login-throttling counters
/// (`throttle.rs`), under the same rules.
const THROTTLE_CONTEXT: &str = "imadm 2026-11-28 login throttle counter names v1";
/// First bytes of a value that names its key (format version 1). A value of the original
/// key without it starts with a random nonce, so it begins with these bytes only by a
/// 2^-32 chance; [`ServerKey::open`] then still tries the original key on the whole value.
pub const SEALED_MAGIC: [u8; 4] = [0xFF, b'k', b'i', 0x01];
/// `SEALED_MAGIC` followed by the key id: what every value sealed under one key starts with.
pub const SEALED_PREFIX_LEN: usize = SEALED_MAGIC.len() + 8;
const KEYRING_FILE: &str = "keyring.json";

/// The id of a key: the first 8 bytes of its fingerprint, shown as 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub [u8; 8]);

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl std::str::FromStr for KeyId {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let bytes = hex::decode(s).map_err(|_| ())?;
        Ok(KeyId(bytes.try_into().map_err(|_| ())?))
    }
}

impl KeyId {
    /// What every value sealed under this key starts with.
    pub fn sealed_prefix(&self) -> [u8; SEALED_PREFIX_LEN] {
        let mut p = [0u8; SEALED_PREFIX_LEN];
        p[..SEALED_MAGIC.len()].copy_from_slice(&SEALED_MAGIC);
        p[SEALED_MAGIC.len()..].copy_from_slice(&self.0);
        p
    }
}

/// One key of the keyring.
pub struct Key {
    cipher: Aes256Gcm,
    backup_mac: MacKey,
    throttle: [u8; 32],
    id: KeyId,
    fingerprint: String,
}

impl Key {
    fn from_bytes(bytes: &[u8]) -> Self {
        use sha2::{Digest, Sha256};
        let cipher = Aes256Gcm::new_from_slice(bytes).expect("32-byte key");
        // A GCM tag under a fixed nonce and label: public, and nothing the key can be
        // recovered from (backups carry it).
        let tag = cipher
            .encrypt(
                Nonce::from_slice(&[0u8; NONCE_LEN]),
                Payload {
                    msg: b"",
                    aad: b"imadm backup key fingerprint v1",
                },
            )
            .expect("AES-GCM encryption cannot fail for in-memory buffers");
        let digest = Sha256::digest(&tag);
        Key {
            cipher,
            backup_mac: MacKey::from_bytes(blake3::derive_key(BACKUP_MAC_CONTEXT, bytes)),
            throttle: blake3::derive_key(THROTTLE_CONTEXT, bytes),
            id: KeyId(digest[..8].try_into().expect("8 bytes")),
            fingerprint: hex::encode(digest),
        }
    }

    pub fn id(&self) -> KeyId {
        self.id
    }

    /// A public fingerprint of the key (hex SHA-256 of a GCM tag under a fixed nonce and
    /// label): backups carry it so a restore can pick the key, or refuse a snapshot of a
    /// key it does not hold, without the archive holding anything the key could be
    /// recovered from.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The key of backup snapshots' MACs: only a server holding this key can write a
    /// snapshot that it (or another server with the same key) will restore.
    pub fn backup_mac_key(&self) -> &MacKey {
        &self.backup_mac
    }

    /// Seal `plaintext` under this key (see [`ServerKey::seal`]).
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
        let mut out = Vec::with_capacity(SEALED_PREFIX_LEN + NONCE_LEN + ct.len());
        out.extend_from_slice(&self.id.sealed_prefix());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    fn open_raw(&self, sealed: &[u8], aad: &str) -> Option<Zeroizing<Vec<u8>>> {
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
    #[error("the keyring {path} is damaged: {what}")]
    Keyring { path: PathBuf, what: String },
}

/// `keyring.json`: which key seals, and which ones no row uses any more. Key files not
/// named here are keys that only open.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyringState {
    active: String,
    #[serde(default)]
    retired: Vec<String>,
}

struct Ring {
    /// The original key first, then the rotated ones in the order of their files' names.
    keys: Vec<Arc<Key>>,
    active: usize,
    retired: BTreeSet<KeyId>,
}

/// A key of the keyring as `GET /admin/keys` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyInfo {
    pub id: KeyId,
    pub active: bool,
    /// The original key (`server.key`): values without a key id are its.
    pub original: bool,
    pub retired: bool,
}

/// The keyring (see the module comment). Shared by every request: rotation swaps the
/// active key under the lock while requests keep sealing and opening.
pub struct ServerKey {
    /// `<key file>.d`: rotated keys and `keyring.json`.
    dir: PathBuf,
    ring: RwLock<Ring>,
}

fn read_key_file(path: &Path) -> Result<Key, KeyError> {
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
    Ok(Key::from_bytes(&bytes))
}

/// A new random key, written to the file `path_for(its id)` (0600).
fn new_key_file(path_for: impl FnOnce(KeyId) -> PathBuf) -> Result<Key, KeyError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(bytes.as_mut());
    let key = Key::from_bytes(bytes.as_ref());
    let path = path_for(key.id);
    fsutil::write_atomic(&path, bytes.as_ref(), 0o600)
        .map_err(|source| KeyError::Write { path, source })?;
    Ok(key)
}

impl ServerKey {
    /// Where the original key is: `IMADM_SERVER_KEY_FILE` if set, else
    /// `<data-dir>/server.key`.
    pub fn path(data_dir: &Path) -> PathBuf {
        match std::env::var_os(KEY_FILE_ENV) {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => data_dir.join("server.key"),
        }
    }

    /// Where the keys made by rotations are: `<key file>.d`.
    pub fn keyring_dir(key_path: &Path) -> PathBuf {
        let mut s = key_path.as_os_str().to_owned();
        s.push(".d");
        s.into()
    }

    /// Load the keyring of the original key at `path`, refusing key files that others
    /// can read.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let original = Arc::new(read_key_file(path)?);
        let dir = Self::keyring_dir(path);
        let damaged = |what: String| KeyError::Keyring {
            path: dir.clone(),
            what,
        };
        let mut keys = vec![original];
        let state_path = dir.join(KEYRING_FILE);
        let state: Option<KeyringState> = match std::fs::read(&state_path) {
            Ok(bytes) => Some(
                serde_json::from_slice(&bytes)
                    .map_err(|e| damaged(format!("{KEYRING_FILE}: {e}")))?,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(KeyError::Read {
                    path: state_path,
                    source,
                });
            }
        };
        if state.is_some() {
            let mut names: Vec<_> = std::fs::read_dir(&dir)
                .map_err(|source| KeyError::Read {
                    path: dir.clone(),
                    source,
                })?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".key"))
                .collect();
            names.sort();
            for name in names {
                let key = read_key_file(&dir.join(&name))?;
                // The file name is the id: a file copied under another name would make
                // `keyring.json` name a key it does not mean.
                if name != format!("{}.key", key.id) {
                    return Err(damaged(format!(
                        "{name} holds the key {}, not the one its name says",
                        key.id
                    )));
                }
                if keys.iter().all(|k| k.id != key.id) {
                    keys.push(Arc::new(key));
                }
            }
        }
        let (active, retired) = match state {
            None => (0, BTreeSet::new()),
            Some(s) => {
                let find = |id: &str| {
                    keys.iter()
                        .position(|k| k.id.to_string() == id)
                        .ok_or_else(|| damaged(format!("no key file for the key {id}")))
                };
                let active = find(&s.active)?;
                // A retired key's file may be deleted once no backup needs it.
                let retired = s
                    .retired
                    .iter()
                    .filter_map(|id| find(id).ok().map(|i| keys[i].id))
                    .collect();
                (active, retired)
            }
        };
        Ok(ServerKey {
            dir,
            ring: RwLock::new(Ring {
                keys,
                active,
                retired,
            }),
        })
    }

    /// Create the original key at `path` (0600) if there is none, then load the keyring.
    /// An existing key is never replaced, as that would make every sealed value
    /// unreadable.
    pub fn create(path: &Path) -> Result<Self, KeyError> {
        if !path.exists() {
            new_key_file(|_| path.to_owned())?;
        }
        Self::load(path)
    }

    fn ring(&self) -> std::sync::RwLockReadGuard<'_, Ring> {
        self.ring.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The key that seals.
    pub fn active(&self) -> Arc<Key> {
        let ring = self.ring();
        ring.keys[ring.active].clone()
    }

    /// The key whose fingerprint is `fingerprint`, retired or not.
    pub fn by_fingerprint(&self, fingerprint: &str) -> Option<Arc<Key>> {
        self.ring()
            .keys
            .iter()
            .find(|k| k.fingerprint == fingerprint)
            .cloned()
    }

    /// Whether the keyring holds the key `id`.
    pub fn holds(&self, id: KeyId) -> bool {
        self.ring().keys.iter().any(|k| k.id == id)
    }

    /// The original key's id: values without a key id are sealed under it.
    pub fn original_id(&self) -> KeyId {
        self.ring().keys[0].id
    }

    /// The key naming login-throttling counters: the original key's, so it is the same
    /// on every instance of one database and does not change with a rotation.
    pub fn throttle_key(&self) -> [u8; 32] {
        self.ring().keys[0].throttle
    }

    /// Every key, the original first.
    pub fn list(&self) -> Vec<KeyInfo> {
        let ring = self.ring();
        ring.keys
            .iter()
            .enumerate()
            .map(|(i, k)| KeyInfo {
                id: k.id,
                active: i == ring.active,
                original: i == 0,
                retired: ring.retired.contains(&k.id),
            })
            .collect()
    }

    /// Seal `plaintext` under the active key; `aad` names the row and column it belongs to.
    pub fn seal(&self, plaintext: &[u8], aad: &str) -> Vec<u8> {
        self.active().seal(plaintext, aad)
    }

    /// The key id a sealed value names (`None`: a value of the original key, no prefix).
    pub fn sealed_key_id(sealed: &[u8]) -> Option<KeyId> {
        let prefix = sealed.get(..SEALED_PREFIX_LEN)?;
        if prefix[..SEALED_MAGIC.len()] != SEALED_MAGIC {
            return None;
        }
        Some(KeyId(
            prefix[SEALED_MAGIC.len()..].try_into().expect("8 bytes"),
        ))
    }

    /// Open a value sealed by [`seal`](Self::seal) (under any key of the keyring) or by
    /// the original key before values named their key, with the same `aad`. `None` when
    /// the keyring lacks its key or the value or `aad` do not match.
    pub fn open(&self, sealed: &[u8], aad: &str) -> Option<Zeroizing<Vec<u8>>> {
        let ring = self.ring();
        if let Some(id) = Self::sealed_key_id(sealed)
            && let Some(key) = ring.keys.iter().find(|k| k.id == id)
            && let Some(plain) = key.open_raw(&sealed[SEALED_PREFIX_LEN..], aad)
        {
            return Some(plain);
        }
        // No prefix (or, by a 2^-32 chance, a nonce that looks like one): the original
        // key's format, the nonce first.
        ring.keys[0].open_raw(sealed, aad)
    }

    /// The public fingerprint of the active key (see [`Key::fingerprint`]).
    pub fn fingerprint(&self) -> String {
        self.active().fingerprint.clone()
    }

    /// Make a new random key the active one: its file first, then `keyring.json`, each
    /// written whole, so a crash leaves either the old active key or the new one, never
    /// a keyring naming a key that is not on disk. Values sealed under the previous keys
    /// still open; re-sealing them is the caller's (`rotation::reseal`).
    pub fn rotate(&self) -> Result<KeyId, KeyError> {
        let mut ring = self.ring.write().unwrap_or_else(|p| p.into_inner());
        fsutil::create_private_dir(&self.dir).map_err(|source| KeyError::Write {
            path: self.dir.clone(),
            source,
        })?;
        let key = new_key_file(|id| self.dir.join(format!("{id}.key")))?;
        let id = key.id;
        ring.keys.push(Arc::new(key));
        let previous = ring.active;
        ring.active = ring.keys.len() - 1;
        if let Err(e) = self.write_state(&ring) {
            ring.active = previous;
            return Err(e);
        }
        Ok(id)
    }

    /// Record which keys are retired: no row uses them, they only open old backups. The
    /// active key never is.
    pub fn set_retired(&self, ids: &BTreeSet<KeyId>) -> Result<(), KeyError> {
        let mut ring = self.ring.write().unwrap_or_else(|p| p.into_inner());
        let active = ring.keys[ring.active].id;
        let retired: BTreeSet<KeyId> = ids.iter().copied().filter(|id| *id != active).collect();
        if retired == ring.retired {
            return Ok(());
        }
        let previous = std::mem::replace(&mut ring.retired, retired);
        if let Err(e) = self.write_state(&ring) {
            ring.retired = previous;
            return Err(e);
        }
        Ok(())
    }

    fn write_state(&self, ring: &Ring) -> Result<(), KeyError> {
        let state = KeyringState {
            active: ring.keys[ring.active].id.to_string(),
            retired: ring.retired.iter().map(|id| id.to_string()).collect(),
        };
        let path = self.dir.join(KEYRING_FILE);
        let json = serde_json::to_vec_pretty(&state).expect("plain struct");
        fsutil::write_atomic(&path, &json, 0o600).map_err(|source| KeyError::Write { path, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checked by the compiler: the key material the server keeps for its lifetime (the
    /// AES key schedule inside each key's cipher, the audit signing key) is wiped when
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

    /// A value sealed before values named their key (nonce first, no prefix) opens with
    /// the original key, before and after a rotation.
    #[test]
    fn values_of_the_original_format_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let ring = ServerKey::create(&path).unwrap();
        let old = ring.active().seal(b"secret", "im_users:1:email");
        let legacy = old[SEALED_PREFIX_LEN..].to_vec();
        assert_eq!(ServerKey::sealed_key_id(&legacy), None);
        assert_eq!(
            ring.open(&legacy, "im_users:1:email").unwrap().as_slice(),
            b"secret"
        );
        ring.rotate().unwrap();
        let ring = ServerKey::load(&path).unwrap();
        assert_ne!(ring.active().id(), ring.original_id());
        assert_eq!(
            ring.open(&legacy, "im_users:1:email").unwrap().as_slice(),
            b"secret"
        );
        assert!(ring.open(&legacy, "im_users:2:email").is_none());
    }

    /// After a rotation, new values name the new key and values of the old key still open,
    /// in this process and after a reload.
    #[test]
    fn values_of_key_a_open_after_key_b_becomes_active() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let ring = ServerKey::create(&path).unwrap();
        let a = ring.active().id();
        let under_a = ring.seal(b"one", "t:1:c");
        assert_eq!(ServerKey::sealed_key_id(&under_a), Some(a));
        let b = ring.rotate().unwrap();
        assert_ne!(a, b);
        let under_b = ring.seal(b"two", "t:2:c");
        assert_eq!(ServerKey::sealed_key_id(&under_b), Some(b));
        for ring in [&ring, &ServerKey::load(&path).unwrap()] {
            assert_eq!(ring.active().id(), b);
            assert_eq!(ring.open(&under_a, "t:1:c").unwrap().as_slice(), b"one");
            assert_eq!(ring.open(&under_b, "t:2:c").unwrap().as_slice(), b"two");
        }
        let mode = |p: &Path| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(p).unwrap().permissions().mode() & 0o777
        };
        let dir = ServerKey::keyring_dir(&path);
        assert_eq!(mode(&dir.join(format!("{b}.key"))), 0o600);
        assert_eq!(mode(&dir.join(KEYRING_FILE)), 0o600);
        // Retiring keeps the key: a backup of its time still needs it.
        ring.set_retired(&BTreeSet::from([a, b])).unwrap();
        let ring = ServerKey::load(&path).unwrap();
        let list = ring.list();
        assert_eq!(
            list.iter()
                .map(|k| (k.active, k.retired))
                .collect::<Vec<_>>(),
            [(false, true), (true, false)]
        );
        assert!(ring.open(&under_a, "t:1:c").is_some());
    }

    /// A value naming a key the keyring lacks, or one whose id was swapped for another
    /// key's, does not open (and does not panic).
    #[test]
    fn a_wrong_key_id_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let ring = ServerKey::create(&dir.path().join("k")).unwrap();
        let a = ring.active().id();
        let b = ring.rotate().unwrap();
        let mut sealed = ring.seal(b"x", "t:1:c");
        sealed[SEALED_MAGIC.len()..SEALED_PREFIX_LEN].copy_from_slice(&a.0);
        assert!(ring.open(&sealed, "t:1:c").is_none());
        sealed[SEALED_MAGIC.len()..SEALED_PREFIX_LEN].copy_from_slice(&[7; 8]);
        assert!(ring.open(&sealed, "t:1:c").is_none());
        sealed[SEALED_MAGIC.len()..SEALED_PREFIX_LEN].copy_from_slice(&b.0);
        assert!(ring.open(&sealed, "t:1:c").is_some());
        assert!(ring.open(&sealed[..5], "t:1:c").is_none());
        assert!(ring.open(b"", "t:1:c").is_none());
    }

    /// A key file under another key's name, or a keyring naming a missing key, is refused
    /// at load rather than sealing under a key nobody meant.
    #[test]
    fn a_damaged_keyring_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let ring = ServerKey::create(&path).unwrap();
        let b = ring.rotate().unwrap();
        let kdir = ServerKey::keyring_dir(&path);
        std::fs::rename(kdir.join(format!("{b}.key")), kdir.join("00.key")).unwrap();
        assert!(matches!(
            ServerKey::load(&path),
            Err(KeyError::Keyring { .. })
        ));
        std::fs::remove_file(kdir.join("00.key")).unwrap();
        assert!(matches!(
            ServerKey::load(&path),
            Err(KeyError::Keyring { .. })
        ));
    }

    /// The MAC key is neither the server key nor independent of it: the same file gives
    /// the same MAC key, another file another one.
    #[test]
    fn backup_mac_key_is_derived_per_server_key() {
        let dir = tempfile::tempdir().unwrap();
        let start = b"IMADMBAK\0\0\0\x02{}";
        let tag = |k: &ServerKey| k.active().backup_mac_key().header_tag(start);
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
