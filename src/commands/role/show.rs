//! `imadm role show ROLE`.

use clap::Args;
use imadm_api::admin::Role;

use crate::client::{Auth, path_segment};
use crate::context::Context;
use crate::error::Result;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm role show auditor\n  $ imadm role show support-lead -o json"
)]
pub struct ShowArgs {
    pub role: String,
}

pub fn run(ctx: &mut Context, args: ShowArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let path = format!("/admin/roles/{}", path_segment(&args.role));
    let role: Role = conn.call(ctx, |c, t| c.get(&path, &Auth::token(t)))?;
    super::print_role(ctx, &role)
}
