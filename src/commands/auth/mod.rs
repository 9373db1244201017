//! `imadm auth`: log in (password + TOTP), show status, print a token, log out, change
//! the password. Sessions are stored by `crate::credentials`.

pub mod change_password;
pub mod login;
pub mod logout;
pub mod status;
pub mod token;

use crate::client::Auth;
use crate::context::Context;
use crate::credentials::StoreKind;
use crate::error::Result;
use crate::session::Conn;
use imadm_api::UnixTime;
use imadm_api::auth::{ChangePasswordRequest, PasswordChanged};

/// Ask for the current and a new password (twice), or read both from stdin, one per line.
pub fn new_password_pair(
    ctx: &Context,
    from_stdin: bool,
    current_known: Option<String>,
) -> Result<ChangePasswordRequest> {
    use crate::error::CliError;
    if from_stdin {
        let mut lines = std::io::stdin().lines();
        let mut next = |what: &str| -> Result<String> {
            match lines.next() {
                Some(Ok(l)) if !l.is_empty() => Ok(l),
                _ => Err(
                    CliError::usage(format!("expected the {what} on standard input"))
                        .hint("pipe the current password and the new one, one per line"),
                ),
            }
        };
        let current = match current_known {
            Some(c) => c,
            None => next("current password")?,
        };
        let new = next("new password")?;
        return Ok(ChangePasswordRequest {
            current_password: current,
            new_password: new,
        });
    }
    let hint = "pass --password-stdin with the current and new password on two lines";
    let current = match current_known {
        Some(c) => c,
        None => ctx.ask_secret("Current password", hint)?,
    };
    loop {
        let new = ctx.ask_secret("New password (at least 12 characters)", hint)?;
        let again = ctx.ask_secret("Repeat new password", hint)?;
        if new == again {
            return Ok(ChangePasswordRequest {
                current_password: current,
                new_password: new,
            });
        }
        eprintln!("The passwords do not match; try again.");
    }
}

/// Send a password change and save the rotated session it may return.
pub fn send_password_change(
    conn: &Conn,
    token: &str,
    req: &ChangePasswordRequest,
    server: &str,
    username: &str,
    kind: StoreKind,
    now: UnixTime,
) -> Result<bool> {
    let res: PasswordChanged =
        conn.client
            .post("/admin/auth/password", req, &Auth::token(token), false)?;
    if let Some(tokens) = res.session {
        conn.creds
            .save(&crate::session::stored(server, username, tokens, now), kind)?;
        return Ok(true);
    }
    Ok(false)
}
