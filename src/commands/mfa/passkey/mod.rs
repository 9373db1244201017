//! `imadm mfa passkey add|list|remove`: your passkeys (fingerprint, face, PIN or a
//! security key, through the browser: `approval.rs`).

pub mod add;
pub mod list;
pub mod remove;

use imadm_api::auth::Passkey;
use serde_json::{Value, json};

/// The columns of a passkey list.
pub const COLUMNS: &[&str] = &["id", "name", "created_at", "last_used_at"];

pub fn passkey_json(p: &Passkey) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "created_at": p.created_at,
        "last_used_at": p.last_used_at,
    })
}
