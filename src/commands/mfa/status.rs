//! `imadm mfa status`: whether TOTP is enrolled, how many recovery codes are left, your
//! passkeys, and whether a role of yours needs passkeys.

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
            (
                "passkeys",
                "Passkeys",
                json!(
                    s.passkeys
                        .iter()
                        .map(super::passkey::passkey_json)
                        .collect::<Vec<_>>()
                ),
            ),
            (
                "passkey_required",
                "Passkey required",
                json!(s.passkey_required),
            ),
        ],
    )
}
