//! `imadm operator delete OP` (confirmation, step-up MFA). The last owner stays.

use clap::Args;

use crate::client::path_segment;
use crate::commands::StepUpArgs;
use crate::context::Context;
use crate::error::Result;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm operator delete alice\n  $ imadm operator delete alice --yes --otp 123456"
)]
pub struct DeleteArgs {
    /// Operator username or id
    pub operator: String,
    #[command(flatten)]
    pub step_up: StepUpArgs,
}

pub fn run(ctx: &mut Context, args: DeleteArgs) -> Result<()> {
    let conn = connect(ctx)?;
    ctx.confirm(&format!(
        "Delete operator {:?}? This cannot be undone.",
        args.operator
    ))?;
    let path = format!("/admin/operators/{}", path_segment(&args.operator));
    let _: bool = conn.step_up(ctx, args.step_up.approve(), |c, auth| c.delete(&path, auth))?;
    ctx.info(format!("Deleted operator {}.", args.operator))
}
