//! `imadm user kick USER`: log all of a user's devices out (`POST /user/kick`).

use clap::Args;

use crate::context::Context;
use crate::error::Result;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  $ imadm user kick alice")]
pub struct KickArgs {
    /// A user id or a username
    pub user: String,
}

pub fn run(ctx: &mut Context, args: KickArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let d = super::resolve(ctx, &conn, &args.user)?;
    let _: bool = super::call_as::<(), _>(
        ctx,
        &conn,
        reqwest::Method::POST,
        "/user/kick",
        d.user_id,
        None,
        None,
    )?;
    ctx.info(format!(
        "Kicked {} ({}) off all devices.",
        d.username, d.user_id
    ))
}
