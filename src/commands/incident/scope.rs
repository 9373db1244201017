//! `imadm incident scope`: what one principal did in a window and whose data it read or
//! exported, from the audit log (`GET /admin/incidents/scope`, computed on the server,
//! which alone can resolve pseudonyms); `--out` writes the affected users for `contain`
//! and `notify`; `--incident` records the query's counts on the timeline.

use std::path::PathBuf;

use clap::Args;
use imadm_api::incident::{IncidentEvent, IncidentRecord, IncidentScope, RecordKind};
use serde_json::{Value, json};

use crate::client::Auth;
use crate::cmdutil::{q, time_arg};
use crate::context::Context;
use crate::error::{CliError, Kind, Result};
use crate::output::{ListWriter, OutputFormat, csv_record};
use crate::session::connect;

/// The columns of the affected users (csv/tsv, table).
const USER_COLUMNS: &[&str] = &["user_id", "name", "pseudonym", "exposure", "events"];
const ACTION_COLUMNS: &[&str] = &["action", "outcome", "count"];

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("principal").required(true).args(["actor", "token", "source"])))]
#[command(after_help = "\
The server reads the principal's audit events in the window and names every IM user whose
data it read or exported (message.read, user.export). Users are named by id and name only
when you hold user:read; otherwise by their audit pseudonym. Needs security:read and audit:read;
the query is audited (incident.scope, counts only).

Output: json/jsonl: one object (principal, since, until, events_total, actions, users,
resolved, unnamed, events: the first 1000); csv/tsv: the affected users, one row each
(user_id, name, pseudonym, exposure, events); table: a summary, the actions, the users.
--out FILE writes the users as CSV (user_id,name,exposure; mode 0600) for `incident
contain --kick-users` and `incident notify --users`.

Examples:
  $ imadm incident scope --incident 3 --token 7 --since 2026-11-20T00:00:00Z --out affected.csv
  $ imadm incident scope --actor alice --since 7d -o json")]
pub struct ScopeArgs {
    /// Record the query's counts on this incident's timeline
    #[arg(long, value_name = "ID")]
    pub incident: Option<u64>,
    /// An operator: its sessions and its service tokens
    #[arg(long, value_name = "OP")]
    pub actor: Option<String>,
    /// A service token, by id (see `imadm token list`)
    #[arg(long, value_name = "ID")]
    pub token: Option<u64>,
    /// A source address, as the audit log records it
    #[arg(long, value_name = "ADDR")]
    pub source: Option<String>,
    /// Start of the window (RFC 3339, or 24h/7d ago)
    #[arg(long, value_name = "T")]
    pub since: String,
    /// End of the window (default: now)
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
    /// Write the affected users as CSV (user_id,name,exposure), mode 0600
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(ctx: &mut Context, args: ScopeArgs) -> Result<()> {
    let principal = match (&args.actor, args.token, &args.source) {
        (Some(a), _, _) => format!("actor:{a}"),
        (_, Some(t), _) => format!("token:{t}"),
        (_, _, Some(s)) => format!("source:{s}"),
        _ => unreachable!("clap requires one"),
    };
    let mut path = format!(
        "/admin/incidents/scope?principal={}&since={}",
        q(&principal),
        q(&time_arg("--since", &args.since)?)
    );
    if let Some(u) = &args.until {
        path.push_str(&format!("&until={}", q(&time_arg("--until", u)?)));
    }
    let conn = connect(ctx)?;
    let scope: IncidentScope = conn.call(ctx, |c, t| c.get(&path, &Auth::token(t)))?;
    if let Some(out) = &args.out {
        write_affected(ctx, out, &scope)?;
    }
    if let Some(id) = args.incident {
        let body = IncidentRecord {
            kind: RecordKind::Scope,
            detail: counts(&scope),
        };
        let path = format!("/admin/incidents/{id}/events");
        let _: IncidentEvent =
            conn.call(ctx, |c, t| c.post(&path, &body, &Auth::token(t), false))?;
    }
    print(ctx, args.incident, &scope)
}

/// What the timeline keeps of a scope query: the principal, the window and counts, no user.
fn counts(s: &IncidentScope) -> serde_json::Map<String, Value> {
    let v = json!({
        "principal": s.principal,
        "since": s.since,
        "until": s.until,
        "events": s.events_total,
        "users": s.users.len(),
        "message_read_users": s.users.iter().filter(|u| u.exposure.iter().any(|e| e == "message.read")).count(),
        "user_export_users": s.users.iter().filter(|u| u.exposure.iter().any(|e| e == "user.export")).count(),
        "unnamed": s.unnamed,
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!("an object literal"),
    }
}

fn user_json(u: &imadm_api::incident::AffectedUser) -> Value {
    json!({
        "user_id": u.user_id,
        "name": u.name,
        "pseudonym": u.pseudonym,
        "exposure": u.exposure,
        "events": u.events,
    })
}

/// `user_id,name,exposure` for the next steps: resolved users only (a pseudonym names no
/// one a message can reach).
fn write_affected(ctx: &mut Context, out: &std::path::Path, s: &IncidentScope) -> Result<()> {
    if !s.resolved && !s.users.is_empty() {
        return Err(CliError::new(
            Kind::Forbidden,
            "the affected users are pseudonyms only: resolving them needs `user:read`",
        )
        .hint("run the scope as an operator holding user:read (e.g. an admin)"));
    }
    let mut body = String::from("user_id,name,exposure\n");
    let mut unresolved = 0;
    for u in &s.users {
        let (Some(id), Some(name)) = (u.user_id, &u.name) else {
            unresolved += 1;
            continue;
        };
        body.push_str(&csv_record(&[
            json!(id),
            json!(name),
            json!(u.exposure.join(";")),
        ]));
    }
    imadm_server::fsutil::write_atomic(out, body.as_bytes(), 0o600)
        .map_err(|e| CliError::write_failed(out, e))?;
    if unresolved > 0 {
        ctx.warn(format!(
            "{} no longer exist (deleted or erased) and are not in {}",
            crate::output::plural(unresolved, "exposed user"),
            out.display()
        ))?;
    }
    ctx.info(format!(
        "wrote {} to {}",
        crate::output::plural(s.users.len() - unresolved, "affected user"),
        out.display()
    ))
}

fn print(ctx: &mut Context, incident: Option<u64>, s: &IncidentScope) -> Result<()> {
    let users: Vec<Value> = s.users.iter().map(user_json).collect();
    match ctx.output() {
        f if f.is_json() => {
            let fields = vec![
                ("incident", "", json!(incident)),
                ("principal", "", json!(s.principal)),
                ("since", "", json!(s.since)),
                ("until", "", json!(s.until)),
                ("events_total", "", json!(s.events_total)),
                ("actions", "", json!(s.actions)),
                ("users", "", Value::Array(users)),
                ("resolved", "", json!(s.resolved)),
                ("unnamed", "", json!(s.unnamed)),
                ("events", "", json!(s.events)),
            ];
            crate::output::object(ctx, fields)
        }
        OutputFormat::Table => {
            crate::output::object(
                ctx,
                vec![
                    ("principal", "Principal", json!(s.principal)),
                    ("since", "Since", json!(s.since)),
                    ("until", "Until", json!(s.until)),
                    ("events_total", "Events", json!(s.events_total)),
                    ("users", "Users exposed", json!(s.users.len())),
                    ("resolved", "Names resolved", json!(s.resolved)),
                    ("unnamed", "Unnamed in lists", json!(s.unnamed)),
                ],
            )?;
            ctx.io.out.write_all(b"\n")?;
            let actions: Vec<Value> = s.actions.iter().map(|a| json!(a)).collect();
            let mut w = ListWriter::new(ctx, ACTION_COLUMNS)?;
            w.page(ctx, &actions)?;
            w.finish(ctx)?;
            ctx.io.out.write_all(b"\n")?;
            let mut w = ListWriter::new(ctx, USER_COLUMNS)?;
            w.page(ctx, &users)?;
            w.finish(ctx)?;
            Ok(())
        }
        _ => {
            let mut w = ListWriter::new(ctx, USER_COLUMNS)?;
            w.page(ctx, &users)?;
            w.finish(ctx)?;
            Ok(())
        }
    }
}
