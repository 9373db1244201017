//! `imadm role create ROLE --permission P...` (step-up MFA).

use clap::Args;
use imadm_api::admin::{Role, RoleCreate};

use crate::commands::StepUpArgs;
use crate::context::Context;
use crate::error::Result;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm role create support-lead --permission user:read --permission message:read\n  $ IMADM_OTP=123456 imadm role create exporter -p user:read -p user:export -d \"GDPR exports\""
)]
pub struct CreateArgs {
    /// Role name: lowercase letters, digits, - and _
    pub role: String,
    /// A permission of the role (repeat; see `imadm role permissions`)
    #[arg(short, long = "permission", value_name = "P", required = true)]
    pub permissions: Vec<String>,
    /// What the role is for
    #[arg(short, long, default_value = "")]
    pub description: String,
    #[command(flatten)]
    pub step_up: StepUpArgs,
}

pub fn run(ctx: &mut Context, args: CreateArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let body = RoleCreate {
        name: args.role,
        description: args.description,
        permissions: args.permissions,
    };
    let role: Role = conn.step_up(ctx, args.step_up.approve(), |c, auth| {
        c.post("/admin/roles", &body, auth, false)
    })?;
    super::print_role(ctx, &role)
}
