//! What each kind of receiver gets: the request (URL, headers, body) for a queued
//! message, and how its answer is read.
//!
//! Alert text is partly attacker-controlled (a username typed at the login, a note), and
//! chat receivers render it: control characters are escaped everywhere, and each kind's
//! markup that could mention everyone, link or format is neutralised (Slack's `& < >`
//! entities, Feishu's and WeCom's `<at>`/`<@..>` tags, DingTalk's and WeCom's markdown).

use imadm_api::audit::Alert;
use serde_json::{Value, json};

use super::config::{Channel, Format, Kind};
use super::sign;
use crate::store::notify::{Queued, RESOLVED, TEST};

/// One HTTP POST.
pub struct Request {
    /// A secret (it may carry a token): never log it.
    pub url: url::Url,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// The alert a message announces (for a test message, a made-up one).
pub fn alert_of(m: &Queued) -> Result<Alert, String> {
    serde_json::from_str(&m.payload)
        .map_err(|e| format!("queued message {} is unreadable: {e}", m.id))
}

/// `webhook-id`: the same for every attempt at one message, and one message per alert
/// state, so a receiver can drop duplicates by it. No `.` (the signed string uses them).
pub fn message_id(server_id: &str, m: &Queued) -> String {
    let server: String = server_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    match m.alert_id {
        Some(id) => format!("imadm_{server}_alert{id}_{}", m.state),
        None => format!("imadm_{server}_test{}", m.id),
    }
}

/// The request for message `m` (whose alert is `a`) on channel `ch`, made at `now_ms`.
pub fn request(ch: &Channel, m: &Queued, a: &Alert, server_id: &str, now_ms: i64) -> Request {
    let mut url = ch.url().clone();
    let mut headers = vec![("content-type", "application/json".to_owned())];
    let body = match ch.kind {
        Kind::Webhook => {
            let body = serde_json::to_vec(&alertmanager(&ch.name, m, a, server_id))
                .expect("JSON serialises");
            let id = message_id(server_id, m);
            let ts = now_ms.div_euclid(1000);
            if let Some(key) = ch.secret() {
                headers.push((
                    "webhook-signature",
                    sign::standard_webhooks(key, &id, ts, &body),
                ));
            }
            headers.push(("webhook-id", id));
            headers.push(("webhook-timestamp", ts.to_string()));
            return Request { url, headers, body };
        }
        Kind::Slack => json!({ "text": text(m, a, server_id, Markup::Slack) }),
        Kind::DingTalk => {
            if let Some(secret) = ch.secret() {
                url.query_pairs_mut()
                    .append_pair("timestamp", &now_ms.to_string())
                    .append_pair("sign", &sign::dingtalk(secret, now_ms));
            }
            match ch.format {
                Format::Text => json!({
                    "msgtype": "text",
                    "text": { "content": text(m, a, server_id, Markup::Plain) },
                }),
                Format::Markdown => json!({
                    "msgtype": "markdown",
                    "markdown": {
                        "title": title(m, a),
                        "text": text(m, a, server_id, Markup::Markdown),
                    },
                }),
            }
        }
        // WeCom caps text at 2048 and markdown at 4096 bytes.
        Kind::WeCom => match ch.format {
            Format::Text => json!({
                "msgtype": "text",
                "text": { "content": truncate(text(m, a, server_id, Markup::Tags), 2048) },
            }),
            Format::Markdown => json!({
                "msgtype": "markdown",
                "markdown": { "content": truncate(text(m, a, server_id, Markup::Markdown), 4096) },
            }),
        },
        Kind::Feishu => {
            let mut v = json!({});
            if let Some(secret) = ch.secret() {
                let ts = now_ms.div_euclid(1000);
                v["timestamp"] = json!(ts.to_string());
                v["sign"] = json!(sign::feishu(secret, ts));
            }
            v["msg_type"] = json!("text");
            v["content"] = json!({ "text": text(m, a, server_id, Markup::Tags) });
            v
        }
    };
    Request {
        url,
        headers,
        body: serde_json::to_vec(&body).expect("JSON serialises"),
    }
}

/// The Alertmanager webhook (version 4) body: one alert per message, `firing` or
/// `resolved`; the labels say what it is, the annotations what happened.
pub fn alertmanager(receiver: &str, m: &Queued, a: &Alert, server_id: &str) -> Value {
    let resolved = m.state == RESOLVED;
    let status = if resolved { "resolved" } else { "firing" };
    let alertname = if m.state == TEST {
        "imadm_notify_test"
    } else {
        &a.rule
    };
    let labels = json!({
        "alertname": alertname,
        "severity": a.severity,
        "alert_id": a.id.to_string(),
        "server_id": server_id,
        "source": "imadm",
    });
    let mut annotations = json!({
        "summary": title(m, a),
        "description": a.detail,
        "actor": a.actor,
    });
    if resolved {
        annotations["resolved_by"] = json!(a.state_by.clone().unwrap_or_default());
        annotations["note"] = json!(a.note.clone().unwrap_or_default());
    }
    use sha2::Digest;
    let fingerprint =
        hex::encode(&sha2::Sha256::digest(format!("{server_id}\0{alertname}\0{}", a.id))[..8]);
    json!({
        "version": "4",
        "groupKey": format!("{{}}:{{alertname=\"{alertname}\", alert_id=\"{}\"}}", a.id),
        "truncatedAlerts": 0,
        "status": status,
        "receiver": receiver,
        "groupLabels": { "alertname": alertname },
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": "",
        "alerts": [{
            "status": status,
            "labels": labels,
            "annotations": annotations,
            "startsAt": a.at,
            // Alertmanager's "not ended" time.
            "endsAt": if resolved { a.state_at.clone().unwrap_or_default() } else { "0001-01-01T00:00:00Z".to_owned() },
            "generatorURL": "",
            "fingerprint": fingerprint,
        }],
    })
}

fn title(m: &Queued, a: &Alert) -> String {
    match m.state.as_str() {
        TEST => "imadm test message".to_owned(),
        RESOLVED => format!("imadm alert #{} resolved: {}", a.id, a.rule),
        _ => format!("imadm {} alert #{}: {}", a.severity, a.id, a.rule),
    }
}

/// How a receiver renders text, hence what must be neutralised in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Markup {
    /// Shown as is (DingTalk text).
    Plain,
    /// Slack mrkdwn: `&`, `<`, `>` are entities (`<!channel>`, `<url|text>` otherwise).
    Slack,
    /// Feishu and WeCom text: `<at ...>` / `<@...>` tags mention people.
    Tags,
    /// DingTalk and WeCom markdown.
    Markdown,
}

/// Untrusted text made safe for `markup`: control characters as `\u{..}` (line breaks
/// kept where `lines`), markup characters replaced by look-alikes or entities.
fn clean(s: &str, markup: Markup, lines: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match (c, markup) {
            ('\n', _) if lines => out.push('\n'),
            (c, _) if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            ('&', Markup::Slack) => out.push_str("&amp;"),
            ('<', Markup::Slack) => out.push_str("&lt;"),
            ('>', Markup::Slack) => out.push_str("&gt;"),
            ('<', Markup::Tags | Markup::Markdown) => out.push('＜'),
            ('>', Markup::Tags | Markup::Markdown) => out.push('＞'),
            ('[', Markup::Markdown) => out.push('［'),
            (']', Markup::Markdown) => out.push('］'),
            ('(', Markup::Markdown) => out.push('（'),
            (')', Markup::Markdown) => out.push('）'),
            ('*', Markup::Markdown) => out.push('＊'),
            ('_', Markup::Markdown) => out.push('＿'),
            ('`', Markup::Markdown) => out.push('｀'),
            ('#', Markup::Markdown) => out.push('＃'),
            ('!', Markup::Markdown) => out.push('！'),
            ('|', Markup::Markdown) => out.push('｜'),
            ('~', Markup::Markdown) => out.push('～'),
            (c, _) => out.push(c),
        }
    }
    out
}

/// The message for people: first line what happened (it starts with `[imadm]`, a keyword a
/// DingTalk robot's keyword check can require), then the details.
fn text(m: &Queued, a: &Alert, server_id: &str, markup: Markup) -> String {
    let md = markup == Markup::Markdown;
    let c = |s: &str| clean(s, markup, false);
    let code = |s: &str| {
        if md {
            format!("`{}`", s.replace('`', "'"))
        } else {
            s.to_owned()
        }
    };
    let mut lines = Vec::new();
    match m.state.as_str() {
        TEST => {
            lines.push(format!(
                "[imadm] test message to channel {} (requested by {})",
                code(&m.channel),
                c(&a.actor)
            ));
            lines.push(format!("server {} at {}", code(server_id), a.at));
        }
        RESOLVED => {
            lines.push(format!(
                "[imadm] RESOLVED alert #{}: {} ({})",
                a.id,
                code(&a.rule),
                a.severity
            ));
            lines.push(c(&a.detail));
            lines.push(format!(
                "resolved by {} at {}: {}",
                c(a.state_by.as_deref().unwrap_or("?")),
                a.state_at.as_deref().unwrap_or("?"),
                clean(a.note.as_deref().unwrap_or(""), markup, true)
            ));
            lines.push(format!("server {}", code(server_id)));
        }
        _ => {
            lines.push(format!(
                "[imadm] {} alert #{}: {}",
                a.severity.to_uppercase(),
                a.id,
                code(&a.rule)
            ));
            lines.push(c(&a.detail));
            lines.push(format!(
                "actor {:?}, server {}, at {}",
                c(&a.actor),
                code(server_id),
                a.at
            ));
        }
    }
    // Markdown needs a blank line for a line break.
    lines.join(if md { "\n\n" } else { "\n" })
}

/// At most `max` bytes, cut at a character boundary.
fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut at = max - 3;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
        s.push_str("...");
    }
    s
}

/// Whether the receiver took the message: a 2xx answer, and for the chat robots a zero
/// error code in their JSON (DingTalk and WeCom `errcode`, Feishu `code` or the older
/// `StatusCode`). `Err` says why, in a form fit for `notify status` (receiver text is
/// cleaned and cut short).
pub fn check_response(kind: Kind, status: u16, body: &[u8]) -> Result<(), String> {
    let snippet = || {
        let t = String::from_utf8_lossy(&body[..body.len().min(200)]);
        let t = clean(t.trim(), Markup::Plain, false);
        if t.is_empty() {
            String::new()
        } else {
            format!(": {t}")
        }
    };
    if !(200..300).contains(&status) {
        return Err(format!("HTTP {status}{}", snippet()));
    }
    let field =
        |v: &Value, keys: &[&str]| keys.iter().find_map(|k| v.get(*k).and_then(Value::as_i64));
    let text = |v: &Value, keys: &[&str]| {
        keys.iter()
            .find_map(|k| v.get(*k).and_then(Value::as_str))
            .map(|s| {
                clean(
                    &s.chars().take(200).collect::<String>(),
                    Markup::Plain,
                    false,
                )
            })
            .unwrap_or_default()
    };
    let (codes, messages): (&[&str], &[&str]) = match kind {
        Kind::DingTalk | Kind::WeCom => (&["errcode"], &["errmsg"]),
        Kind::Feishu => (&["code", "StatusCode"], &["msg", "StatusMessage"]),
        Kind::Webhook | Kind::Slack => return Ok(()),
    };
    let v: Value = serde_json::from_slice(body).map_err(|_| {
        format!(
            "HTTP {status} but not the receiver's JSON answer{}",
            snippet()
        )
    })?;
    match field(&v, codes) {
        Some(0) => Ok(()),
        Some(code) => Err(format!("error code {code}: {}", text(&v, messages))),
        None => Err(format!("HTTP {status} without an error code{}", snippet())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(state: &str) -> Queued {
        Queued {
            id: 9,
            channel: "ops".into(),
            alert_id: (state != TEST).then_some(7),
            state: state.into(),
            payload: String::new(),
            created_ms: 0,
            attempts: 0,
            next_ms: 0,
            delivered_ms: None,
            last_error: None,
        }
    }

    fn alert() -> Alert {
        Alert {
            id: 7,
            at: "2026-11-26T08:00:00.000Z".into(),
            rule: "login_failures".into(),
            severity: "medium".into(),
            actor: "<at user_id=\"all\">all</at> [x](https://evil.example) <!channel> \u{1b}[2J"
                .into(),
            detail: "5 failed logins within 10m".into(),
            event_seq: 12,
            state: "resolved".into(),
            state_at: Some("2026-11-26T09:00:00.000Z".into()),
            state_by: Some("bob".into()),
            note: Some("line1\nline2 *bold*".into()),
        }
    }

    fn config(kind: &str, extra: &str) -> std::sync::Arc<Channel> {
        let c = super::super::config::parse(
            &format!("[channel.ops]\nkind = \"{kind}\"\nurl = \"https://r.example/send?access_token=t\"\n{extra}"),
            &|_| None,
        )
        .unwrap();
        c.channels[0].clone()
    }

    /// Mentions, links and escape sequences from alert text never reach a chat as markup.
    #[test]
    fn untrusted_text_is_neutralised_per_receiver() {
        let a = alert();
        for (markup, banned) in [
            (Markup::Slack, &["<!channel>", "<at", "\u{1b}"][..]),
            (Markup::Tags, &["<at", "<!channel>", "\u{1b}"][..]),
            (Markup::Markdown, &["[x](", "<at", "*bold*", "\u{1b}"][..]),
            (Markup::Plain, &["\u{1b}"][..]),
        ] {
            // Raised: the actor (hostile here) is shown, escaped.
            let t = text(&queued(crate::store::notify::RAISED), &a, "srv", markup);
            for b in banned {
                assert!(!t.contains(b), "{markup:?}: {b:?} in {t}");
            }
            assert!(t.contains("\\u{1b}"), "{t}");
            // Resolved: the note keeps its lines, its markup neutralised.
            let t = text(&queued(RESOLVED), &a, "srv", markup);
            for b in banned {
                assert!(!t.contains(b), "{markup:?}: {b:?} in {t}");
            }
            assert!(t.starts_with("[imadm] RESOLVED alert #7"), "{t}");
            assert!(
                t.contains("line1\n"),
                "{markup:?}: the note keeps its lines: {t}"
            );
        }
        let raised = text(
            &queued(crate::store::notify::RAISED),
            &a,
            "srv",
            Markup::Slack,
        );
        assert!(raised.contains("&lt;!channel&gt;"), "{raised}");
    }

    #[test]
    fn requests_per_kind() {
        let a = alert();
        let m = queued("open");
        // DingTalk: signed in the query, after the access token.
        let r = request(
            &config("dingtalk", "secret = \"SECx\"\nmsgtype = \"markdown\""),
            &m,
            &a,
            "srv",
            1_700_000_000_000,
        );
        let q: Vec<(String, String)> = r.url.query_pairs().into_owned().collect();
        assert_eq!(q[0], ("access_token".into(), "t".into()));
        assert_eq!(q[1], ("timestamp".into(), "1700000000000".into()));
        assert_eq!(q[2].1, sign::dingtalk(b"SECx", 1_700_000_000_000));
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["msgtype"], "markdown");
        assert!(v["markdown"]["title"].as_str().unwrap().contains("#7"));
        // Feishu: signed in the body, timestamp in seconds as a string.
        let r = request(
            &config("feishu", "secret = \"s\""),
            &m,
            &a,
            "srv",
            1_700_000_000_999,
        );
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["timestamp"], "1700000000");
        assert_eq!(v["sign"], sign::feishu(b"s", 1_700_000_000));
        assert_eq!(v["msg_type"], "text");
        // WeCom and Slack.
        let v: Value =
            serde_json::from_slice(&request(&config("wecom", ""), &m, &a, "srv", 0).body).unwrap();
        assert_eq!(v["msgtype"], "text");
        assert!(
            v["text"]["content"]
                .as_str()
                .unwrap()
                .starts_with("[imadm] MEDIUM alert #7")
        );
        let v: Value =
            serde_json::from_slice(&request(&config("slack", ""), &m, &a, "srv", 0).body).unwrap();
        assert!(v["text"].is_string());
        // The webhook: Alertmanager v4, Standard Webhooks headers over the exact body.
        let ch = config(
            "webhook",
            "secret = \"whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD\"",
        );
        let r = request(&ch, &queued(RESOLVED), &a, "srv-1", 1_700_000_000_999);
        let h = |k: &str| r.headers.iter().find(|(n, _)| *n == k).unwrap().1.clone();
        assert_eq!(h("webhook-id"), "imadm_srv_1_alert7_resolved");
        assert_eq!(h("webhook-timestamp"), "1700000000");
        assert_eq!(
            h("webhook-signature"),
            sign::standard_webhooks(
                ch.secret().unwrap(),
                &h("webhook-id"),
                1_700_000_000,
                &r.body
            )
        );
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            (v["version"].as_str(), v["status"].as_str()),
            (Some("4"), Some("resolved"))
        );
        assert_eq!(v["alerts"][0]["labels"]["alertname"], "login_failures");
        assert_eq!(v["alerts"][0]["endsAt"], "2026-11-26T09:00:00.000Z");
        assert_eq!(v["alerts"][0]["annotations"]["resolved_by"], "bob");
        let firing = alertmanager("ops", &m, &a, "srv");
        assert_eq!(firing["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    }

    #[test]
    fn answers_are_read_per_kind() {
        assert!(check_response(Kind::Webhook, 204, b"").is_ok());
        assert_eq!(
            check_response(Kind::Slack, 500, b"oops\x1b").unwrap_err(),
            "HTTP 500: oops\\u{1b}"
        );
        assert!(check_response(Kind::DingTalk, 200, br#"{"errcode":0,"errmsg":"ok"}"#).is_ok());
        assert_eq!(
            check_response(
                Kind::DingTalk,
                200,
                br#"{"errcode":310000,"errmsg":"sign not match"}"#
            )
            .unwrap_err(),
            "error code 310000: sign not match"
        );
        assert!(check_response(Kind::WeCom, 200, b"not json").is_err());
        assert!(
            check_response(
                Kind::Feishu,
                200,
                br#"{"code":0,"msg":"success","data":{}}"#
            )
            .is_ok()
        );
        assert!(
            check_response(
                Kind::Feishu,
                200,
                br#"{"StatusCode":0,"StatusMessage":"success"}"#
            )
            .is_ok()
        );
        assert!(
            check_response(
                Kind::Feishu,
                200,
                br#"{"code":19021,"msg":"sign match fail"}"#
            )
            .is_err()
        );
    }
}
