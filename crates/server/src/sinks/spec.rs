//! Sink specifications: `--audit-sink SPEC` (and, later, `audit_sinks = [...]` in the
//! server's config file) parsed into a [`SinkSpec`] by [`parse_sink_spec`]. A SPEC is a
//! URL with the sink's options in its query string:
//!
//! ```text
//! file:/var/log/imadm/audit.jsonl?max_bytes=100MiB
//! syslog+tcp://127.0.0.1:514
//! syslog+tls://siem.example:6514?ca=/etc/ssl/siem-ca.pem&required=true
//! https://siem.example/ingest?secret_env=SIEM_SECRET&max_lag=500&max_age=2m
//! ```
//!
//! Parsing is pure (no files, no environment): secrets and CA files are read when the
//! sinks start (`Sinks::prepare`). Unknown or repeated options, an option of another kind
//! of sink, userinfo in a URL, a relative file path: all errors, so a typo cannot quietly
//! weaken a sink. Errors name the part that is wrong without quoting the SPEC, which may
//! hold what should not be printed (a password typed into a URL).

use std::path::PathBuf;
use std::time::Duration;

/// One audit sink, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkSpec {
    /// Names the sink in `audit sinks`, alerts, errors and its delivery cursor: the
    /// `name=` option, else the target without options.
    pub name: String,
    pub kind: SinkKind,
    /// Fail closed: refuse changes while the sink lags beyond its bound.
    pub required: bool,
    /// The bound: at most this many events behind ...
    pub max_lag: u64,
    /// ... and the oldest undelivered event at most this old.
    pub max_age: Duration,
    /// The longest wait between two attempts after failures.
    pub retry_max: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkKind {
    /// Append-only JSONL file, rotated past `max_bytes` (never, when `None`).
    File {
        path: PathBuf,
        max_bytes: Option<u64>,
    },
    /// RFC 5424 messages, octet-counted (RFC 6587), over TCP or TLS (`tls`).
    Syslog {
        host: String,
        port: u16,
        tls: bool,
        /// PEM file of the CA to trust (TLS); the system's roots when `None`.
        ca: Option<PathBuf>,
        /// RFC 5424 facility number (0-23).
        facility: u8,
    },
    /// JSON batches POSTed with a Standard Webhooks signature.
    Https {
        /// `https://host[:port]/path`, without the options.
        url: String,
        ca: Option<PathBuf>,
        /// The environment variable holding the `whsec_...` signing secret.
        secret_env: String,
    },
}

impl SinkKind {
    /// `file`, `syslog+tcp`, `syslog+tls` or `https`.
    pub fn label(&self) -> &'static str {
        match self {
            SinkKind::File { .. } => "file",
            SinkKind::Syslog { tls: false, .. } => "syslog+tcp",
            SinkKind::Syslog { tls: true, .. } => "syslog+tls",
            SinkKind::Https { .. } => "https",
        }
    }
}

/// Defaults of the bound and the retry cap.
pub const DEFAULT_MAX_LAG: u64 = 1000;
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);
pub const DEFAULT_RETRY_MAX: Duration = Duration::from_secs(30);
/// `log audit` (RFC 5424 table 1).
pub const DEFAULT_FACILITY: u8 = 13;
/// The smallest `max_bytes`: a file holds at least its header and a sealed event.
const MIN_MAX_BYTES: u64 = 4096;

const COMMON: &[&str] = &["required", "max_lag", "max_age", "retry_max", "name"];

/// Parse one SPEC (see the module documentation). The error says what is wrong and
/// what is expected, without quoting anything beyond the spec itself.
pub fn parse_sink_spec(spec: &str) -> Result<SinkSpec, String> {
    let spec = spec.trim();
    let (base, query) = match spec.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (spec, None),
    };
    let mut opts = Options::parse(query.unwrap_or(""))?;
    let (kind, default_name) = if let Some(rest) = base.strip_prefix("file:") {
        opts.allow(&["max_bytes"])?;
        let path = file_path(rest)?;
        let max_bytes = opts.take("max_bytes").map(|v| size(&v)).transpose()?;
        if let Some(n) = max_bytes
            && n < MIN_MAX_BYTES
        {
            return Err(format!("max_bytes must be at least {MIN_MAX_BYTES} bytes"));
        }
        let name = format!("file:{}", path.display());
        (SinkKind::File { path, max_bytes }, name)
    } else if base.starts_with("syslog+tcp://") || base.starts_with("syslog+tls://") {
        opts.allow(&["ca", "facility"])?;
        let tls = base.starts_with("syslog+tls://");
        let url = url::Url::parse(base).map_err(|e| format!("not a valid URL: {e}"))?;
        no_extras(&url)?;
        if !matches!(url.path(), "" | "/") {
            return Err("a syslog sink has no path: syslog+tcp://HOST:PORT".into());
        }
        let host = host(&url)?;
        // The ports of RFC 5425 (TLS) and of plain TCP syslog as rsyslog and syslog-ng use it.
        let port = url.port().unwrap_or(if tls { 6514 } else { 514 });
        let ca = opts.take("ca").map(PathBuf::from);
        if ca.is_some() && !tls {
            return Err("ca= is for syslog+tls:// and https:// sinks".into());
        }
        let facility = opts
            .take("facility")
            .map(|f| facility(&f))
            .transpose()?
            .unwrap_or(DEFAULT_FACILITY);
        let name = format!("{}://{}:{port}", url.scheme(), bracket(&host));
        (
            SinkKind::Syslog {
                host,
                port,
                tls,
                ca,
                facility,
            },
            name,
        )
    } else if base.starts_with("https://") {
        opts.allow(&["ca", "secret_env"])?;
        let url = url::Url::parse(base).map_err(|e| format!("not a valid URL: {e}"))?;
        no_extras(&url)?;
        host(&url)?;
        let secret_env = opts.take("secret_env").ok_or(
            "an https sink signs its batches: add secret_env=VAR, the environment variable \
             holding the whsec_... secret",
        )?;
        if secret_env.is_empty()
            || !secret_env
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err("secret_env must name an environment variable (A-Z, 0-9, _)".into());
        }
        let url = url.as_str().to_owned();
        (
            SinkKind::Https {
                url: url.clone(),
                ca: opts.take("ca").map(PathBuf::from),
                secret_env,
            },
            url,
        )
    } else if base.starts_with("http://") {
        return Err("audit events leave only over TLS: use https://".into());
    } else {
        return Err(format!(
            "{} is not a sink: expected file:PATH, syslog+tcp://HOST:PORT, \
             syslog+tls://HOST:PORT or https://HOST/PATH",
            scheme_of(base)
        ));
    };
    let required = match opts.take("required").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(v) => return Err(format!("required={v}: expected true or false")),
    };
    let max_lag = match opts.take("max_lag") {
        None => DEFAULT_MAX_LAG,
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (1..=1_000_000_000).contains(&n) => n,
            _ => {
                return Err(format!(
                    "max_lag={v}: expected a number of events, 1 or more"
                ));
            }
        },
    };
    let max_age = opts
        .take("max_age")
        .map(|v| duration("max_age", &v))
        .transpose()?
        .unwrap_or(DEFAULT_MAX_AGE);
    let retry_max = opts
        .take("retry_max")
        .map(|v| duration("retry_max", &v))
        .transpose()?
        .unwrap_or(DEFAULT_RETRY_MAX);
    let name = match opts.take("name") {
        None => default_name,
        Some(n)
            if (1..=64).contains(&n.len())
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) =>
        {
            n
        }
        Some(_) => {
            return Err("name= must be 1 to 64 letters, digits, '-', '_' or '.'".into());
        }
    };
    Ok(SinkSpec {
        name,
        kind,
        required,
        max_lag,
        max_age,
        retry_max,
    })
}

/// How an unknown SPEC starts, for its error: the scheme, never what follows.
fn scheme_of(base: &str) -> String {
    match base.split_once(':') {
        Some((scheme, _))
            if !scheme.is_empty()
                && scheme.len() <= 16
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) =>
        {
            format!("scheme {scheme:?}")
        }
        _ if base.is_empty() => "an empty SPEC".into(),
        _ => "a SPEC without a scheme".into(),
    }
}

/// The query string as `key=value` pairs, percent-decoded, each key at most once.
struct Options(Vec<(String, String)>, Vec<&'static str>);

impl Options {
    fn parse(query: &str) -> Result<Options, String> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for part in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| {
                "an option has no value: expected KEY=VALUE, separated by &".to_owned()
            })?;
            let k = percent_decode(k)?;
            if pairs.iter().any(|(seen, _)| *seen == k) {
                return Err(format!("option {k} is given twice"));
            }
            pairs.push((k, percent_decode(v)?));
        }
        Ok(Options(pairs, COMMON.to_vec()))
    }

    /// Refuse options this kind of sink does not take (after adding its own).
    fn allow(&mut self, own: &[&'static str]) -> Result<(), String> {
        self.1.extend_from_slice(own);
        if let Some((k, _)) = self.0.iter().find(|(k, _)| !self.1.contains(&k.as_str())) {
            return Err(format!(
                "unknown option {k:?} for this sink: it takes {}",
                self.1.join(", ")
            ));
        }
        Ok(())
    }

    fn take(&mut self, key: &str) -> Option<String> {
        let i = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(i).1)
    }
}

fn percent_decode(s: &str) -> Result<String, String> {
    let mut out = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| "a bad %-escape: expected % and two hex digits".to_owned())?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "not UTF-8 once %-decoded".to_owned())
}

/// `file:/abs/path`, `file:///abs/path` or `file://localhost/abs/path`.
fn file_path(rest: &str) -> Result<PathBuf, String> {
    let path = if let Some(r) = rest.strip_prefix("//") {
        let slash = r.find('/').unwrap_or(r.len());
        if !matches!(&r[..slash], "" | "localhost") {
            return Err("a file sink is on this host: file:/PATH or file:///PATH".into());
        }
        &r[slash..]
    } else {
        rest
    };
    let path = percent_decode(path)?;
    if !path.starts_with('/') || path.ends_with('/') {
        return Err(format!(
            "file:{path} is not an absolute file path: expected e.g. file:/var/log/imadm/audit.jsonl"
        ));
    }
    Ok(PathBuf::from(path))
}

fn no_extras(url: &url::Url) -> Result<(), String> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "no credentials in a sink URL (they would show in logs and `audit sinks`); \
                    an https sink takes its secret from secret_env=VAR"
                .into(),
        );
    }
    if url.fragment().is_some() {
        return Err("a sink URL has no #fragment".into());
    }
    Ok(())
}

fn host(url: &url::Url) -> Result<String, String> {
    match url.host() {
        Some(url::Host::Ipv6(a)) => Ok(a.to_string()),
        // `syslog+tls` is not a scheme the URL standard knows, so its host keeps its case.
        Some(url::Host::Domain(d)) => Ok(d.to_ascii_lowercase()),
        Some(h) => Ok(h.to_string()),
        None => Err("the URL has no host".into()),
    }
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// `4096`, `64KiB`, `100MiB`, `1GiB` (also `KB`, `MB`, `GB` as powers of 10).
fn size(v: &str) -> Result<u64, String> {
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    let (n, unit) = v.split_at(digits);
    let mult: u64 = match unit {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => 0,
    };
    n.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("max_bytes={v}: expected a size such as 100MiB, 1GiB or 65536"))
}

/// `500ms`, `30s`, `5m`, `1h`: from 100 ms to 24 h.
fn duration(key: &str, v: &str) -> Result<Duration, String> {
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    let (n, unit) = v.split_at(digits);
    let ms: u64 = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => 0,
    };
    n.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(ms))
        .filter(|ms| (100..=86_400_000).contains(ms))
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{key}={v}: expected a duration from 100ms to 24h, e.g. 30s or 5m"))
}

/// A facility number 0-23 or one of the names rsyslog and syslog-ng use for the ones an
/// audit trail goes to.
fn facility(v: &str) -> Result<u8, String> {
    let named = match v {
        "auth" => Some(4),
        "authpriv" => Some(10),
        "audit" => Some(13),
        _ => v
            .strip_prefix("local")
            .and_then(|n| n.parse::<u8>().ok())
            .filter(|n| *n <= 7)
            .map(|n| 16 + n),
    };
    named
        .or_else(|| v.parse::<u8>().ok().filter(|n| *n <= 23))
        .ok_or_else(|| {
            format!("facility={v}: expected 0-23, auth, authpriv, audit or local0-local7")
        })
}

/// Split `--audit-sink` values and `IMADM_AUDIT_SINK` into SPECs: commas and newlines
/// separate them (a comma inside a path is `%2C`).
pub fn split_specs(value: &str) -> impl Iterator<Item = &str> {
    value
        .split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> SinkSpec {
        parse_sink_spec(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn file_specs_and_their_options() {
        let s = ok("file:/var/log/imadm/audit.jsonl?max_bytes=100MiB");
        assert_eq!(
            s.kind,
            SinkKind::File {
                path: "/var/log/imadm/audit.jsonl".into(),
                max_bytes: Some(100 << 20)
            }
        );
        assert_eq!(s.name, "file:/var/log/imadm/audit.jsonl");
        assert_eq!(
            (s.required, s.max_lag, s.max_age, s.retry_max),
            (false, DEFAULT_MAX_LAG, DEFAULT_MAX_AGE, DEFAULT_RETRY_MAX)
        );
        assert_eq!(ok("file:///a/b").kind, ok("file:/a/b").kind);
        assert_eq!(ok("file://localhost/a/b").kind, ok("file:/a/b").kind);
        let s = ok(
            "file:/a/with%2Ccomma%20space?required=true&max_lag=5&max_age=90s&retry_max=500ms&name=local-copy",
        );
        assert_eq!(s.name, "local-copy");
        assert_eq!(
            s.kind,
            SinkKind::File {
                path: "/a/with,comma space".into(),
                max_bytes: None
            }
        );
        assert!(s.required);
        assert_eq!(s.max_lag, 5);
        assert_eq!(s.max_age, Duration::from_secs(90));
        assert_eq!(s.retry_max, Duration::from_millis(500));
        for (size, n) in [
            ("4096", 4096),
            ("64KiB", 65536),
            ("1GiB", 1 << 30),
            ("10MB", 10_000_000),
        ] {
            assert_eq!(
                ok(&format!("file:/x?max_bytes={size}")).kind,
                SinkKind::File {
                    path: "/x".into(),
                    max_bytes: Some(n)
                }
            );
        }
    }

    #[test]
    fn syslog_and_https_specs() {
        let s = ok("syslog+tcp://127.0.0.1:6514");
        assert_eq!(
            s.kind,
            SinkKind::Syslog {
                host: "127.0.0.1".into(),
                port: 6514,
                tls: false,
                ca: None,
                facility: 13
            }
        );
        assert_eq!(s.name, "syslog+tcp://127.0.0.1:6514");
        let s = ok("syslog+tls://Host.Example?ca=/etc/ssl/ca.pem&facility=local3");
        assert_eq!(
            s.kind,
            SinkKind::Syslog {
                host: "host.example".into(),
                port: 6514,
                tls: true,
                ca: Some("/etc/ssl/ca.pem".into()),
                facility: 19
            }
        );
        assert_eq!(s.name, "syslog+tls://host.example:6514");
        assert_eq!(ok("syslog+tcp://[::1]").name, "syslog+tcp://[::1]:514");
        assert_eq!(s.kind.label(), "syslog+tls");
        let s = ok("https://siem.example/ingest?secret_env=SIEM_SECRET&required=true");
        assert_eq!(
            s.kind,
            SinkKind::Https {
                url: "https://siem.example/ingest".into(),
                ca: None,
                secret_env: "SIEM_SECRET".into()
            }
        );
        assert_eq!(s.name, "https://siem.example/ingest");
        assert!(s.required);
        assert_eq!(ok("https://h:8443?secret_env=S").name, "https://h:8443/");
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        for (spec, says) in [
            ("", "is not a sink"),
            ("ftp://x", "is not a sink"),
            ("file:relative/path", "absolute"),
            ("file:/dir/", "absolute"),
            ("file://otherhost/x", "on this host"),
            ("file:/x?max_bytes=10", "at least 4096"),
            ("file:/x?max_bytes=lots", "size"),
            ("file:/x?maxbytes=1MiB", "unknown option \"maxbytes\""),
            ("file:/x?ca=/c.pem", "unknown option \"ca\""),
            ("file:/x?required=yes", "true or false"),
            ("file:/x?required=true&required=false", "twice"),
            ("file:/x?max_lag=0", "max_lag"),
            ("file:/x?max_age=5", "duration"),
            ("file:/x?max_age=2d", "duration"),
            ("file:/x?name=a b", "name="),
            ("file:/x?flag", "no value"),
            ("file:/x%zz", "%-escape"),
            ("syslog+tcp://h:514/path", "no path"),
            ("syslog+tcp://h?ca=/c.pem", "syslog+tls"),
            ("syslog+tcp://h?facility=kern2", "facility"),
            ("syslog+tcp://h?facility=24", "facility"),
            ("syslog+tls://user:pw@h", "no credentials"),
            ("https://h/x", "secret_env"),
            ("https://h/x?secret_env=a-b", "secret_env"),
            ("https://u:p@h/x?secret_env=S", "no credentials"),
            ("https://h/x#frag?secret_env=S", "fragment"),
            ("https://h/x?secret_env=S&facility=3", "unknown option"),
            ("http://h/x?secret_env=S", "https://"),
        ] {
            let e = parse_sink_spec(spec).expect_err(spec);
            assert!(e.contains(says), "{spec:?}: {e}");
        }
        // A password typed into a SPEC is never repeated in the error.
        for spec in [
            "ftp://u:hunter2@x",
            "hunter2",
            "https://u:hunter2@h/x?secret_env=S",
            "syslog+tls://u:hunter2@h",
            "https://h/x?secret_env=S&hunter2",
            "file:/x?max_bytes=1MiB&k=hunter2%z",
            "https://h:hunter2/x?secret_env=S",
        ] {
            let e = parse_sink_spec(spec).expect_err(spec);
            assert!(!e.contains("hunter2"), "{spec:?}: {e}");
        }
    }

    #[test]
    fn several_specs_split_on_commas_and_newlines() {
        let v: Vec<_> =
            split_specs("file:/a, syslog+tcp://h:1\nhttps://x?secret_env=S,\n").collect();
        assert_eq!(v, ["file:/a", "syslog+tcp://h:1", "https://x?secret_env=S"]);
    }
}
