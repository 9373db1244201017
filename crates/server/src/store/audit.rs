//! The store-level half of the audit log, written once for every backend: the event a
//! request parks for its write transaction ([`set_pending`]), appending an event to the
//! hash chain ([`insert`]) and the alert rules evaluated on it inside that same
//! transaction, all over [`AuditTx`], the few statements a backend provides.
//!
//! Fail-closed design: `AppState::audited` (the service half, `crate::audit`) parks the
//! event in a thread-local ([`PENDING`]) for the duration of the request's closure
//! (handlers run it on one blocking thread). Every write transaction of a backend ends
//! with its commit helper (SQLite: `sqlite::audit::commit`), which writes the parked event
//! into the same transaction before `COMMIT` ([`write_pending`], then [`mark_written`]):
//! if that insert fails, the whole transaction rolls back and the request fails with a
//! 5xx. A handler that writes several times records its event in the first write, so a
//! failing audit insert stops it before anything changed.
//!
//! The chain value of each row is computed inside the inserting transaction from the
//! previous row's hash (the backend serialises writers, so rows are appended strictly in
//! order), and `at` never goes backwards (`max(now, last at)`). A previous hash that is
//! not one fails the append: the log never restarts at genesis behind a damaged row.

use std::cell::RefCell;

use imadm_api::audit::{AuditEvent, GENESIS, chain_next, format_at, hash_hex, parse_hash};

use super::Result;
use super::notify::Route;

/// An event to append; `seq`, `at` and `hash` are assigned by the store.
#[derive(Debug, Clone, Default)]
pub struct NewAudit {
    pub actor_type: String,
    pub actor: String,
    pub source: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub outcome: String,
    pub request_id: Option<String>,
    pub detail: Option<String>,
    /// Alerts the service raises with this event when it records a success: what no rule
    /// can see in the event alone (who a restore gives which permissions).
    pub alerts: Vec<RequestedAlert>,
}

/// An alert for [`NewAudit::alerts`].
#[derive(Debug, Clone)]
pub struct RequestedAlert {
    pub rule: &'static str,
    pub severity: &'static str,
    pub detail: String,
}

struct Pending {
    event: NewAudit,
    written: bool,
}

thread_local! {
    /// The event of the request running on this thread, until a write transaction
    /// (or `AppState::audited` itself) has recorded it.
    static PENDING: RefCell<Option<Pending>> = const { RefCell::new(None) };
}

pub(crate) fn set_pending(e: NewAudit) {
    PENDING.with(|p| {
        *p.borrow_mut() = Some(Pending {
            event: e,
            written: false,
        })
    });
}

/// Complete the parked event with what the request learnt on the way (e.g. what a
/// restore's snapshot contains), before its write.
pub(crate) fn amend_pending(f: impl FnOnce(&mut NewAudit)) {
    PENDING.with(|p| {
        if let Some(p) = p.borrow_mut().as_mut() {
            f(&mut p.event)
        }
    });
}

/// Take the parked event; `Some((event, written))`.
pub(crate) fn take_pending() -> Option<(NewAudit, bool)> {
    PENDING.with(|p| p.borrow_mut().take().map(|p| (p.event, p.written)))
}

/// Run `f` with no parked event: writes it makes (e.g. the PostgreSQL restore's private
/// scratch SQLite store) must not record the request's event into a database that is
/// then thrown away. The event is parked again afterwards, as unwritten as before.
pub(crate) fn without_pending<T>(f: impl FnOnce() -> T) -> T {
    let parked = PENDING.with(|p| p.borrow_mut().take());
    let r = f();
    PENDING.with(|p| *p.borrow_mut() = parked);
    r
}

/// The parked event, if a write transaction has not recorded it yet.
fn unwritten() -> Option<NewAudit> {
    PENDING.with(|p| {
        p.borrow()
            .as_ref()
            .filter(|p| !p.written)
            .map(|p| p.event.clone())
    })
}

/// Write the parked event (if any, and not yet recorded) into the backend's open write
/// transaction `tx`; true if it did. The backend then commits and, once committed, calls
/// [`mark_written`]: the event is recorded exactly when the transaction's changes are.
pub(crate) fn write_pending(tx: &dyn AuditTx, rules: &AlertRules) -> Result<bool> {
    match unwritten() {
        Some(e) => {
            insert(tx, &e, now_ms(), rules)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// The transaction [`write_pending`] wrote into has committed.
pub(crate) fn mark_written() {
    PENDING.with(|p| {
        if let Some(p) = p.borrow_mut().as_mut() {
            p.written = true;
        }
    });
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// What appending an event and evaluating the alert rules need from a backend: a few
/// statements, run inside its open write transaction (the one that carries the event).
pub trait AuditTx {
    /// `(seq, at_ms, hash)` of the newest event.
    fn audit_head(&self) -> Result<Option<(u64, i64, String)>>;
    /// Insert one event, its chain value computed (`ev.hash`), at `at_ms`.
    fn write_audit_row(&self, at_ms: i64, ev: &AuditEvent) -> Result<()>;
    /// How many events of `actor` with `outcome` and one of `actions` are at or after
    /// `since_ms`.
    fn count_events(
        &self,
        actor: &str,
        actions: &[&str],
        outcome: &str,
        since_ms: i64,
    ) -> Result<i64>;
    /// Remember that service token `actor` was used from `source`, first at event `seq`
    /// (`token_sources`); false if it was known.
    fn add_token_source(&self, actor: &str, source: &str, seq: u64) -> Result<bool>;
    /// Up to `limit` other addresses token `actor` was used from, first used first.
    fn token_sources_besides(&self, actor: &str, source: &str, limit: u32) -> Result<Vec<String>>;
    /// Whether an alert of `rule` about `actor` was raised after `after_ms`.
    fn alert_raised_after(&self, rule: &str, actor: &str, after_ms: i64) -> Result<bool>;
    /// Insert an `alerts` row at `at_ms`; its id.
    fn insert_alert(&self, a: &AlertRow<'_>, at_ms: i64) -> Result<u64>;
    /// Queue `alert` for the notification routes that want it, but channel `exclude`
    /// (`notify_queue`).
    fn enqueue_alert(
        &self,
        routes: &[Route],
        alert: &imadm_api::audit::Alert,
        exclude: Option<&str>,
        at_ms: i64,
    ) -> Result<()>;
}

/// Append one event at the end of the chain (inside the backend's open transaction
/// `tx`), and evaluate the alert `rules` on it.
pub(crate) fn insert(
    tx: &dyn AuditTx,
    e: &NewAudit,
    now_ms: i64,
    rules: &AlertRules,
) -> Result<u64> {
    let (seq, at_ms, prev) = match tx.audit_head()? {
        Some((s, at, h)) => (s + 1, now_ms.max(at), head_hash(s, &h)?),
        None => (1, now_ms, GENESIS),
    };
    let mut ev = AuditEvent {
        seq,
        at: format_at(at_ms),
        actor_type: e.actor_type.clone(),
        actor: e.actor.clone(),
        source: e.source.clone(),
        action: e.action.clone(),
        target: e.target.clone(),
        outcome: e.outcome.clone(),
        request_id: e.request_id.clone(),
        detail: e.detail.clone(),
        hash: String::new(),
    };
    ev.hash = hash_hex(&chain_next(&prev, &ev.leaf()));
    tx.write_audit_row(at_ms, &ev)?;
    if e.action != "alert.raised" {
        evaluate_rules(tx, &ev, &e.alerts, at_ms, rules)?;
    }
    Ok(seq)
}

/// The chain value of the newest event (`seq`), which the next one chains on. One that is
/// not a hash fails the append, and so the request: chaining on anything else (genesis)
/// would start a new chain that verifies on its own and hides the damage. The value
/// itself stays out of the message (the server log).
fn head_hash(seq: u64, hash: &str) -> Result<[u8; 32]> {
    parse_hash(hash).ok_or_else(|| {
        super::StoreError::Backend(format!(
            "the audit log's newest event (seq {seq}) has no valid chain hash: refusing to \
             append after it (the row was changed outside the server)"
        ))
    })
}

/// Append `n` synthetic events (`imadm __seed-audit`, for bench/audit.sh and the tests
/// that need a long log) at the end of the chain inside the open write transaction `tx`,
/// continuing it exactly as [`insert`] does; their times run up to `now_ms`. Alert rules
/// are not evaluated. Returns the last seq.
pub(crate) fn seed(tx: &dyn AuditTx, n: u64, now_ms: i64) -> Result<u64> {
    const ACTIONS: &[&str] = &["auth.login", "user.create", "message.read", "role.update"];
    let (mut seq, mut prev) = match tx.audit_head()? {
        Some((s, _, h)) => (s, head_hash(s, &h)?),
        None => (0, GENESIS),
    };
    for i in 0..n {
        seq += 1;
        let at_ms = now_ms - (n - i) as i64;
        let mut ev = AuditEvent {
            seq,
            at: format_at(at_ms),
            actor_type: "operator".into(),
            actor: format!("op{}", i % 50),
            source: Some(format!("10.0.{}.{}", (i / 250) % 250, i % 250)),
            action: ACTIONS[(i % 4) as usize].into(),
            target: Some(format!("user:u{i}")),
            outcome: if i % 7 == 0 { "failure" } else { "success" }.into(),
            request_id: Some(format!("seed-{i}")),
            detail: None,
            hash: String::new(),
        };
        prev = chain_next(&prev, &ev.leaf());
        ev.hash = hash_hex(&prev);
        tx.write_audit_row(at_ms, &ev)?;
    }
    Ok(seq)
}

/// A count rule's threshold: `count` events within `window_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold {
    pub count: i64,
    pub window_ms: i64,
}

/// Defaults of the count rules (`imadm server --alert-login-failures`, `--alert-read-burst`).
pub const LOGIN_FAILURES: Threshold = Threshold {
    count: 5,
    window_ms: 10 * 60 * 1000,
};
pub const READ_BURST: Threshold = Threshold {
    count: 20,
    window_ms: 60 * 1000,
};
/// Actions that read sensitive data (the read-burst rule counts them).
pub const SENSITIVE_READS: &[&str] = &["message.read", "audit.export", "user.export"];
/// `off_hours` raises at most one alert per actor within this long.
pub const OFF_HOURS_QUIET_MS: i64 = 60 * 60 * 1000;

impl std::str::FromStr for Threshold {
    type Err = String;

    /// `COUNT/DURATION`: a count of 1 to 100000 and a duration of a whole number of
    /// seconds, minutes, hours or days (`s`, `m`, `h`, `d`), at most 30 days: `5/10m`.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = |why: &str| format!("{why}: expected COUNT/DURATION, e.g. 5/10m or 20/60s");
        let (count, window) = s.split_once('/').ok_or_else(|| bad("missing '/'"))?;
        let count: i64 = match count.trim().parse() {
            Ok(n) if (1..=100_000).contains(&n) => n,
            _ => return Err(bad("COUNT must be a whole number from 1 to 100000")),
        };
        let window = window.trim();
        let unit_at = window
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| bad("DURATION needs a unit (s, m, h or d)"))?;
        let (n, unit) = window.split_at(unit_at);
        let n: i64 = n
            .parse()
            .map_err(|_| bad("DURATION must start with a whole number"))?;
        let unit_ms = match unit {
            "s" => 1000,
            "m" => 60 * 1000,
            "h" => 60 * 60 * 1000,
            "d" => 24 * 60 * 60 * 1000,
            _ => return Err(bad("DURATION's unit must be s, m, h or d")),
        };
        let window_ms = n.saturating_mul(unit_ms);
        if !(1000..=30 * 24 * 60 * 60 * 1000).contains(&window_ms) {
            return Err(bad("DURATION must be from 1s to 30d"));
        }
        Ok(Threshold { count, window_ms })
    }
}

impl std::fmt::Display for Threshold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.count, duration_text(self.window_ms))
    }
}

/// `600000` → `10m`: the largest unit that divides the duration and counts at least 2
/// of it (so 60 s stays `60s`, as the documented default reads).
fn duration_text(ms: i64) -> String {
    let s = ms / 1000;
    for (unit, secs) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        if s >= 2 * secs && s % secs == 0 {
            return format!("{}{unit}", s / secs);
        }
    }
    format!("{s}s")
}

pub(crate) const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Business hours for the `off_hours` rule: a range of weekdays and a time range in
/// one fixed UTC offset, e.g. `Mon-Fri 08:00-18:00` at `+01:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusinessHours {
    /// 0 = Monday; `first_day > last_day` wraps over the weekend (`Fri-Mon`).
    first_day: u8,
    last_day: u8,
    /// Minutes after local midnight: `start <= t < end`.
    start_min: u16,
    end_min: u16,
    /// Minutes east of UTC.
    offset_min: i32,
}

impl BusinessHours {
    /// `DAY[-DAY] HH:MM-HH:MM` in UTC; see [`BusinessHours::at_offset`].
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        let bad = |why: &str| {
            format!("{why}: expected DAY-DAY HH:MM-HH:MM, e.g. \"Mon-Fri 08:00-18:00\"")
        };
        let mut parts = s.split_whitespace();
        let (Some(days), Some(times), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("a day range and a time range, separated by a space"));
        };
        let day = |d: &str| {
            DAYS.iter()
                .position(|n| n.eq_ignore_ascii_case(d))
                .map(|i| i as u8)
                .ok_or_else(|| bad(&format!("{d:?} is not a day (Mon, Tue, ... Sun)")))
        };
        let (first_day, last_day) = match days.split_once('-') {
            Some((a, b)) => (day(a)?, day(b)?),
            None => (day(days)?, day(days)?),
        };
        let time = |t: &str| -> std::result::Result<u16, String> {
            let err = || bad(&format!("{t:?} is not a time HH:MM (00:00 to 24:00)"));
            let (h, m) = t.split_once(':').ok_or_else(err)?;
            if h.len() != 2 || m.len() != 2 {
                return Err(err());
            }
            let (h, m): (u16, u16) = (h.parse().map_err(|_| err())?, m.parse().map_err(|_| err())?);
            if m > 59 || h > 24 || (h == 24 && m != 0) {
                return Err(err());
            }
            Ok(h * 60 + m)
        };
        let (start, end) = times
            .split_once('-')
            .ok_or_else(|| bad(&format!("{times:?} is not a time range HH:MM-HH:MM")))?;
        let (start_min, end_min) = (time(start)?, time(end)?);
        if start_min >= end_min {
            return Err(bad(
                "the time range must end after it starts on the same day (no overnight ranges)",
            ));
        }
        Ok(BusinessHours {
            first_day,
            last_day,
            start_min,
            end_min,
            offset_min: 0,
        })
    }

    /// The same hours at a UTC offset (minutes east, see [`parse_utc_offset`]).
    pub fn at_offset(mut self, offset_min: i32) -> Self {
        self.offset_min = offset_min;
        self
    }

    /// Whether the instant `at_ms` (Unix milliseconds) falls inside the hours.
    pub fn contains(&self, at_ms: i64) -> bool {
        const DAY_MS: i64 = 24 * 60 * 60 * 1000;
        let local = at_ms + i64::from(self.offset_min) * 60 * 1000;
        // 1970-01-01 was a Thursday (3 with Monday = 0).
        let weekday = (local.div_euclid(DAY_MS) + 3).rem_euclid(7) as u8;
        let minute = (local.rem_euclid(DAY_MS) / 60_000) as u16;
        let day_ok = if self.first_day <= self.last_day {
            (self.first_day..=self.last_day).contains(&weekday)
        } else {
            weekday >= self.first_day || weekday <= self.last_day
        };
        day_ok && minute >= self.start_min && minute < self.end_min
    }
}

/// `UTC`, `Z`, or `+HH:MM` / `-HH:MM` (at most ±14:00) → minutes east of UTC.
pub fn parse_utc_offset(tz: &str) -> std::result::Result<i32, String> {
    if tz.eq_ignore_ascii_case("utc") || tz == "Z" {
        return Ok(0);
    }
    let err =
        || format!("{tz:?} is not a UTC offset: expected UTC or +HH:MM / -HH:MM, e.g. +01:00");
    let sign = match tz.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Err(err()),
    };
    let (h, m) = tz[1..].split_once(':').ok_or_else(err)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(err());
    }
    let (h, m): (i32, i32) = (h.parse().map_err(|_| err())?, m.parse().map_err(|_| err())?);
    if m > 59 || h * 60 + m > 14 * 60 {
        return Err(err());
    }
    Ok(sign * (h * 60 + m))
}

impl std::fmt::Display for BusinessHours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        let o = self.offset_min.abs();
        write!(
            f,
            "{}-{} {}-{} UTC{}{:02}:{:02}",
            DAYS[self.first_day as usize],
            DAYS[self.last_day as usize],
            hm(self.start_min),
            hm(self.end_min),
            if self.offset_min < 0 { '-' } else { '+' },
            o / 60,
            o % 60
        )
    }
}

/// The configurable part of the alert rules (`imadm server --alert-*`, `--business-hours`),
/// and where their alerts are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRules {
    pub login_failures: Threshold,
    pub read_burst: Threshold,
    /// `None`: the `off_hours` rule is off.
    pub business_hours: Option<BusinessHours>,
    /// The notification channels an alert is queued for, in its own transaction (from
    /// `--notify-config`; `SqliteStore::set_notify_routes`).
    pub notify_routes: std::sync::Arc<Vec<crate::store::notify::Route>>,
}

impl Default for AlertRules {
    fn default() -> Self {
        AlertRules {
            login_failures: LOGIN_FAILURES,
            read_burst: READ_BURST,
            business_hours: None,
            notify_routes: Default::default(),
        }
    }
}

/// The event the delivery task appends when a channel has been failing too long; the
/// rule turns it into the high alert `notify_channel_failing`, sent on the other channels.
pub const CHANNEL_FAILING_ACTION: &str = "notify.channel_failing";

/// `low` 1, `medium` 2, `high` 3.
pub fn severity_rank(s: &str) -> Option<u8> {
    match s {
        "low" => Some(1),
        "medium" => Some(2),
        "high" => Some(3),
        _ => None,
    }
}

/// The security rules, run on each new event inside its transaction, so an alert
/// exists exactly when its triggering event does. Count rules fire once, when the
/// count reaches the threshold, not on every event after it.
/// Whether a `denied` event is an attempt to go beyond the actor's permissions: refused
/// with `ESCALATION_REFUSED`, or a restore (or dry run) of a snapshot that failed
/// authentication (details are `ApiError::code_name`).
fn is_escalation_attempt(ev: &AuditEvent) -> bool {
    let code = |c: i32| ev.detail.as_deref() == Some(format!("code {c}").as_str());
    code(imadm_api::codes::ESCALATION_REFUSED)
        || (ev.action.starts_with("backup.restore") && code(imadm_api::codes::INTEGRITY))
}

fn evaluate_rules(
    tx: &dyn AuditTx,
    ev: &AuditEvent,
    requested: &[RequestedAlert],
    at_ms: i64,
    rules: &AlertRules,
) -> Result<()> {
    let count = |actions: &[&str], window_ms: i64, outcome: &str| {
        tx.count_events(&ev.actor, actions, outcome, at_ms - window_ms)
    };
    let raise = |rule: &str, severity: &str, detail: String| -> Result<()> {
        let event_detail = format!("{rule} ({severity}) by {:?}: {detail}", ev.actor);
        let row = AlertRow {
            rule,
            severity,
            actor: &ev.actor,
            detail: &detail,
            event_seq: ev.seq,
            // An alert about a failing channel goes to the other channels.
            exclude_channel: (ev.action == CHANNEL_FAILING_ACTION)
                .then(|| {
                    ev.target
                        .as_deref()
                        .and_then(|t| t.strip_prefix("channel:"))
                })
                .flatten(),
        };
        store_alert(tx, &row, ev.request_id.clone(), event_detail, at_ms, rules)
    };
    let failed_login = matches!(
        (ev.action.as_str(), ev.outcome.as_str()),
        ("auth.login" | "auth.mfa" | "auth.passkey", "failure") | ("auth.lockout", _)
    );
    match (ev.action.as_str(), ev.outcome.as_str()) {
        ("auth.login" | "auth.mfa" | "auth.passkey", "failure") => {
            let Threshold {
                count: n,
                window_ms: w,
            } = rules.login_failures;
            if count(&["auth.login", "auth.mfa", "auth.passkey"], w, "failure")? == n {
                raise(
                    "login_failures",
                    "medium",
                    format!("{n} failed logins within {}", duration_text(w)),
                )?;
            }
        }
        ("auth.lockout", _) => raise("lockout", "medium", "account locked".into())?,
        (CHANNEL_FAILING_ACTION, _) => raise(
            "notify_channel_failing",
            "high",
            ev.detail.clone().unwrap_or_default(),
        )?,
        (a, "success") if SENSITIVE_READS.contains(&a) => {
            let Threshold {
                count: n,
                window_ms: w,
            } = rules.read_burst;
            if count(SENSITIVE_READS, w, "success")? == n {
                raise(
                    "sensitive_read_burst",
                    "high",
                    format!("{n} sensitive reads within {}", duration_text(w)),
                )?;
            }
        }
        // Someone tried to go beyond their own permissions: a refused grant, role change or
        // action on a more privileged principal, or a restore of a snapshot this server
        // cannot authenticate (forged, or from another server).
        (action, "denied") if is_escalation_attempt(ev) => {
            raise(
                "escalation_attempt",
                "high",
                format!("{action} refused: {}", ev.target.as_deref().unwrap_or("-")),
            )?;
        }
        ("operator.grant", "success") => {
            let roles = ev.detail.as_deref().unwrap_or("");
            if roles.split(',').any(|r| r == "owner" || r == "admin") {
                raise(
                    "role_escalation",
                    "high",
                    format!("{} granted {roles}", ev.target.as_deref().unwrap_or("?")),
                )?;
            }
        }
        _ => {}
    }
    if ev.outcome == "success" {
        for a in requested {
            raise(a.rule, a.severity, a.detail.clone())?;
        }
    }
    // A service token used from an address it was never used from: the first address
    // of a token is its baseline; each later new one raises an alert, once.
    if ev.actor_type == "token"
        && let Some(addr) = ev.source.as_deref()
        && tx.add_token_source(&ev.actor, addr, ev.seq)?
    {
        let earlier = tx.token_sources_besides(&ev.actor, addr, 4)?;
        if !earlier.is_empty() {
            let mut seen = earlier[..earlier.len().min(3)].join(", ");
            if earlier.len() > 3 {
                seen.push_str(", ...");
            }
            raise(
                "token_new_address",
                "medium",
                format!("service token used from {addr}, new for it (seen before: {seen})"),
            )?;
        }
    }
    // An operator acting outside business hours (when configured), at most once an hour
    // per operator. Failed logins and lockouts have their own rules.
    if let Some(hours) = &rules.business_hours
        && ev.actor_type == "operator"
        && !failed_login
        && !hours.contains(at_ms)
        && !tx.alert_raised_after("off_hours", &ev.actor, at_ms - OFF_HOURS_QUIET_MS)?
    {
        raise(
            "off_hours",
            "low",
            format!("{} outside business hours ({hours})", ev.action),
        )?;
    }
    Ok(())
}

/// One row of `alerts`.
pub struct AlertRow<'a> {
    pub rule: &'a str,
    pub severity: &'a str,
    pub actor: &'a str,
    pub detail: &'a str,
    /// The event the alert is about.
    pub event_seq: u64,
    /// A notification channel the alert is not sent to (the one it is about).
    pub exclude_channel: Option<&'a str>,
}

/// Store an alert, queue its notifications and append its `alert.raised` event (detail
/// `event_detail`), inside the caller's transaction.
fn store_alert(
    tx: &dyn AuditTx,
    a: &AlertRow<'_>,
    request_id: Option<String>,
    event_detail: String,
    at_ms: i64,
    rules: &AlertRules,
) -> Result<()> {
    let id = tx.insert_alert(a, at_ms)?;
    let alert = imadm_api::audit::Alert {
        id,
        at: format_at(at_ms),
        rule: a.rule.to_owned(),
        severity: a.severity.to_owned(),
        actor: a.actor.to_owned(),
        detail: a.detail.to_owned(),
        event_seq: a.event_seq,
        state: imadm_api::audit::ALERT_OPEN.to_owned(),
        state_at: None,
        state_by: None,
        note: None,
    };
    tx.enqueue_alert(&rules.notify_routes, &alert, a.exclude_channel, at_ms)?;
    insert(
        tx,
        &NewAudit {
            actor_type: "system".into(),
            actor: String::new(),
            source: None,
            action: "alert.raised".into(),
            target: Some(format!("alert:{id}")),
            outcome: "success".into(),
            request_id,
            detail: Some(event_detail),
            alerts: Vec::new(),
        },
        at_ms,
        rules,
    )?;
    Ok(())
}

/// An alert the server raises about itself, not about an event's actor (an audit sink
/// falling behind: `audit_sink_lagging`). Its `alert.raised` event reads
/// `<rule> (<severity>): <detail>`.
#[derive(Debug, Clone)]
pub struct SystemAlert {
    pub rule: &'static str,
    pub severity: &'static str,
    pub detail: String,
    /// The event it is about (for a sink: the oldest one it has not delivered).
    pub event_seq: u64,
}

/// Raise `a` inside the caller's transaction (for `Store::raise_alert`).
pub(crate) fn raise_system_alert(
    tx: &dyn AuditTx,
    a: &SystemAlert,
    at_ms: i64,
    rules: &AlertRules,
) -> Result<()> {
    let row = AlertRow {
        rule: a.rule,
        severity: a.severity,
        actor: "",
        detail: &a.detail,
        event_seq: a.event_seq,
        exclude_channel: None,
    };
    let event_detail = format!("{} ({}): {}", a.rule, a.severity, a.detail);
    store_alert(tx, &row, None, event_detail, at_ms, rules)
}

/// A keyset page request, decoded from `EventsQuery`.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub after: u64,
    pub to: Option<u64>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// Exact target (the GDPR export pages a user's pseudonym).
    pub target: Option<String>,
    pub limit: u32,
}

/// The audit-log form of an authentication event (`auth_events` keeps its own row too).
/// `None` for the admin changes `rbac.rs` also notes there (`role.*`, `operator.*`,
/// `token.*`): the service layer records those through `AppState::audited`.
pub(crate) fn from_auth_event(e: &crate::store::AuthEvent) -> Option<NewAudit> {
    if ["role.", "operator.", "token."]
        .iter()
        .any(|p| e.event.starts_with(p))
    {
        return None;
    }
    let raw = e.outcome.as_str();
    let action = match (e.event.as_str(), raw) {
        // A refresh within the grace window is no attack: not `auth.totp_replay` either.
        ("session.refresh", "grace_replay") => "auth.refresh_grace",
        (_, o) if o.contains("replay") => "auth.totp_replay",
        ("login.password", _) => "auth.login",
        ("login" | "login.mfa", _) => "auth.mfa",
        ("account.lockout", _) => "auth.lockout",
        ("session.refresh", _) => "auth.refresh_reuse",
        ("logout", _) => "auth.logout",
        ("password.change", _) => "auth.password_change",
        ("mfa.enroll", _) => "mfa.enroll",
        ("mfa.disable", _) => "mfa.disable",
        ("mfa.recovery_codes", _) => "mfa.recovery_codes",
        ("mfa.passkey_add", _) => "mfa.passkey_add",
        ("mfa.passkey_remove", _) => "mfa.passkey_remove",
        ("auth.passkey" | "login.passkey" | "step_up.passkey" | "approve.code", _) => {
            "auth.passkey"
        }
        ("step_up", _) => "auth.step_up",
        (other, _) if other.starts_with("mfa") || other.contains("totp") => "auth.mfa",
        _ => "auth.other",
    };
    let outcome = match raw {
        "success" | "started" | "mfa_required" | "recovery_code_used" | "restricted_session"
        | "grace_replay" | "passkey_required" => "success",
        "locked" | "throttled" | "disabled" | "reuse_detected_session_revoked" => "denied",
        o if o.starts_with("refused") => "denied",
        _ => "failure",
    };
    let detail = match (&e.detail, outcome == raw) {
        (Some(d), true) => Some(d.clone()),
        (Some(d), false) => Some(format!("{raw}: {d}")),
        (None, true) => None,
        (None, false) => Some(raw.to_owned()),
    };
    let (actor_type, actor) = match &e.username {
        Some(u) if !u.is_empty() => ("operator", u.clone()),
        _ => ("anonymous", String::new()),
    };
    Some(NewAudit {
        actor_type: actor_type.into(),
        actor,
        source: e.source_addr.clone(),
        action: action.into(),
        target: e.username.as_ref().map(|u| format!("operator:{u}")),
        outcome: outcome.into(),
        request_id: e.request_id.clone(),
        detail,
        alerts: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An [`AuditTx`] over a list: the head is the last row (or `head`, as stored).
    struct ListTx {
        head: Option<(u64, i64, String)>,
        rows: RefCell<Vec<AuditEvent>>,
    }

    impl ListTx {
        fn with_head(hash: &str) -> Self {
            ListTx {
                head: Some((7, 1_000, hash.to_owned())),
                rows: RefCell::default(),
            }
        }
    }

    impl AuditTx for ListTx {
        fn audit_head(&self) -> Result<Option<(u64, i64, String)>> {
            Ok(self
                .rows
                .borrow()
                .last()
                .map_or(self.head.clone(), |e| Some((e.seq, 1_000, e.hash.clone()))))
        }
        fn write_audit_row(&self, _: i64, ev: &AuditEvent) -> Result<()> {
            self.rows.borrow_mut().push(ev.clone());
            Ok(())
        }
        fn count_events(&self, _: &str, _: &[&str], _: &str, _: i64) -> Result<i64> {
            Ok(0)
        }
        fn add_token_source(&self, _: &str, _: &str, _: u64) -> Result<bool> {
            Ok(false)
        }
        fn token_sources_besides(&self, _: &str, _: &str, _: u32) -> Result<Vec<String>> {
            Ok(Vec::new())
        }
        fn alert_raised_after(&self, _: &str, _: &str, _: i64) -> Result<bool> {
            Ok(false)
        }
        fn insert_alert(&self, _: &AlertRow<'_>, _: i64) -> Result<u64> {
            unreachable!("no rule fires in these tests")
        }
        fn enqueue_alert(
            &self,
            _: &[Route],
            _: &imadm_api::audit::Alert,
            _: Option<&str>,
            _: i64,
        ) -> Result<()> {
            unreachable!("no rule fires in these tests")
        }
    }

    fn event() -> NewAudit {
        NewAudit {
            actor_type: "operator".into(),
            actor: "adm".into(),
            action: "role.create".into(),
            outcome: "success".into(),
            ..NewAudit::default()
        }
    }

    #[test]
    fn an_append_chains_on_the_newest_hash() {
        let head = [9u8; 32];
        let tx = ListTx::with_head(&hash_hex(&head));
        assert_eq!(
            insert(&tx, &event(), 2_000, &AlertRules::default()).unwrap(),
            8
        );
        let rows = tx.rows.borrow();
        assert_eq!(rows[0].hash, hash_hex(&chain_next(&head, &rows[0].leaf())));
    }

    /// A damaged head (not 64 hex digits) fails the append and the seed: nothing is
    /// written, no new chain starts at genesis, and the error names the seq, not the value.
    #[test]
    fn a_damaged_head_fails_every_append_closed() {
        for damaged in ["", "not-a-hash", &"zz".repeat(32), &"ab".repeat(31)] {
            let tx = ListTx::with_head(damaged);
            let e = insert(&tx, &event(), 2_000, &AlertRules::default()).unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.contains("seq 7") && msg.contains("no valid chain hash"),
                "{msg}"
            );
            assert!(damaged.is_empty() || !msg.contains(damaged), "{msg}");
            let e = seed(&tx, 3, 2_000).unwrap_err();
            assert!(e.to_string().contains("no valid chain hash"), "{e}");
            assert!(tx.rows.borrow().is_empty(), "{damaged:?}: written");
        }
    }

    #[test]
    fn refresh_events_map_to_reuse_or_grace() {
        let ev = |outcome: &str| {
            from_auth_event(&crate::store::AuthEvent {
                username: Some("adm".into()),
                event: "session.refresh".into(),
                outcome: outcome.into(),
                detail: Some("session 3".into()),
                ..Default::default()
            })
            .unwrap()
        };
        let reuse = ev("reuse_detected_session_revoked");
        assert_eq!(
            (reuse.action.as_str(), reuse.outcome.as_str()),
            ("auth.refresh_reuse", "denied")
        );
        let grace = ev("grace_replay");
        assert_eq!(
            (grace.action.as_str(), grace.outcome.as_str()),
            ("auth.refresh_grace", "success")
        );
        assert_eq!(grace.detail.as_deref(), Some("grace_replay: session 3"));
    }

    #[test]
    fn thresholds_parse_strictly_and_print_canonically() {
        let t: Threshold = "5/10m".parse().unwrap();
        assert_eq!(t, LOGIN_FAILURES);
        assert_eq!(t.to_string(), "5/10m");
        assert_eq!(READ_BURST.to_string(), "20/60s");
        assert_eq!("1/2h".parse::<Threshold>().unwrap().to_string(), "1/2h");
        assert_eq!("1/1h".parse::<Threshold>().unwrap().to_string(), "1/60m");
        assert_eq!("20/60s".parse::<Threshold>().unwrap(), READ_BURST);
        assert_eq!(
            "3/2h".parse::<Threshold>().unwrap().window_ms,
            2 * 3600 * 1000
        );
        for bad in [
            "",
            "5",
            "5/",
            "/10m",
            "0/10m",
            "-1/10m",
            "x/10m",
            "5/10",
            "5/m",
            "5/10w",
            "5/0s",
            "5/31d",
            "5/10 m",
            "100001/1m",
        ] {
            let e = bad.parse::<Threshold>().unwrap_err();
            assert!(e.contains("COUNT/DURATION"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn business_hours_parse_strictly_and_hold_the_right_instants() {
        // Thursday 2026-11-26 12:00 UTC, Saturday 2026-11-28 12:00 UTC.
        let (thu_noon, sat_noon) = (1_795_694_400_000, 1_795_867_200_000);
        let thu_0759 = 1_795_679_940_000;
        let thu_2330 = 1_795_735_800_000;
        let mon_0030 = 1_795_998_600_000;
        let h = BusinessHours::parse("Mon-Fri 08:00-18:00").unwrap();
        assert!(h.contains(thu_noon));
        assert!(!h.contains(sat_noon));
        assert!(!h.contains(thu_0759));
        assert_eq!(h.to_string(), "Mon-Fri 08:00-18:00 UTC+00:00");
        // At +01:00, Thursday 07:59 UTC is 08:59 local; at -05:00 noon UTC is 07:00.
        assert!(h.at_offset(60).contains(thu_0759));
        assert!(!h.at_offset(-300).contains(thu_noon));
        assert_eq!(
            h.at_offset(-330).to_string(),
            "Mon-Fri 08:00-18:00 UTC-05:30"
        );
        // Sunday 23:30 at +01:00 is Monday 00:30 UTC: the local day counts.
        let all_day = BusinessHours::parse("mon 00:00-24:00").unwrap();
        assert!(all_day.contains(mon_0030));
        assert!(!all_day.at_offset(-60).contains(mon_0030));
        // Thursday 23:30 UTC is Friday 00:30 at +01:00.
        let weekend = BusinessHours::parse("Fri-Sun 00:00-24:00").unwrap();
        assert!(!weekend.contains(thu_2330));
        assert!(weekend.at_offset(60).contains(thu_2330));
        // A wrapping day range.
        let wrap = BusinessHours::parse("Sat-Mon 09:00-17:00").unwrap();
        assert!(wrap.contains(sat_noon) && !wrap.contains(thu_noon));
        for bad in [
            "",
            "Mon-Fri",
            "Mon-Fri 8:00-18:00",
            "Mon-Fri 08:00",
            "Mon-Fri 08:00-18:60",
            "Mon-Fri 08:00-24:30",
            "Mon-Fri 18:00-08:00",
            "Mon-Fri 08:00-08:00",
            "Monday-Friday 08:00-18:00",
            "Mon-Fri 08:00-18:00 CET",
        ] {
            let e = BusinessHours::parse(bad).unwrap_err();
            assert!(e.contains("DAY-DAY HH:MM-HH:MM"), "{bad:?}: {e}");
        }
        assert_eq!(parse_utc_offset("UTC"), Ok(0));
        assert_eq!(parse_utc_offset("Z"), Ok(0));
        assert_eq!(parse_utc_offset("+01:00"), Ok(60));
        assert_eq!(parse_utc_offset("-05:30"), Ok(-330));
        for bad in [
            "", "CET", "+1", "+0100", "01:00", "+15:00", "+01:60", "+aa:00",
        ] {
            let e = parse_utc_offset(bad).unwrap_err();
            assert!(e.contains("+HH:MM"), "{bad:?}: {e}");
        }
    }
}
