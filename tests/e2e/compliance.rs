//! `imadm compliance check` against the real server: each control fails on a scripted
//! server state and passes again when the state is fixed; JSON and JUnit outputs parse;
//! a credential that cannot read a fact makes the gate fail with `error`, not pass.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::harness::*;

/// Controls turned off (with a reason) in these tests: a fresh server has no access
/// review attestation; `access.rs` checks that control.
const NOT_YET: &[&str] = &["access-review-fresh"];

pub(crate) fn policy(dir: &Path, extra: &str) -> std::path::PathBuf {
    let mut text = String::from("[thresholds]\n");
    text.push_str(extra);
    text.push_str("\n[disabled]\n");
    for id in NOT_YET {
        text.push_str(&format!("{id} = \"checked in another test\"\n"));
    }
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    extra.hash(&mut h);
    let p = dir.join(format!("policy-{:x}.toml", h.finish()));
    std::fs::write(&p, text).unwrap();
    p
}

/// Run the check with `-o json`; returns (exit code, control id → status, full JSON).
fn check(server: &Server, policy: &Path) -> (i32, BTreeMap<String, String>, Value) {
    let out = run(server
        .imadm()
        .args(["compliance", "check", "-o", "json", "--policy"])
        .arg(policy));
    let code = out.status.code().unwrap();
    assert!(code == 0 || code == 9, "{}", describe(&out));
    let v = json_stdout(&out);
    let statuses = v["controls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (code, statuses, v)
}

pub(crate) fn failing(s: &BTreeMap<String, String>) -> Vec<&str> {
    s.iter()
        .filter(|(_, st)| *st == "fail" || *st == "error")
        .map(|(id, _)| id.as_str())
        .collect()
}

pub(crate) fn evidence(v: &Value, id: &str) -> String {
    let c = v["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap();
    c["evidence"].to_string()
}

#[test]
fn each_control_fails_on_a_scripted_state_and_passes_when_fixed() {
    let server = Server::start_with(&[
        "--seed-operator",
        "second:owner",
        "--seed-operator",
        "third:support",
    ]);
    server.login();
    let pol = policy(server.tmp(), "");

    // A fresh server with two MFA-enrolled owners passes; backups are skipped.
    let (code, s, v) = check(&server, &pol);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["passed"], true);
    assert_eq!(s["backup-fresh"], "skipped");
    assert_eq!(s["operator-mfa"], "pass");
    assert_eq!(
        s["operator-phishing-resistant-mfa"], "skipped",
        "off by default"
    );
    assert_eq!(s["tls-expiry"], "pass");
    assert_eq!(s["audit-chain"], "pass");
    assert_eq!(s["audit-server-key"], "pass", "pinned at first use");
    assert!(evidence(&v, "audit-chain").contains("events verified"));

    // A token living 200 days breaks token-expiry (limit 90) and only that.
    let out = run(server
        .imadm()
        .args(["token", "create", "--name", "long", "--scope", "user:read"])
        .args([
            "--expires",
            "200d",
            "-o",
            "json",
            "--otp",
            &server.next_code(),
        ]));
    assert_success(&out);
    let token_id = json_stdout(&out)["id"].as_i64().unwrap();
    let (code, s, v) = check(&server, &pol);
    assert_eq!(code, 9);
    assert_eq!(failing(&s), ["token-expiry"]);
    assert!(evidence(&v, "token-expiry").contains("long"), "{v:#}");
    // ... a limit of a year lets it through; a token never used for 40 days does not.
    let lenient = policy(server.tmp(), "token_max_lifetime_days = 365");
    assert_eq!(check(&server, &lenient).0, 0);
    let old = now_secs() - 40 * 86_400;
    server.sql(&format!(
        "UPDATE service_tokens SET created_at = {old} WHERE id = {token_id}"
    ));
    let (_, s, v) = check(&server, &lenient);
    assert_eq!(failing(&s), ["token-unused"]);
    assert!(evidence(&v, "token-unused").contains("never used"), "{v:#}");
    assert_success(&run(server.imadm().args([
        "token",
        "revoke",
        &token_id.to_string(),
        "--yes",
    ])));
    assert_eq!(check(&server, &pol).0, 0);

    // An active operator without MFA breaks operator-mfa; disabling them mends it.
    server.sql("UPDATE operators SET totp_secret = NULL WHERE username = 'third'");
    let (_, s, v) = check(&server, &pol);
    assert_eq!(failing(&s), ["operator-mfa"]);
    assert!(evidence(&v, "operator-mfa").contains("third"));
    server.sql("UPDATE operators SET disabled = 1 WHERE username = 'third'");
    assert_eq!(check(&server, &pol).0, 0);

    // An owner last seen 100 days ago breaks operator-inactive.
    let old = now_secs() - 100 * 86_400;
    server.sql(&format!(
        "UPDATE operators SET last_login_at = {old} WHERE username = 'second'"
    ));
    let (_, s, v) = check(&server, &pol);
    assert_eq!(failing(&s), ["operator-inactive"]);
    assert!(evidence(&v, "operator-inactive").contains("second"));
    let relaxed = policy(server.tmp(), "operator_inactive_days = 120");
    assert_eq!(check(&server, &relaxed).0, 0);

    // Two owners are too many for owners_max = 1 and enough for owners_min = 2.
    let (_, s, v) = check(
        &server,
        &policy(
            server.tmp(),
            "operator_inactive_days = 120\nowners_min = 1\nowners_max = 1",
        ),
    );
    assert_eq!(failing(&s), ["owner-count"]);
    assert!(evidence(&v, "owner-count").contains("more than 1"));

    // A custom role holding every permission breaks role-all-permissions.
    let mut create = server.imadm();
    create.args(["role", "create", "godmode", "--otp", &server.next_code()]);
    for (p, _) in imadm_api::permissions::CATALOGUE {
        create.args(["--permission", p]);
    }
    assert_success(&run(&mut create));
    let (_, s, v) = check(&server, &relaxed);
    assert_eq!(failing(&s), ["role-all-permissions"]);
    assert!(evidence(&v, "role-all-permissions").contains("godmode"));

    // The dev certificate lives 90 days: a 100-day minimum fails.
    let (_, s, v) = check(
        &server,
        &policy(
            server.tmp(),
            "operator_inactive_days = 120\ntls_min_valid_days = 100",
        ),
    );
    assert_eq!(failing(&s), ["role-all-permissions", "tls-expiry"]);
    assert!(evidence(&v, "tls-expiry").contains("expires in"));
}

#[test]
fn junit_output_parses_and_a_credential_that_cannot_look_fails_the_gate() {
    let server = Server::start_with(&["--seed-operator", "second:owner"]);
    server.login();
    // A service token that may read users but not operators or roles.
    let out = run(server
        .imadm()
        .args([
            "token",
            "create",
            "--name",
            "narrow",
            "--scope",
            "user:read",
        ])
        .args([
            "--expires",
            "30d",
            "-o",
            "json",
            "--otp",
            &server.next_code(),
        ]));
    assert_success(&out);
    let secret = json_stdout(&out)["secret"].as_str().unwrap().to_owned();

    let pol = policy(server.tmp(), "");
    let out = run(server
        .imadm()
        .env("IMADM_TOKEN", &secret)
        .args(["compliance", "check", "--format", "junit", "--policy"])
        .arg(&pol));
    assert_exit(&out, 9);
    assert!(stderr(&out).contains("compliance check failed"));
    let xml = stdout(&out);
    assert!(
        !xml.contains(&secret),
        "the token must not appear in the report"
    );
    let doc = roxmltree::Document::parse(&xml).expect("JUnit output is well-formed XML");
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 15);
    let verdict = |id: &str| {
        let case = cases
            .iter()
            .find(|c| c.attribute("name").unwrap().starts_with(&format!("{id}:")))
            .unwrap_or_else(|| panic!("no test case for {id}"));
        case.children()
            .filter(|n| n.is_element() && !n.has_tag_name("system-out"))
            .map(|n| n.tag_name().name().to_owned())
            .next()
            .unwrap_or_else(|| "pass".into())
    };
    assert_eq!(verdict("operator-mfa"), "error");
    assert_eq!(verdict("role-all-permissions"), "error");
    assert_eq!(verdict("tls-expiry"), "pass");
    assert_eq!(verdict("backup-fresh"), "skipped");
    assert_eq!(verdict("operator-phishing-resistant-mfa"), "skipped");
    let root = doc.root_element();
    assert!(root.attribute("errors").unwrap().parse::<u32>().unwrap() >= 2);

    // A bad policy is a usage error, before anything is checked.
    let bad = server.tmp().join("bad.toml");
    std::fs::write(&bad, "[disabled]\ntls-expiry = \"\"\n").unwrap();
    let out = run(server
        .imadm()
        .args(["compliance", "check", "--policy"])
        .arg(&bad));
    assert_error(&out, 2, "without a reason");
}

#[test]
fn audit_chain_server_key_and_open_alerts_are_checked() {
    let server = Server::start_with(&["--seed-operator", "second:owner"]);
    server.login();
    let pol = policy(server.tmp(), "");
    let (code, s, v) = check(&server, &pol);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(s["audit-chain"], "pass");

    // A role escalation raises a high alert; open for 25 hours it fails the gate.
    let out = run(server
        .imadm()
        .args(["operator", "grant", "second", "admin", "--yes"])
        .args(["--otp", &server.next_code()]));
    assert_success(&out);
    assert_eq!(
        server
            .sql("SELECT count(*) FROM alerts WHERE severity = 'high'")
            .trim(),
        "1"
    );
    assert_eq!(
        check(&server, &pol).0,
        0,
        "a fresh alert is within the limit"
    );
    let old_ms = (now_secs() - 25 * 3600) * 1000;
    server.sql_past_append_only("alerts", &format!("UPDATE alerts SET at_ms = {old_ms}"));
    let (_, s, v) = check(&server, &pol);
    assert_eq!(failing(&s), ["alert-open-high"]);
    assert!(
        evidence(&v, "alert-open-high").contains("open for 25 hours"),
        "{v:#}"
    );
    let relaxed = policy(server.tmp(), "alert_max_open_hours = 48");
    assert_eq!(check(&server, &relaxed).0, 0);
    // Acknowledged by a second operator, the alert no longer counts as open.
    let creds = crate::rbac::seeded(&server);
    let (pw, secret) = &creds["owner"];
    let api = crate::rbac::Api::new(&server);
    let token = api.login("second", pw, secret);
    let (st, env) = api.call(
        "POST",
        "/admin/alerts/1/ack",
        Some(&token),
        None,
        Some(&serde_json::json!({"note": "promotion approved in ticket 42"})),
    );
    assert_eq!(st, 200, "{env}");
    let (code, s, v) = check(&server, &pol);
    assert_eq!((code, s["alert-open-high"].as_str()), (0, "pass"), "{v:#}");

    // Someone with access to the database edits an audit event: the chain breaks.
    server.sql_past_append_only(
        "audit_log",
        "UPDATE audit_log SET detail = 'tampered' WHERE seq = 1",
    );
    let (_, s, v) = check(&server, &relaxed);
    assert_eq!(failing(&s), ["audit-chain"]);
    assert!(evidence(&v, "audit-chain").contains("seq 1"), "{v:#}");

    // A different audit key than the pinned one fails audit-server-key.
    let other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
    assert_success(&run(server.imadm().args([
        "config",
        "set",
        "audit_key",
        other,
    ])));
    let (_, s, v) = check(&server, &relaxed);
    assert!(failing(&s).contains(&"audit-server-key"), "{s:?}");
    assert!(evidence(&v, "audit-server-key").contains("differs"));
}

#[test]
fn backup_controls_read_the_manifests_of_every_backup_dir() {
    let server = Server::start_with(&["--seed-operator", "second:owner"]);
    server.login();
    let pol = policy(server.tmp(), "");
    let (a, b) = (server.tmp().join("a"), server.tmp().join("b"));
    std::fs::create_dir(&a).unwrap();
    std::fs::create_dir(&b).unwrap();
    let recipient = age::x25519::Identity::generate().to_public().to_string();
    let out = run(server
        .imadm()
        .args(["backup", "run", "--recipient", &recipient, "--to"])
        .arg(&a)
        .arg("--to")
        .arg(&b));
    assert_success(&out);
    let check_dirs = |dirs: &[&Path]| {
        let mut cmd = server.imadm();
        cmd.args(["compliance", "check", "-o", "json", "--policy"])
            .arg(&pol);
        for d in dirs {
            cmd.arg("--backup-dir").arg(d);
        }
        let out = run(&mut cmd);
        let v = json_stdout(&out);
        let s: BTreeMap<String, String> = v["controls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["id"].as_str().unwrap().into(),
                    c["status"].as_str().unwrap().into(),
                )
            })
            .collect();
        (out.status.code().unwrap(), s, v)
    };
    let (code, s, v) = check_dirs(&[&a, &b]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(s["backup-fresh"], "pass");
    assert!(evidence(&v, "backup-destinations").contains("/a"));

    // One destination is too few.
    let (_, s, _) = check_dirs(&[&a]);
    assert_eq!(failing(&s), ["backup-destinations"]);

    // A damaged copy no longer matches its manifest (and no longer counts as a copy).
    let archive = std::fs::read_dir(&a)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "age"))
        .unwrap();
    let mut bytes = std::fs::read(&archive).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&archive, bytes).unwrap();
    let (_, s, v) = check_dirs(&[&a, &b]);
    assert_eq!(failing(&s), ["backup-destinations", "backup-manifest"]);
    assert!(evidence(&v, "backup-manifest").contains("SHA-256"), "{v:#}");

    // A backup taken 30 hours ago is too old (the manifest's time is what counts).
    let (_, s, _) = check_dirs(&[&b]);
    assert_eq!(failing(&s), ["backup-destinations"]);
    let mpath = std::fs::read_dir(&b)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".manifest.json"))
        .unwrap();
    let mut m: Value = serde_json::from_slice(&std::fs::read(&mpath).unwrap()).unwrap();
    m["created_at"] = (now_secs() as i64 - 30 * 3600).into();
    std::fs::write(&mpath, serde_json::to_vec(&m).unwrap()).unwrap();
    let (_, s, v) = check_dirs(&[&b]);
    assert_eq!(failing(&s), ["backup-destinations", "backup-fresh"]);
    assert!(
        evidence(&v, "backup-fresh").contains("30 hours old"),
        "{v:#}"
    );

    // No archive of this server at all: every backup control fails.
    let empty = server.tmp().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (_, s, _) = check_dirs(&[&empty]);
    assert_eq!(
        failing(&s),
        ["backup-destinations", "backup-fresh", "backup-manifest"]
    );
}

#[test]
fn a_signed_result_verifies_with_ssh_keygen() {
    let server = Server::start_with(&["--seed-operator", "second:owner"]);
    server.login();
    let dir = server.tmp();
    let (key, allowed) = ssh_keygen_pair(dir);
    let result = dir.join("result.json");
    let out = run(server
        .imadm()
        .args(["compliance", "check", "-o", "json", "--policy"])
        .arg(policy(dir, ""))
        .arg("--out")
        .arg(&result)
        .arg("--sign-key")
        .arg(&key));
    assert_success(&out);
    assert_eq!(stdout(&out), "", "the result goes to --out, not stdout");
    let v: Value = serde_json::from_slice(&std::fs::read(&result).unwrap()).unwrap();
    assert_eq!(v["passed"], true);
    let verify = |file: &Path| ssh_keygen_verify(&allowed, file, &dir.join("result.json.sig"));
    let ok = verify(&result);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let forged = dir.join("forged.json");
    std::fs::write(
        &forged,
        std::fs::read_to_string(&result)
            .unwrap()
            .replace("\"passed\": true", "\"passed\": false"),
    )
    .unwrap();
    assert!(!verify(&forged).status.success());
}
