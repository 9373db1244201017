//! What a restore keeps (issue #15): data rolls back; history never does; security state
//! merges to the most restrictive. The audit log is never replaced or shortened (a report
//! exported before a restore stays a prefix of one exported after), revocations made after
//! the backup stay in force, a new install continues the snapshot's chain (disaster
//! recovery), a log that forks is refused unless the fork is accepted, and restores in a
//! row only ever extend the log.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};

use crate::backup::{assert_prefix, backup, keypair, ledger, restore_events};
use crate::harness::*;
use crate::rbac::{Api, seeded};

/// A server that has a backup (taken now) and the identity to decrypt it.
fn backed_up(server: &Server) -> (PathBuf, PathBuf) {
    let (key, recipient) = keypair(server.tmp());
    let dir = server.tmp().join("b");
    std::fs::create_dir_all(&dir).unwrap();
    (backup(server, &recipient, &[&dir]), key)
}

/// `backup restore` of `archive` as the profile's operator, with `extra` flags.
fn restore(server: &Server, key: &Path, archive: &Path, extra: &[&str]) -> Output {
    run(server
        .imadm()
        .args(["--yes", "backup", "restore", "--identity"])
        .arg(key)
        .arg(archive)
        .args(extra)
        .args(["--otp", &server.next_code()]))
}

fn create_user(server: &Server, name: &str) {
    assert_success(&run(server
        .imadm()
        .args(["user", "create", name, "--password-stdin"])
        .write_stdin("pw-for-tests\n")));
}

fn usernames(server: &Server) -> Vec<String> {
    server
        .sql("SELECT username FROM im_users ORDER BY username")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `audit export` of the whole log into `file` (verified while it downloads), then
/// `audit verify` of the file; returns its events.
fn export_and_verify(server: &Server, file: &Path) -> Vec<Value> {
    let out = run(server
        .imadm()
        .args(["-o", "json", "audit", "export", "--out"])
        .arg(file));
    assert_success(&out);
    assert_eq!(json_stdout(&out)["verified"], true);
    let out = run(server
        .imadm()
        .args(["-o", "json", "audit", "verify"])
        .arg(file));
    assert_success(&out);
    let report: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    report["events"].as_array().unwrap().clone()
}

/// `(seq, hash)` of each event of a report.
fn chain(events: &[Value]) -> Vec<(u64, String)> {
    events
        .iter()
        .map(|e| {
            (
                e["seq"].as_u64().unwrap(),
                e["hash"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The issue's scenario: three IM users created after the backup, the log exported and
/// verified, the backup restored. Every event is still there with the same hash, the
/// restore event follows them and names the snapshot (server, time, its chain head),
/// both exports verify, and the IM users are rolled back.
#[test]
fn a_restore_keeps_every_event_and_an_earlier_report_stays_a_prefix() {
    let server = Server::start();
    server.login();
    let (archive, key) = backed_up(&server);
    for u in ["ann", "ben", "cat"] {
        create_user(&server, u);
    }
    let pre = export_and_verify(&server, &server.tmp().join("pre.json"));
    assert!(
        pre.iter().filter(|e| e["action"] == "user.create").count() >= 3,
        "{pre:?}"
    );

    let out = restore(&server, &key, &archive, &["-o", "json"]);
    assert_success(&out);
    let report = json_stdout(&out);

    // Every session ended, the restorer's too.
    let out = run(server.imadm().args(["user", "list"]));
    assert_exit(&out, 4);
    server.login();
    let post = export_and_verify(&server, &server.tmp().join("post.json"));
    let (before, after) = (chain(&pre), chain(&post));
    assert!(after.len() > before.len());
    assert_eq!(after[..before.len()], before[..], "same seq, same hash");
    let users = usernames(&server);
    assert!(
        !users
            .iter()
            .any(|u| ["ann", "ben", "cat"].contains(&u.as_str())),
        "{users:?}"
    );
    let restored = post[before.len()..]
        .iter()
        .find(|e| e["action"] == "backup.restore" && e["outcome"] == "success")
        .expect("the restore event follows the earlier events");

    // The event and the report name the snapshot and say what became of each table.
    assert_eq!(report["ledger"]["relation"], "extends", "{report}");
    let head = &report["ledger"]["snapshot_head"];
    assert!(head["seq"].as_u64().unwrap() < pre.len() as u64, "{report}");
    let detail = restored["detail"].as_str().unwrap();
    for part in [
        format!(
            "snapshot of {} taken at ",
            report["server_id"].as_str().unwrap()
        ),
        format!(
            "chain head seq {} hash {}",
            head["seq"],
            head["hash"].as_str().unwrap()
        ),
    ] {
        assert!(detail.contains(&part), "{part:?} not in {detail:?}");
    }
    let source = |t: &str| {
        report["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["table"] == t)
            .unwrap()["source"]
            .clone()
    };
    assert_eq!(source("audit_log"), "live");
    assert_eq!(source("im_users"), "snapshot");
    assert_eq!(source("sessions"), "cleared");
}

/// After the backup: a token revoked, an operator disabled, a password changed, a role
/// revoked, a session logged out. The restore brings the IM data back, and each of these
/// stays in effect: the old token, the old password and the old session are refused.
/// (Each TOTP secret gives three codes without waiting for the clock: the changes are
/// spread over the owner and a seeded admin, `a`.)
#[test]
fn revocations_made_after_the_backup_stay_in_force() {
    let server = Server::start_with(&[
        "--seed-operator",
        "a:admin",
        "--seed-operator",
        "x:support",
        "--seed-operator",
        "y:auditor",
        "--seed-operator",
        "z:user-manager",
    ]);
    server.login();
    let api = Api::new(&server);
    let seeds = seeded(&server);
    // The last TOTP step used per secret (by role).
    let lasts: std::cell::RefCell<std::collections::BTreeMap<String, Option<u64>>> =
        Default::default();
    let code_of = |role: &str| {
        fresh_code(
            &seeds[role].1,
            lasts.borrow_mut().entry(role.to_owned()).or_default(),
        )
    };
    // Password + TOTP login of a seeded operator (by its role); the envelope of the step
    // that refused it otherwise.
    let login = |name: &str, role: &str, password: &str| {
        let (st, env) = api.call(
            "POST",
            "/admin/auth/login",
            None,
            None,
            Some(&json!({"username": name, "password": password})),
        );
        if st != 200 {
            return Err(env);
        }
        let mfa = env["data"]["mfa"]["mfa_token"].as_str().unwrap().to_owned();
        let code = code_of(role);
        let (st, env) = api.call(
            "POST",
            "/admin/auth/mfa",
            None,
            None,
            Some(&json!({"mfa_token": mfa, "code": code})),
        );
        if st != 200 {
            return Err(env);
        }
        Ok(env["data"]["access_token"].as_str().unwrap().to_owned())
    };
    let ok = |(st, env): (u16, Value)| assert_eq!(st, 200, "{env}");

    // A token whose name a terminal would obey; sessions of a, y and z.
    let out = run(server.imadm().args([
        "token",
        "create",
        "--name",
        "ci\u{1b}[31mred",
        "--scope",
        "user:read",
        "--expires",
        "30d",
        "-o",
        "json",
        "--otp",
        &server.next_code(),
    ]));
    assert_success(&out);
    let created = json_stdout(&out);
    let (token_id, token) = (
        created["id"].as_i64().unwrap(),
        created["secret"].as_str().unwrap().to_owned(),
    );
    let a_token = login("a", "admin", &seeds["admin"].0).unwrap();
    let y_token = login("y", "auditor", &seeds["auditor"].0).unwrap();
    let z_password = seeds["user-manager"].0.clone();
    let z_token = login("z", "user-manager", &z_password).unwrap();
    create_user(&server, "before");
    let (archive, key) = backed_up(&server);

    // After the backup.
    ok(api.call(
        "DELETE",
        &format!("/admin/tokens/{token_id}"),
        Some(&a_token),
        None,
        None,
    ));
    let code = code_of("admin");
    ok(api.call(
        "POST",
        "/admin/operators/x/disable",
        Some(&a_token),
        Some(&code),
        None,
    ));
    let code = code_of("admin");
    ok(api.call(
        "POST",
        "/admin/operators/y/revoke",
        Some(&a_token),
        Some(&code),
        Some(&json!({"roles": ["auditor"]})),
    ));
    let new_password = "a-new-password-for-z-123";
    ok(api.call(
        "POST",
        "/admin/auth/password",
        Some(&z_token),
        None,
        Some(&json!({"current_password": z_password, "new_password": new_password})),
    ));
    ok(api.call("POST", "/admin/auth/logout", Some(&y_token), None, None));
    create_user(&server, "after");

    let out = restore(&server, &key, &archive, &["-o", "table"]);
    assert_success(&out);

    // The IM data is back ...
    assert_eq!(usernames(&server), ["before"]);
    // ... and every revocation holds.
    let whoami = |token: &str| {
        api.call("GET", "/admin/auth/whoami", Some(token), None, None)
            .0
    };
    assert_eq!(whoami(&token), 401, "the revoked token");
    assert!(
        login("x", "support", &seeds["support"].0).is_err(),
        "x is disabled"
    );
    assert!(
        login("z", "user-manager", &z_password).is_err(),
        "z's old password"
    );
    let z_again = login("z", "user-manager", new_password).expect("z's new password");
    assert_eq!(whoami(&z_again), 200);
    assert_eq!(whoami(&y_token), 401, "y's logged-out session");
    assert_eq!(whoami(&a_token), 401, "every session ended");
    assert_eq!(
        server
            .sql(
                "SELECT count(*) FROM operator_roles r JOIN operators o ON o.id = r.operator_id
              WHERE o.username = 'y'"
            )
            .trim(),
        "0",
        "y's auditor role stays revoked"
    );
    let out_list = run(server.imadm().args(["user", "list"]));
    assert_exit(&out_list, 4);

    // The report says what was kept from live, and why (escaped for the terminal).
    let table = stdout(&out);
    for line in [
        "operator x: stays disabled (disabled after the backup)",
        "operator y: stays without role auditor (revoked after the backup)",
        "operator z: keeps its current password (password changed after the backup)",
        &format!(r"token {token_id} (ci\u{{1b}}[31mred): stays revoked (revoked after the backup)"),
    ] {
        assert!(table.contains(line), "{line:?} not in\n{table}");
    }
    assert!(
        !table.contains('\u{1b}'),
        "a control character reached the terminal"
    );
}

/// A new install (a fresh data dir with the old server's `server.key`, and only its own
/// logins in its log) restores the old server's backup: the old chain is taken as it is
/// and continued, the install's own events appended after it, the restore event names
/// both servers; the old server's report is a prefix of the new one's, which verifies.
#[test]
fn disaster_recovery_into_a_fresh_data_dir_continues_the_chain() {
    let old = Server::start();
    old.login();
    create_user(&old, "kept");
    let (archive, key) = backed_up(&old);
    let old_report = export_and_verify(&old, &old.tmp().join("old.json"));
    let server_key = std::fs::read(old.data_dir.join("server.key")).unwrap();

    // The snapshot's chain ends at seq n (its audit_log rows, per the manifest).
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(format!("{}.manifest.json", archive.display())).unwrap(),
    )
    .unwrap();
    let n = manifest["counts"]["audit_log"].as_u64().unwrap() as usize;

    let new = Server::start_with_files(&[("server.key", &server_key)], &[]);
    new.login();
    let events = |s: &Server| -> Vec<String> {
        s.sql("SELECT action || ' ' || actor FROM audit_log ORDER BY seq")
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let install = events(&new);
    let out = restore(&new, &key, &archive, &["-o", "json"]);
    assert_success(&out);
    let report = json_stdout(&out);

    // The install's owner is gone; the old server's logs in.
    new.login_as_owner_of(&old);
    let recovered = export_and_verify(&new, &new.tmp().join("new.json"));
    // The old server's report (exported after the backup) and the recovered log agree up
    // to the snapshot's head; then come the install's events and the restore.
    let (a, b) = (chain(&old_report), chain(&recovered));
    assert_eq!(a[..n], b[..n], "same seq, same hash");
    assert_eq!(
        events(&new)[n..n + install.len()],
        install[..],
        "the install's events follow the old chain"
    );
    let restored = recovered
        .iter()
        .find(|e| e["action"] == "backup.restore" && e["outcome"] == "success")
        .unwrap();
    assert!(restored["seq"].as_u64().unwrap() > (n + install.len()) as u64);
    assert_eq!(usernames(&new), ["kept"]);

    // The event and the report name both servers and the appended range.
    let l = &report["ledger"];
    assert_eq!(l["relation"], "recovery", "{report}");
    let (old_id, new_id) = (
        report["server_id"].as_str().unwrap(),
        l["server_id"].as_str().unwrap(),
    );
    assert_ne!(old_id, new_id);
    let detail = restored["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("snapshot of {old_id}"))
            && detail.contains(&format!("disaster recovery onto server {new_id}")),
        "{detail}"
    );
    assert_eq!(l["snapshot_head"]["seq"].as_u64(), Some(n as u64));
    assert_eq!(l["appended"]["live_from"], 1);
    // The install's events, and the restore's own step-up.
    assert!(l["appended"]["live_to"].as_u64().unwrap() > install.len() as u64);
    assert_eq!(l["appended"]["from"].as_u64(), Some(n as u64 + 1));
}

/// A log edited behind the server's back (cut back before the backup's head, as someone
/// with the file could, then continued by the server: a fork): restoring the backup is
/// refused with exit 8 and changes nothing; with `--accept-fork REASON` it restores the
/// data, keeps the live log and records why.
#[test]
fn a_forked_log_is_refused_unless_the_fork_is_accepted() {
    let server = Server::start();
    server.login();
    let (archive, key) = backed_up(&server);
    let at_backup = ledger(&server);
    let cut = at_backup.len() - 2;
    server.cut_audit_log(cut);
    create_user(&server, "after");
    let forked = ledger(&server);
    assert_ne!(forked[cut], at_backup[cut], "premise: the logs diverge");

    let out = restore(&server, &key, &archive, &[]);
    assert_error(&out, 8, "forks");
    assert_eq!(usernames(&server), ["after"]);
    assert_prefix(&forked, &ledger(&server));
    assert_eq!(
        restore_events(&server),
        [(
            "denied".to_owned(),
            format!("code {}", imadm_api::codes::INTEGRITY)
        )]
    );
    // A reason is required (refused before the step-up: any code will do).
    let out = run(server
        .imadm()
        .args(["--yes", "backup", "restore", "--identity"])
        .arg(&key)
        .arg(&archive)
        .args(["--accept-fork", " ", "--otp", "000000"]));
    assert_error(&out, 2, "reason");

    let live = ledger(&server);
    let out = restore(
        &server,
        &key,
        &archive,
        &["-o", "json", "--accept-fork", "log cut by hand in a test"],
    );
    assert_success(&out);
    let report = json_stdout(&out);
    assert_eq!(report["ledger"]["relation"], "fork");
    assert_eq!(report["ledger"]["fork_reason"], "log cut by hand in a test");
    assert!(usernames(&server).is_empty(), "the data is the backup's");
    assert_prefix(&live, &ledger(&server));
    let detail = server.sql(
        "SELECT detail FROM audit_log WHERE action = 'backup.restore' AND outcome = 'success'",
    );
    assert!(
        detail.contains("fork accepted (\"log cut by hand in a test\")"),
        "{detail}"
    );
}

/// Two restores of one backup in a row (the second by another owner: every session
/// ended at the first): the second finds the snapshot's chain inside the live one again,
/// and the log only grows.
#[test]
fn restores_in_a_row_only_extend_the_log() {
    let server = Server::start_with(&["--seed-operator", "o2:owner"]);
    server.login();
    let (archive, key) = backed_up(&server);
    create_user(&server, "one");
    let start = ledger(&server);
    let out = restore(&server, &key, &archive, &[]);
    assert_success(&out);
    let first = ledger(&server);
    assert_prefix(&start, &first);
    assert!(usernames(&server).is_empty());

    let api = Api::new(&server);
    let (password, secret) = &seeded(&server)["owner"];
    let mut last = None;
    let o2 = api.login_tracking("o2", password, secret, &mut last);
    server.sql(
        "INSERT INTO im_users (username, password_hash, created_at, updated_at)
             VALUES ('two', 'x', 1, 1)",
    );
    let out = run(server
        .imadm()
        .env("IMADM_TOKEN", &o2)
        .args(["--yes", "backup", "restore", "-o", "json", "--identity"])
        .arg(&key)
        .arg(&archive)
        .args(["--otp", &fresh_code(secret, &mut last)]));
    assert_success(&out);
    assert_eq!(json_stdout(&out)["ledger"]["relation"], "extends");
    let second = ledger(&server);
    assert_prefix(&first, &second);
    assert!(second.len() > first.len() + 1);
    assert!(usernames(&server).is_empty());
    assert_eq!(
        server
            .sql(
                "SELECT count(*) FROM audit_log WHERE action = 'backup.restore' AND outcome = 'success'"
            )
            .trim(),
        "2"
    );
}

/// GDPR art. 17 outlives a restore: a user erased after the backup comes back only as the
/// tombstone, with no profile, no message contents and no memberships, and the report
/// says so. Everybody else's data rolls back.
#[test]
fn a_user_erased_after_the_backup_stays_erased() {
    let server = Server::start();
    server.login();
    let user_id = |name: &str| -> i64 {
        server
            .sql(&format!(
                "SELECT user_id FROM im_users WHERE username = '{name}'"
            ))
            .trim()
            .parse()
            .unwrap()
    };
    for (name, nick) in [("dora", "Dora Private"), ("emil", "Emil")] {
        assert_success(&run(server
            .imadm()
            .args([
                "user",
                "create",
                name,
                "--nick-name",
                nick,
                "--password-stdin",
            ])
            .write_stdin("pw-for-tests\n")));
    }
    let (dora, emil) = (user_id("dora"), user_id("emil"));
    let (_, r) = crate::users::Lanying::new(&server).call(
        reqwest::Method::POST,
        "/message/send",
        None,
        Some(json!({"from_user_id": dora, "targets": [emil], "type": 1,
                    "content": "dora's secret", "content_type": 0})),
    );
    assert_eq!(r["code"], 200, "{r}");
    let (archive, key) = backed_up(&server);
    assert_success(&run(server
        .imadm()
        .args(["--yes", "user", "erase", "dora", "--otp"])
        .arg(server.next_code())));
    let tombstone = server
        .sql(&format!(
            "SELECT username FROM im_users WHERE user_id = {dora}"
        ))
        .trim()
        .to_owned();
    assert!(tombstone.starts_with("erased-"), "{tombstone}");

    let out = restore(&server, &key, &archive, &["-o", "json"]);
    assert_success(&out);
    let report = json_stdout(&out);
    let row = server.sql(&format!(
        "SELECT username, CASE WHEN nick_name IS NULL THEN 1 ELSE 0 END, password_hash
           FROM im_users WHERE user_id = {dora}"
    ));
    assert_eq!(
        row.trim(),
        format!("{tombstone}|1|!erased"),
        "dora came back"
    );
    assert_eq!(
        server
            .sql(&format!(
                "SELECT count(*), sum(length(content)) FROM im_messages WHERE from_id = {dora}"
            ))
            .trim(),
        "1|0",
        "the message is there (emil's conversation keeps its shape), its content is not"
    );
    // Emil, never erased, is as in the backup.
    assert_eq!(
        server
            .sql(&format!(
                "SELECT username FROM im_users WHERE user_id = {emil}"
            ))
            .trim(),
        "emil"
    );
    let notes = report["kept_from_live"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n["principal"] == format!("user {tombstone}") && n["kept"] == "stays erased"),
        "{report}"
    );
}

/// An access review attested after the backup outlives its restore: attestations are
/// history (the proof that someone looked never rolls back), and the compliance control
/// still sees it.
#[test]
fn an_attestation_made_after_the_backup_stays() {
    let server = Server::start_with(&["--seed-operator", "o2:owner"]);
    server.login();
    let (archive, key) = backed_up(&server);
    let dir = server.tmp();
    let sign = dir.join("review_key");
    assert!(
        std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&sign)
            .status()
            .unwrap()
            .success()
    );
    let out = run(server
        .imadm()
        .args(["access", "review", "--attest", "--reviewer", "Ana", "--out"])
        .arg(dir.join("review.json"))
        .arg("--sign-key")
        .arg(&sign));
    assert_success(&out);
    let before =
        server.sql("SELECT id, reviewer, review_sha256, attested_at FROM access_attestations");
    assert_eq!(before.lines().count(), 1);
    assert_success(&restore(&server, &key, &archive, &[]));
    assert_eq!(
        server.sql("SELECT id, reviewer, review_sha256, attested_at FROM access_attestations"),
        before
    );
}
