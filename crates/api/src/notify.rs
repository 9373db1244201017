//! `/admin/notify/*`: the server's alert notification channels (configured on the server
//! with `imadm server --notify-config`), their delivery status, and test messages.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /admin/notify/test` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NotifyTest {
    /// A channel name of the server's notification config.
    pub channel: String,
}

/// What became of a test message: it is queued like an alert's, and the server waits a
/// few seconds for the channel's first attempt.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NotifyTestResult {
    pub channel: String,
    /// The message's id in the delivery queue.
    pub message_id: u64,
    /// Whether the receiver accepted it within the wait.
    pub delivered: bool,
    /// Attempts made so far.
    pub attempts: u32,
    /// The last attempt's error, as the receiver or the connection gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One configured channel and its delivery queue.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChannelStatus {
    pub name: String,
    /// `webhook`, `slack`, `dingtalk`, `wecom` or `feishu`.
    pub kind: String,
    /// Alerts of at least this severity are sent (`low`, `medium`, `high`).
    pub min_severity: String,
    pub send_resolved: bool,
    /// Messages waiting to be delivered.
    pub queued: u64,
    /// RFC 3339 times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_queued_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error_at: Option<String>,
    /// The last failed attempt's error (receiver text: print it escaped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Failing without a success since then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<String>,
}

/// `GET /admin/notify/status`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NotifyStatus {
    /// The channels of the loaded config, by name; empty without `--notify-config`.
    pub channels: Vec<ChannelStatus>,
    /// Why the last reload (SIGHUP) was refused; the previous config stays in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reload_error: Option<String>,
}
