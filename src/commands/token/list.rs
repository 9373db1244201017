//! `imadm token list`: service tokens with their last use (never their secrets).

use clap::Args;
use imadm_api::admin::ServiceToken;

use crate::client::Auth;
use crate::context::Context;
use crate::error::Result;
use crate::output::ListWriter;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm token list\n  $ imadm token list -o json | jq '.[] | select(.revoked | not)'"
)]
pub struct ListArgs {}

pub fn run(ctx: &mut Context, _args: ListArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let tokens: Vec<ServiceToken> =
        conn.call(ctx, |c, t| c.get("/admin/tokens", &Auth::token(t)))?;
    let mut w = ListWriter::new(ctx, super::COLUMNS)?;
    w.page(
        ctx,
        &tokens.iter().map(super::token_json).collect::<Vec<_>>(),
    )?;
    w.finish(ctx)?;
    Ok(())
}
