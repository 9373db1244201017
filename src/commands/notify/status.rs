//! `imadm notify status`: each configured channel's queue and last delivery outcome.
//! The last error is receiver text: printed escaped like all server text.

use clap::Args;
use imadm_api::notify::NotifyStatus;
use serde_json::json;

use crate::client::Auth;
use crate::context::Context;
use crate::error::Result;
use crate::output::ListWriter;
use crate::session::connect;

const COLUMNS: &[&str] = &[
    "name",
    "kind",
    "min_severity",
    "queued",
    "oldest_queued_at",
    "last_success_at",
    "last_error_at",
    "last_error",
    "failing_since",
];

#[derive(Debug, Args)]
#[command(after_help = "\
Output fields (json/jsonl objects, csv/tsv columns), stable:
  name, kind, min_severity, queued, oldest_queued_at, last_success_at, last_error_at,
  last_error, failing_since

A refused config reload (SIGHUP) is reported on stderr; the previous config stays in use.

Examples:
  $ imadm notify status
  $ imadm notify status -o json | jq '.[] | select(.queued > 0)'")]
pub struct StatusArgs {}

pub fn run(ctx: &mut Context, _args: StatusArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let st: NotifyStatus = conn.call(ctx, |c, t| c.get("/admin/notify/status", &Auth::token(t)))?;
    if let Some(why) = &st.reload_error {
        ctx.warn(format!(
            "the server refused its last notification config reload: {why}"
        ))?;
    }
    if st.channels.is_empty() {
        ctx.info("the server has no notification channels (imadm server --notify-config FILE)")?;
    }
    let items: Vec<_> = st
        .channels
        .iter()
        .map(|c| {
            json!({
                "name": c.name, "kind": c.kind, "min_severity": c.min_severity,
                "queued": c.queued, "oldest_queued_at": c.oldest_queued_at,
                "last_success_at": c.last_success_at, "last_error_at": c.last_error_at,
                "last_error": c.last_error, "failing_since": c.failing_since,
            })
        })
        .collect();
    let mut w = ListWriter::new(ctx, COLUMNS)?;
    w.page(ctx, &items)?;
    w.finish(ctx)?;
    Ok(())
}
