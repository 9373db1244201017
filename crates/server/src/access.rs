//! Access reviews (ISO 27001 A.5.18): the review of every operator and live service token
//! (`GET /admin/access/review`, `security:read`, so an auditor can run it) and the
//! attestations that a reviewer signed one (`POST /admin/access/attestations`,
//! `security:manage`, append-only in `access_attestations`).
//!
//! The flags are computed here, as a pure function of the principals ([`flag`]):
//! - `dormant`: no login (operator) or use (token) for `dormant_days`, counted from its
//!   creation when there was none; disabled operators are never dormant (they cannot log in);
//! - `never_used`: never logged in, never used;
//! - `owner`: holds the `owner` role;
//! - `broader_than_peers`: an operator that, for some role it holds, has a permission
//!   that no other holder of that role has (the union of the others' permissions does
//!   not cover its own): extra roles held directly, beyond what the role's cohort needs.
//!   A role held by nobody else gives no peers to compare with. Tokens are never broader:
//!   their permissions are their creator's, narrowed to their scopes.
//!
//! The server does not verify the attestation's signature (it never sees the review
//! file, only its SHA-256): the CLI signs the file and sends the signature, kept as
//! evidence beside the digest for whoever holds the file and the reviewer's public key.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use imadm_api::access::{
    AccessReview, Attestation, AttestationCreate, FLAG_BROADER, FLAG_DORMANT, FLAG_NEVER_USED,
    FLAG_OWNER, MfaFactors, ReviewedOperator, ReviewedToken, RoleHolders,
};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::{AppState, UnixTime, now};

const DAY: i64 = 86_400;
/// The longest `dormant_days` a review accepts (ten years).
pub const MAX_DORMANT_DAYS: u32 = 3650;
const PAGE: u32 = 1000;
/// Attestations a listing returns at most (newest first).
pub const MAX_ATTESTATIONS: u32 = 100;
const REVIEWER_MAX: usize = 100;
const SIGNATURE_MAX: usize = 4096;
const SSHSIG_BEGIN: &str = "-----BEGIN SSH SIGNATURE-----";

impl AppState {
    pub fn access_review(
        &self,
        caller: &Caller,
        dormant_days: u32,
    ) -> Result<AccessReview, ApiError> {
        caller.require("security:read")?;
        if !(1..=MAX_DORMANT_DAYS).contains(&dormant_days) {
            return Err(ApiError::bad_request(format!(
                "dormant_days must be between 1 and {MAX_DORMANT_DAYS}, not {dormant_days}"
            ))
            .hint("e.g. --dormant-days 90"));
        }
        let now = now();
        let addrs: HashMap<i64, String> = self.store.last_login_addresses()?.into_iter().collect();
        let mut operators = Vec::new();
        let mut after = 0;
        loop {
            let page = self.store.list_operators(after, PAGE)?;
            for o in &page {
                let mut permissions = self.store.operator_permissions(o.id)?;
                permissions.sort();
                permissions.dedup();
                operators.push(ReviewedOperator {
                    id: o.id,
                    username: o.username.clone(),
                    roles: self.store.operator_roles(o.id)?,
                    permissions,
                    disabled: o.disabled,
                    mfa: MfaFactors {
                        totp: o.totp_secret.is_some(),
                        passkeys: Vec::new(),
                    },
                    created_at: o.created_at,
                    last_login_at: o.last_login_at,
                    last_login_addr: addrs.get(&o.id).cloned(),
                    flags: Vec::new(),
                    decision: None,
                });
            }
            match page.last() {
                Some(last) if page.len() as u32 == PAGE => after = last.id,
                _ => break,
            }
        }
        let perms_of: HashMap<&str, &[String]> = operators
            .iter()
            .map(|o| (o.username.as_str(), o.permissions.as_slice()))
            .collect();
        let mut tokens = Vec::new();
        for t in self.store.list_service_tokens()? {
            if t.revoked || t.expires_at <= now {
                continue;
            }
            let held = perms_of.get(t.created_by.as_str()).copied().unwrap_or(&[]);
            let mut permissions: Vec<String> = t
                .scopes
                .iter()
                .filter(|s| held.contains(s))
                .cloned()
                .collect();
            permissions.sort();
            tokens.push(ReviewedToken {
                id: t.id,
                name: t.name,
                created_by: t.created_by,
                scopes: t.scopes,
                permissions,
                created_at: t.created_at,
                expires_at: t.expires_at,
                last_used_at: t.last_used_at,
                last_used_addr: t.last_used_addr,
                flags: Vec::new(),
                decision: None,
            });
        }
        let roles = self
            .store
            .list_roles()?
            .into_iter()
            .map(|r| RoleHolders {
                operators: operators
                    .iter()
                    .filter(|o| o.roles.contains(&r.name))
                    .map(|o| o.username.clone())
                    .collect(),
                role: r.name,
                builtin: r.builtin,
            })
            .collect();
        flag(&mut operators, &mut tokens, dormant_days, now);
        Ok(AccessReview {
            server_id: self.server_id.clone(),
            generated_at: now,
            dormant_days,
            operators,
            tokens,
            roles,
        })
    }

    pub fn attest(
        &self,
        caller: &Caller,
        req: &AttestationCreate,
    ) -> Result<Attestation, ApiError> {
        caller.require("security:manage")?;
        // A person reviews; a cron job's token cannot attest that someone looked.
        caller.session()?;
        check_attestation(req)?;
        let at = now();
        let id = self
            .store
            .add_attestation(req, &caller.operator.username, at)?;
        Ok(Attestation {
            id,
            reviewer: req.reviewer.clone(),
            recorded_by: caller.operator.username.clone(),
            review_sha256: req.review_sha256.clone(),
            signature: req.signature.clone(),
            attested_at: at,
            operators: req.operators,
            tokens: req.tokens,
            keep: req.keep,
            revoke: req.revoke,
        })
    }

    pub fn attestations(&self, caller: &Caller) -> Result<Vec<Attestation>, ApiError> {
        caller.require("security:read")?;
        Ok(self.store.attestations(MAX_ATTESTATIONS)?)
    }
}

/// What an attestation must look like: a reviewer name, a SHA-256, an armored SSHSIG.
fn check_attestation(a: &AttestationCreate) -> Result<(), ApiError> {
    let n = a.reviewer.chars().count();
    if a.reviewer.trim().is_empty() || n > REVIEWER_MAX || a.reviewer.chars().any(char::is_control)
    {
        return Err(ApiError::bad_request(format!(
            "reviewer must be 1-{REVIEWER_MAX} characters without control characters"
        ))
        .hint("e.g. --reviewer \"Ana Lima\""));
    }
    if a.review_sha256.len() != 64
        || !a
            .review_sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(ApiError::bad_request(
            "review_sha256 must be 64 lowercase hex digits",
        ));
    }
    if [a.operators, a.tokens, a.keep, a.revoke]
        .iter()
        .any(|&n| n > imadm_api::access::MAX_REVIEW_LINES)
    {
        return Err(ApiError::bad_request(format!(
            "the counts of an attestation are at most {}",
            imadm_api::access::MAX_REVIEW_LINES
        )));
    }
    if !a.signature.starts_with(SSHSIG_BEGIN) || a.signature.len() > SIGNATURE_MAX {
        return Err(ApiError::bad_request(
            "signature must be an armored SSH signature (ssh-keygen -Y sign)",
        )
        .hint("`imadm access review --attest --sign-key KEY` signs the review"));
    }
    Ok(())
}

/// Set the flags of every principal (see the module header for their definitions).
pub fn flag(
    operators: &mut [ReviewedOperator],
    tokens: &mut [ReviewedToken],
    dormant_days: u32,
    now: UnixTime,
) {
    let limit = i64::from(dormant_days) * DAY;
    // Role → the permissions of each holder, to compare each holder with the others.
    let mut holders: BTreeMap<&str, Vec<(i64, BTreeSet<&str>)>> = BTreeMap::new();
    for o in operators.iter() {
        for r in &o.roles {
            holders
                .entry(r.as_str())
                .or_default()
                .push((o.id, o.permissions.iter().map(String::as_str).collect()));
        }
    }
    let mut broader = BTreeSet::new();
    for held in holders.values() {
        for (id, mine) in held {
            let others: BTreeSet<&str> = held
                .iter()
                .filter(|(other, _)| other != id)
                .flat_map(|(_, p)| p.iter().copied())
                .collect();
            if held.len() > 1 && !mine.is_subset(&others) {
                broader.insert(*id);
            }
        }
    }
    for o in operators.iter_mut() {
        let mut flags = Vec::new();
        if !o.disabled && now - o.last_login_at.unwrap_or(o.created_at) > limit {
            flags.push(FLAG_DORMANT);
        }
        if o.last_login_at.is_none() {
            flags.push(FLAG_NEVER_USED);
        }
        if o.roles.iter().any(|r| r == "owner") {
            flags.push(FLAG_OWNER);
        }
        if broader.contains(&o.id) {
            flags.push(FLAG_BROADER);
        }
        o.flags = flags.into_iter().map(String::from).collect();
    }
    for t in tokens.iter_mut() {
        let mut flags = Vec::new();
        if now - t.last_used_at.unwrap_or(t.created_at) > limit {
            flags.push(FLAG_DORMANT);
        }
        if t.last_used_at.is_none() {
            flags.push(FLAG_NEVER_USED);
        }
        t.flags = flags.into_iter().map(String::from).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(id: i64, roles: &[&str], perms: &[&str], last: Option<i64>) -> ReviewedOperator {
        ReviewedOperator {
            id,
            username: format!("op{id}"),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            permissions: perms.iter().map(|p| p.to_string()).collect(),
            disabled: false,
            mfa: MfaFactors::default(),
            created_at: 0,
            last_login_at: last,
            last_login_addr: None,
            flags: Vec::new(),
            decision: None,
        }
    }

    #[test]
    fn flags_follow_their_definitions() {
        let now = 200 * DAY;
        let mut ops = vec![
            // support only, recent login
            op(1, &["support"], &["user:read"], Some(now - DAY)),
            // support plus a direct extra role: broader than the other support holder
            op(
                2,
                &["support", "auditor"],
                &["audit:read", "user:read"],
                Some(now - 91 * DAY),
            ),
            // the only owner: no peers to be broader than; never logged in (created at 0)
            op(3, &["owner"], &["audit:read", "user:read"], None),
        ];
        let mut tokens = vec![ReviewedToken {
            id: 9,
            name: "ci".into(),
            created_by: "op1".into(),
            scopes: vec!["user:read".into()],
            permissions: vec!["user:read".into()],
            created_at: now - DAY,
            expires_at: now + DAY,
            last_used_at: None,
            last_used_addr: None,
            flags: Vec::new(),
            decision: None,
        }];
        flag(&mut ops, &mut tokens, 90, now);
        assert!(ops[0].flags.is_empty(), "{:?}", ops[0].flags);
        assert_eq!(ops[1].flags, [FLAG_DORMANT, FLAG_BROADER]);
        assert_eq!(ops[2].flags, [FLAG_DORMANT, FLAG_NEVER_USED, FLAG_OWNER]);
        assert_eq!(tokens[0].flags, [FLAG_NEVER_USED]);
        // A longer window: nobody is dormant; a disabled operator never is.
        ops[1].disabled = true;
        flag(&mut ops, &mut tokens, 365, now);
        assert_eq!(ops[1].flags, [FLAG_BROADER]);
        assert_eq!(ops[2].flags, [FLAG_NEVER_USED, FLAG_OWNER]);
    }

    #[test]
    fn attestations_need_a_reviewer_a_digest_and_a_signature() {
        let good = AttestationCreate {
            reviewer: "Ana Lima".into(),
            review_sha256: "a".repeat(64),
            signature: format!("{SSHSIG_BEGIN}\nAAAA\n-----END SSH SIGNATURE-----\n"),
            operators: 2,
            tokens: 1,
            keep: 0,
            revoke: 0,
        };
        assert!(check_attestation(&good).is_ok());
        for bad in [
            AttestationCreate {
                reviewer: " ".into(),
                ..good.clone()
            },
            AttestationCreate {
                reviewer: "a\u{1b}[2J".into(),
                ..good.clone()
            },
            AttestationCreate {
                review_sha256: "A".repeat(64),
                ..good.clone()
            },
            AttestationCreate {
                signature: "unsigned".into(),
                ..good.clone()
            },
        ] {
            assert!(check_attestation(&bad).is_err(), "{bad:?}");
        }
    }
}
