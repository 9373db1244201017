//! `imadm role permissions`: the permission catalogue.

use clap::Args;
use imadm_api::admin::PermissionInfo;
use serde_json::json;

use crate::client::Auth;
use crate::context::Context;
use crate::error::Result;
use crate::output::ListWriter;
use crate::session::connect;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  $ imadm role permissions\n  $ imadm role permissions -o jsonl | jq -r .name"
)]
pub struct PermissionsArgs {}

pub fn run(ctx: &mut Context, _args: PermissionsArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let perms: Vec<PermissionInfo> =
        conn.call(ctx, |c, t| c.get("/admin/permissions", &Auth::token(t)))?;
    let mut w = ListWriter::new(ctx, &["name", "description"])?;
    w.page(
        ctx,
        &perms
            .iter()
            .map(|p| json!({"name": p.name, "description": p.description}))
            .collect::<Vec<_>>(),
    )?;
    w.finish(ctx)?;
    Ok(())
}
