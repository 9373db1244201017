//! `imadm mfa status`: whether MFA is enrolled and how many recovery codes are left.

use clap::Args;
use imadm_api::auth::MfaStatus;
use serde_json::json;

use crate::client::Auth;
use crate::context::Context;
use crate::error::Result;
use crate::output;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  $ imadm mfa status -o json")]
pub struct MfaStatusArgs {}

pub fn run(ctx: &mut Context, _args: MfaStatusArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let s: MfaStatus = conn.call(ctx, |c, t| c.get("/admin/mfa/status", &Auth::token(t)))?;
    output::object(
        ctx,
        vec![
            ("enrolled", "Enrolled", json!(s.enrolled)),
            (
                "recovery_codes_left",
                "Recovery codes left",
                json!(s.recovery_codes_left),
            ),
        ],
    )
}
