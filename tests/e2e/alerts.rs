//! The alert workflow through the real binary (issue #17 section 1): `audit alerts ack`
//! and `resolve` move an alert `open → acknowledged → resolved` with a note, under
//! `security:manage`; illegal transitions are conflicts (exit 7); roles without the
//! permission are refused (exit 5) and the refusal is audited; nobody closes an alert
//! their own actions raised; `--state` filters the list.

use serde_json::{Value, json};

use crate::harness::*;
use crate::rbac::{Acting, Api};

/// `-o jsonl` lines of `audit alerts ARGS` as the dev owner.
fn listed(server: &Server, args: &[&str]) -> Vec<Value> {
    let out = run(server
        .imadm()
        .args(["audit", "alerts", "-o", "jsonl"])
        .args(args));
    assert_success(&out);
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn ids(v: &[Value]) -> Vec<u64> {
    v.iter().map(|a| a["id"].as_u64().unwrap()).collect()
}

#[test]
fn alerts_move_open_acknowledged_resolved_with_notes_under_security_manage() {
    let server = Server::start_with(&[
        "--seed-operator",
        "victim:support",
        "--seed-operator",
        "aud:auditor",
        "--seed-operator",
        "sup:support",
        "--seed-operator",
        "sec:admin",
    ]);
    server.login();
    // Two alerts: failed logins of `victim` (medium), and the owner granting admin (high).
    let api = Api::new(&server);
    for _ in 0..5 {
        api.call(
            "POST",
            "/admin/auth/login",
            None,
            None,
            Some(&json!({"username": "victim", "password": "wrong-password-1"})),
        );
    }
    let out = run(server
        .imadm()
        .args(["operator", "grant", "victim", "admin", "--yes"])
        .args(["--otp", &server.next_code()]));
    assert_success(&out);
    let all = listed(&server, &[]);
    let failures = all.iter().find(|a| a["rule"] == "login_failures").unwrap();
    let escalation = all.iter().find(|a| a["rule"] == "role_escalation").unwrap();
    let (f_id, e_id) = (
        failures["id"].as_u64().unwrap(),
        escalation["id"].as_u64().unwrap(),
    );
    assert!(all.iter().all(|a| a["state"] == "open"), "{all:?}");
    let (f, e) = (f_id.to_string(), e_id.to_string());

    // Roles without security:manage are refused, and nothing changes.
    for who in ["aud", "sup"] {
        let acting = Acting::login(&server, who);
        for verb in ["ack", "resolve"] {
            let out = acting.run(&["audit", "alerts", verb, &f, "--note", "not mine to close"]);
            assert_error(&out, 5, "security:manage");
        }
    }
    assert_eq!(
        server
            .sql("SELECT count(*) FROM audit_log WHERE action IN ('alert.ack', 'alert.resolve') AND outcome = 'denied'")
            .trim(),
        "4"
    );
    assert_eq!(server.sql("SELECT count(*) FROM alert_events").trim(), "0");

    // The owner raised the escalation alert: a second operator must look at it.
    let out = run(server
        .imadm()
        .args(["audit", "alerts", "ack", &e, "--note", "that was me"]));
    assert_error(&out, 5, "your own actions");

    // Notes are required, bounded and free of control characters.
    let sec = Acting::login(&server, "sec");
    let long = "x".repeat(1001);
    for (note, needle) in [
        ("", "empty"),
        (long.as_str(), "more than 1000"),
        ("\u{1b}[2Jgone", "control characters"),
    ] {
        let out = sec.run(&["audit", "alerts", "ack", &f, "--note", note, "-o", "table"]);
        assert_error(&out, 2, needle);
    }
    let out = sec.run(&[
        "audit",
        "alerts",
        "ack",
        "999999",
        "--note",
        "no such alert",
    ]);
    assert_error(&out, 6, "no alert #999999");

    // open → acknowledged, the note shown escaped (a bidi override is not obeyed).
    let note = "checking with victim \u{202e}txt.exe";
    let out = sec.run(&["audit", "alerts", "ack", &f, "--note", note, "-o", "table"]);
    assert_success(&out);
    let shown = stdout(&out);
    assert!(
        shown.contains("acknowledged") && shown.contains("sec"),
        "{shown}"
    );
    assert!(
        shown.contains("\\u{202e}") && !shown.contains('\u{202e}'),
        "{shown}"
    );
    let out = sec.run(&[
        "audit", "alerts", "ack", &f, "--note", "again", "-o", "json",
    ]);
    assert_error(&out, 7, "already acknowledged");

    // --state filters; the STATE column shows it.
    assert_eq!(ids(&listed(&server, &["--state", "acknowledged"])), [f_id]);
    // (The failed logins may also have locked `victim`: a third, open alert.)
    let others: Vec<u64> = ids(&all).into_iter().filter(|i| *i != f_id).collect();
    assert!(others.contains(&e_id));
    assert_eq!(ids(&listed(&server, &["--state", "open"])), others);
    assert_eq!(
        ids(&listed(
            &server,
            &["--state", "open", "--state", "acknowledged"]
        )),
        ids(&all)
    );
    let table = stdout(&run(server
        .imadm()
        .args(["audit", "alerts", "-o", "table"])));
    assert!(table.to_lowercase().contains("state"), "{table}");

    // → resolved; then every further change is a conflict.
    let out = sec.run(&[
        "audit",
        "alerts",
        "resolve",
        &f,
        "--note",
        "victim mistyped; no attack",
        "-o",
        "json",
    ]);
    assert_success(&out);
    let v = json_stdout(&out);
    assert_eq!(
        (v["state"].as_str(), v["state_by"].as_str()),
        (Some("resolved"), Some("sec"))
    );
    for verb in ["ack", "resolve"] {
        let out = sec.run(&["audit", "alerts", verb, &f, "--note", "once more"]);
        assert_error(&out, 7, "already resolved");
    }
    // open → resolved directly (a false positive).
    let out = sec.run(&[
        "audit",
        "alerts",
        "resolve",
        &e,
        "--note",
        "planned promotion",
    ]);
    assert_success(&out);
    assert_eq!(
        ids(&listed(&server, &["--state", "resolved"])),
        [f_id, e_id]
    );
    assert!(!ids(&listed(&server, &["--state", "open"])).contains(&e_id));

    // Audited with the note (evidence), the refused attempts with their error code.
    let rows = server.sql(
        "SELECT action || '|' || actor || '|' || outcome || '|' || coalesce(detail, '') \
         FROM audit_log WHERE action IN ('alert.ack', 'alert.resolve') AND actor = 'sec' \
         ORDER BY seq",
    );
    let rows: Vec<&str> = rows.lines().collect();
    assert!(
        rows.contains(&format!("alert.ack|sec|success|{note}").as_str()),
        "{rows:?}"
    );
    assert!(
        rows.contains(&"alert.resolve|sec|success|planned promotion"),
        "{rows:?}"
    );
    assert!(
        rows.iter().any(|r| r.starts_with("alert.ack|sec|failure|")),
        "{rows:?}"
    );
}

/// Failed logins name the account attacked, not an actor: on an install with one owner,
/// the owner acknowledges and resolves the alert about attempts on its own account.
#[test]
fn the_operator_attacked_may_close_alerts_about_failed_logins_as_it() {
    let server = Server::start();
    server.login();
    let api = Api::new(&server);
    for _ in 0..5 {
        api.call(
            "POST",
            "/admin/auth/login",
            None,
            None,
            Some(&json!({"username": "admin", "password": "wrong-password-1"})),
        );
    }
    let all = listed(&server, &[]);
    let failures = all
        .iter()
        .find(|a| a["rule"] == "login_failures" && a["actor"] == "admin")
        .unwrap_or_else(|| panic!("no login_failures alert for admin: {all:?}"));
    let id = failures["id"].as_u64().unwrap().to_string();
    for verb in ["ack", "resolve"] {
        let out = run(server.imadm().args([
            "audit",
            "alerts",
            verb,
            &id,
            "--note",
            "my own typos after the password change",
        ]));
        assert_success(&out);
    }
    assert_eq!(
        ids(&listed(&server, &["--state", "resolved"])),
        vec![id.parse::<u64>().unwrap()]
    );
}
