//! `imadm operator show OP` (username or id).

use clap::Args;
use imadm_api::admin::Operator;

use crate::client::{Auth, path_segment};
use crate::context::Context;
use crate::error::Result;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm operator show alice\n  $ imadm operator show 3 -o json"
)]
pub struct ShowArgs {
    /// Operator username or id
    pub operator: String,
}

pub fn run(ctx: &mut Context, args: ShowArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let path = format!("/admin/operators/{}", path_segment(&args.operator));
    let op: Operator = conn.call(ctx, |c, t| c.get(&path, &Auth::token(t)))?;
    super::print_operator(ctx, &op)
}
