//! The CLI remembers the newest audit checkpoint it verified (issue #15, section 3): the
//! first chain-reading command pins it, later ones advance it, and a server whose log was
//! rolled back (its database replaced by an earlier copy while it was stopped) or forked
//! is caught by `audit log`, `audit export`, `audit verify` and `compliance check`, with
//! both signed checkpoints saved as evidence, until `audit checkpoint --repin --yes`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::harness::*;

/// The `dev` profile's pin of this server: (seq, head).
fn pinned(server: &Server) -> (u64, String) {
    let path = server.config_dir.join("checkpoints/dev.json");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let servers = v["servers"].as_object().unwrap();
    assert_eq!(servers.len(), 1, "{v:#}");
    let cp = &servers.values().next().unwrap()["checkpoint"];
    (
        cp["seq"].as_u64().unwrap(),
        cp["head"].as_str().unwrap().to_owned(),
    )
}

fn head_seq(server: &Server) -> u64 {
    server
        .sql("SELECT max(seq) FROM audit_log")
        .trim()
        .parse()
        .unwrap()
}

fn hash_at(server: &Server, seq: u64) -> String {
    server
        .sql(&format!("SELECT hash FROM audit_log WHERE seq = {seq}"))
        .trim()
        .to_owned()
}

/// `n` new IM users: one `user.create` event each.
fn create_users(server: &Server, prefix: &str, n: usize) {
    for i in 0..n {
        assert_success(&run(server
            .imadm()
            .args([
                "user",
                "create",
                &format!("{prefix}{i}"),
                "--password-stdin",
            ])
            .write_stdin("pw-for-tests\n")));
    }
}

/// `audit export --out FILE` by a config dir that pinned nothing (the session's token,
/// the server given by flags).
fn export_unpinned(server: &Server, file: &Path) -> std::process::Output {
    let fresh = server.tmp().join("fresh-config");
    run(imadm_in(&fresh)
        .env("IMADM_TOKEN", server.token())
        .args([
            "--server",
            &server.info.server,
            "--app-id",
            &server.info.app_id,
        ])
        .arg("--ca-cert")
        .arg(&server.info.ca_cert)
        .args(["audit", "export", "--out"])
        .arg(file))
}

fn evidence_files(server: &Server) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(server.config_dir.join("evidence"))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn a_rolled_back_log_is_caught_until_repinned() {
    let mut server = Server::start();
    server.login();

    // Pin on first use: the server's head, signed.
    let out = run(server.imadm().args(["audit", "log", "-o", "jsonl"]));
    assert_success(&out);
    assert!(
        stderr(&out).contains("pinned the server's audit checkpoint at seq"),
        "{}",
        describe(&out)
    );
    let (first, head) = pinned(&server);
    assert_eq!(first, head_seq(&server));
    assert_eq!(head, hash_at(&server, first));

    // An earlier copy of the database, taken while the server is stopped.
    server.stop_in_place();
    let earlier = server.copy_database();
    let mut server = server.restart_with(&[]);
    server.login();

    // New events advance the pin.
    create_users(&server, "a", 4);
    assert_success(&run(server.imadm().args(["audit", "log", "-o", "jsonl"])));
    let (pin, pin_head) = pinned(&server);
    assert!(pin > first, "{pin} <= {first}");
    assert_eq!(pin, head_seq(&server));

    // Someone puts the earlier database back (the server stopped meanwhile).
    server.stop_in_place();
    server.put_back(earlier);
    let server = server.restart_with(&[]);
    server.login();
    assert!(head_seq(&server) < pin, "the log is shorter now");

    // A smaller seq: `audit log` refuses, names the pinned seq, keeps both checkpoints.
    let message = format!("the server's audit log was rolled back or forked at seq {pin}");
    let out = run(server.imadm().args(["audit", "log", "-o", "jsonl"]));
    assert_error(&out, 8, &message);
    assert!(stdout(&out).is_empty(), "{}", describe(&out));
    let files = evidence_files(&server);
    assert_eq!(files.len(), 1, "{files:?}");
    let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let ev: Value = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    assert_eq!(ev["kind"], "imadm-audit-fork");
    assert_eq!(ev["command"], "audit log");
    assert_eq!(ev["pinned"]["checkpoint"]["seq"], pin);
    assert_eq!(ev["pinned"]["checkpoint"]["head"], pin_head.as_str());
    assert_eq!(
        ev["server_checkpoint"]["checkpoint"]["seq"],
        head_seq(&server)
    );
    for cp in [
        &ev["pinned"]["checkpoint"],
        &ev["server_checkpoint"]["checkpoint"],
    ] {
        assert!(cp["signature"].as_str().unwrap().len() > 80, "{ev:#}");
    }
    assert!(stderr(&out).contains(files[0].to_str().unwrap()));
    assert_eq!(pinned(&server).0, pin, "a fork never moves the pin");

    // `compliance check` fails audit-chain with the same message.
    let out = run(server.imadm().args(["compliance", "check", "-o", "json"]));
    assert_exit(&out, 9);
    let v = json_stdout(&out);
    let chain = v["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "audit-chain")
        .unwrap();
    assert_eq!(chain["status"], "fail", "{chain:#}");
    assert!(
        chain["evidence"].to_string().contains(&message),
        "{chain:#}"
    );

    // The log grows past the pinned seq on another chain: the event there differs.
    create_users(&server, "b", (pin + 2 - head_seq(&server)) as usize);
    assert!(head_seq(&server) > pin);
    assert_ne!(hash_at(&server, pin), pin_head);
    let out = run(server.imadm().args(["audit", "log", "-o", "jsonl"]));
    assert_error(&out, 8, &message);
    let report = server.tmp().join("r.json");
    let out = run(server
        .imadm()
        .args(["audit", "export", "--out"])
        .arg(&report));
    assert_error(&out, 8, &message);
    assert!(!report.exists(), "no report of a forked chain is written");

    // A report of the new chain, exported by a profile that pinned nothing, covers the
    // pinned seq: `audit verify` with this profile refuses it.
    assert_success(&export_unpinned(&server, &report));
    let out = run(server.imadm().args(["audit", "verify"]).arg(&report));
    assert_error(&out, 8, &message);

    // `audit checkpoint` shows both and exits 8; re-pinning needs a confirmation.
    let out = run(server.imadm().args(["audit", "checkpoint", "-o", "json"]));
    assert_exit(&out, 8);
    let v = json_stdout(&out);
    assert_eq!(v["pinned_seq"], pin);
    assert!(v["server_seq"].as_u64().unwrap() > pin, "{v:#}");
    assert!(v["status"].as_str().unwrap().contains(&message), "{v:#}");
    let out = run(server
        .imadm()
        .args(["--no-input", "audit", "checkpoint", "--repin"]));
    assert_error(&out, 2, "--yes");
    assert_eq!(pinned(&server).0, pin);

    let before = evidence_files(&server);
    let out = run(server
        .imadm()
        .args(["audit", "checkpoint", "--repin", "--yes", "-o", "json"]));
    assert_success(&out);
    let v = json_stdout(&out);
    assert_eq!(v["status"], "re-pinned");
    let record = PathBuf::from(v["record"].as_str().unwrap());
    assert!(!before.contains(&record), "a new record");
    let mode = std::fs::metadata(&record).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let rec: Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(rec["kind"], "imadm-audit-repin");
    assert_eq!(rec["previous"]["checkpoint"]["seq"], pin);
    assert_eq!(rec["pinned"]["checkpoint"]["seq"], v["server_seq"]);
    assert_eq!(pinned(&server).0, v["server_seq"].as_u64().unwrap());

    // From there on the new chain is the one this profile holds the server to.
    let out = run(server.imadm().args(["audit", "log", "-o", "jsonl"]));
    assert_success(&out);
    let out = run(server.imadm().args(["compliance", "check", "-o", "json"]));
    let v = json_stdout(&out);
    let chain = v["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "audit-chain")
        .unwrap()
        .clone();
    assert_eq!(chain["status"], "pass", "{chain:#}");
    create_users(&server, "d", 1);
    let out = run(server.imadm().args(["audit", "checkpoint", "-o", "json"]));
    assert_success(&out);
    assert_eq!(json_stdout(&out)["status"], "extends the pin");
}

#[test]
fn every_chain_reading_command_advances_the_pin() {
    let server = Server::start();
    server.login();
    let dir = server.tmp().join("reports");
    std::fs::create_dir_all(&dir).unwrap();

    // `audit checkpoint` only shows: nothing pinned yet, and it pins nothing.
    let out = run(server.imadm().args(["audit", "checkpoint", "-o", "csv"]));
    assert_success(&out);
    let csv = stdout(&out);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(
        lines[0].starts_with("server_id,status,pinned_seq,"),
        "{csv}"
    );
    assert!(lines[1].contains(",not pinned,"), "{csv}");
    assert!(!server.config_dir.join("checkpoints/dev.json").exists());

    // `audit export` pins its closing checkpoint (the export's own event comes after).
    let first = dir.join("first.json");
    assert_success(&run(server
        .imadm()
        .args(["audit", "export", "--out"])
        .arg(&first)));
    let (p1, _) = pinned(&server);
    assert_eq!(p1, head_seq(&server) - 1);

    // `audit report` checks and advances (to the head when it ran).
    create_users(&server, "r", 1);
    assert_success(&run(server
        .imadm()
        .args(["audit", "report", "--out"])
        .arg(dir.join("summary.json"))));
    let (p2, _) = pinned(&server);
    assert!(p2 > p1);

    // `compliance check` verifies the whole chain through the pin and advances it.
    create_users(&server, "c", 1);
    let out = run(server.imadm().args(["compliance", "check", "-o", "json"]));
    let v = json_stdout(&out);
    let status = v["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "audit-chain")
        .unwrap()["status"]
        .clone();
    assert_eq!(status, "pass", "{v:#}");
    let (p3, _) = pinned(&server);
    assert!(p3 > p2);

    // `audit verify` of an older report that ends before the pin: verified, not covered.
    let out = run(server
        .imadm()
        .args(["audit", "verify", "-o", "json"])
        .arg(&first));
    assert_success(&out);
    assert_eq!(json_stdout(&out)["pin"], "not covered");
    // A later report passes the pin and advances it.
    create_users(&server, "v", 1);
    let second = dir.join("second.json");
    assert_success(&export_unpinned(&server, &second));
    assert_eq!(pinned(&server).0, p3, "another config dir's export");
    let out = run(server
        .imadm()
        .args(["audit", "verify", "-o", "json"])
        .arg(&second));
    assert_success(&out);
    assert_eq!(json_stdout(&out)["pin"], "advanced");
    assert!(pinned(&server).0 > p3);

    // `audit checkpoint` shows the pin and the server's checkpoint in every format.
    let out = run(server.imadm().args(["audit", "checkpoint", "-o", "json"]));
    assert_success(&out);
    let v = json_stdout(&out);
    assert_eq!(v["pinned_seq"], pinned(&server).0);
    assert_eq!(v["pinned_head"], pinned(&server).1.as_str());
    assert!(v["server_seq"].as_u64() >= v["pinned_seq"].as_u64());
    let out = run(server.imadm().args(["audit", "checkpoint", "-o", "table"]));
    assert_success(&out);
    assert!(stdout(&out).contains(&format!("Pinned seq: {}", pinned(&server).0)));
    let out = run(server.imadm().args(["audit", "checkpoint", "-o", "tsv"]));
    assert_success(&out);
    assert!(stdout(&out).starts_with("server_id\tstatus\tpinned_seq\t"));
    let out = run(server.imadm().args(["audit", "checkpoint", "-o", "jsonl"]));
    assert_success(&out);
    assert_eq!(stdout(&out).lines().count(), 1);
    assert!(evidence_files(&server).is_empty());
}
