//! `imadm user list`: IM users by ascending id, streamed page by page from the keyset
//! endpoint `/admin/users`, so `--all` over millions of users holds one page in memory.

use clap::{Args, ValueEnum};
use imadm_api::im::AdminUserPage;
use serde_json::json;

use crate::client::Auth;
use crate::context::Context;
use crate::error::{CliError, Result};
use crate::output::{ListWriter, rfc3339};
use crate::session::connect;

/// The server's page bound (`/admin/users?limit=`).
const MAX_PAGE: u64 = 1000;
const DEFAULT_LIMIT: u64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Status {
    Active,
    Disabled,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Output fields (json/jsonl objects, csv/tsv columns), stable:
  user_id     numeric IM user id (ascending)
  username    Lanying username
  status      active | disabled
  created_at  RFC 3339

Without --all, one page of 100 users is printed and stderr says how to get more.

Examples:
  $ imadm user list
  $ imadm user list --all -o jsonl > users.jsonl
  $ imadm user list --status disabled --limit 500 -o csv")]
pub struct ListArgs {
    /// Every user, page by page (with --limit: at most N)
    #[arg(long)]
    pub all: bool,
    /// At most N users in total
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Only users in this state
    #[arg(long, value_name = "STATE")]
    pub status: Option<Status>,
}

pub fn run(ctx: &mut Context, args: ListArgs) -> Result<()> {
    if args.limit == Some(0) {
        return Err(CliError::usage("--limit must be at least 1")
            .hint("omit --limit for the default of 100"));
    }
    let conn = connect(ctx)?;
    let cap = match (args.all, args.limit) {
        (_, Some(n)) => Some(n),
        (true, None) => None,
        (false, None) => Some(DEFAULT_LIMIT),
    };
    let status = args.status.map(|s| match s {
        Status::Active => "active",
        Status::Disabled => "disabled",
    });
    let mut after: Option<String> = None;
    let mut written: u64 = 0;
    let mut more = false;
    let mut w = ListWriter::new(ctx, super::LIST_COLUMNS)?;
    loop {
        let want = cap.map_or(MAX_PAGE, |c| (c - written).min(MAX_PAGE));
        let mut path = format!("/admin/users?limit={want}");
        if let Some(a) = &after {
            path.push_str(&format!("&after={a}"));
        }
        if let Some(s) = status {
            path.push_str(&format!("&status={s}"));
        }
        // Each page is its own request with a fresh-enough token, so a long export
        // survives an access-token refresh.
        let page: AdminUserPage = conn.call(ctx, |c, t| c.get(&path, &Auth::token(t)))?;
        let items: Vec<_> = page
            .items
            .iter()
            .map(|u| {
                json!({
                    "user_id": u.user_id,
                    "username": u.username,
                    "status": u.status,
                    "created_at": rfc3339(u.created_at),
                })
            })
            .collect();
        written += items.len() as u64;
        w.page(ctx, &items)?;
        match page.next_cursor {
            Some(c) if cap.is_none_or(|c| written < c) => after = Some(c),
            Some(_) => {
                more = true;
                break;
            }
            None => break,
        }
    }
    w.finish(ctx)?;
    if more && !args.all && args.limit.is_none() {
        ctx.info(format!(
            "Showing the first {written} users; pass --all for every user, or --limit N."
        ))?;
    }
    Ok(())
}
