//! The server side of the audit log: appending events to the hash chain, fail-closed
//! recording around a request's store writes, and the Ed25519 key that signs checkpoints.
//!
//! Fail-closed design: a handler wraps its work in [`AppState::audited`], which parks
//! the event in a thread-local ([`PENDING`]) for the duration of the closure (handlers
//! run it on one blocking thread). Every write transaction of the SQLite store ends with
//! [`commit`], which inserts the parked event into the same transaction before `COMMIT`:
//! if that insert fails, the whole transaction rolls back and the request fails with a
//! 5xx. A handler that writes several times records its event in the first write, so a
//! failing audit insert stops it before anything changed. When the closure wrote nothing
//! (sensitive reads, refusals) the event gets a transaction of its own afterwards; a
//! refused or failed request is recorded with outcome `denied`/`failure`.
//!
//! The chain value of each row is computed inside the inserting transaction from the
//! previous row's hash (one writer connection, so rows are appended strictly in order),
//! and `at` never goes backwards (`max(now, last at)`).

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SigningKey};
use imadm_api::audit::{
    AuditEvent, Checkpoint, GENESIS, KeyHandoff, chain_next, format_at, hash_hex, parse_hash,
};
use rand::RngCore;
use rusqlite::{Connection, OptionalExtension, params};
use zeroize::Zeroizing;

use crate::fsutil;

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
    /// (or [`AppState::audited`] itself) has recorded it.
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

/// Commit `tx` with the parked event (if any, and not yet recorded) inside it.
pub(crate) fn commit(tx: rusqlite::Transaction<'_>, rules: &AlertRules) -> rusqlite::Result<()> {
    let pending = PENDING.with(|p| {
        p.borrow()
            .as_ref()
            .filter(|p| !p.written)
            .map(|p| p.event.clone())
    });
    if let Some(e) = &pending {
        insert(&tx, e, now_ms(), rules)?;
    }
    tx.commit()?;
    if pending.is_some() {
        PENDING.with(|p| {
            if let Some(p) = p.borrow_mut().as_mut() {
                p.written = true;
            }
        });
    }
    Ok(())
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Append one event at the end of the chain (inside the caller's transaction), and
/// evaluate the alert `rules` on it.
pub(crate) fn insert(
    conn: &Connection,
    e: &NewAudit,
    now_ms: i64,
    rules: &AlertRules,
) -> rusqlite::Result<u64> {
    let last: Option<(i64, i64, String)> = conn
        .prepare_cached("SELECT seq, at_ms, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let (seq, at_ms, prev) = match &last {
        Some((s, at, h)) => (
            *s as u64 + 1,
            now_ms.max(*at),
            parse_hash(h).unwrap_or(GENESIS),
        ),
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
    write_row(conn, at_ms, &ev)?;
    if e.action != "alert.raised" {
        evaluate_rules(conn, &ev, &e.alerts, at_ms, rules)?;
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
    fn from_str(s: &str) -> Result<Self, String> {
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

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

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
    pub fn parse(s: &str) -> Result<Self, String> {
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
        let time = |t: &str| -> Result<u16, String> {
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
pub fn parse_utc_offset(tz: &str) -> Result<i32, String> {
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
    conn: &Connection,
    ev: &AuditEvent,
    requested: &[RequestedAlert],
    at_ms: i64,
    rules: &AlertRules,
) -> rusqlite::Result<()> {
    let count = |actions: &[&str], window_ms: i64, outcome: &str| -> rusqlite::Result<i64> {
        let list = actions.join(",");
        conn.prepare_cached(
            "SELECT count(*) FROM audit_log WHERE at_ms >= ?1 AND actor = ?2 AND outcome = ?3
               AND instr(',' || ?4 || ',', ',' || action || ',') > 0",
        )?
        .query_row(params![at_ms - window_ms, ev.actor, outcome, list], |r| {
            r.get(0)
        })
    };
    let raise = |rule: &str, severity: &str, detail: String| -> rusqlite::Result<()> {
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
        store_alert(
            conn,
            &row,
            ev.request_id.clone(),
            event_detail,
            at_ms,
            rules,
        )
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
    {
        let new = conn
            .prepare_cached(
                "INSERT OR IGNORE INTO token_sources (actor, source, first_seq)
                 VALUES (?1, ?2, ?3)",
            )?
            .execute(params![ev.actor, addr, ev.seq as i64])?;
        if new == 1 {
            let earlier: Vec<String> = conn
                .prepare_cached(
                    "SELECT source FROM token_sources WHERE actor = ?1 AND source <> ?2
                     ORDER BY first_seq LIMIT 4",
                )?
                .query_map(params![ev.actor, addr], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
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
    }
    // An operator acting outside business hours (when configured), at most once an hour
    // per operator. Failed logins and lockouts have their own rules.
    if let Some(hours) = &rules.business_hours
        && ev.actor_type == "operator"
        && !failed_login
        && !hours.contains(at_ms)
    {
        let recent: bool = conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM alerts WHERE rule = 'off_hours' AND actor = ?1
                   AND at_ms > ?2)",
            )?
            .query_row(params![ev.actor, at_ms - OFF_HOURS_QUIET_MS], |r| r.get(0))?;
        if !recent {
            raise(
                "off_hours",
                "low",
                format!("{} outside business hours ({hours})", ev.action),
            )?;
        }
    }
    Ok(())
}

/// One row of `alerts`.
struct AlertRow<'a> {
    rule: &'a str,
    severity: &'a str,
    actor: &'a str,
    detail: &'a str,
    /// The event the alert is about.
    event_seq: u64,
    /// A notification channel the alert is not sent to (the one it is about).
    exclude_channel: Option<&'a str>,
}

/// Store an alert, queue its notifications and append its `alert.raised` event (detail
/// `event_detail`), inside the caller's transaction.
fn store_alert(
    conn: &Connection,
    a: &AlertRow<'_>,
    request_id: Option<String>,
    event_detail: String,
    at_ms: i64,
    rules: &AlertRules,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO alerts (at_ms, rule, severity, actor, detail, event_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        at_ms,
        a.rule,
        a.severity,
        a.actor,
        a.detail,
        a.event_seq as i64
    ])?;
    let id = conn.last_insert_rowid();
    let alert = imadm_api::audit::Alert {
        id: id as u64,
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
    crate::store::notify::enqueue_alert(
        conn,
        &rules.notify_routes,
        &alert,
        a.exclude_channel,
        at_ms,
    )?;
    insert(
        conn,
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
    conn: &Connection,
    a: &SystemAlert,
    at_ms: i64,
    rules: &AlertRules,
) -> rusqlite::Result<()> {
    let row = AlertRow {
        rule: a.rule,
        severity: a.severity,
        actor: "",
        detail: &a.detail,
        event_seq: a.event_seq,
        exclude_channel: None,
    };
    let event_detail = format!("{} ({}): {}", a.rule, a.severity, a.detail);
    store_alert(conn, &row, None, event_detail, at_ms, rules)
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
/// `token.*`): the HTTP layer records those through [`AppState::audited`].
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

/// How many users a list-style event names before `+N more`.
pub const LIST_TARGETS: usize = 20;

/// `(actor_type, actor)` of an authenticated caller.
pub fn actor_of(c: &crate::auth::Caller) -> (String, String) {
    match c.token_id {
        Some(id) => ("token".into(), format!("{}#{id}", c.operator.username)),
        None => ("operator".into(), c.operator.username.clone()),
    }
}

impl crate::AppState {
    /// Build an event for `caller` doing `action` on `target` in request `ctx`.
    pub fn audit_event(
        &self,
        ctx: &crate::auth::RequestCtx,
        caller: Option<&crate::auth::Caller>,
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
        f: impl FnOnce() -> Result<T, crate::error::ApiError>,
    ) -> Result<T, crate::error::ApiError> {
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

fn audit_failed(e: crate::store::StoreError) -> crate::error::ApiError {
    tracing::error!(error = %e, "audit log write failed");
    crate::error::ApiError::new(
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

/// The one statement that writes an audit row (for `insert` and the bench's `seed`).
pub(crate) fn write_row(conn: &Connection, at_ms: i64, ev: &AuditEvent) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_log (seq, at_ms, actor_type, actor, source, action, target, outcome,
             request_id, detail, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        ev.seq as i64,
        at_ms,
        ev.actor_type,
        ev.actor,
        ev.source,
        ev.action,
        ev.target,
        ev.outcome,
        ev.request_id,
        ev.detail,
        ev.hash
    ])?;
    Ok(())
}

/// Append `n` synthetic events (for bench/audit.sh's `imadm __seed-audit`) to the audit
/// log of the database at `db`, continuing its chain exactly as [`insert`] does, in one
/// transaction. The server must be stopped. Alert rules are not evaluated.
pub fn seed(db: &std::path::Path, n: u64, now_ms: i64) -> rusqlite::Result<u64> {
    let mut conn = Connection::open(db)?;
    // The server may be running and writing (its audit sinks move their cursors): wait
    // for it, and take the write lock before reading the chain's end.
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let last: Option<(i64, String)> = tx
        .query_row(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (mut seq, mut prev) = match last {
        Some((s, h)) => (s as u64, parse_hash(&h).unwrap_or(GENESIS)),
        None => (0, GENESIS),
    };
    {
        const ACTIONS: &[&str] = &["auth.login", "user.create", "message.read", "role.update"];
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
            write_row(&tx, at_ms, &ev)?;
        }
    }
    tx.commit()?;
    Ok(seq)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn token_event(source: &str) -> NewAudit {
        NewAudit {
            actor_type: "token".into(),
            actor: "owner#7".into(),
            source: Some(source.into()),
            action: "audit.export".into(),
            outcome: "success".into(),
            ..NewAudit::default()
        }
    }

    fn rules_fired(store: &crate::store::sqlite::SqliteStore) -> Vec<String> {
        use crate::store::Store;
        store
            .alerts(&crate::store::AlertFilter {
                limit: 100,
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|a| a.rule)
            .collect()
    }

    #[test]
    fn token_new_address_and_off_hours_rules() {
        use crate::store::Store;
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::sqlite::SqliteStore::open(&dir.path().join("t.db")).unwrap();
        // First address: the baseline; again: nothing; a second address: one alert.
        for src in ["10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.2", "10.0.0.1"] {
            store.append_audit(&token_event(src)).unwrap();
        }
        assert_eq!(rules_fired(&store), ["token_new_address"]);
        // Another token's first use is its own baseline.
        let mut other = token_event("10.0.0.9");
        other.actor = "owner#8".into();
        store.append_audit(&other).unwrap();
        assert_eq!(rules_fired(&store).len(), 1);

        // Business hours that never hold (a minute on a day): operators alert, once an
        // hour; tokens and failed logins do not.
        let mut rules = AlertRules::default();
        let day_after_tomorrow = (now_ms() + 2 * 86_400_000).div_euclid(86_400_000);
        let day = DAYS[(day_after_tomorrow + 3).rem_euclid(7) as usize];
        rules.business_hours = Some(BusinessHours::parse(&format!("{day} 00:00-00:01")).unwrap());
        store.set_alert_rules(rules);
        let op = |action: &str, outcome: &str| NewAudit {
            actor_type: "operator".into(),
            actor: "night-owl".into(),
            action: action.into(),
            outcome: outcome.into(),
            ..NewAudit::default()
        };
        store.append_audit(&op("auth.login", "failure")).unwrap();
        store.append_audit(&token_event("10.0.0.1")).unwrap();
        assert_eq!(rules_fired(&store).len(), 1);
        store.append_audit(&op("user.create", "success")).unwrap();
        store.append_audit(&op("user.delete", "success")).unwrap();
        assert_eq!(rules_fired(&store), ["token_new_address", "off_hours"]);
    }

    /// A service's own alerts (a restore's permission gains) fire with a successful
    /// event only: a failed or refused one changed nothing.
    #[test]
    fn requested_alerts_fire_with_successful_events_only() {
        use crate::store::Store;
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::sqlite::SqliteStore::open(&dir.path().join("t.db")).unwrap();
        let restore = |outcome: &str| NewAudit {
            actor_type: "operator".into(),
            actor: "owner".into(),
            action: "backup.restore".into(),
            outcome: outcome.into(),
            alerts: vec![RequestedAlert {
                rule: "role_escalation",
                severity: "high",
                detail: "a restore gives operator x role:write".into(),
            }],
            ..NewAudit::default()
        };
        store.append_audit(&restore("failure")).unwrap();
        assert!(rules_fired(&store).is_empty());
        store.append_audit(&restore("success")).unwrap();
        let alerts = store
            .alerts(&crate::store::AlertFilter {
                limit: 100,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(alerts.len(), 1);
        assert_eq!(
            (alerts[0].rule.as_str(), alerts[0].severity.as_str()),
            ("role_escalation", "high")
        );
        assert!(alerts[0].detail.contains("operator x role:write"));
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
}
