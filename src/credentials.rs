//! Where sessions are kept: the OS keyring, or (only when asked) a 0600 file.
//!
//! The keyring entry is service `imadm`, account `<profile>@<host:port>`, holding the
//! session as JSON. `--insecure-storage` puts the same JSON in
//! `<config-dir>/credentials.json` (mode 0600), and `auth status` says so. `IMADM_TOKEN`
//! bypasses both for one process. The stores are tried in a fixed order (file entry if
//! present, then keyring) so a profile's session is always found where login put it.
//!
//! Parallel commands (a cron burst) share one session, and the server revokes a session
//! whose rotated refresh token comes back. So a refresh runs under a per-account lock
//! ([`Credentials::lock_refresh`]: `<config-dir>/locks/<account>.lock`, 0600, an
//! advisory lock the OS drops when the process dies, `lockfile.rs`), and the caller re-reads the
//! session once it holds it. Rewrites of the shared `credentials.json` take a lock of
//! their own, so two accounts refreshing at once do not undo each other's save.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use imadm_api::UnixTime;
use serde::{Deserialize, Serialize};

use crate::error::{CliError, Kind, Result};
use crate::lockfile::{Lock, lock};

pub const KEYRING_SERVICE: &str = "imadm";
const INSECURE_FILE: &str = "credentials.json";
const LOCK_DIR: &str = "locks";
/// How long a command waits for another one that refreshes the same session (a refresh
/// is one request, retried at most a few times).
pub const LOCK_WAIT: Duration = Duration::from_secs(30);

/// A stored login.
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredSession {
    pub server: String,
    pub username: String,
    pub access_token: String,
    /// `None` for a token given with `--with-token` whose expiry is unknown.
    pub access_expires_at: Option<UnixTime>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub refresh_expires_at: Option<UnixTime>,
    #[serde(default)]
    pub restrictions: Vec<String>,
    /// When this CLI received the access token (unix seconds), so the refresh margin can
    /// follow the token's lifetime; `None` in sessions saved by older versions.
    #[serde(default)]
    pub obtained_at: Option<UnixTime>,
}

impl std::fmt::Debug for StoredSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSession")
            .field("server", &self.server)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Keyring,
    InsecureFile,
}

impl StoreKind {
    pub fn name(self) -> &'static str {
        match self {
            StoreKind::Keyring => "keyring",
            StoreKind::InsecureFile => "insecure-file",
        }
    }
}

/// The keyring account for a profile and server: `<profile>@<host:port>`.
pub fn account(profile: &str, server: &url::Url) -> String {
    let host = server.host_str().unwrap_or("");
    match server.port_or_known_default() {
        Some(port) => format!("{profile}@{host}:{port}"),
        None => format!("{profile}@{host}"),
    }
}

pub struct Credentials {
    account: String,
    file: PathBuf,
    locks: PathBuf,
}

impl Credentials {
    pub fn new(config_dir: &Path, account: String) -> Self {
        Credentials {
            account,
            file: config_dir.join(INSECURE_FILE),
            locks: config_dir.join(LOCK_DIR),
        }
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    /// Hold this account's refresh lock, waiting up to [`LOCK_WAIT`] for another process.
    /// Whoever holds it may refresh; everyone else re-reads the session after getting it.
    pub fn lock_refresh(&self) -> Result<Lock> {
        lock(
            &self.refresh_lock_path(),
            &format!("the session {}", self.account),
            LOCK_WAIT,
        )
    }

    /// `<config-dir>/locks/<account>.lock`, the account made safe as a file name.
    fn refresh_lock_path(&self) -> PathBuf {
        self.locks
            .join(format!("{}.lock", crate::fsname::file_part(&self.account)))
    }

    /// Read-modify-write of `credentials.json`, which holds every account's session.
    fn update_file(
        &self,
        f: impl FnOnce(&mut BTreeMap<String, StoredSession>) -> bool,
    ) -> Result<()> {
        let _lock = lock(
            &self.locks.join("credentials.json.lock"),
            "credentials.json",
            LOCK_WAIT,
        )?;
        let mut all = read_file(&self.file)?;
        if f(&mut all) {
            write_file(&self.file, &all)?;
        }
        Ok(())
    }

    /// The stored session and where it was found, if any.
    pub fn load(&self) -> Result<Option<(StoredSession, StoreKind)>> {
        if let Some(s) = read_file(&self.file)?.remove(&self.account) {
            return Ok(Some((s, StoreKind::InsecureFile)));
        }
        let entry = match keyring_entry(&self.account) {
            Ok(e) => e,
            // No keyring at all: nothing can be stored there, so nothing is.
            Err(_) => return Ok(None),
        };
        match entry.get_password() {
            Ok(json) => {
                let s = serde_json::from_str(&json).map_err(|e| {
                    CliError::new(
                        Kind::Auth,
                        format!("the keyring entry for {} is corrupt: {e}", self.account),
                    )
                    .hint("run `imadm auth logout` and log in again")
                })?;
                Ok(Some((s, StoreKind::Keyring)))
            }
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(no_keyring(&e)),
        }
    }

    /// Check the keyring works before asking for a password we then could not keep.
    pub fn probe_keyring(&self) -> Result<()> {
        let entry = keyring_entry(&self.account)?;
        match entry.get_password() {
            Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(no_keyring(&e)),
        }
    }

    pub fn save(&self, s: &StoredSession, kind: StoreKind) -> Result<()> {
        let json = serde_json::to_string(s).expect("session serialises");
        match kind {
            StoreKind::Keyring => {
                keyring_entry(&self.account)?
                    .set_password(&json)
                    .map_err(|e| no_keyring(&e))?;
                // A profile lives in one store: drop any insecure copy.
                self.remove_from_file()?;
            }
            StoreKind::InsecureFile => self.update_file(|all| {
                all.insert(self.account.clone(), s.clone());
                true
            })?,
        }
        Ok(())
    }

    /// Delete the session from wherever it is. Ok if there was none.
    pub fn delete(&self) -> Result<()> {
        self.remove_from_file()?;
        if let Ok(entry) = keyring_entry(&self.account) {
            match entry.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => {}
                Err(keyring::Error::NoStorageAccess(_))
                | Err(keyring::Error::PlatformFailure(_)) => {}
                Err(e) => return Err(no_keyring(&e)),
            }
        }
        Ok(())
    }

    fn remove_from_file(&self) -> Result<()> {
        self.update_file(|all| all.remove(&self.account).is_some())
    }
}

fn keyring_entry(account: &str) -> Result<keyring::Entry> {
    keyring::Entry::new(KEYRING_SERVICE, account).map_err(|e| {
        let cause = match keyring::Entry::store_status() {
            Err(status) => status.to_string(),
            Ok(()) => e.to_string(),
        };
        no_keyring_msg(&cause)
    })
}

fn no_keyring(e: &keyring::Error) -> CliError {
    no_keyring_msg(&e.to_string())
}

fn no_keyring_msg(cause: &str) -> CliError {
    CliError::new(
        Kind::Auth,
        format!("the OS keyring (Secret Service) is not available: {cause}"),
    )
    .hint(
        "for cron/CI set IMADM_TOKEN to a service token; or log in with --insecure-storage \
         to keep the session in a 0600 file under the config dir",
    )
}

fn read_file(path: &Path) -> Result<BTreeMap<String, StoredSession>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            CliError::new(Kind::Auth, format!("{} is corrupt: {e}", path.display()))
                .hint("delete it and log in again")
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(CliError::unexpected(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

fn write_file(path: &Path, all: &BTreeMap<String, StoredSession>) -> Result<()> {
    if all.is_empty() {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        };
    }
    let json = serde_json::to_vec_pretty(all).expect("sessions serialise");
    crate::config::write_private(path, &json)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(token: &str) -> StoredSession {
        StoredSession {
            server: "https://127.0.0.1:1".into(),
            username: "admin".into(),
            access_token: token.into(),
            access_expires_at: Some(1),
            refresh_token: None,
            refresh_expires_at: None,
            restrictions: vec![],
            obtained_at: None,
        }
    }

    #[test]
    fn insecure_file_is_0600_and_per_account() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let a = Credentials::new(dir.path(), "dev@127.0.0.1:1".into());
        let b = Credentials::new(dir.path(), "prod@127.0.0.1:1".into());
        a.save(&session("tok-a"), StoreKind::InsecureFile).unwrap();
        b.save(&session("tok-b"), StoreKind::InsecureFile).unwrap();
        let mode = std::fs::metadata(dir.path().join(INSECURE_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let (s, kind) = a.load().unwrap().unwrap();
        assert_eq!(
            (s.access_token.as_str(), kind),
            ("tok-a", StoreKind::InsecureFile)
        );
        a.delete().unwrap();
        assert!(a.load().unwrap().is_none());
        assert_eq!(b.load().unwrap().unwrap().0.access_token, "tok-b");
        b.delete().unwrap();
        assert!(!dir.path().join(INSECURE_FILE).exists());
    }

    #[test]
    fn refresh_lock_is_a_0600_file_per_account_held_until_dropped() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let a = Credentials::new(dir.path(), "dev@127.0.0.1:1".into());
        let held = a.lock_refresh().unwrap();
        let path = dir.path().join("locks/dev_127.0.0.1_1.lock");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // Another holder (as another process would be: a lock per open file) waits, then
        // gives up with a clear error.
        let short = Duration::from_millis(100);
        let err = lock(&path, "the session dev@127.0.0.1:1", short)
            .err()
            .expect("the lock is held");
        assert_eq!(err.kind, Kind::Unavailable);
        assert!(
            err.message.contains("another imadm process"),
            "{}",
            err.message
        );
        // Another account is not blocked by it.
        let b = Credentials::new(dir.path(), "prod@127.0.0.1:1".into());
        drop(b.lock_refresh().unwrap());
        drop(held);
        lock(&path, "the session dev@127.0.0.1:1", short).unwrap();
    }

    #[test]
    fn lock_file_names_stay_inside_the_lock_dir() {
        let dir = tempfile::tempdir().unwrap();
        let c = Credentials::new(dir.path(), "../../x/y@[::1]:8443".into());
        let path = c.refresh_lock_path();
        assert_eq!(path.parent().unwrap(), dir.path().join("locks"));
        assert_eq!(path.file_name().unwrap(), "_._.._x_y____1__8443.lock");
    }

    #[test]
    fn account_names_profile_host_and_port() {
        let u = url::Url::parse("https://127.0.0.1:8443/").unwrap();
        assert_eq!(account("dev", &u), "dev@127.0.0.1:8443");
        let u = url::Url::parse("https://im.example.com").unwrap();
        assert_eq!(account("default", &u), "default@im.example.com:443");
    }
}
