//! Client addresses behind a load balancer (`--trusted-proxy`), with a real HAProxy
//! (Debian's `haproxy`) on 127.0.0.1 in front of the dev server. Clients bind other
//! loopback addresses (127.0.0.x are all local on Linux), so each has an address of its
//! own while HAProxy's connections to the server come from 127.0.0.1:
//!
//! - `mode tcp` with `send-proxy-v2` / `send-proxy` (TLS passed through): the audit log and
//!   login throttling and the `token_new_address` alert see each client's own address;
//! - `mode http` re-encrypting to the server with `option forwardfor`: the same through
//!   `X-Forwarded-For`, and a client's own `X-Forwarded-For` does not pick its address;
//! - a PROXY header from an address that is not trusted (or to a server without
//!   `--trusted-proxy`) closes the connection; `X-Forwarded-For` from one is ignored;
//! - a trusted peer that never finishes its header is cut off.

use std::io::{Read, Write};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::*;
use crate::rbac::Api;

fn loopback(octet: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, octet])
}

/// HAProxy in `mode tcp` in front of `server` (TLS passes through), with `options` on
/// its server line, e.g. `send-proxy-v2`.
fn tcp_to(server: &Server, options: &str) -> HaproxyListen {
    HaproxyListen {
        bind_options: String::new(),
        lines: vec![
            "mode tcp".into(),
            format!("server imadm {} {options}", server.host_port()),
        ],
    }
}

/// HAProxy in `mode http`: TLS with the dev certificate towards clients, and again
/// towards `server`, whose certificate it verifies against the dev CA; it appends the
/// client's address to `X-Forwarded-For`.
fn http_to(server: &Server) -> HaproxyListen {
    HaproxyListen {
        bind_options: format!("ssl crt {}", Haproxy::dev_cert_file(server).display()),
        lines: vec![
            "mode http".into(),
            "option forwardfor".into(),
            format!(
                "server imadm {} ssl verify required ca-file {} sni str(localhost) \
                 verifyhost localhost",
                server.host_port(),
                server.info.ca_cert.display()
            ),
        ],
    }
}

/// A password login with a wrong password: (HTTP status, envelope code).
fn failed_login(api: &Api, username: &str) -> (u16, i64) {
    let (status, env) = api.call(
        "POST",
        "/admin/auth/login",
        None,
        None,
        Some(&json!({"username": username, "password": "wrong-password-1"})),
    );
    (status, env["code"].as_i64().unwrap_or_default())
}

/// How many `auth.login` events the audit log holds from `source`.
fn logins_from(server: &Server, source: &str) -> usize {
    server
        .sql(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'auth.login' AND source = '{source}'"
        ))
        .trim()
        .parse()
        .unwrap()
}

/// The sources of every event of the audit log, as `audit export` writes them.
fn exported_sources(server: &Server) -> Vec<(String, String, String)> {
    server.login();
    let report = server.tmp().join("audit.json");
    assert_success(&run(server
        .imadm()
        .args(["-o", "json", "audit", "export", "--out"])
        .arg(&report)));
    let report: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    report["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (s("action"), s("outcome"), s("source"))
        })
        .collect()
}

#[test]
fn proxy_protocol_through_haproxy_gives_each_client_its_own_address() {
    let server = Server::start_with(&["--trusted-proxy", "127.0.0.1"]);
    let haproxy = Haproxy::start(&[
        tcp_to(&server, "send-proxy-v2"),
        tcp_to(&server, "send-proxy"),
    ]);
    let v2 = |octet| Api::via(&server, &haproxy.url(0), loopback(octet), &[]);
    let v1 = |octet| Api::via(&server, &haproxy.url(1), loopback(octet), &[]);

    // Ten failures from 127.0.0.7, each on another name: then that address is refused...
    let flood = v2(7);
    for i in 0..10 {
        assert_eq!(failed_login(&flood, &format!("guess-{i}")), (401, 50001));
    }
    assert_eq!(failed_login(&flood, "guess-10"), (429, 50005));
    // ...while another client behind the same HAProxy is not (before this, every client
    // was 127.0.0.1 and shared one bucket).
    assert_eq!(failed_login(&v2(8), "guess-0"), (401, 50001));
    // PROXY protocol v1 (`send-proxy`) too.
    assert_eq!(failed_login(&v1(9), "guess-0"), (401, 50001));

    let events = exported_sources(&server);
    let failures = |source: &str| {
        events
            .iter()
            .filter(|(a, o, s)| a == "auth.login" && o != "success" && s == source)
            .count()
    };
    assert_eq!(failures("127.0.0.7"), 11, "{events:?}");
    assert_eq!(failures("127.0.0.8"), 1, "{events:?}");
    assert_eq!(failures("127.0.0.9"), 1, "{events:?}");
    assert_eq!(failures("127.0.0.1"), 0, "{events:?}");
    // The CLI came straight from 127.0.0.1, a trusted address, without a header: that
    // address is its own.
    assert!(
        events
            .iter()
            .any(|(a, o, s)| a == "auth.login" && o == "success" && s == "127.0.0.1"),
        "{events:?}"
    );
}

#[test]
fn a_token_used_from_a_new_client_address_behind_haproxy_raises_token_new_address() {
    let server = Server::start_with(&["--trusted-proxy", "127.0.0.1"]);
    let haproxy = Haproxy::start(&[tcp_to(&server, "send-proxy-v2")]);
    let api = Api::new(&server);
    let mut last = None;
    let token = api.login_admin(&server, &mut last);
    let (svc, _) = crate::audit::service_token(&api, &server, &token, &mut last);
    let export = |octet| {
        let through = Api::via(&server, &haproxy.url(0), loopback(octet), &[]);
        let (st, env) = through.call(
            "POST",
            "/admin/audit/export",
            Some(&svc),
            None,
            Some(&json!({})),
        );
        assert_eq!(st, 200, "{env}");
    };
    export(7);
    export(7);
    assert!(crate::audit::alerts_of(&server, "token_new_address").is_empty());
    export(8);
    let alerts = crate::audit::alerts_of(&server, "token_new_address");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(
        alerts[0].contains("127.0.0.8") && alerts[0].contains("127.0.0.7"),
        "{alerts:?}"
    );
}

#[test]
fn a_server_without_trusted_proxies_refuses_proxy_headers() {
    let server = Server::start();
    let haproxy = Haproxy::start(&[tcp_to(&server, "send-proxy-v2")]);
    let through = Api::via(&server, &haproxy.url(0), loopback(7), &[]);
    let refused = through.try_call("GET", "/admin/instance", None, None, None);
    assert!(refused.is_err(), "{refused:?}");
    let log = server.server_stderr();
    assert!(
        log.contains("refused a PROXY protocol header from 127.0.0.1"),
        "{log}"
    );
    // The same client straight to the server is served, under its own address.
    assert_eq!(
        failed_login(&Api::bound_to(&server, loopback(7)), "guess"),
        (401, 50001)
    );
    assert_eq!(logins_from(&server, "127.0.0.7"), 1);
}

#[test]
fn proxy_headers_and_forwarded_for_from_untrusted_addresses_change_nothing() {
    let server = Server::start_with(&["--trusted-proxy", "127.0.0.1"]);
    // A PROXY header naming 127.0.0.7, sent from 127.0.0.9, which is no trusted proxy.
    let haproxy = Haproxy::start(&[tcp_to(&server, "send-proxy-v2 source 127.0.0.9")]);
    let through = Api::via(&server, &haproxy.url(0), loopback(7), &[]);
    let refused = through.try_call(
        "POST",
        "/admin/auth/login",
        None,
        None,
        Some(&json!({"username": "guess", "password": "wrong-password-1"})),
    );
    assert!(refused.is_err(), "{refused:?}");
    let log = server.server_stderr();
    assert!(
        log.contains("refused a PROXY protocol header from 127.0.0.9"),
        "{log}"
    );

    // X-Forwarded-For from 127.0.0.9 straight to the server: its own address counts.
    let forged = Api::via(
        &server,
        &server.info.server,
        loopback(9),
        &[("x-forwarded-for", "203.0.113.66")],
    );
    assert_eq!(failed_login(&forged, "guess"), (401, 50001));
    assert_eq!(logins_from(&server, "127.0.0.9"), 1);
    assert_eq!(logins_from(&server, "127.0.0.7"), 0);
    assert_eq!(logins_from(&server, "203.0.113.66"), 0);
}

#[test]
fn forwarded_for_through_haproxy_in_http_mode_gives_each_client_its_own_address() {
    let server = Server::start_with(&["--trusted-proxy", "127.0.0.1"]);
    let haproxy = Haproxy::start(&[http_to(&server)]);
    assert_eq!(
        failed_login(
            &Api::via(&server, &haproxy.url(0), loopback(7), &[]),
            "guess"
        ),
        (401, 50001),
        "{}",
        haproxy.stderr()
    );
    // A client's own X-Forwarded-For is left of the entry HAProxy appends: not believed.
    let forging = Api::via(
        &server,
        &haproxy.url(0),
        loopback(8),
        &[("x-forwarded-for", "203.0.113.66")],
    );
    assert_eq!(failed_login(&forging, "guess"), (401, 50001));
    assert_eq!(logins_from(&server, "127.0.0.7"), 1);
    assert_eq!(logins_from(&server, "127.0.0.8"), 1);
    assert_eq!(logins_from(&server, "203.0.113.66"), 0);
    assert_eq!(logins_from(&server, "127.0.0.1"), 0);
}

#[test]
fn a_proxy_header_that_never_ends_is_cut_off() {
    let server = Server::start_with(&["--trusted-proxy", "127.0.0.1"]);
    let mut conn = std::net::TcpStream::connect(server.host_port()).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let start = Instant::now();
    conn.write_all(b"PROXY TCP4 192.0.2.").unwrap();
    let mut buf = [0u8; 64];
    // The server closes (end of stream, or a reset) without answering.
    let read = conn.read(&mut buf);
    let waited = start.elapsed();
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(
        waited >= Duration::from_secs(4) && waited < Duration::from_secs(9),
        "closed after {waited:?}; the deadline is 5 s"
    );
}
