//! `imadm operator create OP --role R...` (step-up MFA): prints a one-time password the
//! new operator must change, with MFA enrolment, at first login.

use clap::Args;
use imadm_api::admin::{OperatorCreate, OperatorCreated};

use crate::commands::StepUpArgs;
use crate::context::Context;
use crate::error::Result;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm operator create alice --role user-manager\n  $ imadm operator create bob --role auditor --role support -o json --otp 123456"
)]
pub struct CreateArgs {
    /// Username of the new operator
    pub operator: String,
    /// Role to grant (repeat); you can only grant roles whose permissions you hold
    #[arg(short, long = "role", value_name = "R", required = true)]
    pub roles: Vec<String>,
    #[command(flatten)]
    pub step_up: StepUpArgs,
}

pub fn run(ctx: &mut Context, args: CreateArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let body = OperatorCreate {
        username: args.operator,
        roles: args.roles,
    };
    let created: OperatorCreated = conn.step_up(ctx, args.step_up.approve(), |c, auth| {
        c.post("/admin/operators", &body, auth, false)
    })?;
    super::print_one_time_password(
        ctx,
        &created.operator,
        &created.one_time_password,
        "Give it to the operator over a safe channel: it is shown only now. At first login they must change it and enrol MFA.",
    )
}
