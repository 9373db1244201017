//! The notification config: `imadm server --notify-config FILE` (TOML), read at start and
//! on SIGHUP.
//!
//! Channel URLs are secrets too (a Slack or WeCom webhook URL, a DingTalk `access_token`
//! query parameter, a Feishu hook id all let anyone post), as are signing secrets: so the
//! file must not be readable or writable by group or others (0600 or 0400, like
//! `server.key`), and both can come from the environment instead (`url_env`,
//! `secret_env`). Nothing here puts a URL or secret into an error message or `Debug`
//! output; errors name the file, the line, the channel and the key.
//!
//! ```toml
//! failing_after = "10m"          # a channel failing this long raises notify_channel_failing
//!
//! [channel.ops-dingtalk]
//! kind = "dingtalk"
//! url_env = "IMADM_DINGTALK_URL"       # https://oapi.dingtalk.com/robot/send?access_token=...
//! secret_env = "IMADM_DINGTALK_SECRET" # SEC...
//! min_severity = "medium"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;
use zeroize::Zeroizing;

/// The largest config file read (a typo'd path to a log file must not be slurped).
const MAX_FILE: u64 = 1 << 20;
/// Per request: connect within 10 s, the whole answer within 15 s (the Standard
/// Webhooks spec recommends 15-30 s for receivers to answer).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Alertmanager webhook v4 body, Standard Webhooks signature.
    Webhook,
    /// Slack incoming webhook.
    Slack,
    /// DingTalk custom robot (`加签`: signed with timestamp and sign query parameters).
    DingTalk,
    /// WeCom (WeChat Work) group robot.
    WeCom,
    /// Feishu / Lark custom bot (signed in the body).
    Feishu,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Webhook => "webhook",
            Kind::Slack => "slack",
            Kind::DingTalk => "dingtalk",
            Kind::WeCom => "wecom",
            Kind::Feishu => "feishu",
        }
    }

    fn parse(s: &str) -> Option<Kind> {
        [
            Kind::Webhook,
            Kind::Slack,
            Kind::DingTalk,
            Kind::WeCom,
            Kind::Feishu,
        ]
        .into_iter()
        .find(|k| k.name() == s)
    }

    /// The receiver's documented rate limits (COUNT per DURATION, all of them apply).
    fn vendor_limits(self) -> Vec<(u32, Duration)> {
        let s = Duration::from_secs;
        match self {
            // 20 messages per minute per robot (beyond: throttled for 10 minutes).
            Kind::DingTalk | Kind::WeCom => vec![(20, s(60))],
            // 5 per second and 100 per minute per bot.
            Kind::Feishu => vec![(5, s(1)), (100, s(60))],
            // About one message per second per incoming webhook.
            Kind::Slack => vec![(1, s(1))],
            Kind::Webhook => Vec::new(),
        }
    }
}

/// The message body of DingTalk and WeCom robots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
}

/// One configured channel. `Debug` leaves the URL and secret out.
pub struct Channel {
    pub name: String,
    pub kind: Kind,
    url: url::Url,
    /// Webhook: the key bytes of `whsec_<base64>`; DingTalk, Feishu: the secret as given.
    secret: Option<Zeroizing<Vec<u8>>>,
    pub min_rank: u8,
    pub send_resolved: bool,
    pub format: Format,
    /// COUNT per DURATION limits, all of which apply.
    pub limits: Vec<(u32, Duration)>,
    pub client: reqwest::Client,
    /// Changes with any setting (secrets included): a reload restarts only the channels
    /// whose fingerprint changed.
    pub fingerprint: [u8; 32],
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("min_rank", &self.min_rank)
            .field("send_resolved", &self.send_resolved)
            .field("format", &self.format)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Channel {
    /// The URL to post to (a secret: never log it).
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// The signing secret (a secret: never log it).
    pub fn secret(&self) -> Option<&[u8]> {
        self.secret.as_deref().map(Vec::as_slice)
    }

    pub fn min_severity(&self) -> &'static str {
        match self.min_rank {
            3 => "high",
            2 => "medium",
            _ => "low",
        }
    }
}

/// A loaded config.
#[derive(Debug)]
pub struct Config {
    /// By name.
    pub channels: Vec<Arc<Channel>>,
    /// A channel failing this long raises `notify_channel_failing` (default 10 minutes).
    pub failing_after: Duration,
    /// The first retry waits about this long, each next one twice as long, up to
    /// `retry_max` (defaults 1 s and 5 minutes).
    pub retry_min: Duration,
    pub retry_max: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            channels: Vec::new(),
            failing_after: Duration::from_secs(600),
            retry_min: Duration::from_secs(1),
            retry_max: Duration::from_secs(300),
        }
    }
}

impl Config {
    pub fn channel(&self, name: &str) -> Option<&Arc<Channel>> {
        self.channels.iter().find(|c| c.name == name)
    }

    /// What the store needs to queue alerts for these channels.
    pub fn routes(&self) -> Vec<crate::store::notify::Route> {
        self.channels
            .iter()
            .map(|c| crate::store::notify::Route {
                channel: c.name.clone(),
                min_rank: c.min_rank,
                send_resolved: c.send_resolved,
            })
            .collect()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    failing_after: Option<Spanned<String>>,
    retry_min: Option<Spanned<String>>,
    retry_max: Option<Spanned<String>>,
    #[serde(default)]
    channel: BTreeMap<Spanned<String>, Spanned<ChannelToml>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelToml {
    kind: Spanned<String>,
    url: Option<Spanned<String>>,
    url_env: Option<Spanned<String>>,
    secret: Option<Spanned<String>>,
    secret_env: Option<Spanned<String>>,
    min_severity: Option<Spanned<String>>,
    send_resolved: Option<bool>,
    msgtype: Option<Spanned<String>>,
    rate_limit: Option<Spanned<String>>,
    ca_file: Option<Spanned<PathBuf>>,
}

/// A value from the file or the environment, and where in the file it was named.
type Given = (Zeroizing<String>, std::ops::Range<usize>);

/// Read and check the config at `path`: `Err` is a message for the operator naming the
/// file and line (never a secret).
pub fn load(path: &Path) -> Result<Config, String> {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{shown} is not a file"));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "{shown} is open to group or others (mode {mode:o}); it holds webhook URLs and \
             secrets: run `chmod 600 {shown}`"
        ));
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE + 1).read_to_string(&mut text))
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if text.len() as u64 > MAX_FILE {
        return Err(format!("{shown} is larger than 1 MiB"));
    }
    parse(&text, &|v| std::env::var(v).ok()).map_err(|e| format!("{shown}: {e}"))
}

/// 1-based line of byte offset `at`.
fn line(text: &str, at: usize) -> usize {
    text[..at.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

/// Parse the config `text`, reading `*_env` variables through `env`.
pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, String> {
    crate::tls::install_crypto_provider();
    // toml's own rendering quotes the offending line, which may hold a secret: only the
    // line number and the message.
    let file: FileToml = toml::from_str(text).map_err(|e| match e.span() {
        Some(s) => format!("line {}: {}", line(text, s.start), e.message().trim_end()),
        None => e.message().trim_end().to_owned(),
    })?;
    let at = |span: std::ops::Range<usize>| format!("line {}", line(text, span.start));
    let mut config = Config::default();
    let duration = |v: &Option<Spanned<String>>, key: &str, default: Duration| {
        v.as_ref().map_or(Ok(default), |d| {
            parse_duration(d.get_ref())
                .map_err(|why| format!("{}: {key} {:?}: {why}", at(d.span()), d.get_ref()))
        })
    };
    config.failing_after = duration(&file.failing_after, "failing_after", config.failing_after)?;
    config.retry_min = duration(&file.retry_min, "retry_min", config.retry_min)?;
    config.retry_max = duration(&file.retry_max, "retry_max", config.retry_max)?;
    if config.retry_min > config.retry_max {
        return Err("retry_min is longer than retry_max".into());
    }
    for (name, ch) in file.channel {
        let (name, name_span) = (name.get_ref().clone(), name.span());
        let (ch_span, ch) = (ch.span(), ch.into_inner());
        let valid_name = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid_name {
            return Err(format!(
                "{}: channel name {name:?} must be 1-64 letters, digits, - or _",
                at(name_span)
            ));
        }
        let err = |span: std::ops::Range<usize>, what: String| {
            format!("{}: channel {name}: {what}", at(span))
        };
        let kind = Kind::parse(ch.kind.get_ref()).ok_or_else(|| {
            err(
                ch.kind.span(),
                format!(
                    "kind {:?} is not webhook, slack, dingtalk, wecom or feishu",
                    ch.kind.get_ref()
                ),
            )
        })?;
        // Either the value or the name of a variable holding it, not both.
        let either = |value: &Option<Spanned<String>>,
                      var: &Option<Spanned<String>>,
                      key: &str|
         -> Result<Option<Given>, String> {
            match (value, var) {
                (Some(_), Some(v)) => {
                    Err(err(v.span(), format!("give {key} or {key}_env, not both")))
                }
                (Some(v), None) => Ok(Some((Zeroizing::new(v.get_ref().clone()), v.span()))),
                (None, Some(v)) => match env(v.get_ref()).filter(|x| !x.is_empty()) {
                    Some(x) => Ok(Some((Zeroizing::new(x), v.span()))),
                    None => Err(err(
                        v.span(),
                        format!(
                            "{key}_env names {:?}, which is not set in the server's environment",
                            v.get_ref()
                        ),
                    )),
                },
                (None, None) => Ok(None),
            }
        };
        let (url_text, url_span) = either(&ch.url, &ch.url_env, "url")?
            .ok_or_else(|| err(ch_span.clone(), "needs url (or url_env)".into()))?;
        let url = url::Url::parse(url_text.trim())
            .ok()
            .filter(|u| u.scheme() == "https" && u.host().is_some())
            .ok_or_else(|| {
                err(
                    url_span,
                    "url must be an https:// URL with a host (not shown: it is a secret)".into(),
                )
            })?;
        let secret = match (either(&ch.secret, &ch.secret_env, "secret")?, kind) {
            (Some((s, span)), Kind::Webhook) => {
                Some(webhook_key(&s).map_err(|why| err(span, why))?)
            }
            (Some((s, _)), Kind::DingTalk | Kind::Feishu) => {
                Some(Zeroizing::new(s.trim().as_bytes().to_vec()))
            }
            (Some((_, span)), Kind::Slack | Kind::WeCom) => {
                return Err(err(
                    span,
                    format!(
                        "{} robots are not signed: their URL is the secret; remove secret",
                        kind.name()
                    ),
                ));
            }
            (None, Kind::Webhook) => {
                return Err(err(
                    ch_span,
                    "a webhook needs secret (or secret_env): whsec_ and the base64 of 24 to 64 \
                     random bytes, e.g. from `printf whsec_; head -c 32 /dev/urandom | base64`"
                        .into(),
                ));
            }
            (None, _) => None,
        };
        let min_rank = match &ch.min_severity {
            None => 2,
            Some(m) => crate::audit::severity_rank(m.get_ref()).ok_or_else(|| {
                err(
                    m.span(),
                    format!("min_severity {:?} is not low, medium or high", m.get_ref()),
                )
            })?,
        };
        let format = match (&ch.msgtype, kind) {
            (None, _) => Format::Text,
            (Some(m), Kind::DingTalk | Kind::WeCom) => match m.get_ref().as_str() {
                "text" => Format::Text,
                "markdown" => Format::Markdown,
                other => {
                    return Err(err(
                        m.span(),
                        format!("msgtype {other:?} is not text or markdown"),
                    ));
                }
            },
            (Some(m), _) => {
                return Err(err(
                    m.span(),
                    "msgtype applies to dingtalk and wecom channels only".into(),
                ));
            }
        };
        let limits = match (&ch.rate_limit, kind) {
            (None, _) => kind.vendor_limits(),
            (Some(r), Kind::Webhook) => {
                let t: crate::audit::Threshold = r
                    .get_ref()
                    .parse()
                    .map_err(|why: String| err(r.span(), format!("rate_limit: {why}")))?;
                vec![(t.count as u32, Duration::from_millis(t.window_ms as u64))]
            }
            (Some(r), _) => {
                return Err(err(
                    r.span(),
                    format!(
                        "rate_limit applies to webhook channels only ({} has its vendor's limits)",
                        kind.name()
                    ),
                ));
            }
        };
        let mut print = Sha256::new();
        let mut ca = Vec::new();
        if let Some(f) = &ch.ca_file {
            ca = std::fs::read(f.get_ref()).map_err(|e| {
                err(
                    f.span(),
                    format!("cannot read ca_file {}: {e}", f.get_ref().display()),
                )
            })?;
        }
        let client = client(&ca).map_err(|why| err(ch_span.clone(), why))?;
        for part in [
            name.as_bytes(),
            kind.name().as_bytes(),
            url.as_str().as_bytes(),
            secret.as_deref().map_or(&b""[..], Vec::as_slice),
            &[
                min_rank,
                ch.send_resolved.unwrap_or(true) as u8,
                format as u8,
            ],
            format!("{limits:?}").as_bytes(),
            &ca,
        ] {
            print.update((part.len() as u64).to_be_bytes());
            print.update(part);
        }
        config.channels.push(Arc::new(Channel {
            name,
            kind,
            url,
            secret,
            min_rank,
            send_resolved: ch.send_resolved.unwrap_or(true),
            format,
            limits,
            client,
            fingerprint: print.finalize().into(),
        }));
    }
    Ok(config)
}

/// `whsec_<base64>` → the key bytes (24 to 64 of them, as the Standard Webhooks spec asks).
fn webhook_key(s: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    use base64::Engine;
    let bad = || {
        "secret must be whsec_ followed by the base64 of 24 to 64 random bytes (Standard \
         Webhooks)"
            .to_owned()
    };
    let b64 = s.trim().strip_prefix("whsec_").ok_or_else(bad)?;
    let key = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| bad())?,
    );
    if !(24..=64).contains(&key.len()) {
        return Err(bad());
    }
    Ok(key)
}

/// The HTTP client of a channel: rustls with the system's roots plus `ca` (PEM), https
/// only, no redirects (a 3xx is a failure: the URL should be fixed, and a redirect would
/// carry the signed body elsewhere).
fn client(ca: &[u8]) -> Result<reqwest::Client, String> {
    let certs = if ca.is_empty() {
        Vec::new()
    } else {
        reqwest::Certificate::from_pem_bundle(ca).map_err(|e| format!("ca_file is not PEM: {e}"))?
    };
    reqwest::Client::builder()
        .use_rustls_tls()
        .https_only(true)
        .tls_certs_merge(certs)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("imadm/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {e}"))
}

/// `500ms`, `30s`, `10m`, `1h`: 100 ms to 1 day.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || "expected a duration such as 30s, 10m or 1h (100ms to 1d)".to_owned();
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let n: u64 = s[..split].parse().map_err(|_| bad())?;
    let ms = match &s[split..] {
        "ms" => n,
        "s" => n.saturating_mul(1000),
        "m" => n.saturating_mul(60_000),
        "h" => n.saturating_mul(3_600_000),
        "d" => n.saturating_mul(86_400_000),
        _ => return Err(bad()),
    };
    if !(100..=86_400_000).contains(&ms) {
        return Err(bad());
    }
    Ok(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn a_full_config_parses_with_defaults_and_vendor_limits() {
        let c = parse(
            &format!(
                r#"
failing_after = "2m"

[channel.siem]
kind = "webhook"
url = "https://siem.example/hook"
secret = "{SECRET}"
rate_limit = "10/1s"

[channel.ops-dingtalk]
kind = "dingtalk"
url_env = "DT_URL"
secret_env = "DT_SECRET"
min_severity = "high"
send_resolved = false
msgtype = "markdown"

[channel.lark]
kind = "feishu"
url = "https://open.feishu.cn/open-apis/bot/v2/hook/abc"
"#
            ),
            &|v| match v {
                "DT_URL" => Some("https://oapi.dingtalk.com/robot/send?access_token=t".into()),
                "DT_SECRET" => Some("SECabc".into()),
                _ => None,
            },
        )
        .unwrap();
        assert_eq!(c.failing_after, Duration::from_secs(120));
        assert_eq!(c.retry_min, Duration::from_secs(1));
        let names: Vec<&str> = c.channels.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["lark", "ops-dingtalk", "siem"]);
        let dt = c.channel("ops-dingtalk").unwrap();
        assert_eq!(
            (dt.kind, dt.min_rank, dt.send_resolved, dt.format),
            (Kind::DingTalk, 3, false, Format::Markdown)
        );
        assert_eq!(dt.secret(), Some(&b"SECabc"[..]));
        assert_eq!(dt.limits, [(20, Duration::from_secs(60))]);
        let lark = c.channel("lark").unwrap();
        assert_eq!((lark.min_rank, lark.send_resolved), (2, true));
        assert_eq!(lark.limits.len(), 2);
        assert!(lark.secret().is_none());
        let siem = c.channel("siem").unwrap();
        assert_eq!(siem.secret().unwrap().len(), 24);
        assert_eq!(siem.limits, [(10, Duration::from_secs(1))]);
        // Debug output carries neither URL nor secret.
        let dbg = format!("{c:?}");
        for secret in [
            "siem.example",
            "access_token",
            "SECabc",
            "C2FVsBQ",
            "hook/abc",
        ] {
            assert!(!dbg.contains(secret), "{secret} in {dbg}");
        }
    }

    /// Every refusal names the line; none shows a secret or a URL.
    #[test]
    fn errors_name_the_line_and_never_the_secret() {
        let cases: &[(&str, &str, usize)] = &[
            (
                "[channel.a]\nkind = \"webhook\"\nurl = \"https://x.example/p?token=SECRETURL\"\nsecret = \"whsec_c2hvcnQ=\"\n",
                "whsec_",
                4,
            ),
            (
                "[channel.a]\nkind = \"slack\"\nurl = \"http://hooks.slack.com/services/SECRETURL\"\n",
                "https://",
                3,
            ),
            (
                "[channel.a]\nkind = \"wecom\"\nurl = \"https://q.example/?key=SECRETURL\"\nsecret = \"SECRETVALUE\"\n",
                "not signed",
                4,
            ),
            ("[channel.a]\nkind = \"pager\"\n", "kind \"pager\"", 2),
            (
                "[channel.a]\nkind = \"slack\"\nurl = \"https://h.example/SECRETURL\"\nmin_severity = \"hgih\"\n",
                "min_severity",
                4,
            ),
            (
                "[channel.a]\nkind = \"slack\"\nurl = \"https://h.example/SECRETURL\"\nsecrte = \"SECRETVALUE\"\n",
                "unknown field",
                4,
            ),
            (
                "[channel.a]\nkind = \"feishu\"\nurl = \"https://h.example/SECRETURL\nsecret = \"SECRETVALUE\"\n",
                "line 3",
                3,
            ),
            (
                "[channel.a]\nkind = \"dingtalk\"\nurl_env = \"NOPE\"\n",
                "\"NOPE\", which is not set",
                3,
            ),
            (
                "[channel.a]\nkind = \"webhook\"\nurl = \"https://h.example/SECRETURL\"\n",
                "needs secret",
                1,
            ),
            ("failing_after = \"10 minutes\"\n", "failing_after", 1),
            (
                "[channel.\"bad name\"]\nkind = \"slack\"\nurl = \"https://h.example/SECRETURL\"\n",
                "channel name",
                1,
            ),
            (
                "[channel.a]\nkind = \"slack\"\nurl = \"https://h.example/SECRETURL\"\nrate_limit = \"5/1s\"\n",
                "webhook channels only",
                4,
            ),
        ];
        for (text, needle, line) in cases {
            let e = parse(text, &no_env).unwrap_err();
            assert!(e.contains(needle), "{text:?}: {e}");
            assert!(e.starts_with(&format!("line {line}:")), "{text:?}: {e}");
            assert!(
                !e.contains("SECRET"),
                "{text:?}: the error shows a secret: {e}"
            );
        }
    }

    #[test]
    fn the_file_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("notify.toml");
        std::fs::write(&p, "").unwrap();
        for (mode, ok) in [(0o600, true), (0o400, true), (0o640, false), (0o604, false)] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            let r = load(&p);
            assert_eq!(r.is_ok(), ok, "mode {mode:o}: {r:?}");
            if let Err(e) = r {
                assert!(e.contains("chmod 600"), "{e}");
            }
        }
    }

    #[test]
    fn durations_parse_strictly() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        for bad in ["", "10", "m", "50ms", "2d", "1w", "-1s", "1.5s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
