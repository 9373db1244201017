//! The HTTP client for the admin API and the Lanying-compatible API.
//!
//! reqwest (blocking) over rustls with the aws-lc-rs provider; https only, except
//! `--insecure-http` to a loopback address. The CA store is the platform's plus the
//! profile's CA (the dev server's) plus `--ca-cert`. Every request carries `app_id`;
//! authenticated ones `access-token`. Responses are decoded from the envelope and errors
//! mapped to [`CliError`]s with exit codes. Idempotent requests are retried with
//! exponential backoff and jitter on connection errors and 503; others never are, since
//! a login or a create must not run twice.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use imadm_api::{Envelope, ErrorDetail, HEADER_ACCESS_TOKEN, HEADER_APP_ID, HEADER_OTP};
use rand::Rng;
use reqwest::blocking::{Client, RequestBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{CliError, Kind, Result};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_ATTEMPTS: u32 = 4;
/// Backups and restores of large databases take long; only a stalled peer should end them.
const STREAM_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// Piece size of streamed uploads (`post_stream`).
const UPLOAD_CHUNK: usize = 256 << 10;

pub struct ApiClient {
    http: Client,
    /// HTTP/1.1 client for streamed downloads ([`ApiClient::get_stream_as`]), built on first use.
    bulk: std::sync::OnceLock<Client>,
    /// Extra CAs, for the clients built when they are needed.
    certs: Vec<reqwest::Certificate>,
    base: url::Url,
    app_id: Option<String>,
}

/// Where and how to connect, resolved from flags, env and the profile.
pub struct Endpoint<'a> {
    pub server: &'a str,
    pub app_id: Option<&'a str>,
    pub ca_certs: Vec<&'a Path>,
    pub insecure_http: bool,
}

/// Parse and police a server URL: https, or http to loopback with `--insecure-http`.
pub fn parse_server_url(server: &str, insecure_http: bool) -> Result<url::Url> {
    let url = url::Url::parse(server).map_err(|e| {
        CliError::usage(format!("{server:?} is not a valid server URL: {e}"))
            .hint("use the form https://host[:port]")
    })?;
    match url.scheme() {
        "https" => {}
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(d)) => d == "localhost",
                None => false,
            };
            if !insecure_http {
                return Err(CliError::usage(format!(
                    "refusing plain-text http:// server URL {server}: credentials would travel unencrypted"
                ))
                .hint("use https://; for a local test server on a loopback address, add --insecure-http"));
            }
            if !loopback {
                return Err(CliError::usage(format!(
                    "--insecure-http is only allowed for a loopback address, not {server}"
                ))
                .hint("use https:// for any server that is not on this machine"));
            }
        }
        other => {
            return Err(
                CliError::usage(format!("unsupported URL scheme {other:?} in {server}"))
                    .hint("use https://host[:port]"),
            );
        }
    }
    Ok(url)
}

impl ApiClient {
    pub fn new(ep: &Endpoint<'_>) -> Result<Self> {
        let base = parse_server_url(ep.server, ep.insecure_http)?;
        let mut certs = Vec::new();
        for path in &ep.ca_certs {
            let pem = std::fs::read(path).map_err(|e| {
                CliError::usage(format!(
                    "cannot read CA certificate {}: {e}",
                    path.display()
                ))
                .hint("check --ca-cert / IMADM_CA_CERT and the profile's ca_cert")
            })?;
            let found = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                CliError::usage(format!("{} is not a PEM certificate: {e}", path.display()))
            })?;
            certs.extend(found);
        }
        crate::install_crypto_provider();
        let bulk_certs = certs.clone();
        let http = Client::builder()
            .use_rustls_tls()
            .https_only(base.scheme() == "https")
            .tls_certs_merge(certs)
            .tls_info(true)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("imadm/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CliError::unexpected(format!("cannot set up the HTTP client: {e}")))?;
        Ok(ApiClient {
            http,
            bulk: std::sync::OnceLock::new(),
            certs: bulk_certs,
            base,
            app_id: ep.app_id.map(str::to_owned),
        })
    }

    pub fn base_url(&self) -> &url::Url {
        &self.base
    }

    /// The server URL as people write it (no trailing slash).
    pub fn server(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_owned()
    }

    /// When the server's TLS certificate (the leaf it presents) expires, as Unix time;
    /// `None` over plain http. Read from a real handshake, so it is what clients see,
    /// whatever the server claims about itself.
    pub fn certificate_not_after(&self) -> Result<Option<i64>> {
        if self.base.scheme() != "https" {
            return Ok(None);
        }
        let url = self.url("/admin/server-info")?;
        let resp = self
            .http
            .get(url)
            .send()
            .map_err(|e| self.transport_error(e))?;
        let der = resp
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|i| i.peer_certificate())
            .ok_or_else(|| {
                CliError::unexpected("the TLS connection exposed no peer certificate")
            })?;
        let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| {
            CliError::unexpected(format!("cannot parse the server's certificate: {e}"))
        })?;
        Ok(Some(cert.validity().not_after.timestamp()))
    }

    fn url(&self, path: &str) -> Result<url::Url> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|e| CliError::unexpected(format!("bad request path {path}: {e}")))
    }

    /// The app id and credential headers a request carries (for either client type).
    fn auth_headers<'a>(
        &'a self,
        auth: &Auth<'a>,
    ) -> impl Iterator<Item = (&'static str, &'a str)> + 'a {
        [
            (HEADER_APP_ID, self.app_id.as_deref()),
            (HEADER_ACCESS_TOKEN, auth.token),
            (HEADER_OTP, auth.otp),
        ]
        .into_iter()
        .filter_map(|(name, v)| Some((name, v?)))
    }

    fn prepare(&self, rb: RequestBuilder, auth: &Auth<'_>) -> RequestBuilder {
        self.auth_headers(auth)
            .fold(rb, |rb, (name, v)| rb.header(name, v))
    }

    /// GET, retried on connection errors and 503 (idempotent).
    pub fn get<T: DeserializeOwned>(&self, path: &str, auth: &Auth<'_>) -> Result<T> {
        let url = self.url(path)?;
        self.send(true, || self.prepare(self.http.get(url.clone()), auth))
    }

    /// POST with a JSON body; not retried unless `idempotent`.
    pub fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        auth: &Auth<'_>,
        idempotent: bool,
    ) -> Result<T> {
        let url = self.url(path)?;
        self.send(idempotent, || {
            self.prepare(self.http.post(url.clone()), auth).json(body)
        })
    }

    /// PATCH with a JSON body; never retried.
    pub fn patch<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        auth: &Auth<'_>,
    ) -> Result<T> {
        let url = self.url(path)?;
        self.send(false, || {
            self.prepare(self.http.patch(url.clone()), auth).json(body)
        })
    }

    /// DELETE; retried like GET (deleting twice has the same effect).
    pub fn delete<T: DeserializeOwned>(&self, path: &str, auth: &Auth<'_>) -> Result<T> {
        let url = self.url(path)?;
        self.send(true, || self.prepare(self.http.delete(url.clone()), auth))
    }

    /// Any method, an optional JSON body, and extra headers (Lanying's `user_id`, which
    /// names the IM user an admin request acts on); retried only when `idempotent`.
    pub fn request<B: Serialize, T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
        auth: &Auth<'_>,
        headers: &[(&str, String)],
        idempotent: bool,
    ) -> Result<T> {
        let url = self.url(path)?;
        self.send(idempotent, || {
            let mut rb = self.prepare(self.http.request(method.clone(), url.clone()), auth);
            for (k, v) in headers {
                rb = rb.header(*k, v);
            }
            match body {
                Some(b) => rb.json(b),
                None => rb,
            }
        })
    }

    /// GET a binary stream (not the envelope). Errors still come as an envelope.
    pub fn get_stream(&self, path: &str, auth: &Auth<'_>) -> Result<reqwest::blocking::Response> {
        self.get_stream_as(path, auth, "application/octet-stream")
    }

    /// GET a streamed document of `content_type` (a success status with that type), not
    /// the envelope. Errors still come as an envelope with an error status.
    pub fn get_stream_as(
        &self,
        path: &str,
        auth: &Auth<'_>,
        content_type: &str,
    ) -> Result<reqwest::blocking::Response> {
        let url = self.url(path)?;
        let bulk = match self.bulk.get() {
            Some(c) => c,
            None => {
                let built = self.bulk_builder(Client::builder()).build().map_err(|e| {
                    CliError::unexpected(format!("cannot set up the HTTP client: {e}"))
                })?;
                self.bulk.get_or_init(|| built)
            }
        };
        let resp = self
            .prepare(bulk.get(url), auth)
            .timeout(STREAM_TIMEOUT)
            .send()
            .map_err(|e| self.transport_error(e))?;
        let expected = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes() == content_type.as_bytes());
        if resp.status().is_success() && expected {
            return Ok(resp);
        }
        match self.decode::<serde_json::Value>(resp) {
            Err(e) => Err(e),
            Ok(_) => Err(CliError::unexpected(format!(
                "{path} answered with an envelope instead of a {content_type} stream"
            ))
            .hint("the server may be a different version; compare `imadm --version` with /admin/server-info")),
        }
    }

    /// Settings of the clients for bulk streams (snapshots, restores, exports): like the
    /// client in `new`, but HTTP/1.1. A stream of a gigabyte over HTTP/2 is cut into
    /// 16 KiB DATA frames with flow-control updates, and h2's buffering copies it once
    /// more; over HTTP/1.1 hyper writes large chunks as they come, which costs measurably
    /// less CPU on both ends (bench/README.md).
    fn bulk_builder<B: BulkBuilder>(&self, b: B) -> B {
        b.settings(
            self.base.scheme() == "https",
            self.certs.clone(),
            concat!("imadm/", env!("CARGO_PKG_VERSION")),
        )
    }

    /// POST a binary request body streamed from a reader; never retried.
    ///
    /// Not through reqwest's blocking `Body`: that reads its source in 8 KiB pieces on
    /// the client's runtime thread, each one a thread hand-off, an HTTP/2 frame and a TLS
    /// record, which cost the restore more CPU than decrypting the archive. Here a thread
    /// reads [`UPLOAD_CHUNK`] pieces into a small bounded channel (memory stays bounded)
    /// and an async client built like the blocking one sends them.
    pub fn post_stream<T: DeserializeOwned>(
        &self,
        path: &str,
        body: impl Read + Send + 'static,
        auth: &Auth<'_>,
    ) -> Result<T> {
        let url = self.url(path)?;
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
        let feeder = std::thread::spawn(move || {
            let mut body = body;
            loop {
                let mut buf = vec![0u8; UPLOAD_CHUNK];
                let mut n = 0;
                let item = loop {
                    match body.read(&mut buf[n..]) {
                        Ok(0) => break Ok(n),
                        Ok(k) => {
                            n += k;
                            if n == buf.len() {
                                break Ok(n);
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => break Err(e),
                    }
                };
                match item {
                    Ok(0) => return,
                    Ok(n) => {
                        buf.truncate(n);
                        if tx.blocking_send(Ok(buf)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                }
            }
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::unexpected(format!("cannot start the upload runtime: {e}")))?;
        let upload = self
            .bulk_builder(reqwest::Client::builder())
            .build()
            .map_err(|e| CliError::unexpected(format!("cannot set up the HTTP client: {e}")))?;
        let rb = self.auth_headers(auth).fold(
            upload
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .timeout(STREAM_TIMEOUT),
            |rb, (name, v)| rb.header(name, v),
        );
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (chunk, rx))
        });
        let result = rt.block_on(async move {
            let resp = rb.body(reqwest::Body::wrap_stream(stream)).send().await?;
            let status = resp.status();
            let path = resp.url().path().to_owned();
            let bytes = resp.bytes().await?;
            Ok::<_, reqwest::Error>((status, path, bytes))
        });
        // The feeder ends once the body is read or the channel is gone.
        drop(rt);
        let _ = feeder.join();
        let (status, path, bytes) = result.map_err(|e| self.transport_error(e))?;
        self.decode_bytes(status, &path, &bytes)
    }

    fn send<T: DeserializeOwned>(
        &self,
        idempotent: bool,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<T> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let retryable_left = idempotent && attempt < MAX_ATTEMPTS;
            match build().send() {
                Ok(resp) if resp.status().as_u16() == 503 && retryable_left => {}
                Ok(resp) => return self.decode(resp),
                Err(e) if e.is_connect() && retryable_left => {
                    tracing::debug!("connection failed (attempt {attempt}): {e}");
                }
                Err(e) => return Err(self.transport_error(e)),
            }
            std::thread::sleep(backoff(attempt));
        }
    }

    fn decode<T: DeserializeOwned>(&self, resp: reqwest::blocking::Response) -> Result<T> {
        let status = resp.status();
        let path = resp.url().path().to_owned();
        let bytes = resp.bytes().map_err(|e| self.transport_error(e))?;
        self.decode_bytes(status, &path, &bytes)
    }

    fn decode_bytes<T: DeserializeOwned>(
        &self,
        status: reqwest::StatusCode,
        path: &str,
        bytes: &[u8],
    ) -> Result<T> {
        // Fast path: a success parsed straight into its type (one pass over the bytes;
        // list pages are large). Anything else takes the general path below.
        if status.is_success()
            && let Ok(Envelope {
                code: imadm_api::codes::OK,
                data: Some(data),
                ..
            }) = serde_json::from_slice::<Envelope<T>>(bytes)
        {
            return Ok(data);
        }
        let env: Envelope<serde_json::Value> = serde_json::from_slice(bytes).map_err(|_| {
            // An `/admin/` path that is not there at all (no envelope): a plain Lanying
            // deployment, which has the IM API but not our admin extension.
            if status.as_u16() == 404 && path.starts_with("/admin/") {
                return admin_api_missing(&self.server());
            }
            let kind = if status.as_u16() == 503 {
                Kind::Unavailable
            } else if status.as_u16() == 404 {
                Kind::NotFound
            } else {
                Kind::Unexpected
            };
            CliError::new(
                kind,
                format!(
                    "{} answered HTTP {status} without a {{code, message, data}} envelope",
                    self.base
                ),
            )
            .hint("check that --server points at an imadm or Lanying API endpoint")
        })?;
        if env.code != imadm_api::codes::OK {
            // The admin extension puts the hint in `data`; the Lanying routes beside `code`.
            let detail = env
                .data
                .and_then(|d| serde_json::from_value::<ErrorDetail>(d).ok());
            let approval = detail.as_ref().and_then(|d| d.approval.clone());
            let hint = detail.and_then(|d| d.hint).or_else(|| {
                serde_json::from_slice::<ErrorDetail>(bytes)
                    .ok()
                    .and_then(|d| d.hint)
            });
            let mut e = CliError::from_envelope(env.code, &env.message, hint);
            e.approval = approval;
            return Err(e);
        }
        // `data: null` is a valid success payload for unit-like answers.
        serde_json::from_value(env.data.unwrap_or(serde_json::Value::Null)).map_err(|e| {
            CliError::unexpected(format!(
                "the server's answer did not have the expected shape: {e}"
            ))
            .hint("the server may be a different version; compare `imadm --version` with /admin/server-info")
        })
    }

    fn transport_error(&self, e: reqwest::Error) -> CliError {
        let mut chain = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            src = s.source();
        }
        let lower = chain.to_lowercase();
        if lower.contains("certificate") || lower.contains("unknownissuer") {
            return CliError::new(
                Kind::Unavailable,
                format!("TLS verification of {} failed: {chain}", self.base),
            )
            .hint("trust the server's CA with --ca-cert FILE (the dev server's CA is saved in the `dev` profile)");
        }
        if e.is_timeout() {
            return CliError::new(
                Kind::Unavailable,
                format!("{} timed out: {chain}", self.base),
            )
            .hint("the server is slow or unreachable; retry later");
        }
        CliError::new(
            Kind::Unavailable,
            format!("cannot reach {}: {chain}", self.base),
        )
        .hint("is the server running, and is --server (or the profile's server) right?")
    }
}

/// The error for an admin-only request to a server without the imadm admin API.
pub fn admin_api_missing(server: &str) -> CliError {
    let mut e = CliError::new(
        Kind::Usage,
        format!("{server} does not offer the imadm admin API (it looks like a plain Lanying deployment)"),
    )
    .hint(
        "`imadm user ...` works there with a Lanying admin token (IMADM_TOKEN or `auth login --with-token`); \
         operators, roles, service tokens, MFA and audit need an imadm server",
    );
    e.not_offered = true;
    e
}

/// Percent-encode a user-supplied name for use as one URL path segment.
pub fn path_segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// Credentials attached to one request.
#[derive(Default, Clone, Copy)]
pub struct Auth<'a> {
    pub token: Option<&'a str>,
    pub otp: Option<&'a str>,
}

impl<'a> Auth<'a> {
    pub const NONE: Auth<'static> = Auth {
        token: None,
        otp: None,
    };
    pub fn token(token: &'a str) -> Self {
        Auth {
            token: Some(token),
            otp: None,
        }
    }
}

/// 250 ms, 500 ms, 1 s ... with ±50 % jitter so many clients do not retry in lockstep.
fn backoff(attempt: u32) -> Duration {
    let base = 250u64 << (attempt - 1).min(5);
    let jitter = rand::rng().random_range(base / 2..=base + base / 2);
    Duration::from_millis(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_is_refused_unless_loopback_and_allowed() {
        assert!(parse_server_url("https://im.example.com", false).is_ok());
        let e = parse_server_url("http://127.0.0.1:8080", false).unwrap_err();
        assert_eq!(e.kind, Kind::Usage);
        assert!(e.hint.unwrap().contains("--insecure-http"));
        assert!(parse_server_url("http://127.0.0.1:8080", true).is_ok());
        assert!(parse_server_url("http://[::1]:8080", true).is_ok());
        assert!(parse_server_url("http://localhost:8080", true).is_ok());
        assert!(parse_server_url("http://10.0.0.1:8080", true).is_err());
        assert!(parse_server_url("ftp://x", true).is_err());
        assert!(parse_server_url("not a url", false).is_err());
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        for attempt in 1..10 {
            let d = backoff(attempt).as_millis() as u64;
            let base = 250u64 << (attempt - 1).min(5);
            assert!(d >= base / 2 && d <= base + base / 2, "{attempt}: {d}");
        }
    }
}

/// The same bulk-stream settings on reqwest's blocking and async builders (they share no
/// trait).
trait BulkBuilder: Sized {
    fn settings(self, https_only: bool, certs: Vec<reqwest::Certificate>, ua: &str) -> Self;
}

macro_rules! bulk_builder {
    ($t:ty) => {
        impl BulkBuilder for $t {
            fn settings(
                self,
                https_only: bool,
                certs: Vec<reqwest::Certificate>,
                ua: &str,
            ) -> Self {
                self.use_rustls_tls()
                    .https_only(https_only)
                    .tls_certs_merge(certs)
                    .http1_only()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .user_agent(ua)
            }
        }
    };
}
bulk_builder!(reqwest::blocking::ClientBuilder);
bulk_builder!(reqwest::ClientBuilder);
