//! The syslog sink: each event as one RFC 5424 message over TCP or TLS (RFC 5425), framed
//! by octet counting (RFC 6587 §3.4.1):
//!
//! ```text
//! 412 <109>1 2026-11-26T19:55:00.123Z host imadm 4711 auth.login [imadm@32473 seq="57" hash="3f0c…" server_id="…"] {"seq":57,…,"hash":"3f0c…"}
//! ```
//!
//! PRI is the configured facility (default 13, "log audit") and a severity from the
//! event: 4 (warning) for `alert.raised`, 5 (notice) for a `failure` or `denied` outcome,
//! 6 (informational) otherwise. TIMESTAMP is the event's `at`; MSGID its action; the
//! structured data carries seq, chain value and server id; MSG is the event exactly as
//! `audit export` writes it (no BOM).
//!
//! Syslog has no acknowledgement of its own, so a batch counts as delivered once the
//! receiving host's TCP stack has acknowledged every byte of it (the socket's unacknowledged
//! send queue, `SIOCOUTQ`, is empty) and no error is pending on the connection. A receiver
//! that crashes with messages it has received but not yet written can still lose them.

use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use imadm_api::audit::AuditEvent;
use rustls::pki_types::ServerName;

use super::{Batch, Sign, Transport};

/// SD-ID of the structured data. 32473 is the enterprise number RFC 5612 reserves for
/// documentation: imadm has no IANA number of its own.
pub const SD_ID: &str = "imadm@32473";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the receiver may take to acknowledge a batch.
const ACK_TIMEOUT: Duration = Duration::from_secs(15);

pub struct Syslog {
    host: String,
    port: u16,
    tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
    facility: u8,
    hostname: String,
    conn: Option<Conn>,
}

enum Conn {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Conn {
    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => s.get_ref(),
        }
    }
    fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.write_all(bytes).and_then(|()| s.flush()),
            Conn::Tls(s) => s.write_all(bytes).and_then(|()| s.flush()),
        }
    }
}

impl Syslog {
    /// `ca`: the PEM file of the CA to trust over TLS (the system's roots when `None`).
    pub fn new(
        host: &str,
        port: u16,
        tls: bool,
        ca: Option<&std::path::Path>,
        facility: u8,
    ) -> Result<Syslog, String> {
        let tls = if tls {
            let config = rustls::ClientConfig::builder()
                .with_root_certificates(roots(ca)?)
                .with_no_client_auth();
            let name = ServerName::try_from(host.to_owned())
                .map_err(|e| format!("{host} is not a TLS server name: {e}"))?;
            Some((Arc::new(config), name))
        } else {
            None
        };
        Ok(Syslog {
            host: host.to_owned(),
            port,
            tls,
            facility,
            hostname: hostname(),
            conn: None,
        })
    }

    fn connect(&self) -> Result<Conn, String> {
        let addrs: Vec<_> = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {}: {e}", self.host))?
            .collect();
        let mut last = format!("{} has no address", self.host);
        for a in addrs {
            match TcpStream::connect_timeout(&a, CONNECT_TIMEOUT) {
                Ok(s) => {
                    s.set_nodelay(true).ok();
                    s.set_write_timeout(Some(ACK_TIMEOUT)).ok();
                    s.set_read_timeout(Some(ACK_TIMEOUT)).ok();
                    return match &self.tls {
                        None => Ok(Conn::Plain(s)),
                        Some((config, name)) => {
                            let mut c = rustls::ClientConnection::new(config.clone(), name.clone())
                                .map_err(|e| format!("TLS: {e}"))?;
                            let mut s = s;
                            // Finish the handshake now, so a certificate problem is
                            // reported as such and not as a failed write.
                            while c.is_handshaking() {
                                c.complete_io(&mut s)
                                    .map_err(|e| format!("TLS handshake with {a}: {e}"))?;
                            }
                            Ok(Conn::Tls(Box::new(rustls::StreamOwned::new(c, s))))
                        }
                    };
                }
                Err(e) => last = format!("cannot connect to {a}: {e}"),
            }
        }
        Err(last)
    }
}

impl Transport for Syslog {
    fn deliver(&mut self, batch: &Batch, sign: &dyn Sign) -> Result<(), String> {
        let mut buf = Vec::with_capacity(batch.events.len() * 600);
        let mut line = Vec::with_capacity(1024);
        for e in &batch.events {
            line.clear();
            serde_json::to_writer(&mut line, e).map_err(|e| e.to_string())?;
            frame(
                &mut buf,
                e,
                &line,
                self.facility,
                &self.hostname,
                sign.server_id(),
            );
        }
        // A receiver that closed the connection meanwhile (restarted, idle timeout) would
        // answer the batch with a reset: start on a new connection instead.
        if self.conn.as_ref().is_some_and(|c| peer_closed(c.tcp())) {
            self.conn = None;
        }
        if self.conn.is_none() {
            self.conn = Some(self.connect()?);
        }
        let conn = self.conn.as_mut().expect("connected above");
        let sent = conn
            .send(&buf)
            .map_err(|e| format!("sending to {}:{}: {e}", self.host, self.port))
            .and_then(|()| acknowledged(conn.tcp()));
        if sent.is_err() {
            // Start afresh: the batch is sent again on a new connection.
            self.conn = None;
        }
        sent
    }
}

/// Append one octet-counted RFC 5424 message for `e` (`line`: its export line).
pub fn frame(
    out: &mut Vec<u8>,
    e: &AuditEvent,
    line: &[u8],
    facility: u8,
    hostname: &str,
    server_id: &str,
) {
    let severity = match (e.action.as_str(), e.outcome.as_str()) {
        ("alert.raised", _) => 4,
        (_, "failure" | "denied") => 5,
        _ => 6,
    };
    let msgid: String = printable(&e.action, 32);
    let mut msg = format!(
        "<{}>1 {} {hostname} imadm {} {} [{SD_ID} seq=\"{}\" hash=\"{}\" server_id=\"{}\"] ",
        u16::from(facility) * 8 + severity,
        e.at,
        std::process::id(),
        if msgid.is_empty() { "-" } else { &msgid },
        e.seq,
        sd_escape(&e.hash),
        sd_escape(server_id),
    )
    .into_bytes();
    msg.extend_from_slice(line);
    out.extend_from_slice(msg.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(&msg);
}

/// PRINTUSASCII (33-126) only, at most `max` characters: what HOSTNAME and MSGID allow.
fn printable(s: &str, max: usize) -> String {
    s.chars()
        .filter(|c| ('!'..='~').contains(c))
        .take(max)
        .collect()
}

/// PARAM-VALUE escaping (RFC 5424 §6.3.3): `"`, `\` and `]` get a backslash.
fn sd_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn hostname() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let name = printable(name.trim(), 255);
    if name.is_empty() { "-".into() } else { name }
}

fn roots(ca: Option<&std::path::Path>) -> Result<rustls::RootCertStore, String> {
    let roots = crate::tls::client_roots(ca, "CA file")?;
    if ca.is_none() && roots.is_empty() {
        return Err("the system has no CA certificates: pass ca=FILE".into());
    }
    Ok(roots)
}

/// Whether the peer has closed its end: a syslog receiver sends nothing, so readable
/// end-of-stream is all there can be to read.
fn peer_closed(s: &TcpStream) -> bool {
    if s.set_nonblocking(true).is_err() {
        return true;
    }
    let closed = matches!(s.peek(&mut [0u8; 1]), Ok(0));
    s.set_nonblocking(false).is_err() || closed
}

/// Wait until the peer's TCP stack has acknowledged every byte sent on `s`.
fn acknowledged(s: &TcpStream) -> Result<(), String> {
    let deadline = Instant::now() + ACK_TIMEOUT;
    loop {
        // The queue first, then the error: a reset empties the queue and sets the error,
        // so an empty queue read before the error check cannot hide a reset.
        let queued = unacknowledged(s);
        if let Ok(Some(e)) = s.take_error() {
            return Err(format!("the connection failed: {e}"));
        }
        match queued {
            Some(0) | None => return Ok(()),
            Some(_) if Instant::now() >= deadline => {
                return Err(format!(
                    "the receiver did not acknowledge the batch within {} s",
                    ACK_TIMEOUT.as_secs()
                ));
            }
            Some(_) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

/// Bytes sent on `s` that the peer has not acknowledged (`SIOCOUTQ`); `None` where the
/// kernel does not say (then a flushed write is all there is).
#[cfg(target_os = "linux")]
fn unacknowledged(s: &TcpStream) -> Option<u32> {
    use std::os::fd::AsRawFd;
    let mut n: libc::c_int = 0;
    // SAFETY: TIOCOUTQ (SIOCOUTQ) writes one int through the pointer, which outlives the
    // call; the descriptor is a live TCP socket owned by `s`.
    let r = unsafe { libc::ioctl(s.as_raw_fd(), libc::TIOCOUTQ, &mut n) };
    (r == 0).then_some(n.max(0) as u32)
}

#[cfg(not(target_os = "linux"))]
fn unacknowledged(_: &TcpStream) -> Option<u32> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_rfc5424_octet_counted_with_the_export_line_as_msg() {
        let mut e = crate::sinks::tests::chain(3).remove(2);
        e.outcome = "denied".into();
        let line = serde_json::to_vec(&e).unwrap();
        let mut out = Vec::new();
        frame(&mut out, &e, &line, 13, "h1", "srv\"]x");
        let text = String::from_utf8(out).unwrap();
        let (len, msg) = text.split_once(' ').unwrap();
        assert_eq!(len.parse::<usize>().unwrap(), msg.len());
        let pid = std::process::id();
        assert_eq!(
            msg,
            format!(
                "<109>1 {} h1 imadm {pid} {} [imadm@32473 seq=\"3\" hash=\"{}\" server_id=\"srv\\\"\\]x\"] {}",
                e.at,
                e.action,
                e.hash,
                String::from_utf8(line).unwrap()
            )
        );
        // An alert is a warning; a success informational; local0 is facility 16.
        let mut a = e.clone();
        a.action = "alert.raised".into();
        let mut out = Vec::new();
        frame(&mut out, &a, b"{}", 16, "h", "s");
        assert!(String::from_utf8(out).unwrap().contains(" <132>1 "));
        a.action = "user.create".into();
        a.outcome = "success".into();
        let mut out = Vec::new();
        frame(&mut out, &a, b"{}", 13, "h", "s");
        assert!(String::from_utf8(out).unwrap().contains(" <110>1 "));
        assert_eq!(printable("a b\u{e9}c", 32), "abc");
    }
}
