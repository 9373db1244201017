//! `imadm audit log`: audit events in sequence order, streamed page by page. First, the
//! cheap check that the server's chain extends the checkpoint the profile pinned
//! (`checkpoint::Guard::prove`: the server's current signed checkpoint and the event at
//! the pinned seq, not the whole chain), which then advances the pin.

use clap::Args;
use imadm_api::admin::Page;
use imadm_api::audit::AuditEvent;
use serde_json::json;

use super::{checkpoint, q, time_arg};
use crate::client::Auth;
use crate::context::Context;
use crate::error::{CliError, Result};
use crate::output::ListWriter;
use crate::session::connect;

const COLUMNS: &[&str] = &[
    "seq",
    "at",
    "actor_type",
    "actor",
    "source",
    "action",
    "target",
    "outcome",
    "detail",
];
const PAGE: u64 = 1000;
/// Seconds the server may hold a --follow request open.
const WAIT: u32 = 30;

#[derive(Debug, Args)]
#[command(after_help = "\
Output fields (json/jsonl objects, csv/tsv columns), stable:
  seq, at, actor_type, actor, source, action, target, outcome, detail

Times (T) are RFC 3339 or relative (24h, 7d). --action takes an exact action or a prefix
ending in a dot (auth.). IM users appear as keyed pseudonyms (user:<hex>).
The server's chain must extend the checkpoint pinned in the profile: exit 8 when it was
rolled back or forked (see `imadm audit checkpoint`).

Examples:
  $ imadm audit log --since 24h
  $ imadm audit log --actor alice --action operator. -o jsonl
  $ imadm audit log --follow --action auth.")]
pub struct LogArgs {
    /// Events at or after T
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Events at or before T
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
    /// Only this actor (operator username or `<token name>#<id>`)
    #[arg(long, value_name = "A")]
    pub actor: Option<String>,
    /// Only this action, or a prefix ending in `.`
    #[arg(long, value_name = "X")]
    pub action: Option<String>,
    /// Keep waiting for new events (Ctrl-C to stop)
    #[arg(long, conflicts_with = "until")]
    pub follow: bool,
    /// At most N events
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
}

pub fn run(ctx: &mut Context, args: LogArgs) -> Result<()> {
    if args.limit == Some(0) {
        return Err(CliError::usage("--limit must be at least 1").hint("omit --limit for all"));
    }
    let mut filters = String::new();
    if let Some(s) = &args.since {
        filters.push_str(&format!("&since={}", q(&time_arg("--since", s)?)));
    }
    if let Some(u) = &args.until {
        filters.push_str(&format!("&until={}", q(&time_arg("--until", u)?)));
    }
    if let Some(a) = &args.actor {
        filters.push_str(&format!("&actor={}", q(a)));
    }
    if let Some(a) = &args.action {
        filters.push_str(&format!("&action={}", q(a)));
    }
    let conn = connect(ctx)?;
    let (key, info) = checkpoint::trusted_key(ctx, &conn)?;
    let guard = checkpoint::Guard::load(ctx, &conn, &info, &key, "audit log")?;
    let current = guard.current(ctx, &conn)?;
    guard.prove(ctx, &conn, &current)?;
    guard.advance(ctx, &current)?;
    let mut w = ListWriter::new(ctx, COLUMNS)?;
    let mut after: u64 = 0;
    let mut written: u64 = 0;
    loop {
        let want = args.limit.map_or(PAGE, |l| (l - written).min(PAGE));
        let wait = if args.follow { WAIT } else { 0 };
        let path = format!("/admin/audit/events?after={after}&limit={want}&wait={wait}{filters}");
        let page: Page<AuditEvent> = conn.call(ctx, |c, t| c.get(&path, &Auth::token(t)))?;
        let items: Vec<_> = page
            .items
            .iter()
            .map(|e| {
                json!({
                    "seq": e.seq, "at": e.at, "actor_type": e.actor_type, "actor": e.actor,
                    "source": e.source, "action": e.action, "target": e.target,
                    "outcome": e.outcome, "detail": e.detail,
                })
            })
            .collect();
        if let Some(last) = page.items.last() {
            after = last.seq;
        }
        written += items.len() as u64;
        w.page(ctx, &items)?;
        if args.limit.is_some_and(|l| written >= l) {
            break;
        }
        if page.next_cursor.is_none() && !args.follow {
            break;
        }
    }
    w.finish(ctx)?;
    Ok(())
}
