//! Server text in the terminal (README "Server text in the terminal"): a username sent to
//! the unauthenticated login and an IM user's nick name are under an attacker's control,
//! and reach the operator through `audit log`, `audit alerts` and `user show`. Every
//! human, csv and tsv form must show control characters as escapes (never emit ESC, BEL,
//! C1 or DEL) and defuse spreadsheet formulas; JSON must carry the exact text.

use std::process::Output;

use serde_json::{Value, json};

use crate::harness::*;
use crate::rbac::Api;

/// Clear the screen, set the window title (OSC ... BEL), hide the text that follows.
const ESCAPES: &str = "\u{1b}[2J\u{1b}]0;pwned\u{7}\u{1b}[8m";
/// The same, as the CLI must show it.
const SHOWN: &str = "\\u{1b}[2J\\u{1b}]0;pwned\\u{7}\\u{1b}[8m";

/// No byte a terminal would obey: C0 other than newline and tab, DEL, C1.
fn assert_inert(what: &str, out: &Output) {
    for (stream, text) in [("stdout", stdout(out)), ("stderr", stderr(out))] {
        let bad: Vec<char> = text
            .chars()
            .filter(|c| c.is_control() && !matches!(c, '\n' | '\t'))
            .collect();
        assert!(
            bad.is_empty(),
            "{what}: raw control characters {bad:?} on {stream}\n{}",
            describe(out)
        );
    }
}

fn items(out: &Output) -> Vec<Value> {
    assert_success(out);
    json_stdout(out).as_array().cloned().unwrap_or_default()
}

#[test]
fn a_hostile_login_name_reaches_audit_log_and_alerts_escaped() {
    let server = Server::start();
    let api = Api::new(&server);
    // Starts like a formula too (CSV injection), and is an unknown operator.
    let evil = format!("=1+2{ESCAPES}x");
    for _ in 0..5 {
        let (st, _) = api.call(
            "POST",
            "/admin/auth/login",
            None,
            None,
            Some(&json!({"username": evil, "password": "wrong-password"})),
        );
        assert_ne!(st, 200);
    }
    server.login();
    // An operator's own free text reaches the log too: a service token's name is recorded
    // in the `token.create` event's detail.
    let out = run(server
        .imadm()
        .args(["token", "create", "--name", &evil, "--scope", "user:read"])
        .args([
            "--expires",
            "1d",
            "-o",
            "json",
            "--otp",
            &server.next_code(),
        ]));
    assert_success(&out);
    let out = run(server
        .imadm()
        .args(["audit", "log", "--action", "token.create"])
        .args(["-o", "tsv"]));
    assert_success(&out);
    assert_inert("audit log (token.create) -o tsv", &out);
    assert!(stdout(&out).contains(SHOWN), "{}", describe(&out));
    let out = run(server
        .imadm()
        .args(["audit", "log", "--action", "token.create"]));
    assert_success(&out);
    assert_inert("audit log (token.create) -o table", &out);
    assert!(stdout(&out).contains(SHOWN), "{}", describe(&out));

    // JSON is exact: whatever the server recorded comes back byte for byte.
    let events = items(&run(server.imadm().args(["audit", "log", "-o", "json"])));
    let recorded = events.iter().any(|e| e["actor"] == evil.as_str());
    let alerts = items(&run(server.imadm().args(["audit", "alerts", "-o", "json"])));
    let alerted = alerts.iter().any(|a| a["actor"] == evil.as_str());

    for (command, shows_name) in [("log", recorded), ("alerts", alerted)] {
        for format in ["table", "tsv", "csv"] {
            let out = run(server.imadm().args(["audit", command, "-o", format]));
            assert_success(&out);
            let what = format!("audit {command} -o {format}");
            assert_inert(&what, &out);
            // Where the server recorded the name as sent, it is there, made visible. (A
            // server that pseudonymises unknown names shows it nowhere, which is fine.)
            if shows_name {
                assert!(stdout(&out).contains(SHOWN), "{what}\n{}", describe(&out));
                if format != "table" {
                    assert!(
                        stdout(&out).contains("'=1+2"),
                        "{what}: no formula guard\n{}",
                        describe(&out)
                    );
                }
            }
        }
    }
}

#[test]
fn a_hostile_nick_name_is_escaped_in_every_human_and_spreadsheet_form_and_exact_in_json() {
    let server = Server::start();
    server.login();
    let nick = format!("=HYPERLINK(\"http://evil.example\",\"x\"){ESCAPES}\u{9b}1m\u{202e}end");
    let out = run(server
        .imadm()
        .args([
            "user",
            "create",
            "nick_victim",
            "--password-stdin",
            "-o",
            "json",
        ])
        .arg("--nick-name")
        .arg(&nick)
        .write_stdin("pw-for-tests\n"));
    assert_success(&out);

    let out = run(server
        .imadm()
        .args(["user", "show", "nick_victim", "-o", "json"]));
    assert_success(&out);
    assert_eq!(
        json_stdout(&out)["nick_name"],
        nick.as_str(),
        "exact in JSON"
    );
    let out = run(server
        .imadm()
        .args(["user", "show", "nick_victim", "-o", "jsonl"]));
    assert_success(&out);
    assert_eq!(
        json_stdout(&out)["nick_name"],
        nick.as_str(),
        "exact in JSONL"
    );

    for format in ["table", "csv", "tsv"] {
        let out = run(server
            .imadm()
            .args(["user", "show", "nick_victim", "-o", format]));
        assert_success(&out);
        let what = format!("user show -o {format}");
        assert_inert(&what, &out);
        let text = stdout(&out);
        assert!(text.contains(SHOWN), "{what}\n{}", describe(&out));
        assert!(
            text.contains("\\u{9b}1m"),
            "{what}: C1 CSI\n{}",
            describe(&out)
        );
        if format == "table" {
            assert!(
                text.contains("\\u{202e}end"),
                "{what}: bidi\n{}",
                describe(&out)
            );
        } else {
            assert!(
                text.contains("'=HYPERLINK("),
                "{what}: formula\n{}",
                describe(&out)
            );
        }
    }

    // Lists: the same writer, whatever the columns.
    for format in ["table", "csv", "tsv"] {
        let out = run(server.imadm().args(["user", "list", "-o", format]));
        assert_success(&out);
        assert_inert(&format!("user list -o {format}"), &out);
        assert!(stdout(&out).contains("nick_victim"), "{}", describe(&out));
    }
}
