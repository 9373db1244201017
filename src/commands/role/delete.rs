//! `imadm role delete ROLE` (confirmation, step-up MFA). Refused while held.

use clap::Args;

use crate::client::path_segment;
use crate::commands::StepUpArgs;
use crate::context::Context;
use crate::error::Result;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm role delete support-lead\n  $ imadm role delete old-role --yes --otp 123456"
)]
pub struct DeleteArgs {
    pub role: String,
    #[command(flatten)]
    pub step_up: StepUpArgs,
}

pub fn run(ctx: &mut Context, args: DeleteArgs) -> Result<()> {
    let conn = connect(ctx)?;
    ctx.confirm(&format!("Delete role {:?}?", args.role))?;
    let path = format!("/admin/roles/{}", path_segment(&args.role));
    let _: bool = conn.step_up(ctx, args.step_up.approve(), |c, auth| c.delete(&path, auth))?;
    ctx.info(format!("Deleted role {}.", args.role))
}
