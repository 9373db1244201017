//! Audit sinks: copies of the audit log outside the database (`imadm server
//! --audit-sink SPEC`), delivered from the committed log.
//!
//! Each sink has a thread of its own that reads the events after its cursor (the last
//! event it acknowledged, table `audit_sink_cursors`), hands them to its [`Transport`]
//! (`file`, `syslog`, `https`) as one [`Batch`] of at most [`BATCH`] events, and moves
//! the cursor only once the transport acknowledged the batch. So delivery is in order and
//! at least once: a crash, a restart or an outage of the receiver only delays events, and
//! a batch in flight at a crash is delivered again (receivers drop duplicates by `seq`).
//! A failed batch is retried, the same batch, after a backoff that doubles from 0.5 s up
//! to the sink's `retry_max`, with jitter.
//!
//! Several instances on one database deliver each sink once: the instance holding the
//! sink's lease (`Backend::lease`, a PostgreSQL advisory lock) delivers from the shared
//! cursor; the others follow the cursor for their status and take over within
//! [`STANDBY_POLL`] when the leader is gone, from where it left off.
//!
//! The cursor also keeps the chain value of its event: if the log under it no longer has
//! that value there (a disaster-recovery restore renumbers a new install's first events),
//! the sink starts again from seq 1.
//!
//! The backlog (events behind, age of the oldest undelivered one) is kept per sink for
//! `GET /admin/audit/sinks`. Beyond the sink's bound (`max_lag` events or `max_age`) the
//! server raises the high alert `audit_sink_lagging`, once until the sink catches up; a
//! `required` sink beyond its bound also makes [`Sinks::gate`] refuse every change (each
//! request recorded through the fail-closed path, `AppState::audited`, but the sensitive
//! reads) with 503 until it is back within it. Reads, sensitive reads (audit and GDPR
//! export, message history), backups and authentication (login, MFA, refresh, logout,
//! the operator's own password change and MFA enrolment: recorded by `append_event`, not
//! `audited`) keep working, so operators can still get in and look.

pub mod file;
pub mod https;
pub mod spec;
pub mod syslog;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use imadm_api::audit::{AuditEvent, Checkpoint, GENESIS, format_at, hash_hex};
use imadm_api::codes;
use imadm_api::sinks::SinkStatus;
use rand::Rng;

pub use spec::{SinkKind, SinkSpec, parse_sink_spec, split_specs};

use crate::AppState;
use crate::audit::{EventFilter, SystemAlert};
use crate::error::ApiError;

/// The most events one delivery carries.
pub const BATCH: u32 = 500;
/// How often an idle sink looks for new events (a check of the store's write counter,
/// no query).
const POLL: Duration = Duration::from_millis(100);
const FIRST_RETRY: Duration = Duration::from_millis(500);
/// How often an instance that does not deliver a sink (another leads it) looks again:
/// also how soon it takes over when the leader is gone.
const STANDBY_POLL: Duration = Duration::from_secs(1);

/// Consecutive events of the log, in order.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The chain value before the first event (genesis when it is seq 1).
    pub prev_hash: String,
    pub events: Vec<AuditEvent>,
}

/// What a transport needs from the server: its identity and its checkpoint signature.
pub trait Sign {
    fn server_id(&self) -> &str;
    /// `ssh-ed25519 AAAA... imadm-audit@<server_id>`.
    fn public_key(&self) -> String;
    /// A checkpoint signed now for chain value `head` at `seq`.
    fn checkpoint(&self, seq: u64, head: &str) -> Checkpoint;
}

impl Sign for AppState {
    fn server_id(&self) -> &str {
        &self.server_id
    }
    fn public_key(&self) -> String {
        self.audit_key.openssh_public(&self.server_id)
    }
    fn checkpoint(&self, seq: u64, head: &str) -> Checkpoint {
        self.audit_key.checkpoint(seq, head, &self.server_id)
    }
}

/// One kind of receiver. `deliver` returns once the receiver acknowledged the whole batch
/// (or fails); it may be called again with the same batch after a failure or a crash.
pub trait Transport: Send {
    fn deliver(&mut self, batch: &Batch, sign: &dyn Sign) -> Result<(), String>;
}

/// The sinks a server runs with: their state for the status endpoint and the gate.
#[derive(Default)]
pub struct Sinks {
    sinks: Vec<Arc<Sink>>,
}

struct Sink {
    spec: SinkSpec,
    /// Required and beyond its bound: changes are refused.
    blocking: AtomicBool,
    status: Mutex<Status>,
}

#[derive(Default)]
struct Status {
    delivered_seq: u64,
    head_seq: u64,
    /// `at` (ms) of the oldest event not delivered yet.
    oldest_ms: Option<i64>,
    last_success_ms: Option<i64>,
    last_error: Option<String>,
    last_error_ms: Option<i64>,
    failures: u64,
}

impl Sink {
    fn status(&self) -> std::sync::MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `(events behind, ms the oldest undelivered event has waited)` at `now_ms`.
    fn lag(&self, now_ms: i64) -> (u64, u64) {
        let s = self.status();
        (
            s.head_seq.saturating_sub(s.delivered_seq),
            s.oldest_ms
                .map_or(0, |at| now_ms.saturating_sub(at).max(0) as u64),
        )
    }

    /// Beyond the bound at `now_ms`; updates the gate.
    fn lagging(&self, now_ms: i64) -> bool {
        let (events, ms) = self.lag(now_ms);
        let lagging = events > self.spec.max_lag || ms > self.spec.max_age.as_millis() as u64;
        self.blocking
            .store(lagging && self.spec.required, Ordering::SeqCst);
        lagging
    }

    fn describe_lag(&self, now_ms: i64) -> String {
        let (events, ms) = self.lag(now_ms);
        format!(
            "{events} events and {} s behind (bound: {} events, {} s)",
            ms / 1000,
            self.spec.max_lag,
            self.spec.max_age.as_secs()
        )
    }
}

impl Sinks {
    /// Check that every sink can start (its secret is set, its CA file reads) and build
    /// its transport. Nothing is delivered until [`Sinks::start`].
    pub fn prepare(specs: &[SinkSpec]) -> Result<(Sinks, Vec<Box<dyn Transport>>), String> {
        let mut sinks = Vec::new();
        let mut transports: Vec<Box<dyn Transport>> = Vec::new();
        for spec in specs {
            if sinks.iter().any(|s: &Arc<Sink>| s.spec.name == spec.name) {
                return Err(format!(
                    "two audit sinks are named {}: give one a name= option",
                    spec.name
                ));
            }
            let fail = |e: String| format!("audit sink {}: {e}", spec.name);
            let t: Box<dyn Transport> = match &spec.kind {
                SinkKind::File { path, max_bytes } => {
                    let dir = path.parent().unwrap_or(std::path::Path::new("/"));
                    if !dir.is_dir() {
                        return Err(fail(format!("directory {} does not exist", dir.display())));
                    }
                    Box::new(file::FileSink::new(path.clone(), *max_bytes))
                }
                SinkKind::Syslog {
                    host,
                    port,
                    tls,
                    ca,
                    facility,
                } => Box::new(
                    syslog::Syslog::new(host, *port, *tls, ca.as_deref(), *facility)
                        .map_err(fail)?,
                ),
                SinkKind::Https {
                    url,
                    ca,
                    secret_env,
                } => {
                    // Read once at start, never logged; the variable stays the operator's.
                    let secret = std::env::var(secret_env).map_err(|_| {
                        fail(format!("environment variable {secret_env} is not set"))
                    })?;
                    let secret = zeroize::Zeroizing::new(secret);
                    Box::new(
                        https::Https::new(url, &secret, ca.as_deref())
                            .map_err(|e| fail(format!("{secret_env}: {e}")))?,
                    )
                }
            };
            transports.push(t);
            sinks.push(Arc::new(Sink {
                spec: spec.clone(),
                blocking: AtomicBool::new(false),
                status: Mutex::new(Status::default()),
            }));
        }
        Ok((Sinks { sinks }, transports))
    }

    /// Read each sink's cursor and backlog (so the gate holds from the first request),
    /// then start its delivery thread.
    pub fn start(state: &Arc<AppState>, transports: Vec<Box<dyn Transport>>) -> Result<(), String> {
        for (sink, transport) in state.sinks.sinks.iter().zip(transports) {
            let cursor = load_cursor(state, &sink.spec.name).map_err(|e| e.to_string())?;
            refresh(state, sink, cursor.0).map_err(|e| e.to_string())?;
            sink.lagging(crate::audit::now_ms());
            let (state, sink) = (state.clone(), sink.clone());
            std::thread::Builder::new()
                .name(format!("audit-sink-{}", sink.spec.kind.label()))
                .spawn(move || run(state, sink, transport))
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// 503 when a required sink is beyond its bound (see the module documentation).
    pub fn gate(&self) -> Result<(), ApiError> {
        let Some(s) = self
            .sinks
            .iter()
            .find(|s| s.blocking.load(Ordering::SeqCst))
        else {
            return Ok(());
        };
        let name = &s.spec.name;
        Err(ApiError::new(
            codes::UNAVAILABLE,
            format!(
                "the required audit sink {name} is {}: this server refuses changes until it catches up",
                s.describe_lag(crate::audit::now_ms())
            ),
        )
        .hint(format!(
            "get the receiver of {name} working again (`imadm audit sinks` shows its last error); \
             reads and logins still work, and changes resume once it has caught up"
        )))
    }

    /// Every sink's backlog now.
    pub fn status(&self) -> Vec<SinkStatus> {
        let now = crate::audit::now_ms();
        self.sinks
            .iter()
            .map(|s| {
                let lagging = s.lagging(now);
                let (lag_events, lag_ms) = s.lag(now);
                let st = s.status();
                SinkStatus {
                    name: s.spec.name.clone(),
                    kind: s.spec.kind.label().into(),
                    required: s.spec.required,
                    max_lag: s.spec.max_lag,
                    max_age_secs: s.spec.max_age.as_secs(),
                    delivered_seq: st.delivered_seq,
                    head_seq: st.head_seq,
                    lag_events,
                    lag_seconds: lag_ms / 1000,
                    state: match (lagging, s.spec.required) {
                        (false, _) => "ok",
                        (true, false) => "lagging",
                        (true, true) => "blocking",
                    }
                    .into(),
                    last_success_at: st.last_success_ms.map(format_at),
                    last_error: st.last_error.clone(),
                    last_error_at: st.last_error_ms.map(format_at),
                    failures: st.failures,
                }
            })
            .collect()
    }
}

type Cursor = (u64, String);

fn genesis() -> Cursor {
    (0, hash_hex(&GENESIS))
}

fn load_cursor(state: &AppState, name: &str) -> crate::store::Result<Cursor> {
    Ok(state.store.sink_cursor(name)?.unwrap_or_else(genesis))
}

/// Read the log's head and the oldest event after `delivered` into the sink's status.
fn refresh(state: &AppState, sink: &Sink, delivered: u64) -> crate::store::Result<()> {
    let (head, oldest) = state.store.audit_lag(delivered)?;
    let mut st = sink.status();
    st.delivered_seq = delivered;
    st.head_seq = head;
    st.oldest_ms = oldest;
    Ok(())
}

/// The next batch after `cursor`, or `None` when the sink has everything. A cursor the
/// log no longer holds (its chain value changed) starts over from seq 1.
fn next_batch(state: &AppState, name: &str, cursor: &mut Cursor) -> Result<Option<Batch>, String> {
    if cursor.0 > 0 {
        let here = state
            .store
            .audit_hash_at(Some(cursor.0))
            .map_err(|e| e.to_string())?;
        if here.as_ref().map(|(_, h)| h) != Some(&cursor.1) {
            tracing::warn!(
                sink = %name,
                seq = cursor.0,
                "the audit log no longer holds the event this sink delivered last (a \
                 disaster-recovery restore); delivering the log again from seq 1"
            );
            *cursor = genesis();
        }
    }
    let events = state
        .store
        .audit_events(&EventFilter {
            after: cursor.0,
            limit: BATCH,
            ..EventFilter::default()
        })
        .map_err(|e| e.to_string())?;
    Ok((!events.is_empty()).then(|| Batch {
        prev_hash: cursor.1.clone(),
        events,
    }))
}

/// The delivery loop of one sink (its own thread, for the life of the server).
fn run(state: Arc<AppState>, sink: Arc<Sink>, mut transport: Box<dyn Transport>) {
    let name = sink.spec.name.clone();
    // Read from the store when this instance takes the lead.
    let mut cursor = genesis();
    let mut lease = state.backend.lease(&format!("audit-sink:{name}"));
    let mut leading = false;
    let mut pending: Option<Batch> = None;
    // The store's write counter when the sink last looked: nothing new while unchanged.
    let mut seen = None;
    let mut retry = FIRST_RETRY;
    let mut alerted = false;
    loop {
        if !leading {
            if !lease.held() {
                follow(&state, &sink, &name);
                std::thread::sleep(STANDBY_POLL);
                continue;
            }
            // Where the last leader left off: its cursor is the one that counts.
            match load_cursor(&state, &name) {
                Ok(c) => {
                    leading = true;
                    cursor = c;
                    pending = None;
                    seen = None;
                }
                Err(e) => {
                    failed(&sink, &name, &e.to_string());
                    std::thread::sleep(STANDBY_POLL);
                    continue;
                }
            }
        }
        if pending.is_none() {
            let epoch = state.store.epoch();
            if seen == Some(epoch) {
                alerted = watch_lag(&state, &sink, alerted, cursor.0);
                std::thread::sleep(POLL);
                continue;
            }
            seen = Some(epoch);
            match next_batch(&state, &name, &mut cursor) {
                Ok(Some(b)) => pending = Some(b),
                Ok(None) => {}
                Err(e) => {
                    failed(&sink, &name, &e);
                    seen = None;
                    std::thread::sleep(jitter(retry));
                    retry = (retry * 2).min(sink.spec.retry_max);
                }
            }
        }
        if let Some(b) = &pending {
            if !lease.held() {
                leading = false;
                continue;
            }
            let last = b.events.last().expect("batches are not empty");
            let done = transport.deliver(b, &*state).and_then(|()| {
                state
                    .store
                    .set_sink_cursor(&name, last.seq, &last.hash, crate::audit::now_ms())
                    .map_err(|e| format!("recording the delivery: {e}"))
            });
            match done {
                Ok(()) => {
                    cursor = (last.seq, last.hash.clone());
                    pending = None;
                    seen = None;
                    retry = FIRST_RETRY;
                    let mut st = sink.status();
                    st.last_success_ms = Some(crate::audit::now_ms());
                    st.last_error = None;
                    st.failures = 0;
                }
                Err(e) => {
                    failed(&sink, &name, &e);
                    // The log goes on growing meanwhile: the bound counts it.
                    if let Err(e) = refresh(&state, &sink, cursor.0) {
                        tracing::warn!(sink = %name, "reading the audit log's head: {e}");
                    }
                    alerted = watch_lag(&state, &sink, alerted, cursor.0);
                    std::thread::sleep(jitter(retry));
                    retry = (retry * 2).min(sink.spec.retry_max);
                    continue;
                }
            }
        }
        if let Err(e) = refresh(&state, &sink, cursor.0) {
            tracing::warn!(sink = %name, "reading the audit log's head: {e}");
        }
        alerted = watch_lag(&state, &sink, alerted, cursor.0);
    }
}

/// While another instance delivers: the sink's status follows the shared cursor, so
/// `GET /admin/audit/sinks` and a required sink's gate say the same on every instance.
/// (The leader raises `audit_sink_lagging`; a follower does not, or each would.)
fn follow(state: &AppState, sink: &Sink, name: &str) {
    let read = load_cursor(state, name).and_then(|c| refresh(state, sink, c.0));
    if let Err(e) = read {
        tracing::warn!(sink = %name, "reading the sink's shared cursor: {e}");
    }
}

fn failed(sink: &Sink, name: &str, e: &str) {
    tracing::warn!(sink = %name, "audit sink delivery failed: {e}");
    let mut st = sink.status();
    st.last_error = Some(e.to_owned());
    st.last_error_ms = Some(crate::audit::now_ms());
    st.failures += 1;
}

/// Raise `audit_sink_lagging` when the sink goes beyond its bound, once until it has
/// caught up again; returns whether it is raised.
fn watch_lag(state: &AppState, sink: &Sink, alerted: bool, delivered: u64) -> bool {
    let now = crate::audit::now_ms();
    let lagging = sink.lagging(now);
    if !lagging {
        return alerted && sink.lag(now).0 > 0;
    }
    if alerted {
        return true;
    }
    let mut detail = format!(
        "audit sink {} is {}",
        sink.spec.name,
        sink.describe_lag(now)
    );
    if sink.spec.required {
        detail.push_str("; it is required, so changes are refused until it catches up");
    }
    if let Some(e) = &sink.status().last_error {
        detail.push_str(&format!("; last error: {e}"));
    }
    let alert = SystemAlert {
        rule: "audit_sink_lagging",
        severity: "high",
        detail,
        event_seq: delivered + 1,
    };
    match state.store.raise_alert(&alert) {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(sink = %sink.spec.name, "cannot raise audit_sink_lagging: {e}");
            false
        }
    }
}

/// Between half and all of `d`, so sinks failing together do not retry in lockstep.
fn jitter(d: Duration) -> Duration {
    d.mul_f64(rand::rng().random_range(0.5..=1.0))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::audit::AuditKey;
    use imadm_api::audit::chain_next;

    pub(crate) struct TestSigner(AuditKey);

    impl TestSigner {
        pub(crate) fn new() -> Self {
            Self::with_seed(1)
        }
        pub(crate) fn with_seed(seed: u8) -> Self {
            TestSigner(AuditKey::from_seed(&[seed; 32]))
        }
        pub(crate) fn verify(&self, cp: &Checkpoint) {
            use base64::Engine;
            use ed25519_dalek::Verifier;
            let sig = base64::engine::general_purpose::STANDARD
                .decode(&cp.signature)
                .unwrap();
            self.0
                .verifying_key()
                .verify(
                    &cp.message(),
                    &ed25519_dalek::Signature::from_slice(&sig).unwrap(),
                )
                .unwrap();
        }
    }

    impl Sign for TestSigner {
        fn server_id(&self) -> &str {
            "test-server"
        }
        fn public_key(&self) -> String {
            self.0.openssh_public("test-server")
        }
        fn checkpoint(&self, seq: u64, head: &str) -> Checkpoint {
            self.0.checkpoint(seq, head, "test-server")
        }
    }

    /// `n` chained events, the same ones for the same `n` prefix.
    pub(crate) fn chain(n: u64) -> Vec<AuditEvent> {
        rehash(
            (1..=n)
                .map(|seq| AuditEvent {
                    seq,
                    at: format_at(1_795_694_400_000 + seq as i64),
                    actor_type: "operator".into(),
                    actor: format!("op{}", seq % 3),
                    source: Some("127.0.0.1".into()),
                    action: "user.create".into(),
                    target: Some(format!("user:{seq:016x}")),
                    outcome: "success".into(),
                    request_id: None,
                    detail: Some(format!("event number {seq} with \"quotes\"")),
                    hash: String::new(),
                })
                .collect(),
        )
    }

    pub(crate) fn rehash(mut events: Vec<AuditEvent>) -> Vec<AuditEvent> {
        let mut prev = GENESIS;
        for e in &mut events {
            prev = chain_next(&prev, &e.leaf());
            e.hash = hash_hex(&prev);
        }
        events
    }

    /// The batch of `events[from..to]`.
    pub(crate) fn batch(events: &[AuditEvent], from: usize, to: usize) -> Batch {
        Batch {
            prev_hash: if from == 0 {
                hash_hex(&GENESIS)
            } else {
                events[from - 1].hash.clone()
            },
            events: events[from..to].to_vec(),
        }
    }

    #[test]
    fn jitter_stays_between_half_and_all() {
        for _ in 0..100 {
            let d = jitter(Duration::from_secs(2));
            assert!(
                d >= Duration::from_secs(1) && d <= Duration::from_secs(2),
                "{d:?}"
            );
        }
    }
}
