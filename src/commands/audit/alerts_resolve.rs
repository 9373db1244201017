//! `imadm audit alerts resolve ID --note TEXT`: resolve an open or acknowledged alert
//! (`security:manage`; audited as `alert.resolve` with the note).

use clap::Args;

use crate::context::Context;
use crate::error::Result;

#[derive(Debug, Args)]
#[command(after_help = "\
An open or acknowledged alert becomes resolved for good: resolving it again is a
conflict (exit 7). The note is kept with the alert and in the audit log.

Examples:
  $ imadm audit alerts resolve 42 --note \"alice mistyped her password after the reset; no attack\"")]
pub struct ResolveArgs {
    /// The alert's id (see `imadm audit alerts`)
    pub id: u64,
    /// Why: 1 to 1000 characters, kept as evidence
    #[arg(long, value_name = "TEXT")]
    pub note: String,
}

pub fn run(ctx: &mut Context, args: ResolveArgs) -> Result<()> {
    super::alerts::change_state(ctx, args.id, "resolve", args.note)
}
