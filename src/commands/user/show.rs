//! `imadm user show USER`: one IM user, profile fields decrypted by the server.

use clap::Args;

use crate::context::Context;
use crate::error::Result;
use crate::output;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(after_help = "\
Output fields (json): schema_version, user_id, username, status (active|disabled),
nick_name, email, mobile, groups (memberships), created_at, updated_at, kicked_at
(RFC 3339 or null).

Examples:
  $ imadm user show alice
  $ imadm user show 2199023255553 -o json")]
pub struct ShowArgs {
    /// A user id or a username
    pub user: String,
}

pub fn run(ctx: &mut Context, args: ShowArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let d = super::resolve(ctx, &conn, &args.user)?;
    output::object(ctx, super::detail_fields(&d))
}
