//! Persistence of alert notifications: the delivery queue and each channel's record.
//!
//! [`NotifyStore`] is a trait of its own (like `ImStore`) because the queue is runtime
//! state of the delivery task (`crate::notify`), not data the admin API serves. Messages
//! are queued (SQLite: `sqlite::notify::enqueue_alert`) *inside* the transaction that raises or resolves the
//! alert, so a message exists exactly when its alert (state) does, and a crash between
//! the two is impossible. The UNIQUE key (channel, alert id, state) suppresses duplicates;
//! test messages have no alert id and never collide.
//!
//! A message is the alert as it was when queued (JSON of `imadm_api::audit::Alert`), so a
//! restore that renumbers or rolls back alerts never changes what is delivered.

use super::Result;

/// Which alerts go to one channel: the part of the notification config the store needs
/// to queue messages in the alert's own transaction (`SqliteStore::set_notify_routes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub channel: String,
    /// Alerts of at least this rank (low 1, medium 2, high 3).
    pub min_rank: u8,
    /// Also send the alert's resolution.
    pub send_resolved: bool,
}

/// The states a message can announce: an alert raised (`open`), resolved, or a test.
pub const RAISED: &str = "open";
pub const RESOLVED: &str = "resolved";
pub const TEST: &str = "test";

/// One queued message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub id: i64,
    pub channel: String,
    /// `None` for a test message.
    pub alert_id: Option<i64>,
    /// [`RAISED`], [`RESOLVED`] or [`TEST`].
    pub state: String,
    /// JSON of `imadm_api::audit::Alert`.
    pub payload: String,
    pub created_ms: i64,
    pub attempts: u32,
    /// Not to be attempted before (backoff).
    pub next_ms: i64,
    pub delivered_ms: Option<i64>,
    pub last_error: Option<String>,
}

/// What one delivery attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Delivered,
    /// Failed with `error` (never holding a secret); try again at `retry_at_ms`.
    Failed {
        error: String,
        retry_at_ms: i64,
    },
}

/// A channel's delivery record, with its queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelRecord {
    pub name: String,
    /// Messages not yet delivered, and the oldest one's queue time.
    pub queued: u64,
    pub oldest_queued_ms: Option<i64>,
    pub last_success_ms: Option<i64>,
    pub last_error_ms: Option<i64>,
    pub last_error: Option<String>,
    /// The first failure since the last success.
    pub failing_since_ms: Option<i64>,
    /// Whether this failing spell raised `notify_channel_failing` already.
    pub failing_alerted: bool,
}

pub trait NotifyStore: Send + Sync + 'static {
    /// The oldest message of `channel` not yet delivered: messages go out in order.
    fn next_message(&self, channel: &str) -> Result<Option<Queued>>;
    /// One message by id, delivered or not.
    fn message(&self, id: i64) -> Result<Option<Queued>>;
    /// Record an attempt at message `id` of `channel` made at `now_ms`, and the
    /// channel's record with it (one transaction); returns the record.
    fn record_attempt(
        &self,
        id: i64,
        channel: &str,
        attempt: &Attempt,
        now_ms: i64,
    ) -> Result<ChannelRecord>;
    /// Append the audit event `notify.channel_failing` (which raises the high alert
    /// `notify_channel_failing`, queued on the other channels) for `channel`, once per
    /// failing spell: false when this spell raised it already or the channel works.
    fn raise_channel_failing(&self, channel: &str, detail: &str) -> Result<bool>;
    /// Queue a test message for `channel`; its id.
    fn enqueue_test(&self, channel: &str, payload: &str, now_ms: i64) -> Result<i64>;
    /// The record of every channel that has one or has messages queued, by name.
    fn channel_records(&self) -> Result<Vec<ChannelRecord>>;
    /// Forget messages delivered before `before_ms`; how many.
    fn prune_delivered(&self, before_ms: i64) -> Result<u64>;
}
