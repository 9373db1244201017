//! Alert notifications end to end (issue #17 section 2): a receiver started by the test
//! (`notify_receiver.py`: HTTPS on 127.0.0.1, its own certificate trusted through the
//! channel's `ca_file`) checks every signature itself, in Python, as each vendor documents
//! it, answers 500 for a while, then 200. Every alert arrives, in queue order, at least
//! once; retries of one message carry the same `webhook-id`; messages queued while the
//! server is killed are delivered after its restart; `notify test` and `notify status`
//! through the real binary, with their permission denials; and the issue's figure: an
//! alert raised by 5 failed logins reaches the webhook receiver within 5 s.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::*;
use crate::rbac::{Acting, Api};

const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const DINGTALK_SECRET: &str = "SEC0123456789abcdef-dingtalk-test-secret";
const FEISHU_SECRET: &str = "feishu-test-secret";

/// The Python receiver, killed on drop.
pub(crate) struct Receiver {
    child: Child,
    port: u16,
    log: PathBuf,
    down: PathBuf,
    ca: PathBuf,
    _dir: tempfile::TempDir,
}

impl Receiver {
    pub(crate) fn start(fail_first: u32) -> Receiver {
        let dir = tempfile::tempdir().unwrap();
        let certs = imadm_server::tls::ensure_dev_certs(dir.path()).unwrap();
        let (log, port_file, down) = (
            dir.path().join("log.jsonl"),
            dir.path().join("port"),
            dir.path().join("down"),
        );
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/notify_receiver.py");
        let child = Command::new("python3")
            .arg(script)
            .env("CERT", &certs.cert)
            .env("KEY", &certs.key)
            .env("LOG", &log)
            .env("PORT_FILE", &port_file)
            .env("DOWN", &down)
            .env("FAIL_FIRST", fail_first.to_string())
            .env("WEBHOOK_SECRET", WEBHOOK_SECRET)
            .env("DINGTALK_SECRET", DINGTALK_SECRET)
            .env("FEISHU_SECRET", FEISHU_SECRET)
            .spawn()
            .expect("python3");
        let deadline = Instant::now() + Duration::from_secs(20);
        let port = loop {
            if let Ok(p) = std::fs::read_to_string(&port_file) {
                break p.trim().parse().unwrap();
            }
            assert!(Instant::now() < deadline, "the receiver did not start");
            std::thread::sleep(Duration::from_millis(50));
        };
        Receiver {
            child,
            port,
            log,
            down,
            ca: certs.ca_cert,
            _dir: dir,
        }
    }

    pub(crate) fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Wait until `done` holds for the requests so far; they are returned.
    pub(crate) fn wait_for(&self, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let r = self.requests();
            if done(&r) {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {r:#?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A 0600 config with a webhook (every severity), a DingTalk robot (medium and up,
    /// markdown), a Feishu bot and a Slack webhook (high only) and a WeCom robot (medium
    /// and up, markdown), all at this receiver.
    pub(crate) fn config(&self, dir: &Path) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let (base, ca) = (
            format!("https://127.0.0.1:{}", self.port),
            self.ca.display().to_string(),
        );
        let text = format!(
            r#"retry_min = "200ms"
retry_max = "1s"

[channel.hook]
kind = "webhook"
url = "{base}/webhook"
secret = "{WEBHOOK_SECRET}"
min_severity = "low"
ca_file = "{ca}"

[channel.ding]
kind = "dingtalk"
url = "{base}/dingtalk?access_token=test-token"
secret = "{DINGTALK_SECRET}"
msgtype = "markdown"
ca_file = "{ca}"

[channel.lark]
kind = "feishu"
url = "{base}/feishu"
secret = "{FEISHU_SECRET}"
min_severity = "high"
ca_file = "{ca}"

[channel.chat]
kind = "slack"
url = "{base}/slack"
min_severity = "high"
ca_file = "{ca}"

[channel.qw]
kind = "wecom"
url = "{base}/wecom?key=test-key"
msgtype = "markdown"
ca_file = "{ca}"
"#
        );
        let p = dir.join("notify.toml");
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        p
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `(alert id, state)` a request announces: from the Alertmanager labels of a webhook,
/// from the text ("alert #N", "RESOLVED") of the chat robots.
pub(crate) fn announced(r: &Value) -> (u64, &'static str) {
    let b = &r["body"];
    if r["kind"] == "webhook" {
        let a = &b["alerts"][0];
        let state = if a["status"] == "resolved" {
            "resolved"
        } else {
            "open"
        };
        return (
            a["labels"]["alert_id"].as_str().unwrap().parse().unwrap(),
            state,
        );
    }
    let text = b["markdown"]["text"]
        .as_str()
        .or(b["markdown"]["content"].as_str())
        .or(b["text"].as_str())
        .or(b["content"]["text"].as_str())
        .or(b["text"]["content"].as_str())
        .unwrap_or_else(|| panic!("no text in {r}"));
    let id = text
        .split("alert #")
        .nth(1)
        .unwrap_or_else(|| panic!("{text}"));
    let id: String = id.chars().take_while(char::is_ascii_digit).collect();
    let state = if text.contains("RESOLVED") {
        "resolved"
    } else {
        "open"
    };
    (id.parse().unwrap(), state)
}

/// Per channel kind, what was delivered (answered 200), in arrival order; a message
/// delivered twice (at least once: an answer lost in a crash) counts at its first arrival.
fn delivered(reqs: &[Value]) -> BTreeMap<String, Vec<(u64, String)>> {
    let mut out: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
    for r in reqs.iter().filter(|r| r["answer"] == 200) {
        let (id, st) = announced(r);
        let got = out
            .entry(r["kind"].as_str().unwrap().to_owned())
            .or_default();
        if !got.contains(&(id, st.to_owned())) {
            got.push((id, st.to_owned()));
        }
    }
    out
}

/// What the server queued for `channel`, in queue order.
fn queued(server: &Server, channel: &str) -> Vec<(u64, String)> {
    server
        .sql(&format!(
            "SELECT alert_id || ' ' || state FROM notify_queue WHERE channel = '{channel}' \
             AND alert_id IS NOT NULL ORDER BY id"
        ))
        .lines()
        .map(|l| {
            let (id, st) = l.split_once(' ').unwrap();
            (id.parse().unwrap(), st.to_owned())
        })
        .collect()
}

fn fail_logins(api: &Api, username: &str, n: usize) -> Instant {
    let mut last = Instant::now();
    for _ in 0..n {
        api.call(
            "POST",
            "/admin/auth/login",
            None,
            None,
            Some(&json!({"username": username, "password": "wrong-password-1"})),
        );
        last = Instant::now();
    }
    last
}

#[test]
fn alerts_reach_signed_receivers_in_order_through_failures_and_a_restart() {
    let rx = Receiver::start(3);
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = rx.config(cfg_dir.path());
    let cfg_arg = cfg.to_str().unwrap();
    let server = Server::start_with(&[
        "--notify-config",
        cfg_arg,
        "--seed-operator",
        "victim:support",
        "--seed-operator",
        "sec:admin",
    ]);
    server.login();
    let api = Api::new(&server);

    // Alerts: failed logins (medium; maybe a lockout, medium), an escalation (high),
    // then the escalation resolved by a second operator.
    fail_logins(&api, "victim", 5);
    let out = run(server
        .imadm()
        .args(["operator", "grant", "victim", "admin", "--yes"])
        .args(["--otp", &server.next_code()]));
    assert_success(&out);
    let esc = server
        .sql("SELECT id FROM alerts WHERE rule = 'role_escalation'")
        .trim()
        .to_owned();
    let out = Acting::login(&server, "sec").run(&[
        "audit",
        "alerts",
        "resolve",
        &esc,
        "--note",
        "planned promotion",
    ]);
    assert_success(&out);
    let esc: u64 = esc.parse().unwrap();

    let expect: BTreeMap<&str, Vec<(u64, String)>> = [
        ("webhook", queued(&server, "hook")),
        ("dingtalk", queued(&server, "ding")),
        ("feishu", queued(&server, "lark")),
        ("slack", queued(&server, "chat")),
        ("wecom", queued(&server, "qw")),
    ]
    .into();
    assert!(expect["webhook"].len() >= 3, "{expect:?}");
    assert_eq!(
        expect["feishu"],
        [(esc, "open".to_owned()), (esc, "resolved".to_owned())],
        "only high alerts, and their resolution, go to the feishu channel"
    );
    assert_eq!(expect["slack"], expect["feishu"]);
    assert_eq!(expect["wecom"], expect["dingtalk"]);
    let reqs = rx.wait_for("every queued message delivered", |r| {
        let d = delivered(r);
        expect.iter().all(|(k, want)| d.get(*k) == Some(want))
    });
    // The receiver checked every signature (none refused), the first 3 requests of each
    // kind were answered 500 and retried.
    assert!(reqs.iter().all(|r| r["valid"] == true), "{reqs:#?}");
    for kind in ["webhook", "dingtalk", "feishu", "slack", "wecom"] {
        let n500 = reqs
            .iter()
            .filter(|r| r["kind"] == kind && r["answer"] == 500)
            .count();
        assert_eq!(n500, 3, "{kind}");
    }
    // Retries of one webhook message keep its webhook-id: duplicates are identifiable.
    let first = &reqs.iter().find(|r| r["kind"] == "webhook").unwrap();
    let same: Vec<&Value> = reqs
        .iter()
        .filter(|r| r["kind"] == "webhook" && r["id"] == first["id"])
        .collect();
    assert_eq!(
        same.len(),
        4,
        "3 refused attempts and the delivery: {same:#?}"
    );
    assert_eq!(announced(same[0]), announced(same[3]));

    // notify status: empty queues, a last success, the last error (the 500) kept.
    let out = run(server.imadm().args(["notify", "status", "-o", "json"]));
    assert_success(&out);
    let st = json_stdout(&out);
    let chans = st.as_array().unwrap();
    assert_eq!(chans.len(), 5, "{st:#}");
    for c in chans {
        assert_eq!(c["queued"], 0, "{c}");
        assert!(c["last_success_at"].is_string(), "{c}");
        assert!(
            c["last_error"].as_str().unwrap().contains("HTTP 500"),
            "{c}"
        );
    }

    // The receiver goes down; alerts raised meanwhile stay queued; the server is killed.
    std::fs::write(&rx.down, "").unwrap();
    let down_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    fail_logins(&api, "sec", 5);
    let pending = queued(&server, "hook");
    let new: Vec<(u64, String)> = pending[expect["webhook"].len()..].to_vec();
    assert!(!new.is_empty(), "the failed logins of sec raised an alert");
    rx.wait_for("an attempt while down", |r| {
        r.iter().any(|r| {
            r["answer"] == 500 && r["kind"] == "webhook" && r["t"].as_f64() > Some(down_at)
        })
    });
    let mut server = server;
    server.kill();
    std::fs::remove_file(&rx.down).unwrap();
    let server = server.restart_with(&["--notify-config", cfg_arg]);
    let reqs = rx.wait_for("the queued alerts after the restart", |r| {
        delivered(r).get("webhook") == Some(&pending)
    });
    assert!(reqs.iter().all(|r| r["valid"] == true));
    // The server records the delivery once the receiver's answer is in.
    let deadline = Instant::now() + Duration::from_secs(10);
    while server
        .sql("SELECT count(*) FROM notify_queue WHERE delivered_ms IS NULL AND channel = 'hook'")
        .trim()
        != "0"
    {
        assert!(Instant::now() < deadline, "the queue was not emptied");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn notify_test_and_status_through_the_cli_with_denials() {
    let rx = Receiver::start(0);
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = rx.config(cfg_dir.path());
    let server = Server::start_with(&[
        "--notify-config",
        cfg.to_str().unwrap(),
        "--seed-operator",
        "aud:auditor",
        "--seed-operator",
        "sup:support",
    ]);
    server.login();
    let out = run(server
        .imadm()
        .args(["notify", "test", "hook", "-o", "json"]));
    assert_success(&out);
    let v = json_stdout(&out);
    assert_eq!(
        (v["delivered"].as_bool(), v["channel"].as_str()),
        (Some(true), Some("hook"))
    );
    let reqs = rx.wait_for("the test message", |r| !r.is_empty());
    assert_eq!(reqs[0]["valid"], true);
    assert_eq!(
        reqs[0]["body"]["alerts"][0]["labels"]["alertname"],
        "imadm_notify_test"
    );
    let out = run(server.imadm().args(["notify", "test", "nope"]));
    assert_error(&out, 6, "no notification channel");
    assert_eq!(
        server.sql("SELECT count(*) FROM audit_log WHERE action = 'notify.test' AND outcome = 'success'").trim(),
        "1"
    );

    // auditor: reads the status (security:read), cannot send a test (security:manage).
    let aud = Acting::login(&server, "aud");
    assert_success(&aud.run(&["notify", "status"]));
    assert_error(&aud.run(&["notify", "test", "hook"]), 5, "security:manage");
    let sup = Acting::login(&server, "sup");
    assert_error(&sup.run(&["notify", "status"]), 5, "security:read");
    assert_error(&sup.run(&["notify", "test", "hook"]), 5, "security:manage");
    assert_eq!(
        server
            .sql(
                "SELECT count(*) FROM audit_log WHERE action = 'notify.test' AND outcome = 'denied'"
            )
            .trim(),
        "2"
    );
}

/// The issue's done-means figure: from the response to the 5th failed login to the
/// webhook receiver's arrival time.
#[test]
fn a_login_failures_alert_reaches_the_webhook_within_5_seconds() {
    let rx = Receiver::start(0);
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = rx.config(cfg_dir.path());
    let server = Server::start_with(&[
        "--notify-config",
        cfg.to_str().unwrap(),
        "--seed-operator",
        "victim:support",
    ]);
    let api = Api::new(&server);
    let _ = fail_logins(&api, "victim", 4);
    fail_logins(&api, "victim", 1);
    let fifth = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let reqs = rx.wait_for("the login_failures alert", |r| {
        r.iter().any(|r| {
            r["kind"] == "webhook"
                && r["body"]["alerts"][0]["labels"]["alertname"] == "login_failures"
        })
    });
    let arrived = reqs
        .iter()
        .find(|r| {
            r["kind"] == "webhook"
                && r["body"]["alerts"][0]["labels"]["alertname"] == "login_failures"
        })
        .unwrap()["t"]
        .as_f64()
        .unwrap();
    let latency = arrived - fifth;
    eprintln!("login_failures alert reached the webhook {latency:.3} s after the 5th failed login");
    assert!(latency < 5.0, "{latency:.3} s");
}

/// Write `text` to `p` with `mode`.
fn write_mode(p: &Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(p, text).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn status(server: &Server) -> (Vec<Value>, String) {
    let out = run(server.imadm().args(["notify", "status", "-o", "json"]));
    assert_success(&out);
    (json_stdout(&out).as_array().unwrap().clone(), stderr(&out))
}

/// A channel failing longer than `failing_after` raises `notify_channel_failing` (high),
/// delivered on the other channels; SIGHUP reloads the config, and a bad file is refused
/// with the previous config kept and the reason shown by `notify status`.
#[test]
fn a_failing_channel_alerts_the_others_and_sighup_reloads() {
    let rx = Receiver::start(0);
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(rx.config(dir.path())).unwrap();
    let cfg = dir.path().join("notify.toml");
    // A receiver nobody listens on (port 9 of loopback: connection refused).
    let with_dead = format!(
        "failing_after = \"1s\"\n{good}\n[channel.dead]\nkind = \"webhook\"\n\
         url = \"https://127.0.0.1:9/hook?token=SECRET-IN-URL\"\nsecret = \"{WEBHOOK_SECRET}\"\n\
         min_severity = \"low\"\n"
    );
    write_mode(&cfg, &with_dead, 0o600);
    let server = Server::start_with(&[
        "--notify-config",
        cfg.to_str().unwrap(),
        "--seed-operator",
        "victim:support",
    ]);
    server.login();
    fail_logins(&Api::new(&server), "victim", 5);
    let is_failing = |r: &Value| {
        r["kind"] == "webhook"
            && r["body"]["alerts"][0]["labels"]["alertname"] == "notify_channel_failing"
    };
    let reqs = rx.wait_for("notify_channel_failing on the webhook", |r| {
        r.iter().any(is_failing)
    });
    let alert = &reqs.iter().find(|r| is_failing(r)).unwrap()["body"]["alerts"][0];
    assert_eq!(alert["labels"]["severity"], "high");
    let detail = alert["annotations"]["description"].as_str().unwrap();
    assert!(detail.contains("channel dead"), "{detail}");
    assert!(!detail.contains("SECRET-IN-URL"), "{detail}");
    // Raised once for this failing spell, and not queued for the failing channel itself.
    assert_eq!(
        server
            .sql("SELECT count(*) FROM alerts WHERE rule = 'notify_channel_failing'")
            .trim(),
        "1"
    );
    assert_eq!(
        server
            .sql(
                "SELECT count(*) FROM notify_queue q JOIN alerts a ON a.id = q.alert_id \
                 WHERE a.rule = 'notify_channel_failing' AND q.channel = 'dead'"
            )
            .trim(),
        "0"
    );
    let (chans, _) = status(&server);
    let dead = chans.iter().find(|c| c["name"] == "dead").unwrap();
    assert!(dead["failing_since"].is_string(), "{dead}");
    assert!(dead["queued"].as_u64() > Some(0), "{dead}");
    let err = dead["last_error"].as_str().unwrap();
    assert!(
        !err.contains("SECRET-IN-URL") && !err.contains("127.0.0.1:9"),
        "{err}"
    );
    let logs = server.server_stderr();
    assert!(!logs.contains("SECRET-IN-URL"), "the URL reached the log");
    assert!(
        !logs.contains(&WEBHOOK_SECRET[6..]),
        "a secret reached the log"
    );

    // SIGHUP with a file open to others: refused, the previous config stays.
    write_mode(&cfg, &good, 0o644);
    let hup = || {
        let ok = Command::new("kill")
            .args(["-HUP", &server.pid().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    };
    hup();
    let deadline = Instant::now() + Duration::from_secs(10);
    let (chans, err) = loop {
        let (chans, err) = status(&server);
        if err.contains("reload") || Instant::now() > deadline {
            break (chans, err);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(err.contains("chmod 600"), "{err}");
    assert!(
        server
            .server_stderr()
            .contains("the previous one stays in use"),
        "the refused reload is logged"
    );
    assert_eq!(chans.len(), 6, "{chans:?}");
    // Fixed: the reload takes the new file (without the dead channel).
    write_mode(&cfg, &good, 0o600);
    hup();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (chans, err) = status(&server);
        if chans.len() == 5 {
            assert!(!err.contains("reload"), "{err}");
            break;
        }
        assert!(Instant::now() < deadline, "not reloaded: {chans:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A bad config at start is a usage error (exit 2) naming the file and line, before the
/// server listens; a file open to others is refused; neither error shows a secret.
#[test]
fn a_bad_config_at_start_is_a_usage_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("notify.toml");
    let start = || {
        run(
            dev_server_cmd(&dir.path().join("config"), &dir.path().join("data"))
                .arg("--notify-config")
                .arg(&cfg),
        )
    };
    write_mode(
        &cfg,
        "[channel.a]\nkind = \"slack\"\nurl = \"https://hooks.example/SECRET-PATH\"\nmin_severity = \"urgent\"\n",
        0o600,
    );
    let out = start();
    assert_error(&out, 2, "line 4: channel a: min_severity \"urgent\"");
    assert!(!stderr(&out).contains("SECRET-PATH"), "{}", describe(&out));
    write_mode(
        &cfg,
        "[channel.a]\nkind = \"slack\"\nurl = \"https://hooks.example/SECRET-PATH\"\n",
        0o644,
    );
    let out = start();
    assert_error(&out, 2, "chmod 600");
    assert!(!stderr(&out).contains("SECRET-PATH"), "{}", describe(&out));
}
