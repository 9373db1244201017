//! Audit log (server side): a scripted session is recorded with the right actor, action,
//! outcome and target; the chain verifies from genesis over every page with the shared
//! `imadm_api::audit` functions; checkpoints verify against the key in server-info; a
//! failing audit insert, or a damaged chain head, fails the request and changes nothing;
//! no secret enters the log.

use base64::Engine;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use imadm_api::audit::{AuditEvent, Checkpoint, GENESIS, chain_next, hash_hex};
use serde_json::{Value, json};

use crate::harness::*;
use crate::rbac::{Api, seeded};

/// Every event, paging `limit` at a time by the keyset cursor.
pub(crate) fn all_events(api: &Api, token: &str, limit: u32) -> Vec<AuditEvent> {
    let mut out = Vec::new();
    let mut after = 0u64;
    loop {
        let (st, env) = api.call(
            "GET",
            &format!("/admin/audit/events?after={after}&limit={limit}"),
            Some(token),
            None,
            None,
        );
        assert_eq!(st, 200, "{env}");
        let page: Vec<AuditEvent> = serde_json::from_value(env["data"]["items"].clone()).unwrap();
        out.extend(page);
        match env["data"]["next_cursor"].as_str() {
            Some(c) => after = c.parse().unwrap(),
            None => return out,
        }
    }
}

pub(crate) fn verify_chain(events: &[AuditEvent]) {
    let mut prev = GENESIS;
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.seq, i as u64 + 1, "sequence numbers have no gaps");
        prev = chain_next(&prev, &e.leaf());
        assert_eq!(e.hash, hash_hex(&prev), "chain value of event {}", e.seq);
    }
}

fn server_key(api: &Api) -> VerifyingKey {
    let (st, env) = api.call("GET", "/admin/server-info", None, None, None);
    assert_eq!(st, 200);
    let line = env["data"]["audit_public_key"]
        .as_str()
        .expect("audit_public_key");
    let mut parts = line.split(' ');
    assert_eq!(parts.next(), Some("ssh-ed25519"));
    let blob = base64::engine::general_purpose::STANDARD
        .decode(parts.next().unwrap())
        .unwrap();
    assert!(parts.next().unwrap().starts_with("imadm-audit@"));
    VerifyingKey::from_bytes(blob[blob.len() - 32..].try_into().unwrap()).unwrap()
}

fn verify_checkpoint(key: &VerifyingKey, cp: &Checkpoint) {
    let sig = base64::engine::general_purpose::STANDARD
        .decode(&cp.signature)
        .unwrap();
    key.verify(&cp.message(), &Signature::from_slice(&sig).unwrap())
        .expect("checkpoint signature verifies");
}

fn find<'a>(events: &'a [AuditEvent], action: &str, outcome: &str) -> &'a AuditEvent {
    events
        .iter()
        .find(|e| e.action == action && e.outcome == outcome)
        .unwrap_or_else(|| panic!("no {action}/{outcome} event in {events:#?}"))
}

#[test]
fn scripted_session_is_recorded_chained_signed_and_secret_free() {
    let server = Server::start_with(&["--seed-operator", "target:support"]);
    let api = Api::new(&server);
    let creds = seeded(&server);
    let owner = &server.info.username;
    let password = &server.info.password;
    let secret = &server.info.totp_secret;

    // A wrong password, then a real login with TOTP.
    let wrong_password = "not-the-password-Zq81";
    let (st, _) = api.call(
        "POST",
        "/admin/auth/login",
        None,
        None,
        Some(&json!({"username": owner, "password": wrong_password})),
    );
    assert_eq!(st, 401);
    let mut last = None;
    let token = api.login_tracking(owner, password, secret, &mut last);

    // A wrong TOTP code on step-up (refused), then a real step-up: grant a role.
    let (st, _) = api.call(
        "POST",
        "/admin/operators/target/grant",
        Some(&token),
        Some("000000"),
        Some(&json!({"roles": ["auditor"]})),
    );
    assert_ne!(st, 200);
    let code = fresh_code(secret, &mut last);
    let (st, env) = api.call(
        "POST",
        "/admin/operators/target/grant",
        Some(&token),
        Some(&code),
        Some(&json!({"roles": ["auditor"]})),
    );
    assert_eq!(st, 200, "{env}");

    // An IM user, and a service token (its secret must never be logged).
    let user_password = "user-pw-Kx93mm";
    let (_, env) = api.call(
        "POST",
        "/user/register/v2",
        Some(&token),
        None,
        Some(&json!({"username": "audited_user", "password": user_password})),
    );
    assert_eq!(env["code"], 200, "{env}");
    let code2 = fresh_code(secret, &mut last);
    let (st, env) = api.call(
        "POST",
        "/admin/tokens",
        Some(&token),
        Some(&code2),
        Some(&json!({"name": "ci", "scopes": ["audit:read"], "expires_in": 600})),
    );
    assert_eq!(st, 200, "{env}");
    let service_token = env["data"]["secret"].as_str().unwrap().to_owned();

    // A denied request: the support operator may not create roles.
    let (tpw, tsecret) = &creds["support"];
    let target = api.login("target", tpw, tsecret);
    let (st, _) = api.call(
        "POST",
        "/admin/roles",
        Some(&target),
        None,
        Some(&json!({"name": "sneaky", "permissions": ["user:read"]})),
    );
    assert_eq!(st, 403);

    let events = all_events(&api, &token, 3);
    verify_chain(&events);
    assert!(
        events.iter().all(|e| e.action != "auth.other"),
        "every event has a documented action: {events:#?}"
    );
    find(&events, "auth.step_up", "success");

    let failed_login = find(&events, "auth.login", "failure");
    assert_eq!(failed_login.actor, *owner);
    assert!(failed_login.source.is_some());
    find(&events, "auth.mfa", "success");
    let grant = find(&events, "operator.grant", "success");
    assert_eq!(grant.actor_type, "operator");
    assert_eq!(grant.actor, *owner);
    assert_eq!(grant.target.as_deref(), Some("operator:target"));
    let refused_grant = events
        .iter()
        .find(|e| e.action == "operator.grant" && e.outcome != "success");
    assert!(refused_grant.is_some(), "the refused step-up is recorded");
    find(&events, "user.create", "success");
    find(&events, "token.create", "success");
    let denied = find(&events, "role.create", "denied");
    assert_eq!(denied.actor, "target");
    assert_eq!(denied.target.as_deref(), Some("role:sneaky"));
    // IM users appear under a keyed pseudonym, never their username.
    assert!(
        events
            .iter()
            .all(|e| !format!("{e:?}").contains("audited_user"))
    );

    // Filters: by actor and by action prefix.
    let (_, env) = api.call(
        "GET",
        "/admin/audit/events?actor=target&action=role.",
        Some(&token),
        None,
        None,
    );
    let items = env["data"]["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(
        items
            .iter()
            .all(|e| e["actor"] == "target" && e["action"].as_str().unwrap().starts_with("role."))
    );

    // Checkpoints: head and a past one both verify and match the chain.
    let key = server_key(&api);
    let (st, env) = api.call(
        "GET",
        "/admin/audit/checkpoint?seq=3",
        Some(&token),
        None,
        None,
    );
    assert_eq!(st, 200, "{env}");
    let cp: Checkpoint = serde_json::from_value(env["data"].clone()).unwrap();
    assert_eq!(cp.head, events[2].hash);
    verify_checkpoint(&key, &cp);
    let mut forged = cp.clone();
    forged.head = events[3].hash.clone();
    assert!(
        key.verify(
            &forged.message(),
            &Signature::from_slice(
                &base64::engine::general_purpose::STANDARD
                    .decode(&forged.signature)
                    .unwrap()
            )
            .unwrap()
        )
        .is_err()
    );
    assert!(server.sql("SELECT count(*) FROM audit_checkpoints").trim() != "0");

    // Export plan: the whole log, anchored at genesis, then recorded as a read.
    let (st, env) = api.call(
        "POST",
        "/admin/audit/export",
        Some(&token),
        None,
        Some(&json!({})),
    );
    assert_eq!(st, 200, "{env}");
    let plan = &env["data"];
    assert_eq!(plan["first_seq"], 1);
    assert!(plan["anchor"].is_null());
    verify_checkpoint(
        &key,
        &serde_json::from_value(plan["checkpoint"].clone()).unwrap(),
    );
    let last = plan["last_seq"].as_u64().unwrap();
    let after = all_events(&api, &token, 1000);
    verify_chain(&after);
    let export = find(&after, "audit.export", "success");
    assert!(export.seq > last);

    // The append-only triggers refuse edits.
    let refused = server.sql_refused("UPDATE audit_log SET actor = 'x' WHERE seq = 1");
    assert!(refused.contains("append-only"), "{refused}");

    // Normal traffic (one wrong password, one refused step-up, a non-admin grant)
    // raises no alert.
    assert_eq!(server.sql("SELECT count(*) FROM alerts").trim(), "0");

    // No secret in the log or anywhere in the database files.
    let log = server.sql("SELECT * FROM audit_log");
    let mut secrets: Vec<&str> = vec![
        password,
        wrong_password,
        user_password,
        &token,
        &target,
        tpw,
        &code,
        &code2,
    ];
    secrets.push(&service_token);
    for s in &secrets {
        assert!(!log.contains(s), "a secret is in the audit log");
    }
    for s in [
        password.as_str(),
        wrong_password,
        user_password,
        &token,
        &service_token,
    ] {
        let hits = server.database_files_containing(s);
        assert!(
            hits.is_empty(),
            "a secret is in the database's files: {hits:?}"
        );
    }
}

/// The role `ghost` and the IM user `ghost_user` the refused requests of these tests
/// asked for do not exist.
fn assert_no_ghosts(server: &Server) {
    let count = |sql: &str| server.sql(sql).trim().to_owned();
    assert_eq!(
        count("SELECT count(*) FROM roles WHERE name = 'ghost'"),
        "0"
    );
    assert_eq!(
        count("SELECT count(*) FROM im_users WHERE username = 'ghost_user'"),
        "0"
    );
}

#[test]
fn a_failing_audit_insert_fails_the_request_and_changes_nothing() {
    let server = Server::start();
    let api = Api::new(&server);
    let mut last = None;
    let token = api.login_admin(&server, &mut last);
    let before = server.sql("SELECT count(*) FROM audit_log");
    server.fail_inserts("audit_log", "true");

    let code = fresh_code(&server.info.totp_secret, &mut last);
    let (st, env) = api.call(
        "POST",
        "/admin/roles",
        Some(&token),
        Some(&code),
        Some(&json!({"name": "ghost", "permissions": ["user:read"]})),
    );
    assert!(st >= 500, "{st} {env}");
    assert_eq!(env["code"], imadm_api::codes::INTERNAL, "{env}");
    let (st, env): (u16, Value) = api.call(
        "POST",
        "/user/register/v2",
        Some(&token),
        None,
        Some(&json!({"username": "ghost_user", "password": "pw-123456"})),
    );
    assert_ne!(env["code"], 200, "{st} {env}");

    server.stop_failing_inserts("audit_log");
    assert_no_ghosts(&server);
    assert_eq!(server.sql("SELECT count(*) FROM audit_log"), before);

    // With the audit log writable again, the same change succeeds and is recorded.
    let code = fresh_code(&server.info.totp_secret, &mut last);
    let (st, env) = api.call(
        "POST",
        "/admin/roles",
        Some(&token),
        Some(&code),
        Some(&json!({"name": "ghost", "permissions": ["user:read"]})),
    );
    assert_eq!(st, 200, "{env}");
    assert_eq!(
        server
            .sql("SELECT count(*) FROM audit_log WHERE action = 'role.create' AND outcome = 'success' AND target = 'role:ghost'")
            .trim(),
        "1"
    );
}

/// The newest audit row's chain hash damaged outside the server: every audited request is
/// refused (5xx, nothing applied, no event chained on a new genesis), the server log says
/// why without the value; with the row repaired the same change goes through, chained on.
#[test]
fn a_damaged_chain_head_refuses_every_audited_request() {
    let server = Server::start();
    server.login();
    let api = Api::new(&server);
    let token = server.token();
    let head = server.sql("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
    let (seq, hash) = head.trim().split_once('|').unwrap();
    let seq: u64 = seq.parse().unwrap();
    let set_head = |value: &str| {
        server.sql_past_append_only(
            "audit_log",
            &format!("UPDATE audit_log SET hash = '{value}' WHERE seq = {seq}"),
        );
    };
    set_head("damaged-head");
    let before = server.sql("SELECT count(*) FROM audit_log");

    let code = server.next_code();
    let (st, env) = api.call(
        "POST",
        "/admin/roles",
        Some(&token),
        Some(&code),
        Some(&json!({"name": "ghost", "permissions": ["user:read"]})),
    );
    assert!(st >= 500, "{st} {env}");
    assert_eq!(env["code"], imadm_api::codes::INTERNAL, "{env}");
    let out = run(server
        .imadm()
        .args(["user", "create", "ghost_user", "--password-stdin"])
        .write_stdin("pw-for-tests\n"));
    assert_error(&out, 1, "the audit log could not be written");
    // A sensitive read records its event in a transaction of its own: refused too.
    let report = server.tmp().join("report.json");
    let out = run(server
        .imadm()
        .args(["audit", "export", "--out"])
        .arg(&report));
    assert_error(&out, 1, "the audit log could not be written");
    assert!(!report.exists(), "{}", describe(&out));

    assert_eq!(server.sql("SELECT count(*) FROM audit_log"), before);
    assert_no_ghosts(&server);
    let log = server.server_stderr();
    assert!(
        log.contains(&format!("(seq {seq}) has no valid chain hash")),
        "{log}"
    );
    assert!(!log.contains("damaged-head"), "{log}");

    set_head(hash);
    let code = server.next_code();
    let (st, env) = api.call(
        "POST",
        "/admin/roles",
        Some(&token),
        Some(&code),
        Some(&json!({"name": "ghost", "permissions": ["user:read"]})),
    );
    assert_eq!(st, 200, "{env}");
    let events = all_events(&api, &token, 100);
    let mut prev = GENESIS;
    for e in &events {
        prev = chain_next(&prev, &e.leaf());
        assert_eq!(e.hash, hash_hex(&prev), "seq {}", e.seq);
    }
    let after: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e.seq > seq)
        .map(|e| (e.action.as_str(), e.outcome.as_str()))
        .collect();
    assert_eq!(
        after,
        [("auth.step_up", "success"), ("role.create", "success")],
        "only the requests after the repair, chained on the head"
    );
}

#[test]
fn each_alert_rule_fires_on_its_scenario() {
    let server = Server::start_with(&["--seed-operator", "victim:support"]);
    let api = Api::new(&server);
    let mut last = None;
    let secret = &server.info.totp_secret;
    let token = api.login_admin(&server, &mut last);
    let alerts = |min: &str| -> Vec<Value> {
        let (st, env) = api.call(
            "GET",
            &format!("/admin/alerts?min_severity={min}"),
            Some(&token),
            None,
            None,
        );
        assert_eq!(st, 200, "{env}");
        env["data"]["items"].as_array().unwrap().clone()
    };
    assert!(alerts("low").is_empty());

    // Repeated login failures for one username (and the lockout they cause).
    for _ in 0..5 {
        api.call(
            "POST",
            "/admin/auth/login",
            None,
            None,
            Some(&json!({"username": "victim", "password": "wrong-password-1"})),
        );
    }
    let medium = alerts("medium");
    let rules: Vec<&str> = medium.iter().map(|a| a["rule"].as_str().unwrap()).collect();
    assert!(rules.contains(&"login_failures"), "{medium:?}");
    assert!(rules.iter().all(|r| *r != "role_escalation"));
    let failures = medium
        .iter()
        .find(|a| a["rule"] == "login_failures")
        .unwrap();
    assert_eq!(failures["severity"], "medium");
    assert_eq!(failures["actor"], "victim");
    assert!(alerts("high").is_empty());

    // Role escalation: granting admin.
    let code = fresh_code(secret, &mut last);
    let (st, env) = api.call(
        "POST",
        "/admin/operators/victim/grant",
        Some(&token),
        Some(&code),
        Some(&json!({"roles": ["admin"]})),
    );
    assert_eq!(st, 200, "{env}");
    let high = alerts("high");
    assert_eq!(high.len(), 1, "{high:?}");
    assert_eq!(high[0]["rule"], "role_escalation");

    // A burst of sensitive reads (audit exports) by one actor: fires once at 20.
    for _ in 0..25 {
        let (st, _) = api.call(
            "POST",
            "/admin/audit/export",
            Some(&token),
            None,
            Some(&json!({})),
        );
        assert_eq!(st, 200);
    }
    let high = alerts("high");
    assert_eq!(high.len(), 2, "{high:?}");
    assert_eq!(high[1]["rule"], "sensitive_read_burst");

    // Each alert is itself in the audit log.
    let raised = server.sql("SELECT count(*) FROM audit_log WHERE action = 'alert.raised'");
    let total = server.sql("SELECT count(*) FROM alerts");
    assert_eq!(raised, total);
}

#[test]
fn cli_audit_log_and_alerts_fail_on() {
    let server = Server::start_with(&["--seed-operator", "victim:support"]);
    server.login();

    let out = run(server
        .imadm()
        .args(["audit", "alerts", "--since", "1h", "--fail-on", "high"]));
    assert_success(&out);

    let code = server.next_code();
    let out = run(server
        .imadm()
        .args(["operator", "grant", "victim", "admin", "--otp", &code]));
    assert_success(&out);

    let out = run(server
        .imadm()
        .args(["audit", "alerts", "--since", "1h", "--fail-on", "high"]));
    assert_exit(&out, 9);
    assert!(
        stdout(&out).contains("role_escalation"),
        "{}",
        describe(&out)
    );
    // --min-severity filters the output: only the escalation is high.
    let out =
        run(server
            .imadm()
            .args(["audit", "alerts", "--min-severity", "high", "-o", "jsonl"]));
    assert_success(&out);
    assert_eq!(stdout(&out).lines().count(), 1, "{}", describe(&out));

    let out = run(server.imadm().args([
        "audit",
        "log",
        "--since",
        "1h",
        "--action",
        "operator.",
        "-o",
        "jsonl",
    ]));
    assert_success(&out);
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{}", describe(&out));
    assert_eq!(lines[0]["action"], "operator.grant");
    assert_eq!(lines[0]["target"], "operator:victim");
    assert_eq!(lines[0]["detail"], "admin");

    let out = run(server
        .imadm()
        .args(["audit", "log", "--limit", "2", "-o", "jsonl"]));
    assert_success(&out);
    assert_eq!(stdout(&out).lines().count(), 2);
    let out = run(server
        .imadm()
        .args(["audit", "log", "--since", "yesterday"]));
    assert_exit(&out, 2);
}

/// IM users appear in the log by pseudonym only: created (one, or a batch: the users it
/// created, whose ids exist only once inserted), disabled and deleted in bulk.
#[test]
fn user_create_list_operations_and_bulk_delete_name_their_targets_by_pseudonym() {
    let server = Server::start();
    let api = Api::new(&server);
    let mut last = None;
    let token = api.login_admin(&server, &mut last);
    let user = |name: &str| json!({"username": name, "password": "pw-123456"});
    let (_, env) = api.call(
        "POST",
        "/user/register/v2",
        Some(&token),
        None,
        Some(&user("listed_a")),
    );
    assert_eq!(env["code"], 200, "{env}");
    let mut ids = vec![env["data"]["user_id"].as_i64().unwrap()];
    // A batch with a name that is taken: only listed_b is created.
    let (_, env) = api.call(
        "POST",
        "/user/register/batch",
        Some(&token),
        None,
        Some(&json!({"list": [user("listed_a"), user("listed_b")]})),
    );
    assert_eq!(env["code"], 200, "{env}");
    ids.extend(env["data"].as_array().unwrap()[1]["user_id"].as_i64());
    assert_eq!(ids.len(), 2, "{env}");
    let (_, env) = api.call(
        "PUT",
        "/user/disable",
        Some(&token),
        None,
        Some(&json!({"list": ids})),
    );
    assert_eq!(env["code"], 200, "{env}");
    let code = fresh_code(&server.info.totp_secret, &mut last);
    let (st, env) = api.call(
        "POST",
        "/admin/users/bulk-delete",
        Some(&token),
        Some(&code),
        Some(&json!({"user_ids": ids})),
    );
    assert_eq!(st, 200, "{env}");

    let events = all_events(&api, &token, 1000);
    for action in ["user.disable", "user.delete"] {
        let e = find(&events, action, "success");
        let target = e.target.as_deref().unwrap_or_default();
        let parts: Vec<&str> = target.split(',').collect();
        assert_eq!(parts.len(), 2, "{action}: {target}");
        assert!(
            parts
                .iter()
                .all(|p| p.starts_with("user:") && p.len() == 21),
            "{target}"
        );
        assert!(!target.contains("listed_"), "{target}");
    }
    // Created: the same pseudonyms as the disable's, the batch naming only what it created.
    let disabled = find(&events, "user.disable", "success").target.clone();
    let p: Vec<String> = disabled.unwrap().split(',').map(str::to_owned).collect();
    let created: Vec<(Option<&str>, Option<&str>)> = events
        .iter()
        .filter(|e| e.action == "user.create")
        .map(|e| (e.target.as_deref(), e.detail.as_deref()))
        .collect();
    assert_eq!(
        created,
        [
            (Some(p[0].as_str()), None),
            (Some(p[1].as_str()), Some("batch of 2 users"))
        ]
    );
    // A refused bulk delete (the user is gone already) is recorded too.
    let (st, _) = api.call(
        "POST",
        "/admin/users/bulk-delete",
        Some(&token),
        None,
        Some(&json!({"user_ids": [ids[0]]})),
    );
    assert_eq!(st, 404);
    let events = all_events(&api, &token, 1000);
    assert!(
        events
            .iter()
            .any(|e| e.action == "user.delete" && e.outcome != "success"),
        "a refused bulk delete is not in the log"
    );
}

/// Alerts of `rule`, from the database.
pub(crate) fn alerts_of(server: &Server, rule: &str) -> Vec<String> {
    server
        .sql(&format!(
            "SELECT severity || ' ' || actor || ' ' || detail FROM alerts WHERE rule = '{rule}'"
        ))
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A service token (scope `audit:export`) created by the dev owner, step-up from `last`;
/// `(secret, id)`.
pub(crate) fn service_token(
    api: &Api,
    server: &Server,
    token: &str,
    last: &mut Option<u64>,
) -> (String, i64) {
    let code = fresh_code(&server.info.totp_secret, last);
    let (st, env) = api.call(
        "POST",
        "/admin/tokens",
        Some(token),
        Some(&code),
        Some(&json!({"name": "cron", "scopes": ["audit:export"], "expires_in": 600})),
    );
    assert_eq!(st, 200, "{env}");
    (
        env["data"]["secret"].as_str().unwrap().to_owned(),
        env["data"]["token"]["id"].as_i64().unwrap(),
    )
}

#[test]
fn token_used_from_a_new_address_raises_one_alert_but_not_on_first_use() {
    let server = Server::start();
    let api = Api::new(&server);
    let mut last = None;
    let token = api.login_admin(&server, &mut last);
    let (svc, id) = service_token(&api, &server, &token, &mut last);
    let export = |api: &Api| {
        let (st, env) = api.call(
            "POST",
            "/admin/audit/export",
            Some(&svc),
            None,
            Some(&json!({})),
        );
        assert_eq!(st, 200, "{env}");
    };
    // Normal traffic: the first use sets the baseline, the same address again is fine.
    export(&api);
    export(&api);
    assert!(alerts_of(&server, "token_new_address").is_empty());

    // The same token from another loopback address (the server sees the real peer
    // address of the connection): one alert, not repeated for that address.
    let elsewhere = Api::bound_to(&server, "127.0.0.2".parse().unwrap());
    export(&elsewhere);
    export(&elsewhere);
    let alerts = alerts_of(&server, "token_new_address");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let actor = format!("{}#{id}", server.info.username);
    assert!(
        alerts[0].starts_with(&format!("medium {actor} ")),
        "{alerts:?}"
    );
    assert!(
        alerts[0].contains("127.0.0.2") && alerts[0].contains("127.0.0.1"),
        "{alerts:?}"
    );
    // Back at the first address: known, no alert; the alert is in the audit log.
    export(&api);
    assert_eq!(alerts_of(&server, "token_new_address").len(), 1);
    let events = all_events(&api, &token, 1000);
    verify_chain(&events);
    assert!(
        events.iter().any(|e| e.action == "alert.raised"
            && e.detail
                .as_deref()
                .is_some_and(|d| d.starts_with("token_new_address (medium)"))),
        "the alert is audited"
    );
}

/// A UTC offset that puts the current time at local 12:xx, so a window "10:00-14:00"
/// holds now, and "15:00-18:00" does not, with an hour to spare either way.
fn noon_offset() -> String {
    let hour = (now_secs() / 3600 % 24) as i64;
    let off = 12 - hour;
    format!("{}{:02}:00", if off < 0 { '-' } else { '+' }, off.abs())
}

#[test]
fn off_hours_alert_only_outside_the_configured_business_hours() {
    let tz = noon_offset();
    // Now is 12:xx local: 15:00-18:00 excludes it.
    let server = Server::start_with(&[
        "--business-hours",
        "Mon-Sun 15:00-18:00",
        "--business-tz",
        &tz,
    ]);
    let api = Api::new(&server);
    let mut last = None;
    let token = api.login_admin(&server, &mut last);
    for i in 0..3 {
        let (_, env) = api.call(
            "POST",
            "/user/register/v2",
            Some(&token),
            None,
            Some(&json!({"username": format!("night_{i}"), "password": "pw-123456"})),
        );
        assert_eq!(env["code"], 200, "{env}");
    }
    // A failed login of someone else is the login rules' business, not off_hours.
    api.call(
        "POST",
        "/admin/auth/login",
        None,
        None,
        Some(&json!({"username": "nobody", "password": "wrong-password-1"})),
    );
    let alerts = alerts_of(&server, "off_hours");
    assert_eq!(
        alerts.len(),
        1,
        "one alert per operator per hour: {alerts:?}"
    );
    assert!(
        alerts[0].starts_with(&format!("low {} ", server.info.username)),
        "{alerts:?}"
    );
    assert!(alerts[0].contains("15:00-18:00"), "{alerts:?}");
    let raised = server.sql("SELECT count(*) FROM audit_log WHERE action = 'alert.raised'");
    assert_eq!(raised.trim(), "1");
    drop(server);

    // A window holding now: normal traffic, no alert.
    let server = Server::start_with(&[
        "--business-hours",
        "Mon-Sun 10:00-14:00",
        "--business-tz",
        &tz,
    ]);
    let api = Api::new(&server);
    let token = api.login_admin(&server, &mut None);
    let (_, env) = api.call(
        "POST",
        "/user/register/v2",
        Some(&token),
        None,
        Some(&json!({"username": "day_user", "password": "pw-123456"})),
    );
    assert_eq!(env["code"], 200, "{env}");
    assert!(alerts_of(&server, "off_hours").is_empty());
    assert_eq!(server.sql("SELECT count(*) FROM alerts").trim(), "0");
}

#[test]
fn alert_thresholds_come_from_the_server_flags() {
    let fail_twice = |api: &Api| {
        for _ in 0..2 {
            let (st, _) = api.call(
                "POST",
                "/admin/auth/login",
                None,
                None,
                Some(&json!({"username": "victim", "password": "wrong-password-1"})),
            );
            assert_eq!(st, 401);
        }
    };
    // Defaults (5 failures in 10 minutes): two failures are normal.
    let server = Server::start_with(&["--seed-operator", "victim:support"]);
    fail_twice(&Api::new(&server));
    assert_eq!(server.sql("SELECT count(*) FROM alerts").trim(), "0");
    drop(server);

    let server = Server::start_with(&[
        "--seed-operator",
        "victim:support",
        "--alert-login-failures",
        "2/10m",
        "--alert-read-burst",
        "3/2m",
    ]);
    let api = Api::new(&server);
    fail_twice(&api);
    let alerts = alerts_of(&server, "login_failures");
    assert_eq!(alerts, ["medium victim 2 failed logins within 10m"]);

    let token = api.login_admin(&server, &mut None);
    for _ in 0..3 {
        let (st, _) = api.call(
            "POST",
            "/admin/audit/export",
            Some(&token),
            None,
            Some(&json!({})),
        );
        assert_eq!(st, 200);
    }
    let alerts = alerts_of(&server, "sensitive_read_burst");
    assert_eq!(
        alerts,
        [format!(
            "high {} 3 sensitive reads within 2m",
            server.info.username
        )]
    );
}

#[test]
fn bad_alert_flag_values_are_usage_errors_naming_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let server = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = imadm_in(tmp.path());
        cmd.args(["server", "--dev", "--listen", "127.0.0.1:0"])
            .args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        run(&mut cmd)
    };
    for (args, needle) in [
        (
            &["--alert-login-failures", "5"][..],
            "--alert-login-failures",
        ),
        (&["--alert-login-failures", "0/10m"], "COUNT/DURATION"),
        (&["--alert-read-burst", "20/60"], "--alert-read-burst"),
        (&["--alert-read-burst", "20/1w"], "COUNT/DURATION"),
        (&["--business-hours", "Mon-Fri 8-18"], "--business-hours"),
        (
            &[
                "--business-hours",
                "Mon-Fri 08:00-18:00",
                "--business-tz",
                "CET",
            ],
            "+HH:MM",
        ),
        (
            &["--business-hours", "Weekdays 08:00-18:00"],
            "Mon-Fri 08:00-18:00",
        ),
        (
            &["--business-hours", "Mon-Fri 18:00-08:00"],
            "--business-hours",
        ),
    ] {
        let out = server(args, &[]);
        assert_error(&out, 2, needle);
    }
    // The environment variables are parsed the same way.
    let out = server(&[], &[("IMADM_ALERT_READ_BURST", "lots")]);
    assert_error(&out, 2, "COUNT/DURATION");
    let out = server(&[], &[("IMADM_BUSINESS_HOURS", "always")]);
    assert_error(&out, 2, "DAY-DAY HH:MM-HH:MM");
}
