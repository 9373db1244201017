//! `imadm token revoke ID`: the token stops working on its next request.

use clap::Args;

use crate::client::Auth;
use crate::context::Context;
use crate::error::Result;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  $ imadm token revoke 7")]
pub struct RevokeArgs {
    /// Token id (see `imadm token list`)
    pub id: i64,
}

pub fn run(ctx: &mut Context, args: RevokeArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let path = format!("/admin/tokens/{}", args.id);
    let _: bool = conn.call(ctx, |c, t| c.delete(&path, &Auth::token(t)))?;
    ctx.info(format!("Revoked service token {}.", args.id))
}
