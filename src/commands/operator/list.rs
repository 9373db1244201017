//! `imadm operator list`: pages through `/admin/operators`, streaming each page.

use clap::Args;
use imadm_api::admin::{Operator, Page};

use crate::client::Auth;
use crate::context::Context;
use crate::error::Result;
use crate::output::ListWriter;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm operator list\n  $ imadm operator list -o csv > operators.csv"
)]
pub struct ListArgs {}

const PAGE: u32 = 500;

pub fn run(ctx: &mut Context, _args: ListArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let mut w = ListWriter::new(ctx, super::COLUMNS)?;
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            None => format!("/admin/operators?limit={PAGE}"),
            Some(a) => format!("/admin/operators?limit={PAGE}&after={a}"),
        };
        let page: Page<Operator> = conn.call(ctx, |c, t| c.get(&path, &Auth::token(t)))?;
        let items: Vec<_> = page.items.iter().map(super::operator_json).collect();
        w.page(ctx, &items)?;
        match page.next_cursor {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    w.finish(ctx)?;
    Ok(())
}
