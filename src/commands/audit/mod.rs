//! `imadm audit`: the server's tamper-evident audit log and its security alerts.
//! `log` and `alerts` page the server's keyset endpoints (`/admin/audit/events`,
//! `/admin/alerts`) through `ListWriter`, so memory stays bounded; `--follow` repeats
//! the request with the server-side long-poll `wait`. `export` writes a verified report
//! of a time range (optionally SSH-signed), `verify` checks one offline; the report
//! format and the cryptography live in `crate::audit`. `checkpoint` shows the checkpoint
//! the profile pinned, and holds the check every chain-reading command makes against it.
//! `sinks` shows the backlog of the server's audit sinks.

pub mod alerts;
pub mod alerts_ack;
pub mod alerts_resolve;
pub mod checkpoint;
pub mod export;
pub mod log;
pub mod report;
pub mod seed;
pub mod sinks;
pub mod synth;
pub mod verify;

use clap::Subcommand;

use crate::context::Context;
use crate::error::{CliError, Result};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Audit events by sequence number, with filters; --follow waits for new ones
    Log(log::LogArgs),
    /// Security alerts and their state; ack and resolve them; --fail-on exits 9 on a severity
    Alerts(alerts::AlertsArgs),
    /// Export a time range of the audit log as a verified, optionally signed report
    Export(export::ExportArgs),
    /// Verify a report: its hash chain, the server's checkpoints and the SSH signature
    Verify(verify::VerifyArgs),
    /// Summarise a period (logins, lockouts, MFA coverage, changes, alerts) as HTML, Markdown or JSON
    Report(report::ReportArgs),
    /// Show the checkpoint this profile pinned and the server's current one; --repin re-pins
    Checkpoint(checkpoint::CheckpointArgs),
    /// The audit sinks the server copies its log to, and how far each is behind
    Sinks(sinks::SinksArgs),
}

pub fn dispatch(ctx: &mut Context, c: AuditCommand) -> Result<()> {
    match c {
        AuditCommand::Log(a) => log::run(ctx, a),
        AuditCommand::Alerts(a) => alerts::run(ctx, a),
        AuditCommand::Export(a) => export::run(ctx, a),
        AuditCommand::Verify(a) => verify::run(ctx, a),
        AuditCommand::Report(a) => report::run(ctx, a),
        AuditCommand::Checkpoint(a) => checkpoint::run(ctx, a),
        AuditCommand::Sinks(a) => sinks::run(ctx, a),
    }
}

pub use crate::cmdutil::{q, time_arg};

/// `T` of the contract: RFC 3339, or a relative `24h`/`7d` before now, in the form events
/// carry (`format_at`: UTC, milliseconds).
pub fn parse_time(ctx: &Context, flag: &str, s: &str) -> Result<String> {
    if let Ok(t) = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Ok(imadm_api::audit::format_at(
            (t.unix_timestamp_nanos() / 1_000_000) as i64,
        ));
    }
    let secs = crate::duration::parse_secs(s).map_err(|_| {
        CliError::usage(format!(
            "{flag} {s:?} is neither an RFC 3339 time nor a duration"
        ))
        .hint(format!("e.g. {flag} 2026-11-01T00:00:00Z or {flag} 30d"))
    })?;
    Ok(imadm_api::audit::format_at(
        (ctx.now() - secs as i64) * 1000,
    ))
}
