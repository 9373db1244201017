//! S3-compatible destinations of backup archives (`s3://BUCKET/PREFIX`): parsing the
//! location, the connection (AWS conventions), the streaming multipart upload that
//! `backup run` tees the ciphertext into, and streaming reads of archives and manifests.
//!
//! The connection follows the AWS conventions, each setting from the first place that has
//! it ([`resolve`]): the imadm profile's entry for the destination (`config.toml`, keyed
//! `s3://BUCKET[/PREFIX]`, its `aws_profile` choosing the AWS files' section), the profile's
//! `s3_endpoint`, `s3_region` and `s3_path_style`, the `AWS_*` environment, the AWS config
//! file (`AWS_CONFIG_FILE`, else `~/.aws/config`; `region`, `endpoint_url`,
//! `s3.addressing_style`). Keys: `AWS_ACCESS_KEY_ID` and co., else (and always for a
//! destination's `aws_profile`) the shared credentials file's section, else the config
//! file's. Secrets are never taken from argv or `config.toml`. Plain
//! `http://` endpoints are accepted on loopback only (a local test server); anything else
//! must be https.
//!
//! Atomicity: an upload is a multipart upload, completed only when the caller commits it
//! (after the snapshot's trailer checked out), aborted on any failure or when dropped
//! uncommitted; an archive smaller than one part is one PUT at commit. Either way nothing
//! is visible at the final key before the commit. The manifest object is written after the
//! archive and is the commit marker. The upload is driven part by part through
//! `MultipartStore`, so its id is known: a note of it ([`Pending`], under [`PENDING_DIR`])
//! is written before the first part and deleted after the completion or abort, and
//! `backup prune` aborts the uploads whose notes killed runs left behind.
//!
//! `object_store` is async; the CLI is not. Each [`Client`] owns a small tokio runtime
//! and blocks on it, so callers see `Read`/`Write`.

use std::fmt;
use std::io::{self, Read, Write};
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as ObjectPath;
use object_store::{
    ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, PutPayloadMut, RetryConfig,
};
use tokio::task::JoinSet;

use crate::error::{CliError, Kind, Result};

/// The smallest part sent but the last (S3's minimum is 5 MiB); a larger database gets
/// larger parts ([`PartPlan`]).
pub const PART_SIZE: usize = 8 << 20;
/// Parts uploading at once: with the part being filled, at most
/// `(PARTS_IN_FLIGHT + 1)` parts of ciphertext are held per S3 destination.
pub const PARTS_IN_FLIGHT: usize = 3;
/// S3's limits: parts per upload, bytes per part.
const MAX_PARTS: usize = 10_000;
const MAX_PART_SIZE: usize = 5 << 30;
/// Parts the server's size estimate is spread over; the rest of S3's 10,000 are twice
/// as large, for an archive that outgrows the estimate.
const PLANNED_PARTS: usize = 8_000;

/// How large each part of one upload is. The archive's size is not known until its end
/// (it is streamed), so the parts are sized from the server's estimate of the snapshot
/// (`x-imadm-size-estimate`) with a quarter more, in whole MiB, never under `PART_SIZE`:
/// memory stays `PARTS_IN_FLIGHT + 1` parts, and an archive of any size the estimate
/// allows fits S3's 10,000 parts instead of failing at the 10,001st.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartPlan {
    size: usize,
}

impl PartPlan {
    pub fn for_estimate(estimate: Option<u64>) -> PartPlan {
        const MIB: u64 = 1 << 20;
        let want = estimate.map_or(0, |e| {
            e.saturating_add(e / 4)
                .div_ceil(PLANNED_PARTS as u64)
                .div_ceil(MIB)
                .saturating_mul(MIB)
        });
        let size = want.clamp(PART_SIZE as u64, (MAX_PART_SIZE / 2) as u64) as usize;
        PartPlan { size }
    }

    /// The size of part `index` (from 0); `None` past S3's last part.
    pub fn size_of(&self, index: usize) -> Option<usize> {
        match index {
            i if i < PLANNED_PARTS => Some(self.size),
            i if i < MAX_PARTS => Some(self.size * 2),
            _ => None,
        }
    }

    /// The largest archive the plan can upload.
    pub fn capacity(&self) -> u64 {
        (PLANNED_PARTS * self.size + (MAX_PARTS - PLANNED_PARTS) * self.size * 2) as u64
    }
}

/// A `--to` destination: a local directory or an S3 location.
#[derive(Debug, Clone)]
pub enum Location {
    Dir(std::path::PathBuf),
    S3(S3Url),
}

impl FromStr for Location {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Location, String> {
        if s.starts_with("s3://") {
            s.parse().map(Location::S3)
        } else {
            Ok(Location::Dir(s.into()))
        }
    }
}

/// `s3://BUCKET/PREFIX`: a bucket and a key prefix (possibly empty, no trailing `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    pub prefix: String,
}

impl FromStr for S3Url {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<S3Url, String> {
        let rest = s
            .strip_prefix("s3://")
            .ok_or_else(|| format!("{s:?} does not start with s3://"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        // S3's bucket naming rules (3-63 of a-z 0-9 . -), which also keep the bucket out
        // of the way of the virtual-host name and the path.
        let valid = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !valid {
            return Err(format!(
                "{bucket:?} is not a bucket name (3 to 63 characters a-z, 0-9, '.', '-')"
            ));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|p| p == "." || p == "..")
            || prefix.contains("//")
            || prefix.chars().any(char::is_control)
        {
            return Err(format!("{prefix:?} is not a usable key prefix"));
        }
        Ok(S3Url {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }
}

impl fmt::Display for S3Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.prefix.as_str() {
            "" => write!(f, "s3://{}", self.bucket),
            p => write!(f, "s3://{}/{p}", self.bucket),
        }
    }
}

impl S3Url {
    /// The key of `name` under the prefix.
    pub fn key(&self, name: &str) -> String {
        match self.prefix.as_str() {
            "" => name.to_owned(),
            p => format!("{p}/{name}"),
        }
    }
}

/// A failure talking to the S3 service, carried through `io::Error` (the encryption
/// thread's writers) to the exit code `CliError::from` gives it.
#[derive(Debug)]
pub struct Failure {
    pub kind: Kind,
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

impl Failure {
    fn new(what: &str, e: object_store::Error) -> Failure {
        use object_store::Error as E;
        let kind = match &e {
            E::NotFound { .. } => Kind::NotFound,
            E::PermissionDenied { .. } => Kind::Forbidden,
            E::Unauthenticated { .. } => Kind::Auth,
            _ => Kind::Unavailable,
        };
        Failure {
            kind,
            message: format!("{what}: {e}"),
        }
    }

    pub fn into_cli(self) -> CliError {
        let hint = match self.kind {
            Kind::Auth | Kind::Forbidden => {
                "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or AWS_SESSION_TOKEN) and the bucket policy"
            }
            Kind::NotFound => "check the bucket and the key (imadm backup list s3://BUCKET/PREFIX)",
            _ => "check AWS_ENDPOINT_URL and AWS_REGION and that the service is reachable; retry",
        };
        CliError::new(self.kind, self.message).hint(hint)
    }
}

fn io_err(what: &str, e: object_store::Error) -> io::Error {
    io::Error::other(Failure::new(what, e))
}

fn cli_err(what: &str, e: object_store::Error) -> CliError {
    Failure::new(what, e).into_cli()
}

/// The imadm profile's S3 settings (`config.toml`): profile-wide, and per destination.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub path_style: Option<bool>,
    pub destinations: std::collections::BTreeMap<String, crate::config::S3Destination>,
}

impl Settings {
    pub fn of(p: &crate::config::Profile) -> Settings {
        Settings {
            endpoint: p.s3_endpoint.clone(),
            region: p.s3_region.clone(),
            path_style: p.s3_path_style,
            destinations: p.s3.clone(),
        }
    }

    /// The profile's entry for `url`: the longest `s3://BUCKET[/PREFIX]` key that is
    /// `url` or one of its parents.
    fn destination(&self, url: &S3Url) -> Result<Option<&crate::config::S3Destination>> {
        let mut best: Option<(usize, &crate::config::S3Destination)> = None;
        for (key, d) in &self.destinations {
            let at: S3Url = key.parse().map_err(|e| {
                CliError::usage(format!("config.toml: the S3 destination {key:?}: {e}"))
                    .hint("key each destination's table by s3://BUCKET or s3://BUCKET/PREFIX")
            })?;
            let under = at.prefix.is_empty()
                || url.prefix == at.prefix
                || url.prefix.starts_with(&format!("{}/", at.prefix));
            if at.bucket == url.bucket && under && best.is_none_or(|(n, _)| at.prefix.len() >= n) {
                best = Some((at.prefix.len(), d));
            }
        }
        Ok(best.map(|(_, d)| d))
    }
}

/// What a connection uses, each setting from the first place that has it: the imadm
/// profile's entry for the destination, the profile's `s3_*`, the `AWS_*` environment, the
/// AWS config file's profile. Keys come from the environment, or from the shared
/// credentials (else config) file's section when the destination names an `aws_profile`
/// or the environment has no `AWS_ACCESS_KEY_ID`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Effective {
    endpoint: Option<String>,
    region: Option<String>,
    path_style: Option<bool>,
    /// `(aws_access_key_id, aws_secret_access_key, aws_session_token)` from a file; the
    /// environment's keys are then not used.
    keys: Option<(String, String, Option<String>)>,
}

/// Sections of an AWS INI file (credentials or config): `section` → keys (lower case), a
/// nested block (`s3 =` then indented `key = value`) as `s3.key`.
fn ini_section(text: &str, section: &str) -> Option<Vec<(String, String)>> {
    let mut in_section = false;
    let mut found = None::<Vec<(String, String)>>;
    let mut nested: Option<String> = None;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_section = name.split_whitespace().collect::<Vec<_>>().join(" ") == section;
            nested = None;
            if in_section {
                found.get_or_insert_with(Vec::new);
            }
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_owned());
        let indented = raw.starts_with([' ', '\t']);
        if !indented {
            nested = v.is_empty().then(|| k.clone());
        }
        if in_section {
            let k = match (&nested, indented) {
                (Some(n), true) => format!("{n}.{k}"),
                _ => k,
            };
            found.get_or_insert_with(Vec::new).push((k, v));
        }
    }
    found
}

fn value<'a>(keys: &'a [(String, String)], name: &str) -> Option<&'a str> {
    keys.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Resolve the settings of `url` (see [`Effective`]); `env` and `read` stand for the
/// process environment and the file system, `home` for the home directory.
fn resolve(
    settings: &Settings,
    url: &S3Url,
    env: &dyn Fn(&str) -> Option<String>,
    read: &dyn Fn(&std::path::Path) -> Option<String>,
    home: Option<&std::path::Path>,
) -> Result<Effective> {
    let dest = settings.destination(url)?;
    let named = dest.and_then(|d| d.aws_profile.clone());
    let from_env = env("AWS_PROFILE").filter(|p| !p.is_empty());
    let explicit = named.clone().or(from_env);
    let profile = explicit.clone().unwrap_or_else(|| "default".into());
    let file = |var: &str, default: &str| {
        env(var)
            .map(std::path::PathBuf::from)
            .or_else(|| home.map(|h| h.join(default)))
    };
    let credentials_path = file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
    let config_path = file("AWS_CONFIG_FILE", ".aws/config");
    let credentials = credentials_path
        .as_deref()
        .and_then(read)
        .and_then(|t| ini_section(&t, &profile));
    let config_section = match profile.as_str() {
        "default" => "default".to_owned(),
        p => format!("profile {p}"),
    };
    let config = config_path
        .as_deref()
        .and_then(read)
        .and_then(|t| ini_section(&t, &config_section));
    if let Some(p) = &explicit
        && credentials.is_none()
        && config.is_none()
    {
        let shown = |p: &Option<std::path::PathBuf>| {
            p.as_deref().map_or("-".into(), |p| p.display().to_string())
        };
        let whose = match &named {
            Some(_) => format!("aws_profile {p} of {url} in config.toml"),
            None => format!("AWS_PROFILE={p}"),
        };
        return Err(CliError::usage(format!(
            "{whose}: no such section in {} or {}",
            shown(&credentials_path),
            shown(&config_path)
        ))
        .hint("add [PROFILE] with aws_access_key_id and aws_secret_access_key to the credentials file, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"));
    }
    let config = config.unwrap_or_default();
    let cfg = |k: &str| value(&config, k).map(str::to_owned);
    let env_any = |names: &[&str]| names.iter().find_map(|n| env(n).filter(|v| !v.is_empty()));
    // `AWS_VIRTUAL_HOSTED_STYLE_REQUEST` is object_store's own (its endpoint then names the
    // bucket already): left to it, and over the config file.
    let path_style_cfg = match value(&config, "s3.addressing_style") {
        _ if env("AWS_VIRTUAL_HOSTED_STYLE_REQUEST").is_some() => None,
        Some("path") => Some(true),
        Some("virtual") => Some(false),
        _ => None,
    };
    // Keys from a file when the destination names a profile, or the environment has none.
    let keys = if named.is_some() || env("AWS_ACCESS_KEY_ID").is_none() {
        let from = credentials
            .as_deref()
            .filter(|c| value(c, "aws_access_key_id").is_some())
            .unwrap_or(&config);
        match (
            value(from, "aws_access_key_id"),
            value(from, "aws_secret_access_key"),
        ) {
            (Some(id), Some(secret)) => Some((
                id.to_owned(),
                secret.to_owned(),
                value(from, "aws_session_token").map(str::to_owned),
            )),
            _ => None,
        }
    } else {
        None
    };
    Ok(Effective {
        endpoint: dest
            .and_then(|d| d.endpoint.clone())
            .or_else(|| settings.endpoint.clone())
            .or_else(|| env_any(&["AWS_ENDPOINT_URL", "AWS_ENDPOINT"]))
            .or_else(|| cfg("endpoint_url")),
        region: dest
            .and_then(|d| d.region.clone())
            .or_else(|| settings.region.clone())
            .or_else(|| env_any(&["AWS_REGION", "AWS_DEFAULT_REGION"]))
            .or_else(|| cfg("region")),
        path_style: dest
            .and_then(|d| d.path_style)
            .or(settings.path_style)
            .or(path_style_cfg),
        keys,
    })
}

/// The endpoint of `bucket`: virtual-host addressing puts the bucket in the host name
/// (`https://BUCKET.HOST`), which `object_store` expects of a custom endpoint.
fn bucket_endpoint(endpoint: &str, bucket: &str, virtual_host: bool) -> Result<String> {
    if !virtual_host {
        return Ok(endpoint.to_owned());
    }
    let mut u = url::Url::parse(endpoint)
        .map_err(|e| CliError::usage(format!("the S3 endpoint {endpoint:?} is not a URL: {e}")))?;
    let host = match u.host() {
        Some(url::Host::Domain(d)) => d.to_owned(),
        _ => {
            return Err(CliError::usage(format!(
                "virtual-host addressing needs a host name in the S3 endpoint, not {endpoint:?}"
            ))
            .hint("set path_style = true (s3_path_style) for an endpoint given by IP address"));
        }
    };
    u.set_host(Some(&format!("{bucket}.{host}"))).map_err(|e| {
        CliError::usage(format!("cannot address bucket {bucket} at {endpoint}: {e}"))
    })?;
    Ok(u.as_str().trim_end_matches('/').to_owned())
}

/// The `AWS_*` environment as `object_store` reads it, without the keys when they come
/// from a file instead.
fn builder_from_env(with_keys: bool) -> AmazonS3Builder {
    let mut b = AmazonS3Builder::new();
    for (k, v) in std::env::vars() {
        if !k.starts_with("AWS_") {
            continue;
        }
        let Ok(key) = k.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() else {
            continue;
        };
        let is_key = matches!(
            key,
            AmazonS3ConfigKey::AccessKeyId
                | AmazonS3ConfigKey::SecretAccessKey
                | AmazonS3ConfigKey::Token
        );
        if with_keys || !is_key {
            b = b.with_config(key, v);
        }
    }
    b
}

/// S3 Object Lock retention of the objects a run writes (`--object-lock-days`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LockMode {
    /// Nobody can delete or shorten it before the date, the account's root user neither
    Compliance,
    /// Users with s3:BypassGovernanceRetention can still delete it
    Governance,
}

#[derive(Debug, Clone)]
pub struct Lock {
    pub mode: LockMode,
    /// RFC 3339, UTC, whole seconds.
    pub until: String,
    pub until_unix: i64,
}

impl Lock {
    /// Retention for `days` days from `now` (Unix seconds).
    pub fn new(mode: LockMode, days: u32, now: i64) -> Lock {
        let until_unix = now + i64::from(days) * 86_400;
        let t = time::OffsetDateTime::from_unix_timestamp(until_unix)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        Lock {
            mode,
            until_unix,
            until: format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
        }
    }

    /// `COMPLIANCE` or `GOVERNANCE`, as S3 spells it.
    pub fn mode_name(&self) -> &'static str {
        match self.mode {
            LockMode::Compliance => "COMPLIANCE",
            LockMode::Governance => "GOVERNANCE",
        }
    }

    fn headers(&self) -> http::HeaderMap {
        let mode = self.mode_name();
        let mut h = http::HeaderMap::new();
        h.insert(
            "x-amz-object-lock-mode",
            http::HeaderValue::from_static(mode),
        );
        if let Ok(v) = http::HeaderValue::from_str(&self.until) {
            h.insert("x-amz-object-lock-retain-until-date", v);
        }
        h
    }
}

/// What checking and setting a retention takes beyond `object_store`'s calls: its
/// signer, with the client's region, and a plain HTTP client of the same options.
#[derive(Clone)]
struct Retention {
    lock: Lock,
    region: String,
    http: object_store::client::HttpClient,
}

const NO_LOCK_HINT: &str =
    "the bucket needs Object Lock enabled (created with it); or run without --object-lock-days";

impl Retention {
    /// A request to the object `key` (`?query`), signed with the store's credentials:
    /// its URL is the one the store itself would use (addressing style and endpoint).
    async fn call(
        &self,
        store: &AmazonS3,
        method: http::Method,
        key: &ObjectPath,
        query: Option<&str>,
        body: Bytes,
    ) -> Result<object_store::client::HttpResponse> {
        use object_store::signer::Signer;
        let failed = |e: String| {
            CliError::new(Kind::Unavailable, format!("S3 Object Lock of {key}: {e}")).hint(
                "check AWS_ENDPOINT_URL and AWS_REGION and that the service is reachable; retry",
            )
        };
        let mut url = store
            .signed_url(method.clone(), key, Duration::from_secs(60))
            .await
            .map_err(|e| cli_err(&format!("cannot reach {key}"), e))?;
        url.set_query(query);
        let mut req = http::Request::builder().method(method).uri(url.as_str());
        if !body.is_empty() {
            use base64::Engine as _;
            use md5::Digest as _;
            // PutObjectRetention requires it.
            let md5 = base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(&body));
            req = req.header("content-md5", md5);
        }
        let mut req = req
            .body(object_store::client::HttpRequestBody::from(body))
            .map_err(|e| failed(e.to_string()))?;
        let cred = store
            .credentials()
            .get_credential()
            .await
            .map_err(|e| cli_err(&format!("cannot sign a request for {key}"), e))?;
        object_store::aws::AwsAuthorizer::new(&cred, "s3", &self.region)
            .try_authorize(&mut req, None)
            .map_err(|e| failed(e.to_string()))?;
        let resp = self
            .http
            .execute(req)
            .await
            .map_err(|e| failed(e.to_string()))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let code = match resp.into_body().bytes().await {
            Ok(b) => xml_code(&b).unwrap_or_default(),
            Err(_) => String::new(),
        };
        let kind = match status.as_u16() {
            401 => Kind::Auth,
            403 => Kind::Forbidden,
            404 => Kind::NotFound,
            400 | 405 | 409 | 501 => Kind::Conflict,
            _ => Kind::Unavailable,
        };
        let hint = match kind {
            Kind::Auth | Kind::Forbidden => {
                "the credential needs s3:GetObjectRetention and s3:PutObjectRetention on the bucket"
            }
            _ => NO_LOCK_HINT,
        };
        Err(CliError::new(kind, format!("the service answered {status} {code}")).hint(hint))
    }

    /// Whether the service holds `key` under at least this retention (its mode, until
    /// no earlier), as its HEAD says.
    async fn holds(&self, store: &AmazonS3, key: &ObjectPath) -> Result<bool> {
        let resp = self
            .call(store, http::Method::HEAD, key, None, Bytes::new())
            .await?;
        let h = resp.headers();
        let header = |n: &str| h.get(n).and_then(|v| v.to_str().ok());
        let until = header("x-amz-object-lock-retain-until-date").and_then(|d| {
            time::OffsetDateTime::parse(d, &time::format_description::well_known::Rfc3339).ok()
        });
        Ok(
            header("x-amz-object-lock-mode") == Some(self.lock.mode_name())
                && until.is_some_and(|u| u.unix_timestamp() >= self.lock.until_unix),
        )
    }

    /// PutObjectRetention: this retention on the object `key`.
    async fn set(&self, store: &AmazonS3, key: &ObjectPath) -> Result<()> {
        let body = format!(
            "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>{}</Mode><RetainUntilDate>{}</RetainUntilDate></Retention>",
            self.lock.mode_name(),
            self.lock.until
        );
        self.call(
            store,
            http::Method::PUT,
            key,
            Some("retention"),
            body.into(),
        )
        .await
        .map(drop)
    }
}

/// The `<Code>` of an S3 error document.
fn xml_code(body: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(body).ok()?;
    let start = s.find("<Code>")? + "<Code>".len();
    let len = s[start..].find("</Code>")?;
    Some(s[start..start + len].to_owned())
}

/// A connection to one bucket.
#[derive(Clone)]
pub struct Client {
    rt: Arc<tokio::runtime::Runtime>,
    store: Arc<AmazonS3>,
    /// The same without Object Lock headers, for the upload notes (deleted again).
    plain: Arc<AmazonS3>,
    pub url: S3Url,
    /// The retention every object this client writes must be held under, checked.
    lock: Option<Retention>,
}

impl Client {
    /// Connect to `url`'s bucket with the AWS environment's settings. Nothing is sent yet.
    pub fn connect(url: &S3Url, settings: &Settings) -> Result<Client> {
        Client::connect_with(url, settings, None)
    }

    /// Like [`Client::connect`], for writing objects under an Object Lock retention: every
    /// request carries the retention headers (signed), and every upload a SHA-256
    /// checksum, which S3 requires of a PUT with a retention.
    pub fn connect_locked(url: &S3Url, settings: &Settings, lock: &Lock) -> Result<Client> {
        Client::connect_with(url, settings, Some(lock))
    }

    fn connect_with(url: &S3Url, settings: &Settings, lock: Option<&Lock>) -> Result<Client> {
        let home = directories::BaseDirs::new().map(|d| d.home_dir().to_owned());
        let eff = resolve(
            settings,
            url,
            &|k| std::env::var(k).ok(),
            &|p| std::fs::read_to_string(p).ok(),
            home.as_deref(),
        )?;
        Client::build(url, eff, lock)
    }

    fn build(url: &S3Url, eff: Effective, lock: Option<&Lock>) -> Result<Client> {
        let mut builder = builder_from_env(eff.keys.is_none()).with_bucket_name(&url.bucket);
        if let Some((id, secret, token)) = eff.keys {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret);
            if let Some(t) = token {
                builder = builder.with_token(t);
            }
        }
        // The parts go over TLS (plain http on loopback only), and the archive's own
        // SHA-256 is checked against its manifest: a second SHA-256 of every byte for the
        // signature (and the service's check of it) would only slow the upload. An Object
        // Lock upload still carries its x-amz-checksum-sha256. AWS_UNSIGNED_PAYLOAD=false
        // restores signed payloads for a service that wants them.
        if std::env::var_os("AWS_UNSIGNED_PAYLOAD").is_none() {
            builder = builder.with_unsigned_payload(true);
        }
        if let Some(r) = &eff.region {
            builder = builder.with_region(r);
        }
        if let Some(p) = eff.path_style {
            builder = builder.with_virtual_hosted_style_request(!p);
        }
        if let Some(e) = &eff.endpoint {
            check_endpoint(e)?;
            builder = builder.with_endpoint(bucket_endpoint(
                e,
                &url.bucket,
                eff.path_style == Some(false),
            )?);
        }
        let allow_http = eff
            .endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("http://"));
        let options = ClientOptions::new()
            .with_allow_http(allow_http)
            .with_connect_timeout(Duration::from_secs(10))
            .with_timeout(Duration::from_secs(120));
        builder = builder.with_retry(RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(60),
            ..RetryConfig::default()
        });
        let build = |b: AmazonS3Builder| {
            b.build().map(Arc::new).map_err(|e| {
                CliError::usage(format!("cannot use {url}: {e}"))
                    .hint("set AWS_REGION, and AWS_ENDPOINT_URL for a service other than AWS")
            })
        };
        let plain = build(builder.clone().with_client_options(options.clone()))?;
        let retention = match lock {
            Some(lock) => {
                use object_store::client::HttpConnector;
                let http = object_store::client::ReqwestConnector::default()
                    .connect(&options)
                    .map_err(|e| cli_err(&format!("cannot use {url}"), e))?;
                Some(Retention {
                    lock: lock.clone(),
                    region: builder
                        .get_config_value(&AmazonS3ConfigKey::Region)
                        .unwrap_or_else(|| "us-east-1".into()),
                    http,
                })
            }
            None => None,
        };
        let store = match lock {
            Some(lock) => build(
                builder
                    .with_client_options(options.with_default_headers(lock.headers()))
                    .with_checksum_algorithm(object_store::aws::Checksum::SHA256),
            )?,
            None => plain.clone(),
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("imadm-s3")
            .enable_all()
            .build()?;
        Ok(Client {
            rt: Arc::new(rt),
            store,
            plain,
            url: url.clone(),
            lock: retention,
        })
    }

    /// An upload to the key `name` names under the prefix; the name may be set after
    /// the upload started receiving bytes, but before its first part is full.
    pub fn upload(&self, name: Arc<OnceLock<String>>, plan: PartPlan) -> Upload {
        tracing::debug!(
            "{}: parts of {} MiB (room for {} GiB)",
            self.url,
            plan.size >> 20,
            plan.capacity() >> 30
        );
        Upload {
            client: self.clone(),
            name,
            plan,
            state: State::Pending(PutPayloadMut::new()),
        }
    }

    /// Write a small object whole (one PUT: visible complete or not at all).
    pub fn put(&self, name: &str, bytes: Vec<u8>) -> Result<()> {
        let key = ObjectPath::from(self.url.key(name));
        self.rt
            .block_on(self.store.put(&key, PutPayload::from(bytes)))
            .map(drop)
            .map_err(|e| cli_err(&format!("cannot write {}", self.display(name)), e))?;
        self.hold(&key, &self.display(name))
    }

    /// With a retention asked for, make sure the service holds the object `key` under
    /// it, and remove the object if it cannot be made to: an archive or manifest that
    /// says it is locked while any credential can delete it would be worse than none.
    /// The service is asked, not trusted: Ceph RGW before release 17, for one, keeps no
    /// retention from a multipart upload's headers. What it did not keep is set with
    /// PutObjectRetention and read back.
    fn hold(&self, key: &ObjectPath, shown: &str) -> Result<()> {
        let Some(r) = &self.lock else { return Ok(()) };
        let lost = format!(
            "{shown}: the service did not keep the S3 Object Lock retention ({} until {})",
            r.lock.mode_name(),
            r.lock.until
        );
        let held = self.rt.block_on(async {
            if r.holds(&self.store, key).await? {
                return Ok(true);
            }
            tracing::debug!("{shown}: no retention kept from the upload; PutObjectRetention");
            if let Err(e) = r.set(&self.store, key).await {
                let message = format!("{lost}, nor set it: {}", e.message);
                return Err(CliError::new(e.kind, message).hint(NO_LOCK_HINT));
            }
            r.holds(&self.store, key).await
        });
        let err = match held {
            Ok(true) => return Ok(()),
            Ok(false) => CliError::new(Kind::Conflict, lost).hint(NO_LOCK_HINT),
            Err(e) => e,
        };
        // Not held, so deletable: no copy is left that claims a retention it lacks.
        if let Err(e) = self.rt.block_on(self.store.delete(key)) {
            tracing::warn!("{shown}: left behind, without its retention: {e}");
        }
        Err(err)
    }

    /// Delete `name` (refused while an Object Lock retention holds it).
    pub fn delete(&self, name: &str) -> Result<()> {
        let key = ObjectPath::from(self.url.key(name));
        self.rt
            .block_on(self.store.delete(&key))
            .map_err(|e| cli_err(&format!("cannot delete {}", self.display(name)), e))
    }

    /// `s3://BUCKET/PREFIX/NAME`, for messages.
    pub fn display(&self, name: &str) -> String {
        format!("s3://{}/{}", self.url.bucket, self.url.key(name))
    }
}

/// An endpoint is `https://`, or plain `http://` on loopback only (a local test server).
fn check_endpoint(endpoint: &str) -> Result<()> {
    match url::Url::parse(endpoint) {
        Ok(u) if u.scheme() == "https" => Ok(()),
        Ok(u) if u.scheme() == "http" && is_loopback(&u) => Ok(()),
        _ => Err(CliError::usage(format!(
            "the S3 endpoint {endpoint:?} is not an https URL"
        ))
        .hint(
            "set AWS_ENDPOINT_URL (or the profile's s3_endpoint) to https://HOST[:PORT]; plain http only on 127.0.0.1",
        )),
    }
}

fn is_loopback(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

/// Where `backup run` notes the multipart uploads it has under way, beside the archives:
/// `PREFIX/.imadm-pending/NAME.json`. A run killed mid-upload leaves its note, which
/// `backup prune` finds (S3-compatible services do not all list multipart uploads).
/// Listings of the prefix see it as a sub-prefix, never as an archive.
pub const PENDING_DIR: &str = ".imadm-pending";

/// The note of one multipart upload under way (no secret in it: the upload id alone
/// grants nothing without the bucket's credentials).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pending {
    /// The object's key (the archive under the prefix).
    pub key: String,
    pub upload_id: String,
    /// Unix seconds, the CLI's clock, when the upload was created.
    pub started_at: i64,
}

enum State {
    /// Bytes of the first part, before the upload is created (its key is not known at
    /// the start of the stream).
    Pending(PutPayloadMut),
    Started(Multipart),
    Done,
}

/// A multipart upload under way: its id (so an abort needs no listing), its note, the
/// part being filled and those uploading.
struct Multipart {
    key: ObjectPath,
    id: object_store::MultipartId,
    note: String,
    filling: PutPayloadMut,
    next_part: usize,
    done: Vec<Option<PartId>>,
    in_flight: JoinSet<object_store::Result<(usize, PartId)>>,
}

/// The ciphertext's way into one S3 object (a writer of [`crate::encrypt::Tee`]).
pub struct Upload {
    client: Client,
    name: Arc<OnceLock<String>>,
    plan: PartPlan,
    state: State,
}

impl Upload {
    fn name(&self) -> io::Result<&str> {
        self.name
            .get()
            .map(String::as_str)
            .ok_or_else(|| io::Error::other("the archive's name is not known yet"))
    }

    /// Create the multipart upload and note it before any part is sent.
    fn start(&mut self) -> io::Result<()> {
        let State::Pending(first) = std::mem::replace(&mut self.state, State::Done) else {
            return Ok(());
        };
        let name = self.name()?.to_owned();
        let key = ObjectPath::from(self.client.url.key(&name));
        let shown = self.where_();
        let c = &self.client;
        let id =
            c.rt.block_on(c.store.create_multipart(&key))
                .map_err(|e| io_err(&format!("cannot start the upload to {shown}"), e))?;
        let note = pending_name(&name);
        let body = serde_json::to_vec(&Pending {
            key: key.to_string(),
            upload_id: id.clone(),
            started_at: crate::context::system_clock(),
        })?;
        // The note goes through the client without a retention: it is deleted again.
        if let Err(e) = c.rt.block_on(
            c.plain
                .put(&ObjectPath::from(c.url.key(&note)), PutPayload::from(body)),
        ) {
            let _ = c.rt.block_on(c.store.abort_multipart(&key, &id));
            return Err(io_err(&format!("cannot start the upload to {shown}"), e));
        }
        let mut m = Multipart {
            key,
            id,
            note,
            filling: PutPayloadMut::new(),
            next_part: 0,
            done: Vec::new(),
            in_flight: JoinSet::new(),
        };
        let sent = m.send(c, first);
        self.state = State::Started(m);
        sent.map_err(|e| io_err(&format!("upload to {shown} failed"), e))
    }

    /// The part being filled is full: send it, waiting while `PARTS_IN_FLIGHT` are
    /// uploading (back pressure: bounded memory, however slow the service).
    fn send_full_part(&mut self) -> io::Result<()> {
        let shown = self.where_();
        let m = match &mut self.state {
            State::Pending(_) => return self.start(),
            State::Started(m) => m,
            State::Done => return Ok(()),
        };
        let part = std::mem::replace(&mut m.filling, PutPayloadMut::new());
        m.send(&self.client, part)
            .map_err(|e| io_err(&format!("upload to {shown} failed"), e))
    }

    fn where_(&self) -> String {
        match self.name.get() {
            Some(n) => self.client.display(n),
            None => self.client.url.to_string(),
        }
    }

    /// Complete the upload: from here on the archive is visible under its final key.
    pub fn commit(mut self) -> Result<String> {
        let name = self.name()?.to_owned();
        let shown = self.where_();
        let c = self.client.clone();
        match std::mem::replace(&mut self.state, State::Done) {
            State::Pending(bytes) => {
                let key = ObjectPath::from(c.url.key(&name));
                c.rt.block_on(c.store.put(&key, bytes.freeze()))
                    .map(drop)
                    .map_err(|e| cli_err(&format!("cannot write {shown}"), e))?;
                c.hold(&key, &shown)?;
            }
            State::Started(mut m) => {
                let complete = (|| {
                    let t = std::time::Instant::now();
                    if m.filling.content_length() > 0 || m.next_part == 0 {
                        let last = std::mem::take(&mut m.filling);
                        m.send(&c, last)?;
                    }
                    m.wait_for(&c, 0)?;
                    tracing::debug!("{shown}: last parts sent in {:?}", t.elapsed());
                    let t = std::time::Instant::now();
                    let parts = m.done.drain(..).flatten().collect();
                    let done =
                        c.rt.block_on(c.store.complete_multipart(&m.key, &m.id, parts));
                    // The service's share: some copy the parts into the object here.
                    tracing::debug!("{shown}: CompleteMultipartUpload took {:?}", t.elapsed());
                    done
                })();
                if let Err(e) = complete {
                    // Put back, so that dropping `self` aborts it.
                    self.state = State::Started(m);
                    return Err(cli_err(
                        &format!("cannot complete the upload to {shown}"),
                        e,
                    ));
                }
                c.forget(&m.note);
                c.hold(&m.key, &shown)?;
            }
            State::Done => {}
        }
        Ok(shown)
    }
}

impl Multipart {
    fn send(&mut self, c: &Client, part: PutPayloadMut) -> object_store::Result<()> {
        self.wait_for(c, PARTS_IN_FLIGHT - 1)?;
        let (store, key, id, idx) = (
            c.store.clone(),
            self.key.clone(),
            self.id.clone(),
            self.next_part,
        );
        self.next_part += 1;
        self.in_flight.spawn_on(
            async move {
                let p = store.put_part(&key, &id, idx, part.freeze()).await?;
                Ok((idx, p))
            },
            c.rt.handle(),
        );
        Ok(())
    }

    /// Wait until at most `left` parts are uploading; the first failure is returned.
    fn wait_for(&mut self, c: &Client, left: usize) -> object_store::Result<()> {
        while self.in_flight.len() > left {
            let joined = c.rt.block_on(self.in_flight.join_next());
            let Some(joined) = joined else { break };
            let (idx, part) = joined.map_err(|e| object_store::Error::Generic {
                store: "S3",
                source: Box::new(e),
            })??;
            if self.done.len() <= idx {
                self.done.resize(idx + 1, None);
            }
            self.done[idx] = Some(part);
        }
        Ok(())
    }
}

impl Write for Upload {
    /// Fills the part up to its planned size exactly, then sends it. The part is held as
    /// the blocks the writes came in (`PutPayloadMut`): whole 8 MiB buffers, freed on the
    /// runtime's threads, were kept by the allocator and raised the peak RSS.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let (part, index) = match &mut self.state {
            State::Pending(part) => (part, 0),
            State::Started(m) => (&mut m.filling, m.next_part),
            State::Done => return Err(io::Error::other("the upload is already finished")),
        };
        let Some(size) = self.plan.size_of(index) else {
            return Err(io::Error::other(format!(
                "the archive outgrew the {MAX_PARTS} parts S3 allows ({} GiB in parts of {} \
                 and {} MiB; the server estimated the snapshot much smaller)",
                self.plan.capacity() >> 30,
                self.plan.size >> 20,
                self.plan.size >> 19
            )));
        };
        let n = buf.len().min(size - part.content_length());
        part.extend_from_slice(&buf[..n]);
        if part.content_length() == size {
            self.send_full_part()?;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Upload {
    /// Uncommitted (an error, an interrupted stream): abort, so no parts are left behind,
    /// then drop the note (best effort: what remains is found by `backup prune`).
    fn drop(&mut self) {
        if let State::Started(mut m) = std::mem::replace(&mut self.state, State::Done) {
            let c = self.client.clone();
            m.in_flight.abort_all();
            c.rt.block_on(async { while m.in_flight.join_next().await.is_some() {} });
            match c.rt.block_on(c.store.abort_multipart(&m.key, &m.id)) {
                Ok(()) => c.forget(&m.note),
                Err(e) => tracing::warn!("could not abort the upload to {}: {e}", self.where_()),
            }
        }
    }
}

/// The note's name under the prefix for the archive `name`.
fn pending_name(name: &str) -> String {
    format!("{PENDING_DIR}/{name}.json")
}

/// The note `file` (under [`PENDING_DIR`]) of an upload under `url`, if it is usable:
/// only the upload of the archive it is named after, so that a note written by someone
/// else cannot make prune abort another key's upload.
fn read_note(url: &S3Url, file: &str, bytes: &[u8]) -> std::result::Result<Pending, String> {
    let p: Pending = serde_json::from_slice(bytes).map_err(|e| format!("unreadable: {e}"))?;
    let archive = file.strip_suffix(".json").unwrap_or_default();
    if !archive.ends_with(".age") || p.key != url.key(archive) {
        return Err(format!("names {:?}, not the archive {archive:?}", p.key));
    }
    Ok(p)
}

/// What `backup prune` found of a noted upload.
#[derive(Debug)]
pub struct Noted {
    /// `s3://BUCKET/PREFIX/.imadm-pending/NAME.json`.
    pub note: String,
    note_name: String,
    /// The note, or why it cannot be used (then it is left alone).
    pub pending: std::result::Result<Pending, String>,
}

impl Client {
    /// Delete an upload's note (best effort: a note left behind names an upload that is
    /// gone, which prune then reports and removes).
    fn forget(&self, note: &str) {
        let key = ObjectPath::from(self.url.key(note));
        if let Err(e) = self.rt.block_on(self.plain.delete(&key)) {
            tracing::warn!("could not delete {}: {e}", self.display(note));
        }
    }

    /// The notes of uploads under way (or left behind by killed runs) under the prefix.
    pub fn pending(&self) -> Result<Vec<Noted>> {
        let dir = ObjectPath::from(self.url.key(PENDING_DIR));
        let listed = self
            .rt
            .block_on(self.plain.list_with_delimiter(Some(&dir)))
            .map_err(|e| cli_err(&format!("cannot list {}", self.display(PENDING_DIR)), e))?;
        let mut notes = Vec::new();
        for o in listed.objects {
            let Some(file) = o.location.filename() else {
                continue;
            };
            let note_name = format!("{PENDING_DIR}/{file}");
            let pending = self
                .read_small(&note_name)
                .map_err(|e| e.message)
                .and_then(|b| read_note(&self.url, file, &b));
            notes.push(Noted {
                note: self.display(&note_name),
                note_name,
                pending,
            });
        }
        notes.sort_by(|a, b| a.note.cmp(&b.note));
        Ok(notes)
    }

    /// Abort a noted upload (one already gone counts as aborted), then delete its note.
    pub fn abort_noted(&self, noted: &Noted) -> Result<()> {
        let Ok(p) = &noted.pending else {
            return Ok(());
        };
        let key = ObjectPath::from(p.key.as_str());
        match self
            .rt
            .block_on(self.store.abort_multipart(&key, &p.upload_id))
        {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => {
                return Err(cli_err(
                    &format!(
                        "cannot abort the upload to s3://{}/{}",
                        self.url.bucket, p.key
                    ),
                    e,
                ));
            }
        }
        self.rt
            .block_on(
                self.plain
                    .delete(&ObjectPath::from(self.url.key(&noted.note_name))),
            )
            .map_err(|e| cli_err(&format!("cannot delete {}", noted.note), e))
    }
}

/// A streaming GET of one object as a `Read` (bounded memory: one response chunk).
pub struct ObjectReader {
    rt: Arc<tokio::runtime::Runtime>,
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    chunk: Bytes,
    shown: String,
}

impl Client {
    /// Open `name` for reading as a stream; its size too.
    pub fn open(&self, name: &str) -> Result<(ObjectReader, u64)> {
        let key = ObjectPath::from(self.url.key(name));
        let shown = self.display(name);
        let got = self
            .rt
            .block_on(self.store.get(&key))
            .map_err(|e| cli_err(&format!("cannot read {shown}"), e))?;
        let size = got.meta.size;
        Ok((
            ObjectReader {
                rt: self.rt.clone(),
                stream: got.into_stream(),
                chunk: Bytes::new(),
                shown,
            },
            size,
        ))
    }

    /// Names of the objects directly under the prefix that end in `suffix`, sorted.
    pub fn names(&self, suffix: &str) -> Result<Vec<String>> {
        let prefix =
            (!self.url.prefix.is_empty()).then(|| ObjectPath::from(self.url.prefix.as_str()));
        let listed = self
            .rt
            .block_on(self.store.list_with_delimiter(prefix.as_ref()))
            .map_err(|e| cli_err(&format!("cannot list {}", self.url), e))?;
        let mut names: Vec<String> = listed
            .objects
            .into_iter()
            .filter_map(|o| o.location.filename().map(str::to_owned))
            .filter(|n| n.ends_with(suffix))
            .collect();
        names.sort();
        Ok(names)
    }

    /// A small object read whole.
    pub fn read_small(&self, name: &str) -> Result<Vec<u8>> {
        let (mut r, _) = self.open(name)?;
        let mut v = Vec::new();
        r.read_to_end(&mut v)?;
        Ok(v)
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rt.block_on(self.stream.next()) {
                None => return Ok(0),
                Some(Ok(b)) => self.chunk = b,
                Some(Err(e)) => return Err(io_err(&format!("reading {} failed", self.shown), e)),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    #[test]
    fn parts_are_8_mib_unless_the_estimate_needs_larger_ones() {
        for estimate in [None, Some(0), Some(1 << 30), Some(50 << 30)] {
            assert_eq!(PartPlan::for_estimate(estimate).size_of(0), Some(PART_SIZE));
        }
        // 100 GiB and a quarter more over 8,000 parts: 16 MiB.
        assert_eq!(
            PartPlan::for_estimate(Some(100 << 30)).size_of(0),
            Some(16 * MIB)
        );
        // 1 TiB: 163.84 MiB, rounded up to whole MiB.
        assert_eq!(
            PartPlan::for_estimate(Some(1 << 40)).size_of(0),
            Some(164 * MIB)
        );
        // Never beyond S3's 5 GiB per part, the doubled parts included.
        let huge = PartPlan::for_estimate(Some(u64::MAX));
        assert_eq!(huge.size_of(9_999), Some(MAX_PART_SIZE));
    }

    #[test]
    fn the_last_2000_of_s3s_10000_parts_are_twice_as_large_and_there_is_no_10001st() {
        let plan = PartPlan::for_estimate(None);
        assert_eq!(plan.size_of(7_999), Some(PART_SIZE));
        assert_eq!(plan.size_of(8_000), Some(2 * PART_SIZE));
        assert_eq!(plan.size_of(9_999), Some(2 * PART_SIZE));
        assert_eq!(plan.size_of(10_000), None);
        let sum: u64 = (0..10_000).map(|i| plan.size_of(i).unwrap() as u64).sum();
        assert_eq!(plan.capacity(), sum);
        assert_eq!(plan.capacity(), 96_000 << 20);
    }

    #[test]
    fn any_estimate_fits_with_room_to_spare() {
        let mut estimate: u64 = 1 << 20;
        while estimate < 4 << 40 {
            let plan = PartPlan::for_estimate(Some(estimate));
            assert!(plan.capacity() >= estimate + estimate / 2, "{estimate}");
            estimate = estimate * 3 / 2 + 12_345;
        }
    }

    #[test]
    fn s3_urls_parse_with_and_without_a_prefix() {
        let u: S3Url = "s3://backups/imadm/prod/".parse().unwrap();
        assert_eq!(u.bucket, "backups");
        assert_eq!(u.prefix, "imadm/prod");
        assert_eq!(u.key("a.age"), "imadm/prod/a.age");
        assert_eq!(u.to_string(), "s3://backups/imadm/prod");
        let u: S3Url = "s3://backups".parse().unwrap();
        assert_eq!(u.key("a.age"), "a.age");
        assert_eq!(u.to_string(), "s3://backups");
    }

    #[test]
    fn bad_buckets_and_prefixes_are_refused() {
        for bad in [
            "s3://",
            "s3://ab",
            "s3://Upper",
            "s3://a_b_c",
            "s3://bucket/../x",
            "s3://bucket/a//b",
            "s3://bucket/a\nb",
        ] {
            assert!(bad.parse::<S3Url>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_shared_credentials_file_gives_the_named_section() {
        let text = "[default]\naws_access_key_id = AKDEF\n\n# comment\n[backup]\nAWS_ACCESS_KEY_ID=AKB\naws_secret_access_key = s3cr=t\n";
        let keys = ini_section(text, "backup").unwrap();
        assert_eq!(
            keys,
            vec![
                ("aws_access_key_id".into(), "AKB".into()),
                ("aws_secret_access_key".into(), "s3cr=t".into())
            ]
        );
        assert_eq!(ini_section(text, "default").unwrap().len(), 1);
        assert!(ini_section(text, "other").is_none());
        // The config file's `[profile NAME]` and nested `s3 =` block.
        let config = "[profile  oss]\nregion = cn-hangzhou\ns3 =\n  addressing_style = virtual\nendpoint_url = https://oss.example\n";
        let keys = ini_section(config, "profile oss").unwrap();
        assert_eq!(value(&keys, "s3.addressing_style"), Some("virtual"));
        assert_eq!(value(&keys, "endpoint_url"), Some("https://oss.example"));
        assert_eq!(value(&keys, "addressing_style"), None);
    }

    /// The environment and files of one precedence case.
    struct World {
        env: Vec<(&'static str, &'static str)>,
        files: Vec<(&'static str, &'static str)>,
    }

    impl World {
        fn resolve(&self, settings: &Settings, url: &str) -> Result<Effective> {
            let env = |k: &str| {
                self.env
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            };
            let read = |p: &std::path::Path| {
                self.files
                    .iter()
                    .find(|(n, _)| std::path::Path::new(n) == p)
                    .map(|(_, t)| (*t).to_owned())
            };
            resolve(
                settings,
                &url.parse().unwrap(),
                &env,
                &read,
                Some(std::path::Path::new("/home/op")),
            )
        }
    }

    fn dest(
        endpoint: Option<&str>,
        region: Option<&str>,
        aws_profile: Option<&str>,
    ) -> crate::config::S3Destination {
        crate::config::S3Destination {
            endpoint: endpoint.map(Into::into),
            region: region.map(Into::into),
            path_style: None,
            aws_profile: aws_profile.map(Into::into),
        }
    }

    const CONFIG: &str = "[default]\nregion = cfg-region\nendpoint_url = https://cfg.example\n\n[profile second]\nregion = second-region\ns3 =\n  addressing_style = virtual\n";
    const CREDENTIALS: &str = "[default]\naws_access_key_id = AKDEF\naws_secret_access_key = sdef\n\n[second]\naws_access_key_id = AK2\naws_secret_access_key = s2\naws_session_token = t2\n";

    #[test]
    fn settings_come_from_the_destination_then_the_profile_then_the_environment_then_the_aws_config()
     {
        let files = vec![
            ("/home/op/.aws/config", CONFIG),
            ("/home/op/.aws/credentials", CREDENTIALS),
        ];
        let bare = World {
            env: vec![],
            files: files.clone(),
        };
        // The AWS config file alone (its default profile); keys from the credentials file.
        let e = bare.resolve(&Settings::default(), "s3://bkt/x").unwrap();
        assert_eq!(e.endpoint.as_deref(), Some("https://cfg.example"));
        assert_eq!(e.region.as_deref(), Some("cfg-region"));
        assert_eq!(e.path_style, None);
        assert_eq!(e.keys, Some(("AKDEF".into(), "sdef".into(), None)));
        // The environment over the config file; its keys over the credentials file.
        let env = World {
            env: vec![
                ("AWS_REGION", "env-region"),
                ("AWS_ENDPOINT_URL", "https://env.example"),
                ("AWS_ACCESS_KEY_ID", "AKENV"),
            ],
            files: files.clone(),
        };
        let e = env.resolve(&Settings::default(), "s3://bkt/x").unwrap();
        assert_eq!(e.endpoint.as_deref(), Some("https://env.example"));
        assert_eq!(e.region.as_deref(), Some("env-region"));
        assert_eq!(e.keys, None, "the environment's keys");
        // The imadm profile over the environment.
        let mut settings = Settings {
            endpoint: Some("https://profile.example".into()),
            region: Some("profile-region".into()),
            path_style: Some(true),
            ..Settings::default()
        };
        let e = env.resolve(&settings, "s3://bkt/x").unwrap();
        assert_eq!(e.endpoint.as_deref(), Some("https://profile.example"));
        assert_eq!(e.region.as_deref(), Some("profile-region"));
        assert_eq!(e.path_style, Some(true));
        // The destination's entry over all, the longest matching key alone; its aws_profile
        // picks the sections of both files, over the environment's keys.
        settings
            .destinations
            .insert("s3://bkt".into(), dest(None, Some("bucket-region"), None));
        settings.destinations.insert(
            "s3://bkt/x".into(),
            dest(Some("https://dest.example"), None, Some("second")),
        );
        settings.destinations.insert(
            "s3://other".into(),
            dest(Some("https://no.example"), None, None),
        );
        let e = env.resolve(&settings, "s3://bkt/x/y").unwrap();
        assert_eq!(e.endpoint.as_deref(), Some("https://dest.example"));
        // One entry applies, whole: what it leaves out comes from the profile.
        assert_eq!(e.region.as_deref(), Some("profile-region"));
        assert_eq!(
            e.path_style,
            Some(true),
            "the profile's, over the config file's"
        );
        assert_eq!(e.keys, Some(("AK2".into(), "s2".into(), Some("t2".into()))));
        // `s3://bkt/xy` is not under `s3://bkt/x`.
        let e = env.resolve(&settings, "s3://bkt/xy").unwrap();
        assert_eq!(e.endpoint.as_deref(), Some("https://profile.example"));
        assert_eq!(e.region.as_deref(), Some("bucket-region"));
        assert_eq!(e.keys, None);
        // AWS_PROFILE and AWS_CONFIG_FILE: the named config section (addressing style too).
        let named = World {
            env: vec![
                ("AWS_PROFILE", "second"),
                ("AWS_CONFIG_FILE", "/etc/aws-config"),
            ],
            files: vec![
                ("/etc/aws-config", CONFIG),
                ("/home/op/.aws/credentials", CREDENTIALS),
            ],
        };
        let e = named.resolve(&Settings::default(), "s3://bkt").unwrap();
        assert_eq!(e.region.as_deref(), Some("second-region"));
        assert_eq!(e.endpoint, None);
        assert_eq!(e.path_style, Some(false));
        assert_eq!(e.keys.unwrap().0, "AK2");
    }

    #[test]
    fn a_named_aws_profile_that_is_nowhere_is_a_usage_error() {
        let w = World {
            env: vec![("AWS_PROFILE", "nope")],
            files: vec![("/home/op/.aws/credentials", CREDENTIALS)],
        };
        let e = w.resolve(&Settings::default(), "s3://bkt").unwrap_err();
        assert_eq!(e.kind, Kind::Usage);
        assert!(
            e.message.starts_with("AWS_PROFILE=nope: no such section"),
            "{}",
            e.message
        );
        let mut settings = Settings::default();
        settings
            .destinations
            .insert("s3://bkt".into(), dest(None, None, Some("gone")));
        let w = World {
            env: vec![],
            files: vec![],
        };
        let e = w.resolve(&settings, "s3://bkt/p").unwrap_err();
        assert!(
            e.message.contains("aws_profile gone of s3://bkt/p"),
            "{}",
            e.message
        );
        // No secret is ever in a message.
        assert!(!e.message.contains("sdef"));
        settings
            .destinations
            .insert("not-a-url".into(), dest(None, None, None));
        assert_eq!(
            w.resolve(&settings, "s3://bkt").unwrap_err().kind,
            Kind::Usage
        );
    }

    #[test]
    fn virtual_host_addressing_puts_the_bucket_in_the_host_name() {
        assert_eq!(
            bucket_endpoint("https://oss-cn-hangzhou.aliyuncs.com", "bkt", true).unwrap(),
            "https://bkt.oss-cn-hangzhou.aliyuncs.com"
        );
        assert_eq!(
            bucket_endpoint("https://minio.example:9000/", "bkt", true).unwrap(),
            "https://bkt.minio.example:9000"
        );
        assert_eq!(
            bucket_endpoint("https://minio.example:9000", "bkt", false).unwrap(),
            "https://minio.example:9000"
        );
        assert!(bucket_endpoint("http://127.0.0.1:9000", "bkt", true).is_err());
        // The URL the client then requests (a presigned one: built, not sent).
        let url = |path_style: bool| {
            let c = Client::build(
                &"s3://bkt/pre".parse().unwrap(),
                Effective {
                    endpoint: Some("https://s3.example.net".into()),
                    region: Some("us-east-1".into()),
                    path_style: Some(path_style),
                    keys: Some(("AK".into(), "SK".into(), None)),
                },
                None,
            )
            .unwrap();
            use object_store::signer::Signer;
            let u =
                c.rt.block_on(c.store.signed_url(
                    http::Method::GET,
                    &ObjectPath::from("pre/a.age"),
                    Duration::from_secs(60),
                ))
                .unwrap();
            format!("{}://{}{}", u.scheme(), u.host_str().unwrap(), u.path())
        };
        assert_eq!(url(false), "https://bkt.s3.example.net/pre/a.age");
        assert_eq!(url(true), "https://s3.example.net/bkt/pre/a.age");
    }

    #[test]
    fn a_note_is_used_only_for_the_archive_it_is_named_after() {
        let url: S3Url = "s3://bkt/imadm/prod".parse().unwrap();
        let note = |key: &str| {
            serde_json::to_vec(&Pending {
                key: key.into(),
                upload_id: "u-1".into(),
                started_at: 1,
            })
            .unwrap()
        };
        let ok = read_note(&url, "a.age.json", &note("imadm/prod/a.age")).unwrap();
        assert_eq!(
            (ok.key.as_str(), ok.upload_id.as_str()),
            ("imadm/prod/a.age", "u-1")
        );
        for (file, key) in [
            ("a.age.json", "imadm/prod/b.age"),
            ("a.age.json", "other/a.age"),
            ("a.age.json", "a.age"),
            ("a.txt.json", "imadm/prod/a.txt"),
            ("a.age", "imadm/prod/a.age"),
        ] {
            assert!(read_note(&url, file, &note(key)).is_err(), "{file} {key}");
        }
        assert!(read_note(&url, "a.age.json", b"{}").is_err());
    }

    #[test]
    fn a_lock_is_until_a_utc_date_in_days() {
        // 2026-01-05T00:00:00Z + 30 days.
        let l = Lock::new(LockMode::Governance, 30, 1_767_571_200);
        assert_eq!(l.until, "2026-02-04T00:00:00Z");
        let h = l.headers();
        assert_eq!(h["x-amz-object-lock-mode"], "GOVERNANCE");
        assert_eq!(
            h["x-amz-object-lock-retain-until-date"],
            "2026-02-04T00:00:00Z"
        );
    }

    #[test]
    fn a_to_value_is_a_directory_unless_it_is_an_s3_url() {
        assert!(matches!("s3://bkt/x".parse(), Ok(Location::S3(_))));
        assert!(matches!("/backups".parse(), Ok(Location::Dir(_))));
        assert!("s3://X".parse::<Location>().is_err());
    }
}
