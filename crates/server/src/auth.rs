//! Authentication rules: the two-step login, throttling and lockout, sessions, MFA
//! enrolment, step-up.
//!
//! This module is the server's security policy in one place; HTTP handlers only unpack
//! requests and call it. Every outcome that matters (success, wrong password, wrong or
//! replayed code, refusal, lockout, enrolment, refresh-token reuse, logout) is appended to
//! the `auth_events` log with the actor, source address and request id, never with the
//! secret itself. A username that names no operator is logged as a keyed pseudonym,
//! `unknown:<16 hex>` (`AuditKey::unknown_operator`): it is often a password typed into
//! the wrong field.
//!
//! # Throttling and lockout (OWASP ASVS v4 2.2.1, v5 "anti-automation")
//!
//! Every check of a secret is an *attempt*: the password at login, the TOTP or recovery
//! code at login, a step-up code, the current password of a password change, the first
//! code of an MFA enrolment. Before it is checked, an attempt passes three limits (the
//! rules are in `throttle.rs`; the counters in the store, `store/throttle.rs`: in memory
//! on SQLite, where a restart clears them, and shared by every instance on PostgreSQL):
//!
//! 1. **Per source address**, a token bucket ([`Policy::address_rate`], default 10
//!    attempts, then one every 6 s). An attempt that turns out right gives its token
//!    back, so only failures and refusals use it up. Over the limit every username is
//!    refused from that address, and no account's counters move.
//! 2. **Per (username, address)**: from the [`Policy::lockout_threshold`]-th (5th)
//!    consecutive failure on, that address is locked out of that username for
//!    `lockout_base * 2^(n - threshold)` (30 s, doubling, at most [`Policy::lockout_max`],
//!    1 h). A lock refuses even the right password without spending argon2 time on it. A
//!    completed login from the address clears its failures; they are also forgotten
//!    [`Policy::failure_memory`] (24 h) after the last one. Whoever hammers a name from an
//!    address only locks that address out.
//! 3. **Per username, the ceiling** ([`Policy::account_rate`], default 20 failures, then
//!    one a minute: at most 80 guesses in the first hour and 60 an hour after that, below
//!    ASVS's 100, however many addresses an attacker holds). Failures from addresses the
//!    operator has not logged in from take a token; when none is left, such addresses are
//!    refused for this username. The addresses of the operator's last
//!    [`Policy::known_addresses`] (8) completed logins within
//!    [`Policy::known_address_ttl`] (90 days) are exempt: they are limited by rules 1 and
//!    2 only, so an owner on their usual address still logs in during an attack from
//!    elsewhere.
//!
//! A username that names no operator goes through exactly the same steps: the same
//! counters, the same answers (401 four times, then 429 with the same retry-after), the
//! same argon2 work (against a dummy hash) and the same audit events, so answers do not
//! tell which names exist. Refusals answer 50005 (HTTP 429) with `retry_after_secs` and
//! a `Retry-After` header, and are audited (`throttled` or `locked`, outcome `denied`);
//! a lock and an exhausted ceiling are `account.lockout` events (alert `lockout`).
//!
//! Attempts are counted before they are checked, and given back when they turn out
//! right, so parallel requests cannot pass more guesses than the limits allow.
//!
//! A TOTP code that matches the current window while the stored last-used step lies
//! beyond it (the server clock ran ahead once, and a code was used then) is refused as
//! clock skew, not as a replay, and does not count as a failure; the stored step is capped
//! at the current step + 1, so codes work again from the next step on.
//!
//! Refresh tokens rotate on every use, and a rotated-away token presented again revokes
//! the session (`auth.refresh_reuse`): it was copied, or a client misbehaves. One
//! exception, [`Policy::refresh_grace`] (30 s): the token the last rotation replaced gets
//! that rotation's pair again, unchanged (`auth.refresh_grace`). It covers an answer lost
//! on the way back and two machines sharing a session that refresh at once, which the
//! CLI's refresh lock cannot see. The pair is kept for the window only, sealed with the
//! server key; after the window, or for any older token, reuse revokes.

use std::time::Duration;

use imadm_api::auth::{
    LoginResponse, MfaChallenge, MfaEnrolled, MfaEnrollment, MfaStatus, PasswordChanged,
    RESTRICTION_MFA_ENROLL, RESTRICTION_PASSKEY_ENROLL, RESTRICTION_PASSWORD_CHANGE, RecoveryCodes,
    SessionTokens, WhoAmI,
};
use imadm_api::{ErrorDetail, codes};

use crate::error::ApiError;
use crate::secrets::{self, ACCESS_PREFIX, MFA_PREFIX, REFRESH_PREFIX, SERVICE_PREFIX};
use crate::store::audit::now_ms;
use crate::store::passkey::Removal;
use crate::store::{
    AuthEvent, Grace, NewSession, Operator, RotateOutcome, Rotation, Session, grace_aad, totp_aad,
};
use crate::throttle::{Addr, Attempt, Rate, Refusal};
use crate::totp::{self, Check};
use crate::{AppState, UnixTime, now};

/// Timing and lockout knobs. Defaults are production values; tests shorten them with
/// hidden server flags.
#[derive(Debug, Clone)]
pub struct Policy {
    pub access_ttl: Duration,
    pub refresh_idle_ttl: Duration,
    /// How long the refresh token a rotation replaced still gets that rotation's pair
    /// (see the module docs); zero turns the window off.
    pub refresh_grace: Duration,
    pub session_max_ttl: Duration,
    pub mfa_challenge_ttl: Duration,
    /// Consecutive failures of one username from one address before that address is
    /// locked out of it.
    pub lockout_threshold: u32,
    pub lockout_base: Duration,
    pub lockout_max: Duration,
    /// A (username, address)'s failures are forgotten this long after the last one.
    pub failure_memory: Duration,
    /// Attempts per source address: a burst, then one every `refill`.
    pub address_rate: Rate,
    /// Failures per username from addresses its operator has not logged in from.
    pub account_rate: Rate,
    /// How many addresses of completed logins are remembered per operator...
    pub known_addresses: usize,
    /// ...and for how long after the last login from each.
    pub known_address_ttl: Duration,
    pub min_password_len: usize,
    /// How long a browser approval (RFC 8628 device code) lives, and how often its
    /// client may poll (`passkey.rs`).
    pub approval_ttl: Duration,
    pub approval_interval: Duration,
    /// Roles whose operators must use passkeys (`--require-passkey-for`): TOTP neither
    /// logs them in nor approves their step-ups once they have one.
    pub require_passkey_for: Vec<String>,
}

impl Policy {
    /// How long to lock after the `failures`-th consecutive failure: nothing below the
    /// threshold, then the base delay doubling per further failure, capped.
    pub fn lockout_delay(&self, failures: u32) -> Option<Duration> {
        let over = failures.checked_sub(self.lockout_threshold)?;
        let delay = self
            .lockout_base
            .saturating_mul(1u32 << over.min(20))
            .min(self.lockout_max);
        Some(delay.max(Duration::from_secs(1)))
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            access_ttl: Duration::from_secs(15 * 60),
            refresh_idle_ttl: Duration::from_secs(24 * 3600),
            // Long enough for a retried request after a lost answer and for a cron
            // burst on two machines; short enough that a copied token is still caught
            // by the rotation after next. Okta's default refresh-token grace is 30 s too.
            refresh_grace: Duration::from_secs(30),
            session_max_ttl: Duration::from_secs(7 * 24 * 3600),
            mfa_challenge_ttl: Duration::from_secs(5 * 60),
            lockout_threshold: 5,
            lockout_base: Duration::from_secs(30),
            lockout_max: Duration::from_secs(3600),
            failure_memory: Duration::from_secs(24 * 3600),
            address_rate: Rate {
                burst: 10,
                refill: Duration::from_secs(6),
            },
            account_rate: Rate {
                burst: 20,
                refill: Duration::from_secs(60),
            },
            known_addresses: 8,
            known_address_ttl: Duration::from_secs(90 * 24 * 3600),
            min_password_len: 12,
            // RFC 8628's example lifetime is 30 minutes; an approval is done in one.
            approval_ttl: Duration::from_secs(10 * 60),
            approval_interval: Duration::from_secs(5),
            require_passkey_for: Vec::new(),
        }
    }
}

/// Who sent the request, for the event log.
#[derive(Debug, Clone, Default)]
pub struct RequestCtx {
    pub source_addr: Option<String>,
    pub request_id: Option<String>,
    /// The request a passkey step-up would approve (method, path, body hash): computed by
    /// the HTTP layer when the step-up header asks for one or carries its token.
    pub binding: Option<crate::approval::Binding>,
}

/// An authenticated caller, resolved from the `access-token` header on every request.
/// Permissions are looked up per request (not baked into the token), so a revoked role
/// stops working on the very next call.
/// What authenticating a session token reads from the database (session, operator,
/// permissions), kept per token hash for as long as nothing was written since.
///
/// Three indexed queries per request were most of the cost of a small authenticated read.
/// The cache keeps "revoked on the very next request": an entry is used only while the
/// store's write epoch equals the one read *before* the lookup, and every committed write
/// (a revoke, grant, logout, disable, ...) bumps the epoch. A racing write can only make
/// an entry look stale, never make a stale entry look fresh. Expiry, revocation and
/// disabled state are still checked on every request from the cached records and the
/// clock. Service tokens are not cached (each use is recorded anyway).
#[derive(Default)]
pub struct AuthCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, CachedSession>>,
}

#[derive(Clone)]
struct CachedSession {
    epoch: u64,
    session: Session,
    operator: Operator,
    permissions: Vec<String>,
}

/// The caller a looked-up session makes, if it is still good at this moment.
fn session_caller(found: Option<CachedSession>) -> Result<Caller, ApiError> {
    let Some(CachedSession {
        session,
        operator,
        permissions,
        ..
    }) = found
    else {
        return Err(ApiError::new(
            codes::TOKEN_INVALID,
            "the access token is not valid (unknown or rotated)",
        )
        .hint("log in again with `imadm auth login`"));
    };
    let t = now();
    if session.revoked || session.absolute_expires_at <= t {
        return Err(ApiError::new(
            codes::TOKEN_INVALID,
            "the session has ended (logged out, revoked or expired)",
        )
        .hint("log in again with `imadm auth login`"));
    }
    if session.access_expires_at <= t {
        return Err(
            ApiError::new(codes::TOKEN_EXPIRED, "the access token has expired")
                .hint("refresh it with the refresh token, or log in again"),
        );
    }
    if operator.disabled {
        return Err(ApiError::new(
            codes::ACCOUNT_DISABLED,
            "this operator account is disabled",
        ));
    }
    Ok(Caller {
        operator,
        session: Some(session),
        token_id: None,
        token_expires_at: None,
        permissions,
    })
}

/// Entries beyond this are dropped wholesale (a rebuild costs one lookup per session).
const AUTH_CACHE_MAX: usize = 4096;

impl AuthCache {
    fn get(&self, hash: &str, epoch: u64) -> Option<CachedSession> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.get(hash).filter(|c| c.epoch == epoch).cloned()
    }

    fn put(&self, hash: String, entry: CachedSession) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= AUTH_CACHE_MAX {
            map.clear();
        }
        map.insert(hash, entry);
    }
}

#[derive(Debug, Clone)]
pub struct Caller {
    /// The operator acting (for a service token: the operator who created it).
    pub operator: Operator,
    /// The interactive session, or `None` for a service token.
    pub session: Option<Session>,
    /// The service token in use, if any.
    pub token_id: Option<i64>,
    /// When that service token expires.
    pub token_expires_at: Option<UnixTime>,
    /// Resolved for this request: the operator's role permissions, narrowed to the
    /// token's scopes for a service token.
    pub permissions: Vec<String>,
}

impl Caller {
    /// The interactive session; service tokens are refused with a clear error.
    pub fn session(&self) -> Result<&Session, ApiError> {
        self.session.as_ref().ok_or_else(|| {
            ApiError::new(
                codes::FORBIDDEN,
                "service tokens cannot do this; it needs an interactive login session",
            )
            .hint("log in with `imadm auth login` (password and TOTP)")
        })
    }

    /// Restrictions of the session (none for service tokens).
    pub fn restrictions(&self) -> &[String] {
        self.session.as_ref().map_or(&[], |s| &s.restrictions)
    }

    /// Refuse the request unless the caller holds `permission` (checked on the server for
    /// every endpoint; the CLI never decides).
    pub fn require(&self, permission: &str) -> Result<(), ApiError> {
        debug_assert!(
            imadm_api::permissions::CATALOGUE
                .iter()
                .any(|(p, _)| *p == permission),
            "unknown permission {permission}"
        );
        if self.permissions.iter().any(|p| p == permission) {
            Ok(())
        } else {
            Err(ApiError::new(
                codes::FORBIDDEN,
                format!(
                    "permission denied: this needs `{permission}`, which {} does not have",
                    self.operator.username
                ),
            )
            .hint("ask an owner to grant a role with that permission (`imadm operator grant`)"))
        }
    }
}

const NUM_RECOVERY_CODES: usize = 10;
const ISSUER: &str = "imadm";

impl AppState {
    pub(crate) fn event(
        &self,
        ctx: &RequestCtx,
        op: Option<&Operator>,
        username: &str,
        event: &str,
        outcome: &str,
        detail: Option<String>,
    ) -> Result<(), ApiError> {
        let username = match op {
            Some(o) => o.username.clone(),
            None if username.is_empty() => String::new(),
            None => self.audit_key.unknown_operator(username),
        };
        self.store.append_event(
            &AuthEvent {
                operator_id: op.map(|o| o.id),
                username: Some(username),
                event: event.to_owned(),
                outcome: outcome.to_owned(),
                source_addr: ctx.source_addr.clone(),
                request_id: ctx.request_id.clone(),
                detail,
            },
            now(),
        )?;
        Ok(())
    }

    /// Admit an attempt at `step` for `name` (the operator `op`, or a name that is no
    /// operator's; `None`: no name at all) from the request's address, or refuse it (see
    /// the module documentation). Either way the same work is done for known and unknown
    /// names.
    pub(crate) fn admit(
        &self,
        ctx: &RequestCtx,
        op: Option<&Operator>,
        name: Option<&str>,
        step: &str,
    ) -> Result<Attempt, ApiError> {
        let addr = Addr::parse(ctx.source_addr.as_deref());
        // Asked for unknown names too (operator id 0 has no rows): the same query either way.
        let since = now() - self.policy.known_address_ttl.as_secs() as i64;
        let known =
            self.store
                .is_known_address(op.map_or(0, |o| o.id), &addr.to_string(), since)?;
        let refusal = match self.throttle.admit(name, addr, known, now_ms())? {
            Ok(attempt) => return Ok(attempt),
            Err(r) => r,
        };
        let name = name.unwrap_or("");
        let (outcome, detail, err) = match refusal {
            Refusal::Address(wait) => {
                let Rate { burst, refill } = self.policy.address_rate;
                (
                    "throttled",
                    format!(
                        "source address over its limit ({burst} attempts, then one every {}s)",
                        refill.as_secs()
                    ),
                    address_throttled_error(secs(wait)),
                )
            }
            Refusal::Locked(wait) => (
                "locked",
                format!("{addr} is locked out of this account"),
                locked_error(secs(wait)),
            ),
            Refusal::Ceiling(wait) => (
                "throttled",
                format!(
                    "failure ceiling of this account reached; {addr} is not one it logged in from"
                ),
                ceiling_error(secs(wait)),
            ),
        };
        self.event(ctx, op, name, step, outcome, Some(detail))?;
        Err(err)
    }

    /// Record a failed attempt (the counters took it at admission); returns the lockout
    /// error to send instead of the step's own when this failure locked the address out.
    pub(crate) fn failed(
        &self,
        ctx: &RequestCtx,
        op: Option<&Operator>,
        name: &str,
        attempt: Attempt,
        step: &str,
        outcome: &str,
    ) -> Result<Option<ApiError>, ApiError> {
        self.event(ctx, op, name, step, outcome, None)?;
        let addr = Addr::parse(ctx.source_addr.as_deref());
        if attempt.ceiling_reached {
            let Rate { burst, refill } = self.policy.account_rate;
            self.event(
                ctx,
                op,
                name,
                "account.lockout",
                "locked",
                Some(format!(
                    "failure ceiling reached ({burst} failures from addresses new to this \
                     account, then one every {}s); such addresses are refused meanwhile",
                    refill.as_secs()
                )),
            )?;
        }
        if let Some((_, delay)) = attempt.lock {
            let delay = secs(delay);
            self.event(
                ctx,
                op,
                name,
                "account.lockout",
                "locked",
                Some(format!(
                    "{} consecutive failures from {addr}; {addr} is locked out for {delay}s",
                    attempt.failures
                )),
            )?;
            return Ok(Some(locked_error(delay)));
        }
        Ok(None)
    }

    /// [`AppState::failed`] for an operator's attempt: the error to send, `err` or the
    /// lockout error (or the error of recording it).
    pub(crate) fn failure(
        &self,
        ctx: &RequestCtx,
        op: &Operator,
        attempt: Attempt,
        step: &str,
        outcome: &str,
        err: ApiError,
    ) -> ApiError {
        match self.failed(ctx, Some(op), "", attempt, step, outcome) {
            Ok(locked) => locked.unwrap_or(err),
            Err(e) => e,
        }
    }

    /// The password step of a login (`imadm auth login`, or the approval page): the
    /// operator and the admitted attempt, still counted as a failure until the second
    /// factor passes (the caller releases or completes it).
    pub(crate) fn password_step(
        &self,
        ctx: &RequestCtx,
        username: &str,
        password: &str,
    ) -> Result<(Operator, Attempt), ApiError> {
        let op = self.store.operator_by_username(username)?;
        let attempt = self.admit(ctx, op.as_ref(), Some(username), "login.password")?;
        // The same argon2 cost for unknown names, so timing does not reveal them.
        let hash = op
            .as_ref()
            .map_or(secrets::dummy_hash(), |o| o.password_hash.as_str());
        let verified = secrets::verify_password(password, hash);
        let op = match op {
            Some(op) if verified => op,
            op => {
                let outcome = match op {
                    Some(_) => "wrong_password",
                    None => "unknown_operator",
                };
                let step = "login.password";
                let locked = self.failed(ctx, op.as_ref(), username, attempt, step, outcome)?;
                return Err(locked.unwrap_or_else(bad_credentials));
            }
        };
        if op.disabled {
            self.throttle.release(attempt);
            self.event(ctx, Some(&op), "", "login.password", "disabled", None)?;
            return Err(ApiError::new(
                codes::ACCOUNT_DISABLED,
                "this operator account is disabled",
            )
            .hint("ask an owner or admin to run `imadm operator enable`"));
        }
        Ok((op, attempt))
    }

    /// Step 1: the password.
    pub fn login(
        &self,
        ctx: &RequestCtx,
        username: &str,
        password: &str,
    ) -> Result<LoginResponse, ApiError> {
        let (op, attempt) = self.password_step(ctx, username, password)?;
        // An operator with a passkey whose role needs one, or whose only factor it is,
        // logs in through the browser. One whose role needs a passkey and who has none
        // yet gets a session that may only enrol one (`RESTRICTION_PASSKEY_ENROLL`).
        let passkey_required = self.passkey_required(op.id)?;
        let has_passkey = !self.store.passkeys(op.id)?.is_empty();
        if has_passkey && (passkey_required || op.totp_secret.is_none()) {
            self.throttle.release(attempt);
            self.event(
                ctx,
                Some(&op),
                "",
                "login.password",
                "refused_passkey_required",
                None,
            )?;
            return Err(ApiError::new(
                codes::MFA_REQUIRED,
                "this operator logs in with a passkey, not with a TOTP code",
            )
            .hint("log in with `imadm auth login --web` and approve with your passkey"));
        }
        if op.totp_secret.is_none() {
            // No MFA yet: a session that can only enrol (and change a one-time password).
            self.login_completed(ctx, &op, attempt)?;
            let mut restrictions = vec![RESTRICTION_MFA_ENROLL.to_owned()];
            if op.must_change_password {
                restrictions.push(RESTRICTION_PASSWORD_CHANGE.to_owned());
            }
            if passkey_required {
                restrictions.push(RESTRICTION_PASSKEY_ENROLL.to_owned());
            }
            self.event(
                ctx,
                Some(&op),
                "",
                "login",
                "restricted_session",
                Some(restrictions.join(",")),
            )?;
            let session = self.new_session(ctx, &op, restrictions)?;
            return Ok(LoginResponse {
                mfa: None,
                session: Some(session),
            });
        }
        // The password is right, but the login is not complete: the failures of this
        // address stay counted until the second factor passes too.
        self.throttle.release(attempt);
        let token = secrets::random_token(MFA_PREFIX);
        let expires_at = now() + self.policy.mfa_challenge_ttl.as_secs() as i64;
        self.store
            .create_mfa_challenge(&secrets::token_hash(&token), op.id, expires_at)?;
        self.event(ctx, Some(&op), "", "login.password", "mfa_required", None)?;
        Ok(LoginResponse {
            mfa: Some(MfaChallenge {
                mfa_token: token,
                expires_at,
            }),
            session: None,
        })
    }

    /// A login completed from the request's address: its failures are forgotten and the
    /// address is one the operator logs in from (exempt from the account's ceiling).
    pub(crate) fn login_completed(
        &self,
        ctx: &RequestCtx,
        op: &Operator,
        attempt: Attempt,
    ) -> Result<(), ApiError> {
        self.throttle.complete(attempt);
        let addr = Addr::parse(ctx.source_addr.as_deref());
        self.store
            .login_succeeded(op.id, &addr.to_string(), self.policy.known_addresses, now())?;
        Ok(())
    }

    /// Step 2: a TOTP code (or a recovery code) for the challenge from step 1.
    pub fn verify_mfa(
        &self,
        ctx: &RequestCtx,
        mfa_token: &str,
        code: &str,
    ) -> Result<SessionTokens, ApiError> {
        let challenge = secrets::token_hash(mfa_token);
        let op = match self.store.mfa_challenge(&challenge, now())? {
            Some(op_id) => Some(self.operator(op_id)?),
            None => None,
        };
        let name = op.as_ref().map(|o| o.username.as_str());
        let attempt = self.admit(ctx, op.as_ref(), name, "login.mfa")?;
        let Some(op) = op else {
            // Counted against the address (guessing challenges is futile, but not free).
            return Err(ApiError::new(
                codes::MFA_INVALID,
                "the MFA challenge is unknown or has expired",
            )
            .hint("start again with `imadm auth login`"));
        };
        let method = self.check_second_factor(ctx, &op, code, "login.mfa", attempt)?;
        self.store.delete_mfa_challenge(&challenge)?;
        self.login_completed(ctx, &op, attempt)?;
        let mut restrictions = vec![];
        if op.must_change_password {
            restrictions.push(RESTRICTION_PASSWORD_CHANGE.to_owned());
        }
        // Only reached without a passkey (`login`): the policy wants one enrolled first.
        if self.passkey_required(op.id)? {
            restrictions.push(RESTRICTION_PASSKEY_ENROLL.to_owned());
        }
        self.event(
            ctx,
            Some(&op),
            "",
            "login",
            "success",
            Some(format!("mfa={method}")),
        )?;
        self.new_session(ctx, &op, restrictions)
    }

    /// Check a TOTP or recovery code for `op` as the admitted `attempt`, recording a
    /// failure. Returns the method used; the caller settles the attempt on success.
    fn check_second_factor(
        &self,
        ctx: &RequestCtx,
        op: &Operator,
        code: &str,
        step: &str,
        attempt: Attempt,
    ) -> Result<&'static str, ApiError> {
        let fail = |outcome, err| self.failure(ctx, op, attempt, step, outcome, err);
        let code = code.trim();
        if code.contains('-') {
            let hash = secrets::token_hash(&code.to_ascii_lowercase());
            if self.store.use_recovery_code(op.id, &hash, now())? {
                self.event(ctx, Some(op), "", step, "recovery_code_used", None)?;
                return Ok("recovery_code");
            }
            return Err(fail("wrong_recovery_code", wrong_code()));
        }
        let secret = self.totp_secret(op)?;
        let t = now() as u64;
        match totp::check(&secret, code, t, op.last_totp_step) {
            Check::Valid(step_no) => {
                if self.store.consume_totp_step(op.id, step_no)? {
                    Ok("totp")
                } else {
                    // Lost a race with a concurrent request using the same code.
                    Err(fail("replayed_code", replayed_code()))
                }
            }
            Check::ClockSkew { last_step } => {
                Err(self.clock_skew(ctx, op, step, attempt, last_step, t)?)
            }
            Check::Replayed => Err(fail("replayed_code", replayed_code())),
            Check::Invalid => Err(fail("wrong_code", wrong_code())),
        }
    }

    /// A right code refused because the stored last-used step lies beyond the window: cap
    /// it at the window's end, record why, and do not count a failure. Returns the error.
    fn clock_skew(
        &self,
        ctx: &RequestCtx,
        op: &Operator,
        step: &str,
        attempt: Attempt,
        last_step: u64,
        now_secs: u64,
    ) -> Result<ApiError, ApiError> {
        self.throttle.release(attempt);
        let cap = totp::max_step(now_secs);
        self.store.cap_totp_step(op.id, cap)?;
        self.event(
            ctx,
            Some(op),
            "",
            step,
            "clock_skew",
            Some(format!(
                "clock skew: the last used TOTP step {last_step} is ahead of the server clock \
                 (step {}); capped at {cap}",
                now_secs / totp::STEP_SECS
            )),
        )?;
        Ok(ApiError::new(
            codes::MFA_INVALID,
            "clock skew: the server's clock ran ahead earlier, so this code cannot be told \
             from one already used",
        )
        .hint(
            "the server has corrected its record; wait for the next code (at most a minute) \
             and try again, and check the server's time synchronisation (NTP)",
        ))
    }

    fn totp_secret(&self, op: &Operator) -> Result<zeroize::Zeroizing<Vec<u8>>, ApiError> {
        let sealed = op.totp_secret.as_ref().ok_or_else(|| {
            ApiError::new(
                codes::MFA_ENROLLMENT_REQUIRED,
                "this operator has not enrolled MFA",
            )
            .hint("run `imadm mfa enroll`")
        })?;
        self.key.open(sealed, &totp_aad(op.id)).ok_or_else(|| {
            ApiError::new(
                codes::INTEGRITY,
                "the stored TOTP secret does not decrypt with this server key",
            )
            .hint("the server key file does not belong to this database; restore the right key")
        })
    }

    pub(crate) fn operator(&self, id: i64) -> Result<Operator, ApiError> {
        self.store
            .operator_by_id(id)?
            .ok_or_else(|| ApiError::new(codes::TOKEN_INVALID, "the operator no longer exists"))
    }

    pub(crate) fn new_session(
        &self,
        ctx: &RequestCtx,
        op: &Operator,
        restrictions: Vec<String>,
    ) -> Result<SessionTokens, ApiError> {
        let t = now();
        let access = secrets::random_token(ACCESS_PREFIX);
        let refresh = secrets::random_token(REFRESH_PREFIX);
        let absolute = t + self.policy.session_max_ttl.as_secs() as i64;
        let s = NewSession {
            operator_id: op.id,
            access_hash: secrets::token_hash(&access),
            access_expires_at: t + self.policy.access_ttl.as_secs() as i64,
            refresh_hash: secrets::token_hash(&refresh),
            refresh_expires_at: (t + self.policy.refresh_idle_ttl.as_secs() as i64).min(absolute),
            absolute_expires_at: absolute,
            restrictions: restrictions.clone(),
            source_addr: ctx.source_addr.clone(),
        };
        self.store.create_session(&s, t)?;
        Ok(SessionTokens {
            access_token: access,
            access_expires_at: s.access_expires_at,
            refresh_token: refresh,
            refresh_expires_at: s.refresh_expires_at,
            restrictions,
        })
    }

    fn rotation(&self) -> (String, String, Rotation) {
        let t = now();
        let access = secrets::random_token(ACCESS_PREFIX);
        let refresh = secrets::random_token(REFRESH_PREFIX);
        let r = Rotation {
            access_hash: secrets::token_hash(&access),
            access_expires_at: t + self.policy.access_ttl.as_secs() as i64,
            refresh_hash: secrets::token_hash(&refresh),
            refresh_expires_at: t + self.policy.refresh_idle_ttl.as_secs() as i64,
        };
        (access, refresh, r)
    }

    /// Exchange a refresh token for a new pair. The old refresh token dies; presenting it
    /// again revokes the whole session (it was stolen, or a client misbehaves), except
    /// within [`Policy::refresh_grace`], which gets the same new pair again.
    pub fn refresh(
        &self,
        ctx: &RequestCtx,
        refresh_token: &str,
    ) -> Result<SessionTokens, ApiError> {
        let (access, refresh, r) = self.rotation();
        let t = now();
        let pair = zeroize::Zeroizing::new(format!("{access} {refresh}"));
        let seal = |session_id| self.key.seal(pair.as_bytes(), &grace_aad(session_id));
        let grace = Grace {
            until: t + self.policy.refresh_grace.as_secs() as i64,
            seal: &seal,
        };
        match self
            .store
            .rotate_refresh(&secrets::token_hash(refresh_token), &r, t, &grace)?
        {
            RotateOutcome::Rotated(s) => {
                self.refuse_disabled(&s)?;
                Ok(SessionTokens {
                    access_token: access,
                    access_expires_at: s.access_expires_at,
                    refresh_token: refresh,
                    refresh_expires_at: s.refresh_expires_at,
                    restrictions: s.restrictions,
                })
            }
            RotateOutcome::Grace { session, sealed } => {
                let op = self.refuse_disabled(&session)?;
                let opened = self.key.open(&sealed, &grace_aad(session.id));
                let Some((access, refresh)) = opened
                    .as_deref()
                    .and_then(|p| std::str::from_utf8(p).ok())
                    .and_then(|p| p.split_once(' '))
                else {
                    return Err(ApiError::new(
                        codes::INTEGRITY,
                        "the session's grace tokens do not decrypt with this server key",
                    )
                    .hint(
                        "the server key file does not belong to this database; restore the right key",
                    ));
                };
                self.event(
                    ctx,
                    Some(&op),
                    "",
                    "session.refresh",
                    "grace_replay",
                    Some(format!("session {}", session.id)),
                )?;
                Ok(SessionTokens {
                    access_token: access.to_owned(),
                    access_expires_at: session.access_expires_at,
                    refresh_token: refresh.to_owned(),
                    refresh_expires_at: session.refresh_expires_at,
                    restrictions: session.restrictions,
                })
            }
            RotateOutcome::Reused {
                session_id,
                operator_id,
            } => {
                let op = self.store.operator_by_id(operator_id)?;
                self.event(
                    ctx,
                    op.as_ref(),
                    "",
                    "session.refresh",
                    "reuse_detected_session_revoked",
                    Some(format!("session {session_id}")),
                )?;
                Err(refresh_invalid())
            }
            RotateOutcome::Invalid => Err(refresh_invalid()),
        }
    }

    /// The session's operator; a disabled one ends the session instead.
    fn refuse_disabled(&self, s: &Session) -> Result<Operator, ApiError> {
        let op = self.operator(s.operator_id)?;
        if op.disabled {
            self.store.revoke_session(s.id, now())?;
            return Err(ApiError::new(
                codes::ACCOUNT_DISABLED,
                "this operator account is disabled",
            ));
        }
        Ok(op)
    }

    /// Resolve an `access-token` header (session access token or service token).
    pub fn authenticate(&self, ctx: &RequestCtx, access_token: &str) -> Result<Caller, ApiError> {
        if access_token.starts_with(SERVICE_PREFIX) {
            return self.authenticate_service_token(ctx, access_token);
        }
        let hash = secrets::token_hash(access_token);
        // Read the epoch before the database: see `AuthCache`.
        let epoch = self.store.epoch();
        let cached = match self.auth_cache.get(&hash, epoch) {
            Some(c) => Some(c),
            None => match self.store.session_by_access_hash(&hash)? {
                None => None,
                Some(session) => {
                    let operator = self.operator(session.operator_id)?;
                    let permissions = self.store.operator_permissions(operator.id)?;
                    let entry = CachedSession {
                        epoch,
                        session,
                        operator,
                        permissions,
                    };
                    self.auth_cache.put(hash, entry.clone());
                    Some(entry)
                }
            },
        };
        session_caller(cached)
    }

    /// [`AppState::authenticate`] without the database, for a session access token whose
    /// lookup is cached at `epoch` (read by the caller, before this): `None` when it needs
    /// the database (not cached, or a service token).
    pub fn authenticate_cached(
        &self,
        access_token: &str,
        epoch: u64,
    ) -> Option<Result<Caller, ApiError>> {
        if access_token.starts_with(SERVICE_PREFIX) {
            return None;
        }
        let hash = secrets::token_hash(access_token);
        let entry = self.auth_cache.get(&hash, epoch)?;
        Some(session_caller(Some(entry)))
    }

    /// A service token acts with the intersection of its scopes and its creator's
    /// current permissions, so demoting the creator narrows the token too.
    fn authenticate_service_token(
        &self,
        ctx: &RequestCtx,
        token: &str,
    ) -> Result<Caller, ApiError> {
        let t = now();
        let Some(live) = self
            .store
            .service_token_by_hash(&secrets::token_hash(token), t)?
        else {
            return Err(ApiError::new(
                codes::TOKEN_INVALID,
                "the service token is not valid (unknown, expired or revoked)",
            )
            .hint("create a new one with `imadm token create`"));
        };
        let operator = self.operator(live.created_by)?;
        if operator.disabled {
            return Err(ApiError::new(
                codes::ACCOUNT_DISABLED,
                "the operator who created this service token is disabled",
            ));
        }
        self.store
            .touch_service_token(live.id, ctx.source_addr.as_deref(), t)?;
        let mine = self.store.operator_permissions(operator.id)?;
        let permissions = live
            .scopes
            .into_iter()
            .filter(|p| mine.contains(p))
            .collect();
        Ok(Caller {
            operator,
            session: None,
            token_id: Some(live.id),
            token_expires_at: Some(live.expires_at),
            permissions,
        })
    }

    pub fn logout(&self, ctx: &RequestCtx, caller: &Caller) -> Result<(), ApiError> {
        let session = caller
            .session()
            .map_err(|e| e.hint("revoke service tokens with `imadm token revoke ID`"))?;
        self.store.revoke_session(session.id, now())?;
        self.event(ctx, Some(&caller.operator), "", "logout", "success", None)
    }

    pub fn whoami(&self, caller: &Caller) -> Result<WhoAmI, ApiError> {
        Ok(WhoAmI {
            operator_id: caller.operator.id,
            username: caller.operator.username.clone(),
            roles: self.store.operator_roles(caller.operator.id)?,
            permissions: caller.permissions.clone(),
            mfa_enrolled: caller.operator.totp_secret.is_some()
                || !self.store.passkeys(caller.operator.id)?.is_empty(),
            credential: if caller.token_id.is_some() {
                "service_token"
            } else {
                "session"
            }
            .into(),
            expires_at: match &caller.session {
                Some(s) => Some(s.access_expires_at),
                None => caller.token_expires_at,
            },
            restrictions: caller.restrictions().to_vec(),
        })
    }

    /// Remove `lifted` from the caller's restrictions, rotating its tokens.
    fn lift_restriction(
        &self,
        caller: &Caller,
        lifted: &str,
    ) -> Result<Option<SessionTokens>, ApiError> {
        let session = caller.session()?;
        if !session.restrictions.iter().any(|r| r == lifted) {
            return Ok(None);
        }
        let remaining: Vec<String> = session
            .restrictions
            .iter()
            .filter(|r| *r != lifted)
            .cloned()
            .collect();
        let (access, refresh, r) = self.rotation();
        self.store.upgrade_session(session.id, &r, &remaining)?;
        Ok(Some(SessionTokens {
            access_token: access,
            access_expires_at: r.access_expires_at,
            refresh_token: refresh,
            refresh_expires_at: r.refresh_expires_at.min(session.absolute_expires_at),
            restrictions: remaining,
        }))
    }

    pub fn change_password(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        current: &str,
        new: &str,
    ) -> Result<PasswordChanged, ApiError> {
        let op = &caller.operator;
        let session = caller.session()?;
        let attempt = self.admit(ctx, Some(op), Some(&op.username), "password.change")?;
        if !secrets::verify_password(current, &op.password_hash) {
            let step = "password.change";
            return Err(self.failure(ctx, op, attempt, step, "wrong_password", bad_credentials()));
        }
        self.throttle.release(attempt);
        if new.chars().count() < self.policy.min_password_len {
            return Err(ApiError::new(
                codes::BAD_REQUEST,
                format!(
                    "the new password is too short (at least {} characters)",
                    self.policy.min_password_len
                ),
            )
            .hint("choose a longer passphrase"));
        }
        if new == current {
            return Err(ApiError::new(
                codes::BAD_REQUEST,
                "the new password is the same as the current one",
            )
            .hint("choose a different password"));
        }
        self.store
            .set_password(op.id, &secrets::hash_password(new), false)?;
        // Every other session of this operator ends: a password change is how people
        // respond to a suspected compromise.
        self.store
            .revoke_operator_sessions(op.id, Some(session.id), now())?;
        self.event(ctx, Some(op), "", "password.change", "success", None)?;
        Ok(PasswordChanged {
            session: self.lift_restriction(caller, RESTRICTION_PASSWORD_CHANGE)?,
        })
    }

    pub fn mfa_enroll_start(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
    ) -> Result<MfaEnrollment, ApiError> {
        let op = &caller.operator;
        // Enrolment belongs to an interactive login, never to a service token.
        caller.session()?;
        if op.totp_secret.is_some() {
            return Err(ApiError::new(
                codes::MFA_ALREADY_ENROLLED,
                "MFA is already enrolled for this operator",
            )
            .hint(
                "to move to a new device: `imadm mfa disable` (with a passkey enrolled) then \
                 `imadm mfa enroll`, or ask an admin for `imadm operator reset-mfa`",
            ));
        }
        let secret = zeroize::Zeroizing::new(totp::new_secret());
        self.store
            .set_pending_totp(op.id, &self.key.seal(&secret, &totp_aad(op.id)))?;
        self.event(ctx, Some(op), "", "mfa.enroll", "started", None)?;
        Ok(MfaEnrollment {
            secret: totp::to_base32(&secret),
            otpauth_uri: totp::otpauth_uri(&secret, ISSUER, &op.username),
        })
    }

    pub fn mfa_enroll_confirm(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        code: &str,
    ) -> Result<MfaEnrolled, ApiError> {
        let op = &caller.operator;
        // Enrolment belongs to an interactive login, never to a service token.
        caller.session()?;
        if op.totp_secret.is_some() {
            return Err(ApiError::new(
                codes::MFA_ALREADY_ENROLLED,
                "MFA is already enrolled for this operator",
            ));
        }
        let sealed = op.totp_pending.as_ref().ok_or_else(|| {
            ApiError::new(codes::BAD_REQUEST, "no MFA enrolment is in progress")
                .hint("start with `imadm mfa enroll`")
        })?;
        let secret = self.key.open(sealed, &totp_aad(op.id)).ok_or_else(|| {
            ApiError::new(
                codes::INTEGRITY,
                "the pending TOTP secret does not decrypt with this server key",
            )
        })?;
        let attempt = self.admit(ctx, Some(op), Some(&op.username), "mfa.enroll")?;
        let fail = |outcome, err| self.failure(ctx, op, attempt, "mfa.enroll", outcome, err);
        let t = now() as u64;
        let step = match totp::check(&secret, code, t, op.last_totp_step) {
            Check::Valid(step) => step,
            Check::ClockSkew { last_step } => {
                return Err(self.clock_skew(ctx, op, "mfa.enroll", attempt, last_step, t)?);
            }
            Check::Replayed => return Err(fail("replayed_code", replayed_code())),
            Check::Invalid => return Err(fail("wrong_code", wrong_code())),
        };
        self.throttle.release(attempt);
        let codes_plain: Vec<String> = (0..NUM_RECOVERY_CODES)
            .map(|_| secrets::recovery_code())
            .collect();
        let hashes: Vec<String> = codes_plain.iter().map(|c| secrets::token_hash(c)).collect();
        if !self.store.activate_totp(op.id, step, &hashes)? {
            return Err(replayed_code());
        }
        self.event(ctx, Some(op), "", "mfa.enroll", "success", None)?;
        Ok(MfaEnrolled {
            recovery_codes: codes_plain,
            session: self.lift_restriction(caller, RESTRICTION_MFA_ENROLL)?,
        })
    }

    pub fn mfa_status(&self, caller: &Caller) -> Result<MfaStatus, ApiError> {
        Ok(MfaStatus {
            enrolled: caller.operator.totp_secret.is_some(),
            recovery_codes_left: self.store.recovery_codes_left(caller.operator.id)?,
            passkeys: self
                .store
                .passkeys(caller.operator.id)?
                .iter()
                .map(crate::passkey::view)
                .collect(),
            passkey_required: self.passkey_required(caller.operator.id)?,
        })
    }

    /// Step-up MFA: sensitive actions carry a fresh TOTP code (header `x-imadm-otp`).
    /// Recovery codes are not accepted here: they are for getting in, not for approving.
    pub fn step_up(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        code: Option<&str>,
        action: &str,
    ) -> Result<(), ApiError> {
        self.step_up_showing(ctx, caller, code, action, None)
    }

    /// [`AppState::step_up`], with what a passkey approval page shows the operator when
    /// `action` (which the audit log keeps) says too little: e.g. the IM users by name,
    /// whom the log names by pseudonym only.
    pub fn step_up_showing(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        code: Option<&str>,
        action: &str,
        shown: Option<&str>,
    ) -> Result<(), ApiError> {
        if caller.token_id.is_some() {
            self.event(
                ctx,
                Some(&caller.operator),
                "",
                "step_up",
                "refused_service_token",
                Some(action.to_owned()),
            )?;
            return Err(ApiError::new(
                codes::FORBIDDEN,
                format!("{action} needs step-up MFA, which a service token can never pass"),
            )
            .hint("do this from an interactive login (`imadm auth login`)"));
        }
        // A passkey instead of a code: ask for a browser approval, or spend one.
        match code {
            Some(crate::passkey::STEP_UP_WEB) => {
                return Err(self.step_up_web(ctx, caller, action, shown.unwrap_or(action))?);
            }
            Some(c) if c.starts_with(crate::passkey::STEP_UP_TOKEN_PREFIX) => {
                return self.step_up_redeem(ctx, caller, c, action);
            }
            _ => {}
        }
        if self.passkey_required(caller.operator.id)? {
            self.event(
                ctx,
                Some(&caller.operator),
                "",
                "step_up",
                "refused_passkey_required",
                Some(action.to_owned()),
            )?;
            return Err(ApiError::new(
                codes::STEP_UP_REQUIRED,
                format!("{action} needs a passkey approval: a role of yours needs passkeys"),
            )
            .hint("pass --web and approve in the browser with your passkey"));
        }
        let Some(code) = code.filter(|c| !c.trim().is_empty()) else {
            return Err(ApiError::new(
                codes::STEP_UP_REQUIRED,
                format!("{action} needs a current TOTP code (step-up MFA)"),
            )
            .hint("pass --otp CODE or set IMADM_OTP; interactive sessions are prompted"));
        };
        if code.contains('-') {
            return Err(ApiError::new(
                codes::MFA_INVALID,
                "recovery codes cannot approve sensitive actions",
            )
            .hint("use a TOTP code from your authenticator"));
        }
        let op = &caller.operator;
        let attempt = self.admit(ctx, Some(op), Some(&op.username), "step_up")?;
        self.check_second_factor(ctx, op, code, "step_up", attempt)?;
        self.throttle.complete(attempt);
        self.event(
            ctx,
            Some(&caller.operator),
            "",
            "step_up",
            "success",
            Some(action.to_owned()),
        )
    }

    pub fn regenerate_recovery_codes(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        otp: Option<&str>,
    ) -> Result<RecoveryCodes, ApiError> {
        self.step_up(ctx, caller, otp, "regenerating recovery codes")?;
        let codes_plain: Vec<String> = (0..NUM_RECOVERY_CODES)
            .map(|_| secrets::recovery_code())
            .collect();
        let hashes: Vec<String> = codes_plain.iter().map(|c| secrets::token_hash(c)).collect();
        self.store
            .replace_recovery_codes(caller.operator.id, &hashes)?;
        self.event(
            ctx,
            Some(&caller.operator),
            "",
            "mfa.recovery_codes",
            "regenerated",
            None,
        )?;
        Ok(RecoveryCodes {
            recovery_codes: codes_plain,
        })
    }

    pub fn mfa_disable(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        otp: Option<&str>,
    ) -> Result<(), ApiError> {
        self.step_up(ctx, caller, otp, "disabling MFA")?;
        // The rule of passkey removal: never the last second factor.
        if self.store.disable_totp(caller.operator.id, true)? == Removal::LastFactor {
            return Err(ApiError::new(
                codes::CONFLICT,
                "TOTP is your last second factor (you have no passkey)",
            )
            .hint(
                "enrol a passkey first (`imadm mfa passkey add`), or ask an owner or admin \
                 to run `imadm operator reset-mfa` to move TOTP to a new device",
            ));
        }
        // Sessions were established with MFA; without it the operator may only re-enrol.
        self.store
            .revoke_operator_sessions(caller.operator.id, None, now())?;
        self.event(
            ctx,
            Some(&caller.operator),
            "",
            "mfa.disable",
            "success",
            None,
        )
    }
}

/// A refusal before any check: 50005 (HTTP 429) with `retry_after_secs` (and the
/// `Retry-After` header).
fn refused(message: String, retry_after: u64, hint: &str) -> ApiError {
    let mut e = ApiError::new(codes::ACCOUNT_LOCKED, message);
    e.detail = Some(ErrorDetail {
        retry_after_secs: Some(retry_after),
        hint: Some(hint.to_owned()),
        approval: None,
    });
    e
}

/// Whole seconds to wait, at least 1.
fn secs(d: Duration) -> u64 {
    d.as_secs_f64().ceil().max(1.0) as u64
}

fn locked_error(retry_after: u64) -> ApiError {
    refused(
        format!(
            "the account is locked for this address after repeated failures; try again in \
             {retry_after}s"
        ),
        retry_after,
        "wait (each further failure doubles the delay); other addresses are not affected",
    )
}

fn address_throttled_error(retry_after: u64) -> ApiError {
    refused(
        format!("too many attempts from this address; try again in {retry_after}s"),
        retry_after,
        "wait; failed attempts from one address are rate-limited whatever the username",
    )
}

fn ceiling_error(retry_after: u64) -> ApiError {
    refused(
        format!(
            "the account is locked for new addresses after many failed attempts; try again in \
             {retry_after}s"
        ),
        retry_after,
        "log in from an address you logged in from before, or wait",
    )
}

fn bad_credentials() -> ApiError {
    ApiError::new(codes::BAD_CREDENTIALS, "wrong username or password").hint(
        "check both; after 5 failures in a row from one address, the account is locked for \
         that address for a while",
    )
}

fn wrong_code() -> ApiError {
    ApiError::new(codes::MFA_INVALID, "the MFA code is wrong").hint(
        "use the current code from your authenticator app (check its clock), or a recovery code",
    )
}

fn replayed_code() -> ApiError {
    ApiError::new(codes::MFA_REPLAYED, "this TOTP code has already been used")
        .hint("wait for the next code (codes change every 30 seconds)")
}

fn refresh_invalid() -> ApiError {
    ApiError::new(
        codes::REFRESH_INVALID,
        "the session can no longer be refreshed (expired, revoked or rotated)",
    )
    .hint("log in again with `imadm auth login`")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::EventFilter;

    /// A server state on a fresh data dir, with an owner `root` (password `PASSWORD`, no
    /// MFA, so a password alone completes a login) and `mfa-owner` (MFA enrolled).
    fn state() -> (tempfile::TempDir, AppState, crate::dev::DevLogin) {
        let dir = tempfile::tempdir().unwrap();
        let data = crate::open_data_dir(dir.path(), true, None).unwrap();
        // Dev mode first: it refuses a data dir holding operators it did not create.
        let mfa_owner = crate::dev_bootstrap(&data, "mfa-owner", &[]).unwrap().owner;
        data.store
            .create_operator(
                "root",
                &secrets::hash_password(PASSWORD),
                false,
                &["owner"],
                now(),
            )
            .unwrap();
        (dir, AppState::new(data, Policy::default(), true), mfa_owner)
    }

    const PASSWORD: &str = "correct horse battery";

    fn from(addr: &str) -> RequestCtx {
        RequestCtx {
            source_addr: Some(addr.into()),
            ..RequestCtx::default()
        }
    }

    /// The answer to a login attempt: HTTP-level code, retry-after, message.
    fn answer(s: &AppState, addr: &str, user: &str, password: &str) -> (i32, Option<u64>) {
        match s.login(&from(addr), user, password) {
            Ok(_) => (codes::OK, None),
            Err(e) => (e.code, e.detail.and_then(|d| d.retry_after_secs)),
        }
    }

    fn audit(s: &AppState) -> Vec<imadm_api::audit::AuditEvent> {
        s.store
            .audit_events(&EventFilter {
                limit: 10_000,
                ..EventFilter::default()
            })
            .unwrap()
    }

    const HOME: &str = "192.0.2.10";

    #[test]
    fn a_flood_from_one_address_locks_only_that_address_out_of_the_account() {
        let (_dir, s, _) = state();
        assert_eq!(answer(&s, HOME, "root", PASSWORD).0, codes::OK);
        let attacker = "203.0.113.66";
        for _ in 0..4 {
            assert_eq!(
                answer(&s, attacker, "root", "guess"),
                (codes::BAD_CREDENTIALS, None)
            );
        }
        assert_eq!(
            answer(&s, attacker, "root", "guess"),
            (codes::ACCOUNT_LOCKED, Some(30))
        );
        // Locked for the attacker's address: even the right password is refused there.
        assert_eq!(
            answer(&s, attacker, "root", PASSWORD).0,
            codes::ACCOUNT_LOCKED
        );
        // Hammering on uses up the address's own budget, not the account's.
        for _ in 0..20 {
            assert_eq!(
                answer(&s, attacker, "root", "guess").0,
                codes::ACCOUNT_LOCKED
            );
        }
        // The owner logs in from home, and from an address never seen before.
        assert_eq!(answer(&s, HOME, "root", PASSWORD).0, codes::OK);
        assert_eq!(answer(&s, "198.51.100.7", "root", PASSWORD).0, codes::OK);
        let events = audit(&s);
        let refused: Vec<_> = events
            .iter()
            .filter(|e| {
                e.source.as_deref() == Some(attacker)
                    && (e.action.as_str(), e.outcome.as_str()) == ("auth.login", "denied")
            })
            .collect();
        assert_eq!(refused.len(), 21, "every refusal is audited");
        assert!(
            refused
                .iter()
                .any(|e| e.detail.as_deref().unwrap_or("").contains("throttled")),
            "the address's own limit: {refused:?}"
        );
        let lockouts: Vec<_> = events
            .iter()
            .filter(|e| e.action == "auth.lockout")
            .collect();
        assert_eq!(lockouts.len(), 1, "{lockouts:?}");
        assert!(
            lockouts[0]
                .detail
                .as_deref()
                .unwrap()
                .contains(&format!("{attacker} is locked out for 30s"))
        );
    }

    #[test]
    fn an_attack_from_many_addresses_meets_the_ceiling_but_the_owner_logs_in_from_home() {
        let (_dir, s, _) = state();
        assert_eq!(answer(&s, HOME, "root", PASSWORD).0, codes::OK);
        // 20 failures from 5 addresses, 4 each: below each address's lock.
        for i in 0..20 {
            let addr = format!("203.0.113.{}", i / 4);
            assert_eq!(answer(&s, &addr, "root", "guess").0, codes::BAD_CREDENTIALS);
        }
        // A sixth address is refused without its password being checked, right or not,
        // until the ceiling gives one more failure back (one a minute)...
        let (code, wait) = answer(&s, "198.51.100.7", "root", PASSWORD);
        assert_eq!(code, codes::ACCOUNT_LOCKED);
        assert!(wait.is_some_and(|w| (1..=60).contains(&w)), "{wait:?}");
        // ...while the owner's usual address is exempt.
        assert_eq!(answer(&s, HOME, "root", PASSWORD).0, codes::OK);
        let ceiling = audit(&s)
            .into_iter()
            .filter(|e| e.action == "auth.lockout")
            .collect::<Vec<_>>();
        assert_eq!(ceiling.len(), 1, "{ceiling:?}");
        assert!(
            ceiling[0]
                .detail
                .as_deref()
                .unwrap()
                .contains("20 failures")
        );
    }

    #[test]
    fn unknown_usernames_get_the_same_answers_and_events_as_known_ones() {
        let (_dir, s, _) = state();
        let tries = |addr: &str, user: &str| -> Vec<(i32, Option<u64>)> {
            let mut v: Vec<_> = (0..6).map(|_| answer(&s, addr, user, "guess")).collect();
            v.push(answer(&s, addr, user, PASSWORD));
            v
        };
        let known = tries("203.0.113.1", "root");
        let unknown = tries("203.0.113.2", "nobody-here");
        let expected = [
            (codes::BAD_CREDENTIALS, None),
            (codes::BAD_CREDENTIALS, None),
            (codes::BAD_CREDENTIALS, None),
            (codes::BAD_CREDENTIALS, None),
            (codes::ACCOUNT_LOCKED, Some(30)),
        ];
        assert_eq!(&known[..5], &expected);
        assert_eq!(
            known.iter().map(|a| a.0).collect::<Vec<_>>(),
            unknown.iter().map(|a| a.0).collect::<Vec<_>>()
        );
        for (k, u) in known.iter().zip(&unknown) {
            let (k, u) = (k.1.unwrap_or(0), u.1.unwrap_or(0));
            assert!(k.abs_diff(u) <= 1, "retry-after {k} vs {u}");
        }
        // The same events, the unknown name as a pseudonym.
        let shape = |source: &str| -> Vec<(String, String, String)> {
            audit(&s)
                .into_iter()
                .filter(|e| e.source.as_deref() == Some(source))
                .map(|e| (e.actor_type, e.action, e.outcome))
                .collect()
        };
        assert_eq!(shape("203.0.113.1"), shape("203.0.113.2"));
        let pseudonym = s.audit_key.unknown_operator("nobody-here");
        assert!(
            audit(&s)
                .iter()
                .filter(|e| e.source.as_deref() == Some("203.0.113.2"))
                .all(|e| e.actor == pseudonym)
        );
    }

    #[test]
    fn a_right_code_after_the_clock_ran_ahead_is_clock_skew_and_not_a_failure() {
        let (_dir, s, owner) = state();
        let op = s.store.operator_by_username("mfa-owner").unwrap().unwrap();
        let step_now = now() as u64 / totp::STEP_SECS;
        // Used while the clock ran a day ahead.
        assert!(s.store.consume_totp_step(op.id, step_now + 2880).unwrap());
        // Four failures from this address first: a fifth would lock it.
        for _ in 0..4 {
            assert_eq!(
                answer(&s, HOME, "mfa-owner", "guess").0,
                codes::BAD_CREDENTIALS
            );
        }
        let challenge = s.login(&from(HOME), "mfa-owner", &owner.password).unwrap();
        let token = challenge.mfa.unwrap().mfa_token;
        let e = s
            .verify_mfa(&from(HOME), &token, &owner.current_code())
            .unwrap_err();
        assert_eq!(e.code, codes::MFA_INVALID);
        assert!(e.message.contains("clock skew"), "{}", e.message);
        let hint = e.detail.and_then(|d| d.hint).unwrap();
        assert!(hint.contains("next code"), "{hint}");
        // The stored step is capped at the window's end...
        let op = s.store.operator_by_id(op.id).unwrap().unwrap();
        let capped = op.last_totp_step.unwrap();
        assert!(capped <= totp::max_step(now() as u64) && capped > step_now);
        // ...the audit log says why...
        let skew = audit(&s)
            .into_iter()
            .find(|e| e.action == "auth.mfa")
            .unwrap();
        assert_eq!(skew.outcome, "failure");
        assert!(skew.detail.unwrap().contains("clock skew"));
        // ...and it was no failure: the address is not locked out.
        assert_eq!(answer(&s, HOME, "mfa-owner", &owner.password).0, codes::OK);
    }

    #[test]
    fn unknown_usernames_are_recorded_as_pseudonyms_only() {
        let (_dir, s, _) = state();
        let typed = "hunter2-secret-password";
        answer(&s, HOME, typed, "whatever");
        let pseudonym = s.audit_key.unknown_operator(typed);
        let events = s.store.recent_events(10).unwrap();
        assert_eq!(
            events[0].event.username.as_deref(),
            Some(pseudonym.as_str())
        );
        let audit = audit(&s);
        let last = audit.last().unwrap();
        assert_eq!(
            (last.actor.as_str(), last.action.as_str()),
            (pseudonym.as_str(), "auth.login")
        );
        assert!(!format!("{audit:?}{events:?}").contains(typed));
    }

    #[test]
    fn lockout_starts_at_the_fifth_failure_and_doubles_up_to_the_cap() {
        let p = Policy::default();
        let secs = |n| p.lockout_delay(n).map(|d| d.as_secs());
        let delays: Vec<Option<u64>> = (1..=14).map(secs).collect();
        assert_eq!(&delays[..4], &[None, None, None, None]);
        assert_eq!(
            &delays[4..9],
            &[Some(30), Some(60), Some(120), Some(240), Some(480)]
        );
        assert_eq!(delays[13], Some(3600), "capped at lockout_max");
        assert_eq!(secs(u32::MAX), Some(3600));
    }
}
