//! `imadm incident close ID --summary S`.

use clap::Args;
use imadm_api::incident::{Incident, IncidentClose};

use crate::client::Auth;
use crate::context::Context;
use crate::error::Result;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(after_help = "\
Needs the security:manage permission; audited as incident.close. A closed incident is
final: closing it again, or recording a step on it, is a conflict (exit 7).

Examples:
  $ imadm incident close 3 --summary \"token revoked, 32 users notified, DPA notified\"")]
pub struct CloseArgs {
    /// The incident's id (see `imadm incident list`)
    pub id: u64,
    /// What happened and what was done (1-4000 characters)
    #[arg(long, value_name = "S")]
    pub summary: String,
}

pub fn run(ctx: &mut Context, args: CloseArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let path = format!("/admin/incidents/{}/close", args.id);
    let body = IncidentClose {
        summary: args.summary,
    };
    let i: Incident = conn.call(ctx, |c, t| c.post(&path, &body, &Auth::token(t), false))?;
    super::print_incident(ctx, &i)
}
