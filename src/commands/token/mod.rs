//! `imadm token`: service tokens for cron and CI. Created with a name, scopes (a subset
//! of your permissions) and an expiry; the secret is shown once; revocable. Tokens can
//! never pass step-up MFA, so they cannot do the sensitive actions.

pub mod create;
pub mod list;
pub mod revoke;

use imadm_api::admin::ServiceToken;
use serde_json::{Value, json};

pub const COLUMNS: &[&str] = &[
    "id",
    "name",
    "scopes",
    "created_by",
    "expires_at",
    "last_used_at",
    "last_used_addr",
    "revoked",
];

pub fn token_json(t: &ServiceToken) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "scopes": t.scopes,
        "created_by": t.created_by,
        "created_at": t.created_at,
        "expires_at": t.expires_at,
        "last_used_at": t.last_used_at,
        "last_used_addr": t.last_used_addr,
        "revoked": t.revoked,
    })
}
