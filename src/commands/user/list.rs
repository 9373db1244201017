//! `imadm user list`: IM users by ascending id, streamed page by page from the keyset
//! endpoint `/admin/users`, so `--all` over millions of users holds one page in memory.

use clap::{Args, ValueEnum};
use imadm_api::im::{AdminUserPage, BasicUserInfo};
use serde_json::json;

use crate::client::Auth;
use crate::context::Context;
use crate::error::{CliError, Result};
use crate::output::{ListWriter, plural, rfc3339};
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
        let page: AdminUserPage = match conn.call(ctx, |c, t| c.get(&path, &Auth::token(t))) {
            // A plain Lanying server: page through its own /user/list instead.
            Err(e) if e.not_offered && written == 0 => {
                return lanying_list(ctx, &conn, w, cap, status, args.all || args.limit.is_some());
            }
            other => other?,
        };
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
            "Showing the first {}; pass --all for every user, or --limit N.",
            plural(written, "user")
        ))?;
    }
    Ok(())
}

/// Lanying's own paging (`GET /user/list?page_num&page_size`): no status filter on the
/// server (we filter here) and no creation time. Stops at the first short page.
fn lanying_list(
    ctx: &mut Context,
    conn: &crate::session::Conn,
    mut w: ListWriter,
    cap: Option<u64>,
    status: Option<&str>,
    explicit: bool,
) -> Result<()> {
    const LANYING_PAGE: u64 = 200;
    let mut written: u64 = 0;
    let mut page_num = 1;
    let mut more = false;
    loop {
        let path = format!("/user/list?page_num={page_num}&page_size={LANYING_PAGE}");
        let page: Vec<BasicUserInfo> = conn.call(ctx, |c, t| c.get(&path, &Auth::token(t)))?;
        let full = page.len() as u64 == LANYING_PAGE;
        let mut items = Vec::new();
        for u in page {
            let state = if u.status == 0 { "active" } else { "disabled" };
            if status.is_some_and(|s| s != state) {
                continue;
            }
            if cap.is_some_and(|c| written >= c) {
                more = true;
                break;
            }
            items.push(json!({
                "user_id": u.user_id,
                "username": u.username,
                "status": state,
                "created_at": null,
            }));
            written += 1;
        }
        w.page(ctx, &items)?;
        if !full || more {
            break;
        }
        page_num += 1;
    }
    w.finish(ctx)?;
    if more && !explicit {
        ctx.info(format!(
            "Showing the first {}; pass --all for every user, or --limit N.",
            plural(written, "user")
        ))?;
    }
    Ok(())
}
