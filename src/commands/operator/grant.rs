//! `imadm operator grant OP ROLE...` / `revoke OP ROLE...` (step-up MFA). Takes effect on
//! the operator's very next request; nobody can change their own roles.

use clap::Args;
use imadm_api::admin::{Operator, RoleNames};

use crate::client::path_segment;
use crate::commands::StepUpArgs;
use crate::context::Context;
use crate::error::Result;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm operator grant alice auditor\n  $ imadm operator revoke alice user-manager --otp 123456"
)]
pub struct RolesArgs {
    /// Operator username or id
    pub operator: String,
    /// Roles to grant or revoke
    #[arg(required = true)]
    pub roles: Vec<String>,
    #[command(flatten)]
    pub step_up: StepUpArgs,
}

pub fn run(ctx: &mut Context, args: RolesArgs, grant: bool) -> Result<()> {
    let conn = connect(ctx)?;
    let verb = if grant { "grant" } else { "revoke" };
    let path = format!("/admin/operators/{}/{verb}", path_segment(&args.operator));
    let body = RoleNames { roles: args.roles };
    let op: Operator = conn.step_up(ctx, args.step_up.approve(), |c, auth| {
        c.post(&path, &body, auth, false)
    })?;
    super::print_operator(ctx, &op)
}
