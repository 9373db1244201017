//! `imadm user reset-password USER`: set a new IM password
//! (`POST /user/change_password_admin`); the user's devices are logged out.

use clap::Args;
use imadm_api::im::PasswordDto;

use crate::context::Context;
use crate::error::Result;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  $ imadm user reset-password alice                  # prompts twice
  $ printf '%s' \"$PW\" | imadm user reset-password alice --password-stdin")]
pub struct ResetPasswordArgs {
    /// A user id or a username
    pub user: String,
    /// Read the new password from standard input
    #[arg(long)]
    pub password_stdin: bool,
}

pub fn run(ctx: &mut Context, args: ResetPasswordArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let d = super::resolve(ctx, &conn, &args.user)?;
    let password = super::new_password(ctx, args.password_stdin, &d.username)?;
    let _: bool = super::call_as(
        ctx,
        &conn,
        reqwest::Method::POST,
        "/user/change_password_admin",
        d.user_id,
        Some(&PasswordDto { password }),
        None,
    )?;
    ctx.info(format!(
        "Password of {} ({}) changed; their devices were logged out.",
        d.username, d.user_id
    ))
}
