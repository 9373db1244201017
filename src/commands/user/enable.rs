//! `imadm user enable USER...`: lift a ban (`PUT /user/enable`), all or nothing.

use clap::Args;

use crate::context::Context;
use crate::error::Result;

#[derive(Debug, Args)]
#[command(after_help = "\
Prints the users changed (user_id, username, status, created_at). If any USER is unknown,
nothing changes (exit 6).

Examples:
  $ imadm user enable alice bob")]
pub struct EnableArgs {
    /// User ids or usernames
    #[arg(required = true, value_name = "USER")]
    pub users: Vec<String>,
}

pub fn run(ctx: &mut Context, args: EnableArgs) -> Result<()> {
    super::disable::set_disabled(ctx, &args.users, false)
}
