//! `imadm incident open --title T [--severity S]`.

use clap::Args;
use imadm_api::incident::{Incident, IncidentOpen};

use super::SeverityArg;
use crate::client::Auth;
use crate::context::Context;
use crate::error::Result;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(after_help = "\
Needs the security:manage permission; audited as incident.open. Every later step
(`incident scope|contain|notify --incident ID`) is recorded on the incident's timeline.

Examples:
  $ imadm incident open --title \"support token leaked in a public repository\" --severity high")]
pub struct OpenArgs {
    /// What happened, on one line (1-200 characters)
    #[arg(long, value_name = "T")]
    pub title: String,
    /// How bad it is
    #[arg(long, value_name = "S", default_value = "medium")]
    pub severity: SeverityArg,
}

pub fn run(ctx: &mut Context, args: OpenArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let body = IncidentOpen {
        title: args.title,
        severity: Some(args.severity.into()),
    };
    let i: Incident = conn.call(ctx, |c, t| {
        c.post("/admin/incidents", &body, &Auth::token(t), false)
    })?;
    super::print_incident(ctx, &i)
}
