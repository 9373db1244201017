//! `imadm mfa passkey add NAME`: enrol a passkey in the browser. The server gives a
//! one-time enrolment URL and code; the operator opens it (here, when there is a display
//! and `--no-browser` is not given), checks the code and completes it with fingerprint,
//! face, PIN or a security key; this command waits and confirms.

use clap::Args;
use imadm_api::auth::{DeviceAuthorization, PasskeyAdd};

use crate::client::Auth;
use crate::context::Context;
use crate::error::{CliError, Result};
use crate::output;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(after_help = "\
The page needs a browser on a machine with a platform authenticator (Touch ID, Windows
Hello, Android or iOS screen lock) or a FIDO2 security key; user verification
(fingerprint, face or PIN) is required.

Examples:
  $ imadm mfa passkey add \"laptop touch id\"
  $ imadm mfa passkey add yubikey --no-browser   # print the URL only")]
pub struct AddArgs {
    /// A name for the list (1-64 characters, unique among yours)
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Print the URL but do not open a browser
    #[arg(long)]
    pub no_browser: bool,
}

pub fn run(ctx: &mut Context, args: AddArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let req = PasskeyAdd { name: args.name };
    let a: DeviceAuthorization = conn.call(ctx, |c, t| {
        c.post("/admin/mfa/passkeys", &req, &Auth::token(t), false)
    })?;
    let grant = crate::approval::follow(ctx, &conn.client, &a, !args.no_browser)?;
    let Some(p) = grant.passkey else {
        return Err(CliError::unexpected(
            "the approval did not report the new passkey",
        ));
    };
    ctx.info(format!(
        "Passkey {} ({:?}) added for {}.",
        p.id,
        output::visible(&p.name),
        output::visible(&grant.username)
    ))
}
