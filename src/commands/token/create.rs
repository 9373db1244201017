//! `imadm token create --name N --scope P... --expires DURATION` (step-up MFA).

use std::io::Write;

use clap::Args;
use imadm_api::admin::{TokenCreate, TokenCreated};
use serde_json::json;

use crate::output::OutputFormat;

use crate::commands::StepUpArgs;
use crate::context::Context;
use crate::error::Result;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  $ imadm token create --name nightly-export --scope user:read --expires 90d
  $ TOKEN=$(imadm token create --name ci --scope audit:read --expires 30d -o json | jq -r .secret)
  $ IMADM_TOKEN=$TOKEN imadm auth status")]
pub struct CreateArgs {
    /// What the token is for (shown in `token list`)
    #[arg(long)]
    pub name: String,
    /// A permission the token carries (repeat); must be one you hold
    #[arg(long = "scope", value_name = "P", required = true)]
    pub scopes: Vec<String>,
    /// Lifetime: 30d, 12h, 1y (at most one year)
    #[arg(long, value_name = "DURATION")]
    pub expires: String,
    #[command(flatten)]
    pub step_up: StepUpArgs,
}

pub fn run(ctx: &mut Context, args: CreateArgs) -> Result<()> {
    let expires_in = crate::duration::parse_secs(&args.expires)?;
    let conn = connect(ctx)?;
    let body = TokenCreate {
        name: args.name,
        scopes: args.scopes,
        expires_in,
    };
    let created: TokenCreated = conn.step_up(ctx, args.step_up.approve(), |c, auth| {
        c.post("/admin/tokens", &body, auth, false)
    })?;
    if ctx.output() == OutputFormat::Table {
        writeln!(ctx.io.out, "{}", crate::output::visible(&created.secret))?;
        return ctx.info(format!(
            "Service token {} ({}) created, expires {}. This is the only time the token is shown.",
            created.token.id,
            created.token.name,
            crate::output::rfc3339(created.token.expires_at)
        ));
    }
    let mut v = super::token_json(&created.token);
    v["secret"] = json!(created.secret);
    v["schema_version"] = json!(crate::output::SCHEMA_VERSION);
    writeln!(ctx.io.out, "{v}")?;
    Ok(())
}
