//! `imadm audit alerts`: security alerts raised by the server's rules; `--fail-on`
//! turns them into exit code 9 for cron and CI.

use clap::{Args, ValueEnum};
use imadm_api::admin::Page;
use imadm_api::audit::Alert;
use serde_json::json;

use super::{q, time_arg};
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

#[derive(Debug, Args)]
#[command(after_help = "\
Output fields (json/jsonl objects, csv/tsv columns), stable:
  id, at, severity, rule, actor, detail, event_seq

Rules: login_failures (medium), lockout (medium), sensitive_read_burst (high),
role_escalation (high), escalation_attempt (high), token_new_address (medium), off_hours
(low; only when the server runs with --business-hours), audit_sink_lagging (high; an audit
sink beyond its bound, see `imadm audit sinks`). Thresholds are `imadm server` flags (see
its --help). Exit code 9 with --fail-on when any alert in the window is at or above that
severity.

Examples:
  $ imadm audit alerts --since 24h
  $ imadm audit alerts --since 24h --fail-on high
  $ imadm audit alerts --follow --min-severity medium")]
pub struct AlertsArgs {
    /// Alerts at or after T (RFC 3339 or 24h/7d)
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only alerts of at least this severity
    #[arg(long, value_name = "SEVERITY")]
    pub min_severity: Option<Severity>,
    /// Keep waiting for new alerts (Ctrl-C to stop)
    #[arg(long, conflicts_with = "fail_on")]
    pub follow: bool,
    /// Exit 9 when any alert at or above SEVERITY exists in the window
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
}

pub fn run(ctx: &mut Context, args: AlertsArgs) -> Result<()> {
    let mut filters = String::new();
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
