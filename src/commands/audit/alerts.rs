//! `imadm audit alerts`: security alerts raised by the server's rules, with their
//! workflow state (`open`, `acknowledged`, `resolved`); `--fail-on` turns them into exit
//! code 9 for cron and CI. The state changes are subcommands (`alerts_ack.rs`,
//! `alerts_resolve.rs`) sharing [`change_state`]; without one, the alerts are listed.

use clap::{Args, Subcommand, ValueEnum};
use imadm_api::admin::Page;
use imadm_api::audit::{Alert, AlertNote};
use serde_json::json;

use super::{alerts_ack, alerts_resolve, q, time_arg};
use crate::client::Auth;
use crate::context::Context;
use crate::error::{CliError, Kind, Result};
use crate::output::ListWriter;
use crate::session::connect;

const COLUMNS: &[&str] = &[
    "id",
    "at",
    "severity",
    "rule",
    "actor",
    "detail",
    "event_seq",
    "state",
];
const WAIT: u32 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    fn name(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
    fn rank(s: &str) -> u8 {
        match s {
            "high" => 3,
            "medium" => 2,
            _ => 1,
        }
    }
}

/// An alert's workflow state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum State {
    Open,
    Acknowledged,
    Resolved,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Open => imadm_api::audit::ALERT_OPEN,
            State::Acknowledged => imadm_api::audit::ALERT_ACKNOWLEDGED,
            State::Resolved => imadm_api::audit::ALERT_RESOLVED,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Acknowledge an open alert, with a note saying who looks at it and why
    Ack(alerts_ack::AckArgs),
    /// Resolve an open or acknowledged alert, with a note saying how it was handled
    Resolve(alerts_resolve::ResolveArgs),
}

#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "\
Output fields (json/jsonl objects, csv/tsv columns), stable:
  id, at, severity, rule, actor, detail, event_seq, state

States: open (new), acknowledged (someone looks at it), resolved (handled). Changing one
needs the security:manage permission and a note (`ack`, `resolve`); nobody closes an alert
raised by their own actions.

Rules: login_failures (medium), lockout (medium), sensitive_read_burst (high),
role_escalation (high), escalation_attempt (high), token_new_address (medium),
notify_channel_failing (high; a notification channel failing), off_hours
(low; only when the server runs with --business-hours), audit_sink_lagging (high; an audit
sink beyond its bound, see `imadm audit sinks`). Thresholds are `imadm server` flags (see
its --help). Exit code 9 with --fail-on when any alert in the window is at or above that
severity.

Examples:
  $ imadm audit alerts --since 24h
  $ imadm audit alerts --since 24h --fail-on high
  $ imadm audit alerts --follow --min-severity medium
  $ imadm audit alerts --state open --state acknowledged
  $ imadm audit alerts ack 42 --note \"bob: checking with alice\""
)]
pub struct AlertsArgs {
    #[command(subcommand)]
    pub command: Option<AlertsCommand>,
    /// Alerts at or after T (RFC 3339 or 24h/7d)
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only alerts of at least this severity
    #[arg(long, value_name = "SEVERITY")]
    pub min_severity: Option<Severity>,
    /// Only alerts in this state (repeatable; default: all)
    #[arg(long, value_name = "STATE")]
    pub state: Vec<State>,
    /// Keep waiting for new alerts (Ctrl-C to stop)
    #[arg(long, conflicts_with = "fail_on")]
    pub follow: bool,
    /// Exit 9 when any alert at or above SEVERITY exists in the window
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
}

pub fn run(ctx: &mut Context, args: AlertsArgs) -> Result<()> {
    match args.command {
        Some(AlertsCommand::Ack(a)) => return alerts_ack::run(ctx, a),
        Some(AlertsCommand::Resolve(a)) => return alerts_resolve::run(ctx, a),
        None => {}
    }
    let mut filters = String::new();
    if !args.state.is_empty() {
        let states: Vec<_> = args.state.iter().map(|s| s.name()).collect();
        filters.push_str(&format!("&state={}", q(&states.join(","))));
    }
    if let Some(s) = &args.since {
        filters.push_str(&format!("&since={}", q(&time_arg("--since", s)?)));
    }
    if let Some(m) = args.min_severity {
        filters.push_str(&format!("&min_severity={}", m.name()));
    }
    let conn = connect(ctx)?;
    let mut w = ListWriter::new(ctx, COLUMNS)?;
    let mut after: u64 = 0;
    let mut worst: Option<u8> = None;
    loop {
        let wait = if args.follow { WAIT } else { 0 };
        let path = format!("/admin/alerts?after={after}&limit=1000&wait={wait}{filters}");
        let page: Page<Alert> = conn.call(ctx, |c, t| c.get(&path, &Auth::token(t)))?;
        let items: Vec<_> = page
            .items
            .iter()
            .map(|a| {
                json!({
                    "id": a.id, "at": a.at, "severity": a.severity, "rule": a.rule,
                    "actor": a.actor, "detail": a.detail, "event_seq": a.event_seq,
                    "state": a.state,
                })
            })
            .collect();
        for a in &page.items {
            worst = worst.max(Some(Severity::rank(&a.severity)));
        }
        if let Some(last) = page.items.last() {
            after = last.id;
        }
        w.page(ctx, &items)?;
        if page.next_cursor.is_none() && !args.follow {
            break;
        }
    }
    w.finish(ctx)?;
    if let Some(f) = args.fail_on
        && worst.is_some_and(|w| w >= Severity::rank(f.name()))
    {
        return Err(CliError::new(
            Kind::Violations,
            format!("security alerts at or above {} in the window", f.name()),
        )
        .hint("review them with `imadm audit alerts`; narrow the window with --since"));
    }
    Ok(())
}

/// `POST /admin/alerts/ID/{verb}` with `note`, then print the alert as it is now.
pub(super) fn change_state(ctx: &mut Context, id: u64, verb: &str, note: String) -> Result<()> {
    let conn = connect(ctx)?;
    let path = format!("/admin/alerts/{id}/{verb}");
    let body = AlertNote { note };
    let a: Alert = conn.call(ctx, |c, t| c.post(&path, &body, &Auth::token(t), false))?;
    crate::output::object(
        ctx,
        vec![
            ("id", "Alert", json!(a.id)),
            ("rule", "Rule", json!(a.rule)),
            ("severity", "Severity", json!(a.severity)),
            ("state", "State", json!(a.state)),
            ("state_by", "By", json!(a.state_by)),
            ("state_at", "At", json!(a.state_at)),
            ("note", "Note", json!(a.note)),
        ],
    )
}
