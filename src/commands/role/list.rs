//! `imadm role list`: every role with its permissions.

use clap::Args;
use imadm_api::admin::Role;

use crate::client::Auth;
use crate::context::Context;
use crate::error::Result;
use crate::output::ListWriter;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm role list\n  $ imadm role list -o json | jq '.[] | select(.builtin | not)'"
)]
pub struct ListArgs {}

pub fn run(ctx: &mut Context, _args: ListArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let roles: Vec<Role> = conn.call(ctx, |c, t| c.get("/admin/roles", &Auth::token(t)))?;
    let mut w = ListWriter::new(ctx, super::COLUMNS)?;
    w.page(ctx, &roles.iter().map(super::role_json).collect::<Vec<_>>())?;
    w.finish(ctx)?;
    Ok(())
}
