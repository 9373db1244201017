//! `imadm user create USERNAME`: register one IM user (`POST /user/register/v2`).
//! The password comes from stdin (`--password-stdin`) or is prompted twice; never argv.

use clap::Args;
use imadm_api::im::{UserRegisterRequest, UserSettings};

use crate::client::Auth;
use crate::context::Context;
use crate::error::Result;
use crate::output;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(after_help = "\
Usernames: letters, digits and underscore; not all digits; not starting with maxim or mta.
Prints the new user like `user show`.

Examples:
  $ imadm user create alice                      # prompts for the password twice
  $ printf '%s' \"$PW\" | imadm user create alice --password-stdin -o json")]
pub struct CreateArgs {
    /// The new user's username
    pub username: String,
    /// Read the password from standard input
    #[arg(long)]
    pub password_stdin: bool,
    /// Nickname (stored encrypted)
    #[arg(long, value_name = "NAME")]
    pub nick_name: Option<String>,
    /// Email address (stored encrypted)
    #[arg(long, value_name = "ADDR")]
    pub email: Option<String>,
    /// Mobile number (stored encrypted)
    #[arg(long, value_name = "NUMBER")]
    pub mobile: Option<String>,
}

pub fn run(ctx: &mut Context, args: CreateArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let password = super::new_password(ctx, args.password_stdin, &args.username)?;
    let req = UserRegisterRequest {
        username: args.username.clone(),
        password,
        nick_name: args.nick_name,
        email: args.email,
        mobile: args.mobile,
    };
    let created: UserSettings = conn.call(ctx, |c, t| {
        c.post("/user/register/v2", &req, &Auth::token(t), false)
    })?;
    let d = super::resolve(ctx, &conn, &created.user_id.to_string())?;
    output::object(ctx, super::detail_fields(&d))
}
