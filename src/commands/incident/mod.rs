//! `imadm incident`: the record of a breach response (`open`, `list`, `show`, `close`) and
//! its timeline on the server (`/admin/incidents`, `security:read` to read,
//! `security:manage` to change), and the breach-response steps recorded on it (`scope`, `contain`, `notify` with its templates in `template.rs`, `report`).
//! The rendering of an incident every verb prints is here.

pub mod close;
pub mod contain;
pub mod list;
pub mod notify;
pub mod open;
pub mod report;
pub mod scope;
pub mod show;
pub mod template;

use clap::{Subcommand, ValueEnum};
use imadm_api::incident::{Incident, IncidentEvent};
use serde_json::{Value, json};

use crate::context::Context;
use crate::error::Result;

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Open an incident: the record every later step is written to
    Open(open::OpenArgs),
    /// List incidents, open and closed
    List(list::ListArgs),
    /// One incident with its timeline
    Show(show::ShowArgs),
    /// Close an incident with a summary; it takes no further steps
    Close(close::CloseArgs),
    /// What a principal did in a window, and whose data it read or exported
    Scope(scope::ScopeArgs),
    /// End sessions, revoke tokens, disable operators, kick IM users (dry run first)
    Contain(contain::ContainArgs),
    /// Send each affected IM user a message from a template (resumable, rate-limited)
    Notify(notify::NotifyArgs),
    /// Write the incident report (timeline, GDPR art. 33 fields), signed if asked
    Report(report::ReportArgs),
}

pub fn dispatch(ctx: &mut Context, c: IncidentCommand) -> Result<()> {
    match c {
        IncidentCommand::Open(a) => open::run(ctx, a),
        IncidentCommand::List(a) => list::run(ctx, a),
        IncidentCommand::Show(a) => show::run(ctx, a),
        IncidentCommand::Close(a) => close::run(ctx, a),
        IncidentCommand::Scope(a) => scope::run(ctx, a),
        IncidentCommand::Contain(a) => contain::run(ctx, a),
        IncidentCommand::Notify(a) => notify::run(ctx, a),
        IncidentCommand::Report(a) => report::run(ctx, a),
    }
}

/// How bad an incident is (the server's `Severity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    Low,
    Medium,
    High,
    Critical,
}

impl From<SeverityArg> for imadm_api::incident::Severity {
    fn from(s: SeverityArg) -> Self {
        use imadm_api::incident::Severity;
        match s {
            SeverityArg::Low => Severity::Low,
            SeverityArg::Medium => Severity::Medium,
            SeverityArg::High => Severity::High,
            SeverityArg::Critical => Severity::Critical,
        }
    }
}

/// The columns of `incident list` (and the fields every verb prints).
pub const COLUMNS: &[&str] = &[
    "id",
    "state",
    "severity",
    "title",
    "opened_by",
    "opened_at",
    "closed_at",
    "summary",
];

/// The columns of a timeline.
pub const EVENT_COLUMNS: &[&str] = &["incident", "seq", "at", "actor", "kind", "detail"];

pub fn incident_json(i: &Incident) -> Value {
    json!({
        "id": i.id,
        "state": i.state(),
        "severity": i.severity,
        "title": i.title,
        "opened_by": i.opened_by,
        "opened_at": i.opened_at,
        "closed_at": i.closed_at,
        "summary": i.summary,
    })
}

pub fn event_json(incident: i64, e: &IncidentEvent) -> Value {
    json!({
        "incident": incident,
        "seq": e.seq,
        "at": e.at,
        "actor": e.actor,
        "kind": e.kind.name(),
        "detail": e.detail,
    })
}

/// Print one incident in the chosen format (control characters escaped in a table).
pub fn print_incident(ctx: &mut Context, i: &Incident) -> Result<()> {
    let labels = [
        "Incident",
        "State",
        "Severity",
        "Title",
        "Opened by",
        "Opened",
        "Closed",
        "Summary",
    ];
    let v = incident_json(i);
    let fields = COLUMNS
        .iter()
        .zip(labels)
        .map(|(k, l)| (*k, l, v[*k].clone()))
        .collect();
    crate::output::object(ctx, fields)
}
