//! `imadm operator reset-mfa OP` (confirmation, step-up MFA): for an operator who lost
//! their authenticator; they must enrol again at next login.

use clap::Args;
use imadm_api::admin::Operator;

use crate::client::path_segment;
use crate::commands::StepUpArgs;
use crate::context::Context;
use crate::error::Result;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  $ imadm operator reset-mfa alice")]
pub struct ResetMfaArgs {
    /// Operator username or id
    pub operator: String,
    #[command(flatten)]
    pub step_up: StepUpArgs,
}

pub fn run(ctx: &mut Context, args: ResetMfaArgs) -> Result<()> {
    let conn = connect(ctx)?;
    ctx.confirm(&format!(
        "Remove the MFA of {:?} and end their sessions?",
        args.operator
    ))?;
    let path = format!(
        "/admin/operators/{}/reset-mfa",
        path_segment(&args.operator)
    );
    let op: Operator = conn.step_up(ctx, args.step_up.approve(), |c, auth| {
        c.post(&path, &(), auth, false)
    })?;
    super::print_operator(ctx, &op)
}
