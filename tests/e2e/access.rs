//! `imadm access review` against the real server: the review lists every operator and
//! live token with the right roles and flags; an attestation is signed (verified with
//! `ssh-keygen -Y verify`), recorded and audited, and feeds the compliance control
//! `access-review-fresh` (which fails with the clock moved 91 days); only
//! `security:manage` may attest; a reviewer's revocations are a dry run until `--apply`
//! and go through the server's who-may-act-on-whom rules.

use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::harness::*;
use crate::rbac::Acting;

fn line<'a>(review: &'a Value, kind: &str, field: &str, name: &str) -> &'a Value {
    review[kind]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o[field] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {review:#}"))
}

fn flags(v: &Value) -> Vec<&str> {
    v["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect()
}

fn control(check: &Value, id: &str) -> Value {
    check["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()
        .clone()
}

#[test]
fn a_review_lists_every_principal_and_its_attestation_feeds_the_compliance_gate() {
    let server = Server::start_with(&[
        "--seed-operator",
        "second:owner",
        "--seed-operator",
        "aud:auditor",
        "--seed-operator",
        "sup:support",
        "--seed-operator",
        "sup2:support",
    ]);
    server.login();
    let owner = server.info.username.clone();
    let out = run(server.imadm().args([
        "token",
        "create",
        "--name",
        "ci",
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
    // sup holds an extra role its support peer does not.
    assert_success(&run(server.imadm().args([
        "operator",
        "grant",
        "sup",
        "auditor",
        "--otp",
        &server.next_code(),
    ])));

    let out = run(server.imadm().args(["access", "review", "-o", "json"]));
    assert_success(&out);
    let r = json_stdout(&out);
    assert_eq!(r["schema_version"], 1);
    assert_eq!(r["dormant_days"], 90);
    let me = line(&r, "operators", "username", &owner);
    assert_eq!(me["roles"], serde_json::json!(["owner"]));
    assert_eq!(me["mfa"]["totp"], true);
    assert!(
        me["last_login_addr"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1"),
        "{me:#}"
    );
    assert!(flags(me).contains(&"owner"));
    assert!(!flags(me).contains(&"never_used"));
    assert!(flags(line(&r, "operators", "username", "second")).contains(&"owner"));
    let sup = line(&r, "operators", "username", "sup");
    assert_eq!(sup["roles"], serde_json::json!(["auditor", "support"]));
    assert!(flags(sup).contains(&"broader_than_peers"), "{sup:#}");
    assert!(
        sup["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "audit:read")
    );
    assert!(!flags(line(&r, "operators", "username", "sup2")).contains(&"broader_than_peers"));
    assert!(!flags(line(&r, "operators", "username", "aud")).contains(&"broader_than_peers"));
    let ci = line(&r, "tokens", "name", "ci");
    assert_eq!(ci["created_by"], owner.as_str());
    assert_eq!(ci["permissions"], serde_json::json!(["user:read"]));
    assert_eq!(flags(ci), ["never_used"]);
    let auditors = r["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["role"] == "auditor")
        .unwrap();
    assert_eq!(auditors["operators"], serde_json::json!(["aud", "sup"]));

    // A week of dormancy: an operator last seen 10 days ago is dormant, not at 90.
    server.sql(&format!(
        "UPDATE operators SET last_login_at = {} WHERE username = 'second'",
        now_secs() - 10 * 86_400
    ));
    let out = run(server
        .imadm()
        .args(["access", "review", "--dormant-days", "7", "-o", "json"]));
    assert!(
        flags(line(&json_stdout(&out), "operators", "username", "second")).contains(&"dormant")
    );

    // The table and the files.
    let out = run(server.imadm().args(["access", "review"]));
    assert_success(&out);
    assert!(
        stdout(&out).contains("broader_than_peers"),
        "{}",
        describe(&out)
    );
    let dir = server.tmp();
    for (name, needle) in [
        ("review.html", "<h1>Access review"),
        ("review.md", "# Access review"),
    ] {
        let f = dir.join(name);
        assert_success(&run(server
            .imadm()
            .args(["access", "review", "--out"])
            .arg(&f)));
        assert!(std::fs::read_to_string(&f).unwrap().contains(needle));
    }

    // Before any attestation the control fails; attested, it passes.
    let check = |shift: &str| {
        let out = run(server
            .imadm()
            .env("IMADM_TEST_CLOCK_SHIFT_DAYS", shift)
            .args(["compliance", "check", "-o", "json"]));
        control(&json_stdout(&out), "access-review-fresh")
    };
    assert_eq!(check("0")["status"], "fail");
    let (key, allowed) = ssh_keygen_pair(dir);
    let review = dir.join("review.json");
    let out = run(server
        .imadm()
        .args([
            "access",
            "review",
            "--attest",
            "--reviewer",
            "Ana Lima",
            "-o",
            "json",
            "--out",
        ])
        .arg(&review)
        .arg("--sign-key")
        .arg(&key));
    assert_success(&out);
    let v = json_stdout(&out);
    assert_eq!(v["reviewer"], "Ana Lima");
    let doc = std::fs::read(&review).unwrap();
    assert_eq!(v["review_sha256"], hex::encode(Sha256::digest(&doc)));
    let stored = server.sql("SELECT reviewer, review_sha256 FROM access_attestations");
    assert!(
        stored.contains(&format!("Ana Lima|{}", hex::encode(Sha256::digest(&doc)))),
        "{stored}"
    );
    let audited = server.sql("SELECT actor, detail FROM audit_log WHERE action = 'access.attest'");
    assert!(
        audited.contains(&owner) && audited.contains("Ana Lima"),
        "{audited}"
    );
    let verify = |file: &Path| ssh_keygen_verify(&allowed, file, &dir.join("review.json.sig"));
    let ok = verify(&review);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let forged = dir.join("forged.json");
    std::fs::write(
        &forged,
        String::from_utf8(doc)
            .unwrap()
            .replace("\"owner\"", "\"support\""),
    )
    .unwrap();
    assert!(!verify(&forged).status.success());

    let fresh = check("0");
    assert_eq!(fresh["status"], "pass", "{fresh:#}");
    assert!(fresh["evidence"].to_string().contains("Ana Lima"));
    // The clock shift is honoured by debug builds only (the binary is built with this
    // test's profile).
    if cfg!(debug_assertions) {
        let stale = check("91");
        assert_eq!(stale["status"], "fail", "{stale:#}");
        assert!(
            stale["evidence"]
                .to_string()
                .contains("91 days ago (limit 90)"),
            "{stale:#}"
        );
    }

    // The attestation table is append-only.
    let refused = server.sql_refused("DELETE FROM access_attestations");
    assert!(refused.contains("append-only"), "{refused}");
    assert_eq!(
        server
            .sql("SELECT count(*) FROM access_attestations")
            .trim(),
        "1"
    );
}

#[test]
fn only_security_manage_attests_and_revocations_follow_who_may_act_on_whom() {
    let server = Server::start_with(&[
        "--seed-operator",
        "aud:auditor",
        "--seed-operator",
        "adm:admin",
        "--seed-operator",
        "victim:support",
    ]);
    server.login();
    let owner = server.info.username.clone();
    let dir = server.tmp();
    let (key, _) = ssh_keygen_pair(dir);
    let key = key.to_str().unwrap();

    // The auditor may review, not attest.
    let aud = Acting::login(&server, "aud");
    assert_success(&aud.run(&["access", "review", "-o", "json"]));
    let out = aud.run(&[
        "access",
        "review",
        "--out",
        dir.join("aud.json").to_str().unwrap(),
        "--attest",
        "--sign-key",
        key,
        "--reviewer",
        "aud",
    ]);
    assert_error(&out, 5, "security:manage");
    assert_eq!(
        server
            .sql("SELECT count(*) FROM access_attestations")
            .trim(),
        "0"
    );

    // The admin's review, with the owner marked for revocation.
    let out = run(server.imadm().args([
        "token",
        "create",
        "--name",
        "old-ci",
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
    let token_id = json_stdout(&out)["id"].as_i64().unwrap();
    let mut adm = Acting::login(&server, "adm");
    let review = dir.join("review.json");
    assert_success(&adm.run(&["access", "review", "--out", review.to_str().unwrap()]));
    let decide = |who: &str| {
        let mut v: Value = serde_json::from_slice(&std::fs::read(&review).unwrap()).unwrap();
        for o in v["operators"].as_array_mut().unwrap() {
            let d = if o["username"] == who {
                "revoke"
            } else {
                "keep"
            };
            o["decision"] = d.into();
        }
        // The token goes with the support operator's revocation.
        for t in v["tokens"].as_array_mut().unwrap() {
            let d = if who == "victim" { "revoke" } else { "keep" };
            t["decision"] = d.into();
        }
        let f = dir.join(format!("decided-{who}.json"));
        std::fs::write(&f, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
        f
    };
    let edited = decide(&owner);
    let attest = |adm: &Acting, f: &Path, extra: &[&str]| {
        let mut args = vec![
            "access",
            "review",
            "--decisions",
            f.to_str().unwrap(),
            "--attest",
            "--sign-key",
            key,
            "--reviewer",
            "adm",
            "-o",
            "json",
        ];
        args.extend_from_slice(extra);
        adm.run(&args)
    };
    // A dry run first: the revocation is shown, nothing changes.
    let out = attest(&adm, &edited, &[]);
    assert_success(&out);
    assert!(
        stderr(&out).contains(&format!("operator {owner}: disable (dry run)")),
        "{}",
        describe(&out)
    );
    assert_eq!(json_stdout(&out)["applied"], false);
    assert_eq!(json_stdout(&out)["revocations"], 1);
    let disabled = |name: &str| {
        server.sql(&format!(
            "SELECT disabled FROM operators WHERE username = '{name}'"
        ))
    };
    assert_eq!(disabled(&owner).trim(), "0");
    // Applied, the server refuses: an admin cannot act on an owner.
    let code = adm.code();
    let out = attest(&adm, &edited, &["--apply", "--otp", &code]);
    assert_exit(&out, 5);
    assert_eq!(disabled(&owner).trim(), "0");
    // Revoking the support operator is within the admin's reach.
    let edited = decide("victim");
    let code = adm.code();
    let out = attest(&adm, &edited, &["--apply", "--otp", &code]);
    assert_success(&out);
    assert_eq!(json_stdout(&out)["applied"], true);
    assert_eq!(disabled("victim").trim(), "1");
    assert_eq!(json_stdout(&out)["revocations"], 2);
    let revoked = server.sql(&format!(
        "SELECT count(*) FROM service_tokens WHERE id = {token_id} AND revoked_at IS NOT NULL"
    ));
    assert_eq!(revoked.trim(), "1");
    // A review of another server is refused before anything happens.
    let other = dir.join("other.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&edited).unwrap()).unwrap();
    v["server_id"] = "another-server".into();
    std::fs::write(&other, serde_json::to_vec(&v).unwrap()).unwrap();
    assert_error(&attest(&adm, &other, &["--apply"]), 2, "another-server");
    // A decision that is neither keep nor revoke is refused before anything happens.
    let typo = dir.join("typo.json");
    std::fs::write(
        &typo,
        std::fs::read_to_string(&edited)
            .unwrap()
            .replace("\"revoke\"", "\"revok\""),
    )
    .unwrap();
    assert_error(&attest(&adm, &typo, &[]), 2, "neither");
}
