//! `imadm audit export` / `audit verify` through the real server: a scripted session is
//! exported (JSON and CSV), signed with an `ssh-keygen`-made key; OpenSSH's
//! `ssh-keygen -Y verify` accepts the signature, our verifier accepts the report and
//! names an edited event (exit 8); a second export reuses the pin, a different pinned
//! key is refused (exit 8).

use std::path::Path;

use crate::harness::*;

/// `FILE.sig`, where imadm writes the signature of FILE.
fn sig_of(file: &Path) -> std::path::PathBuf {
    let mut sig = file.as_os_str().to_owned();
    sig.push(".sig");
    sig.into()
}

#[test]
fn export_of_a_real_session_verifies_with_ssh_keygen_and_imadm() {
    let server = Server::start_with(&["--seed-operator", "target:support"]);
    server.login();
    let dir = server.tmp().join("audit-report");
    std::fs::create_dir_all(&dir).unwrap();
    let (key, allowed) = ssh_keygen_pair(&dir);

    // Some events: a user, a role grant (step-up), a failed login.
    assert_success(&run(server
        .imadm()
        .args(["user", "create", "alice", "--password-stdin"])
        .write_stdin("pw-for-tests\n")));
    let code = server.next_code();
    assert_success(&run(server
        .imadm()
        .args(["operator", "grant", "target", "auditor", "--otp", &code])));

    for (name, format) in [("r.json", "json"), ("r.csv", "csv")] {
        let file = dir.join(name);
        let out = run(server
            .imadm()
            .args([
                "-o", "json", "audit", "export", "--since", "1h", "--format", format,
            ])
            .arg("--out")
            .arg(&file)
            .arg("--sign-key")
            .arg(&key)
            .args(["--signer", "ops@example"]));
        assert_success(&out);
        let v = json_stdout(&out);
        assert_eq!(v["verified"], true, "{v}");
        assert!(v["count"].as_u64().unwrap() >= 3, "{v}");
        let body = std::fs::read_to_string(&file).unwrap();
        assert!(body.contains("operator.grant"), "{body}");
        assert!(body.contains("user.create"), "{body}");

        let sv = ssh_keygen_verify(&allowed, &file, &sig_of(&file));
        assert!(sv.status.success(), "ssh-keygen -Y verify: {sv:?}");

        let out = run(server
            .imadm()
            .args(["-o", "json", "audit", "verify"])
            .arg(&file)
            .arg("--allowed-signers")
            .arg(&allowed));
        assert_success(&out);
        assert_eq!(json_stdout(&out)["signer"], "ops@example");

        // Edit the grant event: verification names it, before looking at the signature.
        let seq = body
            .lines()
            .find(|l| l.contains("operator.grant") && l.contains("success"))
            .map(|l| {
                if format == "json" {
                    let e: serde_json::Value =
                        serde_json::from_str(l.trim_end_matches(',')).unwrap();
                    e["seq"].as_u64().unwrap()
                } else {
                    l.split(',').next().unwrap().parse().unwrap()
                }
            })
            .expect("grant line");
        let edited =
            body.replacen("\"auditor\"", "\"admin\"", 1)
                .replacen(",auditor,", ",admin,", 1);
        assert_ne!(edited, body, "the edit changed something");
        let tampered = dir.join(format!("tampered.{format}"));
        std::fs::write(&tampered, edited).unwrap();
        let out = run(server.imadm().args(["audit", "verify"]).arg(&tampered));
        assert_error(&out, 8, &format!("event seq {seq}: hash does not match"));
    }

    // A second export against the same (pinned) server works.
    let again = dir.join("again.json");
    assert_success(&run(server
        .imadm()
        .args(["audit", "export", "--out"])
        .arg(&again)));
    assert!(!Path::new(&format!("{}.sig", again.display())).exists());

    // Another server's key pinned in the profile: refused, with the re-pin hint.
    let other = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/audit/server.pub"),
    )
    .unwrap();
    assert_success(&run(server.imadm().args([
        "config",
        "set",
        "audit_key",
        other.trim(),
    ])));
    let out = run(server
        .imadm()
        .args(["audit", "export", "--out"])
        .arg(dir.join("refused.json")));
    assert_exit(&out, 8);
    assert!(stderr(&out).contains("audit_key"), "{}", describe(&out));
    assert!(!dir.join("refused.json").exists());
}

#[test]
fn report_of_a_scripted_session_counts_logins_and_is_signed_and_self_contained() {
    let server = Server::start();
    server.login();
    // One failed login (wrong password), then a real one again.
    let code = server.next_code();
    let out = run(&mut server.login_cmd("not-the-password", &code, Storage::preferred()));
    assert!(!out.status.success(), "{}", describe(&out));
    server.login();
    assert_success(&run(server
        .imadm()
        .args(["user", "create", "bob", "--password-stdin"])
        .write_stdin("pw-for-tests\n")));
    let dir = server.tmp().join("summary");
    std::fs::create_dir_all(&dir).unwrap();
    let (key, allowed) = ssh_keygen_pair(&dir);

    let json_file = dir.join("r.json");
    let out = run(server
        .imadm()
        .args(["audit", "report", "--period", "1h", "--out"])
        .arg(&json_file));
    assert_success(&out);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_file).unwrap()).unwrap();
    assert_eq!(v["schema_version"], 1);
    let logins: u64 = server
        .sql("SELECT count(*) FROM audit_log WHERE action = 'auth.login' AND outcome = 'success'")
        .trim()
        .parse()
        .unwrap();
    assert!(logins >= 2);
    assert_eq!(v["totals"]["logins"], logins, "{v}");
    assert_eq!(v["totals"]["login_failures"], 1, "{v}");
    assert_eq!(v["summary"]["mfa"]["enrolled"], 1, "{v}");
    assert_eq!(v["summary"]["alerts"]["available"], true, "{v}");

    let html = dir.join("r.html");
    let out = run(server
        .imadm()
        .args([
            "audit",
            "report",
            "--period",
            "1h",
            "--signer",
            "ops@example",
        ])
        .arg("--out")
        .arg(&html)
        .arg("--sign-key")
        .arg(&key));
    assert_success(&out);
    let body = std::fs::read_to_string(&html).unwrap();
    assert!(body.contains("<svg"), "{body}");
    assert!(!body.contains("<script"), "{body}");
    for attr in ["src=\"http", "href=\"http", "url(http"] {
        assert!(!body.contains(attr), "external resource {attr} in {body}");
    }
    let sv = ssh_keygen_verify(&allowed, &html, &sig_of(&html));
    assert!(sv.status.success(), "ssh-keygen -Y verify: {sv:?}");

    let md = dir.join("r.md");
    assert_success(&run(server
        .imadm()
        .args(["audit", "report", "--period", "1h", "--out"])
        .arg(&md)));
    assert!(
        std::fs::read_to_string(&md)
            .unwrap()
            .contains("## Logins per day")
    );

    let out = run(server
        .imadm()
        .args(["audit", "report", "--out"])
        .arg(dir.join("r.txt")));
    assert_error(&out, 2, "--format");
}

/// An export of several pages (fetched ahead, two at a time) is complete, in order, and
/// verifies; an event removed from the middle of the server's log fails the export.
#[test]
fn multi_page_export_is_complete_and_a_gap_fails_it() {
    let server = Server::start();
    server.login();
    // 25,000 chained events straight into the log (three pages of 10,000).
    server.seed_audit(25_000);
    let dir = server.tmp().join("pages");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("all.json");
    let out = run(server
        .imadm()
        .args(["-o", "json", "audit", "export", "--out"])
        .arg(&file));
    assert_success(&out);
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let events = report["events"].as_array().unwrap();
    assert!(events.len() > 25_000, "{}", events.len());
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["seq"].as_u64(), Some(i as u64 + 1));
    }
    let out = run(server
        .imadm()
        .args(["-o", "json", "audit", "verify"])
        .arg(&file));
    assert_success(&out);

    // A gap in the second page (bypassing the append-only trigger as an attacker with
    // database access would): the export stops and names it, and writes no file.
    server.sql_past_append_only("audit_log", "DELETE FROM audit_log WHERE seq = 15000");
    let gap = dir.join("gap.json");
    let out = run(server.imadm().args(["audit", "export", "--out"]).arg(&gap));
    assert_error(&out, 8, "expected seq 15000");
    assert!(!gap.exists());
}
