//! `imadm audit alerts ack ID --note TEXT`: acknowledge an open alert
//! (`security:manage`; audited as `alert.ack` with the note).

use clap::Args;

use crate::context::Context;
use crate::error::Result;

#[derive(Debug, Args)]
#[command(after_help = "\
An open alert becomes acknowledged; acknowledging it again, or a resolved alert, is a
conflict (exit 7). The note is kept with the alert and in the audit log.

Examples:
  $ imadm audit alerts ack 42 --note \"checking with alice whether this was her\"")]
pub struct AckArgs {
    /// The alert's id (see `imadm audit alerts`)
    pub id: u64,
    /// Why: 1 to 1000 characters, kept as evidence
    #[arg(long, value_name = "TEXT")]
    pub note: String,
}

pub fn run(ctx: &mut Context, args: AckArgs) -> Result<()> {
    super::alerts::change_state(ctx, args.id, "ack", args.note)
}
