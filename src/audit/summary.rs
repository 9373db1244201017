//! Aggregation behind `imadm audit report`: folds a stream of audit events into counters
//! keyed by day, actor, token and action, so memory grows with the number of distinct
//! days/actors, never with the number of events; and renders the result as JSON
//! (schema_version 1), Markdown or self-contained HTML with inline SVG charts.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use imadm_api::audit::{Alert, AuditEvent};
use serde::Serialize;

use crate::output::plural;

/// Role/permission changes listed one by one; beyond this only counted.
pub const MAX_CHANGES: usize = 200;

#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct Day {
    pub logins: u64,
    pub login_failures: u64,
    pub mfa_ok: u64,
    pub mfa_failures: u64,
    pub lockouts: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Change {
    pub seq: u64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub outcome: String,
    pub detail: Option<String>,
}

#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct TokenUse {
    pub events: u64,
    pub first_at: String,
    pub last_at: String,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Mfa {
    pub operators: u64,
    pub enrolled: u64,
    /// Enabled operators without MFA.
    pub missing: Vec<String>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Alerts {
    /// False when the caller may not read alerts (403); `note` says so.
    pub available: bool,
    pub note: Option<String>,
    pub total: u64,
    /// rule → severity → count
    pub by_rule: BTreeMap<String, BTreeMap<String, u64>>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub events: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// `YYYY-MM-DD` (UTC) → counters.
    pub days: BTreeMap<String, Day>,
    /// actor → lockouts
    pub lockouts: BTreeMap<String, u64>,
    pub changes_total: u64,
    pub changes: Vec<Change>,
    /// actor → action → count, for message.read, user.export, audit.export.
    pub sensitive_access: BTreeMap<String, BTreeMap<String, u64>>,
    /// token actor → use
    pub tokens: BTreeMap<String, TokenUse>,
    pub mfa: Mfa,
    pub alerts: Alerts,
}

fn is_change(action: &str) -> bool {
    action.starts_with("role.") || action == "operator.grant" || action == "operator.revoke"
}

const SENSITIVE: &[&str] = &["message.read", "user.export", "audit.export"];

impl Summary {
    pub fn add(&mut self, e: &AuditEvent) {
        self.events += 1;
        self.first_seq.get_or_insert(e.seq);
        self.last_seq = Some(e.seq);
        let day = e.at.get(..10).unwrap_or(&e.at);
        let ok = e.outcome == "success";
        let bump = |s: &mut Self, f: fn(&mut Day) -> &mut u64| {
            if !s.days.contains_key(day) {
                s.days.insert(day.to_owned(), Day::default());
            }
            *f(s.days.get_mut(day).expect("inserted")) += 1;
        };
        match e.action.as_str() {
            "auth.login" if ok => bump(self, |d| &mut d.logins),
            "auth.login" => bump(self, |d| &mut d.login_failures),
            "auth.mfa" if ok => bump(self, |d| &mut d.mfa_ok),
            "auth.mfa" => bump(self, |d| &mut d.mfa_failures),
            "auth.lockout" => {
                bump(self, |d| &mut d.lockouts);
                *self.lockouts.entry(e.actor.clone()).or_default() += 1;
            }
            a if is_change(a) => {
                self.changes_total += 1;
                if self.changes.len() < MAX_CHANGES {
                    self.changes.push(Change {
                        seq: e.seq,
                        at: e.at.clone(),
                        actor: e.actor.clone(),
                        action: e.action.clone(),
                        target: e.target.clone(),
                        outcome: e.outcome.clone(),
                        detail: e.detail.clone(),
                    });
                }
            }
            a if SENSITIVE.contains(&a) => {
                *self
                    .sensitive_access
                    .entry(e.actor.clone())
                    .or_default()
                    .entry(e.action.clone())
                    .or_default() += 1;
            }
            _ => {}
        }
        if e.actor_type == "token" {
            let t = self.tokens.entry(e.actor.clone()).or_default();
            if t.events == 0 {
                t.first_at = e.at.clone();
            }
            t.events += 1;
            t.last_at = e.at.clone();
        }
    }

    pub fn operator(&mut self, username: &str, disabled: bool, mfa_enrolled: bool) {
        if disabled {
            return;
        }
        self.mfa.operators += 1;
        if mfa_enrolled {
            self.mfa.enrolled += 1;
        } else {
            self.mfa.missing.push(username.to_owned());
        }
    }

    pub fn alert(&mut self, a: &Alert) {
        self.alerts.available = true;
        self.alerts.total += 1;
        *self
            .alerts
            .by_rule
            .entry(a.rule.clone())
            .or_default()
            .entry(a.severity.clone())
            .or_default() += 1;
    }

    pub fn alerts_forbidden(&mut self, why: &str) {
        self.alerts.available = false;
        self.alerts.note = Some(why.to_owned());
    }

    pub fn totals(&self) -> Day {
        let mut t = Day::default();
        for d in self.days.values() {
            t.logins += d.logins;
            t.login_failures += d.login_failures;
            t.mfa_ok += d.mfa_ok;
            t.mfa_failures += d.mfa_failures;
            t.lockouts += d.lockouts;
        }
        t
    }
}

/// What the report covers, besides the summary.
#[derive(Debug, Clone, Serialize)]
pub struct Header {
    pub server: String,
    pub server_id: String,
    pub since: String,
    pub until: String,
    pub generated_at: String,
}

pub fn json(h: &Header, s: &Summary) -> String {
    let v = serde_json::json!({
        "schema_version": 1,
        "kind": "imadm-audit-summary",
        "header": h,
        "totals": s.totals(),
        "summary": s,
    });
    let mut out = serde_json::to_string_pretty(&v).expect("serializable");
    out.push('\n');
    out
}

/// Server text in a Markdown table cell or line: control characters made visible (a
/// report is often `cat` to a terminal, see `output::visible`), and the characters that
/// would end the cell, start a link, emphasis, code or raw HTML backslash-escaped, so a
/// hostile username renders as the text it is.
pub fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '<' | '>') {
            out.push('\\');
        }
        out.push(c);
    }
    crate::output::visible(&out).into_owned()
}

pub fn markdown(h: &Header, s: &Summary) -> String {
    let mut o = String::new();
    let t = s.totals();
    let _ = writeln!(o, "# Audit report: {}\n", md_escape(&h.server_id));
    let _ = writeln!(
        o,
        "Server {} — {} to {} — generated {} — {}\n",
        md_escape(&h.server),
        h.since,
        h.until,
        h.generated_at,
        plural(s.events, "event")
    );
    let _ = writeln!(
        o,
        "## Logins per day\n\n| Day | Logins | Failed | MFA ok | MFA failed | Lockouts |\n|---|---:|---:|---:|---:|---:|"
    );
    for (d, c) in &s.days {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} |",
            md_escape(d),
            c.logins,
            c.login_failures,
            c.mfa_ok,
            c.mfa_failures,
            c.lockouts
        );
    }
    let _ = writeln!(
        o,
        "| **total** | {} | {} | {} | {} | {} |\n",
        t.logins, t.login_failures, t.mfa_ok, t.mfa_failures, t.lockouts
    );
    let _ = writeln!(o, "## Lockouts\n");
    for (a, n) in &s.lockouts {
        let _ = writeln!(o, "- {}: {n}", md_escape(a));
    }
    let _ = writeln!(
        o,
        "\n## MFA coverage\n\n{} of {} enabled operators have MFA enrolled.",
        s.mfa.enrolled, s.mfa.operators
    );
    if !s.mfa.missing.is_empty() {
        let _ = writeln!(o, "Without MFA: {}", md_escape(&s.mfa.missing.join(", ")));
    }
    let _ = writeln!(
        o,
        "\n## Role and permission changes ({})\n\n| Seq | At | Actor | Action | Target | Outcome | Detail |\n|---:|---|---|---|---|---|---|",
        s.changes_total
    );
    for c in &s.changes {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} |",
            c.seq,
            md_escape(&c.at),
            md_escape(&c.actor),
            md_escape(&c.action),
            md_escape(c.target.as_deref().unwrap_or("")),
            md_escape(&c.outcome),
            md_escape(c.detail.as_deref().unwrap_or(""))
        );
    }
    let _ = writeln!(
        o,
        "\n## Sensitive-data access\n\n| Actor | Action | Count |\n|---|---|---:|"
    );
    for (a, m) in &s.sensitive_access {
        for (act, n) in m {
            let _ = writeln!(o, "| {} | {} | {n} |", md_escape(a), md_escape(act));
        }
    }
    let _ = writeln!(o, "\n## Alerts\n");
    if let Some(n) = &s.alerts.note {
        let _ = writeln!(o, "{}", md_escape(n));
    } else {
        let _ = writeln!(
            o,
            "{}.\n\n| Rule | Severity | Count |\n|---|---|---:|",
            plural(s.alerts.total, "alert")
        );
        for (r, m) in &s.alerts.by_rule {
            for (sev, n) in m {
                let _ = writeln!(o, "| {} | {} | {n} |", md_escape(r), md_escape(sev));
            }
        }
    }
    let _ = writeln!(
        o,
        "\n## Token use\n\n| Token | Events | First | Last |\n|---|---:|---|---|"
    );
    for (k, u) in &s.tokens {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            md_escape(k),
            u.events,
            md_escape(&u.first_at),
            md_escape(&u.last_at)
        );
    }
    o
}

/// Server text in HTML: the markup characters as entities, control characters made
/// visible as in the terminal (a raw ESC is no more welcome in a file someone may `cat`).
pub fn esc(s: &str) -> String {
    crate::output::visible(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Grouped bar chart (successes and failures per day) as inline SVG.
fn svg_days(s: &Summary) -> String {
    let n = s.days.len().max(1);
    let max = s
        .days
        .values()
        .map(|d| d.logins.max(d.login_failures))
        .max()
        .unwrap_or(0)
        .max(1);
    let (bw, gap, h) = (14usize, 10usize, 120f64);
    let width = n * (2 * bw + gap) + 40;
    let mut o = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"Logins per day\" width=\"{width}\" height=\"170\" viewBox=\"0 0 {width} 170\">"
    );
    for (i, (day, d)) in s.days.iter().enumerate() {
        let x = 30 + i * (2 * bw + gap);
        for (j, (v, color)) in [(d.logins, "#2b7a3d"), (d.login_failures, "#b3261e")]
            .into_iter()
            .enumerate()
        {
            let bh = h * v as f64 / max as f64;
            let _ = write!(
                o,
                "<rect x=\"{}\" y=\"{:.1}\" width=\"{bw}\" height=\"{bh:.1}\" fill=\"{color}\"><title>{}: {v}</title></rect>",
                x + j * bw,
                10.0 + h - bh,
                esc(day)
            );
        }
        let _ = write!(
            o,
            "<text x=\"{x}\" y=\"150\" font-size=\"9\" transform=\"rotate(30 {x} 150)\">{}</text>",
            esc(day.get(5..).unwrap_or(day))
        );
    }
    let _ = write!(
        o,
        "<text x=\"0\" y=\"15\" font-size=\"10\">{max}</text></svg>"
    );
    o
}

pub fn html(h: &Header, s: &Summary) -> String {
    // The SVG namespace URI is an identifier, not a fetched resource; still, keep the
    // document free of any http(s) reference by omitting it (inline SVG in HTML needs none).
    let chart = svg_days(s).replace(" xmlns=\"http://www.w3.org/2000/svg\"", "");
    let t = s.totals();
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Audit report {}</title>\
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 6px}}</style></head><body>\n",
        esc(&h.server_id)
    );
    let _ = writeln!(
        o,
        "<h1>Audit report: {}</h1><p>Server {} — {} to {} — generated {} — {}</p>",
        esc(&h.server_id),
        esc(&h.server),
        esc(&h.since),
        esc(&h.until),
        esc(&h.generated_at),
        plural(s.events, "event")
    );
    let _ = writeln!(
        o,
        "<h2>Logins per day</h2><p>Successful (green) and failed (red) logins. Totals: {}, {} failed, {} MFA ok, {} MFA failed, {}.</p>{chart}",
        plural(t.logins, "login"),
        t.login_failures,
        t.mfa_ok,
        t.mfa_failures,
        plural(t.lockouts, "lockout")
    );
    let table = |o: &mut String, head: &[&str], rows: Vec<Vec<String>>| {
        o.push_str("<table><tr>");
        for c in head {
            let _ = write!(o, "<th>{c}</th>");
        }
        o.push_str("</tr>");
        for r in rows {
            o.push_str("<tr>");
            for c in r {
                let _ = write!(o, "<td>{}</td>", esc(&c));
            }
            o.push_str("</tr>");
        }
        o.push_str("</table>\n");
    };
    table(
        &mut o,
        &[
            "Day",
            "Logins",
            "Failed",
            "MFA ok",
            "MFA failed",
            "Lockouts",
        ],
        s.days
            .iter()
            .map(|(d, c)| {
                vec![
                    d.clone(),
                    c.logins.to_string(),
                    c.login_failures.to_string(),
                    c.mfa_ok.to_string(),
                    c.mfa_failures.to_string(),
                    c.lockouts.to_string(),
                ]
            })
            .collect(),
    );
    o.push_str("<h2>Lockouts</h2>");
    table(
        &mut o,
        &["Actor", "Lockouts"],
        s.lockouts
            .iter()
            .map(|(a, n)| vec![a.clone(), n.to_string()])
            .collect(),
    );
    let _ = writeln!(
        o,
        "<h2>MFA coverage</h2><p>{} of {} enabled operators have MFA enrolled.{}</p>",
        s.mfa.enrolled,
        s.mfa.operators,
        if s.mfa.missing.is_empty() {
            String::new()
        } else {
            format!(" Without MFA: {}", esc(&s.mfa.missing.join(", ")))
        }
    );
    let _ = writeln!(
        o,
        "<h2>Role and permission changes ({})</h2>",
        s.changes_total
    );
    table(
        &mut o,
        &[
            "Seq", "At", "Actor", "Action", "Target", "Outcome", "Detail",
        ],
        s.changes
            .iter()
            .map(|c| {
                vec![
                    c.seq.to_string(),
                    c.at.clone(),
                    c.actor.clone(),
                    c.action.clone(),
                    c.target.clone().unwrap_or_default(),
                    c.outcome.clone(),
                    c.detail.clone().unwrap_or_default(),
                ]
            })
            .collect(),
    );
    o.push_str("<h2>Sensitive-data access</h2>");
    table(
        &mut o,
        &["Actor", "Action", "Count"],
        s.sensitive_access
            .iter()
            .flat_map(|(a, m)| {
                m.iter()
                    .map(move |(act, n)| vec![a.clone(), act.clone(), n.to_string()])
            })
            .collect(),
    );
    o.push_str("<h2>Alerts</h2>");
    if let Some(n) = &s.alerts.note {
        let _ = writeln!(o, "<p>{}</p>", esc(n));
    } else {
        let _ = writeln!(o, "<p>{}.</p>", plural(s.alerts.total, "alert"));
        table(
            &mut o,
            &["Rule", "Severity", "Count"],
            s.alerts
                .by_rule
                .iter()
                .flat_map(|(r, m)| {
                    m.iter()
                        .map(move |(sev, n)| vec![r.clone(), sev.clone(), n.to_string()])
                })
                .collect(),
        );
    }
    o.push_str("<h2>Token use</h2>");
    table(
        &mut o,
        &["Token", "Events", "First", "Last"],
        s.tokens
            .iter()
            .map(|(k, u)| {
                vec![
                    k.clone(),
                    u.events.to_string(),
                    u.first_at.clone(),
                    u.last_at.clone(),
                ]
            })
            .collect(),
    );
    o.push_str("</body></html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(
        seq: u64,
        at: &str,
        actor_type: &str,
        actor: &str,
        action: &str,
        outcome: &str,
    ) -> AuditEvent {
        AuditEvent {
            seq,
            at: at.to_owned(),
            actor_type: actor_type.to_owned(),
            actor: actor.to_owned(),
            source: None,
            action: action.to_owned(),
            target: Some("operator:x".to_owned()),
            outcome: outcome.to_owned(),
            request_id: None,
            detail: Some("<b>admin</b>".to_owned()),
            hash: String::new(),
        }
    }

    fn sample() -> Summary {
        let mut s = Summary::default();
        let d1 = "2026-11-01T10:00:00.000Z";
        let d2 = "2026-11-02T10:00:00.000Z";
        s.add(&ev(1, d1, "operator", "a", "auth.login", "success"));
        s.add(&ev(2, d1, "operator", "a", "auth.login", "failure"));
        s.add(&ev(3, d1, "operator", "b", "auth.login", "failure"));
        s.add(&ev(4, d2, "operator", "b", "auth.lockout", "failure"));
        s.add(&ev(5, d2, "operator", "a", "auth.mfa", "success"));
        s.add(&ev(6, d2, "operator", "a", "operator.grant", "success"));
        s.add(&ev(7, d2, "operator", "a", "role.create", "success"));
        s.add(&ev(8, d2, "token", "tok-1", "message.read", "success"));
        s.add(&ev(9, d2, "token", "tok-1", "message.read", "success"));
        s.add(&ev(10, d2, "operator", "a", "user.create", "success"));
        s.operator("a", false, true);
        s.operator("b", false, false);
        s.operator("gone", true, false);
        s.alerts_forbidden("alerts not readable (403)");
        s
    }

    #[test]
    fn counts_per_day_actor_and_token() {
        let s = sample();
        assert_eq!(s.events, 10);
        assert_eq!((s.first_seq, s.last_seq), (Some(1), Some(10)));
        let d1 = &s.days["2026-11-01"];
        assert_eq!((d1.logins, d1.login_failures), (1, 2));
        let d2 = &s.days["2026-11-02"];
        assert_eq!((d2.lockouts, d2.mfa_ok), (1, 1));
        assert_eq!(s.lockouts["b"], 1);
        assert_eq!(s.changes_total, 2);
        assert_eq!(s.changes[0].action, "operator.grant");
        assert_eq!(s.sensitive_access["tok-1"]["message.read"], 2);
        assert_eq!(s.tokens["tok-1"].events, 2);
        assert_eq!(s.tokens["tok-1"].first_at, "2026-11-02T10:00:00.000Z");
        assert_eq!((s.mfa.operators, s.mfa.enrolled), (2, 1));
        assert_eq!(s.mfa.missing, vec!["b"]);
        assert_eq!(s.totals().login_failures, 2);
    }

    #[test]
    fn change_list_is_bounded() {
        let mut s = Summary::default();
        for i in 0..(MAX_CHANGES as u64 + 50) {
            s.add(&ev(
                i + 1,
                "2026-11-01T00:00:00.000Z",
                "operator",
                "a",
                "role.update",
                "success",
            ));
        }
        assert_eq!(s.changes.len(), MAX_CHANGES);
        assert_eq!(s.changes_total, MAX_CHANGES as u64 + 50);
    }

    #[test]
    fn renders_json_markdown_and_self_contained_html() {
        let s = sample();
        let h = Header {
            server: "https://x".into(),
            server_id: "srv".into(),
            since: "a".into(),
            until: "b".into(),
            generated_at: "c".into(),
        };
        let j: serde_json::Value = serde_json::from_str(&json(&h, &s)).unwrap();
        assert_eq!(j["schema_version"], 1);
        assert_eq!(j["totals"]["login_failures"], 2);
        assert_eq!(j["summary"]["alerts"]["available"], false);
        let m = markdown(&h, &s);
        assert!(m.contains("| 2026-11-01 | 1 | 2 | 0 | 0 | 0 |"), "{m}");
        assert!(m.contains("alerts not readable (403)"));
        let html = html(&h, &s);
        assert!(html.contains("<svg"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("<b>admin</b>"), "detail is escaped");
        let body = html.replace("https://x", "");
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{html}"
        );
    }

    #[test]
    fn hostile_server_text_cannot_break_markdown_or_html_or_reach_a_terminal() {
        let mut s = Summary::default();
        let at = "2026-11-01T10:00:00.000Z";
        let evil = "x\u{1b}]0;pwned\u{7}|`c`|[l](http://e)<img src=x>\\|\u{202e}\ny";
        s.add(&ev(1, at, "operator", evil, "auth.lockout", "failure"));
        s.add(&ev(2, at, "operator", evil, "operator.grant", evil));
        s.add(&ev(3, at, "token", evil, "message.read", "success"));
        s.operator(evil, false, false);
        let h = Header {
            server: "https://x".into(),
            server_id: evil.into(),
            since: "a".into(),
            until: "b".into(),
            generated_at: "c".into(),
        };
        for (form, text) in [("md", markdown(&h, &s)), ("html", html(&h, &s))] {
            assert!(
                !text
                    .chars()
                    .any(|c| c.is_control() && c != '\n' || c == '\u{202e}'),
                "{form}: {text:?}"
            );
            assert!(
                text.contains("\\u{1b}") && text.contains("pwned\\u{7}"),
                "{form}: {text}"
            );
        }
        let m = markdown(&h, &s);
        // Every row of the changes table keeps its 7 cells: no unescaped `|` inside one.
        let row = m
            .lines()
            .find(|l| l.starts_with("| 2 |"))
            .expect("change row");
        let cells = row.replace("\\|", "").matches('|').count();
        assert_eq!(cells, 8, "{row}");
        assert!(row.contains("\\`c\\`") && row.contains("\\[l\\]") && row.contains("\\<img"));
        let html = html(&h, &s);
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;img src=x&gt;"), "{html}");
    }
}
