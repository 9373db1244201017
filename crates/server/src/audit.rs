//! The service half of the audit log: fail-closed recording around a request's store
//! writes ([`AppState::audited`]), the events a request builds ([`AppState::audit_event`],
//! pseudonymous targets), checkpoints and export plans, and the Ed25519 key that signs
//! them ([`AuditKey`]), which also keys the pseudonyms.
//!
//! Appending to the chain and the alert rules are the store's (`store::audit`, written
//! once over each backend's `AuditTx`): `audited` parks the event there, the request's
//! first write transaction commits it, and when nothing was written (sensitive reads,
//! refusals) the event gets a transaction of its own afterwards; a refused or failed
//! request is recorded with outcome `denied`/`failure`. The names the rest of the server
//! uses are re-exported here.

use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SigningKey};
use imadm_api::audit::{Checkpoint, ExportPlan, ExportRequest, KeyHandoff, format_at};
use imadm_api::codes;
use rand::RngCore;
use zeroize::Zeroizing;

use crate::AppState;
use crate::auth::{Caller, RequestCtx};
use crate::error::ApiError;
use crate::fsutil;
pub(crate) use crate::store::audit::amend_pending;
pub use crate::store::audit::{
    AlertRules, BusinessHours, CHANNEL_FAILING_ACTION, EventFilter, LOGIN_FAILURES, NewAudit,
    OFF_HOURS_QUIET_MS, READ_BURST, RequestedAlert, SENSITIVE_READS, SystemAlert, Threshold,
    now_ms, parse_utc_offset, severity_rank,
};
use crate::store::audit::{set_pending, take_pending};

/// How many users a list-style event names before `+N more`.
pub const LIST_TARGETS: usize = 20;

/// `(actor_type, actor)` of an authenticated caller.
pub fn actor_of(c: &Caller) -> (String, String) {
    match c.token_id {
        Some(id) => ("token".into(), format!("{}#{id}", c.operator.username)),
        None => ("operator".into(), c.operator.username.clone()),
    }
}

impl AppState {
    /// Build an event for `caller` doing `action` on `target` in request `ctx`.
    pub fn audit_event(
        &self,
        ctx: &RequestCtx,
        caller: Option<&Caller>,
        action: &str,
        target: Option<String>,
    ) -> NewAudit {
        let (actor_type, actor) = caller.map_or(("anonymous".into(), String::new()), actor_of);
        NewAudit {
            actor_type,
            actor,
            source: ctx.source_addr.clone(),
            action: action.into(),
            target,
            outcome: "success".into(),
            request_id: ctx.request_id.clone(),
            detail: None,
            alerts: Vec::new(),
        }
    }

    /// The target of a list-style IM operation: the users' pseudonyms, comma-joined, the
    /// first [`LIST_TARGETS`] and then `+N more`, so an event stays small whatever the
    /// list. `None` for an empty list.
    pub fn user_targets(&self, ids: &[i64]) -> Option<String> {
        if ids.is_empty() {
            return None;
        }
        let mut t: Vec<String> = ids
            .iter()
            .take(LIST_TARGETS)
            .map(|&id| self.audit_key.user_pseudonym(id))
            .collect();
        if ids.len() > LIST_TARGETS {
            t.push(format!("+{} more", ids.len() - LIST_TARGETS));
        }
        Some(t.join(","))
    }

    /// Run `f` with `event` recorded fail-closed (see the module documentation).
    pub fn audited<T>(
        &self,
        event: NewAudit,
        f: impl FnOnce() -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        // A required audit sink too far behind refuses changes, recorded as a failure like
        // any other refusal (the event reaches the sink once it catches up). Sensitive
        // reads go on: nothing changes, their events wait in the log like the rest, and
        // whoever investigates the outage needs them.
        let gate = if SENSITIVE_READS.contains(&event.action.as_str()) {
            Ok(())
        } else {
            self.sinks.gate()
        };
        set_pending(event);
        let r = gate.and_then(|()| f());
        let (mut event, written) = take_pending().expect("set above, same thread");
        match &r {
            Ok(_) if written => {}
            Ok(_) => {
                // Nothing was written (a sensitive read): its own transaction, still
                // fail-closed, the caller gets no data if it cannot be recorded.
                self.store.append_audit(&event).map_err(audit_failed)?;
            }
            Err(e) => {
                event.outcome = if e.is_denial() { "denied" } else { "failure" }.into();
                event.detail = Some(e.code_name());
                if let Err(err) = self.store.append_audit(&event) {
                    tracing::error!(error = %err, "cannot record a failed request in the audit log");
                    return Err(audit_failed(err));
                }
            }
        }
        r
    }
}

fn audit_failed(e: crate::store::StoreError) -> ApiError {
    tracing::error!(error = %e, "audit log write failed");
    ApiError::new(
        imadm_api::codes::INTERNAL,
        "the audit log could not be written, so the request was refused",
    )
    .hint("nothing was changed; the server operator should check the database (see server log)")
}

/// The Ed25519 key that signs checkpoints: `<data-dir>/audit.key`, 32 raw seed bytes,
/// 0600, refused when group or others can read it (like `server.key`).
///
/// A rotation ([`AuditKey::rotate`]) adds a signing key in `audit.key.d/signing-<n>.key`
/// and a hand-off to `audit.key.d/handoffs.json`, signed by the key it replaces; the last
/// hand-off's key signs from then on. The pseudonym keys stay derived from the seed in
/// `audit.key`, so the pseudonyms already in the log keep their meaning.
pub struct AuditKey {
    signing: std::sync::RwLock<Signing>,
    /// `audit.key.d`: rotated signing keys and the hand-offs.
    dir: PathBuf,
    pseudonym_key: Zeroizing<[u8; 32]>,
    /// Keys the pseudonyms of login names that are no operator's: derived in a context
    /// of its own, so they cannot be matched against IM-user pseudonyms.
    unknown_name_key: Zeroizing<[u8; 32]>,
}

struct Signing {
    key: std::sync::Arc<SigningKey>,
    handoffs: Vec<KeyHandoff>,
}

const HANDOFFS_FILE: &str = "handoffs.json";

/// 32 seed bytes from a 0600 file.
fn read_seed(path: &Path) -> Result<Zeroizing<[u8; 32]>, String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("cannot read the audit key {}: {e}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "the audit key {} is readable by group or others (mode {mode:o}); run `chmod 600 {}`",
            path.display(),
            path.display()
        ));
    }
    let bytes = Zeroizing::new(
        std::fs::read(path)
            .map_err(|e| format!("cannot read the audit key {}: {e}", path.display()))?,
    );
    Ok(Zeroizing::new(bytes.as_slice().try_into().map_err(
        |_| {
            format!(
                "the audit key {} has {} bytes, expected 32",
                path.display(),
                bytes.len()
            )
        },
    )?))
}

/// Whether `h` carries a valid signature by its `old_key`.
fn handoff_signed(h: &KeyHandoff) -> bool {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = h
        .old_key
        .strip_prefix("ssh-ed25519 ")
        .and_then(|k| b64.decode(k).ok())
        // The blob ends with the 32 key bytes (after the type name, both length-prefixed).
        .and_then(|blob| <[u8; 32]>::try_from(blob.get(blob.len().checked_sub(32)?..)?).ok())
        .and_then(|k| ed25519_dalek::VerifyingKey::from_bytes(&k).ok());
    let signature = b64
        .decode(&h.signature)
        .ok()
        .and_then(|s| ed25519_dalek::Signature::from_slice(&s).ok());
    match (key, signature) {
        (Some(key), Some(sig)) => key.verify_strict(&h.message(), &sig).is_ok(),
        _ => false,
    }
}

/// `ssh-ed25519 AAAA...` without a comment: how hand-offs name keys.
fn openssh_bare(key: &ed25519_dalek::VerifyingKey) -> String {
    use base64::Engine;
    let mut blob = Vec::with_capacity(51);
    for part in [b"ssh-ed25519".as_slice(), key.as_bytes()] {
        blob.extend_from_slice(&(part.len() as u32).to_be_bytes());
        blob.extend_from_slice(part);
    }
    format!(
        "ssh-ed25519 {}",
        base64::engine::general_purpose::STANDARD.encode(blob)
    )
}

impl AuditKey {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("audit.key")
    }

    /// Load the key at `path` (and its rotations), creating it when `create` and it does
    /// not exist yet.
    pub fn open(path: &Path, create: bool) -> Result<Self, String> {
        if create && !path.exists() {
            let mut seed = Zeroizing::new([0u8; 32]);
            rand::rng().fill_bytes(seed.as_mut());
            fsutil::write_atomic(path, seed.as_ref(), 0o600)
                .map_err(|e| format!("cannot write the audit key {}: {e}", path.display()))?;
        }
        let seed = read_seed(path)?;
        let mut key = Self::from_seed(&seed);
        let mut dir = path.as_os_str().to_owned();
        dir.push(".d");
        key.dir = dir.into();
        let handoffs_path = key.dir.join(HANDOFFS_FILE);
        let handoffs: Vec<KeyHandoff> = match std::fs::read(&handoffs_path) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| format!("{} is damaged: {e}", handoffs_path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(format!("cannot read {}: {e}", handoffs_path.display())),
        };
        if let Some(last) = handoffs.last() {
            let file = key.dir.join(format!("signing-{}.key", handoffs.len()));
            let signing = SigningKey::from_bytes(&*read_seed(&file)?);
            if openssh_bare(&signing.verifying_key()) != last.new_key {
                return Err(format!(
                    "{} is not the key the last hand-off in {} names",
                    file.display(),
                    handoffs_path.display()
                ));
            }
            key.signing = std::sync::RwLock::new(Signing {
                key: std::sync::Arc::new(signing),
                handoffs,
            });
        }
        Ok(key)
    }

    /// The signing key zeroizes itself on drop (ed25519-dalek's `zeroize` feature), as
    /// does the pseudonym key; the caller keeps `seed` in a `Zeroizing` of its own.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        use sha2::{Digest, Sha256};
        let derive = |context: &[u8]| -> Zeroizing<[u8; 32]> {
            Zeroizing::new(
                Sha256::new()
                    .chain_update(context)
                    .chain_update(seed)
                    .finalize()
                    .into(),
            )
        };
        AuditKey {
            signing: std::sync::RwLock::new(Signing {
                key: std::sync::Arc::new(SigningKey::from_bytes(seed)),
                handoffs: Vec::new(),
            }),
            dir: PathBuf::new(),
            pseudonym_key: derive(b"imadm-audit-pseudonym-key-v1\0"),
            unknown_name_key: derive(b"imadm-audit-unknown-operator-key-v1\0"),
        }
    }

    fn signing_key(&self) -> std::sync::Arc<SigningKey> {
        self.signing
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .key
            .clone()
    }

    #[cfg(test)]
    pub(crate) fn verifying_key(&self) -> ed25519_dalek::VerifyingKey {
        self.signing_key().verifying_key()
    }

    /// `ssh-ed25519 AAAA... imadm-audit@<server_id>` (OpenSSH public key line) of the key
    /// that signs now.
    pub fn openssh_public(&self, server_id: &str) -> String {
        format!(
            "{} imadm-audit@{server_id}",
            openssh_bare(&self.signing_key().verifying_key())
        )
    }

    /// `ssh-ed25519 AAAA...` of the key that signs now, without a comment: how hand-offs
    /// (and the database's record of it on PostgreSQL, `instances.rs`) name it.
    pub fn signing_public(&self) -> String {
        openssh_bare(&self.signing_key().verifying_key())
    }

    /// `audit.key.d`: the rotated signing keys and their hand-offs.
    pub fn rotations_dir(&self) -> &Path {
        &self.dir
    }

    /// Whether one of this key's hand-offs is from `old` (`ssh-ed25519 AAAA...`) and
    /// signed by it: then this key is a rotation of `old`, not some other key.
    pub fn rotated_from(&self, old: &str) -> bool {
        self.handoffs()
            .iter()
            .any(|h| h.old_key == old && handoff_signed(h))
    }

    /// Every rotation so far, oldest first.
    pub fn handoffs(&self) -> Vec<KeyHandoff> {
        self.signing
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .handoffs
            .clone()
    }

    /// Make a new signing key the one that signs, at the chain position (`seq`, `head`):
    /// its file first, then the hand-off (signed by the key it replaces) appended to
    /// `handoffs.json`, written whole, so a crash leaves the old key signing or the new
    /// one with its hand-off, never a key without one.
    pub fn rotate(&self, seq: u64, head: &str, server_id: &str) -> Result<KeyHandoff, String> {
        let mut signing = self.signing.write().unwrap_or_else(|p| p.into_inner());
        fsutil::create_private_dir(&self.dir)
            .map_err(|e| format!("cannot create {}: {e}", self.dir.display()))?;
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(seed.as_mut());
        let new = SigningKey::from_bytes(&seed);
        let file = self
            .dir
            .join(format!("signing-{}.key", signing.handoffs.len() + 1));
        fsutil::write_atomic(&file, seed.as_ref(), 0o600)
            .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        let mut handoff = KeyHandoff {
            server_id: server_id.to_owned(),
            seq,
            head: head.to_owned(),
            at: format_at(now_ms()),
            old_key: openssh_bare(&signing.key.verifying_key()),
            new_key: openssh_bare(&new.verifying_key()),
            signature: String::new(),
        };
        use base64::Engine;
        handoff.signature = base64::engine::general_purpose::STANDARD
            .encode(signing.key.sign(&handoff.message()).to_bytes());
        let mut handoffs = signing.handoffs.clone();
        handoffs.push(handoff.clone());
        let path = self.dir.join(HANDOFFS_FILE);
        let json = serde_json::to_vec_pretty(&handoffs).expect("plain structs");
        fsutil::write_atomic(&path, &json, 0o600)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        *signing = Signing {
            key: std::sync::Arc::new(new),
            handoffs,
        };
        Ok(handoff)
    }

    /// Sign a checkpoint for (`seq`, `head`) now.
    pub fn checkpoint(&self, seq: u64, head: &str, server_id: &str) -> Checkpoint {
        let mut cp = Checkpoint {
            seq,
            head: head.to_owned(),
            at: format_at(now_ms()),
            server_id: server_id.to_owned(),
            signature: String::new(),
        };
        use base64::Engine;
        let sig = self.signing_key().sign(&cp.message());
        cp.signature = base64::engine::general_purpose::STANDARD.encode(sig.to_bytes());
        cp
    }

    /// `user:<first 16 hex of HMAC-SHA256(pseudonym key, user id)>`: names an IM user in
    /// the log without their username, so erasing the user leaves the chain intact.
    pub fn user_pseudonym(&self, user_id: i64) -> String {
        let mac = hmac_sha256(&self.pseudonym_key, user_id.to_string().as_bytes());
        format!("user:{}", &hex::encode(mac)[..16])
    }

    /// `unknown:<first 16 hex of HMAC-SHA256(k, name)>`: a login name that is no
    /// operator's (often a password typed into the username field), as the log keeps
    /// it. The same name always gives the same pseudonym, so repeated failures still add
    /// up per name (alert `login_failures`).
    pub fn unknown_operator(&self, name: &str) -> String {
        let mac = hmac_sha256(&self.unknown_name_key, name.as_bytes());
        format!("unknown:{}", &hex::encode(mac)[..16])
    }
}

fn hmac_sha256(key: &[u8; 32], msg: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for (i, k) in key.iter().enumerate() {
        ipad[i] ^= k;
        opad[i] ^= k;
    }
    let inner: [u8; 32] = Sha256::new()
        .chain_update(ipad)
        .chain_update(msg)
        .finalize()
        .into();
    Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize()
        .into()
}

/// RFC 3339 → Unix milliseconds.
pub fn parse_time(field: &str, v: Option<&str>) -> Result<Option<i64>, ApiError> {
    // Absent means open-ended; present but empty is a malformed time.
    let Some(v) = v else {
        return Ok(None);
    };
    let t = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
        .map_err(|_| {
            ApiError::bad_request(format!("{field} {v:?} is not an RFC 3339 time"))
                .hint("use e.g. 2026-11-26T19:00:00Z")
        })?;
    Ok(Some((t.unix_timestamp_nanos() / 1_000_000) as i64))
}

/// Start of the `{code, data: Page}` envelope around events serialised by
/// `Store::audit_events_json`: byte for byte what `ok(Page<AuditEvent>)` would send
/// (a unit test holds the two together), without building a million structs.
fn page_start(capacity: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(capacity);
    body.extend_from_slice(format!("{{\"code\":{},\"data\":{{\"items\":[", codes::OK).as_bytes());
    body
}

/// Close a body begun by [`page_start`] and continued with the items.
fn page_end(mut body: Vec<u8>, n: u32, limit: u32, last: Option<u64>) -> Vec<u8> {
    body.push(b']');
    if let (true, Some(l)) = (n == limit, last) {
        body.extend_from_slice(format!(",\"next_cursor\":\"{l}\"").as_bytes());
    }
    body.extend_from_slice(b"}}");
    body
}

impl AppState {
    /// One page of events as a complete response body, and how many it holds.
    pub fn audit_page_json(&self, c: &Caller, f: &EventFilter) -> Result<(Vec<u8>, u32), ApiError> {
        c.require("audit:read")?;
        let mut body = page_start(f.limit as usize * 320);
        let (n, last) = self.store.audit_events_json(f, &mut body)?;
        Ok((page_end(body, n, f.limit, last), n))
    }

    /// Sign (and remember) a checkpoint at `seq`, or at the head when `None`.
    pub fn audit_checkpoint(&self, seq: Option<u64>) -> Result<Checkpoint, ApiError> {
        let (seq, head) = match self.store.audit_hash_at(seq)? {
            Some(x) => x,
            None if seq.is_none() || seq == Some(0) => {
                (0, imadm_api::audit::hash_hex(&imadm_api::audit::GENESIS))
            }
            None => {
                return Err(ApiError::new(
                    codes::NOT_FOUND,
                    format!("there is no audit event {}", seq.unwrap_or(0)),
                )
                .hint("ask for a sequence number at or below the head (omit seq for the head)"));
            }
        };
        let cp = self.audit_key.checkpoint(seq, &head, &self.server_id);
        self.store.save_checkpoint(&cp)?;
        Ok(cp)
    }

    pub fn export_plan(
        &self,
        ctx: &RequestCtx,
        c: &Caller,
        req: &ExportRequest,
    ) -> Result<ExportPlan, ApiError> {
        c.require("audit:export")?;
        // In the JSON body an empty string means the same as null: open-ended.
        let since = parse_time("since", req.since.as_deref().filter(|v| !v.is_empty()))?;
        let until = parse_time("until", req.until.as_deref().filter(|v| !v.is_empty()))?;
        // The range is computed before the export's own event is appended, so the
        // report does not have to contain the record of its own making.
        let (first, last, count) = self.store.audit_range(since, until)?;
        let plan = if count == 0 {
            ExportPlan {
                first_seq: 0,
                last_seq: 0,
                count: 0,
                anchor: None,
                checkpoint: None,
            }
        } else {
            ExportPlan {
                first_seq: first,
                last_seq: last,
                count,
                anchor: if first > 1 {
                    Some(self.audit_checkpoint(Some(first - 1))?)
                } else {
                    None
                },
                checkpoint: Some(self.audit_checkpoint(Some(last))?),
            }
        };
        let mut ev = self.audit_event(ctx, Some(c), "audit.export", None);
        ev.detail = Some(format!("seq {first}..={last} ({count} events)"));
        self.audited(ev, || Ok(plan))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_page_is_byte_for_byte_the_serde_page() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("imadm.db");
        use crate::store::Store;
        let store = crate::store::sqlite::SqliteStore::open(&p).unwrap();
        crate::store::sqlite::audit::seed(&p, 5, 1_764_000_000_000).unwrap();
        // Nulls, escapes, non-ASCII and a control character.
        store
            .append_audit(&NewAudit {
                actor_type: "token".into(),
                actor: "ci#3".into(),
                action: "user.export".into(),
                outcome: "denied".into(),
                detail: Some("quote \" back\\ nl\n \u{fc} \u{1}".into()),
                ..NewAudit::default()
            })
            .unwrap();
        for limit in [3u32, 6, 10] {
            let f = EventFilter {
                limit,
                ..Default::default()
            };
            let items = store.audit_events(&f).unwrap();
            let next_cursor =
                (items.len() as u32 == limit).then(|| items.last().unwrap().seq.to_string());
            let want = serde_json::to_vec(&imadm_api::Envelope::ok(imadm_api::admin::Page {
                items,
                next_cursor,
            }))
            .unwrap();
            let mut raw = page_start(0);
            let (n, last) = store.audit_events_json(&f, &mut raw).unwrap();
            assert_eq!(
                String::from_utf8(page_end(raw, n, limit, last)).unwrap(),
                String::from_utf8(want).unwrap()
            );
        }
    }

    #[test]
    fn hmac_matches_rfc4231_shape_and_pseudonyms_are_stable() {
        let k = AuditKey::from_seed(&[7u8; 32]);
        assert_eq!(k.user_pseudonym(42), k.user_pseudonym(42));
        assert_ne!(k.user_pseudonym(42), k.user_pseudonym(43));
        assert_eq!(k.user_pseudonym(42).len(), "user:".len() + 16);
        // Unknown login names: their own derivation, so "42" as a name is not user 42.
        let name = k.unknown_operator("42");
        assert_eq!(name, k.unknown_operator("42"));
        assert_ne!(name, k.unknown_operator("43"));
        assert!(name.starts_with("unknown:") && name.len() == "unknown:".len() + 16);
        assert_ne!(
            &name["unknown:".len()..],
            &k.user_pseudonym(42)["user:".len()..]
        );
        assert_ne!(name, AuditKey::from_seed(&[8u8; 32]).unknown_operator("42"));
        // RFC 4231 test case 2 uses a 4-byte key; pad it to our 32-byte key size
        // (HMAC zero-pads short keys, so the result is the same).
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        assert_eq!(
            hex::encode(hmac_sha256(&key, b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn checkpoint_signature_verifies_and_public_key_is_openssh() {
        use ed25519_dalek::Verifier;
        let k = AuditKey::from_seed(&[1u8; 32]);
        let cp = k.checkpoint(5, &"ab".repeat(32), "srv");
        use base64::Engine;
        let sig: [u8; 64] = base64::engine::general_purpose::STANDARD
            .decode(&cp.signature)
            .unwrap()
            .try_into()
            .unwrap();
        k.verifying_key()
            .verify(&cp.message(), &ed25519_dalek::Signature::from_bytes(&sig))
            .unwrap();
        assert!(
            k.openssh_public("srv")
                .starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI")
        );
    }

    /// A rotation: the old key signs the hand-off naming the new one and the chain
    /// position, the new key signs from then on (also after a reload), and the pseudonyms
    /// stay those of the original seed.
    #[test]
    fn rotation_hands_off_signed_by_the_old_key_and_keeps_pseudonyms() {
        use base64::Engine;
        use ed25519_dalek::Verifier;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.key");
        let k = AuditKey::open(&path, true).unwrap();
        let old = k.verifying_key();
        let pseudonym = k.user_pseudonym(42);
        let unknown = k.unknown_operator("mallory");
        let h = k.rotate(7, &"cd".repeat(32), "srv").unwrap();
        assert_eq!((h.seq, h.server_id.as_str()), (7, "srv"));
        assert_eq!(h.old_key, openssh_bare(&old));
        let sig: [u8; 64] = base64::engine::general_purpose::STANDARD
            .decode(&h.signature)
            .unwrap()
            .try_into()
            .unwrap();
        old.verify(&h.message(), &ed25519_dalek::Signature::from_bytes(&sig))
            .unwrap();
        let new = k.verifying_key();
        assert_ne!(new, old);
        assert_eq!(h.new_key, openssh_bare(&new));
        for k in [k, AuditKey::open(&path, false).unwrap()] {
            assert_eq!(k.verifying_key(), new);
            assert_eq!(k.handoffs(), std::slice::from_ref(&h));
            assert_eq!(k.user_pseudonym(42), pseudonym);
            assert_eq!(k.unknown_operator("mallory"), unknown);
            assert!(k.openssh_public("srv").starts_with(&h.new_key));
        }
        // A signing key file that is not the one the last hand-off names is refused.
        std::fs::write(dir.path().join("audit.key.d/signing-1.key"), [5u8; 32]).unwrap();
        assert!(AuditKey::open(&path, false).is_err());
    }

    /// `rotated_from` (the start check on PostgreSQL, `instances.rs`): true for a key the
    /// old one handed off to, false for the old key itself, another key, or a hand-off
    /// from the old key that the old key did not sign.
    #[test]
    fn a_key_is_a_rotation_of_another_only_by_a_handoff_it_signed() {
        let dir = tempfile::tempdir().unwrap();
        let k = AuditKey::open(&dir.path().join("audit.key"), true).unwrap();
        let old = k.signing_public();
        assert!(!k.rotated_from(&old), "no hand-off yet");
        let mut h = k.rotate(1, &"ab".repeat(32), "srv").unwrap();
        assert!(k.rotated_from(&old));
        assert!(!k.rotated_from(&k.signing_public()));
        assert!(!k.rotated_from(&AuditKey::from_seed(&[9; 32]).signing_public()));
        // The same hand-off signed by the new key instead of the old one.
        use base64::Engine;
        let forger = SigningKey::from_bytes(&[9; 32]);
        h.signature =
            base64::engine::general_purpose::STANDARD.encode(forger.sign(&h.message()).to_bytes());
        let forged = AuditKey::from_seed(&[3; 32]);
        forged.signing.write().unwrap().handoffs = vec![h];
        assert!(!forged.rotated_from(&old));
    }
}
