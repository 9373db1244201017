//! The production bootstrap path: `server init` creates an owner with a one-time
//! password and no MFA; the server lets that account do nothing but change the password
//! and enrol MFA; after both, it gets a full session. Also: the public discovery
//! endpoints (`/admin/server-info`, `/openapi.json`).

use crate::harness::*;

const ROOT: &str = "root";

#[test]
fn one_time_password_must_be_changed_and_mfa_enrolled_before_anything_else() {
    let server = Server::start_initialised(ROOT);
    let otp_password = server.info.password.clone();

    // Password step only: no MFA yet, so a restricted session (no code asked for).
    let mut login = server.imadm();
    login
        .args([
            "auth",
            "login",
            "--username",
            ROOT,
            "--password-stdin",
            "--insecure-storage",
        ])
        .write_stdin(format!("{otp_password}\n"));
    let out = run(&mut login);
    assert_success(&out);
    assert!(
        stderr(&out).contains("imadm auth change-password"),
        "{}",
        describe(&out)
    );
    assert!(
        stderr(&out).contains("imadm mfa enroll"),
        "{}",
        describe(&out)
    );

    let status = json_stdout(&server.status(&[]));
    let restrictions: Vec<&str> = status["restrictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(restrictions, ["mfa_enroll", "password_change"]);

    // Anything else is refused by the server, naming what to do.
    let full_session_action = || {
        run(server.imadm().args([
            "mfa",
            "recovery-codes",
            "--regenerate",
            "--otp",
            "123456",
            "--no-input",
        ]))
    };
    assert_error(&full_session_action(), 4, "change the one-time password");

    // Too short a new password: refused, nothing changes.
    let out = run(server
        .imadm()
        .args(["auth", "change-password", "--password-stdin"])
        .write_stdin(format!("{otp_password}\nshort\n")));
    assert_error(&out, 2, "too short");

    let new_password = "correct horse battery staple";
    let out = run(server
        .imadm()
        .args(["auth", "change-password", "--password-stdin"])
        .write_stdin(format!("{otp_password}\n{new_password}\n")));
    assert_success(&out);
    let status = json_stdout(&server.status(&[]));
    assert_eq!(status["restrictions"], serde_json::json!(["mfa_enroll"]));
    assert_error(&full_session_action(), 4, "enrol MFA");

    // Enrol non-interactively: print the secret, confirm with oathtool's code.
    let out = run(server
        .imadm()
        .args(["mfa", "enroll", "-o", "json", "--no-input"]));
    assert_success(&out);
    let enrol = json_stdout(&out);
    let secret = enrol["secret"].as_str().unwrap().to_owned();
    assert!(
        enrol["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/imadm:root?secret=")
    );
    let wrong = run(server
        .imadm()
        .args(["mfa", "enroll", "--confirm", "000000", "--no-input"]));
    assert_error(&wrong, 4, "wrong");
    let code = totp_at(&secret, now_secs());
    let out = run(server.imadm().args([
        "mfa",
        "enroll",
        "--confirm",
        &code,
        "-o",
        "json",
        "--no-input",
    ]));
    assert_success(&out);
    let codes = json_stdout(&out)["recovery_codes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(codes.len(), 10);

    // The session is now a full one.
    let status = json_stdout(&server.status(&[]));
    assert_eq!(status["restrictions"], serde_json::json!([]));
    assert_eq!(status["mfa_enrolled"], true);
    assert_eq!(status["roles"], serde_json::json!(["owner"]));

    // The next login needs the new password and a TOTP code; the old password is dead;
    // a recovery code works once.
    let mut old = server.imadm();
    old.args([
        "auth",
        "login",
        "--username",
        ROOT,
        "--password-stdin",
        "--otp",
        "123456",
        "--insecure-storage",
    ])
    .write_stdin(format!("{otp_password}\n"));
    assert_error(&run(&mut old), 4, "wrong username or password");
    let recovery = codes[0].as_str().unwrap();
    for expect_ok in [true, false] {
        let mut again = server.imadm();
        again
            .args([
                "auth",
                "login",
                "--username",
                ROOT,
                "--password-stdin",
                "--otp",
                recovery,
                "--insecure-storage",
            ])
            .write_stdin(format!("{new_password}\n"));
        let out = run(&mut again);
        if expect_ok {
            assert_success(&out);
        } else {
            assert_error(&out, 4, "wrong");
        }
    }
    // Nothing of this in the event log or the database in clear.
    for secret_text in [
        otp_password.as_str(),
        new_password,
        recovery,
        secret.as_str(),
    ] {
        assert!(
            server.stored_files_containing(secret_text).is_empty(),
            "{secret_text:?} stored in clear"
        );
    }
}

#[test]
fn discovery_endpoints_are_public_and_openapi_is_generated() {
    let server = Server::start();
    let client = server.https_client();
    let info: serde_json::Value = client
        .get(format!("{}/admin/server-info", server.info.server))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(info["code"], 200);
    assert_eq!(info["data"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["data"]["app_id"], server.info.app_id.as_str());
    assert!(
        info["data"]["api_features"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "auth.mfa.totp")
    );

    let doc: serde_json::Value = client
        .get(format!("{}/openapi.json", server.info.server))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    for path in [
        "/admin/auth/login",
        "/admin/auth/mfa",
        "/admin/auth/refresh",
        "/admin/mfa/enroll",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from /openapi.json"
        );
    }
    assert!(doc["components"]["schemas"]["LoginRequest"].is_object());

    // Everything else needs the app_id header, answered in the envelope.
    let resp = client
        .post(format!("{}/admin/auth/login", server.info.server))
        .json(&serde_json::json!({"username": "admin", "password": "x"}))
        .send()
        .unwrap();
    // 400: a required header is missing (schemathesis' missing_required_header check).
    assert_eq!(resp.status().as_u16(), 400);
    let body: serde_json::Value = resp.json().unwrap();
    assert_eq!(body["code"], 40000);

    // Even a wrong method gets an envelope, not an empty 405.
    let resp = client
        .get(format!("{}/admin/auth/login", server.info.server))
        .header("app_id", &server.info.app_id)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    let body: serde_json::Value = resp.json().unwrap();
    assert_eq!(body["code"], 50017);
    assert!(body["message"].as_str().unwrap().contains("HTTP method"));
}
