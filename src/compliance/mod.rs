//! The compliance gate behind `imadm compliance check`: built-in controls, evaluated as a
//! pure function of facts gathered from the server (and backup manifests) and a policy.
//!
//! Gathering ([`crate::commands::compliance::check`]) and judging (here) are separate so
//! every control can be tested table-style with fixed facts and a fixed clock, and so the
//! same facts always give the same verdict. A control whose facts could not be gathered
//! (a 403, a network error) is an `error`, which fails the gate like a `fail`: a gate that
//! passes when it could not look is no gate.

pub mod junit;
pub mod policy;

use imadm_api::access::Attestation;
use imadm_api::admin::{Operator, Role, ServiceToken};
use serde::Serialize;

use crate::output::plural;

pub use policy::Policy;

/// One built-in control: what it checks and which standards it supports.
pub struct ControlDef {
    pub id: &'static str,
    pub title: &'static str,
    /// ISO/IEC 27001:2022 Annex A control.
    pub iso27001: &'static str,
    /// GDPR article.
    pub gdpr: &'static str,
}

pub const CONTROLS: &[ControlDef] = &[
    ControlDef {
        id: "operator-mfa",
        title: "every active operator has MFA enrolled",
        iso27001: "A.8.5 Secure authentication",
        gdpr: "Art. 32 Security of processing",
    },
    ControlDef {
        id: "operator-phishing-resistant-mfa",
        title: "every active operator of the listed roles has a passkey",
        iso27001: "A.8.5 Secure authentication",
        gdpr: "Art. 32 Security of processing",
    },
    ControlDef {
        id: "operator-inactive",
        title: "no active operator inactive longer than the limit",
        iso27001: "A.5.18 Access rights",
        gdpr: "Art. 32 Security of processing",
    },
    ControlDef {
        id: "owner-count",
        title: "the number of active owners is within the limits",
        iso27001: "A.8.2 Privileged access rights",
        gdpr: "Art. 32 Security of processing",
    },
    ControlDef {
        id: "role-all-permissions",
        title: "no custom role holds every permission",
        iso27001: "A.8.2 Privileged access rights",
        gdpr: "Art. 25 Data protection by design and by default",
    },
    ControlDef {
        id: "token-expiry",
        title: "every service token expires, and within the limit",
        iso27001: "A.5.17 Authentication information",
        gdpr: "Art. 32 Security of processing",
    },
    ControlDef {
        id: "token-unused",
        title: "no service token left unused longer than the limit",
        iso27001: "A.5.18 Access rights",
        gdpr: "Art. 32 Security of processing",
    },
    ControlDef {
        id: "access-review-fresh",
        title: "a signed access review attestation is younger than the limit",
        iso27001: "A.5.18 Access rights",
        gdpr: "Art. 32(1)(d) Regular testing and evaluation",
    },
    ControlDef {
        id: "audit-chain",
        title: "the audit chain verifies up to the latest signed checkpoint",
        iso27001: "A.8.15 Logging",
        gdpr: "Art. 5(2) Accountability",
    },
    ControlDef {
        id: "audit-server-key",
        title: "the server's audit key matches the pinned key",
        iso27001: "A.8.24 Use of cryptography",
        gdpr: "Art. 5(2) Accountability",
    },
    ControlDef {
        id: "backup-fresh",
        title: "the newest backup is younger than the limit",
        iso27001: "A.8.13 Information backup",
        gdpr: "Art. 32(1)(c) Restore availability and access",
    },
    ControlDef {
        id: "backup-manifest",
        title: "the newest backup matches its manifest",
        iso27001: "A.8.13 Information backup",
        gdpr: "Art. 32(1)(c) Restore availability and access",
    },
    ControlDef {
        id: "backup-destinations",
        title: "the newest backup is kept in enough places",
        iso27001: "A.8.13 Information backup",
        gdpr: "Art. 32(1)(c) Restore availability and access",
    },
    ControlDef {
        id: "alert-open-high",
        title: "no high-severity security alert open longer than the limit",
        iso27001: "A.5.26 Response to information security incidents",
        gdpr: "Art. 33 Notification of a personal data breach",
    },
    ControlDef {
        id: "tls-expiry",
        title: "the server's TLS certificate is valid long enough",
        iso27001: "A.8.24 Use of cryptography",
        gdpr: "Art. 32 Security of processing",
    },
];

pub fn control(id: &str) -> Option<&'static ControlDef> {
    CONTROLS.iter().find(|c| c.id == id)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    /// Turned off by the policy (with its reason) or not applicable (no `--backup-dir`).
    Skipped,
    /// The facts could not be gathered; fails the gate.
    Error,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skipped => "SKIP",
            Status::Error => "ERROR",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ControlResult {
    pub id: &'static str,
    pub title: &'static str,
    pub iso27001: &'static str,
    pub gdpr: &'static str,
    pub status: Status,
    /// One line per fact the verdict rests on (violations first).
    pub evidence: Vec<String>,
    /// Why it was skipped (policy reason) or could not be evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A fact that could not be gathered carries the error message instead.
pub type Fact<T> = std::result::Result<T, String>;

/// The newest audit checkpoint and the chain check against it.
#[derive(Debug, Clone)]
pub struct AuditFacts {
    /// `None` when the chain verified up to `checkpoint_seq`; otherwise what broke.
    pub chain_error: Option<String>,
    pub checkpoint_seq: u64,
    pub events_checked: u64,
    /// The server's current audit key and the profile's pinned one.
    pub server_key: String,
    pub pinned_key: Option<String>,
}

/// A security alert, as far as the gate cares.
#[derive(Debug, Clone)]
pub struct AlertFact {
    pub id: u64,
    pub severity: String,
    pub rule: String,
    pub at: i64,
    pub open: bool,
}

/// The newest backup found under the `--backup-dir`s.
#[derive(Debug, Clone)]
pub struct BackupFacts {
    /// Archive file name and creation time (from its manifest).
    pub newest: Option<(String, i64)>,
    /// `None` if the archive matches its manifest; otherwise what differs.
    pub manifest_error: Option<String>,
    /// Directories holding a copy whose ciphertext hash matches the newest manifest.
    pub destinations: Vec<String>,
}

/// Everything the controls judge. `None` means "not looked at" (e.g. no `--backup-dir`).
#[derive(Debug, Clone)]
pub struct Facts {
    pub operators: Fact<Vec<Operator>>,
    pub roles: Fact<Vec<Role>>,
    pub tokens: Fact<Vec<ServiceToken>>,
    /// The newest access review attestations (`GET /admin/access/attestations`).
    pub attestations: Fact<Vec<Attestation>>,
    pub audit: Fact<AuditFacts>,
    pub alerts: Fact<Vec<AlertFact>>,
    pub backups: Option<Fact<BackupFacts>>,
    /// Unix time the server's certificate expires; `None` over plain http.
    pub tls_not_after: Option<Fact<i64>>,
}

const DAY: i64 = 86_400;
const SSHSIG_BEGIN: &str = "-----BEGIN SSH SIGNATURE-----";
const HOUR: i64 = 3_600;

/// Judge every control. `now` is Unix seconds.
pub fn evaluate(policy: &Policy, facts: &Facts, now: i64) -> Vec<ControlResult> {
    CONTROLS
        .iter()
        .map(|def| {
            let mut r = ControlResult {
                id: def.id,
                title: def.title,
                iso27001: def.iso27001,
                gdpr: def.gdpr,
                status: Status::Pass,
                evidence: Vec::new(),
                reason: None,
            };
            if let Some(reason) = policy.disabled.get(def.id) {
                r.status = Status::Skipped;
                r.reason = Some(format!("disabled by policy: {reason}"));
                return r;
            }
            if let Err(reason) = judge(def.id, policy, facts, now, &mut r.evidence) {
                r.reason = Some(reason.message);
                r.status = reason.status;
                return r;
            }
            // Violations are recorded with a "violation:" prefix by the judges.
            if r.evidence.iter().any(|e| e.starts_with(VIOLATION)) {
                r.status = Status::Fail;
            }
            r
        })
        .collect()
}

const VIOLATION: &str = "violation: ";

struct NotJudged {
    status: Status,
    message: String,
}

fn error(e: &str) -> NotJudged {
    NotJudged {
        status: Status::Error,
        message: format!("could not evaluate: {e}"),
    }
}

fn skipped(why: &str) -> NotJudged {
    NotJudged {
        status: Status::Skipped,
        message: why.to_owned(),
    }
}

fn fact<T>(f: &Fact<T>) -> std::result::Result<&T, NotJudged> {
    f.as_ref().map_err(|e| error(e))
}

fn days(secs: i64) -> i64 {
    secs.div_euclid(DAY)
}

fn judge(
    id: &str,
    p: &Policy,
    f: &Facts,
    now: i64,
    ev: &mut Vec<String>,
) -> std::result::Result<(), NotJudged> {
    let t = &p.thresholds;
    let bad = |ev: &mut Vec<String>, s: String| ev.push(format!("{VIOLATION}{s}"));
    match id {
        "operator-mfa" => {
            let ops = fact(&f.operators)?;
            let active: Vec<_> = ops.iter().filter(|o| !o.disabled).collect();
            for o in active.iter().filter(|o| !o.mfa_enrolled) {
                bad(ev, format!("operator {} has no MFA enrolled", o.username));
            }
            let enrolled = active.iter().filter(|o| o.mfa_enrolled).count();
            ev.push(format!(
                "{enrolled} of {} active operators have MFA enrolled",
                active.len()
            ));
        }
        "operator-phishing-resistant-mfa" => {
            // Off by default: which roles need passkeys is the installation's choice
            // (the server enforces the same with --require-passkey-for).
            let roles = &t.phishing_resistant_mfa_roles;
            if roles.is_empty() {
                return Err(skipped(
                    "off by default: list the roles in thresholds.phishing_resistant_mfa_roles",
                ));
            }
            let ops = fact(&f.operators)?;
            let bound: Vec<_> = ops
                .iter()
                .filter(|o| !o.disabled && o.roles.iter().any(|r| roles.contains(r)))
                .collect();
            for o in bound.iter().filter(|o| o.passkeys == 0) {
                bad(
                    ev,
                    format!(
                        "operator {} ({}) has no passkey",
                        o.username,
                        o.roles.join(", ")
                    ),
                );
            }
            ev.push(format!(
                "{} of {} active operators holding {} have a passkey",
                bound.iter().filter(|o| o.passkeys > 0).count(),
                bound.len(),
                roles.join(", ")
            ));
        }
        "operator-inactive" => {
            let ops = fact(&f.operators)?;
            let limit = t.operator_inactive_days;
            let mut active = 0;
            for o in ops.iter().filter(|o| !o.disabled) {
                active += 1;
                let since = o.last_login_at.unwrap_or(o.created_at);
                let idle = days(now - since);
                if now - since > limit * DAY {
                    let what = if o.last_login_at.is_some() {
                        "last logged in"
                    } else {
                        "created and never logged in"
                    };
                    bad(
                        ev,
                        format!("operator {} {what} {} ago", o.username, plural(idle, "day")),
                    );
                }
            }
            ev.push(format!(
                "{} checked against {}",
                plural(active, "active operator"),
                plural(limit, "day")
            ));
        }
        "owner-count" => {
            let ops = fact(&f.operators)?;
            let owners: Vec<_> = ops
                .iter()
                .filter(|o| !o.disabled && o.roles.iter().any(|r| r == "owner"))
                .map(|o| o.username.as_str())
                .collect();
            let n = owners.len() as u32;
            if n < t.owners_min {
                bad(
                    ev,
                    format!("{}, fewer than {}", plural(n, "active owner"), t.owners_min),
                );
            }
            if n > t.owners_max {
                bad(
                    ev,
                    format!("{}, more than {}", plural(n, "active owner"), t.owners_max),
                );
            }
            ev.push(format!("owners: {}", owners.join(", ")));
        }
        "role-all-permissions" => {
            let roles = fact(&f.roles)?;
            let all: Vec<&str> = imadm_api::permissions::CATALOGUE
                .iter()
                .map(|(n, _)| *n)
                .collect();
            let mut custom = 0;
            for r in roles.iter().filter(|r| !r.builtin) {
                custom += 1;
                if all.iter().all(|p| r.permissions.iter().any(|q| q == p)) {
                    bad(ev, format!("custom role {} holds every permission", r.name));
                }
            }
            ev.push(format!("{} checked", plural(custom, "custom role")));
        }
        "token-expiry" => {
            let tokens = fact(&f.tokens)?;
            let limit = t.token_max_lifetime_days;
            let live: Vec<_> = tokens
                .iter()
                .filter(|k| !k.revoked && k.expires_at > now)
                .collect();
            for k in &live {
                let left = days(k.expires_at - now);
                if k.expires_at - now > limit * DAY {
                    bad(
                        ev,
                        format!(
                            "token {} (#{}) expires in {}, beyond {limit}",
                            k.name,
                            k.id,
                            plural(left, "day")
                        ),
                    );
                }
            }
            ev.push(format!(
                "{} checked",
                plural(live.len(), "live service token")
            ));
        }
        "token-unused" => {
            let tokens = fact(&f.tokens)?;
            let limit = t.token_unused_days;
            let live: Vec<_> = tokens
                .iter()
                .filter(|k| !k.revoked && k.expires_at > now)
                .collect();
            for k in &live {
                let since = k.last_used_at.unwrap_or(k.created_at);
                let idle = days(now - since);
                if now - since > limit * DAY {
                    let what = if k.last_used_at.is_some() {
                        "last used"
                    } else {
                        "created and never used"
                    };
                    bad(
                        ev,
                        format!(
                            "token {} (#{}) {what} {} ago",
                            k.name,
                            k.id,
                            plural(idle, "day")
                        ),
                    );
                }
            }
            ev.push(format!(
                "{} checked",
                plural(live.len(), "live service token")
            ));
        }
        "access-review-fresh" => {
            let limit = t.access_review_max_age_days;
            // Signed: it carries an SSHSIG (the server checks the armor, not the key).
            let newest = fact(&f.attestations)?
                .iter()
                .filter(|a| a.signature.starts_with(SSHSIG_BEGIN))
                .max_by_key(|a| a.attested_at);
            match newest {
                None => bad(ev, "no signed access review attestation".into()),
                Some(a) => {
                    let what = format!(
                        "access review #{} by {} attested {} ago",
                        a.id,
                        a.reviewer,
                        plural(days(now - a.attested_at), "day")
                    );
                    if now - a.attested_at > limit * DAY {
                        bad(ev, format!("{what} (limit {limit})"));
                    } else {
                        ev.push(what);
                    }
                }
            }
        }
        "audit-chain" => {
            let a = fact(&f.audit)?;
            match &a.chain_error {
                Some(e) => bad(ev, e.clone()),
                None => ev.push(format!(
                    "{} verified up to the checkpoint at seq {}",
                    plural(a.events_checked, "event"),
                    a.checkpoint_seq
                )),
            }
        }
        "audit-server-key" => {
            let a = fact(&f.audit)?;
            match &a.pinned_key {
                None => bad(
                    ev,
                    "no audit key is pinned in this profile; nothing to compare with".into(),
                ),
                Some(pinned) if *pinned != a.server_key => bad(
                    ev,
                    format!(
                        "server key {} differs from the pinned {pinned}",
                        a.server_key
                    ),
                ),
                Some(pinned) => ev.push(format!("server key matches the pinned {pinned}")),
            }
        }
        "backup-fresh" | "backup-manifest" | "backup-destinations" => {
            let Some(b) = &f.backups else {
                return Err(skipped("no --backup-dir given"));
            };
            let b = fact(b)?;
            let Some((name, at)) = &b.newest else {
                bad(ev, "no backup found".into());
                return Ok(());
            };
            match id {
                "backup-fresh" => {
                    let age_h = (now - at).div_euclid(HOUR);
                    if age_h >= t.backup_max_age_hours {
                        bad(
                            ev,
                            format!(
                                "newest backup {name} is {} old (limit {})",
                                plural(age_h, "hour"),
                                t.backup_max_age_hours
                            ),
                        );
                    } else {
                        ev.push(format!(
                            "newest backup {name} is {} old",
                            plural(age_h, "hour")
                        ));
                    }
                }
                "backup-manifest" => match &b.manifest_error {
                    Some(e) => bad(ev, format!("{name}: {e}")),
                    None => ev.push(format!("{name} matches its manifest (size and SHA-256)")),
                },
                _ => {
                    let n = b.destinations.len() as u32;
                    if n < t.backup_min_destinations {
                        bad(
                            ev,
                            format!(
                                "{name} is kept in {}, fewer than {}",
                                plural(n, "place"),
                                t.backup_min_destinations
                            ),
                        );
                    }
                    ev.push(format!("copies in: {}", b.destinations.join(", ")));
                }
            }
        }
        "alert-open-high" => {
            let alerts = fact(&f.alerts)?;
            let limit = t.alert_max_open_hours;
            let high: Vec<_> = alerts
                .iter()
                .filter(|a| a.open && a.severity == "high")
                .collect();
            for a in &high {
                let age_h = (now - a.at).div_euclid(HOUR);
                if age_h >= limit {
                    bad(
                        ev,
                        format!(
                            "alert #{} ({}) has been open for {}",
                            a.id,
                            a.rule,
                            plural(age_h, "hour")
                        ),
                    );
                }
            }
            ev.push(plural(high.len(), "open high-severity alert"));
        }
        "tls-expiry" => {
            let Some(cert) = &f.tls_not_after else {
                return Err(skipped("the server is reached over plain http"));
            };
            let not_after = *fact(cert)?;
            let left = days(not_after - now);
            if left <= t.tls_min_valid_days {
                bad(
                    ev,
                    format!(
                        "certificate expires in {} (at {}), limit {}",
                        plural(left, "day"),
                        crate::output::rfc3339(not_after),
                        t.tls_min_valid_days
                    ),
                );
            } else {
                ev.push(format!(
                    "certificate valid for {} (until {})",
                    plural(left, "more day"),
                    crate::output::rfc3339(not_after)
                ));
            }
        }
        other => unreachable!("control {other} has no judge"),
    }
    Ok(())
}

/// Whether the gate fails: any `fail` or `error`.
pub fn failed(results: &[ControlResult]) -> bool {
    results
        .iter()
        .any(|r| matches!(r.status, Status::Fail | Status::Error))
}

#[cfg(test)]
mod tests;
