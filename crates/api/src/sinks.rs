//! Audit sinks on the wire: `GET /admin/audit/sinks` reports, per sink the server was
//! started with (`imadm server --audit-sink`), how far it has delivered the audit log and
//! whether it keeps up. The sinks themselves live in the server (`sinks/`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One sink and its backlog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SinkStatus {
    /// The sink's name: its `name=` option, else its target without options
    /// (`file:/var/log/imadm/audit.jsonl`, `syslog+tls://siem:6514`, `https://siem/ingest`).
    pub name: String,
    /// `file`, `syslog+tcp`, `syslog+tls` or `https`.
    pub kind: String,
    /// Whether the server refuses changes while this sink lags beyond its bound.
    pub required: bool,
    /// The bound: at most this many events behind ...
    pub max_lag: u64,
    /// ... and the oldest undelivered event at most this many seconds old.
    pub max_age_secs: u64,
    /// The last event the sink acknowledged (0: none yet).
    pub delivered_seq: u64,
    /// The newest event of the log.
    pub head_seq: u64,
    /// `head_seq - delivered_seq`.
    pub lag_events: u64,
    /// Age of the oldest undelivered event in seconds (0 when caught up).
    pub lag_seconds: u64,
    /// `ok` (within the bound), `lagging` (beyond it), `blocking` (beyond it and
    /// required: changes are refused).
    pub state: String,
    /// RFC 3339 time of the last acknowledged delivery, if any since the server started.
    pub last_success_at: Option<String>,
    /// The last delivery error, if the last attempt failed.
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// Failed attempts in a row (0 after a success).
    pub failures: u64,
}

/// `kind` of the first line of a file sink's file (docs/audit-report.md, "Sink files").
pub const SINK_FILE_KIND: &str = "imadm-audit-sink";
/// `schema_version` of that line.
pub const SINK_FILE_SCHEMA: u32 = 1;

/// The first line of a file sink's file: where its events continue the chain. Each
/// further line is an event, exactly as `audit export` writes it, or a seal
/// `{"checkpoint": CP}` the server signed at the event before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkFileHeader {
    pub schema_version: u32,
    /// [`SINK_FILE_KIND`].
    pub kind: String,
    pub server_id: String,
    /// `ssh-ed25519 AAAA...`: the key that signed the anchor and the seals.
    pub audit_public_key: String,
    /// The seq of the file's first event.
    pub first_seq: u64,
    /// Lower-case hex of chain(first_seq - 1): genesis (zeros) when `first_seq` is 1.
    pub prev_hash: String,
    /// Checkpoint at `first_seq - 1` with head `prev_hash`; `None` when `first_seq` is 1.
    pub anchor: Option<crate::audit::Checkpoint>,
}

/// A seal line of a sink file: `{"checkpoint": CP}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealLine {
    pub checkpoint: crate::audit::Checkpoint,
}
