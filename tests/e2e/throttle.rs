//! Login throttling and lockout against a real dev server, from several loopback source
//! addresses (127.0.0.x are all local on Linux): unknown usernames get exactly the
//! answers known ones get; a flood from one address is throttled without locking the
//! account; an attack on the owner's name from other addresses does not keep the owner
//! out on its usual address; a name that is no operator's never reaches the database in
//! clear; a right code refused for clock skew says so and counts as no failure.

use serde_json::{Value, json};

use crate::harness::{
    Server, Storage, assert_error, assert_exit, assert_success, fresh_code, now_secs, run, stderr,
};
use crate::rbac::Api;

fn from(server: &Server, last_octet: u8) -> Api {
    Api::bound_to(server, std::net::IpAddr::from([127, 0, 0, last_octet]))
}

/// A password login: (HTTP status, envelope code, retry_after_secs).
fn attempt(api: &Api, username: &str, password: &str) -> (u16, i64, Option<u64>) {
    let (status, env) = api.call(
        "POST",
        "/admin/auth/login",
        None,
        None,
        Some(&json!({"username": username, "password": password})),
    );
    (status, code(&env), env["data"]["retry_after_secs"].as_u64())
}

fn code(env: &Value) -> i64 {
    env["code"].as_i64().unwrap_or_default()
}

#[test]
fn unknown_usernames_get_the_same_answers_as_known_ones() {
    let server = Server::start();
    let tries = |api: &Api, user: &str| -> Vec<(u16, i64, Option<u64>)> {
        let mut v: Vec<_> = (0..6)
            .map(|_| attempt(api, user, "wrong-password-1"))
            .collect();
        // The right password, for the operator: still refused while locked.
        v.push(attempt(api, user, &server.info.password));
        v
    };
    let known = tries(&from(&server, 2), &server.info.username);
    let unknown = tries(&from(&server, 3), "no-such-operator");
    let wrong = (401, 50001, None);
    assert_eq!(&known[..4], &[wrong; 4], "{known:?}");
    assert_eq!(known[4], (429, 50005, Some(30)), "{known:?}");
    let statuses = |v: &[(u16, i64, Option<u64>)]| -> Vec<(u16, i64)> {
        v.iter().map(|a| (a.0, a.1)).collect()
    };
    assert_eq!(statuses(&known), statuses(&unknown));
    assert!(known[5..].iter().all(|a| (a.0, a.1) == (429, 50005)));
    for (k, u) in known.iter().zip(&unknown) {
        let (k, u) = (k.2.unwrap_or(0), u.2.unwrap_or(0));
        assert!(
            k.abs_diff(u) <= 1,
            "retry-after {k} vs {u}: {known:?} {unknown:?}"
        );
    }
    // The owner, on its own address, is not locked out by any of this.
    server.login();
}

#[test]
fn a_flood_from_one_address_is_throttled_without_locking_the_account() {
    let server = Server::start();
    let flood = from(&server, 4);
    // Ten failures, each on another name (no per-account lock can trigger)...
    for i in 0..10 {
        let (status, _, _) = attempt(&flood, &format!("guess-{i}"), "wrong-password-1");
        assert_eq!(status, 401);
    }
    // ...then that address is refused whatever the name, the right password included.
    let (status, env) = flood.call(
        "POST",
        "/admin/auth/login",
        None,
        None,
        Some(&json!({"username": server.info.username, "password": server.info.password})),
    );
    assert_eq!((status, code(&env)), (429, 50005), "{env}");
    let message = env["message"].as_str().unwrap();
    assert!(message.contains("from this address"), "{message}");
    let wait = env["data"]["retry_after_secs"].as_u64().unwrap();
    assert!(
        (1..=6).contains(&wait),
        "one attempt comes back every 6 s: {wait}"
    );
    // The account itself is untouched: the owner logs in (from 127.0.0.1) at once.
    server.login();
    let refused = server.sql(
        "SELECT count(*) FROM auth_events WHERE outcome = 'throttled' AND source_addr = '127.0.0.4'",
    );
    assert_eq!(refused.trim(), "1");
    assert_eq!(
        server
            .sql("SELECT count(*) FROM auth_events WHERE event = 'account.lockout'")
            .trim(),
        "0"
    );
    let denied = server.sql(
        "SELECT count(*) FROM audit_log WHERE action = 'auth.login' AND outcome = 'denied' \
         AND source = '127.0.0.4'",
    );
    assert_eq!(denied.trim(), "1", "the refusal is audited as denied");
}

#[test]
fn the_owner_logs_in_from_its_usual_address_while_others_hammer_its_name() {
    let server = Server::start();
    // The owner's usual address: it logged in from there before.
    server.login();
    let owner = &server.info.username;
    // Four addresses, five failures each: each locks itself out, and together they use
    // up the account's ceiling for addresses new to it.
    for octet in 2..=5 {
        let api = from(&server, octet);
        for _ in 0..5 {
            attempt(&api, owner, "wrong-password-1");
        }
        let (status, _, _) = attempt(&api, owner, &server.info.password);
        assert_eq!(status, 429, "127.0.0.{octet} is locked out");
    }
    // A fifth address never gets its guesses checked, not even the right password.
    let (status, code, _) = attempt(&from(&server, 6), owner, &server.info.password);
    assert_eq!((status, code), (429, 50005));
    // The owner still logs in from home, with the CLI, and works.
    server.login();
    assert_success(&run(server.imadm().args(["auth", "status"])));
    let lockouts = server.sql("SELECT count(*) FROM audit_log WHERE action = 'auth.lockout'");
    assert_eq!(lockouts.trim(), "5", "four address locks and the ceiling");
}

#[test]
fn a_username_that_is_no_operator_never_reaches_the_database_in_clear() {
    let mut server = Server::start();
    let typed = "hunter2-secret-password";
    let mut cmd = server.imadm();
    cmd.args(["auth", "login", "--username", typed, "--insecure-storage"])
        .args(["--password-stdin", "--otp", "123456"])
        .write_stdin("some-password-Zq7\n");
    let out = run(&mut cmd);
    assert_error(&out, 4, "wrong username or password");
    let actors = server.sql(
        "SELECT actor || ' ' || coalesce(target, '') FROM audit_log WHERE action = 'auth.login'",
    );
    assert!(
        actors.trim().starts_with("unknown:") && actors.contains("operator:unknown:"),
        "the audit log names a pseudonym: {actors}"
    );
    let events = server.sql("SELECT username FROM auth_events");
    assert!(events.trim().starts_with("unknown:"), "{events}");
    // Nothing in the database's files (SQLite's WAL included, even after a crash left it
    // in place; PostgreSQL's table files after a checkpoint) or the data dir.
    server.kill();
    assert_eq!(
        server.stored_files_containing(typed),
        Vec::<std::path::PathBuf>::new()
    );
}

#[test]
fn the_address_budget_comes_from_the_server_flags() {
    let server = Server::start_with(&["--login-burst", "2", "--login-refill", "1m"]);
    let api = from(&server, 7);
    for _ in 0..2 {
        assert_eq!(attempt(&api, "someone", "wrong-password-1").0, 401);
    }
    let (status, code, wait) = attempt(&api, "someone-else", "wrong-password-1");
    assert_eq!((status, code), (429, 50005));
    assert!(wait.is_some_and(|w| (50..=60).contains(&w)), "{wait:?}");
}

#[test]
fn a_right_code_after_the_server_clock_ran_ahead_is_clock_skew_and_no_failure() {
    let server = Server::start();
    // A code was used while the server's clock ran a day ahead, and the clock came back.
    let ahead = now_secs() / 30 + 2880;
    server.sql(&format!(
        "UPDATE operators SET last_totp_step = {ahead} WHERE username = 'admin'"
    ));
    // Four failures first: a fifth in a row from this address would lock it.
    for _ in 0..4 {
        let out = run(&mut server.login_cmd("wrong-password-1", "000000", Storage::InsecureFile));
        assert_exit(&out, 4);
    }
    let code = server.next_code();
    let out = run(&mut server.login_cmd(&server.info.password, &code, Storage::InsecureFile));
    assert_error(&out, 4, "clock skew");
    assert!(stderr(&out).contains("next code"), "{}", stderr(&out));
    let detail = server.sql("SELECT detail FROM audit_log WHERE action = 'auth.mfa'");
    assert!(detail.contains("clock skew"), "{detail}");
    // The stored step is capped at the end of the current window...
    let capped: u64 = server
        .sql("SELECT last_totp_step FROM operators WHERE username = 'admin'")
        .trim()
        .parse()
        .unwrap();
    assert!(capped < ahead && capped <= now_secs() / 30 + 1, "{capped}");
    // ...so the first code after it logs in: the skew was no failure, nothing is locked.
    let next = fresh_code(&server.info.totp_secret, &mut Some(capped));
    let out = run(&mut server.login_cmd(&server.info.password, &next, Storage::InsecureFile));
    assert_success(&out);
}
