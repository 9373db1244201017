//! `imadm user delete USER...`: delete IM users, the groups they own and their direct
//! messages. Destructive: confirmation (or `--yes`) and step-up MFA; one TOTP code
//! covers all the users (`POST /admin/users/bulk-delete`, all or nothing).

use clap::Args;
use imadm_api::im::{UserDeleteRequest, UsersDelete, UsersDeleted};

use crate::commands::StepUpArgs;
use crate::context::Context;
use crate::error::Result;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(after_help = "\
Every USER is looked up first; if one is unknown nothing is deleted (exit 6).
Without a code the server refuses (exit 4); interactive sessions are prompted.

Examples:
  $ imadm user delete alice bob
  $ IMADM_OTP=123456 imadm user delete 2199023255553 --yes --no-input
  $ imadm user delete alice --web                # approve with a passkey in the browser")]
pub struct DeleteArgs {
    /// User ids or usernames
    #[arg(required = true, value_name = "USER")]
    pub users: Vec<String>,
    #[command(flatten)]
    pub step_up: StepUpArgs,
}

pub fn run(ctx: &mut Context, args: DeleteArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let found = super::resolve_all(ctx, &conn, &args.users)?;
    let names: Vec<String> = found
        .iter()
        .map(|d| format!("{} ({})", d.username, d.user_id))
        .collect();
    ctx.confirm(&format!(
        "Delete {} IM user{} ({}) with the groups they own and their messages?",
        found.len(),
        if found.len() == 1 { "" } else { "s" },
        names.join(", ")
    ))?;
    let body = UsersDelete {
        user_ids: found.iter().map(|d| d.user_id).collect(),
    };
    let bulk = conn.step_up(
        ctx,
        args.step_up.approve(),
        |c, auth| -> Result<UsersDeleted> {
            c.post("/admin/users/bulk-delete", &body, auth, false)
        },
    );
    let done = match bulk {
        // A plain Lanying server: its own per-user endpoint (not all-or-nothing there).
        Err(e) if e.not_offered => {
            for d in &found {
                let _: bool = super::call_as(
                    ctx,
                    &conn,
                    reqwest::Method::POST,
                    "/user/delete",
                    d.user_id,
                    Some(&UserDeleteRequest::default()),
                    None,
                )?;
            }
            UsersDeleted {
                deleted: found.len() as u64,
            }
        }
        other => other?,
    };
    ctx.info(format!(
        "Deleted {} user{}: {}.",
        done.deleted,
        if done.deleted == 1 { "" } else { "s" },
        names.join(", ")
    ))
}
