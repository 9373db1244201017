//! Sessions end to end against a real dev server: the dev server's ready line and `dev`
//! profile, non-interactive login (`--password-stdin` with `--otp` or `IMADM_OTP`),
//! `auth status -o json`, `auth token`, automatic refresh of an expired access token,
//! refresh-token reuse ending the session, and `auth logout` revoking on the server.
//!
//! Logins use the OS keyring when a Secret Service works here, else `--insecure-storage`
//! (the keyring itself is covered in `keyring.rs`).

use std::time::Duration;

use crate::harness::{
    Server, Storage, assert_error, assert_exit, assert_success, describe, files_containing,
    imadm_in, json_stdout, keyring_lookup, now_secs, run, stderr,
};

#[test]
fn dev_server_prints_ready_line_writes_dev_profile_and_exits_0_on_sigterm() {
    let server = Server::start();
    let raw = &server.info.raw;
    assert_eq!(raw["schema_version"], 1, "{raw}");
    assert_eq!(raw["profile"], "dev", "{raw}");
    assert_eq!(raw["username"], "admin", "{raw}");
    assert!(
        server.info.server.starts_with("https://127.0.0.1:"),
        "{raw}"
    );
    let port: u16 = server
        .host_port()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(port, 0, "the URL must carry the real port, not 0");
    assert!(
        server.info.ca_cert.is_file(),
        "ca_cert is not a file: {raw}"
    );
    assert!(
        std::fs::read_to_string(&server.info.ca_cert)
            .unwrap()
            .contains("BEGIN CERTIFICATE"),
        "ca_cert is not a PEM certificate"
    );
    assert_eq!(
        std::fs::canonicalize(&server.info.data_dir).unwrap(),
        std::fs::canonicalize(&server.data_dir).unwrap()
    );
    assert!(server.info.password.len() >= 12, "{raw}");
    assert!(!server.info.app_id.is_empty());
    // The secret is usable base32 for an authenticator (oathtool refuses anything else).
    crate::harness::totp_at(&server.info.totp_secret, now_secs());

    // The profile is saved: without --server the CLI reaches this server and only lacks
    // a login (exit 4), rather than lacking a server (exit 2).
    assert!(
        !files_containing(&server.config_dir, &server.info.server).is_empty(),
        "no file in the config dir names the server URL"
    );
    let out = server.status(&[]);
    assert_error(&out, 4, "not logged in");

    let status = server.stop();
    assert_eq!(
        status.code(),
        Some(0),
        "server exit status on SIGTERM: {status:?}"
    );
}

#[test]
fn login_then_status_json_describes_the_session() {
    let server = Server::start();
    let storage = server.login();

    let before = now_secs() as i64;
    let out = server.status(&[]);
    assert_success(&out);
    let v = json_stdout(&out);
    assert_eq!(v["schema_version"], 1, "{v}");
    assert_eq!(v["logged_in"], true, "{v}");
    assert_eq!(v["profile"], "dev", "{v}");
    assert_eq!(v["server"], server.info.server.as_str(), "{v}");
    assert_eq!(v["operator"], "admin", "{v}");
    assert_eq!(v["roles"], serde_json::json!(["owner"]), "{v}");
    assert_eq!(v["credential_store"], storage.status_name(), "{v}");
    assert_eq!(v["insecure"], storage == Storage::InsecureFile, "{v}");
    assert_eq!(v["restrictions"], serde_json::json!([]), "{v}");
    let access = v["access_expires_at"].as_i64().expect("access_expires_at");
    let refresh = v["refresh_expires_at"]
        .as_i64()
        .expect("refresh_expires_at");
    // Default access-token lifetime is 15 minutes.
    assert!(
        access > before + 600 && access <= before + 905,
        "access_expires_at {access} not ~15 min after {before}"
    );
    assert!(
        refresh >= access,
        "refresh_expires_at {refresh} < access {access}"
    );
}

#[test]
fn global_options_work_after_the_subcommand() {
    let server = Server::start();
    server.login();
    let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("imadm");
    for var in crate::harness::IMADM_ENV {
        cmd.env_remove(var);
    }
    cmd.args(["auth", "status", "--config-dir"])
        .arg(&server.config_dir)
        .args(["--profile", "dev", "-o", "json"]);
    let out = run(&mut cmd);
    assert_success(&out);
    let v = json_stdout(&out);
    assert_eq!(v["logged_in"], true, "{v}");
    assert_eq!(v["server"], server.info.server.as_str(), "{v}");
}

#[test]
fn login_takes_the_code_from_imadm_otp() {
    let server = Server::start();
    let storage = Storage::preferred();
    let mut cmd = server.imadm();
    cmd.args(["auth", "login", "--username", "admin", "--password-stdin"])
        .env("IMADM_OTP", server.next_code())
        // No trailing newline this time.
        .write_stdin(server.info.password.clone());
    server.use_storage(&mut cmd, storage);
    let out = run(&mut cmd);
    assert_success(&out);
    assert!(
        stderr(&out).lines().any(|l| l.starts_with("Logged in")),
        "{}",
        describe(&out)
    );
    let out = server.status(&[]);
    assert_success(&out);
    assert_eq!(json_stdout(&out)["operator"], "admin");
}

#[test]
fn login_without_a_code_under_no_input_fails_instead_of_prompting() {
    let server = Server::start();
    let mut cmd = server.imadm();
    cmd.args(["--no-input", "auth", "login", "--username", "admin"])
        .args(["--password-stdin", "--insecure-storage"])
        .write_stdin(format!("{}\n", server.info.password));
    let out = run(&mut cmd);
    assert!(
        matches!(out.status.code(), Some(2) | Some(4)),
        "expected exit 2 or 4 (code needed, no prompt)\n{}",
        describe(&out)
    );
    assert!(
        stderr(&out).contains("--otp"),
        "hint should name --otp\n{}",
        describe(&out)
    );
    assert!(!server.config_dir.join("credentials.json").exists());
}

#[test]
fn auth_token_prints_a_token_the_server_accepts() {
    let server = Server::start();
    server.login();
    let token = server.token();
    // The same token, given through IMADM_TOKEN, is a valid credential on its own.
    let out = server.status(&[("IMADM_TOKEN", &token)]);
    assert_success(&out);
    let v = json_stdout(&out);
    assert_eq!(v["operator"], "admin", "{v}");
    assert_eq!(v["credential_store"], "env", "{v}");
    // A made-up token is refused by the server.
    let out = server.status(&[("IMADM_TOKEN", "imadm_at_not-a-real-token")]);
    assert_error(&out, 4, "token");
}

#[test]
fn status_and_token_exit_4_when_not_logged_in() {
    let server = Server::start();
    let out = server.status(&[]);
    assert_error(&out, 4, "not logged in");
    if !out.stdout.is_empty() {
        let v = json_stdout(&out);
        assert_eq!(v["logged_in"], false, "{v}");
    }
    let out = run(server.imadm().args(["auth", "token"]));
    assert_error(&out, 4, "not logged in");
    assert!(
        out.stdout.is_empty(),
        "no token may be printed\n{}",
        describe(&out)
    );
}

#[test]
fn logout_revokes_the_session_on_the_server_and_forgets_it() {
    let server = Server::start();
    let storage = server.login();
    let token = server.token();

    let out = run(server.imadm().args(["auth", "logout"]));
    assert_success(&out);

    // Forgotten locally...
    let out = server.status(&[]);
    assert_error(&out, 4, "not logged in");
    match storage {
        Storage::Keyring => assert_eq!(keyring_lookup(&server.account()), None),
        Storage::InsecureFile => assert!(
            files_containing(&server.config_dir, &token).is_empty(),
            "the access token is still in a file under the config dir"
        ),
    }
    // ...and revoked on the server: the old token no longer works anywhere.
    let out = server.status(&[("IMADM_TOKEN", &token)]);
    assert_exit(&out, 4);
    assert_eq!(
        server
            .sql("SELECT count(*) FROM auth_events WHERE event = 'logout' AND outcome = 'success'")
            .trim(),
        "1",
        "logout not recorded in auth_events"
    );
    assert_eq!(
        server
            .sql("SELECT count(*) FROM sessions WHERE revoked_at IS NULL")
            .trim(),
        "0",
        "a session is still live on the server after logout"
    );
}

#[test]
fn expired_access_token_is_refreshed_without_a_prompt() {
    let server = Server::start_with(&["--access-ttl", "2"]);
    server.login();
    let first = server.token();
    std::thread::sleep(Duration::from_secs(3));

    // The server no longer accepts the first token by itself...
    let out = server.status(&[("IMADM_TOKEN", &first)]);
    assert_exit(&out, 4);
    // ...yet the stored session still works: the CLI refreshed it, asking nothing.
    let out = run(server
        .imadm()
        .args(["--no-input", "auth", "status", "-o", "json"]));
    assert_success(&out);
    assert_eq!(json_stdout(&out)["logged_in"], true);
    let second = server.token();
    assert_ne!(first, second, "the refresh must rotate the access token");
    let out = server.status(&[("IMADM_TOKEN", &second)]);
    assert_success(&out);
}

#[test]
fn reusing_a_rotated_refresh_token_ends_the_whole_session() {
    let server = Server::start_with(&["--access-ttl", "1"]);
    server.login_with(Storage::InsecureFile);
    let file = server.config_dir.join("credentials.json");
    let original = std::fs::read(&file).unwrap();
    // Let the access token expire so the next use must refresh (and rotate).
    std::thread::sleep(Duration::from_millis(2100));
    server.token();
    let rotated = std::fs::read(&file).unwrap();
    assert_ne!(
        original, rotated,
        "refresh did not rewrite the stored session"
    );

    // A stolen copy of the old session presents the old refresh token: refused...
    std::fs::write(&file, &original).unwrap();
    let out = server.status(&[]);
    assert_exit(&out, 4);
    if !out.stdout.is_empty() {
        assert_eq!(json_stdout(&out)["logged_in"], false);
    }
    // ...and the server ends the session, so the legitimate rotated copy dies too.
    std::fs::write(&file, &rotated).unwrap();
    let out = server.status(&[]);
    assert_exit(&out, 4);
    assert!(
        server
            .auth_outcomes()
            .iter()
            .any(|o| o == "reuse_detected_session_revoked"),
        "reuse not recorded: {:?}",
        server.auth_outcomes()
    );
}

#[test]
fn server_keeps_only_token_hashes() {
    let server = Server::start();
    server.login_with(Storage::InsecureFile);
    let token = server.token();
    // Sanity: the insecure file does hold it, so the search below can find tokens.
    assert!(!files_containing(&server.config_dir, &token).is_empty());
    assert_eq!(
        files_containing(&server.data_dir, &token),
        Vec::<std::path::PathBuf>::new(),
        "the server data dir contains a live access token in clear"
    );
    assert!(files_containing(&server.data_dir, &server.info.password).is_empty());
}

#[test]
fn profile_of_one_config_dir_is_invisible_to_another() {
    let server = Server::start();
    let other = tempfile::tempdir().unwrap();
    let out = run(imadm_in(other.path()).args(["--profile", "dev", "auth", "status"]));
    assert_error(&out, 2, "no server configured");
    // While the server's own config dir does have it.
    assert_error(&server.status(&[]), 4, "not logged in");
}
