//! `imadm compliance ...`: the CI compliance gate.

pub mod check;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ComplianceCommand {
    /// Check the live server (and backups) against a policy; exit 9 on any violation
    Check(check::CheckArgs),
}

pub fn dispatch(
    ctx: &mut crate::context::Context,
    c: ComplianceCommand,
) -> crate::error::Result<()> {
    match c {
        ComplianceCommand::Check(a) => check::run(ctx, a),
    }
}
