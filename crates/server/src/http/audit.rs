//! `/admin/audit/*`: paging through the audit log, signed checkpoints, export plans, and
//! the audit sinks' backlogs.
//! The chain is the store's (`store::audit`); pages, checkpoints and export plans are
//! services of `crate::audit`; this module unpacks requests and wraps the answers.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use imadm_api::Envelope;
use imadm_api::admin::Page;
use imadm_api::audit::{
    Alert, AlertNote, AuditEvent, Checkpoint, EventsQuery, ExportPlan, ExportRequest,
};
use imadm_api::sinks::SinkStatus;
use serde::Deserialize;

use super::{Authed, Body, P, Q, Shared, blocking, ok};
use crate::alerts::Transition;
use crate::audit::{EventFilter, parse_time};
use crate::auth::{Caller, RequestCtx};
use crate::error::ApiError;
use crate::store::AlertFilter;

const DEFAULT_LIMIT: u32 = 1000;
const MAX_LIMIT: u32 = 10_000;
const MAX_WAIT_SECS: u32 = 60;

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/admin/audit/events", get(events))
        .route("/admin/audit/checkpoint", get(checkpoint))
        .route("/admin/audit/export", post(export))
        .route("/admin/audit/sinks", get(sinks))
        .route("/admin/alerts", get(alerts))
        .route("/admin/alerts/{id}/ack", post(ack_alert))
        .route("/admin/alerts/{id}/resolve", post(resolve_alert))
}

fn check_wait(wait: Option<u32>) -> Result<Duration, ApiError> {
    let w = wait.unwrap_or(0);
    if w > MAX_WAIT_SECS {
        return Err(
            ApiError::bad_request(format!("wait {w} is over {MAX_WAIT_SECS} seconds"))
                .hint("long-poll for at most 60 seconds, then ask again"),
        );
    }
    Ok(Duration::from_secs(w as u64))
}

/// Sequence numbers and ids are SQLite integers (i64).
fn check_id(name: &str, v: Option<u64>) -> Result<(), ApiError> {
    match v {
        Some(v) if v > i64::MAX as u64 => {
            Err(ApiError::bad_request(format!("{name} {v} is out of range"))
                .hint("pass a next_cursor or sequence number the server returned"))
        }
        _ => Ok(()),
    }
}

fn filter(q: &EventsQuery) -> Result<EventFilter, ApiError> {
    check_id("after", q.after)?;
    check_id("to", q.to)?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(
            ApiError::bad_request(format!("limit {limit} is out of range"))
                .hint(format!("use 1 to {MAX_LIMIT}")),
        );
    }
    Ok(EventFilter {
        after: q.after.unwrap_or(0),
        to: q.to,
        since_ms: parse_time("since", q.since.as_deref())?,
        until_ms: parse_time("until", q.until.as_deref())?,
        actor: q.actor.clone().filter(|a| !a.is_empty()),
        action: q.action.clone().filter(|a| !a.is_empty()),
        target: None,
        limit,
    })
}

#[utoipa::path(get, path = "/admin/audit/events", tag = "audit",
    params(("app_id" = String, Header), ("access-token" = String, Header), EventsParams),
    responses((status = 200, description = "a page of events by sequence number", body = Envelope<Page<AuditEvent>>)))]
pub async fn events(
    State(s): State<Shared>,
    Authed(c): Authed,
    Q(q): Q<EventsQuery>,
) -> Result<Response, ApiError> {
    let f = filter(&q)?;
    let deadline = Instant::now() + check_wait(q.wait)?;
    let c = std::sync::Arc::new(c);
    loop {
        let (c2, f2) = (c.clone(), f.clone());
        let (body, n) = blocking(&s, move |s| s.audit_page_json(&c2, &f2)).await?;
        if n > 0 || Instant::now() >= deadline {
            let mut resp = (StatusCode::OK, body).into_response();
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            return Ok(resp);
        }
        // Polling the head is one indexed lookup; 200 ms keeps --follow responsive
        // without a notification channel between writer and waiters.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The documented form of `EventsQuery` (the handler deserialises `EventsQuery` itself).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct EventsParams {
    /// Events with seq > after (the previous next_cursor).
    #[param(maximum = 9223372036854775807_u64)]
    after: Option<u64>,
    /// Events with seq <= to.
    #[param(maximum = 9223372036854775807_u64)]
    to: Option<u64>,
    /// Page size, 1-10000, default 1000.
    #[param(minimum = 1, maximum = 10000)]
    limit: Option<u32>,
    /// RFC 3339; events at or after.
    #[param(format = DateTime)]
    since: Option<String>,
    /// RFC 3339; events at or before.
    #[param(format = DateTime)]
    until: Option<String>,
    /// Operator username or `<token name>#<id>`.
    actor: Option<String>,
    /// Exact action, or a prefix ending in `.`.
    action: Option<String>,
    // `wait` (long-poll seconds, 0-60) is deliberately not in the generated document:
    // a fuzzer would hold every empty request open for up to a minute. It is documented
    // in ARCHITECTURE.md ("The audit log").
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CheckpointQuery {
    /// Sequence number to sign (default: the newest event).
    pub seq: Option<u64>,
}

#[utoipa::path(get, path = "/admin/audit/checkpoint", tag = "audit",
    params(("app_id" = String, Header), ("access-token" = String, Header), CheckpointQuery),
    responses((status = 200, description = "a checkpoint signed now", body = Envelope<Checkpoint>)))]
pub async fn checkpoint(
    State(s): State<Shared>,
    Authed(c): Authed,
    Q(q): Q<CheckpointQuery>,
) -> Result<Response, ApiError> {
    Ok(ok(blocking(&s, move |s| {
        c.require("audit:read")?;
        s.audit_checkpoint(q.seq)
    })
    .await?))
}

#[utoipa::path(post, path = "/admin/audit/export", tag = "audit", request_body = ExportRequest,
    params(("app_id" = String, Header), ("access-token" = String, Header)),
    responses((status = 200, description = "the range to page and its checkpoints", body = Envelope<ExportPlan>)))]
pub async fn export(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    Body(body): Body<serde_json::Value>,
) -> Result<Response, ApiError> {
    // serde would also accept a JSON array for a struct; the API takes an object only.
    if !body.is_object() {
        return Err(ApiError::bad_request("the body must be a JSON object")
            .hint(r#"send e.g. {"since": "2026-11-01T00:00:00Z"}"#));
    }
    let req: ExportRequest = serde_json::from_value(body).map_err(|e| {
        ApiError::bad_request(format!("invalid export request: {e}"))
            .hint("since and until are RFC 3339 strings or null")
    })?;
    Ok(ok(
        blocking(&s, move |s| s.export_plan(&ctx, &c, &req)).await?
    ))
}

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertsQuery {
    /// Alerts with id > after (the previous next_cursor).
    #[param(maximum = 9223372036854775807_u64)]
    pub after: Option<u64>,
    /// RFC 3339; alerts at or after.
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// `low` (default), `medium` or `high`.
    #[param(pattern = "^(low|medium|high)?$")]
    pub min_severity: Option<String>,
    /// 1-1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Comma-separated states: `open`, `acknowledged`, `resolved` (default: all).
    #[param(pattern = "^((open|acknowledged|resolved)(,(open|acknowledged|resolved))*)?$")]
    pub state: Option<String>,
    /// Long-poll seconds, 0-60 (not in the generated document; see `EventsParams`).
    #[param(ignore)]
    pub wait: Option<u32>,
}

#[utoipa::path(get, path = "/admin/alerts", tag = "audit",
    params(("app_id" = String, Header), ("access-token" = String, Header), AlertsQuery),
    responses((status = 200, description = "a page of security alerts by id", body = Envelope<Page<Alert>>)))]
pub async fn alerts(
    State(s): State<Shared>,
    Authed(c): Authed,
    Q(q): Q<AlertsQuery>,
) -> Result<Response, ApiError> {
    check_id("after", q.after)?;
    let since = parse_time("since", q.since.as_deref())?;
    let min = match q.min_severity.as_deref().filter(|m| !m.is_empty()) {
        None => 1,
        Some(m) => crate::audit::severity_rank(m).ok_or_else(|| {
            ApiError::bad_request(format!("min_severity {m:?} is not a severity"))
                .hint("use low, medium or high")
        })?,
    };
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > 1000 {
        return Err(
            ApiError::bad_request(format!("limit {limit} is out of range")).hint("use 1 to 1000"),
        );
    }
    let mut states = Vec::new();
    for st in q
        .state
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter(|x| !x.is_empty())
    {
        if !imadm_api::audit::ALERT_STATES.contains(&st) {
            return Err(
                ApiError::bad_request(format!("state {st:?} is not an alert state"))
                    .hint("use open, acknowledged or resolved (comma-separated for several)"),
            );
        }
        states.push(st.to_owned());
    }
    let f = AlertFilter {
        after: q.after.unwrap_or(0),
        since_ms: since,
        min_rank: min,
        states,
        limit,
    };
    let deadline = Instant::now() + check_wait(q.wait)?;
    let c = std::sync::Arc::new(c);
    loop {
        let (c2, f2) = (c.clone(), f.clone());
        let page = blocking(&s, move |s| s.alert_page(&c2, &f2)).await?;
        if !page.items.is_empty() || Instant::now() >= deadline {
            return Ok(ok(page));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[utoipa::path(post, path = "/admin/alerts/{id}/ack", tag = "audit", request_body = AlertNote,
    params(("app_id" = String, Header), ("access-token" = String, Header), ("id" = u64, Path)),
    responses((status = 200, description = "the alert, acknowledged", body = Envelope<Alert>)))]
pub async fn ack_alert(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    P(id): P<u64>,
    Body(req): Body<AlertNote>,
) -> Result<Response, ApiError> {
    change_state(s, ctx, c, id, Transition::Acknowledge, req).await
}

#[utoipa::path(post, path = "/admin/alerts/{id}/resolve", tag = "audit", request_body = AlertNote,
    params(("app_id" = String, Header), ("access-token" = String, Header), ("id" = u64, Path)),
    responses((status = 200, description = "the alert, resolved", body = Envelope<Alert>)))]
pub async fn resolve_alert(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    P(id): P<u64>,
    Body(req): Body<AlertNote>,
) -> Result<Response, ApiError> {
    change_state(s, ctx, c, id, Transition::Resolve, req).await
}

async fn change_state(
    s: Shared,
    ctx: RequestCtx,
    c: Caller,
    id: u64,
    t: Transition,
    req: AlertNote,
) -> Result<Response, ApiError> {
    check_id("alert id", Some(id))?;
    // The note is evidence: the event keeps it (a refused request records its code).
    let mut ev = s.audit_event(&ctx, Some(&c), t.action(), Some(format!("alert:{id}")));
    ev.detail = Some(req.note.clone());
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || s.change_alert_state(&c, id, t, &req.note))
    })
    .await?))
}

#[utoipa::path(get, path = "/admin/audit/sinks", tag = "audit",
    params(("app_id" = String, Header), ("access-token" = String, Header)),
    responses((status = 200, description = "every audit sink the server runs with and its backlog", body = Envelope<Vec<SinkStatus>>)))]
pub async fn sinks(State(s): State<Shared>, Authed(c): Authed) -> Result<Response, ApiError> {
    let items = blocking(&s, move |s| {
        c.require("security:read")?;
        Ok(s.sinks.status())
    })
    .await?;
    Ok(ok(items))
}
