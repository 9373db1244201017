//! Failures and their exit codes: wrong / replayed TOTP codes, wrong password, account
//! lockout (and what `auth_events` records about them, never the secrets), https-only
//! server URLs, no server configured, nothing listening, a dev server that is gone,
//! unknown flags, and `imadm server init` (its one-time password, and exit 7 on a second
//! init).

use crate::harness::{
    Server, Storage, assert_error, assert_exit, assert_success, describe, files_containing,
    imadm_in, json_stdout, run, stderr, stdout,
};

/// The text columns of `auth_events`: where a leaked secret would show up.
const EVENT_TEXT: &str = "SELECT coalesce(username,'') || '|' || event || '|' || outcome \
     || '|' || coalesce(source_addr,'') || '|' || coalesce(detail,'') FROM auth_events";

fn assert_not_recorded(server: &Server, secret: &str, what: &str) {
    let rows = server.sql(EVENT_TEXT);
    assert!(
        !rows.contains(secret),
        "auth_events records the {what}:\n{rows}"
    );
}

#[test]
fn wrong_totp_code_exits_4_and_is_recorded() {
    let server = Server::start();
    let code = server.wrong_code();
    let out = run(&mut server.login_cmd(&server.info.password, &code, Storage::InsecureFile));
    assert_error(&out, 4, "code is wrong");
    assert!(!server.config_dir.join("credentials.json").exists());
    let outcomes = server.auth_outcomes();
    assert!(outcomes.iter().any(|o| o == "wrong_code"), "{outcomes:?}");
    assert!(!outcomes.iter().any(|o| o == "success"), "{outcomes:?}");
    assert_not_recorded(&server, &code, "TOTP code");
    assert_not_recorded(&server, &server.info.password, "password");
}

#[test]
fn replayed_totp_code_exits_4() {
    let server = Server::start();
    let storage = Storage::preferred();
    let code = server.next_code();
    let out = run(&mut server.login_cmd(&server.info.password, &code, storage));
    assert_success(&out);
    // The same code again, still inside its 90 s window: refused as a replay.
    let out = run(&mut server.login_cmd(&server.info.password, &code, storage));
    assert_error(&out, 4, "already been used");
    let outcomes = server.auth_outcomes();
    assert!(
        outcomes.iter().any(|o| o == "replayed_code"),
        "{outcomes:?}"
    );
    assert_not_recorded(&server, &code, "TOTP code");
    assert_not_recorded(&server, &server.info.password, "password");
    // A fresh code still works afterwards.
    server.login_with(storage);
}

#[test]
fn wrong_password_exits_4() {
    let server = Server::start();
    let wrong = "not-the-password-Zq7";
    let out = run(&mut server.login_cmd(wrong, &server.next_code(), Storage::InsecureFile));
    assert_error(&out, 4, "wrong username or password");
    let outcomes = server.auth_outcomes();
    assert!(
        outcomes.iter().any(|o| o == "wrong_password"),
        "{outcomes:?}"
    );
    assert_not_recorded(&server, wrong, "attempted password");
}

#[test]
fn five_failures_lock_the_account_even_for_the_right_password() {
    let server = Server::start_with(&["--lockout-base", "60"]);
    let mut tried = Vec::new();
    for i in 1..=5 {
        let wrong = format!("wrong-password-{i}-Xk9");
        let out = run(&mut server.login_cmd(&wrong, "000000", Storage::InsecureFile));
        assert_exit(&out, 4);
        tried.push(wrong);
    }
    let code = server.next_code();
    let out = run(&mut server.login_cmd(&server.info.password, &code, Storage::InsecureFile));
    assert_error(&out, 4, "locked");
    assert!(!server.config_dir.join("credentials.json").exists());

    let outcomes = server.auth_outcomes();
    assert_eq!(
        outcomes.iter().filter(|o| *o == "wrong_password").count(),
        5,
        "{outcomes:?}"
    );
    assert!(outcomes.iter().any(|o| o == "locked"), "{outcomes:?}");
    assert!(!outcomes.iter().any(|o| o == "success"), "{outcomes:?}");
    // The lock is this address's (the only one here), for --lockout-base seconds.
    let lockout = server.sql("SELECT detail FROM auth_events WHERE event = 'account.lockout'");
    assert!(
        lockout.contains("127.0.0.1 is locked out for 60s"),
        "--lockout-base 60 should lock for 60 s: {lockout}"
    );
    let wait: u64 = stderr(&out)
        .split("try again in ")
        .nth(1)
        .and_then(|rest| rest.split('s').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no retry time\n{}", describe(&out)));
    assert!((30..=60).contains(&wait), "{wait}");
    let all = server.sql("SELECT * FROM auth_events");
    assert!(
        !all.contains(&server.info.password),
        "password in auth_events"
    );
    for wrong in &tried {
        assert!(
            !all.contains(wrong.as_str()),
            "attempted password in auth_events"
        );
    }
    assert_not_recorded(&server, &code, "TOTP code");
}

#[test]
fn http_server_url_is_refused_with_exit_2() {
    let cfg = tempfile::tempdir().unwrap();
    let out = run(imadm_in(cfg.path()).args(["--server", "http://127.0.0.1:1", "auth", "status"]));
    assert_error(&out, 2, "https");
    assert!(
        crate::harness::stderr(&out).contains("--insecure-http"),
        "the hint should name --insecure-http\n{}",
        describe(&out)
    );
    // --insecure-http is only for loopback addresses.
    let out = run(imadm_in(cfg.path()).args([
        "--insecure-http",
        "--server",
        "http://10.1.2.3:8080",
        "auth",
        "status",
    ]));
    assert_error(&out, 2, "loopback");
}

/// A loopback port where nothing listens (bound once, then released).
fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn insecure_http_on_loopback_passes_the_url_check() {
    let cfg = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}", dead_port());
    let out = run(imadm_in(cfg.path())
        .args(["--insecure-http", "--server", &url, "auth", "status"])
        .env("IMADM_TOKEN", "imadm_at_whatever"));
    // Accepted as a URL; it then fails only because nothing listens there.
    assert_error(&out, 3, &format!("cannot reach {url}"));
}

#[test]
fn no_server_configured_exits_2_and_says_how_to_configure_one() {
    let cfg = tempfile::tempdir().unwrap();
    let out = run(imadm_in(cfg.path()).args(["auth", "status"]));
    assert_error(&out, 2, "no server configured");
    let err = crate::harness::stderr(&out);
    assert!(err.contains("--server"), "{}", describe(&out));
    assert!(err.contains("imadm server --dev"), "{}", describe(&out));
}

#[test]
fn nothing_listening_exits_3() {
    let cfg = tempfile::tempdir().unwrap();
    let url = format!("https://127.0.0.1:{}", dead_port());
    let out = run(imadm_in(cfg.path())
        .args(["--server", &url, "auth", "login", "--username", "x"])
        .args(["--password-stdin", "--otp", "123456", "--insecure-storage"])
        .write_stdin("some-password\n"));
    assert_error(&out, 3, &format!("cannot reach {url}"));
    assert!(
        stderr(&out).contains("is the server running"),
        "{}",
        describe(&out)
    );
    // The same for a command holding a token.
    let out = run(imadm_in(cfg.path())
        .args(["--server", &url, "auth", "status"])
        .env("IMADM_TOKEN", "imadm_at_whatever"));
    assert_error(&out, 3, &format!("cannot reach {url}"));
}

/// `imadm server --dev` keeps its CA in its data dir, a temp dir removed when it stops, and
/// the `dev` profile points at that CA: afterwards commands say the server is gone (exit
/// 3) and how to start it again, not that --ca-cert is wrong (exit 2).
#[test]
fn a_stopped_dev_server_is_reported_gone() {
    let mut server = Server::start();
    server.stop_in_place();
    // What the end of a dev server without --data-dir does to its temp dir.
    std::fs::remove_dir_all(&server.data_dir).unwrap();
    for args in [&["auth", "status"][..], &["user", "list"]] {
        let out = run(server.imadm().args(args));
        assert_error(&out, 3, "is gone");
        assert!(
            stderr(&out).contains("imadm server --dev"),
            "{}",
            describe(&out)
        );
    }
}

#[test]
fn unknown_flag_exits_2() {
    let cfg = tempfile::tempdir().unwrap();
    let out = run(imadm_in(cfg.path()).args(["auth", "status", "--frobnicate"]));
    assert_error(&out, 2, "--frobnicate");
    let out = run(imadm_in(cfg.path()).args(["-o", "yaml", "auth", "status"]));
    assert_error(&out, 2, "yaml");
}

#[test]
fn server_init_prints_a_one_time_password_once_then_conflicts() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("config");
    let data = tmp.path().join("data");
    let out = run(imadm_in(&cfg)
        .args(["server", "init", "--data-dir"])
        .arg(&data)
        .args(["-o", "json"]));
    assert_success(&out);
    let v = json_stdout(&out);
    assert_eq!(v["schema_version"], 1, "{v}");
    assert_eq!(v["username"], "admin", "{v}");
    let otp = v["one_time_password"].as_str().expect("one_time_password");
    assert!(otp.len() >= 12, "one-time password too short: {v}");
    assert!(!v["app_id"].as_str().unwrap_or("").is_empty(), "{v}");
    assert!(v["data_dir"].is_string(), "{v}");
    assert!(data.join("imadm.db").is_file());
    assert!(
        files_containing(&data, otp).is_empty(),
        "the one-time password is stored in clear in the data dir"
    );

    let again = run(imadm_in(&cfg)
        .args(["server", "init", "--data-dir"])
        .arg(&data)
        .args(["-o", "json"]));
    assert_error(&again, 7, "already");
    assert!(
        !stdout(&again).contains("one_time_password"),
        "a second init must not print a password\n{}",
        describe(&again)
    );
}
