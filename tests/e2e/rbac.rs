//! RBAC: every admin endpoint × every built-in role (and a narrow service token) is
//! allowed or refused exactly as the permission catalogue says; grants and revokes take
//! effect on the next request; step-up MFA guards the sensitive actions (and service
//! tokens can never pass it); nobody changes their own roles; the last owner stays;
//! `role apply` shows a diff and applies atomically.
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
        let ca = std::fs::read(&server.info.ca_cert).unwrap();
        Api {
            http: reqwest::blocking::Client::builder()
                .tls_certs_merge(reqwest::Certificate::from_pem_bundle(&ca).unwrap())
                .local_address(local)
                .build()
                .unwrap(),
            base: server.info.server.clone(),
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
        let resp = rb.send().unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().unwrap_or(Value::Null))
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

/// (method, path, body, permission). Bodies are valid enough that a permitted caller
/// gets past the permission check (to step-up, validation or success); the check must
/// come first, so a refused caller always sees 403 / 10010.
fn endpoints() -> Vec<(&'static str, &'static str, Option<Value>, &'static str)> {
    vec![
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
        (
            "POST",
            "/admin/audit/export",
            Some(json!({})),
            "audit:export",
        ),
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
            if who.permissions.contains(&perm) {
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
    assert!(files_containing(&server.data_dir, &secret).is_empty());
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
    assert_eq!((st, env["code"].as_i64()), (403, Some(10010)), "{env}");

    // ... nor demote one.
    let (st, env) = api.call(
        "POST",
        "/admin/operators/admin/revoke",
        Some(&ada),
        None,
        Some(&json!({"roles": ["owner"]})),
    );
    assert_eq!((st, env["code"].as_i64()), (403, Some(10010)), "{env}");

    // Disabling or deleting the last enabled owner is refused (409), whoever asks.
    for (method, path) in [
        ("POST", "/admin/operators/admin/disable"),
        ("DELETE", "/admin/operators/admin"),
    ] {
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
