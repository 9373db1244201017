//! The audit log's wire types and its hash chain, shared by the server (which appends
//! and signs) and the CLI (which exports and verifies).
//!
//! The chain is defined here once so both sides hash exactly the same bytes:
//!
//! ```text
//! leaf(e)    = SHA-256("imadm-audit-event-v1\0" || canonical_bytes(e))
//! chain(0)   = 32 zero bytes                        (genesis, before event 1)
//! chain(n)   = SHA-256(chain(n-1) || leaf(event n))
//! ```
//!
//! `canonical_bytes` is the compact JSON of the event's fields in declaration order,
//! without `hash`; serde_json writes it deterministically (fixed field order, no
//! whitespace, one escaping), so a verifier re-serialises a parsed event and gets the
//! bytes the server hashed. Editing any field of any event, deleting, inserting or
//! reordering events changes every later chain value.
//!
//! A [`Checkpoint`] is the server's Ed25519 signature over (sequence number, chain value
//! at that sequence, time). An exported range `first..=last` is proven by two of them:
//! one at `first - 1` (the anchor; none needed at genesis) and one at `last`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// Domain-separation prefix of an event's leaf hash.
pub const LEAF_PREFIX: &[u8] = b"imadm-audit-event-v1\0";
/// Domain-separation prefix of a checkpoint's signed message.
pub const CHECKPOINT_PREFIX: &str = "imadm-audit-checkpoint-v1";
/// The chain value before the first event.
pub const GENESIS: [u8; 32] = [0u8; 32];

/// One audit event. Never holds a secret (token, password, code, key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEvent {
    /// 1, 2, 3, ... without gaps.
    pub seq: u64,
    /// RFC 3339 UTC with milliseconds, as produced by [`format_at`].
    pub at: String,
    /// `operator`, `token`, `anonymous` or `system`.
    pub actor_type: String,
    /// Operator username, `<token name>#<token id>`, or empty.
    pub actor: String,
    /// Source IP address of the request, when there was one.
    pub source: Option<String>,
    /// Dotted action name, e.g. `auth.login`, `user.create`, `role.grant`, `audit.export`.
    pub action: String,
    /// What the action was applied to (`operator:alice`, `role:viewer`, `user:<pseudonym>`).
    pub target: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    pub request_id: Option<String>,
    /// Extra non-secret detail (reason of a failure, counts, changed fields).
    pub detail: Option<String>,
    /// Lower-case hex of chain(seq). Not part of the canonical bytes.
    pub hash: String,
}

/// The hashed part of an event: every field but `hash`, in this order.
#[derive(Serialize)]
struct Canonical<'a> {
    seq: u64,
    at: &'a str,
    actor_type: &'a str,
    actor: &'a str,
    source: &'a Option<String>,
    action: &'a str,
    target: &'a Option<String>,
    outcome: &'a str,
    request_id: &'a Option<String>,
    detail: &'a Option<String>,
}

impl AuditEvent {
    /// The bytes the leaf hash covers (see the module documentation).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let c = Canonical {
            seq: self.seq,
            at: &self.at,
            actor_type: &self.actor_type,
            actor: &self.actor,
            source: &self.source,
            action: &self.action,
            target: &self.target,
            outcome: &self.outcome,
            request_id: &self.request_id,
            detail: &self.detail,
        };
        serde_json::to_vec(&c).expect("serialising strings and integers cannot fail")
    }

    pub fn leaf(&self) -> [u8; 32] {
        leaf_of_canonical(&[&self.canonical_bytes()])
    }
}

/// leaf(event) from its canonical bytes, given in consecutive parts.
pub fn leaf_of_canonical(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(LEAF_PREFIX);
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// chain(n) from chain(n-1) and leaf(event n).
pub fn chain_next(prev: &[u8; 32], leaf: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(leaf);
    h.finalize().into()
}

/// Parse a 64-hex-digit chain value.
pub fn parse_hash(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

pub fn hash_hex(h: &[u8; 32]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(64);
    for b in h {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Format a Unix time in milliseconds the way events carry it: `2026-11-26T19:55:00.123Z`.
pub fn format_at(unix_ms: i64) -> String {
    let mut s = String::with_capacity(24);
    format_at_into(&mut s, unix_ms);
    s
}

/// [`format_at`] appended to `out` (no allocation when it has room).
pub fn format_at_into(out: &mut String, unix_ms: i64) {
    use std::fmt::Write;
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(unix_ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    );
}

/// A server-signed statement "the chain value at `seq` is `head`", made at `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Checkpoint {
    pub seq: u64,
    /// Lower-case hex of chain(seq).
    pub head: String,
    /// RFC 3339 time of signing ([`format_at`]).
    pub at: String,
    /// The server's id (`ServerInfo::server_id`), so a checkpoint of one server is not
    /// accepted for another.
    pub server_id: String,
    /// Base64 (standard, padded) Ed25519 signature over [`Checkpoint::signed_message`].
    pub signature: String,
}

impl Checkpoint {
    /// The exact bytes the server's Ed25519 key signs.
    pub fn signed_message(seq: u64, head: &str, at: &str, server_id: &str) -> Vec<u8> {
        format!("{CHECKPOINT_PREFIX}\n{server_id}\n{seq}\n{head}\n{at}\n").into_bytes()
    }

    pub fn message(&self) -> Vec<u8> {
        Self::signed_message(self.seq, &self.head, &self.at, &self.server_id)
    }
}

/// First line of the message an audit-key hand-off signs.
pub const HANDOFF_PREFIX: &str = "imadm-audit-key-handoff-v1";

/// A rotation of the server's audit signing key: the OLD key signs that, from the chain
/// position (`seq`, `head`) on, checkpoints are signed by `new_key`. A client that pinned
/// `old_key` verifies this signature with it and may then trust `new_key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KeyHandoff {
    pub server_id: String,
    /// The chain position at the rotation: the last event signed for by the old key.
    pub seq: u64,
    /// Lower-case hex of chain(seq).
    pub head: String,
    /// RFC 3339 time of the rotation.
    pub at: String,
    /// `ssh-ed25519 AAAA...` (no comment): the key that signs this hand-off.
    pub old_key: String,
    /// `ssh-ed25519 AAAA...` (no comment): the key that signs checkpoints from now on.
    pub new_key: String,
    /// Base64 (standard, padded) Ed25519 signature by `old_key` over
    /// [`KeyHandoff::message`].
    pub signature: String,
}

impl KeyHandoff {
    /// The exact bytes the old key signs.
    pub fn message(&self) -> Vec<u8> {
        format!(
            "{HANDOFF_PREFIX}\n{}\n{}\n{}\n{}\n{}\n{}\n",
            self.server_id, self.seq, self.head, self.at, self.old_key, self.new_key
        )
        .into_bytes()
    }
}

/// `GET /admin/audit/events` query: keyset by sequence number plus filters.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct EventsQuery {
    /// Return events with `seq > after` (default 0).
    pub after: Option<u64>,
    /// Return events with `seq <= to`.
    pub to: Option<u64>,
    pub limit: Option<u32>,
    /// RFC 3339; events at or after.
    pub since: Option<String>,
    /// RFC 3339; events at or before.
    pub until: Option<String>,
    pub actor: Option<String>,
    /// Exact action, or a prefix ending in `.` (`auth.`).
    pub action: Option<String>,
    /// Long-poll: when no event matches yet, wait up to this many seconds (cap 60) for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<u32>,
}

/// `POST /admin/audit/export` body: the time range to export (RFC 3339; open ends allowed).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ExportRequest {
    #[schema(format = DateTime)]
    pub since: Option<String>,
    #[schema(format = DateTime)]
    pub until: Option<String>,
}

/// What an export covers and the checkpoints proving it. Page the events themselves
/// with `GET /admin/audit/events?after={first_seq - 1}&to={last_seq}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExportPlan {
    /// 0 when the range is empty.
    pub first_seq: u64,
    pub last_seq: u64,
    pub count: u64,
    /// Checkpoint at `first_seq - 1`; absent when `first_seq` is 1 (genesis) or empty.
    pub anchor: Option<Checkpoint>,
    /// Checkpoint at `last_seq`; absent when the range is empty.
    pub checkpoint: Option<Checkpoint>,
}

/// One security alert raised by a rule as events were written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Alert {
    pub id: u64,
    /// RFC 3339 ([`format_at`]).
    pub at: String,
    /// `login_failures`, `lockout`, `sensitive_read_burst`, `role_escalation`,
    /// `token_new_address`, `off_hours`.
    pub rule: String,
    /// `low`, `medium` or `high`.
    pub severity: String,
    pub actor: String,
    pub detail: String,
    /// The event that triggered it.
    pub event_seq: u64,
    /// `open`, `acknowledged` or `resolved`: the latest of the alert's state changes
    /// (`open` when it has none). Absent from older servers, which read as `open`.
    #[serde(default = "open_state")]
    pub state: String,
    /// When, by whom and with which note the alert reached its `state` (absent while open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn open_state() -> String {
    ALERT_OPEN.to_owned()
}

/// The states of an alert: `open → acknowledged → resolved` (or `open → resolved`).
pub const ALERT_OPEN: &str = "open";
pub const ALERT_ACKNOWLEDGED: &str = "acknowledged";
pub const ALERT_RESOLVED: &str = "resolved";
pub const ALERT_STATES: [&str; 3] = [ALERT_OPEN, ALERT_ACKNOWLEDGED, ALERT_RESOLVED];

/// The longest note of an alert state change, in characters.
pub const ALERT_NOTE_MAX: usize = 1000;

/// `POST /admin/alerts/{id}/ack` and `/resolve`: why (required, 1 to [`ALERT_NOTE_MAX`]
/// characters). The note is kept with the alert and in the audit event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AlertNote {
    /// Not only white space; no control characters but line breaks and tabs.
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x08\x0b-\x1f\x7f-\x9f]*$"
    )]
    pub note: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: u64) -> AuditEvent {
        AuditEvent {
            seq,
            at: format_at(1_764_180_000_123),
            actor_type: "operator".into(),
            actor: "alice".into(),
            source: Some("127.0.0.1".into()),
            action: "user.create".into(),
            target: Some("user:x\"y".into()),
            outcome: "success".into(),
            request_id: None,
            detail: None,
            hash: String::new(),
        }
    }

    #[test]
    fn canonical_bytes_are_fixed_order_compact_and_exclude_hash() {
        let mut e = ev(7);
        let a = e.canonical_bytes();
        e.hash = "ff".repeat(32);
        assert_eq!(a, e.canonical_bytes());
        assert_eq!(
            String::from_utf8(a).unwrap(),
            r#"{"seq":7,"at":"2025-11-26T18:00:00.123Z","actor_type":"operator","actor":"alice","source":"127.0.0.1","action":"user.create","target":"user:x\"y","outcome":"success","request_id":null,"detail":null}"#
        );
    }

    #[test]
    fn chain_changes_with_any_edit_and_hex_round_trips() {
        let e1 = ev(1);
        let h1 = chain_next(&GENESIS, &e1.leaf());
        let mut e1b = e1.clone();
        e1b.outcome = "failure".into();
        assert_ne!(h1, chain_next(&GENESIS, &e1b.leaf()));
        assert_eq!(parse_hash(&hash_hex(&h1)), Some(h1));
        assert_eq!(parse_hash("zz"), None);
    }
}
