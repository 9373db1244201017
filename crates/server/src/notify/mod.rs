//! Alert notifications: the delivery task that sends queued alert messages to the
//! channels of `--notify-config` (webhook, Slack, DingTalk, WeCom, Feishu), and the
//! service calls behind `/admin/notify/*`.
//!
//! Messages are queued in the database inside the transaction that raises or resolves an
//! alert (`store::notify`), so they survive restarts. One task per channel delivers its
//! queue strictly in order: the oldest undelivered message is retried (exponential
//! backoff with jitter, `retry_min` doubling up to `retry_max`, or the receiver's
//! `Retry-After` if longer) until the receiver takes it, and nothing after it goes out
//! before. Each channel keeps to its receiver's rate limits (`config::Kind`). Delivery
//! is at least once: a receiver that took a message but whose answer was lost gets it
//! again, with the same `webhook-id` (webhooks) to tell. A channel failing without a
//! success for `failing_after` appends `notify.channel_failing` to the audit log, whose
//! rule raises the high alert `notify_channel_failing`, queued for the other channels.
//! With several instances on one database, each channel is delivered by the instance
//! holding its lease (`Backend::lease`, a PostgreSQL advisory lock); another takes over
//! within [`STANDBY_POLL`] of the leader's end, so each message goes out once (at least
//! once across a hand-over, as across a crash).
//!
//! The config is reloaded on SIGHUP: a bad file keeps the previous config (the reason is
//! logged and shown by `notify status`); only channels whose settings changed restart.
//! Submodules: `config` (the file), `sign` (signatures), `message` (bodies per kind).

pub mod config;
pub mod message;
pub mod sign;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use imadm_api::audit::{ALERT_OPEN, Alert, format_at};
use imadm_api::codes;
use imadm_api::notify::{ChannelStatus, NotifyStatus};
use rand::Rng;

use crate::AppState;
use crate::audit::now_ms;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::store::Lease;
use crate::store::notify::{Attempt, ChannelRecord, Queued};
use config::{Channel, Config};

/// How often an idle channel task looks whether anything was written (an atomic read;
/// the queue itself is read only after a write).
const POLL: Duration = Duration::from_millis(100);
/// How often an instance that does not deliver a channel (another leads it) looks again.
const STANDBY_POLL: Duration = Duration::from_secs(1);
/// Delivered messages are kept this long (for `notify status` and duplicate suppression).
const KEEP_DELIVERED_MS: i64 = 30 * 24 * 3600 * 1000;
/// Largest receiver answer read.
const MAX_ANSWER: usize = 64 << 10;

/// The loaded notification config, shared by the channel tasks and the handlers.
#[derive(Default)]
pub struct Notifier {
    config: RwLock<Arc<Config>>,
    reload_error: Mutex<Option<String>>,
    /// Bumped at every (re)load; the supervisor restarts the channels that changed.
    generation: tokio::sync::watch::Sender<u64>,
}

impl Notifier {
    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn install(&self, config: Config) {
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(config);
        *self.reload_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.generation.send_modify(|g| *g += 1);
    }
}

/// Start delivering with `config` (loaded from `path` by [`config::load`]): the routes go
/// to the store (`set_routes`), a task per channel, and SIGHUP reloads `path`.
pub fn start(
    state: Arc<AppState>,
    path: PathBuf,
    config: Config,
    set_routes: Arc<dyn Fn(Vec<crate::store::notify::Route>) + Send + Sync>,
) {
    set_routes(config.routes());
    state.notifier.install(config);
    tokio::spawn(supervise(state.clone()));
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            tracing::warn!(
                "cannot install the SIGHUP handler: the notification config is not reloadable"
            );
            return;
        };
        while hup.recv().await.is_some() {
            let p = path.clone();
            match tokio::task::spawn_blocking(move || config::load(&p)).await {
                Ok(Ok(c)) => {
                    tracing::info!(channels = c.channels.len(), "notification config reloaded");
                    set_routes(c.routes());
                    state.notifier.install(c);
                }
                Ok(Err(why)) => {
                    tracing::warn!(error = %why, "notification config not reloaded; the previous one stays in use");
                    *state
                        .notifier
                        .reload_error
                        .lock()
                        .unwrap_or_else(|p| p.into_inner()) = Some(why);
                }
                Err(e) => tracing::warn!(error = %e, "notification config reload failed"),
            }
        }
    });
}

/// Keep one task per configured channel, restarting those whose settings changed; prune
/// delivered messages once an hour.
async fn supervise(state: Arc<AppState>) {
    let mut generation = state.notifier.generation.subscribe();
    let mut running: HashMap<String, ([u8; 32], tokio::task::JoinHandle<()>)> = HashMap::new();
    let mut prune = tokio::time::interval(Duration::from_secs(3600));
    loop {
        let config = state.notifier.config();
        running.retain(|name, (print, task)| {
            let keep = config
                .channel(name)
                .is_some_and(|c| c.fingerprint == *print);
            if !keep {
                task.abort();
            }
            keep
        });
        for ch in &config.channels {
            if !running.contains_key(&ch.name) {
                let task = tokio::spawn(deliver_channel(state.clone(), ch.clone(), config.clone()));
                running.insert(ch.name.clone(), (ch.fingerprint, task));
            }
        }
        tokio::select! {
            changed = generation.changed() => if changed.is_err() { return },
            _ = prune.tick() => {
                let s = state.clone();
                let before = now_ms() - KEEP_DELIVERED_MS;
                if let Ok(Err(e)) = tokio::task::spawn_blocking(move || s.queue.prune_delivered(before)).await {
                    tracing::warn!(error = %e, "pruning delivered notifications");
                }
            }
        }
    }
}

/// Run a store call on the blocking pool.
async fn store<T: Send + 'static>(
    state: &Arc<AppState>,
    f: impl FnOnce(&AppState) -> crate::store::Result<T> + Send + 'static,
) -> Result<T, String> {
    let s = state.clone();
    match tokio::task::spawn_blocking(move || f(&s)).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// Whether this instance holds `lease` (on the blocking pool: it may ask the database).
async fn holds(state: &Arc<AppState>, lease: &Arc<Mutex<Box<dyn Lease>>>) -> bool {
    let lease = lease.clone();
    store(state, move |_| {
        Ok(lease.lock().unwrap_or_else(|p| p.into_inner()).held())
    })
    .await
    .unwrap_or(false)
}

/// Deliver `ch`'s queue in order, forever (the supervisor aborts the task). With several
/// instances on one database, the one holding the channel's lease delivers; the others
/// wait to take over.
async fn deliver_channel(state: Arc<AppState>, ch: Arc<Channel>, config: Arc<Config>) {
    let mut rate = RateLimit::new(&ch.limits);
    // The store's epoch when the queue was last seen empty: nothing to do until it moves.
    let mut idle_at: Option<u64> = None;
    let lease = Arc::new(Mutex::new(
        state.backend.lease(&format!("notify:{}", ch.name)),
    ));
    let mut leading = false;
    let mut record = ChannelRecord::default();
    loop {
        if !leading {
            if !holds(&state, &lease).await {
                tokio::time::sleep(STANDBY_POLL).await;
                continue;
            }
            leading = true;
            idle_at = None;
            // The channel as the last leader left it (its failing spell, if any).
            let name = ch.name.clone();
            record = store(&state, move |s| s.queue.channel_records())
                .await
                .ok()
                .and_then(|all| all.into_iter().find(|r| r.name == name))
                .unwrap_or_default();
        }
        // On the blocking pool: a backend may read its epoch from the database.
        let epoch = store(&state, |s| Ok(s.store.epoch()))
            .await
            .unwrap_or_default();
        if idle_at == Some(epoch) {
            tokio::time::sleep(POLL).await;
            continue;
        }
        let name = ch.name.clone();
        let head = match store(&state, move |s| s.queue.next_message(&name)).await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(channel = %ch.name, error = %e, "reading the notification queue");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let Some(m) = head else {
            idle_at = Some(epoch);
            tokio::time::sleep(POLL).await;
            continue;
        };
        idle_at = None;
        let now = now_ms();
        if m.next_ms > now {
            raise_if_failing(&state, &ch, &config, &mut record, now).await;
            tokio::time::sleep(Duration::from_millis((m.next_ms - now).min(1000) as u64)).await;
            continue;
        }
        if let Some(wait) = rate.wait(Instant::now()) {
            tokio::time::sleep(wait).await;
            continue;
        }
        if !holds(&state, &lease).await {
            leading = false;
            continue;
        }
        rate.record(Instant::now());
        let outcome = send(&state, &ch, &m).await;
        let now = now_ms();
        let attempt = match outcome {
            Ok(()) => Attempt::Delivered,
            Err((error, retry_after)) => {
                let wait = backoff(m.attempts + 1, config.retry_min, config.retry_max)
                    .max(retry_after.unwrap_or_default());
                tracing::warn!(channel = %ch.name, message = m.id, attempt = m.attempts + 1,
                    retry_in_ms = wait.as_millis() as u64, %error, "notification not delivered");
                Attempt::Failed {
                    error,
                    retry_at_ms: now + wait.as_millis() as i64,
                }
            }
        };
        let (id, name) = (m.id, ch.name.clone());
        match store(&state, move |s| {
            s.queue.record_attempt(id, &name, &attempt, now)
        })
        .await
        {
            Ok(r) => record = r,
            Err(e) => {
                tracing::error!(channel = %ch.name, error = %e, "recording a notification attempt");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        raise_if_failing(&state, &ch, &config, &mut record, now).await;
    }
}

/// Raise `notify_channel_failing` once the channel has failed, without a success, for
/// `failing_after`.
async fn raise_if_failing(
    state: &Arc<AppState>,
    ch: &Channel,
    config: &Config,
    record: &mut ChannelRecord,
    now: i64,
) {
    let Some(since) = record.failing_since_ms else {
        return;
    };
    if record.failing_alerted || now - since < config.failing_after.as_millis() as i64 {
        return;
    }
    let detail = format!(
        "channel {} ({}) failing since {}: {}",
        ch.name,
        ch.kind.name(),
        format_at(since),
        record.last_error.as_deref().unwrap_or("?")
    );
    let name = ch.name.clone();
    match store(state, move |s| {
        s.queue.raise_channel_failing(&name, &detail)
    })
    .await
    {
        Ok(_) => record.failing_alerted = true,
        Err(e) => tracing::error!(channel = %ch.name, error = %e, "raising notify_channel_failing"),
    }
}

/// One attempt at message `m`: `Err` has what went wrong (no URL, no secret) and the
/// receiver's `Retry-After`, if any.
async fn send(
    state: &AppState,
    ch: &Channel,
    m: &Queued,
) -> Result<(), (String, Option<Duration>)> {
    let alert = message::alert_of(m).map_err(|e| (e, None))?;
    let req = message::request(ch, m, &alert, &state.server_id, now_ms());
    let mut rb = ch.client.post(req.url).body(req.body);
    for (k, v) in req.headers {
        rb = rb.header(k, v);
    }
    let resp = rb.send().await.map_err(|e| (transport_error(e), None))?;
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.min(3600)));
    let mut body = Vec::new();
    let mut resp = resp;
    while let Ok(Some(chunk)) = resp.chunk().await {
        body.extend_from_slice(&chunk[..chunk.len().min(MAX_ANSWER - body.len())]);
        if body.len() >= MAX_ANSWER {
            break;
        }
    }
    message::check_response(ch.kind, status, &body).map_err(|e| (e, retry_after))
}

/// A transport error without the URL (it may carry a token), with its causes.
fn transport_error(e: reqwest::Error) -> String {
    let timeout = e.is_timeout();
    let e = e.without_url();
    let mut text = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        text.push_str(": ");
        text.push_str(&s.to_string());
        src = s.source();
    }
    if timeout {
        text.push_str(" (timed out)");
    }
    text
}

/// The wait before attempt `attempt` + 1: `min` doubled per earlier failure up to `max`,
/// then "equal jitter" (a random point in its upper half), so receivers coming back are
/// not hit by every sender at once.
pub fn backoff(failures: u32, min: Duration, max: Duration) -> Duration {
    let full = min
        .saturating_mul(1u32 << failures.saturating_sub(1).min(20))
        .min(max);
    let half = full / 2;
    half + Duration::from_millis(rand::rng().random_range(0..=half.as_millis() as u64))
}

/// The sends of one channel within its limits (COUNT per DURATION, all apply).
struct RateLimit {
    limits: Vec<(u32, Duration)>,
    sent: VecDeque<Instant>,
}

impl RateLimit {
    fn new(limits: &[(u32, Duration)]) -> Self {
        RateLimit {
            limits: limits.to_vec(),
            sent: VecDeque::new(),
        }
    }

    /// How long until one more send keeps within every limit (`None`: now).
    fn wait(&self, now: Instant) -> Option<Duration> {
        let mut wait = Duration::ZERO;
        for &(n, window) in &self.limits {
            let n = n as usize;
            if n > 0 && self.sent.len() >= n {
                // The n-th most recent send leaves the window at `free`.
                let free = self.sent[self.sent.len() - n] + window;
                wait = wait.max(free.saturating_duration_since(now));
            }
        }
        (!wait.is_zero()).then_some(wait)
    }

    fn record(&mut self, now: Instant) {
        self.sent.push_back(now);
        let keep = self
            .limits
            .iter()
            .map(|(n, _)| *n as usize)
            .max()
            .unwrap_or(0);
        while self.sent.len() > keep {
            self.sent.pop_front();
        }
    }
}

impl AppState {
    /// `GET /admin/notify/status` (`security:read`): the configured channels and their
    /// queues.
    pub fn notify_status(&self, c: &Caller) -> Result<NotifyStatus, ApiError> {
        c.require("security:read")?;
        let config = self.notifier.config();
        let records = self.queue.channel_records()?;
        let at = |ms: Option<i64>| ms.map(format_at);
        let channels = config
            .channels
            .iter()
            .map(|ch| {
                let r = records
                    .iter()
                    .find(|r| r.name == ch.name)
                    .cloned()
                    .unwrap_or_default();
                ChannelStatus {
                    name: ch.name.clone(),
                    kind: ch.kind.name().to_owned(),
                    min_severity: ch.min_severity().to_owned(),
                    send_resolved: ch.send_resolved,
                    queued: r.queued,
                    oldest_queued_at: at(r.oldest_queued_ms),
                    last_success_at: at(r.last_success_ms),
                    last_error_at: at(r.last_error_ms),
                    last_error: r.last_error,
                    failing_since: at(r.failing_since_ms),
                }
            })
            .collect();
        Ok(NotifyStatus {
            channels,
            reload_error: self
                .notifier
                .reload_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        })
    }

    /// `POST /admin/notify/test` (`security:manage`): queue a test message for channel
    /// `name` (recorded with the request's `notify.test` event); its queue id.
    pub fn notify_test(&self, c: &Caller, name: &str) -> Result<i64, ApiError> {
        c.require("security:manage")?;
        let config = self.notifier.config();
        if config.channel(name).is_none() {
            let names: Vec<&str> = config.channels.iter().map(|c| c.name.as_str()).collect();
            return Err(ApiError::new(
                codes::NOT_FOUND,
                format!("there is no notification channel {name:?}"),
            )
            .hint(if names.is_empty() {
                "the server has no notification channels: start it with --notify-config FILE"
                    .to_owned()
            } else {
                format!("configured channels: {}", names.join(", "))
            }));
        }
        let now = now_ms();
        let (_, actor) = crate::audit::actor_of(c);
        let test = Alert {
            id: 0,
            at: format_at(now),
            rule: "notify_test".into(),
            severity: "low".into(),
            actor,
            detail: "a test message: the channel works".into(),
            event_seq: 0,
            state: ALERT_OPEN.into(),
            state_at: None,
            state_by: None,
            note: None,
        };
        let payload = serde_json::to_string(&test).expect("JSON serialises");
        Ok(self.queue.enqueue_test(name, &payload, now)?)
    }

    /// A queued message, for the test's answer.
    pub fn notify_message(&self, id: i64) -> Result<Option<Queued>, ApiError> {
        Ok(self.queue.message(id)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let (min, max) = (Duration::from_secs(1), Duration::from_secs(300));
        for (failures, full) in [(1, 1), (2, 2), (3, 4), (9, 256), (10, 300), (40, 300)] {
            for _ in 0..50 {
                let d = backoff(failures, min, max);
                let full = Duration::from_secs(full);
                assert!(d >= full / 2 && d <= full, "{failures}: {d:?}");
            }
        }
    }

    #[test]
    fn rate_limits_hold_every_window() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        // Feishu: 5 per second and 100 per minute.
        let mut r = RateLimit::new(&[(5, Duration::from_secs(1)), (100, Duration::from_secs(60))]);
        for i in 0..5 {
            assert_eq!(r.wait(t0 + ms(i * 10)), None);
            r.record(t0 + ms(i * 10));
        }
        // The sixth waits until the first leaves the one-second window.
        assert_eq!(r.wait(t0 + ms(50)), Some(ms(950)));
        assert_eq!(r.wait(t0 + ms(1000)), None);
        // 100 in the minute: the 101st waits for the minute window.
        let mut r = RateLimit::new(&[(5, Duration::from_secs(1)), (100, Duration::from_secs(60))]);
        for i in 0..100 {
            r.record(t0 + ms(i * 250));
        }
        assert_eq!(r.wait(t0 + ms(25_000)), Some(ms(35_000)));
        assert_eq!(r.sent.len(), 100);
        // No limits (a webhook without rate_limit).
        let mut r = RateLimit::new(&[]);
        r.record(t0);
        assert_eq!(r.wait(t0), None);
        assert!(r.sent.is_empty());
    }
}
