//! What the CLI remembers of a server's audit chain, like Go's sumdb client and
//! rekor-cli: per profile and server, the newest checkpoint it has verified (seq, chain
//! value, the server's signature, the audit key that signed it, when it was pinned), in
//! `<config-dir>/checkpoints/<profile>.json` (0600). Whatever the server shows later must
//! extend it: a smaller seq, or the same seq with another chain value, means the log was
//! rolled back or forked ([`Fork`]), and both signed checkpoints are kept as evidence in
//! `<config-dir>/evidence/`.
//!
//! The pin only moves forward: [`PinStore::advance`] re-reads the file under a lock
//! (`lockfile.rs`) and writes only a newer checkpoint, so two commands finishing in any
//! order leave the newer one. [`PinStore::replace`] is the deliberate exception (`audit
//! checkpoint --repin`, after a restore the server's administrator accepted as a fork).
//!
//! No HTTP here: `commands/audit/checkpoint.rs` fetches what is compared.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use imadm_api::audit::Checkpoint;
use serde::{Deserialize, Serialize};

use super::pin::ServerKey;
use super::verify;
use crate::error::{CliError, Kind, Result};

const DIR: &str = "checkpoints";
const EVIDENCE_DIR: &str = "evidence";
const SCHEMA_VERSION: u32 = 1;

/// A checkpoint this CLI verified, and with which key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pinned {
    pub checkpoint: Checkpoint,
    /// `ssh-ed25519 AAAA...`: the server key that signed it.
    pub audit_key: String,
    /// When this CLI pinned it (RFC 3339).
    pub pinned_at: String,
}

impl Pinned {
    pub fn new(checkpoint: Checkpoint, key: &ServerKey, now: i64) -> Self {
        Pinned {
            checkpoint,
            audit_key: key.openssh.clone(),
            pinned_at: crate::output::rfc3339(now),
        }
    }

    pub fn seq(&self) -> u64 {
        self.checkpoint.seq
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct PinFile {
    schema_version: u32,
    /// By server id.
    servers: BTreeMap<String, Pinned>,
}

/// What [`PinStore::advance`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Advance {
    /// Nothing was pinned for this server: now this is.
    First,
    /// The pin moved forward from this seq.
    Advanced(u64),
    /// The pin is this very checkpoint's seq and chain value already.
    Same,
    /// The pin is newer (another command got further meanwhile): left as it is.
    Behind(u64),
}

/// The checkpoint pins of one profile.
pub struct PinStore {
    file: PathBuf,
    lock: PathBuf,
    profile: String,
}

impl PinStore {
    pub fn new(config_dir: &Path, profile: &str) -> Self {
        let name = crate::fsname::file_part(profile);
        PinStore {
            file: config_dir.join(DIR).join(format!("{name}.json")),
            lock: config_dir
                .join("locks")
                .join(format!("checkpoints-{name}.lock")),
            profile: profile.to_owned(),
        }
    }

    #[cfg(test)]
    pub fn path(&self) -> &Path {
        &self.file
    }

    fn read(&self) -> Result<PinFile> {
        let damaged = |why: String| {
            CliError::new(
                Kind::Integrity,
                format!(
                    "the pinned audit checkpoints {} are unreadable: {why}",
                    self.file.display()
                ),
            )
            .hint(self.repin_hint())
        };
        match std::fs::read(&self.file) {
            Ok(bytes) => {
                let f: PinFile =
                    serde_json::from_slice(&bytes).map_err(|e| damaged(e.to_string()))?;
                if f.schema_version != SCHEMA_VERSION {
                    return Err(damaged(format!(
                        "schema_version {} is not {SCHEMA_VERSION}",
                        f.schema_version
                    )));
                }
                Ok(f)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(PinFile {
                schema_version: SCHEMA_VERSION,
                servers: BTreeMap::new(),
            }),
            Err(e) => Err(CliError::unexpected(format!(
                "cannot read {}: {e}",
                self.file.display()
            ))),
        }
    }

    fn write(&self, f: &PinFile) -> Result<()> {
        let json = serde_json::to_vec_pretty(f).expect("pins serialise");
        crate::config::write_private(&self.file, &json)
    }

    fn hold(&self) -> Result<crate::lockfile::Lock> {
        crate::lockfile::lock(
            &self.lock,
            &format!("the audit checkpoints of profile {:?}", self.profile),
            crate::credentials::LOCK_WAIT,
        )
    }

    fn repin_hint(&self) -> String {
        format!(
            "check the server with `imadm --profile {} audit checkpoint`; re-pin with `--repin --yes` once you trust its current checkpoint",
            self.profile
        )
    }

    /// The checkpoint pinned for `server_id`. Its signature is checked again with the key
    /// recorded beside it, so a damaged or edited pin file is an error, not a new truth.
    pub fn get(&self, server_id: &str) -> Result<Option<Pinned>> {
        let Some(p) = self.read()?.servers.remove(server_id) else {
            return Ok(None);
        };
        let check = ServerKey::parse(&p.audit_key).and_then(|k| {
            verify::checkpoint(&p.checkpoint, &k, server_id, "pinned")?;
            audit_hash(&p.checkpoint)
        });
        check.map_err(|e| {
            CliError::new(
                Kind::Integrity,
                format!(
                    "the audit checkpoint pinned in {} does not verify: {}",
                    self.file.display(),
                    e.message
                ),
            )
            .hint(self.repin_hint())
        })?;
        Ok(Some(p))
    }

    /// Compare-and-swap: under the lock, re-read the pin and write `new` only if it is
    /// newer. The same seq with another chain value is a [`Fork`].
    pub fn advance(&self, new: &Pinned) -> std::result::Result<Advance, AdvanceError> {
        let _lock = self.hold()?;
        let mut f = self.read()?;
        let id = &new.checkpoint.server_id;
        let outcome = match f.servers.get(id) {
            None => Advance::First,
            Some(old) if old.seq() < new.seq() => Advance::Advanced(old.seq()),
            Some(old) if old.seq() > new.seq() => return Ok(Advance::Behind(old.seq())),
            Some(old) if old.checkpoint.head == new.checkpoint.head => return Ok(Advance::Same),
            Some(old) => {
                return Err(AdvanceError::Fork(Box::new((
                    Fork::differs(old, &new.checkpoint),
                    old.clone(),
                ))));
            }
        };
        f.servers.insert(id.clone(), new.clone());
        self.write(&f)?;
        Ok(outcome)
    }

    /// Pin `new` whatever was pinned before (which is returned): a deliberate re-pin.
    pub fn replace(&self, new: &Pinned) -> Result<Option<Pinned>> {
        let _lock = self.hold()?;
        let mut f = self.read()?;
        let old = f
            .servers
            .insert(new.checkpoint.server_id.clone(), new.clone());
        self.write(&f)?;
        Ok(old)
    }
}

fn audit_hash(cp: &Checkpoint) -> Result<[u8; 32]> {
    imadm_api::audit::parse_hash(&cp.head).ok_or_else(|| {
        CliError::new(
            Kind::Integrity,
            format!("checkpoint seq {}: head is not a hash", cp.seq),
        )
    })
}

/// Why [`PinStore::advance`] did not advance.
#[derive(Debug)]
pub enum AdvanceError {
    /// Another command pinned the same seq with another chain value: the server showed
    /// two different chains. Carries the pin it contradicts.
    Fork(Box<(Fork, Pinned)>),
    Other(CliError),
}

impl From<CliError> for AdvanceError {
    fn from(e: CliError) -> Self {
        AdvanceError::Other(e)
    }
}

/// The server's chain does not extend the pinned checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fork {
    /// The pinned seq: the history this profile verified up to it is not the server's.
    pub seq: u64,
    /// What the server shows instead.
    pub detail: String,
}

impl Fork {
    pub fn message(&self) -> String {
        format!(
            "the server's audit log was rolled back or forked at seq {}: {}",
            self.seq, self.detail
        )
    }

    /// The server signs a checkpoint at the pinned seq with another chain value.
    fn differs(pinned: &Pinned, cp: &Checkpoint) -> Fork {
        Fork {
            seq: pinned.seq(),
            detail: format!(
                "this profile verified chain value {} there, the server now signs {}",
                short(&pinned.checkpoint.head),
                short(&cp.head)
            ),
        }
    }
}

fn short(hash: &str) -> &str {
    hash.get(..16).unwrap_or(hash)
}

/// How the server's current signed checkpoint `cp` relates to `pinned`: `Ok(true)` when
/// it is further on (the caller still has to show that the pinned chain value is in its
/// chain), `Ok(false)` when it is the pinned checkpoint itself, a [`Fork`] otherwise.
pub fn relate(pinned: &Pinned, cp: &Checkpoint) -> std::result::Result<bool, Fork> {
    let p = pinned.seq();
    if cp.seq < p {
        Err(Fork {
            seq: p,
            detail: format!(
                "this profile verified seq {p} (chain value {}), the server's signed checkpoint is at seq {}",
                short(&pinned.checkpoint.head),
                cp.seq
            ),
        })
    } else if cp.seq == p && cp.head != pinned.checkpoint.head {
        Err(Fork::differs(pinned, cp))
    } else {
        Ok(cp.seq > p)
    }
}

/// The chain value a pass over the server's chain found at the pinned seq.
pub fn check_value(pinned: &Pinned, value: &[u8; 32]) -> std::result::Result<(), Fork> {
    let found = imadm_api::audit::hash_hex(value);
    if found == pinned.checkpoint.head {
        return Ok(());
    }
    Err(Fork {
        seq: pinned.seq(),
        detail: format!(
            "this profile verified chain value {} there, the server's events hash to {}",
            short(&pinned.checkpoint.head),
            short(&found)
        ),
    })
}

/// Write an evidence document to `<config-dir>/evidence/<server>-<time>[-<what>].json`
/// (0600, atomically, never over an earlier one) and return its path.
pub fn save_evidence(
    config_dir: &Path,
    server_id: &str,
    now: i64,
    what: Option<&str>,
    doc: &serde_json::Value,
) -> Result<PathBuf> {
    let dir = config_dir.join(EVIDENCE_DIR);
    let time = time::OffsetDateTime::from_unix_timestamp(now)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .expect("formatting a valid time");
    let base = format!(
        "{}-{time}{}",
        crate::fsname::file_part(server_id),
        what.map(|w| format!("-{w}")).unwrap_or_default()
    );
    let path = (1..)
        .map(|n| match n {
            1 => dir.join(format!("{base}.json")),
            n => dir.join(format!("{base}-{n}.json")),
        })
        .find(|p| !p.exists())
        .expect("a free name");
    let mut json = serde_json::to_vec_pretty(doc).expect("evidence serialises");
    json.push(b'\n');
    crate::config::write_private(&path, &json)?;
    Ok(path)
}

/// The error a command exits with on a fork (exit 8).
pub fn fork_error(fork: &Fork, evidence: &Path, profile: &str) -> CliError {
    CliError::new(Kind::Integrity, fork.message()).hint(format!(
        "both signed checkpoints are saved in {}. History that was verified was removed or \
         replaced: ask the server's administrator what happened. If a restore was accepted as a \
         fork on purpose (--accept-fork), re-pin with `imadm --profile {profile} audit checkpoint \
         --repin --yes`",
        evidence.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::synth;
    use imadm_api::audit::{GENESIS, chain_next, hash_hex};

    /// Chain values of a synthetic chain, `heads[s]` at seq s (`heads[0]` genesis).
    fn heads(n: u64) -> Vec<String> {
        let mut h = vec![hash_hex(&GENESIS)];
        for e in synth::chain(n) {
            h.push(e.hash);
        }
        h
    }

    fn pinned(seq: u64, head: &str) -> Pinned {
        let (sk, pk) = synth::server_key(1);
        let key = ServerKey::parse(&pk).unwrap();
        Pinned::new(synth::checkpoint(&sk, seq, head), &key, 1_765_000_000)
    }

    #[test]
    fn the_pin_only_moves_forward_and_a_same_seq_fork_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = PinStore::new(dir.path(), "prod");
        let h = heads(20);
        assert!(store.get(synth::SERVER_ID).unwrap().is_none());
        assert_eq!(store.advance(&pinned(10, &h[10])).unwrap(), Advance::First);
        // A command that verified less, finishing later, does not move the pin back.
        assert_eq!(
            store.advance(&pinned(5, &h[5])).unwrap(),
            Advance::Behind(10)
        );
        assert_eq!(store.get(synth::SERVER_ID).unwrap().unwrap().seq(), 10);
        assert_eq!(store.advance(&pinned(10, &h[10])).unwrap(), Advance::Same);
        match store.advance(&pinned(10, &h[11])) {
            Err(AdvanceError::Fork(f)) => {
                assert_eq!(f.0.seq, 10);
                assert!(f.0.message().contains("rolled back or forked at seq 10"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            store.advance(&pinned(12, &h[12])).unwrap(),
            Advance::Advanced(10)
        );
        let got = store.get(synth::SERVER_ID).unwrap().unwrap();
        assert_eq!(
            (got.seq(), got.checkpoint.head.as_str()),
            (12, h[12].as_str())
        );
        // A deliberate re-pin may go back.
        let old = store.replace(&pinned(3, &h[3])).unwrap().unwrap();
        assert_eq!(old.seq(), 12);
        assert_eq!(store.get(synth::SERVER_ID).unwrap().unwrap().seq(), 3);

        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(store.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn concurrent_commands_never_move_the_pin_backwards() {
        let dir = tempfile::tempdir().unwrap();
        let h = heads(64);
        // Each thread opens the store (and its lock file) itself, as a process would.
        std::thread::scope(|s| {
            for t in 0..8u64 {
                let (dir, h) = (dir.path(), &h);
                s.spawn(move || {
                    let store = PinStore::new(dir, "prod");
                    for i in 0..8u64 {
                        // Seqs arrive out of order across threads: 1..=64 interleaved.
                        let seq = 1 + ((i * 8 + t) * 37) % 64;
                        store.advance(&pinned(seq, &h[seq as usize])).unwrap();
                        let now = store.get(synth::SERVER_ID).unwrap().unwrap().seq();
                        assert!(now >= seq, "the pin went back to {now} below {seq}");
                    }
                });
            }
        });
        let store = PinStore::new(dir.path(), "prod");
        assert_eq!(store.get(synth::SERVER_ID).unwrap().unwrap().seq(), 64);
    }

    #[test]
    fn an_edited_pin_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = PinStore::new(dir.path(), "../x");
        assert_eq!(
            store.path().parent().unwrap(),
            dir.path().join("checkpoints")
        );
        let h = heads(5);
        store.advance(&pinned(5, &h[5])).unwrap();
        let text = std::fs::read_to_string(store.path()).unwrap();
        std::fs::write(store.path(), text.replace(&h[5], &h[4])).unwrap();
        let e = store.get(synth::SERVER_ID).unwrap_err();
        assert_eq!(e.kind, Kind::Integrity);
        assert!(e.message.contains("does not verify"), "{}", e.message);
    }

    #[test]
    fn relate_and_check_value_name_the_pinned_seq() {
        let (sk, _) = synth::server_key(1);
        let h = heads(12);
        let p = pinned(10, &h[10]);
        assert_eq!(relate(&p, &synth::checkpoint(&sk, 12, &h[12])), Ok(true));
        assert_eq!(relate(&p, &synth::checkpoint(&sk, 10, &h[10])), Ok(false));
        let back = relate(&p, &synth::checkpoint(&sk, 7, &h[7])).unwrap_err();
        assert_eq!(back.seq, 10);
        assert!(back.detail.contains("at seq 7"), "{}", back.detail);
        let other = relate(&p, &synth::checkpoint(&sk, 10, &h[9])).unwrap_err();
        assert_eq!(other.seq, 10);
        let v = imadm_api::audit::parse_hash(&h[10]).unwrap();
        assert!(check_value(&p, &v).is_ok());
        let e = check_value(&p, &chain_next(&v, &v)).unwrap_err();
        assert!(
            e.message()
                .starts_with("the server's audit log was rolled back or forked at seq 10: ")
        );
    }

    #[test]
    fn evidence_files_are_private_and_never_overwritten() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let doc = serde_json::json!({"x": 1});
        let a = save_evidence(dir.path(), "../srv", 1_765_000_000, None, &doc).unwrap();
        let b = save_evidence(dir.path(), "../srv", 1_765_000_000, None, &doc).unwrap();
        let c = save_evidence(dir.path(), "srv", 1_765_000_000, Some("repin"), &doc).unwrap();
        assert_ne!(a, b);
        for p in [&a, &b, &c] {
            assert_eq!(p.parent().unwrap(), dir.path().join("evidence"));
            let mode = std::fs::metadata(p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", p.display());
        }
        assert_eq!(
            a.file_name().unwrap().to_str().unwrap(),
            "_._srv-20251206T054640Z.json"
        );
        assert!(c.to_str().unwrap().ends_with("-repin.json"));
    }
}
