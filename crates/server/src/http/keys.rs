//! `/admin/keys`: the server keyring's status and online rotation of the server key and
//! of the audit signing key. The rotation and
//! the re-seal live in `crate::rotation`.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use imadm_api::Envelope;
use imadm_api::admin::{KeyRotation, KeysStatus};
use imadm_api::audit::KeyHandoff;

use super::{Authed, Otp, Shared, blocking, ok};
use crate::auth::RequestCtx;
use crate::error::ApiError;

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/admin/keys", get(status))
        .route("/admin/keys/rotate", post(rotate))
        .route("/admin/keys/rotate-audit", post(rotate_audit))
        .route("/admin/keys/audit-handoffs", get(audit_handoffs))
}

#[utoipa::path(get, path = "/admin/keys", tag = "admin",
    params(("app_id" = String, Header), ("access-token" = String, Header)),
    responses((status = 200, description = "the keyring: key ids, the active one, sealed values per key", body = Envelope<KeysStatus>)))]
pub async fn status(State(s): State<Shared>, Authed(c): Authed) -> Result<Response, ApiError> {
    Ok(ok(blocking(&s, move |s| s.keys_status(&c)).await?))
}

#[utoipa::path(post, path = "/admin/keys/rotate", tag = "admin",
    params(("app_id" = String, Header), ("access-token" = String, Header), ("x-imadm-otp" = Option<String>, Header)),
    responses((status = 200, description = "the new active key; sealed values are re-sealed in the background", body = Envelope<KeyRotation>)))]
pub async fn rotate(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    Otp(otp): Otp,
) -> Result<Response, ApiError> {
    let rotated = blocking(&s, move |s| s.rotate_key(&ctx, &c, otp.as_deref())).await?;
    crate::rotation::spawn_reseal(s.clone());
    Ok(ok(rotated))
}

#[utoipa::path(get, path = "/admin/keys/audit-handoffs", tag = "audit",
    params(("app_id" = String, Header), ("access-token" = String, Header)),
    responses((status = 200, description = "every rotation of the audit signing key, oldest first, each signed by the key it replaces", body = Envelope<Vec<KeyHandoff>>)))]
pub async fn audit_handoffs(
    State(s): State<Shared>,
    Authed(c): Authed,
) -> Result<Response, ApiError> {
    Ok(ok(blocking(&s, move |s| s.audit_key_handoffs(&c)).await?))
}

#[utoipa::path(post, path = "/admin/keys/rotate-audit", tag = "admin",
    params(("app_id" = String, Header), ("access-token" = String, Header), ("x-imadm-otp" = Option<String>, Header)),
    responses((status = 200, description = "the hand-off to the new audit signing key, signed by the old one", body = Envelope<KeyHandoff>)))]
pub async fn rotate_audit(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    Otp(otp): Otp,
) -> Result<Response, ApiError> {
    Ok(ok(blocking(&s, move |s| {
        s.rotate_audit_key(&ctx, &c, otp.as_deref())
    })
    .await?))
}
