//! `imadm operator`: console operators (admin accounts) and their roles. Every change
//! needs step-up MFA; nobody can change their own roles, nobody can act on an operator
//! holding a permission they lack (the server decides), and the last owner stays.

pub mod create;
pub mod delete;
pub mod grant;
pub mod list;
pub mod reset_mfa;
pub mod reset_password;
pub mod show;
pub mod state;

use std::io::Write;

use imadm_api::admin::Operator;
use serde_json::{Value, json};

use crate::context::Context;
use crate::error::Result;

pub const COLUMNS: &[&str] = &[
    "id",
    "username",
    "roles",
    "disabled",
    "mfa_enrolled",
    "last_login_at",
];

pub fn operator_json(o: &Operator) -> Value {
    json!({
        "id": o.id,
        "username": o.username,
        "roles": o.roles,
        "disabled": o.disabled,
        "mfa_enrolled": o.mfa_enrolled,
        "created_at": o.created_at,
        "last_login_at": o.last_login_at,
    })
}

pub fn print_operator(ctx: &mut Context, o: &Operator) -> Result<()> {
    let now = ctx.now();
    let when = |t: Option<i64>| match t {
        Some(t) if ctx.output() == crate::output::OutputFormat::Table => {
            json!(format!(
                "{} ({})",
                crate::output::rfc3339(t),
                crate::output::ago(t, now)
            ))
        }
        other => json!(other),
    };
    let (created, last) = (when(Some(o.created_at)), when(o.last_login_at));
    crate::output::object(
        ctx,
        vec![
            ("id", "Id", json!(o.id)),
            ("username", "Operator", json!(o.username)),
            ("roles", "Roles", json!(o.roles)),
            ("disabled", "Disabled", json!(o.disabled)),
            ("mfa_enrolled", "MFA", json!(o.mfa_enrolled)),
            ("created_at", "Created", created),
            ("last_login_at", "Last login", last),
        ],
    )
}

/// An operator with the one-time password the server just made for them (`create`,
/// `reset-password`): a table and `note` on a terminal, else one JSON object.
pub fn print_one_time_password(
    ctx: &mut Context,
    o: &Operator,
    password: &str,
    note: &str,
) -> Result<()> {
    if ctx.output() == crate::output::OutputFormat::Table {
        print_operator(ctx, o)?;
        writeln!(
            ctx.io.out,
            "\nOne-time password: {}",
            crate::output::visible(password)
        )?;
        return ctx.info(note);
    }
    let mut v = operator_json(o);
    v["one_time_password"] = json!(password);
    v["schema_version"] = json!(crate::output::SCHEMA_VERSION);
    writeln!(ctx.io.out, "{v}")?;
    Ok(())
}
