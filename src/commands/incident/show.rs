//! `imadm incident show ID`: the incident and its timeline.

use clap::Args;
use imadm_api::incident::IncidentDetail;

use crate::client::Auth;
use crate::context::Context;
use crate::error::Result;
use crate::output::{ListWriter, OutputFormat};
use crate::session::connect;

#[derive(Debug, Args)]
#[command(after_help = "\
Output: json/jsonl: one object, the incident's fields (as `incident list`) and `events`,
its timeline; csv/tsv: the timeline, one row per entry; table: the incident, then its
timeline. Timeline fields, stable: incident, seq, at, actor, kind, detail. Kinds: opened,
closed, scope, contain, notify, note.

Needs the security:read permission.

Examples:
  $ imadm incident show 3
  $ imadm incident show 3 -o json")]
pub struct ShowArgs {
    /// The incident's id (see `imadm incident list`)
    pub id: u64,
}

pub fn run(ctx: &mut Context, args: ShowArgs) -> Result<()> {
    let conn = connect(ctx)?;
    let path = format!("/admin/incidents/{}", args.id);
    let d: IncidentDetail = conn.call(ctx, |c, t| c.get(&path, &Auth::token(t)))?;
    let id = d.incident.id;
    let events: Vec<_> = d.events.iter().map(|e| super::event_json(id, e)).collect();
    match ctx.output() {
        f if f.is_json() => {
            let mut v = super::incident_json(&d.incident);
            let fields = super::COLUMNS
                .iter()
                .map(|k| (*k, *k, v[*k].take()))
                .chain([("events", "events", serde_json::Value::Array(events))])
                .collect();
            crate::output::object(ctx, fields)
        }
        OutputFormat::Table => {
            super::print_incident(ctx, &d.incident)?;
            ctx.io.out.write_all(b"\n")?;
            let mut w = ListWriter::new(ctx, super::EVENT_COLUMNS)?;
            w.page(ctx, &events)?;
            w.finish(ctx)?;
            Ok(())
        }
        _ => {
            let mut w = ListWriter::new(ctx, super::EVENT_COLUMNS)?;
            w.page(ctx, &events)?;
            w.finish(ctx)?;
            Ok(())
        }
    }
}
