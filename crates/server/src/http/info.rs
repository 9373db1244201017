//! `GET /admin/server-info`: version and features, public so clients can discover us.

use axum::extract::State;
use axum::response::Response;
use imadm_api::{Envelope, ServerInfo};

use super::{Shared, ok};

/// Features this build of the admin API offers; clients check these, not versions.
pub const API_FEATURES: &[&str] = &[
    "auth.password",
    "auth.mfa.totp",
    "auth.mfa.recovery_codes",
    "auth.refresh_rotation",
    "auth.step_up",
    "audit.log",
];

#[utoipa::path(get, path = "/admin/server-info", tag = "admin",
    responses((status = 200, description = "server identity and features", body = Envelope<ServerInfo>)))]
pub async fn server_info(State(state): State<Shared>) -> Response {
    ok(ServerInfo {
        name: "imadm reference server".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        server_id: state.server_id.clone(),
        app_id: state.app_id.clone(),
        api_features: API_FEATURES.iter().map(|s| s.to_string()).collect(),
        audit_public_key: Some(state.audit_key.openssh_public(&state.server_id)),
    })
}
