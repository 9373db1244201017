//! `imadm incident notify`: one message per affected IM user, from a template, through the
//! message API (`/message/send`, as on a Lanying deployment), at a bounded rate. Each
//! user sent to is recorded on the incident's timeline (`notify`, with the user id), and
//! that record is what makes a re-run resume: users already recorded are skipped. A crash
//! between a send and its record sends that one user the message again on the next run
//! (at least once, never silently none).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use imadm_api::im::MessageRequest;
use imadm_api::incident::{EventKind, IncidentDetail, IncidentEvent, IncidentRecord, RecordKind};
use serde_json::{Value, json};

use super::template::Template;
use crate::client::Auth;
use crate::cmdutil::split_csv_line;
use crate::context::Context;
use crate::error::{CliError, Kind, Result};
use crate::output::ListWriter;
use crate::session::connect;

/// Messages `--dry-run` renders.
const PREVIEW: usize = 3;
const PROGRESS_EVERY: usize = 100;

#[derive(Debug, Args)]
#[command(after_help = "\
USERS is the CSV `incident scope --out` wrote (user_id,name,exposure; only user_id is
required). TEMPLATE is the message text with placeholders {name}, {user_id}, {exposure},
{incident_id}, {incident_title}, {severity}, {opened_at}; `{{` and `}}` are literal braces;
any other placeholder is an error before anything is sent. Examples ship in
docs/incident-templates/ (notify.en.txt, notify.zh-CN.txt).

Each message goes from the IM user --from (e.g. a \"Security notice\" account) to one user
through /message/send, at most --rate per second; each user sent to is recorded on the
incident's timeline, so a re-run skips them (resumable). Needs security:manage (the
timeline) and user:write (sending).

Output: json/jsonl, csv/tsv, table: one summary (incident, users, already_notified, sent,
failed); with --dry-run the first messages (user_id, name, message) instead.

Examples:
  $ imadm incident notify --incident 3 --users affected.csv --template docs/incident-templates/notify.en.txt --from 1001 --dry-run
  $ imadm incident notify --incident 3 --users affected.csv --template notify.en.txt --from 1001 --rate 20/s")]
pub struct NotifyArgs {
    #[arg(long, value_name = "ID")]
    pub incident: u64,
    /// The affected users (CSV: user_id,name,exposure)
    #[arg(long, value_name = "FILE")]
    pub users: PathBuf,
    /// The message template
    #[arg(long, value_name = "FILE")]
    pub template: PathBuf,
    /// The IM user id the messages come from
    #[arg(long, value_name = "USER_ID")]
    pub from: i64,
    /// Render the first messages; send nothing
    #[arg(long)]
    pub dry_run: bool,
    /// At most this many messages per second (N/s)
    #[arg(long, value_name = "N/s", default_value = "10/s", value_parser = parse_rate)]
    pub rate: u32,
}

/// `N/s` (1-1000) → N.
pub fn parse_rate(s: &str) -> std::result::Result<u32, String> {
    let n = s.strip_suffix("/s").unwrap_or(s);
    match n.parse::<u32>() {
        Ok(n) if (1..=1000).contains(&n) => Ok(n),
        _ => Err(format!("{s:?} is not a rate from 1/s to 1000/s, e.g. 10/s")),
    }
}

/// One line of the users file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub user_id: i64,
    pub name: String,
    pub exposure: String,
}

/// Undo what `-o csv` does to text a spreadsheet would run (a leading `'`).
fn undefused(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => s,
    }
}

/// The users file: a header naming `user_id` (and optionally `name`, `exposure`).
pub fn read_recipients(path: &Path) -> Result<Vec<Recipient>> {
    let bad = |m: String| {
        CliError::usage(format!("{}: {m}", path.display()))
            .hint("pass the CSV `imadm incident scope --out` wrote (user_id,name,exposure)")
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let mut lines = text.lines().enumerate();
    let header = lines
        .next()
        .map(|(_, l)| split_csv_line(l.trim_start_matches('\u{feff}')))
        .transpose()
        .map_err(|e| bad(format!("line 1: {e}")))?
        .unwrap_or_default();
    let col = |name: &str| header.iter().position(|h| h.trim() == name);
    let id_col = col("user_id").ok_or_else(|| bad("no user_id column in the header".into()))?;
    let (name_col, exp_col) = (col("name"), col("exposure"));
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let f = split_csv_line(line).map_err(|e| bad(format!("line {}: {e}", i + 1)))?;
        let get = |c: Option<usize>| c.and_then(|c| f.get(c)).map_or("", |s| undefused(s));
        let user_id = get(Some(id_col))
            .trim()
            .parse::<i64>()
            .map_err(|_| bad(format!("line {}: the user_id is not a number", i + 1)))?;
        if seen.insert(user_id) {
            out.push(Recipient {
                user_id,
                name: get(name_col).to_owned(),
                exposure: get(exp_col).replace(';', ", "),
            });
        }
    }
    Ok(out)
}

/// The user ids a timeline already records as notified.
fn notified(d: &IncidentDetail) -> HashSet<i64> {
    d.events
        .iter()
        .filter(|e| e.kind == EventKind::Notify)
        .filter_map(|e| e.detail["user_id"].as_i64())
        .collect()
}

pub fn run(ctx: &mut Context, args: NotifyArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.template)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", args.template.display())))?;
    let template = Template::parse(&text).map_err(|e| {
        CliError::usage(format!("{}: {e}", args.template.display()))
            .hint("see `imadm incident notify --help` for the placeholders")
    })?;
    let recipients = read_recipients(&args.users)?;
    let conn = connect(ctx)?;
    let path = format!("/admin/incidents/{}", args.incident);
    let d: IncidentDetail = conn.call(ctx, |c, t| c.get(&path, &Auth::token(t)))?;
    if let Some(at) = &d.incident.closed_at {
        return Err(CliError::new(
            Kind::Conflict,
            format!(
                "incident #{} was closed at {at}; it takes no new steps",
                d.incident.id
            ),
        )
        .hint("notify before closing the incident"));
    }
    let done = notified(&d);
    let id = d.incident.id.to_string();
    let render = |r: &Recipient| {
        let uid = r.user_id.to_string();
        template.render(&[
            &r.name,
            &uid,
            &r.exposure,
            &id,
            &d.incident.title,
            &d.incident.severity,
            &d.incident.opened_at,
        ])
    };
    let pending: Vec<&Recipient> = recipients
        .iter()
        .filter(|r| !done.contains(&r.user_id))
        .collect();
    let already = recipients.len() - pending.len();
    if args.dry_run {
        let items: Vec<Value> = pending
            .iter()
            .take(PREVIEW)
            .map(|r| json!({"user_id": r.user_id, "name": r.name, "message": render(r)}))
            .collect();
        let mut w = ListWriter::new(ctx, &["user_id", "name", "message"])?;
        w.page(ctx, &items)?;
        w.finish(ctx)?;
        return ctx.info(format!(
            "Dry run: would send {} ({} already notified); nothing was sent.",
            crate::output::plural(pending.len(), "message"),
            already
        ));
    }
    let interval = Duration::from_secs(1) / args.rate;
    let events = format!("/admin/incidents/{}/events", args.incident);
    let (mut sent, mut failed) = (0usize, 0usize);
    let mut next = Instant::now();
    for (n, r) in pending.iter().enumerate() {
        let wait = next.saturating_duration_since(Instant::now());
        std::thread::sleep(wait);
        next = Instant::now() + interval;
        let msg = MessageRequest {
            from_user_id: Some(args.from),
            targets: vec![r.user_id],
            kind: 1,
            content: render(r),
            content_type: 0,
            attachment: None,
            config: None,
            ext: None,
            transaction_id: None,
        };
        let ok: Result<bool> = conn.call(ctx, |c, t| {
            c.post("/message/send", &msg, &Auth::token(t), false)
        });
        match ok {
            Ok(_) => {
                let mut detail = serde_json::Map::new();
                detail.insert("user_id".into(), json!(r.user_id));
                detail.insert("from".into(), json!(args.from));
                let body = IncidentRecord {
                    kind: RecordKind::Notify,
                    detail,
                };
                let _: IncidentEvent =
                    conn.call(ctx, |c, t| c.post(&events, &body, &Auth::token(t), false))?;
                sent += 1;
            }
            Err(e) => {
                failed += 1;
                ctx.warn(format!("user {}: {}", r.user_id, e.message))?;
            }
        }
        if (n + 1) % PROGRESS_EVERY == 0 {
            ctx.info(format!("notify: {}/{}", n + 1, pending.len()))?;
        }
    }
    crate::output::object(
        ctx,
        vec![
            ("incident", "Incident", json!(d.incident.id)),
            ("users", "Users", json!(recipients.len())),
            ("already_notified", "Already notified", json!(already)),
            ("sent", "Sent", json!(sent)),
            ("failed", "Failed", json!(failed)),
        ],
    )?;
    if failed > 0 {
        return Err(CliError::new(
            Kind::Unexpected,
            format!(
                "{} could not be sent",
                crate::output::plural(failed, "message")
            ),
        )
        .hint("run the same command again: users already notified are skipped"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_come_from_the_scope_csv_with_formulas_undone() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.csv");
        std::fs::write(
            &f,
            "user_id,name,exposure\n7,\"Lima, Ana\",message.read;user.export\n9,'=cmd,message.read\n7,dup,x\n",
        )
        .unwrap();
        let r = read_recipients(&f).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].name, "Lima, Ana");
        assert_eq!(r[0].exposure, "message.read, user.export");
        assert_eq!(r[1].name, "=cmd");
        std::fs::write(&f, "name\nx\n").unwrap();
        assert!(read_recipients(&f).unwrap_err().message.contains("user_id"));
        assert_eq!(parse_rate("20/s"), Ok(20));
        assert!(parse_rate("0/s").is_err() && parse_rate("fast").is_err());
    }
}
