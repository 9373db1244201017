//! `imadm audit verify` through the real binary, on the synthetic report vector
//! (tests/vectors/audit/, made by the library's unit tests from the api's chain
//! functions): tampered copies exit 8 naming the event; OpenSSH's `ssh-keygen -Y sign`
//! signatures are checked against an allowed_signers file; a pinned key is the default.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::*;

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/audit")
}

fn server_key() -> String {
    std::fs::read_to_string(vectors().join("server.pub"))
        .unwrap()
        .trim()
        .to_owned()
}

fn verify(dir: &Path, file: &Path, extra: &[&str]) -> std::process::Output {
    run(imadm_in(&dir.join("cfg"))
        .args(["-o", "json", "audit", "verify"])
        .arg(file)
        .args(extra))
}

fn lines() -> Vec<String> {
    std::fs::read_to_string(vectors().join("report.json"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write(dir: &Path, name: &str, l: &[String]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("{}\n", l.join("\n"))).unwrap();
    p
}

#[test]
fn audit_verify_accepts_the_intact_report_and_names_tampered_events() {
    let dir = tempfile::tempdir().unwrap();
    let key = server_key();
    let good = write(dir.path(), "good.json", &lines());
    let out = verify(dir.path(), &good, &["--server-key", &key]);
    assert_success(&out);
    let v = json_stdout(&out);
    assert_eq!(v["verified"], true);
    assert_eq!(
        (v["first_seq"].as_u64(), v["last_seq"].as_u64()),
        (Some(11), Some(40))
    );

    // Line 0 is the head; line k holds seq 10 + k.
    let mut edited = lines();
    edited[5] = edited[5].replace("\"outcome\":\"success\"", "\"outcome\":\"failure\"");
    edited[5] = edited[5].replace("\"actor\":\"op", "\"actor\":\"xop");
    let f = write(dir.path(), "edited.json", &edited);
    assert_error(
        &verify(dir.path(), &f, &["--server-key", &key]),
        8,
        "event seq 15: hash does not match",
    );

    let mut deleted = lines();
    deleted.remove(7);
    let f = write(dir.path(), "deleted.json", &deleted);
    assert_error(
        &verify(dir.path(), &f, &["--server-key", &key]),
        8,
        "expected seq 17, found 18: events deleted",
    );

    let mut inserted = lines();
    let copy = inserted[3].clone();
    inserted.insert(9, copy);
    let f = write(dir.path(), "inserted.json", &inserted);
    assert_error(
        &verify(dir.path(), &f, &["--server-key", &key]),
        8,
        "expected seq 19, found 13",
    );

    let mut reordered = lines();
    reordered.swap(20, 21);
    let f = write(dir.path(), "reordered.json", &reordered);
    assert_error(
        &verify(dir.path(), &f, &["--server-key", &key]),
        8,
        "expected seq 30, found 31",
    );

    // Another server's key: the checkpoints do not verify.
    let other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGWbJzbfr2Y6xcl6i0dVb1f4yYcr2nU9lPqJzGmXJ6ZG";
    assert_error(
        &verify(dir.path(), &good, &["--server-key", other]),
        8,
        "not the trusted key",
    );
    // No key at all: a usage error that says how to get one.
    assert_error(
        &verify(dir.path(), &good, &[]),
        2,
        "no trusted server audit key",
    );
}

#[test]
fn audit_verify_checks_ssh_keygen_signatures_and_uses_the_pinned_key() {
    let dir = tempfile::tempdir().unwrap();
    let report = write(dir.path(), "r.json", &lines());
    let keyfile = dir.path().join("id_ed25519");
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "auditor", "-f"])
        .arg(&keyfile)
        .status()
        .unwrap();
    assert!(st.success());
    let st = Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-n", "imadm-audit", "-f"])
        .arg(&keyfile)
        .arg(&report)
        .status()
        .unwrap();
    assert!(st.success());
    let pubkey = std::fs::read_to_string(keyfile.with_extension("pub")).unwrap();
    let allowed = dir.path().join("allowed_signers");
    std::fs::write(
        &allowed,
        format!("tester@example.com namespaces=\"imadm-audit\" {pubkey}"),
    )
    .unwrap();

    // Pin the server key in the profile instead of passing --server-key.
    assert_success(&run(imadm_in(&dir.path().join("cfg")).args([
        "config",
        "set",
        "audit_key",
        &server_key(),
    ])));
    let allowed_s = allowed.display().to_string();
    let out = verify(dir.path(), &report, &["--allowed-signers", &allowed_s]);
    assert_success(&out);
    assert_eq!(json_stdout(&out)["signer"], "tester@example.com");

    // The signer is not in the allowed signers file.
    std::fs::write(&allowed, "someone@example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGWbJzbfr2Y6xcl6i0dVb1f4yYcr2nU9lPqJzGmXJ6ZG\n").unwrap();
    assert_error(
        &verify(dir.path(), &report, &["--allowed-signers", &allowed_s]),
        8,
        "not in the allowed signers",
    );
    std::fs::write(
        &allowed,
        format!("tester@example.com namespaces=\"imadm-audit\" {pubkey}"),
    )
    .unwrap();

    // Whitespace added after signing: the chain still verifies, the signature does not.
    let mut bytes = std::fs::read(&report).unwrap();
    bytes.extend_from_slice(b"\n");
    std::fs::write(&report, &bytes).unwrap();
    assert_error(
        &verify(dir.path(), &report, &["--allowed-signers", &allowed_s]),
        8,
        "changed after signing",
    );
}

#[test]
fn audit_verify_reads_the_csv_form() {
    let dir = tempfile::tempdir().unwrap();
    let key = server_key();
    let csv = vectors().join("report.csv");
    let out = verify(dir.path(), &csv, &["--server-key", &key]);
    assert_success(&out);
    assert_eq!(json_stdout(&out)["count"], 30);
    // Row of seq 12 (line 0 magic, 1 header, 2 columns, 3 seq 11): actor changed.
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut l: Vec<String> = text.lines().map(str::to_owned).collect();
    l[4] = l[4].replacen(",op", ",xop", 1);
    let f = write(dir.path(), "edited.csv", &l);
    assert_error(
        &verify(dir.path(), &f, &["--server-key", &key]),
        8,
        "event seq 12: hash does not match",
    );
}
