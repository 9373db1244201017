//! Audit sinks (`imadm server --audit-sink`) against real receivers on loopback: the file
//! sink with rotation checked by `imadm audit verify`, delivery across a SIGKILL, and the
//! HTTPS (Standard Webhooks) sink against a receiver of the test's own.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::*;
use crate::rbac::Api;

/// `(newest seq of the log, seq every sink acknowledged)` straight from the database (a
/// sink without a cursor yet counts as 0 only once another has one).
fn positions(server: &Server) -> (u64, u64) {
    let row = server.sql(
        "SELECT (SELECT max(seq) FROM audit_log), \
                coalesce((SELECT min(seq) FROM audit_sink_cursors), 0)",
    );
    let (a, b) = row.trim().split_once('|').unwrap();
    (a.parse().unwrap(), b.parse().unwrap())
}

/// Wait until the sink has acknowledged the whole log; its last seq.
pub(crate) fn caught_up(server: &Server) -> u64 {
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
    server.seed_audit(2000);
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

/// SIGKILL while the sinks are delivering a backlog: after a restart every event is in
/// each sink, in order: in the file once (the file sink skips what a batch delivered
/// again already has), at the HTTPS receiver at least once.
#[test]
fn a_killed_server_resumes_delivery_and_the_sinks_miss_nothing() {
    let sink = tempfile::tempdir().unwrap();
    let spec = spec(sink.path(), "?max_bytes=1MiB");
    let receiver = Receiver::start(false);
    let https = receiver.spec("");
    let secret = webhook_secret();
    let flags = ["--audit-sink", &spec, "--audit-sink", &https];
    let env = [("E2E_SINK_SECRET", secret.as_str())];
    let mut server = Server::start_with_env(&flags, &env);
    server.login();
    server.seed_audit(50_000);
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

    let server = server.restart_with_env(&flags, &env);
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
    let mut seen = 0;
    for r in receiver.received() {
        assert_eq!(r.status, 200);
        for e in r.body["events"].as_array().unwrap() {
            let seq = e["seq"].as_u64().unwrap();
            assert!(
                seq <= seen + 1,
                "seq {seq} arrived after {seen}: events skipped"
            );
            seen = seen.max(seq);
        }
    }
    assert!(seen >= last, "the receiver has {seen} of {last}");
}

/// One request the HTTPS receiver got, and what it answered.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    id: String,
    timestamp: i64,
    /// Whether `webhook-signature` held a valid `v1,` signature over `id.timestamp.body`.
    signed: bool,
    pub(crate) body: Value,
    pub(crate) status: u16,
}

/// An HTTPS receiver on loopback for the webhook sink: it checks each request's Standard
/// Webhooks signature with an HMAC written here (not the server's signer), answers 500
/// while `failing` is set, else 200, and keeps every request.
pub(crate) struct Receiver {
    port: u16,
    ca: PathBuf,
    pub(crate) failing: Arc<AtomicBool>,
    got: Arc<Mutex<Vec<Received>>>,
    _dir: tempfile::TempDir,
}

const WEBHOOK_KEY: &[u8] = b"an e2e webhook key, 32 bytes ok!";

pub(crate) fn webhook_secret() -> String {
    use base64::Engine;
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(WEBHOOK_KEY)
    )
}

/// HMAC-SHA256 (RFC 2104) from SHA-256 alone.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let inner = Sha256::new()
        .chain_update(k.map(|b| b ^ 0x36))
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(k.map(|b| b ^ 0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

impl Receiver {
    pub(crate) fn start(failing: bool) -> Receiver {
        imadm_server::tls::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let certs = imadm_server::tls::ensure_dev_certs(dir.path()).unwrap();
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&certs.cert)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(&certs.key).unwrap();
        let config = Arc::new(
            rustls::ServerConfig::builder()
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .unwrap(),
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let failing = Arc::new(AtomicBool::new(failing));
        let got = Arc::new(Mutex::new(Vec::new()));
        let (f, g) = (failing.clone(), got.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let conn = rustls::ServerConnection::new(config.clone()).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, stream);
                if let Some(r) = serve_one(&mut tls, f.load(Ordering::SeqCst)) {
                    g.lock().unwrap().push(r);
                }
            }
        });
        Receiver {
            port,
            ca: certs.ca_cert,
            failing,
            got,
            _dir: dir,
        }
    }

    pub(crate) fn spec(&self, options: &str) -> String {
        format!(
            "https://127.0.0.1:{}/ingest?secret_env=E2E_SINK_SECRET&ca={}{options}",
            self.port,
            self.ca.display()
        )
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

/// Read one HTTP/1.1 request, answer it, close.
fn serve_one(s: &mut (impl Read + Write), failing: bool) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let header = |name: &str| {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    let len: usize = header("content-length")?.parse().ok()?;
    while buf.len() < end + len {
        let n = s.read(&mut chunk).ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = &buf[end..end + len];
    let id = header("webhook-id").unwrap_or_default();
    let ts = header("webhook-timestamp").unwrap_or_default();
    use base64::Engine;
    let expected = base64::engine::general_purpose::STANDARD.encode(hmac_sha256(
        WEBHOOK_KEY,
        &[id.as_bytes(), b".", ts.as_bytes(), b".", body].concat(),
    ));
    let signed = header("webhook-signature")
        .unwrap_or_default()
        .split(' ')
        .any(|sig| sig == format!("v1,{expected}"));
    let status = match (signed, failing) {
        (false, _) => 401,
        (true, true) => 500,
        (true, false) => 200,
    };
    let _ = write!(
        s,
        "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    let _ = s.flush();
    Some(Received {
        id,
        timestamp: ts.parse().unwrap_or(0),
        signed,
        body: serde_json::from_slice(body).unwrap_or(Value::Null),
        status,
    })
}

/// The webhook sink against a receiver that fails for a while: every event arrives, in
/// order, at least once, each request correctly signed; a retried batch keeps its
/// webhook-id, and duplicates are recognisable by seq.
#[test]
fn https_sink_delivers_every_event_signed_in_order_through_an_outage() {
    let receiver = Receiver::start(true);
    let secret = webhook_secret();
    let server = Server::start_with_env(
        &["--audit-sink", &receiver.spec("&retry_max=1s")],
        &[("E2E_SINK_SECRET", &secret)],
    );
    server.login();
    server.seed_audit(1200);
    server.login();
    // A few refused attempts, then the receiver comes back.
    let deadline = Instant::now() + Duration::from_secs(30);
    while receiver.received().len() < 3 {
        assert!(Instant::now() < deadline, "{}", server.server_stderr());
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = run(server.imadm().args(["-o", "json", "audit", "sinks"]));
    assert_success(&out);
    let s = &json_stdout(&out)[0];
    assert_eq!(s["kind"], "https");
    assert!(s["failures"].as_u64().unwrap() >= 1, "{s}");
    assert!(s["last_error"].as_str().unwrap().contains("500"), "{s}");
    assert_eq!(s["delivered_seq"], 0, "{s}");
    // Beyond the default bound (1000 events): the high alert, but changes go on (the sink
    // is not required).
    wait_state(&server, "lagging");
    assert!(alert_rules(&server).contains(&("audit_sink_lagging".into(), "high".into())));
    crate::users::create_user(&server, "still_works", &[]);
    receiver.failing.store(false, Ordering::SeqCst);
    let last = caught_up(&server);

    let got = receiver.received();
    let now = now_secs() as i64;
    for r in &got {
        assert!(r.signed, "a request without a valid signature: {r:?}");
        assert!((r.timestamp - now).abs() < 300, "{r:?}");
    }
    // The refused batch is sent again as it was: same id, same events.
    let first = &got[0];
    assert_eq!(first.status, 500);
    let retried = got.iter().find(|r| r.status == 200).unwrap();
    assert_eq!((&retried.id, &retried.body), (&first.id, &first.body));
    // Accepted batches, in arrival order: consecutive, chained, and together the log.
    let mut seqs = Vec::new();
    let mut prev_hash = "0".repeat(64);
    let mut events = Vec::new();
    for r in got.iter().filter(|r| r.status == 200) {
        let b = &r.body;
        assert_eq!(b["kind"], "imadm-audit-batch");
        assert_eq!(b["prev_hash"], prev_hash.as_str(), "batches chain in order");
        let evs = b["events"].as_array().unwrap();
        assert_eq!(b["first_seq"], evs[0]["seq"]);
        assert_eq!(b["last_seq"], evs[evs.len() - 1]["seq"]);
        assert!(
            r.id.ends_with(&format!("_{}-{}", b["first_seq"], b["last_seq"])),
            "{}",
            r.id
        );
        for e in evs {
            // Dedupe by seq: a repeated event is one already seen.
            let seq = e["seq"].as_u64().unwrap();
            if seqs.last().is_none_or(|l| seq > *l) {
                seqs.push(seq);
                events.push(e.clone());
            }
        }
        prev_hash = evs[evs.len() - 1]["hash"].as_str().unwrap().to_owned();
    }
    assert_eq!(seqs, (1..=last).collect::<Vec<_>>());
    // Alerts are events like the rest: the lagging alert raised above arrived too.
    assert!(
        events.iter().any(|e| e["action"] == "alert.raised"
            && e["detail"]
                .as_str()
                .unwrap()
                .starts_with("audit_sink_lagging (high)")),
        "no alert.raised event delivered"
    );
    let report = server.tmp().join("all.json");
    assert_success(&run(server
        .imadm()
        .args(["-o", "json", "audit", "export", "--out"])
        .arg(&report)));
    let report: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let exported = report["events"].as_array().unwrap();
    assert_eq!(&exported[..events.len()], &events[..]);
    assert!(!server.server_stderr().contains(&secret));
}

/// A real `rsyslogd` (Debian's rsyslog) listening on a loopback port, TCP or (with
/// certificates, rsyslog-gnutls) TLS, writing every message it receives as one JSON line
/// of its own parsed RFC 5424 fields.
struct Rsyslog {
    child: std::process::Child,
    port: u16,
    out: PathBuf,
    dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

impl Rsyslog {
    fn start(tls: Option<&imadm_server::tls::DevCerts>) -> Rsyslog {
        Rsyslog::start_on(tls, free_port())
    }

    fn start_on(tls: Option<&imadm_server::tls::DevCerts>, port: u16) -> Rsyslog {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().join("work");
        std::fs::create_dir_all(&work).unwrap();
        let out = dir.path().join("received.jsonl");
        let (global_tls, driver) = match tls {
            None => (String::new(), String::new()),
            Some(c) => (
                format!(
                    "global(DefaultNetstreamDriver=\"gtls\" DefaultNetstreamDriverCAFile=\"{}\" \
                     DefaultNetstreamDriverCertFile=\"{}\" DefaultNetstreamDriverKeyFile=\"{}\")\n",
                    c.ca_cert.display(),
                    c.cert.display(),
                    c.key.display()
                ),
                " StreamDriver.Name=\"gtls\" StreamDriver.Mode=\"1\" StreamDriver.AuthMode=\"anon\""
                    .to_owned(),
            ),
        };
        let conf = format!(
            r#"global(workDirectory="{work}" maxMessageSize="64k")
{global_tls}module(load="imtcp"{driver})
template(name="fields" type="list" option.jsonf="on") {{
  property(outname="pri" name="pri" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="app" name="app-name" format="jsonf")
  property(outname="sd" name="structured-data" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
}}
ruleset(name="sink") {{
  action(type="omfile" file="{out}" template="fields")
}}
input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="sink")
"#,
            work = work.display(),
            out = out.display(),
        );
        let conf_path = dir.path().join("rsyslog.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let log = std::fs::File::create(dir.path().join("rsyslogd.stderr")).unwrap();
        let child = std::process::Command::new("rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(&conf_path)
            .arg("-i")
            .arg(dir.path().join("rsyslogd.pid"))
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("run rsyslogd (Debian packages rsyslog and rsyslog-gnutls)");
        let r = Rsyslog {
            child,
            port,
            out,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "rsyslogd does not listen on {port}: {}",
                std::fs::read_to_string(r.dir.path().join("rsyslogd.stderr")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        r
    }

    /// What rsyslogd wrote, once it holds at least `n` messages (30 s at most).
    fn messages(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = std::fs::read_to_string(&self.out).unwrap_or_default();
            // Complete lines only: rsyslogd may be in the middle of writing the last one.
            let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
            let lines: Vec<Value> = complete
                .lines()
                .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
                .collect();
            if lines.len() >= n || Instant::now() > deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Rsyslog {
    /// SIGTERM (rsyslogd writes what it has received, then exits) and wait.
    fn stop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run a server with a syslog sink to `rsyslog` and check that rsyslogd received every
/// event, in order, as RFC 5424 with seq and hash in the structured data and the event
/// exactly as `audit export` writes it as MSG.
fn syslog_receives_every_event(rsyslog: &Rsyslog, spec: &str) {
    let server = Server::start_with(&["--audit-sink", spec]);
    server.login();
    server.seed_audit(700);
    server.login();
    let last = caught_up(&server);
    let report = server.tmp().join("all.json");
    assert_success(&run(server
        .imadm()
        .args(["-o", "json", "audit", "export", "--out"])
        .arg(&report)));
    let report: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let exported = report["events"].as_array().unwrap();
    let got = rsyslog.messages(last as usize);
    let mut seqs = Vec::new();
    for m in &got {
        let event: Value = serde_json::from_str(m["msg"].as_str().unwrap().trim_start())
            .unwrap_or_else(|e| panic!("MSG is not the event JSON ({e}): {m}"));
        let seq = event["seq"].as_u64().unwrap();
        assert_eq!(m["msgid"], event["action"], "{m}");
        assert_eq!(m["app"], "imadm");
        assert_eq!(
            m["sd"]
                .as_str()
                .unwrap()
                .split(" server_id=")
                .next()
                .unwrap(),
            format!(
                "[imadm@32473 seq=\"{seq}\" hash=\"{}\"",
                event["hash"].as_str().unwrap()
            )
        );
        // Facility 13 (log audit): PRI 104 + severity.
        let pri: u64 = m["pri"].as_str().unwrap().parse().unwrap();
        assert!((108..=110).contains(&pri), "{m}");
        if (seq as usize) <= exported.len() {
            assert_eq!(event, exported[seq as usize - 1]);
        }
        // At least once: a repeated message is one already seen (by seq).
        if seqs.last().is_none_or(|l| seq > *l) {
            seqs.push(seq);
        }
    }
    // Every event up to where the sink had caught up, and more may follow (the export's).
    assert!(seqs.len() as u64 >= last, "{} of {last} events", seqs.len());
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
}

#[test]
fn syslog_tcp_sink_delivers_every_event_to_rsyslogd() {
    let rsyslog = Rsyslog::start(None);
    syslog_receives_every_event(
        &rsyslog,
        &format!("syslog+tcp://127.0.0.1:{}", rsyslog.port),
    );
}

#[test]
fn syslog_tls_sink_delivers_every_event_to_rsyslogd_over_tls() {
    let certs_dir = tempfile::tempdir().unwrap();
    let certs = imadm_server::tls::ensure_dev_certs(certs_dir.path()).unwrap();
    let rsyslog = Rsyslog::start(Some(&certs));
    syslog_receives_every_event(
        &rsyslog,
        &format!(
            "syslog+tls://127.0.0.1:{}?ca={}",
            rsyslog.port,
            certs.ca_cert.display()
        ),
    );
}

/// `imadm audit sinks -o json` once its first sink is in `state` (30 s at most).
fn wait_state(server: &Server, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = run(server.imadm().args(["-o", "json", "audit", "sinks"]));
        assert_success(&out);
        let s = json_stdout(&out)[0].clone();
        if s["state"] == state {
            return s;
        }
        assert!(Instant::now() < deadline, "never {state}: {s}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn alert_rules(server: &Server) -> Vec<(String, String)> {
    let out = run(server.imadm().args(["-o", "json", "audit", "alerts"]));
    assert_success(&out);
    json_stdout(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["rule"].as_str().unwrap().to_owned(),
                a["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A required sink whose receiver is down past the bound: changes exit 3 naming the sink,
/// reads and logins go on, the high alert is raised; once the receiver is back and the
/// sink has caught up, changes work again.
#[test]
fn a_required_sink_beyond_its_bound_refuses_changes_until_it_catches_up() {
    let receiver = Receiver::start(true);
    let secret = webhook_secret();
    let server = Server::start_with_env(
        &[
            "--audit-sink",
            &receiver.spec("&required=true&max_lag=20&retry_max=1s&name=siem"),
        ],
        &[("E2E_SINK_SECRET", &secret)],
    );
    server.login();
    crate::users::create_user(&server, "before", &[]);
    server.seed_audit(50);
    let s = wait_state(&server, "blocking");
    assert!(s["lag_events"].as_u64().unwrap() > 20, "{s}");
    assert_eq!(s["required"], true);

    let out = run(server
        .imadm()
        .args(["user", "create", "during", "--password-stdin"])
        .write_stdin("pw-for-tests\n"));
    assert_error(&out, 3, "the required audit sink siem is");
    assert!(
        stderr(&out).contains("imadm audit sinks"),
        "{}",
        describe(&out)
    );
    // Reads and logins still work; the refusal itself is in the log.
    assert_success(&run(server.imadm().args(["user", "list", "-o", "json"])));
    server.login();
    assert!(
        alert_rules(&server).contains(&("audit_sink_lagging".into(), "high".into())),
        "{:?}",
        alert_rules(&server)
    );
    let refused = server.sql(
        "SELECT outcome, detail FROM audit_log WHERE action = 'user.create' \
         ORDER BY seq DESC LIMIT 1",
    );
    assert!(refused.starts_with("failure|"), "{refused}");

    receiver.failing.store(false, Ordering::SeqCst);
    wait_state(&server, "ok");
    crate::users::create_user(&server, "after", &[]);
}

/// A bad SPEC stops the server before it serves (exit 2), naming the option and what is
/// wrong, never repeating the SPEC (a password typed into it stays off the terminal);
/// an https sink whose secret variable is unset does not start either.
#[test]
fn bad_sink_specs_are_refused_at_start_without_echoing_them() {
    let dir = tempfile::tempdir().unwrap();
    let (config, data) = (dir.path().join("config"), dir.path().join("data"));
    for (spec, says) in [
        (
            "https://ops:hunter2@siem.example/in?secret_env=S",
            "no credentials in a sink URL",
        ),
        (
            "file:/var/log/x.jsonl?max_bytes=1MiB,ftp://ops:hunter2@x",
            "SPEC 2): scheme \"ftp\" is not a sink",
        ),
        ("file:/x?hunter2", "an option has no value"),
    ] {
        let out = run(dev_server_cmd(&config, &data).args(["--audit-sink", spec]));
        assert_error(&out, 2, says);
        assert!(stderr(&out).contains("--audit-sink"), "{}", describe(&out));
        assert!(!stderr(&out).contains("hunter2"), "{}", describe(&out));
    }
    // Through the environment too.
    let out =
        run(dev_server_cmd(&config, &data).env("IMADM_AUDIT_SINK", "syslog+tcp://a:hunter2@h"));
    assert_error(&out, 2, "no credentials");
    assert!(!stderr(&out).contains("hunter2"), "{}", describe(&out));

    let out = run(dev_server_cmd(&config, &data)
        .args([
            "--audit-sink",
            "https://127.0.0.1:9/in?secret_env=E2E_UNSET_SECRET",
        ])
        .env_remove("E2E_UNSET_SECRET"));
    assert_error(&out, 2, "environment variable E2E_UNSET_SECRET is not set");
}

/// A security alert (failed logins) reaches an HTTPS sink's receiver within 5 s; the
/// figure measured is printed.
#[test]
fn a_new_alert_reaches_the_https_receiver_within_seconds() {
    let receiver = Receiver::start(false);
    let secret = webhook_secret();
    let server = Server::start_with_env(
        &["--audit-sink", &receiver.spec("")],
        &[("E2E_SINK_SECRET", &secret)],
    );
    server.login();
    caught_up(&server);
    let mut raised = None;
    // Five addresses, so the address throttle does not answer first.
    for i in 0..5 {
        let api = Api::bound_to(&server, std::net::IpAddr::from([127, 0, 0, 20 + i]));
        let (status, _) = api.call(
            "POST",
            "/admin/auth/login",
            None,
            None,
            Some(&serde_json::json!({"username": "admin", "password": "wrong-password-1"})),
        );
        assert_eq!(status, 401);
        raised = Some(Instant::now());
    }
    let raised = raised.unwrap();
    let deadline = raised + Duration::from_secs(5);
    let alert = loop {
        let found = receiver.received().into_iter().find_map(|r| {
            r.body["events"].as_array().and_then(|evs| {
                evs.iter()
                    .find(|e| e["action"] == "alert.raised")
                    .map(|e| e["detail"].as_str().unwrap().to_owned())
            })
        });
        if let Some(a) = found {
            break a;
        }
        assert!(
            Instant::now() < deadline,
            "no alert at the receiver within 5 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    eprintln!(
        "alert at the HTTPS receiver {} ms after the 5th failed login: {alert}",
        raised.elapsed().as_millis()
    );
    assert!(alert.starts_with("login_failures (medium)"), "{alert}");
}

/// The seqs of the events the rsyslogd instances wrote, sorted, without repeats, once
/// there are at least `n` (30 s at most).
fn syslog_seqs(receivers: &[&Rsyslog], n: usize) -> Vec<u64> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut seqs: Vec<u64> = receivers
            .iter()
            .flat_map(|r| r.messages(0))
            .map(|m| {
                let e: Value =
                    serde_json::from_str(m["msg"].as_str().unwrap().trim_start()).unwrap();
                e["seq"].as_u64().unwrap()
            })
            .collect();
        seqs.sort();
        seqs.dedup();
        if seqs.len() >= n {
            return seqs;
        }
        assert!(Instant::now() < deadline, "{} of {n} events", seqs.len());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The syslog receiver is down when the server starts, then restarted while events keep
/// coming: the sink waits, retries and sends everything, in order, once it is back.
#[test]
fn syslog_sink_delivers_everything_across_receiver_outages() {
    let port = free_port();
    let server = Server::start_with(&[
        "--audit-sink",
        &format!("syslog+tcp://127.0.0.1:{port}?retry_max=1s"),
    ]);
    server.login();
    let s = wait_failing(&server);
    assert!(s["last_error"].as_str().unwrap().contains("connect"), "{s}");
    let mut first = Rsyslog::start_on(None, port);
    let last = caught_up(&server);
    let _ = first.messages(last as usize);
    first.stop();
    // Down again: events meanwhile wait for the next receiver.
    server.seed_audit(300);
    server.login();
    wait_failing(&server);
    let second = Rsyslog::start_on(None, port);
    let last = caught_up(&server);
    let seqs = syslog_seqs(&[&first, &second], last as usize);
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
}

/// `imadm audit sinks -o json` once the first sink has failed since its last success.
fn wait_failing(server: &Server) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = run(server.imadm().args(["-o", "json", "audit", "sinks"]));
        assert_success(&out);
        let s = json_stdout(&out)[0].clone();
        if s["failures"].as_u64().unwrap() > 0 {
            return s;
        }
        assert!(Instant::now() < deadline, "the sink never failed: {s}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
