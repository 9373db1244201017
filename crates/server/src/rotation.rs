//! Server key rotation: a new active key, then every sealed value re-sealed under it in
//! bounded batches (`store::keys`), then the keys no row uses any more marked retired.
//!
//! Offline with `imadm server rotate-key` ([`crate::rotate_key`], which holds the data-dir
//! lock, so never beside a running server), or online with `POST /admin/keys/rotate`
//! (permission `keys:rotate`, which only `owner` holds, step-up MFA, audited
//! `keys.rotate`), where the re-seal runs on a background thread. Reads work throughout:
//! every key stays in the keyring. The progress is in the data (values not under the
//! active key), so a rotation cut short by a crash resumes: a server starting with keys
//! that are neither active nor retired re-seals in the background, and `rotate-key`
//! finishes it before it makes another key.
//!
//! The audit signing key rotates too (`POST /admin/keys/rotate-audit`, same permission
//! and step-up, audited `keys.rotate_audit`; offline `crate::rotate_audit_key`): `audit::AuditKey::rotate` signs
//! a hand-off to the new key with the old one, which pinned clients follow.
//!
//! On PostgreSQL both online rotations are refused ([`AppState::refuse_shared_keyring`]):
//! every instance on the database has its own copy of the keyrings in its data dir, and a
//! rotation on one would leave the others sealing under, or unable to unseal with, keys
//! they do not hold. There the rotations are offline, with every instance stopped, and
//! the new keys are copied to the other hosts out of band (`instances.rs`). A re-seal
//! left to the next start (a rotation cut short) is done by one instance at a time
//! ([`spawn_reseal`] takes the lease `reseal`); the others wait for it, then make a pass
//! of their own that finds nothing left and retires the old keys in their own keyring.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use imadm_api::admin::{KeyRotation, KeyStatus, KeysStatus};
use imadm_api::audit::KeyHandoff;
use imadm_api::codes;

use crate::AppState;
use crate::auth::{Caller, RequestCtx};
use crate::error::ApiError;
use crate::keys::{KeyId, ServerKey};
use crate::store::keys::{Cursor, KeyStore};

/// Rows per re-seal transaction: short enough that requests waiting for the writer
/// barely notice, long enough that a big table is not a million commits.
pub const BATCH: usize = 500;

/// One re-seal at a time per process: a rotation while one runs waits, then makes its
/// own pass (which finds little left).
static RUNNING: Mutex<()> = Mutex::new(());

/// What a re-seal did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Resealed {
    pub rows: u64,
    pub batches: u64,
    /// Every key retired once it finished (no row uses it).
    pub retired: Vec<KeyId>,
}

/// Debug builds only (the end-to-end tests): `IMADM_TEST_RESEAL_BATCH` sets the batch
/// size and `IMADM_TEST_RESEAL_STOP_AFTER=N` aborts the process after N batches that
/// re-sealed rows, as a crash half-way would. Release builds have neither.
#[cfg(debug_assertions)]
fn test_knob(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.parse().ok()
}

#[cfg(not(debug_assertions))]
fn test_knob(_: &str) -> Option<u64> {
    None
}

/// Re-seal every value that is not under the active key, then record which keys are
/// retired. Runs passes until one ends with the key it started with still active (a
/// rotation during a pass makes another).
pub fn reseal(store: &dyn KeyStore, ring: &ServerKey) -> Result<Resealed, String> {
    let _one = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
    let limit = test_knob("IMADM_TEST_RESEAL_BATCH").map_or(BATCH, |n| n.max(1) as usize);
    let stop_after = test_knob("IMADM_TEST_RESEAL_STOP_AFTER");
    let mut done = Resealed::default();
    loop {
        let key = ring.active();
        let reseal = |v: &[u8], aad: &str| ring.open(v, aad).map(|p| key.seal(&p, aad));
        let mut cursor = Some(Cursor::START);
        while let Some(c) = cursor {
            let batch = store
                .reseal_batch(c, limit, key.id(), &reseal)
                .map_err(|e| e.to_string())?;
            if batch.rows > 0 {
                done.rows += batch.rows as u64;
                done.batches += 1;
                tracing::debug!(rows = batch.rows, "re-sealed a batch");
                if stop_after == Some(done.batches) {
                    eprintln!(
                        "IMADM_TEST_RESEAL_STOP_AFTER: aborting after {} batches",
                        done.batches
                    );
                    std::process::abort();
                }
            }
            cursor = batch.next;
        }
        if ring.active().id() == key.id() {
            break;
        }
    }
    let counts = counts_by_key(store, ring)?;
    let active = ring.active().id();
    let retired: BTreeSet<KeyId> = ring
        .list()
        .iter()
        .map(|k| k.id)
        .filter(|id| *id != active && counts.get(id).copied().unwrap_or(0) == 0)
        .collect();
    ring.set_retired(&retired).map_err(|e| e.to_string())?;
    done.retired = retired.into_iter().collect();
    Ok(done)
}

/// Sealed values per key id, the original key's values without an id counted as its.
pub fn counts_by_key(
    store: &dyn KeyStore,
    ring: &ServerKey,
) -> Result<BTreeMap<KeyId, u64>, String> {
    let mut counts = BTreeMap::new();
    for (id, n) in store.sealed_counts().map_err(|e| e.to_string())? {
        *counts
            .entry(id.unwrap_or_else(|| ring.original_id()))
            .or_insert(0) += n;
    }
    Ok(counts)
}

/// Whether a re-seal has work: a key that is neither active nor retired may still be in
/// use (a rotation cut short, or a restore that brought back values under it).
pub fn unfinished(ring: &ServerKey) -> bool {
    ring.list().iter().any(|k| !k.active && !k.retired)
}

/// How often an instance waiting for another's re-seal asks for the lease again.
const LEASE_RETRY: std::time::Duration = std::time::Duration::from_secs(2);

/// Re-seal on a background thread (the online rotation; a start with an unfinished one),
/// once this instance holds the lease `reseal`: with several instances on one database,
/// one re-seals at a time. (Two passes at once would still not seal one value twice,
/// each batch locks its rows, but would both walk every table.)
pub fn spawn_reseal(state: Arc<AppState>) {
    // All of it waits on the database (the lease too): one blocking thread.
    tokio::task::spawn_blocking(move || {
        let mut lease = state.backend.lease("reseal");
        while !lease.held() {
            std::thread::sleep(LEASE_RETRY);
        }
        match reseal(&*state.keystore, &state.key) {
            Ok(r) => tracing::info!(
                rows = r.rows,
                batches = r.batches,
                active = %state.key.active().id(),
                "key rotation: every sealed value is under the active key"
            ),
            Err(e) => tracing::error!(error = %e, "key rotation: the re-seal stopped"),
        }
        // Given up only now: another instance waiting starts its pass after this one.
        drop(lease);
    });
}

/// After a restore: the restored rows may be under keys retired since the snapshot. Every
/// key is taken off the retired list first (so a crash before the re-seal ends still
/// resumes it at the next start), then the re-seal moves them to the active key and
/// retires what no row uses again.
pub fn after_restore(state: Arc<AppState>) {
    if let Err(e) = state.key.set_retired(&BTreeSet::new()) {
        tracing::error!(error = %e, "key rotation: cannot update the keyring after a restore");
    }
    spawn_reseal(state);
}

impl AppState {
    /// `GET /admin/keys` (`security:read`): the keyring and the sealed values per key.
    pub fn keys_status(&self, c: &Caller) -> Result<KeysStatus, ApiError> {
        c.require("security:read")?;
        let counts = counts_by_key(&*self.keystore, &self.key)
            .map_err(|e| ApiError::new(codes::DATABASE_ERROR, e))?;
        let keys: Vec<KeyStatus> = self
            .key
            .list()
            .into_iter()
            .map(|k| KeyStatus {
                id: k.id.to_string(),
                active: k.active,
                original: k.original,
                retired: k.retired,
                sealed_values: counts.get(&k.id).copied().unwrap_or(0),
            })
            .collect();
        let sealed_values_left = counts
            .iter()
            .filter(|(id, _)| **id != self.key.active().id())
            .map(|(_, n)| n)
            .sum();
        Ok(KeysStatus {
            keys,
            sealed_values_left,
        })
    }

    /// `POST /admin/keys/rotate` (`keys:rotate`, step-up): make a new key the active one.
    /// The caller starts the re-seal ([`spawn_reseal`]).
    pub fn rotate_key(
        &self,
        ctx: &RequestCtx,
        c: &Caller,
        otp: Option<&str>,
    ) -> Result<KeyRotation, ApiError> {
        let event = self.audit_event(ctx, Some(c), "keys.rotate", None);
        self.audited(event, || {
            c.require("keys:rotate")?;
            self.refuse_shared_keyring("the server key")?;
            self.step_up(ctx, c, otp, "rotating the server key")?;
            let previous = self.key.active().id();
            let active = self.key.rotate().map_err(|e| {
                tracing::error!(error = %e, "key rotation failed");
                ApiError::new(codes::INTERNAL, "the new server key could not be written")
                    .hint("see the server log; the active key is unchanged")
            })?;
            crate::audit::amend_pending(|e| {
                e.target = Some(format!("key:{active}"));
                e.detail = Some(format!("replaces key {previous}"));
            });
            Ok(KeyRotation {
                active: active.to_string(),
                previous: previous.to_string(),
            })
        })
    }

    /// A rotation of `what` on a store several instances may share (PostgreSQL), before
    /// step-up so the caller's code is not spent on it.
    fn refuse_shared_keyring(&self, what: &str) -> Result<(), ApiError> {
        if self.backend.kind() == "sqlite" {
            return Ok(());
        }
        Err(ApiError::new(
            codes::CONFLICT,
            format!(
                "rotating {what} online is refused on PostgreSQL: every instance keeps its \
                 own copy of the keys in its data dir, and an online rotation would reach \
                 this one only"
            ),
        )
        .hint(format!(
            "rotate offline: {}",
            crate::instances::OFFLINE_STEPS
        )))
    }

    /// `GET /admin/keys/audit-handoffs` (`audit:read`, like checkpoints): every rotation of
    /// the audit signing key, oldest first. Behind authentication because each names a
    /// chain position (how many events the log holds).
    pub fn audit_key_handoffs(&self, c: &Caller) -> Result<Vec<KeyHandoff>, ApiError> {
        c.require("audit:read")?;
        Ok(self.audit_key.handoffs())
    }

    /// `POST /admin/keys/rotate-audit` (`keys:rotate`, step-up): a new audit signing key,
    /// handed off at the chain's head by the key it replaces.
    pub fn rotate_audit_key(
        &self,
        ctx: &RequestCtx,
        c: &Caller,
        otp: Option<&str>,
    ) -> Result<KeyHandoff, ApiError> {
        let event = self.audit_event(ctx, Some(c), "keys.rotate_audit", None);
        self.audited(event, || {
            c.require("keys:rotate")?;
            self.refuse_shared_keyring("the audit signing key")?;
            self.step_up(ctx, c, otp, "rotating the audit signing key")?;
            let (seq, head) = self
                .store
                .audit_hash_at(None)?
                .unwrap_or_else(|| (0, imadm_api::audit::hash_hex(&imadm_api::audit::GENESIS)));
            let handoff = self
                .audit_key
                .rotate(seq, &head, &self.server_id)
                .map_err(|e| {
                    tracing::error!(error = %e, "audit key rotation failed");
                    ApiError::new(codes::INTERNAL, "the new audit key could not be written")
                        .hint("see the server log; the signing key is unchanged")
                })?;
            crate::audit::amend_pending(|e| {
                e.target = Some("audit-key".into());
                e.detail = Some(format!("hand-off at seq {seq} to {}", handoff.new_key));
            });
            Ok(handoff)
        })
    }
}
