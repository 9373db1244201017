//! RBAC: every admin endpoint × every built-in role (and a narrow service token) is
//! allowed or refused exactly as the permission catalogue says; grants and revokes take
//! effect on the next request; step-up MFA guards the sensitive actions (and service
//! tokens can never pass it); nobody changes their own roles; the last owner stays;
//! `role apply` shows a diff and applies atomically; who may act on whom: nobody gives,
//! creates or uses a permission they lack, nor acts on an operator holding one (issue
//! #13 items 2 and 3, replayed with the real binary).
//!
//! The endpoint → permission table below is written from the contract, independently of
//! the server code; the role → permissions side comes from the shared catalogue
//! (`imadm_api::permissions`), which is what the contract publishes.

use std::collections::BTreeMap;

use imadm_api::permissions::{BUILTIN_ROLES, builtin_permissions};
use serde_json::{Value, json};

use crate::harness::*;

/// A minimal HTTPS client for the admin API, trusting the dev server's CA.
pub(crate) struct Api {
    http: reqwest::blocking::Client,
    base: String,
    app_id: String,
}

impl Api {
    pub(crate) fn new(server: &Server) -> Api {
        Api {
            http: server.https_client(),
            base: server.info.server.clone(),
            app_id: server.info.app_id.clone(),
        }
    }

    /// Like [`Api::new`], but the client's connections come from `local` (e.g. another
    /// loopback address such as 127.0.0.2): the server sees a different source address.
    pub(crate) fn bound_to(server: &Server, local: std::net::IpAddr) -> Api {
        Api::via(server, &server.info.server, local, &[])
    }

    /// Like [`Api::bound_to`], to `base` (e.g. a load balancer in front of `server`), with
    /// `headers` on every request.
    pub(crate) fn via(
        server: &Server,
        base: &str,
        local: std::net::IpAddr,
        headers: &[(&str, &str)],
    ) -> Api {
        let ca = std::fs::read(&server.info.ca_cert).unwrap();
        let mut default_headers = reqwest::header::HeaderMap::new();
        for (name, value) in headers {
            default_headers.append(
                reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        Api {
            http: reqwest::blocking::Client::builder()
                .tls_certs_merge(reqwest::Certificate::from_pem_bundle(&ca).unwrap())
                .local_address(local)
                .default_headers(default_headers)
                .build()
                .unwrap(),
            base: base.to_owned(),
            app_id: server.info.app_id.clone(),
        }
    }

    /// Send a request; returns (HTTP status, envelope).
    pub(crate) fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        otp: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        self.try_call(method, path, token, otp, body).unwrap()
    }

    /// [`Api::call`], or the error of a request that got no answer.
    pub(crate) fn try_call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        otp: Option<&str>,
        body: Option<&Value>,
    ) -> reqwest::Result<(u16, Value)> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("app_id", &self.app_id);
        if let Some(t) = token {
            rb = rb.header("access-token", t);
        }
        if let Some(o) = otp {
            rb = rb.header("x-imadm-otp", o);
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let resp = rb.send()?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().unwrap_or(Value::Null)))
    }

    /// Password + TOTP login; returns the access token.
    pub(crate) fn login(&self, username: &str, password: &str, secret: &str) -> String {
        self.login_tracking(username, password, secret, &mut None)
    }

    /// The server's first admin (`server.info`), logged in like [`Api::login_tracking`].
    pub(crate) fn login_admin(&self, server: &Server, last: &mut Option<u64>) -> String {
        self.login_tracking(
            &server.info.username,
            &server.info.password,
            &server.info.totp_secret,
            last,
        )
    }

    /// Login using fresh codes from `last`, so the caller can go on to step-up with
    /// `fresh_code(secret, last)` without reusing a step.
    pub(crate) fn login_tracking(
        &self,
        username: &str,
        password: &str,
        secret: &str,
        last: &mut Option<u64>,
    ) -> String {
        let (st, env) = self.call(
            "POST",
            "/admin/auth/login",
            None,
            None,
            Some(&json!({"username": username, "password": password})),
        );
        assert_eq!(st, 200, "{env}");
        let mfa = env["data"]["mfa"]["mfa_token"].as_str().unwrap().to_owned();
        let code = fresh_code(secret, last);
        let (st, env) = self.call(
            "POST",
            "/admin/auth/mfa",
            None,
            None,
            Some(&json!({"mfa_token": mfa, "code": code})),
        );
        assert_eq!(st, 200, "{env}");
        env["data"]["access_token"].as_str().unwrap().to_owned()
    }
}

/// A seeded operator: username, access token.
struct Who {
    label: String,
    token: String,
    permissions: Vec<&'static str>,
}

/// (method, path, body, permission; "" for any authenticated caller). Bodies are valid enough that a permitted caller
/// gets past the permission check (to step-up, validation or success); the check must
/// come first, so a refused caller always sees 403 / 10010.
fn endpoints() -> Vec<(&'static str, &'static str, Option<Value>, &'static str)> {
    vec![
        ("GET", "/admin/instance", None, ""),
        ("GET", "/admin/permissions", None, "role:read"),
        ("GET", "/admin/roles", None, "role:read"),
        ("GET", "/admin/roles/auditor", None, "role:read"),
        (
            "POST",
            "/admin/roles",
            Some(json!({"name": "m-role", "permissions": ["user:read"]})),
            "role:write",
        ),
        (
            "PATCH",
            "/admin/roles/auditor",
            Some(json!({"add": ["user:read"]})),
            "role:write",
        ),
        ("DELETE", "/admin/roles/auditor", None, "role:write"),
        (
            "POST",
            "/admin/roles/apply",
            Some(json!({"roles": [], "dry_run": true})),
            "role:write",
        ),
        ("GET", "/admin/operators", None, "operator:read"),
        ("GET", "/admin/operators/admin", None, "operator:read"),
        (
            "POST",
            "/admin/operators",
            Some(json!({"username": "m-op", "roles": ["support"]})),
            "operator:write",
        ),
        ("DELETE", "/admin/operators/target", None, "operator:write"),
        (
            "POST",
            "/admin/operators/target/grant",
            Some(json!({"roles": ["support"]})),
            "operator:write",
        ),
        (
            "POST",
            "/admin/operators/target/revoke",
            Some(json!({"roles": ["support"]})),
            "operator:write",
        ),
        (
            "POST",
            "/admin/operators/target/disable",
            None,
            "operator:write",
        ),
        (
            "POST",
            "/admin/operators/target/enable",
            None,
            "operator:write",
        ),
        (
            "POST",
            "/admin/operators/target/reset-mfa",
            None,
            "operator:write",
        ),
        (
            "POST",
            "/admin/operators/target/reset-password",
            None,
            "operator:write",
        ),
        ("GET", "/admin/tokens", None, "token:write"),
        (
            "POST",
            "/admin/tokens",
            Some(json!({"name": "m", "scopes": ["user:read"], "expires_in": 60})),
            "token:write",
        ),
        ("DELETE", "/admin/tokens/999999", None, "token:write"),
        ("GET", "/admin/audit/events", None, "audit:read"),
        ("GET", "/admin/audit/checkpoint", None, "audit:read"),
        ("GET", "/admin/audit/sinks", None, "security:read"),
        (
            "POST",
            "/admin/audit/export",
            Some(json!({})),
            "audit:export",
        ),
        ("GET", "/admin/access/review", None, "security:read"),
        ("GET", "/admin/access/attestations", None, "security:read"),
        (
            "POST",
            "/admin/access/attestations",
            Some(json!({
                "reviewer": "matrix",
                "review_sha256": "0".repeat(64),
                "signature": "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n",
                "operators": 0,
                "tokens": 0
            })),
            "security:manage",
        ),
        ("GET", "/admin/incidents", None, "security:read"),
        ("GET", "/admin/incidents/999999", None, "security:read"),
        (
            "GET",
            "/admin/incidents/scope?principal=token:1&since=2026-01-01T00:00:00Z",
            None,
            "security:read",
        ),
        (
            "POST",
            "/admin/incidents",
            Some(json!({"title": "matrix"})),
            "security:manage",
        ),
        (
            "POST",
            "/admin/incidents/999999/close",
            Some(json!({"summary": "matrix"})),
            "security:manage",
        ),
        (
            "POST",
            "/admin/incidents/999999/contain",
            Some(json!({"dry_run": true})),
            "security:manage",
        ),
        (
            "POST",
            "/admin/incidents/999999/events",
            Some(json!({"kind": "note", "detail": {}})),
            "security:manage",
        ),
        ("GET", "/admin/alerts", None, "security:read"),
        (
            "POST",
            "/admin/alerts/999999/ack",
            Some(json!({"note": "matrix"})),
            "security:manage",
        ),
        (
            "POST",
            "/admin/alerts/999999/resolve",
            Some(json!({"note": "matrix"})),
            "security:manage",
        ),
        ("GET", "/admin/notify/status", None, "security:read"),
        (
            "POST",
            "/admin/notify/test",
            Some(json!({"channel": "no-such-channel"})),
            "security:manage",
        ),
        ("GET", "/admin/keys", None, "security:read"),
        // Without a code: refused for step-up after the permission check, so the matrix
        // never rotates.
        ("POST", "/admin/keys/rotate", None, "keys:rotate"),
        ("POST", "/admin/keys/rotate-audit", None, "keys:rotate"),
        ("GET", "/admin/keys/audit-handoffs", None, "audit:read"),
        ("GET", "/admin/backup/snapshot", None, "backup:run"),
        (
            "POST",
            "/admin/backup/restore?dry_run=true",
            None,
            "backup:restore",
        ),
        ("GET", "/admin/users", None, "user:read"),
        ("GET", "/admin/users/nobody", None, "user:read"),
        ("POST", "/admin/users/nobody/erase", None, "user:delete"),
        ("GET", "/admin/users/nobody/export", None, "user:export"),
        (
            "POST",
            "/admin/users/bulk-delete",
            Some(json!({"user_ids": [1]})),
            "user:delete",
        ),
        // Lanying-compatible routes answer HTTP 200 with the code in the envelope.
        (
            "GET",
            "/user/list?page_num=1&page_size=10",
            None,
            "user:read",
        ),
        (
            "POST",
            "/user/register/v2",
            Some(json!({"username": "matrix_user", "password": "pw-123456"})),
            "user:write",
        ),
        (
            "GET",
            "/message/conversation?opposite_id=1&limit=1&msg_id_start=0",
            None,
            "message:read",
        ),
    ]
}

pub(crate) fn seeded(server: &Server) -> BTreeMap<String, (String, String)> {
    server.info.raw["seeded_operators"]
        .as_array()
        .expect("seeded_operators in the dev server's JSON")
        .iter()
        .map(|o| {
            (
                o["role"].as_str().unwrap().to_owned(),
                (
                    o["password"].as_str().unwrap().to_owned(),
                    o["totp_secret"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect()
}

#[test]
fn every_admin_endpoint_allows_exactly_the_catalogued_roles() {
    let mut flags = vec!["--seed-operator".to_owned(), "target:support".to_owned()];
    for (role, _, _) in BUILTIN_ROLES {
        flags.push("--seed-operator".into());
        flags.push(format!("as-{role}:{role}"));
    }
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let server = Server::start_with(&flags);
    let api = Api::new(&server);
    let creds = seeded(&server);

    let mut callers: Vec<Who> = BUILTIN_ROLES
        .iter()
        .map(|(role, _, _)| {
            let (pw, secret) = &creds[*role];
            Who {
                label: format!("role {role}"),
                token: api.login(&format!("as-{role}"), pw, secret),
                permissions: builtin_permissions(role).unwrap(),
            }
        })
        .collect();

    // A service token scoped to two permissions, created by the owner (step-up).
    let owner = &callers[0].token.clone();
    let (st, env) = api.call(
        "POST",
        "/admin/tokens",
        Some(owner),
        Some(&fresh_code(&creds["owner"].1, &mut Some(now_secs() / 30))),
        Some(
            &json!({"name": "narrow", "scopes": ["role:read", "operator:read"], "expires_in": 600}),
        ),
    );
    assert_eq!(st, 200, "{env}");
    callers.push(Who {
        label: "service token [role:read, operator:read]".into(),
        token: env["data"]["secret"].as_str().unwrap().to_owned(),
        permissions: vec!["role:read", "operator:read"],
    });

    let mut checked = 0;
    for who in &callers {
        for (method, path, body, perm) in endpoints() {
            let (status, env) = api.call(method, path, Some(&who.token), None, body.as_ref());
            let code = env["code"].as_i64().unwrap_or(0);
            // "": any authenticated caller.
            if perm.is_empty() || who.permissions.contains(&perm) {
                assert!(
                    code != 10010,
                    "{} should be allowed {method} {path} (has {perm}) but got {status} {env}",
                    who.label
                );
            } else {
                let expected_status = if path.starts_with("/admin/") {
                    403
                } else {
                    200
                };
                assert_eq!(
                    (status, code),
                    (expected_status, 10010),
                    "{} must be refused {method} {path} (lacks {perm}) but got {status} {env}",
                    who.label
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, callers.len() * endpoints().len());
    // Nothing the refused callers tried changed anything: `target` still has its role.
    let (_, env) = api.call("GET", "/admin/operators/target", Some(owner), None, None);
    assert_eq!(env["data"]["roles"], json!(["support"]), "{env}");
    assert_eq!(env["data"]["disabled"], false);
}

#[test]
fn revoked_role_stops_working_on_the_next_request_of_an_open_session() {
    let server = Server::start_with(&["--seed-operator", "carol:auditor"]);
    let api = Api::new(&server);
    let creds = seeded(&server);
    let carol = api.login("carol", &creds["auditor"].0, &creds["auditor"].1);
    assert_eq!(
        api.call("GET", "/admin/operators", Some(&carol), None, None)
            .0,
        200
    );

    server.login();
    let out = run(server.imadm().args([
        "operator",
        "revoke",
        "carol",
        "auditor",
        "--otp",
        &server.next_code(),
    ]));
    assert_success(&out);
    assert_eq!(
        json_stdout(&run(server
            .imadm()
            .args(["operator", "show", "carol", "-o", "json"])))["roles"],
        json!([])
    );

    // Same session, very next request: refused.
    let (st, env) = api.call("GET", "/admin/operators", Some(&carol), None, None);
    assert_eq!((st, env["code"].as_i64()), (403, Some(10010)), "{env}");

    let out = run(server.imadm().args([
        "operator",
        "grant",
        "carol",
        "auditor",
        "--otp",
        &server.next_code(),
    ]));
    assert_success(&out);
    assert_eq!(
        api.call("GET", "/admin/operators", Some(&carol), None, None)
            .0,
        200
    );
}

/// On a terminal, a sensitive command asks for the TOTP code before its first request (a
/// request without one would only leave a `denied` row in the audit log), and asks again
/// after a used or a wrong code instead of giving up.
#[test]
fn interactive_step_up_asks_first_and_again_after_a_used_or_wrong_code() {
    let server = Server::start();
    server.login();
    let used = server.next_code();
    let out = run(server
        .imadm()
        .args(["role", "create", "first", "--permission", "user:read"])
        .args(["--otp", &used]));
    assert_success(&out);
    let (wrong, fresh) = (server.wrong_code(), server.next_code());
    let (code, shown) = on_terminal(
        &server.config_dir,
        &[
            "--profile",
            "dev",
            "role",
            "create",
            "second",
            "--permission",
            "user:read",
        ],
        "TOTP code (step-up), or `web` to approve with a passkey:",
        &[&used, &wrong, &fresh],
    );
    assert_eq!(code, Some(0), "{shown}");
    // Asked three times (each prompt is drawn, then redrawn with the answer hidden).
    assert_eq!(
        shown
            .matches("TOTP code (step-up), or `web` to approve with a passkey: [hidden]")
            .count(),
        3,
        "{shown:?}"
    );
    assert!(shown.contains("already been used"), "{shown}");
    assert!(shown.contains("code is wrong"), "{shown}");
    assert!(shown.contains("1 more try"), "{shown}");
    assert_success(&run(server.imadm().args(["role", "show", "second"])));
    // Every request carried a code: two refused (replay, wrong), then the change.
    let rows = server.sql(
        "SELECT outcome || ' ' || coalesce(detail, '') FROM audit_log \
         WHERE action = 'role.create' AND target = 'role:second' ORDER BY seq",
    );
    assert_eq!(
        rows.lines().collect::<Vec<_>>(),
        ["failure code 50004", "failure code 50003", "success "],
        "{rows}"
    );
}

#[test]
fn step_up_is_required_refuses_replays_and_service_tokens() {
    let server = Server::start();
    server.login();

    // Without a code, under --no-input: the server asks for step-up, the CLI exits 4.
    let out = run(server.imadm().args([
        "role",
        "create",
        "ops",
        "--permission",
        "user:read",
        "--no-input",
    ]));
    assert_error(&out, 4, "step-up");
    assert!(
        run(server.imadm().args(["role", "show", "ops"]))
            .status
            .code()
            == Some(6),
        "role must not exist"
    );

    let code = server.next_code();
    let out = run(server.imadm().args([
        "role",
        "create",
        "ops",
        "--permission",
        "user:read",
        "--otp",
        &code,
        "-o",
        "json",
    ]));
    assert_success(&out);
    assert_eq!(json_stdout(&out)["permissions"], json!(["user:read"]));

    // The same code again: a replay, refused, nothing changes.
    let out = run(server.imadm().args([
        "role",
        "update",
        "ops",
        "--add",
        "message:read",
        "--otp",
        &code,
    ]));
    assert_error(&out, 4, "already been used");
    let shown = json_stdout(&run(server
        .imadm()
        .args(["role", "show", "ops", "-o", "json"])));
    assert_eq!(shown["permissions"], json!(["user:read"]));

    // A service token, even with role:write, can never pass step-up.
    let out = run(server.imadm().args([
        "token",
        "create",
        "--name",
        "ci",
        "--scope",
        "role:write",
        "--scope",
        "role:read",
        // ops carries user:read: without it the token could not touch the role at all.
        "--scope",
        "user:read",
        "--expires",
        "1h",
        "-o",
        "json",
        "--otp",
        &server.next_code(),
    ]));
    assert_success(&out);
    let secret = json_stdout(&out)["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("imadm_st_"));
    let mut cmd = server.imadm();
    cmd.env("IMADM_TOKEN", &secret).args([
        "role",
        "delete",
        "ops",
        "--yes",
        "--otp",
        &server.next_code(),
    ]);
    let out = run(&mut cmd);
    assert_error(&out, 5, "service token");
    // ...but can read with its scope, and its use is recorded.
    let mut cmd = server.imadm();
    cmd.env("IMADM_TOKEN", &secret)
        .args(["role", "list", "-o", "jsonl"]);
    let out = run(&mut cmd);
    assert_success(&out);
    assert!(stdout(&out).lines().count() >= 7, "{}", describe(&out));
    let tokens = json_stdout(&run(server.imadm().args(["token", "list", "-o", "json"])));
    assert_eq!(tokens[0]["last_used_addr"], "127.0.0.1");
    // whoami through the token reports the token's own expiry.
    let status = json_stdout(&server.status(&[("IMADM_TOKEN", secret.as_str())]));
    assert_eq!(status["credential"], "service_token");
    assert_eq!(status["access_expires_at"], tokens[0]["expires_at"]);
    // Revoked: the next request fails.
    assert_success(&run(server.imadm().args([
        "token",
        "revoke",
        &tokens[0]["id"].to_string(),
    ])));
    let mut cmd = server.imadm();
    cmd.env("IMADM_TOKEN", &secret).args(["role", "list"]);
    assert_error(&run(&mut cmd), 4, "not valid");
    // The secret itself is stored nowhere in clear.
    assert!(server.stored_files_containing(&secret).is_empty());
}

#[test]
fn no_self_grant_no_escalation_and_the_last_owner_stays() {
    let server = Server::start_with(&["--seed-operator", "ada:admin"]);
    let api = Api::new(&server);
    let creds = seeded(&server);
    server.login();

    // The only owner cannot demote or disable themself (self-change refused) ...
    let out = run(server.imadm().args([
        "operator",
        "revoke",
        "admin",
        "owner",
        "--otp",
        &server.next_code(),
    ]));
    assert_error(&out, 5, "your own account");
    // ... and an admin cannot mint an owner (owner carries backup:restore, admins lack it).
    let ada_secret = &creds["admin"].1;
    let mut ada_last = None;
    let ada = api.login_tracking("ada", &creds["admin"].0, ada_secret, &mut ada_last);
    let (st, env) = api.call(
        "POST",
        "/admin/operators/ada/grant",
        Some(&ada),
        Some("000000"),
        Some(&json!({"roles": ["owner"]})),
    );
    assert_eq!((st, env["code"].as_i64()), (403, Some(10010)), "{env}");
    let (st, env) = api.call(
        "POST",
        "/admin/operators",
        Some(&ada),
        None,
        Some(&json!({"username": "mallory", "roles": ["owner"]})),
    );
    assert_eq!((st, env["code"].as_i64()), (403, Some(50018)), "{env}");

    // ... nor demote one.
    let (st, env) = api.call(
        "POST",
        "/admin/operators/admin/revoke",
        Some(&ada),
        None,
        Some(&json!({"roles": ["owner"]})),
    );
    assert_eq!((st, env["code"].as_i64()), (403, Some(50018)), "{env}");

    // An admin cannot disable or delete an owner at all (they lack backup:restore).
    let attempts = [
        ("POST", "/admin/operators/admin/disable"),
        ("DELETE", "/admin/operators/admin"),
    ];
    for (method, path) in attempts {
        // Refused before step-up: the code is never looked at.
        let (st, env) = api.call(method, path, Some(&ada), Some("000000"), None);
        assert_eq!(
            (st, env["code"].as_i64()),
            (403, Some(50018)),
            "{method} {path}: {env}"
        );
    }
    // Someone holding every permission through a custom role may act on the owner, but
    // the last enabled owner stays: refused (409).
    let mut all = vec!["role", "create", "everything"];
    for (p, _) in imadm_api::permissions::CATALOGUE {
        all.extend(["--permission", p]);
    }
    let code = server.next_code();
    assert_success(&run(server.imadm().args(&all).args(["--otp", &code])));
    assert_success(&run(server.imadm().args([
        "operator",
        "grant",
        "ada",
        "everything",
        "--otp",
        &server.next_code(),
    ])));
    for (method, path) in attempts {
        let otp = fresh_code(ada_secret, &mut ada_last);
        let (st, env) = api.call(method, path, Some(&ada), Some(&otp), None);
        assert_eq!(
            (st, env["code"].as_i64()),
            (409, Some(50012)),
            "{method} {path}: {env}"
        );
        assert!(
            env["message"]
                .as_str()
                .unwrap()
                .contains("no enabled owner"),
            "{env}"
        );
    }
    let row = server.sql(
        "SELECT COUNT(*) FROM operator_roles r JOIN operators o ON o.id = r.operator_id \
         WHERE r.role = 'owner' AND o.disabled = 0",
    );
    assert_eq!(row.trim(), "1");
}

#[test]
fn role_apply_shows_a_diff_and_applies_atomically() {
    let server = Server::start();
    server.login();
    let file = server.tmp().join("roles.toml");
    std::fs::write(
        &file,
        r#"
[roles.support-lead]
description = "first-line support"
permissions = ["user:read", "message:read"]

[roles.exporter]
permissions = ["user:read", "user:export"]
"#,
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let out = run(server
        .imadm()
        .args(["role", "apply", "-f", f, "--dry-run", "-o", "json"]));
    assert_success(&out);
    let plan = json_stdout(&out);
    assert_eq!(plan["applied"], false);
    let actions: Vec<(String, String)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["role"].as_str().unwrap().to_owned(),
                c["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("exporter".into(), "create".into()),
            ("support-lead".into(), "create".into())
        ]
    );
    assert_eq!(
        run(server.imadm().args(["role", "show", "exporter"]))
            .status
            .code(),
        Some(6),
        "dry run changed something"
    );

    let out = run(server.imadm().args([
        "role",
        "apply",
        "-f",
        f,
        "--yes",
        "--otp",
        &server.next_code(),
        "-o",
        "json",
    ]));
    assert_success(&out);
    assert_eq!(json_stdout(&out)["applied"], true);

    // Change one, drop the other with --prune: the diff says exactly that.
    std::fs::write(&file, "[roles.support-lead]\ndescription = \"first-line support\"\npermissions = [\"user:read\"]\n").unwrap();
    let out = run(server.imadm().args([
        "role",
        "apply",
        "-f",
        f,
        "--prune",
        "--dry-run",
        "-o",
        "table",
    ]));
    assert_success(&out);
    let text = stdout(&out);
    assert!(
        text.contains("~ support-lead (update: -message:read)"),
        "{text}"
    );
    assert!(text.contains("- exporter (delete)"), "{text}");

    // A file naming a built-in role or an unknown permission is refused whole.
    std::fs::write(&file, "[roles.auditor]\npermissions = [\"user:read\"]\n").unwrap();
    assert_error(
        &run(server.imadm().args(["role", "apply", "-f", f, "--dry-run"])),
        7,
        "built-in",
    );
    std::fs::write(&file, "[roles.x]\npermissions = [\"user:fly\"]\n").unwrap();
    assert_error(
        &run(server.imadm().args(["role", "apply", "-f", f, "--dry-run"])),
        2,
        "unknown permission",
    );
    std::fs::write(&file, "[roles.x]\npermisions = [\"user:read\"]\n").unwrap();
    assert_error(
        &run(server.imadm().args(["role", "apply", "-f", f, "--dry-run"])),
        2,
        "not a valid roles file",
    );
}

/// A seeded operator acting through the real binary: its session's access token in
/// `IMADM_TOKEN`, its own TOTP codes for step-up.
pub(crate) struct Acting<'a> {
    server: &'a Server,
    token: String,
    secret: String,
    last: Option<u64>,
}

impl<'a> Acting<'a> {
    /// Log in `username` (seeded with `--seed-operator username:role`).
    pub(crate) fn login(server: &'a Server, username: &str) -> Acting<'a> {
        let (password, secret) = creds_of(server, username);
        let mut last = None;
        let token = Api::new(server).login_tracking(username, &password, &secret, &mut last);
        Acting {
            server,
            token,
            secret,
            last,
        }
    }

    pub(crate) fn code(&mut self) -> String {
        fresh_code(&self.secret, &mut self.last)
    }

    pub(crate) fn run(&self, args: &[&str]) -> std::process::Output {
        run(self
            .server
            .imadm()
            .env("IMADM_TOKEN", &self.token)
            .args(args))
    }
}

/// Password and TOTP secret of the seeded operator `username`.
pub(crate) fn creds_of(server: &Server, username: &str) -> (String, String) {
    let op = server.info.raw["seeded_operators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["username"] == username)
        .unwrap_or_else(|| panic!("{username} is not seeded"));
    let s = |k: &str| op[k].as_str().unwrap().to_owned();
    (s("password"), s("totp_secret"))
}

/// `-o jsonl` lines of an `imadm` run as the server's dev owner.
fn jsonl(server: &Server, args: &[&str]) -> Vec<Value> {
    let out = run(server.imadm().args(args).args(["-o", "jsonl"]));
    assert_success(&out);
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The escalation alerts raised so far for `actor` (all high).
fn escalation_alerts(server: &Server, actor: &str) -> Vec<Value> {
    let alerts = jsonl(server, &["audit", "alerts"]);
    let mine: Vec<Value> = alerts
        .into_iter()
        .filter(|a| a["rule"] == "escalation_attempt" && a["actor"] == actor)
        .collect();
    assert!(mine.iter().all(|a| a["severity"] == "high"), "{mine:?}");
    mine
}

/// Issue #13 item 2, step by step: an admin creates a custom role and an operator holding
/// it, then tries to give that role (or a new one) `backup:restore`, which admins lack.
/// Each attempt exits 5 before step-up (the code stays unspent), nothing changes, and the
/// audit log shows it denied with a high `escalation_attempt` alert.
#[test]
fn an_admin_cannot_mint_permissions_through_custom_roles() {
    let server = Server::start_with(&["--seed-operator", "adm:admin"]);
    let mut adm = Acting::login(&server, "adm");

    let code = adm.code();
    assert_success(&adm.run(&[
        "role",
        "create",
        "r1",
        "--permission",
        "user:read",
        "--otp",
        &code,
    ]));
    let code = adm.code();
    let out = adm.run(&[
        "operator", "create", "victim", "--role", "r1", "-o", "json", "--otp", &code,
    ]);
    assert_success(&out);
    assert!(
        !json_stdout(&out)["one_time_password"]
            .as_str()
            .unwrap()
            .is_empty()
    );

    let code = adm.code();
    let out = adm.run(&[
        "role",
        "update",
        "r1",
        "--add",
        "backup:restore",
        "--otp",
        &code,
    ]);
    assert_error(&out, 5, "`backup:restore`, which you do not hold");
    let out = adm.run(&[
        "role",
        "create",
        "r2",
        "--permission",
        "backup:restore",
        "--otp",
        &code,
    ]);
    assert_error(&out, 5, "`backup:restore`");
    let file = server.tmp().join("roles.toml");
    for declared in [
        // r1 as it is, plus a new role carrying backup:restore ...
        "[roles.r1]\npermissions = [\"user:read\"]\n[roles.r2]\npermissions = [\"backup:restore\"]\n",
        // ... or r1 itself given backup:restore.
        "[roles.r1]\npermissions = [\"user:read\", \"backup:restore\"]\n",
    ] {
        std::fs::write(&file, declared).unwrap();
        let f = file.to_str().unwrap();
        let out = adm.run(&["role", "apply", "-f", f, "--yes", "--otp", &code]);
        assert_error(&out, 5, "`backup:restore`");
    }
    // The refusals came before step-up: the same code still approves a legitimate change.
    assert_success(&adm.run(&[
        "role",
        "create",
        "r3",
        "--permission",
        "user:write",
        "--otp",
        &code,
    ]));

    // Nothing changed: the attacker and the victim hold what they held.
    server.login();
    let show = |args: &[&str]| json_stdout(&run(server.imadm().args(args).args(["-o", "json"])));
    assert_eq!(
        show(&["role", "show", "r1"])["permissions"],
        json!(["user:read"])
    );
    assert_exit(&run(server.imadm().args(["role", "show", "r2"])), 6);
    assert_eq!(
        show(&["operator", "show", "adm"])["roles"],
        json!(["admin"])
    );
    assert_eq!(
        show(&["operator", "show", "victim"])["roles"],
        json!(["r1"])
    );
    let restore_held = server.sql(
        "SELECT count(*) FROM operator_roles o JOIN role_permissions p ON p.role = o.role \
         JOIN operators x ON x.id = o.operator_id \
         WHERE x.username IN ('adm', 'victim') AND p.permission = 'backup:restore'",
    );
    assert_eq!(restore_held.trim(), "0");

    // The audit log shows each attempt denied, and each raised a high alert.
    let denied: Vec<(String, String)> = jsonl(
        &server,
        &["audit", "log", "--actor", "adm", "--action", "role."],
    )
    .iter()
    .filter(|e| e["outcome"] == "denied")
    .map(|e| {
        assert_eq!(e["detail"], "code 50018", "{e}");
        (
            e["action"].as_str().unwrap().into(),
            e["target"].as_str().unwrap_or("-").into(),
        )
    })
    .collect();
    assert_eq!(
        denied,
        [
            ("role.update".to_owned(), "role:r1".to_owned()),
            ("role.create".into(), "role:r2".into()),
            ("role.apply".into(), "-".into()),
            ("role.apply".into(), "-".into()),
        ]
    );
    assert_eq!(escalation_alerts(&server, "adm").len(), 4);
}

/// Issue #13 item 3: with two owners, an admin can neither disable, enable, reset the MFA
/// or password of, nor delete an owner, nor change the roles of an operator holding a
/// permission admins lack, nor edit a custom role an owner holds. Each exits 5 before
/// step-up, raises a high alert, and the owner still logs in with password and TOTP.
#[test]
fn an_admin_cannot_act_on_an_owner() {
    let server = Server::start_with(&[
        "--seed-operator",
        "own2:owner",
        "--seed-operator",
        "adm:admin",
        "--seed-operator",
        "bk:backup-operator",
    ]);
    server.login();
    let owner_cmd = |args: &[&str]| {
        run(server
            .imadm()
            .args(args)
            .args(["--otp", &server.next_code()]))
    };
    assert_success(&owner_cmd(&[
        "role",
        "create",
        "owned",
        "--permission",
        "user:read",
    ]));
    assert_success(&owner_cmd(&["operator", "grant", "own2", "owned"]));

    let mut adm = Acting::login(&server, "adm");
    let code = adm.code();
    let attempts: &[&[&str]] = &[
        &["operator", "disable", "own2", "--yes"],
        &["operator", "enable", "own2"],
        &["operator", "reset-mfa", "own2", "--yes"],
        &["operator", "reset-password", "own2", "--yes"],
        &["operator", "delete", "own2", "--yes"],
        &["operator", "revoke", "own2", "owned"],
        // bk holds backup:restore: even a role whose permissions the admin holds cannot
        // be granted to them.
        &["operator", "grant", "bk", "support"],
        &["role", "update", "owned", "--add", "user:write"],
    ];
    for args in attempts {
        let out = adm.run(&[args, &["--otp", code.as_str()][..]].concat());
        assert_error(&out, 5, "`backup:restore`, which you do not hold");
    }
    assert_eq!(escalation_alerts(&server, "adm").len(), attempts.len());
    // The refusals came before step-up: the same code still approves a legitimate change.
    assert_success(&adm.run(&[
        "role",
        "create",
        "spare",
        "--permission",
        "user:read",
        "--otp",
        &code,
    ]));

    // The owner is untouched and logs in with password and TOTP as before.
    let show = |args: &[&str]| json_stdout(&run(server.imadm().args(args).args(["-o", "json"])));
    let own2 = show(&["operator", "show", "own2"]);
    assert_eq!(own2["roles"], json!(["owned", "owner"]));
    assert_eq!(own2["disabled"], false);
    assert_eq!(own2["mfa_enrolled"], true);
    assert_eq!(
        show(&["operator", "show", "bk"])["roles"],
        json!(["backup-operator"])
    );
    assert_eq!(
        show(&["role", "show", "owned"])["permissions"],
        json!(["user:read"])
    );
    let own2 = Acting::login(&server, "own2");
    assert_success(&own2.run(&["operator", "list"]));
    assert_eq!(
        server
            .sql("SELECT target, outcome FROM audit_log WHERE action = 'operator.reset_password'")
            .trim(),
        "operator:own2|denied"
    );
}

/// The other way round: owners can do all of that to an admin (each owner here acts a
/// few times only, as every step-up spends a TOTP step of its own). Nobody resets their
/// own password this way, though.
#[test]
fn an_owner_can_act_on_an_admin() {
    let server = Server::start_with(&[
        "--seed-operator",
        "own2:owner",
        "--seed-operator",
        "own3:owner",
        "--seed-operator",
        "own4:owner",
        "--seed-operator",
        "own5:owner",
        "--seed-operator",
        "adm:admin",
    ]);
    server.login();
    let dev = |args: &[&str]| {
        run(server
            .imadm()
            .args(args)
            .args(["--otp", &server.next_code()]))
    };
    assert_success(&dev(&[
        "role",
        "create",
        "held",
        "--permission",
        "user:read",
    ]));
    assert_success(&dev(&["operator", "grant", "adm", "held"]));
    let adm = Acting::login(&server, "adm");
    let mut owners = [
        Acting::login(&server, "own2"),
        Acting::login(&server, "own3"),
        Acting::login(&server, "own4"),
        Acting::login(&server, "own5"),
    ];

    // A new one-time password: the admin's session ends, the old password stops working,
    // and the new one must be changed at next login.
    let code = owners[0].code();
    let out = owners[0].run(&[
        "operator",
        "reset-password",
        "adm",
        "--yes",
        "-o",
        "json",
        "--otp",
        &code,
    ]);
    assert_success(&out);
    let v = json_stdout(&out);
    assert_eq!(v["username"], "adm");
    let one_time = v["one_time_password"].as_str().unwrap().to_owned();
    assert!(one_time.len() >= 12, "{one_time}");
    assert_error(&adm.run(&["operator", "list"]), 4, "session has ended");
    let api = Api::new(&server);
    let old = creds_of(&server, "adm").0;
    for (password, status) in [(old.as_str(), 401), (one_time.as_str(), 200)] {
        let (st, env) = api.call(
            "POST",
            "/admin/auth/login",
            None,
            None,
            Some(&json!({"username": "adm", "password": password})),
        );
        assert_eq!(st, status, "{env}");
    }
    assert_eq!(
        server
            .sql("SELECT must_change_password FROM operators WHERE username = 'adm'")
            .trim(),
        "1"
    );
    assert!(server.stored_files_containing(&one_time).is_empty());

    let steps: [(usize, &[&str]); 7] = [
        (0, &["operator", "reset-mfa", "adm", "--yes"]),
        (1, &["operator", "disable", "adm", "--yes"]),
        (1, &["operator", "enable", "adm"]),
        (2, &["operator", "revoke", "adm", "held"]),
        (2, &["operator", "grant", "adm", "held"]),
        (3, &["role", "update", "held", "--add", "user:write"]),
        (3, &["operator", "delete", "adm", "--yes"]),
    ];
    for (who, args) in steps {
        let code = owners[who].code();
        assert_success(&owners[who].run(&[args, &["--otp", code.as_str()][..]].concat()));
    }
    assert_exit(&run(server.imadm().args(["operator", "show", "adm"])), 6);
    assert!(escalation_alerts(&server, "own2").is_empty());

    // Not on yourself: that is `auth change-password`. Refused before step-up, so the code
    // is never looked at.
    let out = owners[2].run(&[
        "operator",
        "reset-password",
        "own4",
        "--yes",
        "--otp",
        "000000",
    ]);
    assert_error(&out, 5, "your own account");
    assert_eq!(
        server
            .sql(
                "SELECT actor, target, outcome FROM audit_log \
                 WHERE action = 'operator.reset_password' ORDER BY seq"
            )
            .lines()
            .collect::<Vec<_>>(),
        ["own2|operator:adm|success", "own4|operator:own4|denied"]
    );
}

/// Item 4 of the rule: your own service tokens you may always revoke; someone else's only
/// when you hold every scope of it.
#[test]
fn revoking_another_operators_token_needs_its_scopes() {
    let server = Server::start_with(&["--seed-operator", "adm:admin"]);
    server.login();
    let create = |who: Option<&Acting>, code: &str, scope: &str| {
        let args = [
            "token",
            "create",
            "--name",
            "t",
            "--scope",
            scope,
            "--expires",
            "1h",
            "-o",
            "json",
            "--otp",
            code,
        ];
        let out = match who {
            Some(a) => a.run(&args),
            None => run(server.imadm().args(args)),
        };
        assert_success(&out);
        json_stdout(&out)["id"].to_string()
    };
    let restore = create(None, &server.next_code(), "backup:restore");
    let read = create(None, &server.next_code(), "user:read");
    let mut adm = Acting::login(&server, "adm");
    let code = adm.code();
    let own = create(Some(&adm), &code, "user:read");
    // Nor can an admin give a token what they lack (refused before step-up, so the
    // spent code does not matter).
    let out = adm.run(&[
        "token",
        "create",
        "--name",
        "x",
        "--scope",
        "backup:restore",
        "--expires",
        "1h",
        "--otp",
        &code,
    ]);
    assert_error(&out, 5, "`backup:restore`, which you do not hold");

    assert_error(
        &adm.run(&["token", "revoke", &restore]),
        5,
        "`backup:restore`, which you do not hold",
    );
    assert_success(&adm.run(&["token", "revoke", &read]));
    assert_success(&adm.run(&["token", "revoke", &own]));
    let tokens = jsonl(&server, &["token", "list"]);
    let revoked: Vec<(String, bool)> = tokens
        .iter()
        .map(|t| (t["id"].to_string(), t["revoked"].as_bool().unwrap()))
        .collect();
    assert_eq!(revoked, [(restore, false), (read, true), (own, true)]);
    assert_eq!(escalation_alerts(&server, "adm").len(), 2);
    // The owner may revoke anyone's.
    assert_success(&run(server.imadm().args([
        "token",
        "revoke",
        &revoked[0].0,
    ])));
}
