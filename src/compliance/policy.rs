//! The compliance policy file (`--policy FILE`, TOML): thresholds and controls turned off.
//!
//! Every knob has a documented default, so no file is needed for a sensible gate. Turning
//! a control off requires a reason, which is printed in every result: an auditor reading
//! a passing report must see what was not checked and why. Unknown keys and unknown
//! control ids are errors (a typo must not silently weaken the gate).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{CliError, Result};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default)]
    pub thresholds: Thresholds,
    /// Control id → reason it is turned off.
    #[serde(default)]
    pub disabled: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// `operator-inactive`: days since last login (or creation, if never) before an
    /// active operator counts as inactive.
    pub operator_inactive_days: i64,
    /// `owner-count`: at least this many active owners (so losing one is not a lock-out).
    pub owners_min: u32,
    /// `owner-count`: at most this many active owners (least privilege).
    pub owners_max: u32,
    /// `token-expiry`: a live token may expire at most this many days from now.
    pub token_max_lifetime_days: i64,
    /// `token-unused`: days without use (or since creation, if never used).
    pub token_unused_days: i64,
    /// `backup-fresh`: the newest backup must be younger than this.
    pub backup_max_age_hours: i64,
    /// `backup-destinations`: copies of the newest backup in distinct `--backup-dir`s.
    pub backup_min_destinations: u32,
    /// `alert-open-high`: a high-severity alert may stay open this long.
    pub alert_max_open_hours: i64,
    /// `tls-expiry`: the certificate must stay valid for more than this many days.
    pub tls_min_valid_days: i64,
    /// `access-review-fresh`: the newest signed attestation may be this many days old.
    pub access_review_max_age_days: i64,
    /// `operator-phishing-resistant-mfa`: active operators holding any of these roles
    /// must have a passkey. Empty (the default): the control is off.
    pub phishing_resistant_mfa_roles: Vec<String>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            operator_inactive_days: 90,
            owners_min: 2,
            owners_max: 3,
            token_max_lifetime_days: 90,
            token_unused_days: 30,
            backup_max_age_hours: 26,
            backup_min_destinations: 2,
            alert_max_open_hours: 24,
            tls_min_valid_days: 30,
            access_review_max_age_days: 90,
            phishing_resistant_mfa_roles: Vec::new(),
        }
    }
}

impl Policy {
    pub fn load(path: &Path) -> Result<Policy> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            CliError::usage(format!("cannot read policy file {}: {e}", path.display()))
                .hint("check the path given to --policy")
        })?;
        Policy::parse(&text).map_err(|e| {
            CliError::usage(format!("policy file {}: {}", path.display(), e.message)).hint(
                e.hint.unwrap_or_else(|| {
                    "see `imadm compliance check --help` for the keys and their defaults".into()
                }),
            )
        })
    }

    pub fn parse(text: &str) -> Result<Policy> {
        let p: Policy = toml::from_str(text).map_err(|e| CliError::usage(e.message().trim()))?;
        for (id, reason) in &p.disabled {
            if super::control(id).is_none() {
                let known: Vec<_> = super::CONTROLS.iter().map(|c| c.id).collect();
                return Err(
                    CliError::usage(format!("unknown control {id:?} in [disabled]"))
                        .hint(format!("known controls: {}", known.join(", "))),
                );
            }
            if reason.trim().is_empty() {
                return Err(CliError::usage(format!(
                    "control {id:?} is disabled without a reason"
                ))
                .hint("give the reason as the value: it is recorded in every result"));
            }
        }
        let t = &p.thresholds;
        if t.owners_min > t.owners_max {
            return Err(CliError::usage(format!(
                "owners_min ({}) is larger than owners_max ({})",
                t.owners_min, t.owners_max
            )));
        }
        for (name, v) in [
            ("operator_inactive_days", t.operator_inactive_days),
            ("token_max_lifetime_days", t.token_max_lifetime_days),
            ("token_unused_days", t.token_unused_days),
            ("backup_max_age_hours", t.backup_max_age_hours),
            ("alert_max_open_hours", t.alert_max_open_hours),
            ("tls_min_valid_days", t.tls_min_valid_days),
            ("access_review_max_age_days", t.access_review_max_age_days),
        ] {
            if v < 0 {
                return Err(CliError::usage(format!("{name} must not be negative")));
            }
        }
        Ok(p)
    }
}
