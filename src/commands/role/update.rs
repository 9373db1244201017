//! `imadm role update ROLE [--add P...] [--remove P...] [--description D]` (step-up MFA).

use clap::Args;
use imadm_api::admin::{Role, RoleUpdate};

use crate::client::path_segment;
use crate::commands::StepUpArgs;
use crate::context::Context;
use crate::error::{CliError, Result};
use crate::session::connect;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm role update support-lead --add user:write\n  $ imadm role update support-lead --remove message:read --description \"read-only support\""
)]
pub struct UpdateArgs {
    pub role: String,
    /// Permission to add (repeat)
    #[arg(long, value_name = "P")]
    pub add: Vec<String>,
    /// Permission to remove (repeat)
    #[arg(long, value_name = "P")]
    pub remove: Vec<String>,
    /// New description
    #[arg(short, long)]
    pub description: Option<String>,
    #[command(flatten)]
    pub step_up: StepUpArgs,
}

pub fn run(ctx: &mut Context, args: UpdateArgs) -> Result<()> {
    if args.add.is_empty() && args.remove.is_empty() && args.description.is_none() {
        return Err(
            CliError::usage("nothing to change").hint("pass --add, --remove or --description")
        );
    }
    let conn = connect(ctx)?;
    let path = format!("/admin/roles/{}", path_segment(&args.role));
    let body = RoleUpdate {
        description: args.description,
        add: args.add,
        remove: args.remove,
    };
    let role: Role = conn.step_up(ctx, args.step_up.approve(), |c, auth| {
        c.patch(&path, &body, auth)
    })?;
    super::print_role(ctx, &role)
}
