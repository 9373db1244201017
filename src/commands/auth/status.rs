//! `imadm auth status`: who am I, on which server, until when, and where the credential
//! is kept. Exit 4 when not logged in or the session can no longer be refreshed.

use clap::Args;
use imadm_api::auth::WhoAmI;
use serde_json::{Value, json};

use crate::client::Auth;
use crate::context::Context;
use crate::error::Result;
use crate::output::{self, relative, rfc3339};
use crate::session::{Source, connect};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  $ imadm auth status
  $ imadm --profile dev auth status -o json | jq .access_expires_at")]
pub struct StatusArgs {}

pub fn run(ctx: &mut Context, _args: StatusArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let server = conn.client.server();
    let result = conn.active(ctx).and_then(|active| {
        let me: WhoAmI = conn
            .client
            .get("/admin/auth/whoami", &Auth::token(&active.token))?;
        Ok((active, me))
    });
    let (active, me) = match result {
        Ok(x) => x,
        Err(e) => {
            if ctx.output().is_json() {
                output::object(
                    ctx,
                    vec![
                        ("logged_in", "Logged in", Value::Bool(false)),
                        ("profile", "Profile", json!(ctx.profile_name)),
                        ("server", "Server", json!(server)),
                    ],
                )?;
            }
            return Err(e);
        }
    };
    let session = active.session.as_ref();
    let now = ctx.now();
    let access_exp = session.and_then(|s| s.access_expires_at).or(me.expires_at);
    let refresh_exp = session.and_then(|s| s.refresh_expires_at);
    let insecure = active.source == Source::Store(crate::credentials::StoreKind::InsecureFile);
    let human_time = |t: Option<i64>| t.map(|t| format!("{} ({})", rfc3339(t), relative(t, now)));
    let table = ctx.output() == crate::output::OutputFormat::Table;
    let time_value = |t: Option<i64>| {
        if table {
            json!(human_time(t))
        } else {
            json!(t)
        }
    };
    let store_label = match active.source {
        Source::Env => "IMADM_TOKEN environment variable".to_owned(),
        Source::Store(k) if insecure => {
            format!("{} (INSECURE: plain file under the config dir)", k.name())
        }
        Source::Store(k) => format!("{} ({})", k.name(), conn.creds.account()),
    };
    output::object(
        ctx,
        vec![
            ("logged_in", "Logged in", Value::Bool(true)),
            ("profile", "Profile", json!(ctx.profile_name)),
            ("server", "Server", json!(server)),
            ("operator", "Operator", json!(me.username)),
            ("roles", "Roles", json!(me.roles)),
            ("mfa_enrolled", "MFA", json!(me.mfa_enrolled)),
            ("credential", "Credential", json!(me.credential)),
            (
                "access_expires_at",
                "Access token expires",
                time_value(access_exp),
            ),
            (
                "refresh_expires_at",
                "Session refreshable until",
                time_value(refresh_exp),
            ),
            (
                "credential_store",
                "Stored in",
                if table {
                    json!(store_label)
                } else {
                    json!(active.source.name())
                },
            ),
            ("insecure", "Insecure storage", json!(insecure)),
            ("restrictions", "Restrictions", json!(me.restrictions)),
        ],
    )
}
