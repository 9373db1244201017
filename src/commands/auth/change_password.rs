//! `imadm auth change-password`: change your own password (required after `server init`).

use clap::Args;

use crate::context::Context;
use crate::error::{CliError, Result};
use crate::session::{Source, connect};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  $ imadm auth change-password
  $ printf '%s\\n%s\\n' \"$OLD\" \"$NEW\" | imadm auth change-password --password-stdin")]
pub struct ChangePasswordArgs {
    /// Read the current and the new password from standard input, one per line
    #[arg(long)]
    pub password_stdin: bool,
}

pub fn run(ctx: &mut Context, args: ChangePasswordArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let active = conn.active(ctx)?;
    let (Some(session), Source::Store(kind)) = (active.session, active.source) else {
        return Err(
            CliError::usage("change-password needs a login session, not IMADM_TOKEN")
                .hint("unset IMADM_TOKEN and run `imadm auth login`"),
        );
    };
    let req = super::new_password_pair(ctx, args.password_stdin, None)?;
    super::send_password_change(
        &conn,
        &session.access_token,
        &req,
        &session.server,
        &session.username,
        kind,
        ctx.now(),
    )?;
    ctx.info("Password changed; your other sessions were logged out.")?;
    Ok(())
}
