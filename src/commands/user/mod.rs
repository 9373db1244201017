//! `imadm user`: IM users of the Lanying-compatible API — list, show, create, import,
//! disable, enable, kick, reset-password, delete, export (GDPR art. 15), erase (art. 17).
//!
//! `USER` is a user id or a username: all digits is an id (Lanying usernames are never
//! all digits), anything else a username; both resolve through `GET /admin/users/{user}`.
//! Mutations use Lanying's own endpoints (`/user/...`, with the `user_id` header where
//! Lanying names the subject that way); listing uses our keyset-paginated
//! `/admin/users`, which streams in bounded memory.

pub mod create;
pub mod delete;
pub mod disable;
pub mod enable;
pub mod erase;
pub mod export;
pub mod import;
pub mod kick;
pub mod list;
pub mod reset_password;
pub mod show;

use imadm_api::im::{AdminUserDetail, UserProfileDto};
use serde_json::{Value, json};

use crate::client::{Auth, path_segment};
use crate::context::{Context, read_stdin_line};
use crate::error::{CliError, Result};
use crate::output::rfc3339;
use crate::session::Conn;

/// Columns of `user list` (csv/tsv/table); json/jsonl items carry the same keys.
pub const LIST_COLUMNS: &[&str] = &["user_id", "username", "status", "created_at"];

/// Look a `USER` argument up.
pub fn resolve(ctx: &Context, conn: &Conn, user: &str) -> Result<AdminUserDetail> {
    if user.trim().is_empty() {
        return Err(CliError::usage("USER is empty").hint("pass a user id or a username"));
    }
    let path = format!("/admin/users/{}", path_segment(user));
    match conn.call(ctx, |c, t| c.get(&path, &Auth::token(t))) {
        Err(e) if e.not_offered => lanying_profile(ctx, conn, user),
        other => other,
    }
}

/// A plain Lanying server has no lookup by name and no admin view: only
/// `GET /user/profile` for a numeric id, which has no status or timestamps.
fn lanying_profile(ctx: &Context, conn: &Conn, user: &str) -> Result<AdminUserDetail> {
    let id: i64 = user.parse().map_err(|_| {
        CliError::usage(format!(
            "{user:?} is not a user id; this server (plain Lanying) cannot look users up by name"
        ))
        .hint("pass the numeric user id; `imadm user list` shows ids")
    })?;
    let p: UserProfileDto = call_as::<(), _>(
        ctx,
        conn,
        reqwest::Method::GET,
        "/user/profile",
        id,
        None,
        None,
    )?;
    Ok(AdminUserDetail {
        user_id: p.user_id,
        username: p.username,
        status: "unknown".into(),
        nick_name: p.nick_name,
        email: p.email,
        mobile: p.mobile,
        created_at: 0,
        updated_at: 0,
        kicked_at: None,
        groups: 0,
    })
}

/// Resolve several `USER`s, failing on the first unknown one before anything changes.
pub fn resolve_all(ctx: &Context, conn: &Conn, users: &[String]) -> Result<Vec<AdminUserDetail>> {
    let mut out: Vec<AdminUserDetail> = Vec::with_capacity(users.len());
    for u in users {
        let d = resolve(ctx, conn, u)?;
        if !out.iter().any(|x| x.user_id == d.user_id) {
            out.push(d);
        }
    }
    Ok(out)
}

pub use crate::cmdutil::call_as;

/// The JSON object `user show` prints (and `user create` for the new user).
pub fn detail_fields(d: &AdminUserDetail) -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("user_id", "User id", json!(d.user_id)),
        ("username", "Username", json!(d.username)),
        ("status", "Status", json!(d.status)),
        ("nick_name", "Nick name", json!(d.nick_name)),
        ("email", "Email", json!(d.email)),
        ("mobile", "Mobile", json!(d.mobile)),
        ("groups", "Groups", json!(d.groups)),
        // 0: unknown (a plain Lanying server does not say).
        (
            "created_at",
            "Created",
            json!((d.created_at > 0).then(|| rfc3339(d.created_at))),
        ),
        (
            "updated_at",
            "Updated",
            json!((d.updated_at > 0).then(|| rfc3339(d.updated_at))),
        ),
        ("kicked_at", "Last kicked", json!(d.kicked_at.map(rfc3339))),
    ]
}

/// One row of a list of users touched by disable/enable.
pub fn row(d: &AdminUserDetail, status: &str) -> Value {
    json!({
        "user_id": d.user_id,
        "username": d.username,
        "status": status,
        "created_at": rfc3339(d.created_at),
    })
}

/// A new IM user password: stdin with `--password-stdin`, else prompted twice.
pub fn new_password(ctx: &Context, password_stdin: bool, whom: &str) -> Result<String> {
    if password_stdin {
        return read_stdin_line("password");
    }
    let hint = "pipe the password in with --password-stdin";
    let first = ctx.ask_secret(&format!("New password for {whom}"), hint)?;
    if first.is_empty() {
        return Err(CliError::usage("the password is empty").hint("type a password"));
    }
    let again = ctx.ask_secret("Repeat the password", hint)?;
    if first != again {
        return Err(CliError::usage("the two passwords differ").hint("run the command again"));
    }
    Ok(first)
}

pub fn dispatch(ctx: &mut Context, command: crate::cli::UserCommand) -> Result<()> {
    use crate::cli::UserCommand as C;
    match command {
        C::List(a) => list::run(ctx, a),
        C::Show(a) => show::run(ctx, a),
        C::Create(a) => create::run(ctx, a),
        C::Import(a) => import::run(ctx, a),
        C::Disable(a) => disable::run(ctx, a),
        C::Enable(a) => enable::run(ctx, a),
        C::Kick(a) => kick::run(ctx, a),
        C::ResetPassword(a) => reset_password::run(ctx, a),
        C::Delete(a) => delete::run(ctx, a),
        C::Export(a) => export::run(ctx, a),
        C::Erase(a) => erase::run(ctx, a),
    }
}
