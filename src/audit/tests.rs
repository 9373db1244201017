//! Cross-module tests of the audit report library: interoperability with OpenSSH's
//! `ssh-keygen -Y sign|verify`, and the mutation test (hundreds of seeded random edits,
//! deletions, insertions and reorderings, each of which verification must catch).

use std::path::Path;
use std::process::{Command, Stdio};

use imadm_api::audit;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use super::allowed_signers::AllowedSigners;
use super::pin::ServerKey;
use super::report::ReportWriter;
use super::sshsig::{Detached, SignKey, digest_file};
use super::{NAMESPACE, synth, verify};
use crate::error::Kind;

fn keygen(dir: &Path, name: &str, pass: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", pass, "-C", "tester", "-f"])
        .arg(&path)
        .status()
        .expect("ssh-keygen is installed (Debian openssh-client)");
    assert!(st.success());
    path
}

fn allowed(dir: &Path, key: &Path) -> std::path::PathBuf {
    let pubkey = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let path = dir.join("allowed_signers");
    std::fs::write(
        &path,
        format!("# test\ntester@example.com namespaces=\"{NAMESPACE}\" {pubkey}"),
    )
    .unwrap();
    path
}

fn ssh_verify(allowed: &Path, file: &Path, sig: &Path) -> bool {
    Command::new("ssh-keygen")
        .args([
            "-Y",
            "verify",
            "-I",
            "tester@example.com",
            "-n",
            NAMESPACE,
            "-f",
        ])
        .arg(allowed)
        .arg("-s")
        .arg(sig)
        .stdin(std::fs::File::open(file).unwrap())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

/// Write a report through the streaming writer and sign its streamed digest.
fn write_signed(dir: &Path, key: &SignKey) -> (std::path::PathBuf, std::path::PathBuf) {
    let bytes = synth::report(1, 30);
    let text = String::from_utf8(bytes).unwrap();
    // Re-stream the same report through a writer to a file to sign the prehash.
    let v: Value = serde_json::from_str(&text).unwrap();
    let file = dir.join("report.json");
    let f = std::fs::File::create(&file).unwrap();
    let server = serde_json::from_value(v["server"].clone()).unwrap();
    let range = serde_json::from_value(v["range"].clone()).unwrap();
    let anchor = serde_json::from_value(v["anchor"].clone()).unwrap();
    let mut w = ReportWriter::begin(f, &server, &range, v["signer"].as_str(), &anchor).unwrap();
    for e in v["events"].as_array().unwrap() {
        w.event(&serde_json::from_value(e.clone()).unwrap())
            .unwrap();
    }
    let (_, digest) = w
        .finish(&serde_json::from_value(v["checkpoint"].clone()).unwrap())
        .unwrap();
    assert_eq!(
        std::fs::read(&file).unwrap(),
        text.as_bytes(),
        "writer is deterministic"
    );
    let sig = dir.join("report.json.sig");
    std::fs::write(&sig, key.sign_sha512(NAMESPACE, &digest).unwrap()).unwrap();
    (file, sig)
}

fn our_verify(file: &Path, sig: &Path, allowed: &Path) -> crate::error::Result<String> {
    let d = Detached::parse(&std::fs::read_to_string(sig).unwrap(), NAMESPACE, "sig")?;
    d.verify_digest(&digest_file(file, d.sig.hash_alg()).unwrap(), "sig")?;
    let a = AllowedSigners::parse(&std::fs::read_to_string(allowed).unwrap(), "allowed")?;
    a.authorize(
        d.sig.public_key(),
        NAMESPACE,
        1_800_000_000,
        None,
        &d.public_openssh(),
    )
}

#[test]
fn ssh_keygen_accepts_our_signatures_and_we_accept_its() {
    let dir = tempfile::tempdir().unwrap();
    let keyfile = keygen(dir.path(), "id_ed25519", "");
    let allowed = allowed(dir.path(), &keyfile);
    let key = SignKey::load(&keyfile, || panic!("no passphrase needed")).unwrap();
    let (file, sig) = write_signed(dir.path(), &key);
    assert!(
        ssh_verify(&allowed, &file, &sig),
        "ssh-keygen -Y verify rejected our signature"
    );
    assert_eq!(
        our_verify(&file, &sig, &allowed).unwrap(),
        "tester@example.com"
    );

    // ssh-keygen's own signature (sha512 by default) over the same file verifies in ours.
    let theirs = dir.path().join("theirs.json");
    std::fs::copy(&file, &theirs).unwrap();
    let st = Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-n", NAMESPACE, "-f"])
        .arg(&keyfile)
        .arg(&theirs)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let theirs_sig = dir.path().join("theirs.json.sig");
    assert_eq!(
        our_verify(&theirs, &theirs_sig, &allowed).unwrap(),
        "tester@example.com"
    );

    // One byte changed: both refuse.
    let mut bytes = std::fs::read(&file).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 1;
    std::fs::write(&file, &bytes).unwrap();
    assert!(!ssh_verify(&allowed, &file, &sig));
    let e = our_verify(&file, &sig, &allowed).unwrap_err();
    assert_eq!(e.kind, Kind::Integrity);
    assert!(e.message.contains("changed after signing"), "{}", e.message);
}

#[test]
fn passphrase_protected_keys_are_decrypted_and_wrong_namespace_refused() {
    let dir = tempfile::tempdir().unwrap();
    let keyfile = keygen(dir.path(), "id_pw", "s3cret pass");
    let e = SignKey::load(&keyfile, || Ok("wrong".into()))
        .err()
        .unwrap();
    assert_eq!(e.kind, Kind::Auth);
    let key = SignKey::load(&keyfile, || Ok("s3cret pass".into())).unwrap();
    let allowed = allowed(dir.path(), &keyfile);
    let (file, sig) = write_signed(dir.path(), &key);
    assert!(ssh_verify(&allowed, &file, &sig));
    let pem = std::fs::read_to_string(&sig).unwrap();
    let e = Detached::parse(&pem, "git", "sig").err().unwrap();
    assert!(e.message.contains("namespace"), "{}", e.message);
}

/// One random change to the event lines of a report; returns a description.
fn mutate(rng: &mut StdRng, events: &mut Vec<String>) -> String {
    let n = events.len();
    match rng.random_range(0..6) {
        0 | 1 => {
            let i = rng.random_range(0..n);
            let mut v: Value = serde_json::from_str(&events[i]).unwrap();
            let fields = [
                "seq",
                "at",
                "actor_type",
                "actor",
                "source",
                "action",
                "target",
                "outcome",
                "request_id",
                "detail",
                "hash",
            ];
            let f = fields[rng.random_range(0..fields.len())];
            let old = v[f].clone();
            let new = match f {
                "seq" => Value::from(old.as_u64().unwrap() + rng.random_range(1..5)),
                "hash" => {
                    let mut h = old.as_str().unwrap().as_bytes().to_vec();
                    let j = rng.random_range(0..h.len());
                    h[j] = if h[j] == b'0' { b'1' } else { b'0' };
                    Value::from(String::from_utf8(h).unwrap())
                }
                _ if old.is_null() => Value::from("x"),
                _ if rng.random_bool(0.2)
                    && !matches!(f, "at" | "actor_type" | "actor" | "action" | "outcome") =>
                {
                    Value::Null
                }
                _ => Value::from(format!("{}!", old.as_str().unwrap())),
            };
            v[f] = new;
            events[i] = serde_json::to_string(&v).unwrap();
            format!("edit {f} of event {}", i + 1)
        }
        2 => {
            let i = rng.random_range(0..n);
            events.remove(i);
            format!("delete event {}", i + 1)
        }
        3 => {
            let i = rng.random_range(0..n);
            let j = rng.random_range(0..=n);
            let copy = events[i].clone();
            events.insert(j, copy);
            format!("insert a copy of event {} at {j}", i + 1)
        }
        4 => {
            let i = rng.random_range(0..n);
            let mut j = rng.random_range(0..n);
            while j == i {
                j = rng.random_range(0..n);
            }
            events.swap(i, j);
            format!("swap events {} and {}", i + 1, j + 1)
        }
        _ => {
            // Edit one event and re-hash it and every later one: only the signed
            // checkpoint can tell.
            let i = rng.random_range(0..n);
            let mut prev = if i == 0 {
                audit::GENESIS
            } else {
                let v: Value = serde_json::from_str(&events[i - 1]).unwrap();
                audit::parse_hash(v["hash"].as_str().unwrap()).unwrap()
            };
            for (k, line) in events.iter_mut().enumerate().skip(i) {
                let mut e: audit::AuditEvent = serde_json::from_str(line).unwrap();
                if k == i {
                    e.outcome = "success-forged".into();
                }
                prev = audit::chain_next(&prev, &e.leaf());
                e.hash = audit::hash_hex(&prev);
                *line = serde_json::to_string(&e).unwrap();
            }
            format!("edit and re-hash from event {}", i + 1)
        }
    }
}

/// A JSON report (valid JSON, possibly tampered) rewritten as CSV.
fn to_csv(json: &str) -> Vec<u8> {
    let v: Value = serde_json::from_str(json).unwrap();
    let mut w = super::csv::CsvWriter::begin(
        Vec::new(),
        &serde_json::from_value(v["server"].clone()).unwrap(),
        &serde_json::from_value(v["range"].clone()).unwrap(),
        v["signer"].as_str(),
        &serde_json::from_value(v["anchor"].clone()).unwrap(),
    )
    .unwrap();
    for e in v["events"].as_array().unwrap() {
        w.event(&serde_json::from_value(e.clone()).unwrap())
            .unwrap();
    }
    w.finish(&serde_json::from_value(v["checkpoint"].clone()).unwrap())
        .unwrap()
        .0
}

#[test]
fn mutation_every_random_edit_delete_insert_reorder_is_detected() {
    let key = ServerKey::parse(&synth::server_key(1).1).unwrap();
    for (first, last) in [(1u64, 120u64), (41, 160)] {
        let text = String::from_utf8(synth::report(first, last)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let (head, tail) = (lines[0], lines[lines.len() - 1]);
        let events: Vec<String> = lines[1..lines.len() - 1]
            .iter()
            .map(|l| l.trim_end_matches(',').to_owned())
            .collect();
        let assemble = |ev: &[String]| format!("{head}\n{}\n{tail}\n", ev.join(",\n"));
        assert!(verify::verify(assemble(&events).as_bytes(), &key).is_ok());
        let mut rng = StdRng::seed_from_u64(0x1a0d_u64.wrapping_add(first));
        for round in 0..150 {
            let mut ev = events.clone();
            let mut what = Vec::new();
            for _ in 0..rng.random_range(1..=3) {
                what.push(mutate(&mut rng, &mut ev));
            }
            match verify::verify(assemble(&ev).as_bytes(), &key) {
                Ok(_) => panic!("round {round}: not detected: {what:?}"),
                Err(e) => assert_eq!(
                    e.kind,
                    Kind::Integrity,
                    "round {round} {what:?}: {}",
                    e.message
                ),
            }
            // The same mutated events in the CSV form.
            let csv = to_csv(&assemble(&ev));
            match verify::verify(&csv[..], &key) {
                Ok(_) => panic!("round {round} (csv): not detected: {what:?}"),
                Err(e) => assert_eq!(
                    e.kind,
                    Kind::Integrity,
                    "round {round} csv {what:?}: {}",
                    e.message
                ),
            }
        }
    }
}

/// tests/vectors/audit/ holds a synthetic report (events 11..=40 of a chain, anchored)
/// and the server key that signed its checkpoints, for the e2e tests of the binary.
/// `IMADM_BLESS=1` rewrites them; otherwise this checks they are still what the code makes.
#[test]
fn report_vector_is_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/audit");
    let report = synth::report(11, 40);
    let key = format!(
        "{} imadm-audit@{}\n",
        synth::server_key(1).1,
        synth::SERVER_ID
    );
    if std::env::var_os("IMADM_BLESS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("report.json"), &report).unwrap();
        std::fs::write(dir.join("server.pub"), &key).unwrap();
        std::fs::write(
            dir.join("report.csv"),
            to_csv(std::str::from_utf8(&report).unwrap()),
        )
        .unwrap();
    }
    assert_eq!(
        std::fs::read(dir.join("report.csv")).unwrap(),
        to_csv(std::str::from_utf8(&report).unwrap())
    );
    assert_eq!(std::fs::read(dir.join("report.json")).unwrap(), report);
    assert_eq!(
        std::fs::read_to_string(dir.join("server.pub")).unwrap(),
        key
    );
}

#[test]
fn report_lines_are_the_serde_form_and_take_the_verify_fast_path() {
    // Events 1..=30 include details with quotes and newlines (synth::event).
    let report = synth::report(1, 30);
    let lines: Vec<&[u8]> = report
        .split(|b| *b == b'\n')
        .filter(|l| l.starts_with(b"{\"seq\":"))
        .map(|l| l.strip_suffix(b",").unwrap_or(l))
        .collect();
    assert_eq!(lines.len(), 30);
    let mut chain = verify::Chain::new(1, audit::GENESIS);
    for l in &lines {
        let e: audit::AuditEvent = serde_json::from_slice(l).unwrap();
        // The writer's shortcut writes exactly what serde writes for the event.
        assert_eq!(serde_json::to_vec(&e).unwrap(), *l);
        assert!(chain.push_exact(l), "seq {} missed the fast path", e.seq);
    }
    // A changed line is never accepted by the fast path (the parsing path then decides).
    let mut chain = verify::Chain::new(1, audit::GENESIS);
    let edited = String::from_utf8(lines[0].to_vec())
        .unwrap()
        .replace("auth.login", "auth.logim");
    assert!(!chain.push_exact(edited.as_bytes()));
    assert_eq!(chain.next_seq, 1);
    // Nor a line out of order.
    assert!(!chain.push_exact(lines[1]));
}
