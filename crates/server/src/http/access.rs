//! `/admin/access/*`: the access review and its attestations. The rules live in
//! `crate::access`.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use imadm_api::Envelope;
use imadm_api::access::{AccessReview, Attestation, AttestationCreate};
use serde::Deserialize;

use super::{Authed, Body, Q, Shared, blocking, ok};
use crate::auth::RequestCtx;
use crate::error::ApiError;

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/admin/access/review", get(review))
        .route("/admin/access/attestations", get(attestations).post(attest))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewQuery {
    /// Days without a login or use after which a principal is flagged `dormant`
    /// (1-3650, default 90).
    #[param(minimum = 1, maximum = 3650)]
    pub dormant_days: Option<u32>,
}

#[utoipa::path(get, path = "/admin/access/review", tag = "rbac",
    params(("app_id" = String, Header), ("access-token" = String, Header), ReviewQuery),
    responses((status = 200, description = "every operator and live service token, with flags", body = Envelope<AccessReview>)))]
pub async fn review(
    State(s): State<Shared>,
    Authed(c): Authed,
    Q(q): Q<ReviewQuery>,
) -> Result<Response, ApiError> {
    let days = q
        .dormant_days
        .unwrap_or(imadm_api::access::DEFAULT_DORMANT_DAYS);
    Ok(ok(blocking(&s, move |s| s.access_review(&c, days)).await?))
}

#[utoipa::path(get, path = "/admin/access/attestations", tag = "rbac",
    params(("app_id" = String, Header), ("access-token" = String, Header)),
    responses((status = 200, description = "the newest attestations (at most 100), newest first", body = Envelope<Vec<Attestation>>)))]
pub async fn attestations(
    State(s): State<Shared>,
    Authed(c): Authed,
) -> Result<Response, ApiError> {
    Ok(ok(blocking(&s, move |s| s.attestations(&c)).await?))
}

#[utoipa::path(post, path = "/admin/access/attestations", tag = "rbac", request_body = AttestationCreate,
    params(("app_id" = String, Header), ("access-token" = String, Header)),
    responses((status = 200, description = "the recorded attestation", body = Envelope<Attestation>)))]
pub async fn attest(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    Body(req): Body<AttestationCreate>,
) -> Result<Response, ApiError> {
    let mut ev = s.audit_event(
        &ctx,
        Some(&c),
        "access.attest",
        Some(format!(
            "review:{}",
            req.review_sha256.get(..16).unwrap_or("")
        )),
    );
    ev.detail = Some(format!(
        "reviewer {:?}: {} operators, {} tokens, {} keep, {} revoke",
        req.reviewer, req.operators, req.tokens, req.keep, req.revoke
    ));
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || s.attest(&c, &req))
    })
    .await?))
}
