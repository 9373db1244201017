//! `imadm incident report ID --out FILE.html|.md|.json [--sign-key K]`: the incident's
//! timeline, the restores during it (from the audit log), the affected-user count and
//! the fields a GDPR art. 33 notification to a supervisory authority needs, written
//! atomically (0600) and signed like audit reports (SSHSIG `FILE.sig`, namespace
//! `imadm-audit`, verifiable with `ssh-keygen -Y verify`).
//!
//! The report is built from what the server recorded: the timeline's scope entries give
//! the affected users and their exposure (counts, never ids), the containment entries the
//! measures, the notification entries when users were told (summarised: the report names
//! no IM user). What only a person knows (a
//! contact point, the authority's reference) comes from flags or stays marked to fill in.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use imadm_api::admin::Page;
use imadm_api::audit::AuditEvent;
use imadm_api::incident::{EventKind, IncidentDetail};
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

use crate::audit::summary::{esc, md_escape};
use crate::client::Auth;
use crate::cmdutil::{q, sign_written};
use crate::context::Context;
use crate::error::{CliError, Result};
use crate::session::connect;

/// GDPR art. 33(1): the supervisory authority within 72 hours of becoming aware.
const AUTHORITY_DEADLINE_SECS: i64 = 72 * 3600;

#[derive(Debug, Args)]
#[command(after_help = "\
The report holds the incident, its whole timeline (opened, scope queries, containment,
notifications, notes, closed), the restores recorded in the audit log since it was
opened (needs audit:read; otherwise marked unknown), the number of affected users, and
the GDPR art. 33(3) fields: nature of the breach, categories and approximate number of
data subjects and records, likely consequences, measures taken, contact point, and the
time of awareness against the notification deadline (72 hours). Needs security:read.

The format follows the extension (.html, .md, .json); the file is mode 0600. With a
signing key (--sign-key or the profile's sign_key) FILE.sig is an SSHSIG verifiable with
`ssh-keygen -Y verify -n imadm-audit`.

Examples:
  $ imadm incident report 3 --out incident-3.html --contact \"DPO, dpo@example.com\"
  $ imadm incident report 3 --out incident-3.json --sign-key ~/.ssh/id_ed25519")]
pub struct ReportArgs {
    /// The incident's id
    pub id: u64,
    /// Where to write it: FILE.html, FILE.md or FILE.json
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The contact point for the authority (GDPR art. 33(3)(b)), e.g. the DPO
    #[arg(long, value_name = "TEXT")]
    pub contact: Option<String>,
    /// OpenSSH Ed25519 private key to sign the report with [default: config sign_key]
    #[arg(long, value_name = "KEY")]
    pub sign_key: Option<PathBuf>,
    /// Signer identity recorded in the output (e.g. an e-mail address)
    #[arg(long, value_name = "NAME")]
    pub signer: Option<String>,
}

#[derive(Clone, Copy)]
enum Format {
    Html,
    Md,
    Json,
}

/// The restores recorded since `since` (RFC 3339), or `None` without `audit:read`.
fn restores(
    ctx: &Context,
    conn: &crate::session::Conn,
    since: &str,
) -> Result<Option<Vec<AuditEvent>>> {
    let mut out = Vec::new();
    let mut after = 0u64;
    loop {
        let path = format!(
            "/admin/audit/events?action={}&since={}&after={after}&limit=1000",
            q("backup.restore"),
            q(since)
        );
        let page: Result<Page<AuditEvent>> = conn.call(ctx, |c, t| c.get(&path, &Auth::token(t)));
        let page = match page {
            Ok(p) => p,
            Err(e) if e.kind == crate::error::Kind::Forbidden => return Ok(None),
            Err(e) => return Err(e),
        };
        after = page.items.last().map_or(after, |e| e.seq);
        let more = page.next_cursor.is_some();
        out.extend(page.items);
        if !more {
            return Ok(Some(out));
        }
    }
}

fn unix(rfc3339: &str) -> Option<i64> {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// The report document: everything the renderings show.
pub fn document(
    d: &IncidentDetail,
    restores: Option<&[AuditEvent]>,
    contact: Option<&str>,
    server: &str,
    now: i64,
) -> Value {
    let i = &d.incident;
    let of = |k: EventKind| d.events.iter().filter(move |e| e.kind == k);
    let n = |v: &Value, k: &str| v[k].as_u64().unwrap_or(0);
    // The widest scope query: the affected users as far as they are known.
    let scope = of(EventKind::Scope).max_by_key(|e| n(&e.detail, "users"));
    let affected = scope.map_or(0, |e| n(&e.detail, "users"));
    let (read, exported, records) = scope.map_or((0, 0, 0), |e| {
        (
            n(&e.detail, "message_read_users"),
            n(&e.detail, "user_export_users"),
            n(&e.detail, "events"),
        )
    });
    let principals: Vec<String> = of(EventKind::Scope)
        .filter_map(|e| e.detail["principal"].as_str().map(str::to_owned))
        .collect();
    let notified: Vec<&str> = of(EventKind::Notify).map(|e| e.at.as_str()).collect();
    let mut measures = Vec::new();
    for e in of(EventKind::Contain) {
        let len = |k: &str| e.detail[k].as_array().map_or(0, Vec::len);
        for (k, what) in [
            ("revoke_sessions", "operators whose sessions were ended:"),
            ("revoke_tokens", "service tokens revoked:"),
            ("disable_operators", "operators disabled:"),
        ] {
            if len(k) > 0 {
                measures.push(format!("{} ({what} {})", e.at, len(k)));
            }
        }
        for (k, what) in [
            ("kicked", "IM users logged out of every device"),
            ("passwords_reset", "IM user passwords replaced"),
        ] {
            if n(&e.detail, k) > 0 {
                measures.push(format!("{} ({}: {})", e.at, what, n(&e.detail, k)));
            }
        }
    }
    if !notified.is_empty() {
        measures.push(format!(
            "{} affected users notified ({} to {})",
            notified.len(),
            notified[0],
            notified[notified.len() - 1]
        ));
    }
    let mut categories = Vec::new();
    let mut consequences = Vec::new();
    if read > 0 {
        categories.push(format!("message history ({read} users)"));
        consequences
            .push("disclosure of private conversations; phishing or extortion using their content");
    }
    if exported > 0 {
        categories.push(format!(
            "full account data: profile, contacts, messages ({exported} users)"
        ));
        consequences.push("disclosure of profile and contact data; identity fraud");
    }
    let aware = unix(&i.opened_at).unwrap_or(now);
    let deadline = imadm_api::audit::format_at((aware + AUTHORITY_DEADLINE_SECS) * 1000);
    json!({
        "schema_version": crate::output::SCHEMA_VERSION,
        "server": server,
        "generated_at": imadm_api::audit::format_at(now * 1000),
        "incident": {
            "id": i.id, "title": i.title, "severity": i.severity, "state": i.state(),
            "opened_by": i.opened_by, "opened_at": i.opened_at, "closed_at": i.closed_at,
            "summary": i.summary,
        },
        "timeline": timeline(d),
        "restores": restores,
        "affected_users": affected,
        "notified_users": notified.len(),
        "gdpr_art33": {
            "nature": format!("{} (severity {}); principals investigated: {}", i.title, i.severity,
                if principals.is_empty() { "none recorded".to_owned() } else { principals.join(", ") }),
            "data_subject_categories": if affected > 0 { "users of the instant messaging service" } else { "none identified" },
            "data_subjects_approx": affected,
            "record_categories": categories,
            "records_approx": records,
            "likely_consequences": consequences,
            "measures_taken": measures,
            "contact_point": contact.unwrap_or("to fill in: name and contact of the data protection officer"),
            "aware_at": i.opened_at,
            "authority_deadline": deadline,
            "users_notified_from": notified.first(),
            "users_notified_until": notified.last(),
        },
    })
}

/// The timeline for the report: the notifications, one entry per user on the server,
/// become one entry with their count and time span (the report names no IM user).
fn timeline(d: &IncidentDetail) -> Vec<Value> {
    let notified: Vec<_> = d
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Notify)
        .collect();
    let mut out = Vec::new();
    let mut summarised = false;
    for e in &d.events {
        if e.kind != EventKind::Notify {
            out.push(json!(e));
        } else if !summarised {
            summarised = true;
            let last = notified[notified.len() - 1];
            out.push(json!({
                "seq": e.seq, "at": last.at, "actor": e.actor, "kind": "notify",
                "detail": {"users": notified.len(), "first_at": e.at, "last_at": last.at},
            }));
        }
    }
    out
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => "-".into(),
        Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join("; "),
        other => other.to_string(),
    }
}

/// Rows of the report as (heading, [(label, value)]) and the timeline; both renderings
/// take every string through their escape.
fn sections(doc: &Value) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let i = &doc["incident"];
    let g = &doc["gdpr_art33"];
    vec![
        (
            "Incident",
            vec![
                ("Id", text(&i["id"])),
                ("Title", text(&i["title"])),
                ("Severity", text(&i["severity"])),
                ("State", text(&i["state"])),
                ("Opened by", text(&i["opened_by"])),
                ("Opened", text(&i["opened_at"])),
                ("Closed", text(&i["closed_at"])),
                ("Summary", text(&i["summary"])),
                ("Affected users", text(&doc["affected_users"])),
                ("Users notified", text(&doc["notified_users"])),
                ("Server", text(&doc["server"])),
                ("Generated", text(&doc["generated_at"])),
            ],
        ),
        (
            "GDPR art. 33 notification",
            vec![
                ("Nature of the breach", text(&g["nature"])),
                (
                    "Categories of data subjects",
                    text(&g["data_subject_categories"]),
                ),
                (
                    "Approximate number of data subjects",
                    text(&g["data_subjects_approx"]),
                ),
                ("Categories of records", text(&g["record_categories"])),
                ("Approximate number of records", text(&g["records_approx"])),
                ("Likely consequences", text(&g["likely_consequences"])),
                ("Measures taken", text(&g["measures_taken"])),
                ("Contact point", text(&g["contact_point"])),
                ("Aware at", text(&g["aware_at"])),
                (
                    "Authority to be notified by",
                    text(&g["authority_deadline"]),
                ),
                (
                    "Users notified",
                    format!(
                        "{} to {}",
                        text(&g["users_notified_from"]),
                        text(&g["users_notified_until"])
                    ),
                ),
            ],
        ),
    ]
}

/// Timeline rows (at, actor, kind, detail) and restore rows, oldest first.
fn rows(doc: &Value) -> (Vec<[String; 4]>, Option<Vec<[String; 4]>>) {
    let tl = doc["timeline"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| {
            [
                text(&e["at"]),
                text(&e["actor"]),
                text(&e["kind"]),
                e["detail"].to_string(),
            ]
        })
        .collect();
    let rs = doc["restores"].as_array().map(|a| {
        a.iter()
            .map(|e| {
                [
                    text(&e["at"]),
                    text(&e["actor"]),
                    text(&e["outcome"]),
                    text(&e["detail"]),
                ]
            })
            .collect()
    });
    (tl, rs)
}

fn markdown(doc: &Value) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# Incident report: {}\n",
        md_escape(&text(&doc["incident"]["title"]))
    );
    for (h, fields) in sections(doc) {
        let _ = writeln!(o, "## {h}\n");
        for (l, v) in fields {
            let _ = writeln!(o, "- **{l}**: {}", md_escape(&v));
        }
        o.push('\n');
    }
    let (tl, rs) = rows(doc);
    let _ = writeln!(
        o,
        "## Timeline\n\n| At | Actor | Step | Detail |\n|---|---|---|---|"
    );
    for r in tl {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            md_escape(&r[0]),
            md_escape(&r[1]),
            md_escape(&r[2]),
            md_escape(&r[3])
        );
    }
    let _ = writeln!(o, "\n## Restores\n");
    match rs {
        None => o.push_str("Unknown: reading them needs `audit:read`.\n"),
        Some(r) if r.is_empty() => o.push_str("None since the incident was opened.\n"),
        Some(r) => {
            let _ = writeln!(o, "| At | Actor | Outcome | Detail |\n|---|---|---|---|");
            for r in r {
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} |",
                    md_escape(&r[0]),
                    md_escape(&r[1]),
                    md_escape(&r[2]),
                    md_escape(&r[3])
                );
            }
        }
    }
    o
}

fn html(doc: &Value) -> String {
    let mut o = String::new();
    let title = esc(&text(&doc["incident"]["title"]));
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Incident report: {title}</title>\
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 6px;vertical-align:top}}</style></head><body>\n<h1>Incident report: {title}</h1>\n"
    );
    for (h, fields) in sections(doc) {
        let _ = writeln!(o, "<h2>{h}</h2><table>");
        for (l, v) in fields {
            let _ = writeln!(o, "<tr><th>{l}</th><td>{}</td></tr>", esc(&v));
        }
        o.push_str("</table>\n");
    }
    let (tl, rs) = rows(doc);
    let table = |o: &mut String, head: [&str; 4], rows: &[[String; 4]]| {
        let _ = writeln!(
            o,
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            head[0], head[1], head[2], head[3]
        );
        for r in rows {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&r[0]),
                esc(&r[1]),
                esc(&r[2]),
                esc(&r[3])
            );
        }
        o.push_str("</table>\n");
    };
    o.push_str("<h2>Timeline</h2>\n");
    table(&mut o, ["At", "Actor", "Step", "Detail"], &tl);
    o.push_str("<h2>Restores</h2>\n");
    match rs {
        None => o.push_str("<p>Unknown: reading them needs <code>audit:read</code>.</p>\n"),
        Some(r) if r.is_empty() => o.push_str("<p>None since the incident was opened.</p>\n"),
        Some(r) => table(&mut o, ["At", "Actor", "Outcome", "Detail"], &r),
    }
    o.push_str("</body></html>\n");
    o
}

pub fn run(ctx: &mut Context, args: ReportArgs) -> Result<()> {
    let format = match args.out.extension().and_then(|e| e.to_str()) {
        Some("html" | "htm") => Format::Html,
        Some("md" | "markdown") => Format::Md,
        Some("json") => Format::Json,
        _ => {
            return Err(CliError::usage(format!(
                "cannot tell the report format from {}",
                args.out.display()
            ))
            .hint("name the file .html, .md or .json"));
        }
    };
    // Load the key first: a wrong passphrase should not cost the queries.
    let profile = ctx.profile();
    let sign_key = crate::cmdutil::sign_key(ctx, args.sign_key.as_deref())?;
    let signer = args.signer.clone().or(profile.signer.clone());
    let conn = connect(ctx)?;
    let path = format!("/admin/incidents/{}", args.id);
    let d: IncidentDetail = conn.call(ctx, |c, t| c.get(&path, &Auth::token(t)))?;
    let restores = restores(ctx, &conn, &d.incident.opened_at)?;
    let doc = document(
        &d,
        restores.as_deref(),
        args.contact.as_deref(),
        &conn.client.server(),
        ctx.now(),
    );
    let body = match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&doc).expect("serializable");
            s.push('\n');
            s
        }
        Format::Md => markdown(&doc),
        Format::Html => html(&doc),
    };
    imadm_server::fsutil::write_atomic(&args.out, body.as_bytes(), 0o600)
        .map_err(|e| CliError::write_failed(&args.out, e))?;
    let digest: [u8; 64] = Sha512::digest(body.as_bytes()).into();
    let mut fields = sign_written(sign_key.as_ref(), &args.out, &digest, signer.as_deref())?;
    fields.extend([
        ("incident", "Incident", json!(d.incident.id)),
        ("steps", "Timeline steps", json!(d.events.len())),
        (
            "affected_users",
            "Affected users",
            doc["affected_users"].clone(),
        ),
        (
            "notified_users",
            "Users notified",
            doc["notified_users"].clone(),
        ),
        (
            "restores",
            "Restores",
            json!(restores.as_ref().map(Vec::len)),
        ),
    ]);
    crate::output::object(ctx, fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use imadm_api::incident::{Incident, IncidentEvent};

    fn ev(seq: u32, kind: EventKind, detail: Value) -> IncidentEvent {
        IncidentEvent {
            seq,
            at: format!("2026-11-27T10:0{seq}:00.000Z"),
            actor: "admin".into(),
            kind,
            detail,
        }
    }

    #[test]
    fn the_art33_fields_come_from_the_timeline() {
        let d = IncidentDetail {
            incident: Incident {
                id: 3,
                title: "leak <b>".into(),
                severity: "high".into(),
                opened_by: "admin".into(),
                opened_at: "2026-11-27T10:00:00.000Z".into(),
                closed_at: None,
                summary: None,
            },
            events: vec![
                ev(1, EventKind::Opened, json!({})),
                ev(
                    2,
                    EventKind::Scope,
                    json!({"principal": "token:7", "users": 5, "message_read_users": 5, "user_export_users": 0, "events": 9}),
                ),
                ev(
                    3,
                    EventKind::Scope,
                    json!({"principal": "token:7", "users": 32, "message_read_users": 30, "user_export_users": 2, "events": 32}),
                ),
                ev(
                    4,
                    EventKind::Contain,
                    json!({"revoke_tokens": ["token 7"], "revoke_sessions": [], "disable_operators": []}),
                ),
                ev(5, EventKind::Notify, json!({"user_id": 1})),
            ],
        };
        let doc = document(&d, None, None, "https://im.example", 1_790_000_000);
        let g = &doc["gdpr_art33"];
        assert_eq!(g["data_subjects_approx"], 32);
        assert_eq!(g["records_approx"], 32);
        assert_eq!(g["authority_deadline"], "2026-11-30T10:00:00.000Z");
        assert_eq!(g["record_categories"].as_array().unwrap().len(), 2);
        assert!(
            g["contact_point"]
                .as_str()
                .unwrap()
                .starts_with("to fill in")
        );
        let measures = g["measures_taken"].to_string();
        assert!(
            measures.contains("service tokens revoked: 1")
                && measures.contains("1 affected users notified"),
            "{measures}"
        );
        assert!(doc["restores"].is_null());
        // Server text is escaped in both renderings.
        assert!(html(&doc).contains("leak &lt;b&gt;") && !html(&doc).contains("<b>"));
        assert!(markdown(&doc).contains("Unknown: reading them needs"));
    }
}
