//! Profiles and settings in `<config-dir>/config.toml`, written atomically.
//!
//! A profile names a server: URL, app id, the CA to trust, and (from the audit issue on)
//! the pinned server key. Profiles hold no secrets; credentials live in the keyring
//! (`credentials.rs`). The file is rewritten whole through `fsutil::write_atomic` (temp
//! file, fsync, rename, fsync of the directory), so a crash never leaves half a config
//! behind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{CliError, Result};

pub const DEFAULT_PROFILE: &str = "default";
/// The profile `imadm server --dev` writes.
pub const DEV_PROFILE: &str = "dev";
const FILE_NAME: &str = "config.toml";

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Config {
    /// The profile used when neither --profile nor IMADM_PROFILE names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_profile: Option<String>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// The server's audit public key, pinned at first use (`ssh-ed25519 AAAA...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_key: Option<String>,
    /// Default `--sign-key` of `audit export|report`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_key: Option<PathBuf>,
    /// Default `--signer` identity of `audit export|report`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// S3 destinations of backups: endpoint, region and addressing, over `AWS_*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_path_style: Option<bool>,
    /// Settings of one S3 destination, over the ones above: keyed `s3://BUCKET[/PREFIX]`,
    /// the longest matching key wins (edited in the file; README "Off-site copies").
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub s3: BTreeMap<String, S3Destination>,
}

/// `[profiles.NAME.s3."s3://BUCKET/PREFIX"]`: where one destination is and whose
/// credentials it takes. No secrets: keys stay in the AWS files or the environment.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Destination {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_style: Option<bool>,
    /// The section of the AWS shared credentials and config files to use (over
    /// `AWS_PROFILE` and the `AWS_*` keys of the environment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_profile: Option<String>,
}

/// The keys `imadm config get|set|list` understand, with what they mean.
pub const KEYS: &[(&str, &str)] = &[
    ("server", "admin API base URL (https)"),
    ("app_id", "Lanying app id sent as the app_id header"),
    ("ca_cert", "extra PEM CA certificate to trust"),
    (
        "output",
        "default output format: table, json, jsonl, csv, tsv",
    ),
    (
        "audit_key",
        "server audit key pinned at first use; set '' to re-pin",
    ),
    ("sign_key", "OpenSSH Ed25519 key that signs audit reports"),
    ("signer", "identity recorded in signed audit reports"),
    (
        "s3_endpoint",
        "S3 endpoint of backup destinations (over AWS_ENDPOINT_URL)",
    ),
    (
        "s3_region",
        "S3 region of backup destinations (over AWS_REGION)",
    ),
    (
        "s3_path_style",
        "true: path-style S3 URLs (the default), false: virtual-host style",
    ),
];

impl Profile {
    pub fn get(&self, key: &str) -> Option<String> {
        match key {
            "server" => self.server.clone(),
            "app_id" => self.app_id.clone(),
            "ca_cert" => self.ca_cert.as_ref().map(|p| p.display().to_string()),
            "output" => self.output.clone(),
            "audit_key" => self.audit_key.clone(),
            "sign_key" => self.sign_key.as_ref().map(|p| p.display().to_string()),
            "signer" => self.signer.clone(),
            "s3_endpoint" => self.s3_endpoint.clone(),
            "s3_region" => self.s3_region.clone(),
            "s3_path_style" => self.s3_path_style.map(|b| b.to_string()),
            _ => None,
        }
    }

    pub fn set(&mut self, key: &str, value: Option<String>) -> Result<()> {
        match key {
            "server" => self.server = value,
            "app_id" => self.app_id = value,
            "ca_cert" => self.ca_cert = value.map(PathBuf::from),
            "output" => {
                if let Some(v) = &value {
                    <crate::output::OutputFormat as clap::ValueEnum>::from_str(v, true).map_err(
                        |_| {
                            CliError::usage(format!("{v:?} is not an output format"))
                                .hint("use one of table, json, jsonl, csv, tsv")
                        },
                    )?;
                }
                self.output = value
            }
            "audit_key" => {
                if let Some(v) = &value {
                    crate::audit::pin::ServerKey::parse(v)?;
                }
                self.audit_key = value
            }
            "sign_key" => self.sign_key = value.map(PathBuf::from),
            "signer" => self.signer = value,
            "s3_endpoint" => self.s3_endpoint = value,
            "s3_region" => self.s3_region = value,
            "s3_path_style" => {
                self.s3_path_style = value
                    .map(|v| {
                        v.parse::<bool>().map_err(|_| {
                            CliError::usage(format!("{v:?} is not true or false"))
                                .hint("s3_path_style is true (path-style) or false (virtual-host)")
                        })
                    })
                    .transpose()?
            }
            _ => {
                return Err(CliError::usage(format!("unknown config key {key:?}"))
                    .hint("see `imadm config list` for the keys"));
            }
        }
        Ok(())
    }
}

/// The default config dir: `$XDG_CONFIG_HOME/imadm` (or the platform's equivalent).
pub fn default_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "imadm").map(|d| d.config_dir().to_owned())
}

impl Config {
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(FILE_NAME);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| {
                CliError::usage(format!("{} is not valid: {e}", path.display()))
                    .hint("fix or remove the file; `imadm config set` rewrites it")
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(CliError::unexpected(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        let text = toml::to_string_pretty(self)
            .map_err(|e| CliError::unexpected(format!("cannot serialise config: {e}")))?;
        write_private(&dir.join(FILE_NAME), text.as_bytes())
    }
}

/// Write a file under the config dir (0600), creating the directory (0700) if needed.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let fail = |e: std::io::Error| {
        CliError::write_failed(path, e)
            .hint("check that the directory exists and is writable (see --config-dir)")
    };
    create_private_dir(path.parent().unwrap_or_else(|| Path::new("."))).map_err(fail)?;
    imadm_server::fsutil::write_atomic(path, bytes, 0o600).map_err(fail)
}

pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips_and_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mut c = Config::default();
        let mut p = Profile::default();
        p.set("server", Some("https://example.test".into()))
            .unwrap();
        p.set("output", Some("json".into())).unwrap();
        assert!(p.set("output", Some("yaml".into())).is_err());
        assert!(p.set("nope", None).is_err());
        c.profiles.insert("dev".into(), p.clone());
        c.save(dir.path()).unwrap();
        let back = Config::load(dir.path()).unwrap();
        assert_eq!(back.profiles["dev"], p);
        let mode = std::fs::metadata(dir.path().join(FILE_NAME))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // no temp files left behind
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
