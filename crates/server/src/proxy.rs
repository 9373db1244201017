//! Client addresses behind load balancers (`--trusted-proxy`): the trusted ranges, the
//! PROXY protocol header (v1 and v2) read before TLS on a connection from a trusted
//! address ([`ProxyAcceptor`]), and the `X-Forwarded-For` walk ([`client_addr`]).
//!
//! The address found here is the one value every user of a client address reads
//! (`RequestCtx::source_addr`: login throttling, the audit log's `source`, browser
//! approvals' client address, the `token_new_address` alert). The acceptor puts the
//! connection's address on each of its requests as a [`ConnAddr`]; the `context`
//! middleware (`http/mod.rs`) then applies [`client_addr`] per request.
//!
//! Nothing from a peer outside the trusted ranges moves its address: a PROXY header from
//! one closes the connection (logged at warn), its `X-Forwarded-For` is ignored.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
pub use ipnet::IpNet;
use proxy_header::ParseConfig;
use proxy_header::io::ProxiedStream;
use tokio::net::TcpStream;
use tower_layer::Layer;

/// How long a connection may take to send its first bytes, and a trusted one its whole
/// PROXY header. The header's size is bounded by the protocol, which the parser enforces:
/// 107 bytes for v1, 16 + 65,535 for v2.
pub const HEADER_DEADLINE: Duration = Duration::from_secs(5);

/// The `--trusted-proxy` ranges (none: every address is the TCP peer's).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>) -> TrustedProxies {
        TrustedProxies(nets)
    }

    pub fn nets(&self) -> &[IpNet] {
        &self.0
    }

    /// An IPv4-mapped IPv6 address (a dual-stack listener's view of an IPv4 peer) counts
    /// as the IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|n| n.contains(&ip))
    }
}

/// One `--trusted-proxy` value: a CIDR range (`10.0.0.0/8`, `2001:db8::/32`; host bits
/// are cleared) or a bare address (`/32`, `/128`).
pub fn parse_trusted_proxy(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    let net = if s.contains('/') {
        s.parse::<IpNet>().ok().map(|n| n.trunc())
    } else {
        s.parse::<IpAddr>().ok().map(IpNet::from)
    };
    net.ok_or_else(|| {
        "expected an IPv4 or IPv6 address or CIDR range, e.g. 10.0.0.0/8, 192.0.2.10 or \
         2001:db8::/32"
            .to_owned()
    })
}

/// The client address of a connection: the PROXY header's source when a trusted proxy
/// sent one, else the TCP peer. On every request of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnAddr(pub IpAddr);

/// The client address of a request that came on a connection from `conn`: `conn`, unless
/// it is a trusted proxy; then the rightmost `X-Forwarded-For` entry that is not itself a
/// trusted proxy. Walking from the right, each entry was appended by the hop before it,
/// so only entries reached through trusted hops are believed. An entry that is not an
/// address (`IP`, `IP:port` or `[IPv6]:port`) stops the walk at the last trusted hop:
/// what lies left of it cannot be told apart from what a client made up.
pub fn client_addr(conn: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let conn = conn.to_canonical();
    if !trusted.contains(conn) {
        return conn;
    }
    // Several header lines are one list, in order (RFC 9110 5.3); a line that is not
    // text is one malformed entry.
    let hops: Vec<Option<&str>> = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|v| match v.to_str() {
            Ok(s) => s.split(',').map(Some).collect::<Vec<_>>(),
            Err(_) => vec![None],
        })
        .collect();
    walk(conn, hops.into_iter().rev(), trusted)
}

fn walk<'a>(
    conn: IpAddr,
    right_to_left: impl Iterator<Item = Option<&'a str>>,
    trusted: &TrustedProxies,
) -> IpAddr {
    let mut addr = conn;
    for hop in right_to_left {
        let Some(ip) = hop.and_then(parse_hop) else {
            return addr;
        };
        if !trusted.contains(ip) {
            return ip;
        }
        addr = ip;
    }
    addr
}

fn parse_hop(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    s.parse::<IpAddr>()
        .or_else(|_| s.parse::<SocketAddr>().map(|a| a.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// The first acceptor of a connection, before TLS: `TCP_NODELAY`, then the PROXY header
/// if a trusted proxy sent one, then the [`ConnAddr`] on the connection's service.
#[derive(Clone)]
pub struct ProxyAcceptor {
    trusted: Arc<TrustedProxies>,
}

impl ProxyAcceptor {
    pub fn new(trusted: Arc<TrustedProxies>) -> ProxyAcceptor {
        ProxyAcceptor { trusted }
    }
}

type Accepted<S> = (
    ProxiedStream<TcpStream>,
    <axum::Extension<ConnAddr> as Layer<S>>::Service,
);

impl<S: Send + 'static> axum_server::accept::Accept<TcpStream, S> for ProxyAcceptor {
    type Stream = ProxiedStream<TcpStream>;
    type Service = <axum::Extension<ConnAddr> as Layer<S>>::Service;
    type Future = Pin<Box<dyn Future<Output = io::Result<Accepted<S>>> + Send>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let trusted = self.trusted.clone();
        Box::pin(async move {
            // Without it, Nagle's algorithm holds back the tail of a response until the
            // client's delayed ACK, which made each page of `user list --all` over
            // HTTP/2 several times slower.
            stream.set_nodelay(true)?;
            let peer = stream.peer_addr()?.ip().to_canonical();
            let (stream, client) =
                tokio::time::timeout(HEADER_DEADLINE, read_header(stream, peer, &trusted))
                    .await
                    .map_err(|_| {
                        io::Error::new(io::ErrorKind::TimedOut, "no data before the deadline")
                    })??;
            Ok((stream, axum::Extension(ConnAddr(client)).layer(service)))
        })
    }
}

/// v1 starts `PROXY `, v2 with a 12-byte signature; TLS with 0x16, so the first bytes
/// tell them apart.
fn starts_like_proxy_header(bytes: &[u8]) -> bool {
    const V1: &[u8] = b"PROXY ";
    const V2: &[u8] = b"\r\n\r\n\0\r\nQUIT\n";
    [V1, V2].iter().any(|sig| {
        let n = bytes.len().min(sig.len());
        n > 0 && bytes[..n] == sig[..n]
    })
}

async fn read_header(
    stream: TcpStream,
    peer: IpAddr,
    trusted: &TrustedProxies,
) -> io::Result<(ProxiedStream<TcpStream>, IpAddr)> {
    // One peek of what has arrived (no loop: a peek does not wait for more bytes).
    let mut first = [0u8; 12];
    let n = stream.peek(&mut first).await?;
    if n == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    if !starts_like_proxy_header(&first[..n]) {
        return Ok((ProxiedStream::unproxied(stream), peer));
    }
    if !trusted.contains(peer) {
        tracing::warn!(
            "refused a PROXY protocol header from {peer}, which is not a trusted proxy \
             (--trusted-proxy): connection closed"
        );
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "PROXY header from an untrusted address",
        ));
    }
    let config = ParseConfig {
        include_tlvs: false,
        ..ParseConfig::default()
    };
    match ProxiedStream::create_from_tokio(stream, config).await {
        Ok(stream) => {
            // LOCAL (a balancer's health check) and UNKNOWN carry no client: the peer is.
            let client = stream
                .proxy_header()
                .proxied_address()
                .map_or(peer, |a| a.source.ip().to_canonical());
            Ok((stream, client))
        }
        Err(e) => {
            tracing::warn!("a malformed PROXY protocol header from {peer}: {e}");
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(list: &str) -> TrustedProxies {
        TrustedProxies::new(
            list.split(',')
                .filter(|s| !s.trim().is_empty() && s.trim() != "-")
                .map(|s| parse_trusted_proxy(s).unwrap())
                .collect(),
        )
    }

    #[test]
    fn trusted_proxy_values() {
        let ok = [
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("10.1.2.3/8", "10.0.0.0/8"),
            ("192.0.2.10", "192.0.2.10/32"),
            (" 192.0.2.10 ", "192.0.2.10/32"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("2001:db8::/32", "2001:db8::/32"),
            ("2001:db8::1", "2001:db8::1/128"),
            ("::ffff:192.0.2.1", "::ffff:192.0.2.1/128"),
        ];
        for (input, want) in ok {
            assert_eq!(
                parse_trusted_proxy(input).map(|n| n.to_string()),
                Ok(want.to_owned()),
                "{input:?}"
            );
        }
        for bad in [
            "",
            "10.0.0.0/33",
            "2001:db8::/129",
            "10.0.0",
            "10.0.0.0/",
            "/8",
            "example.com",
            "10.0.0.1:443",
            "10.0.0.0/8,10.1.0.0/16",
            "[2001:db8::1]",
        ] {
            assert!(parse_trusted_proxy(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn contains_counts_ipv4_mapped_addresses_as_ipv4() {
        let t = trusted("127.0.0.1");
        assert!(t.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(t.contains("127.0.0.1".parse().unwrap()));
        assert!(!t.contains("127.0.0.2".parse().unwrap()));
        assert!(!t.contains("::1".parse().unwrap()));
        assert!(!TrustedProxies::default().contains("127.0.0.1".parse().unwrap()));
    }

    /// `tests/vectors/x-forwarded-for.txt`: trusted ranges | connection address |
    /// header lines | expected client.
    #[test]
    fn x_forwarded_for_walk_vectors() {
        let data = include_str!("../../../tests/vectors/x-forwarded-for.txt");
        let mut n = 0;
        for (i, line) in data.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split('|').map(str::trim).collect();
            let [ranges, conn, xff, want] = fields[..] else {
                panic!("line {}: want 4 fields: {line}", i + 1);
            };
            let mut headers = HeaderMap::new();
            if xff != "-" {
                for value in xff.split(';') {
                    // `\xff` stands for that byte: a header line that is not text.
                    let bytes = value.trim().replace("\\xff", "\u{ff}");
                    let bytes: Vec<u8> = bytes.chars().map(|c| c as u8).collect();
                    headers.append(
                        "x-forwarded-for",
                        axum::http::HeaderValue::from_bytes(&bytes).unwrap(),
                    );
                }
            }
            let got = client_addr(conn.parse().unwrap(), &headers, &trusted(ranges));
            assert_eq!(got.to_string(), want, "line {}: {line}", i + 1);
            n += 1;
        }
        assert!(n >= 20, "only {n} vectors");
    }

    /// What `read_header` makes of a connection from 127.0.0.1 that sends `bytes`: the
    /// client address and what is left for TLS.
    async fn accept(ranges: &str, bytes: &[u8]) -> io::Result<(IpAddr, Vec<u8>)> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let mut client = TcpStream::connect(listener.local_addr()?).await?;
        client.write_all(bytes).await?;
        client.shutdown().await?;
        let (stream, peer) = listener.accept().await?;
        let (mut stream, ip) = read_header(stream, peer.ip(), &trusted(ranges)).await?;
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).await?;
        Ok((ip, rest))
    }

    const V2_SIGNATURE: &[u8] = b"\r\n\r\n\0\r\nQUIT\n";

    #[tokio::test]
    async fn proxy_headers_from_a_trusted_peer() {
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        // v2 (spec section 2.2, written out by hand), TCP over IPv6 from 2001:db8::7.
        let mut v2 = V2_SIGNATURE.to_vec();
        v2.extend([0x21, 0x21, 0x00, 36]);
        v2.extend(
            "2001:db8::7"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets(),
        );
        v2.extend(std::net::Ipv6Addr::LOCALHOST.octets());
        v2.extend([0xc3, 0x50, 0x01, 0xbb]);
        v2.extend(b"\x16\x03\x01hello");
        let got = accept("127.0.0.1", &v2).await.unwrap();
        assert_eq!(
            got,
            (
                "2001:db8::7".parse().unwrap(),
                b"\x16\x03\x01hello".to_vec()
            )
        );
        // v1.
        let v1 = b"PROXY TCP4 203.0.113.7 127.0.0.1 50000 443\r\n\x16\x03\x01";
        let got = accept("127.0.0.0/8", v1).await.unwrap();
        assert_eq!(
            got,
            ("203.0.113.7".parse().unwrap(), b"\x16\x03\x01".to_vec())
        );
        // LOCAL (a health check) and UNKNOWN name no client: the peer is the client.
        let mut local_v2 = V2_SIGNATURE.to_vec();
        local_v2.extend([0x20, 0x00, 0x00, 0x00, 0x16]);
        assert_eq!(
            accept("127.0.0.1", &local_v2).await.unwrap(),
            (local, vec![0x16])
        );
        let unknown = b"PROXY UNKNOWN\r\n\x16";
        assert_eq!(
            accept("127.0.0.1", unknown).await.unwrap(),
            (local, vec![0x16])
        );
        // No header: TLS gets every byte.
        let tls = [0x16, 0x03, 0x01, 0x00, 0x05];
        assert_eq!(
            accept("127.0.0.1", &tls).await.unwrap(),
            (local, tls.to_vec())
        );
    }

    #[tokio::test]
    async fn proxy_headers_refused() {
        let v1 = b"PROXY TCP4 203.0.113.7 127.0.0.1 50000 443\r\n\x16";
        for ranges in ["-", "10.0.0.0/8", "127.0.0.2"] {
            let e = accept(ranges, v1).await.unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{ranges}: {e}");
        }
        // Malformed, too long for v1, or ended before its announced length.
        let mut cut_v2 = V2_SIGNATURE.to_vec();
        cut_v2.extend([0x21, 0x11, 0xff, 0xff, 1, 2, 3]);
        let long_v1 = format!("PROXY TCP4 {} 127.0.0.1 1 2\r\n", "1".repeat(120));
        for bytes in [
            &b"PROXY TCP5 203.0.113.7 127.0.0.1 50000 443\r\n"[..],
            b"PROXY TCP4 203.0.113.7\r\n",
            long_v1.as_bytes(),
            &cut_v2,
        ] {
            assert!(accept("127.0.0.1", bytes).await.is_err(), "{bytes:?}");
        }
    }

    #[test]
    fn proxy_signatures_and_tls_are_told_apart() {
        assert!(starts_like_proxy_header(b"PROXY TCP4 "));
        assert!(starts_like_proxy_header(b"PRO"));
        assert!(starts_like_proxy_header(b"\r\n\r\n\0\r\nQUIT\n\x21"));
        assert!(!starts_like_proxy_header(&[0x16, 0x03, 0x01]));
        assert!(!starts_like_proxy_header(b"POST / HTTP/1.1"));
        assert!(!starts_like_proxy_header(b"GET / HTTP/1.1"));
        assert!(!starts_like_proxy_header(b""));
    }
}
