//! `imadm role`: the permission catalogue, built-in and custom roles, and declarative
//! `role apply -f roles.toml`. Changes need step-up MFA (`--otp`, `IMADM_OTP`, or a prompt).

pub mod apply;
pub mod create;
pub mod delete;
pub mod list;
pub mod permissions;
pub mod show;
pub mod update;

use imadm_api::admin::Role;
use serde_json::{Value, json};

pub const COLUMNS: &[&str] = &["name", "builtin", "permissions", "description"];

pub fn role_json(r: &Role) -> Value {
    json!({
        "name": r.name,
        "builtin": r.builtin,
        "permissions": r.permissions,
        "description": r.description,
    })
}

/// Print one role in the chosen format.
pub fn print_role(ctx: &mut crate::context::Context, r: &Role) -> crate::error::Result<()> {
    crate::output::object(
        ctx,
        vec![
            ("name", "Role", json!(r.name)),
            ("builtin", "Built-in", json!(r.builtin)),
            ("description", "Description", json!(r.description)),
            ("permissions", "Permissions", json!(r.permissions)),
        ],
    )
}
