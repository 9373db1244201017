//! Audit sinks (`imadm server --audit-sink`) against real receivers on loopback: the file
//! sink with rotation checked by `imadm audit verify`, and delivery across a SIGKILL.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::*;
use crate::rbac::Api;

/// Append `n` chained events to the running server's log (as `audit_report.rs` does).
fn seed(server: &Server, n: u64) {
    assert_success(&run(server
        .imadm()
        .args(["__seed-audit", &n.to_string(), "--data-dir"])
        .arg(&server.data_dir)));
}

/// `(newest seq of the log, seq the sink acknowledged)` straight from the database.
fn positions(server: &Server) -> (u64, u64) {
    let row = server.sql(
        "SELECT (SELECT max(seq) FROM audit_log), \
                coalesce((SELECT max(seq) FROM audit_sink_cursors), 0)",
    );
    let (a, b) = row.trim().split_once('|').unwrap();
    (a.parse().unwrap(), b.parse().unwrap())
}

/// Wait until the sink has acknowledged the whole log; its last seq.
fn caught_up(server: &Server) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (head, done) = positions(server);
        if head == done {
            return head;
        }
        assert!(
            Instant::now() < deadline,
            "the sink is stuck at {done} of {head}\n{}",
            server.server_stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn server_key(server: &Server) -> String {
    let (st, env) = Api::new(server).call("GET", "/admin/server-info", None, None, None);
    assert_eq!(st, 200, "{env}");
    env["data"]["audit_public_key"].as_str().unwrap().to_owned()
}

/// The sink's files (`PATH`, `PATH.<seq>`), by name.
fn files_of(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn verify(server: &Server, key: &str, files: &[PathBuf]) -> std::process::Output {
    run(server
        .imadm()
        .args(["-o", "json", "audit", "verify", "--server-key", key])
        .args(files))
}

/// The events of the sink's files, in chain order (files sorted by their first seq).
fn events_in(files: &[PathBuf]) -> Vec<Value> {
    let mut by_start: Vec<(u64, Vec<Value>)> = files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let mut lines = text.lines();
            let header: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
            assert_eq!(header["kind"], "imadm-audit-sink");
            let events = lines
                .filter(|l| l.starts_with("{\"seq\":"))
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            (header["first_seq"].as_u64().unwrap(), events)
        })
        .collect();
    by_start.sort_by_key(|(s, _)| *s);
    by_start.into_iter().flat_map(|(_, e)| e).collect()
}

fn spec(dir: &Path, options: &str) -> String {
    format!("file:{}{options}", dir.join("audit.jsonl").display())
}

#[test]
fn file_sink_rotates_and_audit_verify_checks_the_set_naming_an_edit_or_a_gap() {
    let sink = tempfile::tempdir().unwrap();
    let spec = spec(sink.path(), "?max_bytes=16KiB");
    let server = Server::start_with(&["--audit-sink", &spec]);
    server.login();
    // Four batches and more (a file rotates once a batch has taken it past 16 KiB).
    seed(&server, 2000);
    // The export is audited too: an event the server itself writes after the seeded ones.
    let report = server.tmp().join("all.json");
    assert_success(&run(server
        .imadm()
        .args(["-o", "json", "audit", "export", "--out"])
        .arg(&report)));
    let last = caught_up(&server);
    assert!(last > 2000, "{last}");

    let out = run(server.imadm().args(["-o", "json", "audit", "sinks"]));
    assert_success(&out);
    let status = json_stdout(&out);
    let s = &status.as_array().unwrap()[0];
    assert_eq!(
        s["name"],
        format!("file:{}", sink.path().join("audit.jsonl").display())
    );
    assert_eq!(
        (s["kind"].as_str(), s["state"].as_str()),
        (Some("file"), Some("ok"))
    );
    assert!(s["delivered_seq"].as_u64().unwrap() >= last, "{s}");

    // Rotated at 16 KiB: several files, which verify as one chain from seq 1.
    let files = files_of(sink.path());
    assert!(files.len() >= 4, "{files:?}");
    let key = server_key(&server);
    let out = verify(&server, &key, &files);
    assert_success(&out);
    let v = json_stdout(&out);
    assert_eq!(v["verified"], true);
    assert_eq!(
        (v["first_seq"].as_u64(), v["count"].as_u64()),
        (Some(1), v["last_seq"].as_u64())
    );
    assert!(v["last_seq"].as_u64().unwrap() >= last);
    // Each event exactly as `audit export` has it.
    let report: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let exported = report["events"].as_array().unwrap();
    let copied = events_in(&files);
    assert_eq!(&copied[..exported.len()], &exported[..]);

    // An edited event in a middle file: exit 8 naming the file and the line.
    let middle = &files[2];
    let tampered = tempfile::tempdir().unwrap();
    let copy: Vec<PathBuf> = files
        .iter()
        .map(|f| {
            let to = tampered.path().join(f.file_name().unwrap());
            std::fs::copy(f, &to).unwrap();
            to
        })
        .collect();
    let text = std::fs::read_to_string(middle).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    assert!(lines[2].starts_with("{\"seq\":"), "{}", lines[2]);
    lines[2] = lines[2].replacen("\"outcome\":\"success\"", "\"outcome\":\"failure\"", 1);
    let edited = tampered.path().join(middle.file_name().unwrap());
    std::fs::write(&edited, lines.join("\n") + "\n").unwrap();
    assert_error(
        &verify(&server, &key, &copy),
        8,
        &format!("{}: line 3: event seq", edited.display()),
    );

    // A middle file removed: exit 8 naming where the gap is.
    let mut gap = files.clone();
    let removed = gap.remove(2);
    let out = verify(&server, &key, &gap);
    assert_error(&out, 8, "events are missing between them");
    assert!(
        stderr(&out).contains(&files[3].display().to_string()),
        "{}",
        describe(&out)
    );
    assert!(
        !stderr(&out).contains(&removed.display().to_string()),
        "{}",
        describe(&out)
    );
}

/// SIGKILL while the sink is delivering a backlog: after a restart every event is in the
/// sink, once, in order (the file sink skips what a batch delivered again already has).
#[test]
fn a_killed_server_resumes_delivery_and_the_sink_misses_nothing() {
    let sink = tempfile::tempdir().unwrap();
    let spec = spec(sink.path(), "?max_bytes=1MiB");
    let mut server = Server::start_with(&["--audit-sink", &spec]);
    server.login();
    seed(&server, 50_000);
    // The sink notices new events through the server's own writes: log in again.
    server.login();
    let deadline = Instant::now() + Duration::from_secs(60);
    let at_kill = loop {
        let (_, done) = positions(&server);
        if done > 0 {
            server.kill();
            break positions(&server);
        }
        assert!(Instant::now() < deadline, "{}", server.server_stderr());
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(
        at_kill.1 < at_kill.0,
        "killed with events in flight: {at_kill:?}"
    );

    let server = server.restart_with(&["--audit-sink", &spec]);
    server.login();
    let last = caught_up(&server);
    let files = files_of(sink.path());
    let out = verify(&server, &server_key(&server), &files);
    assert_success(&out);
    let v = json_stdout(&out);
    assert_eq!(
        (v["first_seq"].as_u64(), v["last_seq"].as_u64()),
        (Some(1), Some(last))
    );
    let seqs: Vec<u64> = events_in(&files)
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=last).collect::<Vec<_>>());
}
