//! `imadm auth token`: print a valid access token (refreshed first) for scripts.

use std::io::Write;

use clap::Args;

use crate::context::Context;
use crate::error::Result;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  $ imadm auth token
  $ curl -H \"access-token: $(imadm auth token)\" -H \"app_id: $APP\" https://im.example.com/admin/auth/whoami")]
pub struct TokenArgs {}

pub fn run(ctx: &mut Context, _args: TokenArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let active = conn.active(ctx)?;
    writeln!(ctx.io.out, "{}", crate::output::visible(&active.token))?;
    Ok(())
}
