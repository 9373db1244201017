//! `/admin/incidents/*`: incidents and their timelines. The rules live in
//! `crate::incident`.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use imadm_api::Envelope;
use imadm_api::admin::Page;
use imadm_api::incident::{
    ContainRequest, ContainResult, Incident, IncidentClose, IncidentDetail, IncidentEvent,
    IncidentOpen, IncidentRecord, IncidentScope,
};
use serde::Deserialize;

use super::{Authed, Body, Otp, P, Q, Shared, blocking, ok};
use crate::auth::RequestCtx;
use crate::error::ApiError;

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/admin/incidents", get(list).post(open))
        .route("/admin/incidents/scope", get(scope))
        .route("/admin/incidents/{id}", get(show))
        .route("/admin/incidents/{id}/close", post(close))
        .route("/admin/incidents/{id}/events", post(record))
        .route("/admin/incidents/{id}/contain", post(contain))
}

/// Ids are SQLite rowids: larger ones name nothing.
fn id_of(id: u64) -> Result<i64, ApiError> {
    i64::try_from(id).map_err(|_| {
        ApiError::bad_request(format!("incident id {id} is out of range"))
            .hint("list the incidents with `imadm incident list`")
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Incidents with id > after (the previous next_cursor).
    #[param(maximum = 9223372036854775807_u64)]
    pub after: Option<u64>,
    /// 1-1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/admin/incidents", tag = "audit",
    params(("app_id" = String, Header), ("access-token" = String, Header), ListQuery),
    responses((status = 200, description = "a page of incidents by id", body = Envelope<Page<Incident>>)))]
pub async fn list(
    State(s): State<Shared>,
    Authed(c): Authed,
    Q(q): Q<ListQuery>,
) -> Result<Response, ApiError> {
    let after = id_of(q.after.unwrap_or(0))?;
    let limit = q.limit.unwrap_or(100);
    Ok(ok(
        blocking(&s, move |s| s.incident_page(&c, after, limit)).await?
    ))
}

#[utoipa::path(post, path = "/admin/incidents", tag = "audit", request_body = IncidentOpen,
    params(("app_id" = String, Header), ("access-token" = String, Header)),
    responses((status = 200, description = "the incident opened", body = Envelope<Incident>)))]
pub async fn open(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    Body(req): Body<IncidentOpen>,
) -> Result<Response, ApiError> {
    // The target (`incident:<id>`) is set once the id exists (`store::incident`).
    let mut ev = s.audit_event(&ctx, Some(&c), "incident.open", None);
    ev.detail = Some(format!(
        "severity {}: {:?}",
        req.severity.map_or("medium", |v| v.name()),
        req.title
    ));
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || s.open_incident(&c, &req))
    })
    .await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScopeQuery {
    /// `actor:<operator>` (its sessions and tokens), `token:<id>` or `source:<address>`.
    #[param(
        pattern = r"^(actor:[^\x00-\x1f\x7f-\x9f]+|token:0*[1-9][0-9]{0,17}|source:[^\x00-\x1f\x7f-\x9f]+)$"
    )]
    pub principal: String,
    /// RFC 3339; events at or after.
    #[param(format = DateTime)]
    pub since: String,
    /// RFC 3339; events at or before.
    #[param(format = DateTime)]
    pub until: Option<String>,
}

#[utoipa::path(get, path = "/admin/incidents/scope", tag = "audit",
    params(("app_id" = String, Header), ("access-token" = String, Header), ScopeQuery),
    responses((status = 200, description = "what the principal did in the window and whose data it read or exported; recorded as `incident.scope`", body = Envelope<IncidentScope>)))]
pub async fn scope(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    Q(q): Q<ScopeQuery>,
) -> Result<Response, ApiError> {
    let since = crate::audit::parse_time("since", Some(&q.since))?.unwrap_or(0);
    let until = crate::audit::parse_time("until", q.until.as_deref())?;
    // Who looked at whose exposure is itself worth keeping: counts only, no user.
    let mut ev = s.audit_event(&ctx, Some(&c), "incident.scope", None);
    ev.detail = Some(format!("{:?}", q.principal));
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || {
            let scope = s.incident_scope(&c, &q.principal, since, until)?;
            crate::audit::amend_pending(|e| {
                e.detail = Some(format!(
                    "{:?}: {} events, {} users",
                    q.principal,
                    scope.events_total,
                    scope.users.len()
                ))
            });
            Ok(scope)
        })
    })
    .await?))
}

#[utoipa::path(get, path = "/admin/incidents/{id}", tag = "audit",
    params(("app_id" = String, Header), ("access-token" = String, Header), ("id" = u64, Path)),
    responses((status = 200, description = "the incident and its timeline", body = Envelope<IncidentDetail>)))]
pub async fn show(
    State(s): State<Shared>,
    Authed(c): Authed,
    P(id): P<u64>,
) -> Result<Response, ApiError> {
    let id = id_of(id)?;
    Ok(ok(blocking(&s, move |s| s.incident(&c, id)).await?))
}

#[utoipa::path(post, path = "/admin/incidents/{id}/close", tag = "audit", request_body = IncidentClose,
    params(("app_id" = String, Header), ("access-token" = String, Header), ("id" = u64, Path)),
    responses((status = 200, description = "the incident, closed", body = Envelope<Incident>)))]
pub async fn close(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    P(id): P<u64>,
    Body(req): Body<IncidentClose>,
) -> Result<Response, ApiError> {
    let id = id_of(id)?;
    let mut ev = s.audit_event(
        &ctx,
        Some(&c),
        "incident.close",
        Some(format!("incident:{id}")),
    );
    ev.detail = Some(format!(
        "summary of {} characters",
        req.summary.chars().count()
    ));
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || s.close_incident(&c, id, &req))
    })
    .await?))
}

#[utoipa::path(post, path = "/admin/incidents/{id}/events", tag = "audit", request_body = IncidentRecord,
    params(("app_id" = String, Header), ("access-token" = String, Header), ("id" = u64, Path)),
    responses((status = 200, description = "the timeline entry recorded", body = Envelope<IncidentEvent>)))]
pub async fn record(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    P(id): P<u64>,
    Body(req): Body<IncidentRecord>,
) -> Result<Response, ApiError> {
    let id = id_of(id)?;
    // Only the kind: a detail may name IM users by id, which the audit log never holds.
    let mut ev = s.audit_event(
        &ctx,
        Some(&c),
        "incident.record",
        Some(format!("incident:{id}")),
    );
    ev.detail = Some(format!(
        "kind {}",
        imadm_api::incident::EventKind::from(req.kind).name()
    ));
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || s.record_incident(&c, id, &req))
    })
    .await?))
}

#[utoipa::path(post, path = "/admin/incidents/{id}/contain", tag = "audit", request_body = ContainRequest,
    params(("app_id" = String, Header), ("access-token" = String, Header), ("x-imadm-otp" = Option<String>, Header, description = "a current TOTP code (step-up), unless dry_run"), ("id" = u64, Path)),
    responses((status = 200, description = "what was done (or would be, in a dry run) and what was skipped and why", body = Envelope<ContainResult>)))]
pub async fn contain(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    Otp(otp): Otp,
    P(id): P<u64>,
    Body(req): Body<ContainRequest>,
) -> Result<Response, ApiError> {
    let id = id_of(id)?;
    // The detail (what the plan does) is set by the service once it is known.
    let ev = s.audit_event(
        &ctx,
        Some(&c),
        "incident.contain",
        Some(format!("incident:{id}")),
    );
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || s.contain(&ctx, &c, otp.as_deref(), id, &req))
    })
    .await?))
}
