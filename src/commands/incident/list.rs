//! `imadm incident list`: every incident, oldest first.

use clap::Args;
use imadm_api::admin::Page;
use imadm_api::incident::Incident;

use crate::client::Auth;
use crate::context::Context;
use crate::error::Result;
use crate::output::ListWriter;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(after_help = "\
Output fields (json/jsonl objects, csv/tsv columns), stable:
  id, state, severity, title, opened_by, opened_at, closed_at, summary

Needs the security:read permission.

Examples:
  $ imadm incident list
  $ imadm incident list -o json")]
pub struct ListArgs {}

pub fn run(ctx: &mut Context, _args: ListArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let mut w = ListWriter::new(ctx, super::COLUMNS)?;
    let mut after = 0;
    loop {
        let path = format!("/admin/incidents?after={after}&limit=1000");
        let page: Page<Incident> = conn.call(ctx, |c, t| c.get(&path, &Auth::token(t)))?;
        let items: Vec<_> = page.items.iter().map(super::incident_json).collect();
        w.page(ctx, &items)?;
        match page.items.last() {
            Some(last) if page.next_cursor.is_some() => after = last.id,
            _ => break,
        }
    }
    w.finish(ctx)?;
    Ok(())
}
