//! `imadm incident` against the real server: an incident is opened, listed, shown with its
//! timeline and closed, each step audited; a closed incident takes no further steps; only
//! `security:manage` may change one.

use serde_json::{Value, json};

use crate::harness::*;
use crate::rbac::{Acting, Api};

fn json_of(server: &Server, args: &[&str]) -> Value {
    let out = run(server.imadm().args(args).args(["-o", "json"]));
    assert_success(&out);
    json_stdout(&out)
}

/// `(action, target, outcome, detail)` of the audit events whose action starts with `prefix`.
fn audited(server: &Server, prefix: &str) -> Vec<(String, String, String, String)> {
    let out = run(server.imadm().args(["audit", "log", "-o", "jsonl"]));
    assert_success(&out);
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["action"].as_str().unwrap().starts_with(prefix))
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or("").to_owned();
            (s("action"), s("target"), s("outcome"), s("detail"))
        })
        .collect()
}

#[test]
fn an_incident_is_opened_shown_and_closed_and_a_closed_one_takes_no_steps() {
    let server = Server::start();
    server.login();
    let opened = json_of(
        &server,
        &[
            "incident",
            "open",
            "--title",
            "support token leaked \u{202e}gnp.exe",
            "--severity",
            "high",
        ],
    );
    assert_eq!(opened["id"], 1, "{opened:#}");
    assert_eq!(opened["state"], "open");
    assert_eq!(opened["severity"], "high");
    assert_eq!(opened["opened_by"], server.info.username.as_str());

    // A step the CLI took elsewhere, with a detail a terminal must not obey.
    let api = Api::new(&server);
    let token = server.token();
    let (status, env) = api.call(
        "POST",
        "/admin/incidents/1/events",
        Some(&token),
        None,
        Some(&json!({"kind": "note", "detail": {"what": "restore \u{1b}[2J done"}})),
    );
    assert_eq!((status, &env["code"]), (200, &json!(200)), "{env:#}");
    assert_eq!(env["data"]["seq"], 2);

    let shown = json_of(&server, &["incident", "show", "1"]);
    let kinds: Vec<&str> = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["opened", "note"], "{shown:#}");
    // Human output escapes what a terminal would obey or reorder.
    let table = |server: &Server| {
        let out = run(server
            .imadm()
            .args(["incident", "show", "1", "-o", "table"]));
        assert_success(&out);
        stdout(&out)
    };
    let text = table(&server);
    assert!(!text.contains('\u{202e}'), "raw bidi control in {text}");
    assert!(
        text.contains("support token leaked \\u{202e}gnp.exe"),
        "{text:?}"
    );
    assert!(text.contains("restore \\u001b[2J done"), "{text}");

    let closed = json_of(
        &server,
        &[
            "incident",
            "close",
            "1",
            "--summary",
            "token revoked\n32 users notified",
        ],
    );
    assert_eq!(closed["state"], "closed", "{closed:#}");
    assert!(closed["closed_at"].is_string());
    let text = table(&server);
    assert!(text.contains("token revoked\\n32 users notified"), "{text}");

    // Final: no new step, no second close.
    let (status, env) = api.call(
        "POST",
        "/admin/incidents/1/events",
        Some(&token),
        None,
        Some(&json!({"kind": "note", "detail": {}})),
    );
    assert_eq!((status, &env["code"]), (409, &json!(50012)), "{env:#}");
    assert!(
        env["message"].as_str().unwrap().contains("closed"),
        "{env:#}"
    );
    assert_error(
        &run(server
            .imadm()
            .args(["incident", "close", "1", "--summary", "again"])),
        7,
        "closed",
    );
    assert_error(
        &run(server.imadm().args(["incident", "show", "9"])),
        6,
        "no incident #9",
    );

    let list = run(server.imadm().args(["incident", "list", "-o", "jsonl"]));
    assert_success(&list);
    let rows: Vec<Value> = stdout(&list)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["state"], "closed");
    let csv = run(server.imadm().args(["incident", "show", "1", "-o", "csv"]));
    assert_success(&csv);
    assert!(
        stdout(&csv).starts_with("incident,seq,at,actor,kind,detail\n"),
        "{}",
        stdout(&csv)
    );

    let events = audited(&server, "incident.");
    let t = |a: &str, t: &str, o: &str| events.iter().any(|e| e.0 == a && e.1 == t && e.2 == o);
    assert!(t("incident.open", "incident:1", "success"), "{events:?}");
    assert!(t("incident.record", "incident:1", "success"), "{events:?}");
    assert!(t("incident.close", "incident:1", "success"), "{events:?}");
    assert!(t("incident.record", "incident:1", "failure"), "{events:?}");
    assert!(t("incident.close", "incident:1", "failure"), "{events:?}");
    // The timeline is append-only in the database too.
    let delete = std::process::Command::new("sqlite3")
        .arg(server.data_dir.join("imadm.db"))
        .arg("DELETE FROM incident_events")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&delete.stderr).contains("append-only"),
        "{delete:?}"
    );
    assert_eq!(
        server.sql("SELECT count(*) FROM incident_events").trim(),
        "3"
    );
}

#[test]
fn only_security_manage_opens_or_closes_an_incident() {
    let server = Server::start_with(&[
        "--seed-operator",
        "aud:auditor",
        "--seed-operator",
        "sup:support",
    ]);
    server.login();
    assert_success(&run(server
        .imadm()
        .args(["incident", "open", "--title", "t"])));
    let aud = Acting::login(&server, "aud");
    let sup = Acting::login(&server, "sup");
    for who in [&aud, &sup] {
        assert_error(
            &who.run(&["incident", "open", "--title", "mine"]),
            5,
            "security:manage",
        );
        assert_error(
            &who.run(&["incident", "close", "1", "--summary", "mine"]),
            5,
            "security:manage",
        );
    }
    // The auditor reads (security:read), support does not.
    assert_success(&aud.run(&["incident", "show", "1"]));
    assert_error(&sup.run(&["incident", "list"]), 5, "security:read");
    let denied = audited(&server, "incident.");
    assert_eq!(
        denied.iter().filter(|e| e.2 == "denied").count(),
        4,
        "{denied:?}"
    );
}
