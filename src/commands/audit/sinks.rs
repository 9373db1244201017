//! `imadm audit sinks`: the audit sinks the server runs with (`imadm server --audit-sink`)
//! and how far each is behind the log (`GET /admin/audit/sinks`, `security:read`).

use clap::Args;
use imadm_api::sinks::SinkStatus;
use serde_json::json;

use crate::client::Auth;
use crate::context::Context;
use crate::error::Result;
use crate::output::ListWriter;
use crate::session::connect;

const COLUMNS: &[&str] = &[
    "name",
    "kind",
    "state",
    "required",
    "delivered_seq",
    "head_seq",
    "lag_events",
    "lag_seconds",
    "max_lag",
    "max_age_secs",
    "last_success_at",
    "failures",
    "last_error",
    "last_error_at",
];

#[derive(Debug, Args)]
#[command(after_help = "\
Output fields (json/jsonl objects, csv/tsv columns), stable:
  name, kind, state, required, delivered_seq, head_seq, lag_events, lag_seconds, max_lag,
  max_age_secs, last_success_at, failures, last_error, last_error_at

state: ok (within its bound), lagging (beyond max_lag events or max_age_secs: the high
alert audit_sink_lagging is raised), blocking (lagging and required: the server refuses
changes with exit 3 until the sink catches up). Needs security:read.

Examples:
  $ imadm audit sinks
  $ imadm audit sinks -o json")]
pub struct SinksArgs {}

pub fn run(ctx: &mut Context, _args: SinksArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let sinks: Vec<SinkStatus> =
        conn.call(ctx, |c, t| c.get("/admin/audit/sinks", &Auth::token(t)))?;
    let items: Vec<_> = sinks
        .iter()
        .map(|s| {
            json!({
                "name": s.name, "kind": s.kind, "state": s.state, "required": s.required,
                "delivered_seq": s.delivered_seq, "head_seq": s.head_seq,
                "lag_events": s.lag_events, "lag_seconds": s.lag_seconds,
                "max_lag": s.max_lag, "max_age_secs": s.max_age_secs,
                "last_success_at": s.last_success_at, "failures": s.failures,
                "last_error": s.last_error, "last_error_at": s.last_error_at,
            })
        })
        .collect();
    let mut w = ListWriter::new(ctx, COLUMNS)?;
    w.page(ctx, &items)?;
    w.finish(ctx)?;
    Ok(())
}
