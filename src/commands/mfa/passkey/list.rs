//! `imadm mfa passkey list`: your passkeys, oldest first, with their last use.

use clap::Args;
use imadm_api::auth::MfaStatus;

use crate::client::Auth;
use crate::context::Context;
use crate::error::Result;
use crate::output::ListWriter;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  $ imadm mfa passkey list\n  $ imadm mfa passkey list -o json")]
pub struct ListArgs {}

pub fn run(ctx: &mut Context, _args: ListArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let s: MfaStatus = conn.call(ctx, |c, t| c.get("/admin/mfa/status", &Auth::token(t)))?;
    let mut w = ListWriter::new(ctx, super::COLUMNS)?;
    w.page(
        ctx,
        &s.passkeys
            .iter()
            .map(super::passkey_json)
            .collect::<Vec<_>>(),
    )?;
    w.finish(ctx)?;
    Ok(())
}
