//! `imadm auth logout`: revoke the session on the server, then forget it locally.

use clap::Args;

use crate::client::Auth;
use crate::context::Context;
use crate::error::{Kind, Result};
use crate::session::connect;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  $ imadm auth logout
  $ imadm --profile dev auth logout")]
pub struct LogoutArgs {}

pub fn run(ctx: &mut Context, _args: LogoutArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let Some((session, _)) = conn.creds.load()? else {
        ctx.info(format!(
            "Not logged in to {} (profile {}).",
            conn.client.server(),
            ctx.profile_name
        ))?;
        return Ok(());
    };
    // Revoke first: a session forgotten locally but alive on the server is a leak.
    let revoked: Result<bool> = conn.call(ctx, |c, token| {
        c.post("/admin/auth/logout", &(), &Auth::token(token), false)
    });
    match revoked {
        Ok(_) => {}
        // Already dead on the server (expired, revoked): forgetting it is all that is left.
        Err(e) if e.kind == Kind::Auth => {}
        Err(e) => return Err(e.hint(
            "the session was NOT revoked and is still stored; retry when the server is reachable",
        )),
    }
    conn.creds.delete()?;
    ctx.info(format!(
        "Logged out {} from {}.",
        session.username,
        conn.client.server()
    ))?;
    Ok(())
}
