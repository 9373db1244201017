//! Passkeys end to end with a real browser: Debian's Chromium, headless, driven by
//! `tests/browser/approve.mjs` (playwright-core) with a CDP virtual authenticator (ctap2,
//! internal transport, user verification), against the real server and the real CLI.
//! The CLI prints the approval URL; the script opens it, checks what the page shows and
//! approves or denies. The authenticator's credentials outlive each browser in a file.
//!
//! Needs `node`, `/usr/bin/chromium` and `npm ci` in tests/browser (`.ci/run` provides all
//! three): without them these tests fail, they never skip.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::*;

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Run the page driver once; its JSON line. Panics, with how to fix it, when it cannot run.
pub(crate) fn browser(opts: Value) -> Value {
    let dir = browser_dir();
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "the browser test needs playwright-core: run `npm ci` in {} (`.ci/run` does)",
        dir.display()
    );
    let out = Command::new("node")
        .arg("approve.mjs")
        .arg(opts.to_string())
        .current_dir(&dir)
        .output()
        .expect("the browser test needs node (`.ci/run` installs nodejs)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the browser driver failed ({}; `.ci/run` installs chromium)\nstdout: {text}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(text.lines().last().unwrap_or("")).expect("one JSON line")
}

/// Run `imadm --profile dev ARGS` in the background, hand the approval URL it prints to
/// `page` (which drives the browser), then wait for the command: its output, and what
/// `page` returned.
fn approve_with(
    server: &Server,
    args: &[&str],
    page: impl FnOnce(&str) -> Value,
) -> (Output, Value) {
    let mut cmd = Command::new(bin());
    for var in IMADM_ENV {
        cmd.env_remove(var);
    }
    let mut child = cmd
        .arg("--config-dir")
        .arg(&server.config_dir)
        .args(["--profile", "dev"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start imadm");
    // stderr is read on a thread: the URL line comes first, the rest when it exits.
    let err = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if let Some(url) = line
                .split_whitespace()
                .find(|w| w.starts_with("https://") && w.contains("/admin/approve?code="))
            {
                let _ = tx.send(url.to_owned());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the command printed no approval URL");
    let seen = page(&url);
    let out = child.wait_with_output().expect("wait for imadm");
    let stderr = reader.join().unwrap();
    (
        Output {
            status: out.status,
            stdout: out.stdout,
            stderr: stderr.into_bytes(),
        },
        seen,
    )
}

/// The user code at the end of an approval URL.
fn code_of(url: &str) -> &str {
    url.rsplit_once("code=").unwrap().1
}

/// Log in with TOTP and enrol a passkey named `name` in the browser; the credentials go
/// to `state`.
pub(crate) fn enrol(server: &Server, name: &str, state: &Path) {
    enrol_on(server, name, state, true);
}

/// [`enrol`] on an authenticator that can store discoverable credentials (`resident`) or
/// not.
fn enrol_on(server: &Server, name: &str, state: &Path, resident: bool) {
    let password = server.info.password.clone();
    let (out, page) = approve_with(
        server,
        &["mfa", "passkey", "add", name, "--no-browser"],
        |url| {
            let page = browser(json!({"url": url, "action": "approve", "state": state,
                                      "password": password, "resident": resident}));
            assert_eq!(page["user_code"], code_of(url), "{page}");
            page
        },
    );
    assert_success(&out);
    assert_eq!(page["status_class"], "ok", "{page}");
    assert_eq!(
        page["client"], "127.0.0.1",
        "the page shows the client's address: {page}"
    );
    assert!(
        page["what"].as_str().unwrap().contains(name),
        "the page says what is enrolled: {page}"
    );
    assert!(
        stderr(&out).contains("added for admin"),
        "{}",
        describe(&out)
    );
}

#[test]
fn a_passkey_enrolled_in_the_browser_logs_in_and_approves_a_step_up_delete() {
    let server = Server::start_with(&["--approval-interval", "1"]);
    let storage = server.login();
    let state = server.tmp().join("authenticator.json");
    enrol(&server, "laptop", &state);

    let out = run(server
        .imadm()
        .args(["mfa", "passkey", "list", "-o", "json"]));
    assert_success(&out);
    let keys = json_stdout(&out);
    assert_eq!(keys.as_array().unwrap().len(), 1, "{keys}");
    assert_eq!(keys[0]["name"], "laptop");
    let out = run(server.imadm().args(["mfa", "status", "-o", "json"]));
    assert_eq!(json_stdout(&out)["passkeys"][0]["name"], "laptop");

    // A login approved in the browser with password and passkey, kept like a TOTP login.
    assert_success(&run(server.imadm().args(["auth", "logout"])));
    let mut login = vec!["auth", "login", "--web", "--no-browser"];
    if matches!(storage, Storage::InsecureFile) {
        login.push("--insecure-storage");
    }
    let password = server.info.password.clone();
    let (out, page) = approve_with(&server, &login, |url| {
        browser(json!({"url": url, "action": "approve", "state": state,
                       "username": "admin", "password": password}))
    });
    assert_success(&out);
    assert_eq!(page["status_class"], "ok", "{page}");
    assert!(stderr(&out).contains("Logged in"), "{}", describe(&out));
    let status = json_stdout(&server.status(&[]));
    assert_eq!(
        status["credential_store"],
        storage.status_name(),
        "{status}"
    );
    assert_eq!(status["operator"], "admin", "{status}");

    // A step-up approved in the browser: the page names what is approved.
    let out = run(server
        .imadm()
        .args(["user", "create", "alice", "--password-stdin"])
        .write_stdin("pw-alice-12345\n"));
    assert_success(&out);
    let (out, page) = approve_with(
        &server,
        &["user", "delete", "alice", "--web", "--yes"],
        |url| browser(json!({"url": url, "action": "approve", "state": state})),
    );
    assert_success(&out);
    assert_eq!(page["status_class"], "ok", "{page}");
    assert!(
        page["what"]
            .as_str()
            .unwrap()
            .contains("delete IM users alice"),
        "{page}"
    );
    assert_exit(&run(server.imadm().args(["user", "show", "alice"])), 6);

    let log = run(server
        .imadm()
        .args(["audit", "log", "--limit", "100", "-o", "json"]));
    let events = json_stdout(&log);
    let has = |action: &str, detail: &str| {
        events.as_array().unwrap().iter().any(|e| {
            e["action"] == action
                && e["outcome"] == "success"
                && e["detail"].as_str().unwrap_or("").contains(detail)
        })
    };
    assert!(has("mfa.passkey_add", "laptop"), "{events}");
    assert!(has("auth.passkey", "laptop"), "{events}");
    assert!(has("auth.mfa", "mfa=passkey"), "{events}");
    assert!(has("auth.step_up", "passkey: deleting users"), "{events}");
    // The audit log names IM users by pseudonym only, also here.
    assert!(!log.stdout.windows(5).any(|w| w == b"alice"), "{events}");
}

#[test]
fn a_denied_or_expired_approval_and_an_authenticator_without_user_verification_are_refused() {
    let server = Server::start_with(&["--approval-interval", "1", "--approval-ttl", "20"]);
    server.login_with(Storage::InsecureFile);
    let state = server.tmp().join("authenticator.json");
    enrol(&server, "laptop", &state);

    // Denied in the browser: exit 4, nothing logged in.
    let (out, page) = approve_with(
        &server,
        &[
            "auth",
            "login",
            "--web",
            "--no-browser",
            "--insecure-storage",
        ],
        |url| browser(json!({"url": url, "action": "deny", "state": state})),
    );
    assert_eq!(page["status_class"], "err", "{page}");
    assert_error(&out, 4, "denied");

    // The right passkey on an authenticator that cannot verify the user (no fingerprint,
    // face or PIN) is refused; the approval then expires: exit 4, and nothing is deleted.
    let out = run(server
        .imadm()
        .args(["user", "create", "bob", "--password-stdin"])
        .write_stdin("pw-bob-1234567\n"));
    assert_success(&out);
    let mut expired_url = String::new();
    let (out, page) = approve_with(
        &server,
        &["user", "delete", "bob", "--web", "--yes"],
        |url| {
            expired_url = url.to_owned();
            browser(json!({"url": url, "action": "approve", "state": state, "uv": false}))
        },
    );
    assert_eq!(page["status_class"], "err", "{page}");
    assert!(
        page["status_text"]
            .as_str()
            .unwrap()
            .starts_with("Not approved"),
        "{page}"
    );
    assert_error(&out, 4, "expired");
    assert_success(&run(server.imadm().args(["user", "show", "bob"])));

    // The page of an expired code says so.
    let page = browser(json!({"url": expired_url}));
    assert_eq!(page["http_status"], 404, "{page}");
    assert!(
        page["page_text"].as_str().unwrap().contains("expired"),
        "{page}"
    );
}

#[test]
fn an_owner_must_use_passkeys_once_the_policy_requires_them_for_owners() {
    let server =
        Server::start_with(&["--approval-interval", "1", "--require-passkey-for", "owner"]);
    // A TOTP login still works, but the session may only enrol a passkey.
    let out = server.login_with(Storage::InsecureFile);
    assert!(
        stderr(&out).contains("mfa passkey add"),
        "{}",
        describe(&out)
    );
    let out = run(server.imadm().args(["user", "list"]));
    assert_error(&out, 4, "passkey");
    let status = json_stdout(&run(server.imadm().args(["mfa", "status", "-o", "json"])));
    assert_eq!(status["passkey_required"], true, "{status}");

    let state = server.tmp().join("authenticator.json");
    enrol(&server, "laptop", &state);
    assert_success(&run(server.imadm().args(["user", "list"])));

    // TOTP neither approves a step-up nor logs in any more.
    let out = run(server
        .imadm()
        .args(["user", "create", "bob", "--password-stdin"])
        .write_stdin("pw-bob-1234567\n"));
    assert_success(&out);
    let code = server.next_code();
    let out = run(server
        .imadm()
        .args(["user", "delete", "bob", "--yes", "--otp", &code]));
    assert_error(&out, 4, "--web");
    assert_success(&run(server.imadm().args(["user", "show", "bob"])));
    let code = server.next_code();
    let out = run(&mut server.login_cmd(&server.info.password, &code, Storage::InsecureFile));
    assert_error(&out, 4, "--web");
    // Nor does it approve removing a passkey.
    let out = run(server
        .imadm()
        .args(["mfa", "passkey", "remove", "1", "--yes", "--otp", "123456"]));
    assert_exit(&out, 4);
}

#[test]
fn the_approval_page_runs_only_its_own_script_and_its_calls_need_the_csrf_token() {
    let server = Server::start();
    let http = server.https_client();
    let base = &server.info.server;
    let page = http.get(format!("{base}/admin/approve")).send().unwrap();
    assert_eq!(page.status(), 200);
    let header = |name: &str| {
        page.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let csp = header("content-security-policy");
    assert!(
        csp.starts_with("default-src 'none'; script-src 'sha256-"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe"), "{csp}");
    assert!(header("content-type").starts_with("text/html"));
    let cookie = header("set-cookie");
    for part in [
        "__Host-imadm_approve=",
        "Secure",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
    ] {
        assert!(cookie.contains(part), "{cookie}");
    }
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    // Every other answer keeps the CSP that allows nothing.
    let info = http
        .get(format!("{base}/admin/server-info"))
        .send()
        .unwrap();
    assert_eq!(
        info.headers()["content-security-policy"],
        "default-src 'none'"
    );

    let deny = |cookie: Option<&str>, header: Option<&str>, origin: Option<&str>| {
        let mut req = http
            .post(format!("{base}/admin/approve/deny"))
            .json(&json!({"user_code": "BCDF-GHJK"}));
        if let Some(c) = cookie {
            req = req.header("cookie", format!("__Host-imadm_approve={c}"));
        }
        if let Some(h) = header {
            req = req.header("x-csrf-token", h);
        }
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let resp = req.send().unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().unwrap();
        (status, body["code"].as_i64().unwrap())
    };
    assert_eq!(deny(None, None, None).0, 403);
    assert_eq!(deny(Some(&token), None, None).0, 403);
    assert_eq!(deny(None, Some(&token), None).0, 403);
    assert_eq!(deny(Some(&token), Some("other"), None).0, 403);
    let port = server.host_port().rsplit_once(':').unwrap().1.to_owned();
    let evil = "https://evil.example";
    assert_eq!(deny(Some(&token), Some(&token), Some(evil)).0, 403);
    // With the token (and the server's own origin) the call is made: the code is unknown.
    let own = format!("https://localhost:{port}");
    assert_eq!(deny(Some(&token), Some(&token), Some(&own)), (404, 50033));
}

#[test]
fn a_passkey_approval_is_good_for_its_own_request_once() {
    let server = Server::start_with(&["--approval-interval", "1"]);
    server.login_with(Storage::InsecureFile);
    let state = server.tmp().join("authenticator.json");
    enrol(&server, "laptop", &state);
    let id = |name: &str| {
        let out = run(server
            .imadm()
            .args(["user", "create", name, "--password-stdin"])
            .write_stdin(format!("pw-{name}-1234567\n")));
        assert_success(&out);
        let out = run(server.imadm().args(["user", "show", name, "-o", "json"]));
        json_stdout(&out)["user_id"].as_i64().unwrap()
    };
    let (alice, bob) = (id("alice"), id("bob"));
    let token = server.token();
    let http = server.https_client();
    let delete = |user: i64, otp: &str| -> Value {
        http.post(format!("{}/admin/users/bulk-delete", server.info.server))
            .header("app_id", &server.info.app_id)
            .header("access-token", &token)
            .header("x-imadm-otp", otp)
            .json(&json!({ "user_ids": [user] }))
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    // Ask for an approval of deleting alice, approve it in the browser, take the token.
    let approved = |user: i64| -> String {
        let env = delete(user, "web");
        assert_eq!(env["code"], 50034, "{env}");
        let a = &env["data"]["approval"];
        let page = browser(
            json!({"url": a["verification_uri_complete"], "action": "approve",
                                  "state": state}),
        );
        assert_eq!(page["status_class"], "ok", "{page}");
        let grant: Value = http
            .post(format!("{}/admin/auth/device/token", server.info.server))
            .header("app_id", &server.info.app_id)
            .json(&json!({ "device_code": a["device_code"] }))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(grant["code"], 200, "{grant}");
        grant["data"]["step_up_token"].as_str().unwrap().to_owned()
    };
    let exists = |name: &str| {
        run(server.imadm().args(["user", "show", name]))
            .status
            .success()
    };

    // Approved for alice: refused for bob (and spent by that attempt).
    let t = approved(alice);
    assert_eq!(delete(bob, &t)["code"], 50003);
    assert_eq!(delete(alice, &t)["code"], 50003);
    assert!(exists("alice") && exists("bob"));
    // Approved for alice: deletes alice, once.
    let t = approved(alice);
    assert_eq!(delete(alice, &t)["code"], 200);
    assert!(!exists("alice"));
    assert_eq!(delete(bob, &t)["code"], 50003);
    assert!(exists("bob"));
}

/// `auth login --web` with the session kept in the 0600 file.
const WEB_LOGIN: &[&str] = &[
    "auth",
    "login",
    "--web",
    "--no-browser",
    "--insecure-storage",
];

#[test]
fn a_discoverable_passkey_signs_in_alone_and_meets_the_passkey_policy() {
    let server =
        Server::start_with(&["--approval-interval", "1", "--require-passkey-for", "owner"]);
    server.login_with(Storage::InsecureFile);
    let state = server.tmp().join("authenticator.json");
    enrol(&server, "laptop", &state);
    assert_success(&run(server.imadm().args(["auth", "logout"])));

    // "Sign in with a passkey": nothing typed, the passkey names the operator.
    let (out, page) = approve_with(&server, WEB_LOGIN, |url| {
        browser(json!({"url": url, "action": "passkey_only", "state": state}))
    });
    assert_eq!(page["status_class"], "ok", "{page}");
    assert_success(&out);
    let status = json_stdout(&server.status(&[]));
    assert_eq!(status["operator"], "admin", "{status}");
    // A full session: the owners' passkey policy is met (no enrol-only restriction).
    assert_success(&run(server.imadm().args(["user", "list"])));

    let log = run(server
        .imadm()
        .args(["audit", "log", "--limit", "100", "-o", "json"]));
    let events = json_stdout(&log);
    assert!(
        events.as_array().unwrap().iter().any(|e| {
            e["action"] == "auth.passkey"
                && e["outcome"] == "success"
                && e["detail"]
                    .as_str()
                    .unwrap_or("")
                    .contains("laptop\" (passkey only)")
        }),
        "{events}"
    );
}

#[test]
fn a_passkey_that_is_not_discoverable_or_is_a_disabled_operators_does_not_sign_in_alone() {
    let server = Server::start_with(&[
        "--approval-interval",
        "1",
        "--approval-ttl",
        "20",
        "--seed-operator",
        "second:owner",
    ]);
    server.login_with(Storage::InsecureFile);

    // An authenticator that cannot store credentials enrols an ordinary passkey, which
    // signs in with username and password only: the page says so, the CLI waits until the
    // code expires.
    let plain = server.tmp().join("plain.json");
    enrol_on(&server, "key", &plain, false);
    let (out, page) = approve_with(&server, WEB_LOGIN, |url| {
        browser(json!({"url": url, "action": "passkey_only", "state": plain,
                       "resident": false}))
    });
    assert_eq!(page["status_class"], "err", "{page}");
    assert!(
        page["status_text"]
            .as_str()
            .unwrap()
            .contains("username, password and passkey"),
        "{page}"
    );
    assert_error(&out, 4, "expired");

    // A discoverable passkey of an operator disabled since (by the other owner).
    let own = server.tmp().join("discoverable.json");
    enrol(&server, "phone", &own);
    let api = crate::rbac::Api::new(&server);
    let (password, secret) = &crate::rbac::seeded(&server)["owner"];
    let mut last = None;
    let token = api.login_tracking("second", password, secret, &mut last);
    let code = fresh_code(secret, &mut last);
    let (st, env) = api.call(
        "POST",
        "/admin/operators/admin/disable",
        Some(&token),
        Some(&code),
        None,
    );
    assert_eq!(st, 200, "{env}");
    let (out, page) = approve_with(&server, WEB_LOGIN, |url| {
        browser(json!({"url": url, "action": "passkey_only", "state": own}))
    });
    assert_eq!(page["status_class"], "err", "{page}");
    assert!(
        page["status_text"].as_str().unwrap().contains("disabled"),
        "{page}"
    );
    assert_error(&out, 4, "expired");
}

#[test]
fn mfa_disable_refuses_the_last_second_factor() {
    let server = Server::start_with(&["--approval-interval", "1"]);
    server.login_with(Storage::InsecureFile);
    let disable = || {
        run(server
            .imadm()
            .args(["mfa", "disable", "--yes", "--otp", &server.next_code()]))
    };
    // TOTP alone: kept (the password must never be enough to enrol a new factor).
    assert_error(&disable(), 7, "last second factor");
    // Beside a passkey it goes.
    let state = server.tmp().join("authenticator.json");
    enrol(&server, "laptop", &state);
    assert_success(&disable());
}
