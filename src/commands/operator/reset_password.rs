//! `imadm operator reset-password OP` (confirmation, step-up MFA): for an operator who
//! forgot their password. Prints a new one-time password they must change at next login;
//! their sessions end, their MFA stays.

use clap::Args;
use imadm_api::admin::PasswordReset;

use crate::client::path_segment;
use crate::commands::StepUpArgs;
use crate::context::Context;
use crate::error::Result;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm operator reset-password alice\n  $ imadm operator reset-password alice --yes -o json --otp 123456"
)]
pub struct ResetPasswordArgs {
    /// Operator username or id
    pub operator: String,
    #[command(flatten)]
    pub step_up: StepUpArgs,
}

pub fn run(ctx: &mut Context, args: ResetPasswordArgs) -> Result<()> {
    let conn = connect(ctx)?;
    ctx.confirm(&format!(
        "Replace the password of {:?} with a one-time password and end their sessions?",
        args.operator
    ))?;
    let path = format!(
        "/admin/operators/{}/reset-password",
        path_segment(&args.operator)
    );
    let reset: PasswordReset = conn.step_up(ctx, args.step_up.approve(), |c, auth| {
        c.post(&path, &(), auth, false)
    })?;
    super::print_one_time_password(
        ctx,
        &reset.operator,
        &reset.one_time_password,
        "Give it to the operator over a safe channel: it is shown only now. At next login they must change it.",
    )
}
