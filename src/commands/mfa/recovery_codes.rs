//! `imadm mfa recovery-codes [--regenerate]`: count left, or a fresh set (step-up).

use clap::Args;
use imadm_api::auth::{MfaStatus, RecoveryCodes};
use serde_json::json;

use crate::client::Auth;
use crate::context::Context;
use crate::error::Result;
use crate::output;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm mfa recovery-codes\n  $ imadm mfa recovery-codes --regenerate"
)]
pub struct RecoveryCodesArgs {
    /// Replace all recovery codes with a new set (the old ones stop working)
    #[arg(long)]
    pub regenerate: bool,
    /// Current TOTP code for step-up (prompted if needed)
    #[arg(long, env = "IMADM_OTP", value_name = "CODE", hide_env_values = true)]
    pub otp: Option<String>,
}

pub fn run(ctx: &mut Context, args: RecoveryCodesArgs) -> Result<()> {
    let conn = connect(ctx)?;
    if !args.regenerate {
        let s: MfaStatus = conn.call(ctx, |c, t| c.get("/admin/mfa/status", &Auth::token(t)))?;
        return output::object(
            ctx,
            vec![(
                "recovery_codes_left",
                "Recovery codes left",
                json!(s.recovery_codes_left),
            )],
        );
    }
    let res: RecoveryCodes = conn.step_up(ctx, args.otp.as_deref(), |c, auth| {
        c.post("/admin/mfa/recovery-codes", &(), auth, false)
    })?;
    super::enroll::print_recovery_codes(ctx, &res.recovery_codes)?;
    ctx.info("New recovery codes issued; the old ones no longer work.")
}
