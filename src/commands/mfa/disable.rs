//! `imadm mfa disable`: remove your TOTP secret (step-up MFA, confirmation; refused when it
//! is your last second factor, i.e. you have no passkey). All your sessions end; the next
//! login is with a passkey (`auth login --web`), from which `mfa enroll` adds TOTP again.

use clap::Args;

use crate::context::Context;
use crate::error::Result;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm mfa disable\n  $ IMADM_OTP=123456 imadm mfa disable --yes"
)]
pub struct DisableArgs {
    /// Current TOTP code for step-up (prompted if needed)
    #[arg(long, env = "IMADM_OTP", value_name = "CODE", hide_env_values = true)]
    pub otp: Option<String>,
}

pub fn run(ctx: &mut Context, args: DisableArgs) -> Result<()> {
    let conn = connect(ctx)?;
    ctx.confirm("Disable MFA for your account and end all your sessions?")?;
    conn.step_up(ctx, args.otp.as_deref(), |c, auth| -> Result<bool> {
        c.post("/admin/mfa/disable", &(), auth, false)
    })?;
    conn.creds.delete()?;
    ctx.info("MFA disabled and all sessions ended. Log in again to enrol a new authenticator.")
}
