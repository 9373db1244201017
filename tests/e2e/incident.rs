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
    let refused = server.sql_refused("DELETE FROM incident_events");
    assert!(refused.contains("append-only"), "{refused}");
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

/// IM users `breach_00` … created by the owner; their ids, in order.
fn create_users(server: &Server, n: usize) -> Vec<i64> {
    let api = Api::new(server);
    let token = server.token();
    let list: Vec<Value> = (0..n)
        .map(|i| json!({"username": format!("breach_{i:02}"), "password": "pw-123456"}))
        .collect();
    let (_, env) = api.call(
        "POST",
        "/user/register/batch",
        Some(&token),
        None,
        Some(&json!({ "list": list })),
    );
    assert_eq!(env["code"], 200, "{env}");
    env["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["user_id"].as_i64().unwrap())
        .collect()
}

/// `(id, secret)` of a new service token of the owner with `scopes`.
fn create_token(server: &Server, name: &str, scopes: &[&str]) -> (i64, String) {
    let mut args = vec!["token", "create", "--name", name, "--expires", "30d"];
    for s in scopes {
        args.extend(["--scope", s]);
    }
    let code = server.next_code();
    args.extend(["-o", "json", "--otp", &code]);
    let out = run(server.imadm().args(&args));
    assert_success(&out);
    let v = json_stdout(&out);
    (
        v["id"].as_i64().unwrap(),
        v["secret"].as_str().unwrap().to_owned(),
    )
}

/// A Lanying-style request with `credential` as the access token (and a `user_id` header).
fn im_call(
    server: &Server,
    http: &reqwest::blocking::Client,
    credential: &str,
    method: reqwest::Method,
    path: &str,
    user_id: Option<i64>,
    body: Option<Value>,
) -> Value {
    let mut rb = http
        .request(method, format!("{}{path}", server.info.server))
        .header("app_id", &server.info.app_id)
        .header("access-token", credential);
    if let Some(u) = user_id {
        rb = rb.header("user_id", u.to_string());
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    rb.send().unwrap().json().unwrap()
}

/// The breach: the leaked token reads the history of `read` users and exports `exported`.
fn leak(server: &Server, secret: &str, read: &[i64], exported: &[i64], opposite: i64) {
    let http = server.https_client();
    for u in read {
        let env = im_call(
            server,
            &http,
            secret,
            reqwest::Method::GET,
            &format!("/message/conversation?opposite_id={opposite}&msg_id_start=0&limit=10"),
            Some(*u),
            None,
        );
        assert_eq!(env["code"], 200, "{env}");
    }
    for u in exported {
        let resp = http
            .get(format!("{}/admin/users/{u}/export", server.info.server))
            .header("app_id", &server.info.app_id)
            .header("access-token", secret)
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let _ = resp.bytes().unwrap();
    }
}

#[test]
fn scope_names_exactly_the_users_a_token_read_or_exported_and_names_need_user_read() {
    let server = Server::start_with(&["--seed-operator", "aud:auditor"]);
    server.login();
    let ids = create_users(&server, 36);
    let (token_id, secret) = create_token(&server, "leaky", &["message:read", "user:export"]);
    // Another token's reads are not this one's.
    let (_, other) = create_token(&server, "other", &["message:read"]);
    leak(&server, &other, &ids[34..36], &[], ids[33]);
    leak(&server, &secret, &ids[..30], &ids[30..32], ids[33]);
    let incident = json_of(&server, &["incident", "open", "--title", "leaky token"]);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("affected.csv");
    let out = run(server.imadm().args([
        "incident",
        "scope",
        "--incident",
        "1",
        "--token",
        &token_id.to_string(),
        "--since",
        "1h",
        "--out",
        csv.to_str().unwrap(),
        "-o",
        "json",
    ]));
    assert_success(&out);
    assert_eq!(incident["id"], 1);
    let scope = json_stdout(&out);
    assert_eq!(scope["events_total"], 32, "{scope:#}");
    assert_eq!(scope["resolved"], true);
    let users = scope["users"].as_array().unwrap();
    let mut found: Vec<i64> = users
        .iter()
        .map(|u| u["user_id"].as_i64().unwrap())
        .collect();
    found.sort();
    assert_eq!(found, ids[..32].to_vec(), "{scope:#}");
    let exported: Vec<&Value> = users
        .iter()
        .filter(|u| u["exposure"] == json!(["user.export"]))
        .collect();
    assert_eq!(exported.len(), 2, "{scope:#}");
    assert_eq!(users[0]["name"], "breach_00");

    // The file for the next steps: 0600, one line per user.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&csv).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "user_id,name,exposure");
    assert_eq!(lines.len(), 33, "{text}");
    assert!(
        lines.contains(&format!("{},breach_00,message.read", ids[0]).as_str()),
        "{text}"
    );
    assert!(
        lines.contains(&format!("{},breach_31,user.export", ids[31]).as_str()),
        "{text}"
    );

    // Counts on the timeline; the audit log has the query, never a user id or name.
    let shown = json_of(&server, &["incident", "show", "1"]);
    let step = &shown["events"][1];
    assert_eq!(step["kind"], "scope", "{shown:#}");
    assert_eq!(step["detail"]["users"], 32);
    assert_eq!(step["detail"]["user_export_users"], 2);
    let log = run(server
        .imadm()
        .args(["audit", "log", "--action", "incident.", "-o", "jsonl"]));
    assert_success(&log);
    let log = stdout(&log);
    assert!(log.contains("\"incident.scope\""), "{log}");
    assert!(!log.contains("breach_"), "{log}");

    // Without user:read the users stay pseudonyms, and no file of them is written.
    let (_, reader) = create_token(&server, "reader", &["security:read", "audit:read"]);
    // It lists audit events: without audit:read, nothing.
    let (_, no_log) = create_token(&server, "no-log", &["security:read", "user:read"]);
    assert_error(
        &run(server.imadm().env("IMADM_TOKEN", &no_log).args([
            "incident",
            "scope",
            "--token",
            &token_id.to_string(),
            "--since",
            "1h",
        ])),
        5,
        "audit:read",
    );
    let out = run(server.imadm().env("IMADM_TOKEN", &reader).args([
        "incident",
        "scope",
        "--token",
        &token_id.to_string(),
        "--since",
        "1h",
        "-o",
        "json",
    ]));
    assert_success(&out);
    let scope = json_stdout(&out);
    assert_eq!(scope["resolved"], false);
    let users = scope["users"].as_array().unwrap();
    assert_eq!(users.len(), 32, "{scope:#}");
    assert!(
        users.iter().all(|u| u["user_id"].is_null()
            && u["name"].is_null()
            && u["pseudonym"].as_str().unwrap().starts_with("user:")),
        "{scope:#}"
    );
    let other_csv = dir.path().join("other.csv");
    assert_error(
        &run(server.imadm().env("IMADM_TOKEN", &reader).args([
            "incident",
            "scope",
            "--token",
            &token_id.to_string(),
            "--since",
            "1h",
            "--out",
            other_csv.to_str().unwrap(),
        ])),
        5,
        "user:read",
    );
    assert!(!other_csv.exists());
}

/// A second session of the dev owner (its codes from the server's own tracker).
fn owner_session(server: &Server) -> String {
    let api = Api::new(server);
    let (_, env) = api.call(
        "POST",
        "/admin/auth/login",
        None,
        None,
        Some(&json!({"username": server.info.username, "password": server.info.password})),
    );
    let mfa = env["data"]["mfa"]["mfa_token"].as_str().unwrap().to_owned();
    let (_, env) = api.call(
        "POST",
        "/admin/auth/mfa",
        None,
        None,
        Some(&json!({"mfa_token": mfa, "code": server.next_code()})),
    );
    env["data"]["access_token"].as_str().unwrap().to_owned()
}

/// The envelope code of `GET /admin/auth/whoami` with `credential`.
fn whoami_code(server: &Server, credential: &str) -> Value {
    let (_, env) = Api::new(server).call("GET", "/admin/auth/whoami", Some(credential), None, None);
    env["code"].clone()
}

#[test]
fn a_scripted_breach_is_scoped_contained_notified_and_reported() {
    let server = Server::start_with(&[
        "--seed-operator",
        "aud:auditor",
        "--seed-operator",
        "adm:admin",
    ]);
    server.login();
    let ids = create_users(&server, 33);
    let (token_id, secret) = create_token(&server, "leaky", &["message:read", "user:export"]);
    leak(&server, &secret, &ids[..30], &ids[30..32], ids[32]);

    // Other sessions: two operators and a second one of the owner.
    let aud = Acting::login(&server, "aud");
    let adm = Acting::login(&server, "adm");
    let owner_elsewhere = owner_session(&server);
    assert_eq!(whoami_code(&server, &owner_elsewhere), 200);

    assert_success(&run(server.imadm().args([
        "incident",
        "open",
        "--title",
        "leaky token",
        "--severity",
        "critical",
    ])));
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("affected.csv");
    assert_success(&run(server.imadm().args([
        "incident",
        "scope",
        "--incident",
        "1",
        "--token",
        &token_id.to_string(),
        "--since",
        "1h",
        "--out",
        csv.to_str().unwrap(),
    ])));
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 33);

    // Without security:manage, no containment.
    assert_error(
        &aud.run(&[
            "incident",
            "contain",
            "--incident",
            "1",
            "--revoke-tokens",
            "all",
        ]),
        5,
        "security:manage",
    );

    // The dry run says what would happen and changes nothing.
    let contain = [
        "incident",
        "contain",
        "--incident",
        "1",
        "--revoke-tokens",
        "all",
        "--revoke-sessions",
        "all",
    ];
    let out = run(server.imadm().args(contain).args(["-o", "jsonl"]));
    assert_success(&out);
    let plan: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(plan.iter().all(|l| l["outcome"] == "would"), "{plan:#?}");
    let own = plan
        .iter()
        .find(|l| l["principal"] == format!("operator {}", server.info.username))
        .unwrap();
    assert!(own["note"].as_str().unwrap().contains("kept"), "{own}");
    assert_eq!(
        plan.iter()
            .filter(|l| l["action"] == "revoke_token")
            .count(),
        1,
        "{plan:#?}"
    );
    assert!(stderr(&out).contains("Dry run"), "{}", stderr(&out));
    assert_eq!(whoami_code(&server, &secret), 200);

    let code = server.next_code();
    let out = run(server
        .imadm()
        .args(contain)
        .args(["--kick-users", csv.to_str().unwrap()])
        .args(["--apply", "--yes", "--otp", &code, "-o", "jsonl"]));
    assert_success(&out);
    let done: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(done.iter().all(|l| l["outcome"] == "done"), "{done:#?}");
    let kicked = done.iter().find(|l| l["action"] == "kick_users").unwrap();
    assert!(
        kicked["principal"]
            .as_str()
            .unwrap()
            .starts_with("32 IM users"),
        "{kicked}"
    );
    assert!(
        stderr(&out).contains("kick_users: 32/32"),
        "{}",
        stderr(&out)
    );

    // Every other credential is refused; the owner's own session still works.
    for old in [&secret, &owner_elsewhere] {
        assert_ne!(whoami_code(&server, old), 200, "still accepted");
    }
    assert_exit(&aud.run(&["incident", "list"]), 4);
    assert_exit(&adm.run(&["incident", "list"]), 4);
    let shown = json_of(&server, &["incident", "show", "1"]);
    let kinds: Vec<&str> = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["opened", "scope", "contain", "contain"],
        "{shown:#}"
    );
    assert_eq!(shown["events"][2]["detail"]["kicked"], 32, "{shown:#}");
    let step = &shown["events"][3]["detail"];
    assert_eq!(step["revoke_tokens"].as_array().unwrap().len(), 1, "{step}");
    assert_eq!(step["kept_own_session"], true);
    let log = run(server.imadm().args([
        "audit",
        "log",
        "--action",
        "incident.contain",
        "-o",
        "jsonl",
    ]));
    assert_success(&log);
    assert!(
        stdout(&log).contains("revoke 1 token(s)"),
        "{}",
        stdout(&log)
    );

    // Notify: one message per affected user, from a notice account; a re-run sends none.
    let from = ids[32].to_string();
    let template = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/incident-templates/notify.en.txt"
    );
    let notify = [
        "incident",
        "notify",
        "--incident",
        "1",
        "--users",
        csv.to_str().unwrap(),
        "--template",
        template,
        "--from",
        &from,
        "--rate",
        "200/s",
    ];
    let out = run(server
        .imadm()
        .args(notify)
        .args(["--dry-run", "-o", "jsonl"]));
    assert_success(&out);
    let preview: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(preview.len(), 3);
    assert!(
        preview[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Hello breach_"),
        "{preview:#?}"
    );
    let out = run(server.imadm().args(notify).args(["-o", "json"]));
    assert_success(&out);
    let summary = json_stdout(&out);
    assert_eq!(
        (summary["sent"].clone(), summary["failed"].clone()),
        (json!(32), json!(0)),
        "{summary:#}"
    );
    let http = server.https_client();
    let owner = server.token();
    for (i, u) in ids[..32].iter().enumerate() {
        let conv = im_call(
            &server,
            &http,
            &owner,
            reqwest::Method::GET,
            &format!("/message/conversation?opposite_id={from}&msg_id_start=0&limit=10"),
            Some(*u),
            None,
        );
        let msgs = conv["data"]["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 1, "user {u}: {conv:#}");
        let text = msgs[0]["content"].as_str().unwrap();
        assert!(text.contains(&format!("Hello breach_{i:02},")), "{text}");
        assert!(text.contains("leaky token"), "{text}");
    }
    let again = run(server.imadm().args(notify).args(["-o", "json"]));
    assert_success(&again);
    let summary = json_stdout(&again);
    assert_eq!(
        (summary["sent"].clone(), summary["already_notified"].clone()),
        (json!(0), json!(32)),
        "{summary:#}"
    );

    // The signed report lists every step and the GDPR art. 33 fields; then close.
    let (key, allowed) = ssh_keygen_pair(dir.path());
    let report = dir.path().join("incident-1.json");
    let out = run(server.imadm().args([
        "incident",
        "report",
        "1",
        "--out",
        report.to_str().unwrap(),
        "--sign-key",
        key.to_str().unwrap(),
        "--contact",
        "DPO <dpo@example.com>",
        "-o",
        "json",
    ]));
    assert_success(&out);
    let written = json_stdout(&out);
    assert_eq!(written["affected_users"], 32, "{written:#}");
    let verify = ssh_keygen_verify(&allowed, &report, &dir.path().join("incident-1.json.sig"));
    assert!(verify.status.success(), "{}", describe(&verify));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let steps: Vec<&str> = doc["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["opened", "scope", "contain", "contain", "notify"]);
    let notify_step = &doc["timeline"][4]["detail"];
    assert_eq!(notify_step["users"], 32, "{notify_step}");
    // The report names no IM user.
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(
        !text.contains("breach_") && !text.contains("user_id"),
        "{text}"
    );
    let g = &doc["gdpr_art33"];
    assert_eq!(g["data_subjects_approx"], 32, "{g:#}");
    assert_eq!(g["contact_point"], "DPO <dpo@example.com>");
    assert_eq!(doc["restores"], json!([]), "{doc:#}");
    let measures = g["measures_taken"].to_string();
    for m in [
        "service tokens revoked",
        "logged out of every device",
        "32 affected users notified",
    ] {
        assert!(measures.contains(m), "{m}: {measures}");
    }
    let html = dir.path().join("incident-1.html");
    assert_success(&run(server.imadm().args([
        "incident",
        "report",
        "1",
        "--out",
        html.to_str().unwrap(),
    ])));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("GDPR art. 33") && page.contains("to fill in"),
        "{page}"
    );
    assert!(!std::path::Path::new(&format!("{}.sig", html.display())).exists());
    assert_success(&run(server.imadm().args([
        "incident",
        "close",
        "1",
        "--summary",
        "token revoked, 32 users notified",
    ])));
}

#[test]
fn a_containment_skips_whoever_holds_more_than_the_caller_and_says_why() {
    let server = Server::start_with(&[
        "--seed-operator",
        "adm:admin",
        "--seed-operator",
        "own2:owner",
    ]);
    server.login();
    let (_, owner_token) = create_token(&server, "backups", &["backup:restore"]);
    assert_success(&run(server
        .imadm()
        .args(["incident", "open", "--title", "t"])));
    // Two IM users whose passwords the containment replaces.
    let users = create_users(&server, 2);
    let file = server.tmp().join("users.csv");
    std::fs::write(&file, format!("user_id\n{}\n{}\n", users[0], users[1])).unwrap();
    let hashes = "SELECT password_hash FROM im_users ORDER BY user_id";
    let before = server.sql(hashes);
    let own2 = Acting::login(&server, "own2");
    let mut adm = Acting::login(&server, "adm");
    let code = adm.code();
    let out = adm.run(&[
        "incident",
        "contain",
        "--incident",
        "1",
        "--revoke-sessions",
        "all",
        "--revoke-tokens",
        "all",
        "--disable-operators",
        "own2",
        "--reset-user-passwords",
        file.to_str().unwrap(),
        "--apply",
        "--yes",
        "--otp",
        &code,
        "-o",
        "jsonl",
    ]);
    assert_success(&out);
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let line = |action: &str, principal: &str| {
        lines
            .iter()
            .find(|l| {
                l["action"] == action && l["principal"].as_str().unwrap().starts_with(principal)
            })
            .unwrap_or_else(|| panic!("no {action} {principal} in {lines:#?}"))
            .clone()
    };
    for l in [
        line("revoke_sessions", "operator own2"),
        line("disable_operator", "operator own2"),
        line("revoke_token", "token"),
    ] {
        assert_eq!(l["outcome"], "skipped", "{l}");
        assert!(
            l["note"].as_str().unwrap().contains("backup:restore"),
            "{l}"
        );
    }
    // New passwords nobody was shown: the hashes changed, the output holds no password.
    let after = server.sql(hashes);
    assert!(
        before.lines().zip(after.lines()).all(|(a, b)| a != b),
        "{before}\n{after}"
    );
    let reset = line("reset_user_passwords", "2 IM users");
    assert_eq!(reset["outcome"], "done", "{reset}");
    assert!(
        stderr(&out).contains("reset_user_passwords: 2/2"),
        "{}",
        stderr(&out)
    );
    let log = run(server.imadm().args([
        "audit",
        "log",
        "--action",
        "user.password_reset",
        "-o",
        "jsonl",
    ]));
    assert_success(&log);
    assert_eq!(
        stdout(&log)
            .lines()
            .filter(|l| l.contains("\"adm\""))
            .count(),
        2,
        "{}",
        stdout(&log)
    );
    // Nothing of theirs was touched.
    assert_eq!(whoami_code(&server, &owner_token), 200);
    assert_success(&own2.run(&["incident", "list"]));
}

/// A restore in the middle of an incident rolls none of it back: the incident opened after
/// the backup stays, the one closed after it stays closed, every timeline entry stays, and
/// the report lists the restore.
#[test]
fn a_restore_during_an_incident_keeps_the_incidents_and_their_timelines() {
    let server = Server::start();
    server.login();
    assert_success(&run(server
        .imadm()
        .args(["incident", "open", "--title", "first"])));
    let (key, recipient) = crate::backup::keypair(server.tmp());
    let dir = server.tmp().join("b");
    std::fs::create_dir_all(&dir).unwrap();
    let archive = crate::backup::backup(&server, &recipient, &[&dir]);
    assert_success(&run(server.imadm().args([
        "incident",
        "close",
        "1",
        "--summary",
        "done",
    ])));
    assert_success(&run(server
        .imadm()
        .args(["incident", "open", "--title", "second"])));
    let incidents =
        "SELECT id, title, closed_at_ms IS NOT NULL, summary FROM incidents ORDER BY id";
    let timeline =
        "SELECT incident_id, seq, kind, detail FROM incident_events ORDER BY incident_id, seq";
    let (before, steps) = (server.sql(incidents), server.sql(timeline));
    assert_eq!(before.lines().count(), 2, "{before}");
    assert_eq!(steps.lines().count(), 3, "{steps}");

    let out = run(server
        .imadm()
        .args(["--yes", "backup", "restore", "--identity"])
        .arg(&key)
        .arg(&archive)
        .args(["--otp", &server.next_code()]));
    assert_success(&out);
    assert_eq!(server.sql(incidents), before);
    assert_eq!(server.sql(timeline), steps);

    // Sessions end with a restore: log in again, then the report names it.
    server.login();
    let report = server.tmp().join("r.json");
    assert_success(&run(server.imadm().args([
        "incident",
        "report",
        "2",
        "--out",
        report.to_str().unwrap(),
    ])));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let restores = doc["restores"].as_array().unwrap();
    assert_eq!(restores.len(), 1, "{doc:#}");
    assert_eq!(restores[0]["action"], "backup.restore");
}
