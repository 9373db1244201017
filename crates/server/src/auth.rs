//! Authentication rules: the two-step login, lockout, sessions, MFA enrolment, step-up.
//!
//! This module is the server's security policy in one place; HTTP handlers only unpack
//! requests and call it. Every outcome that matters (success, wrong password, wrong or
//! replayed code, lockout, enrolment, refresh-token reuse, logout) is appended to the
//! `auth_events` log with the actor, source address and request id, never with the
//! secret itself.
//!
//! Failures of the password step and of the TOTP step count together: after
//! [`Policy::lockout_threshold`] consecutive failures the account is locked for
//! `lockout_base * 2^(n - threshold)`, capped at [`Policy::lockout_max`]. A lock refuses
//! even a correct password, without spending argon2 time on it.
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
    RESTRICTION_MFA_ENROLL, RESTRICTION_PASSWORD_CHANGE, RecoveryCodes, SessionTokens, WhoAmI,
};
use imadm_api::{ErrorDetail, codes};

use crate::error::ApiError;
use crate::secrets::{self, ACCESS_PREFIX, MFA_PREFIX, REFRESH_PREFIX, SERVICE_PREFIX};
use crate::store::{
    AuthEvent, Grace, NewSession, Operator, RotateOutcome, Rotation, Session, grace_aad, totp_aad,
};
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
    pub lockout_threshold: u32,
    pub lockout_base: Duration,
    pub lockout_max: Duration,
    pub min_password_len: usize,
}

impl Policy {
    /// How long to lock after the `failures`-th consecutive failure: nothing below the
    /// threshold, then the base delay doubling per further failure, capped.
    pub fn lockout_delay(&self, failures: u32) -> Option<i64> {
        let over = failures.checked_sub(self.lockout_threshold)?;
        let delay = self
            .lockout_base
            .saturating_mul(1u32 << over.min(20))
            .min(self.lockout_max);
        Some(delay.as_secs().max(1) as i64)
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
            min_password_len: 12,
        }
    }
}

/// Who sent the request, for the event log.
#[derive(Debug, Clone, Default)]
pub struct RequestCtx {
    pub source_addr: Option<String>,
    pub request_id: Option<String>,
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
    fn event(
        &self,
        ctx: &RequestCtx,
        op: Option<&Operator>,
        username: &str,
        event: &str,
        outcome: &str,
        detail: Option<String>,
    ) -> Result<(), ApiError> {
        self.store.append_event(
            &AuthEvent {
                operator_id: op.map(|o| o.id),
                username: Some(op.map_or(username, |o| &o.username).to_owned()),
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

    /// Refuse early while an account is locked.
    fn check_lock(&self, ctx: &RequestCtx, op: &Operator, step: &str) -> Result<(), ApiError> {
        if let Some(until) = op.locked_until {
            let t = now();
            if until > t {
                self.event(ctx, Some(op), "", step, "locked", None)?;
                return Err(locked_error(until - t));
            }
        }
        Ok(())
    }

    /// Count a failure; lock the account when the threshold is reached. Returns the error
    /// to send: `err` itself, or a lockout error if this failure locked the account.
    fn fail(
        &self,
        ctx: &RequestCtx,
        op: &Operator,
        step: &str,
        outcome: &str,
        err: ApiError,
    ) -> Result<ApiError, ApiError> {
        self.event(ctx, Some(op), "", step, outcome, None)?;
        let n = self.store.add_failure(op.id)?;
        if let Some(delay) = self.policy.lockout_delay(n) {
            self.store.set_locked_until(op.id, Some(now() + delay))?;
            self.event(
                ctx,
                Some(op),
                "",
                "account.lockout",
                "locked",
                Some(format!("{n} consecutive failures; locked for {delay}s")),
            )?;
            return Ok(locked_error(delay));
        }
        Ok(err)
    }

    /// Step 1: the password.
    pub fn login(
        &self,
        ctx: &RequestCtx,
        username: &str,
        password: &str,
    ) -> Result<LoginResponse, ApiError> {
        let Some(op) = self.store.operator_by_username(username)? else {
            // Same argon2 cost as a real check, so timing does not reveal unknown names.
            secrets::verify_password(password, secrets::dummy_hash());
            self.event(
                ctx,
                None,
                username,
                "login.password",
                "unknown_operator",
                None,
            )?;
            return Err(bad_credentials());
        };
        self.check_lock(ctx, &op, "login.password")?;
        if !secrets::verify_password(password, &op.password_hash) {
            return Err(self.fail(
                ctx,
                &op,
                "login.password",
                "wrong_password",
                bad_credentials(),
            )?);
        }
        if op.disabled {
            self.event(ctx, Some(&op), "", "login.password", "disabled", None)?;
            return Err(ApiError::new(
                codes::ACCOUNT_DISABLED,
                "this operator account is disabled",
            )
            .hint("ask an owner or admin to run `imadm operator enable`"));
        }
        if op.totp_secret.is_none() {
            // No MFA yet: a session that can only enrol (and change a one-time password).
            self.store.login_succeeded(op.id, now())?;
            let mut restrictions = vec![RESTRICTION_MFA_ENROLL.to_owned()];
            if op.must_change_password {
                restrictions.push(RESTRICTION_PASSWORD_CHANGE.to_owned());
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

    /// Step 2: a TOTP code (or a recovery code) for the challenge from step 1.
    pub fn verify_mfa(
        &self,
        ctx: &RequestCtx,
        mfa_token: &str,
        code: &str,
    ) -> Result<SessionTokens, ApiError> {
        let challenge = secrets::token_hash(mfa_token);
        let Some(op_id) = self.store.mfa_challenge(&challenge, now())? else {
            return Err(ApiError::new(
                codes::MFA_INVALID,
                "the MFA challenge is unknown or has expired",
            )
            .hint("start again with `imadm auth login`"));
        };
        let op = self.operator(op_id)?;
        self.check_lock(ctx, &op, "login.mfa")?;
        let method = self.check_second_factor(ctx, &op, code, "login.mfa")?;
        self.store.delete_mfa_challenge(&challenge)?;
        self.store.login_succeeded(op.id, now())?;
        let mut restrictions = vec![];
        if op.must_change_password {
            restrictions.push(RESTRICTION_PASSWORD_CHANGE.to_owned());
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

    /// Check a TOTP or recovery code for `op`, counting failures. Returns the method used.
    fn check_second_factor(
        &self,
        ctx: &RequestCtx,
        op: &Operator,
        code: &str,
        step: &str,
    ) -> Result<&'static str, ApiError> {
        let code = code.trim();
        if code.contains('-') {
            let hash = secrets::token_hash(&code.to_ascii_lowercase());
            if self.store.use_recovery_code(op.id, &hash, now())? {
                self.event(ctx, Some(op), "", step, "recovery_code_used", None)?;
                return Ok("recovery_code");
            }
            return Err(self.fail(ctx, op, step, "wrong_recovery_code", wrong_code())?);
        }
        let secret = self.totp_secret(op)?;
        match totp::check(&secret, code, now() as u64, op.last_totp_step) {
            Check::Valid(step_no) => {
                if self.store.consume_totp_step(op.id, step_no)? {
                    Ok("totp")
                } else {
                    // Lost a race with a concurrent request using the same code.
                    Err(self.fail(ctx, op, step, "replayed_code", replayed_code())?)
                }
            }
            Check::Replayed => Err(self.fail(ctx, op, step, "replayed_code", replayed_code())?),
            Check::Invalid => Err(self.fail(ctx, op, step, "wrong_code", wrong_code())?),
        }
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

    fn operator(&self, id: i64) -> Result<Operator, ApiError> {
        self.store
            .operator_by_id(id)?
            .ok_or_else(|| ApiError::new(codes::TOKEN_INVALID, "the operator no longer exists"))
    }

    fn new_session(
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
        let Some(CachedSession {
            session,
            operator,
            permissions,
            ..
        }) = cached
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
            mfa_enrolled: caller.operator.totp_secret.is_some(),
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
        self.check_lock(ctx, op, "password.change")?;
        if !secrets::verify_password(current, &op.password_hash) {
            return Err(self.fail(
                ctx,
                op,
                "password.change",
                "wrong_password",
                bad_credentials(),
            )?);
        }
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
            .hint("to move to a new device, run `imadm mfa disable` then `imadm mfa enroll`"));
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
        let step = match totp::check(&secret, code, now() as u64, op.last_totp_step) {
            Check::Valid(step) => step,
            Check::Replayed => {
                return Err(self.fail(ctx, op, "mfa.enroll", "replayed_code", replayed_code())?);
            }
            Check::Invalid => {
                return Err(self.fail(ctx, op, "mfa.enroll", "wrong_code", wrong_code())?);
            }
        };
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
        self.check_lock(ctx, &caller.operator, "step_up")?;
        self.check_second_factor(ctx, &caller.operator, code, "step_up")?;
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
        self.store.disable_totp(caller.operator.id)?;
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

fn locked_error(retry_after: UnixTime) -> ApiError {
    let mut e = ApiError::new(
        codes::ACCOUNT_LOCKED,
        format!("the account is locked after repeated failures; try again in {retry_after}s"),
    )
    .hint("wait, or ask an owner to check the security events");
    e.detail = Some(ErrorDetail {
        retry_after_secs: Some(retry_after.max(0) as u64),
        hint: e.detail.and_then(|d| d.hint),
    });
    e
}

fn bad_credentials() -> ApiError {
    ApiError::new(codes::BAD_CREDENTIALS, "wrong username or password")
        .hint("check both; after 5 consecutive failures the account is locked for a while")
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
    use super::Policy;

    #[test]
    fn lockout_starts_at_the_fifth_failure_and_doubles_up_to_the_cap() {
        let p = Policy::default();
        let delays: Vec<Option<i64>> = (1..=14).map(|n| p.lockout_delay(n)).collect();
        assert_eq!(&delays[..4], &[None, None, None, None]);
        assert_eq!(
            &delays[4..9],
            &[Some(30), Some(60), Some(120), Some(240), Some(480)]
        );
        assert_eq!(delays[13], Some(3600), "capped at lockout_max");
        assert_eq!(p.lockout_delay(u32::MAX), Some(3600));
    }
}
