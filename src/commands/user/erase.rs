//! `imadm user erase USER`: the right to erasure (GDPR art. 17). Removes the profile
//! (username, nick name, email, mobile, password), the contents of every message the user
//! sent and their group memberships; the server keeps a pseudonymous tombstone so other
//! people's conversations and the audit chain stay intact. Step-up MFA and confirmation.

use clap::Args;
use imadm_api::im::UserErased;

use crate::client::path_segment;
use crate::context::Context;
use crate::error::Result;
use crate::output::{self, plural};
use crate::session::connect;

#[derive(Debug, Args)]
#[command(after_help = "\
Erasure cannot be undone (except by restoring a backup taken before it). Audit events
about the user already name them only by a keyed pseudonym, so the audit chain still
verifies afterwards.

Examples:
  $ imadm user erase alice
  $ IMADM_OTP=123456 imadm user erase 2199023255553 --yes --no-input")]
pub struct EraseArgs {
    /// User id or username
    #[arg(value_name = "USER")]
    pub user: String,
    /// Current TOTP code for step-up (prompted if needed)
    #[arg(long, env = "IMADM_OTP", value_name = "CODE", hide_env_values = true)]
    pub otp: Option<String>,
}

pub fn run(ctx: &mut Context, args: EraseArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let user = super::resolve(ctx, &conn, &args.user)?;
    ctx.confirm(&format!(
        "Erase IM user {} ({}): profile, message contents and group memberships? This cannot be undone",
        user.username, user.user_id
    ))?;
    let path = format!(
        "/admin/users/{}/erase",
        path_segment(&user.user_id.to_string())
    );
    let erased: UserErased = conn.step_up(ctx, args.otp.as_deref(), |c, auth| {
        c.post(&path, &serde_json::json!({}), auth, false)
    })?;
    ctx.info(format!(
        "Erased user {} ({}): {} wiped, {} removed.",
        user.username,
        erased.user_id,
        plural(erased.messages_erased, "message"),
        plural(erased.memberships_removed, "group membership")
    ))?;
    output::object(
        ctx,
        vec![
            ("user_id", "User id", erased.user_id.into()),
            ("pseudonym", "Pseudonym", erased.pseudonym.into()),
            (
                "messages_erased",
                "Messages erased",
                erased.messages_erased.into(),
            ),
            (
                "memberships_removed",
                "Memberships removed",
                erased.memberships_removed.into(),
            ),
        ],
    )
}
