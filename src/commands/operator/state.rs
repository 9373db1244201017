//! `imadm operator disable OP` / `enable OP` (step-up MFA). Disabling ends the
//! operator's sessions; the last enabled owner cannot be disabled.

use clap::Args;
use imadm_api::admin::Operator;

use crate::client::path_segment;
use crate::commands::StepUpArgs;
use crate::context::Context;
use crate::error::Result;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm operator disable alice\n  $ imadm operator enable alice --otp 123456"
)]
pub struct StateArgs {
    /// Operator username or id
    pub operator: String,
    #[command(flatten)]
    pub step_up: StepUpArgs,
}

pub fn run(ctx: &mut Context, args: StateArgs, disable: bool) -> Result<()> {
    let conn = connect(ctx)?;
    if disable {
        ctx.confirm(&format!(
            "Disable operator {:?} and end their sessions?",
            args.operator
        ))?;
    }
    let verb = if disable { "disable" } else { "enable" };
    let path = format!("/admin/operators/{}/{verb}", path_segment(&args.operator));
    let op: Operator = conn.step_up(ctx, args.step_up.approve(), |c, auth| {
        c.post(&path, &(), auth, false)
    })?;
    super::print_operator(ctx, &op)
}
