//! `imadm user disable USER...`: ban IM users (`PUT /user/disable`), all or nothing.

use clap::Args;
use imadm_api::im::ListRequest;

use crate::client::Auth;
use crate::context::Context;
use crate::error::Result;
use crate::output::ListWriter;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(after_help = "\
Prints the users changed (user_id, username, status, created_at). If any USER is unknown,
nothing changes (exit 6).

Examples:
  $ imadm user disable alice bob
  $ imadm user disable 2199023255553")]
pub struct DisableArgs {
    /// User ids or usernames
    #[arg(required = true, value_name = "USER")]
    pub users: Vec<String>,
}

pub fn run(ctx: &mut Context, args: DisableArgs) -> Result<()> {
    set_disabled(ctx, &args.users, true)
}

/// Shared by `disable` and `enable`.
pub fn set_disabled(ctx: &mut Context, users: &[String], disabled: bool) -> Result<()> {
    let conn = connect(ctx)?;
    let found = super::resolve_all(ctx, &conn, users)?;
    let body = ListRequest {
        list: found.iter().map(|d| d.user_id).collect(),
    };
    let path = if disabled {
        "/user/disable"
    } else {
        "/user/enable"
    };
    let _: bool = conn.call(ctx, |c, t| {
        c.request(
            reqwest::Method::PUT,
            path,
            Some(&body),
            &Auth::token(t),
            &[],
            true,
        )
    })?;
    let status = if disabled { "disabled" } else { "active" };
    let rows: Vec<_> = found.iter().map(|d| super::row(d, status)).collect();
    let mut w = ListWriter::new(ctx, super::LIST_COLUMNS)?;
    w.page(ctx, &rows)?;
    let n = w.finish(ctx)?;
    ctx.info(format!(
        "{} {n} user{}.",
        if disabled { "Disabled" } else { "Enabled" },
        if n == 1 { "" } else { "s" }
    ))
}
