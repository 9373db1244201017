//! `imadm mfa passkey remove ID`: remove one of your passkeys (step-up MFA,
//! confirmation). Your last second factor is never removed: enrol another first.

use clap::Args;

use crate::commands::StepUpArgs;
use crate::context::Context;
use crate::error::Result;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(after_help = "\
Refused (exit 7) when it is your last second factor (no other passkey and no TOTP), or
your last passkey while a role of yours needs one.

Examples:
  $ imadm mfa passkey remove 3
  $ imadm mfa passkey remove 3 --web --yes       # approve with another passkey")]
pub struct RemoveArgs {
    /// The passkey's id (`imadm mfa passkey list`)
    #[arg(value_name = "ID")]
    pub id: i64,
    #[command(flatten)]
    pub step_up: StepUpArgs,
}

pub fn run(ctx: &mut Context, args: RemoveArgs) -> Result<()> {
    let conn = connect(ctx)?;
    ctx.confirm(&format!("Remove passkey {}?", args.id))?;
    let path = format!("/admin/mfa/passkeys/{}", args.id);
    let _: bool = conn.step_up(ctx, args.step_up.approve(), |c, auth| c.delete(&path, auth))?;
    ctx.info(format!("Passkey {} removed.", args.id))
}
