//! Passkeys (WebAuthn, through `webauthn-rs`) and the browser approvals that carry them:
//! enrolment (`imadm mfa passkey add`), login (`imadm auth login --web`) and step-up
//! (`--web`), each an RFC 8628 device authorization grant (`approval.rs`) that the
//! operator completes on the approval page (`http/approve.rs`).
//!
//! Decisions:
//! - The relying party id and origin come from the server's public URL (`--public-url`,
//!   default `https://localhost:<port>`: WebAuthn needs a domain name or `localhost`, never
//!   an IP address). A passkey is bound to that id: changing the public URL's host makes
//!   every enrolled passkey unusable.
//! - User verification is required at enrolment and at every use (webauthn-rs `Passkey`):
//!   that is what makes it fingerprint, face or PIN, not mere presence.
//! - Enrolment uses webauthn-rs `start_passkey_registration` (UV required, credProtect
//!   "UV required") and only changes the options sent to the browser to
//!   `residentKey: "preferred"` ([`prefer_discoverable`]): a discoverable credential when
//!   the authenticator can make one, an ordinary one otherwise. Not
//!   `start_attested_resident_key_registration` (feature `resident-key-support`): it
//!   requires a resident key and attestation, refusing authenticators that cannot store
//!   credentials. Whether a credential is discoverable is not stored (the client's credProps
//!   answer is unsigned, and the crate keeps it out of reach): passkey-only sign-in just
//!   tries it, and the authenticator offers only credentials it stored.
//! - Every check of a passkey is an attempt of login throttling (`auth.rs`): a failed
//!   assertion counts like a wrong TOTP code, and so does a wrong user code on the page.
//! - A login on the page is username + password + passkey (the password step is
//!   `login.password`, throttled as at `imadm auth login`), or a discoverable passkey
//!   alone ("Sign in with a passkey"): webauthn-rs `start_discoverable_authentication`
//!   (feature `conditional-ui`; its conditional mediation dropped, the page asks on a
//!   click), UV required. The operator is the owner of the stored credential the browser
//!   names ([`PasskeyStore::passkey_by_credential`](crate::store::passkey::PasskeyStore));
//!   the user handle must be that operator's, and the assertion is checked against that
//!   one credential (`finish_discoverable_authentication_v2`). It is a login like the other
//!   (throttled as `login.passkey`: an unknown credential is a failure of the address, a
//!   bad assertion of the operator too; disabled operators refused; audited `auth.passkey`
//!   "(passkey only)"), and it satisfies `--require-passkey-for`. Only logins: an
//!   enrolment asks for the operator's password too (the user code alone, maybe seen on a
//!   screen, must not let anyone add their passkey), and a step-up lists only the
//!   session's operator's passkeys.
//! - A step-up approval ends in a one-use token bound to the operator, the session and the
//!   request (method, path with query, SHA-256 of the body), sent back in the step-up
//!   header (`x-imadm-otp`) within a minute.
//! - The ceremony the page's first call begins (webauthn-rs's registration or
//!   authentication state, serialisable with its `danger-allow-state-serialisation`
//!   feature) is kept with the grant in the store, sealed with the server key under an AAD
//!   naming the grant (`approval.rs`): the page's second call may reach another instance
//!   on PostgreSQL, and the state (its challenge) is the server's secret, never the
//!   browser's to hold.
//! - Credentials are sealed with the server key; audit actions `mfa.passkey_add`,
//!   `mfa.passkey_remove`, `auth.passkey`.

use std::sync::{Arc, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use imadm_api::auth::{DeviceAuthorization, DeviceGrant, Passkey as PasskeyView, SessionTokens};
use imadm_api::codes;
use sha2::Digest;
use webauthn_rs::prelude::{
    AuthenticationResult, DiscoverableAuthentication, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

use crate::approval::{self, Approvals, Binding, Full, Outcome, Poll, Purpose};
use crate::auth::{Caller, RequestCtx};
use crate::error::ApiError;
use crate::store::approval::ApprovalStore;
use crate::store::audit::now_ms;
use crate::store::passkey::{Removal, StoredPasskey, aad};
use crate::{AppState, now};

/// Prefix of the one-use step-up tokens a passkey approval gives (sent in `x-imadm-otp`).
pub const STEP_UP_TOKEN_PREFIX: &str = "imadm_su_";
/// What the step-up header says to ask for a browser approval instead of a TOTP code.
pub const STEP_UP_WEB: &str = "web";
/// Longest passkey name.
pub const MAX_NAME: usize = 64;

/// The WebAuthn ceremony the approval page has begun for a grant: kept with the grant in
/// the store, sealed (`approval.rs`), so that another instance can finish it.
#[derive(serde::Serialize, serde::Deserialize)]
pub enum Ceremony {
    Register(Box<PasskeyRegistration>),
    Authenticate {
        operator_id: i64,
        state: Box<PasskeyAuthentication>,
    },
    /// A passkey-only login: the operator is learnt from the credential.
    Discoverable(Box<DiscoverableAuthentication>),
}

/// The relying party and the approvals in progress.
pub struct Passkeys {
    rp: OnceLock<(Webauthn, String)>,
    pub approvals: Approvals<Ceremony>,
}

impl Passkeys {
    /// Approvals kept in `store`.
    pub fn new(policy: &crate::Policy, store: Arc<dyn ApprovalStore>) -> Self {
        Passkeys {
            rp: OnceLock::new(),
            approvals: Approvals::new(store, policy.approval_ttl, policy.approval_interval),
        }
    }

    /// Set the relying party from the public URL (once, when the server knows its port).
    pub fn configure(&self, public_url: &str) -> Result<(), String> {
        let url = Url::parse(public_url).map_err(|e| format!("--public-url {public_url}: {e}"))?;
        if url.scheme() != "https" {
            return Err(format!("--public-url {public_url} is not an https:// URL"));
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_owned(),
            _ => {
                return Err(format!(
                    "--public-url {public_url} must name a host (a domain or localhost): \
                     WebAuthn does not work on IP addresses"
                ));
            }
        };
        let origin = url.origin().ascii_serialization();
        let origin_url = Url::parse(&origin).map_err(|e| e.to_string())?;
        let rp = WebauthnBuilder::new(&host, &origin_url)
            .and_then(|b| b.rp_name("imadm").build())
            .map_err(|e| format!("--public-url {public_url}: {e}"))?;
        let _ = self.rp.set((rp, origin));
        Ok(())
    }

    fn rp(&self) -> Result<&Webauthn, ApiError> {
        self.rp.get().map(|(w, _)| w).ok_or_else(|| {
            ApiError::new(
                codes::UNAVAILABLE,
                "passkeys are not available on this server",
            )
        })
    }

    /// The page's origin (`https://host[:port]`).
    pub fn origin(&self) -> Option<&str> {
        self.rp.get().map(|(_, o)| o.as_str())
    }
}

/// The WebAuthn user handle of an operator: stable, and no personal data.
fn user_handle(server_id: &str, operator_id: i64) -> Uuid {
    let h = sha2::Sha256::digest(format!("imadm-passkey-user:{server_id}:{operator_id}"));
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    Uuid::from_bytes(b)
}

pub fn view(p: &StoredPasskey) -> PasskeyView {
    PasskeyView {
        id: p.id,
        name: p.name.clone(),
        created_at: p.created_at,
        last_used_at: p.last_used_at,
    }
}

fn expired() -> ApiError {
    ApiError::new(
        codes::APPROVAL_EXPIRED,
        "the approval code has expired, was used already, or is unknown",
    )
    .hint("start again (the code lives a few minutes and is answered once)")
}

fn passkey_invalid(what: &str) -> ApiError {
    ApiError::new(
        codes::PASSKEY_INVALID,
        format!("the passkey was not accepted: {what}"),
    )
    .hint("use a passkey enrolled for this operator, with fingerprint, face or PIN")
}

/// What the approval page shows for a pending grant.
pub struct PageView {
    pub user_code: String,
    /// `enrol`, `login` or `step_up`.
    pub kind: &'static str,
    pub description: String,
    pub client_addr: String,
    pub pending: bool,
}

impl AppState {
    /// Start a grant and say how the client follows it.
    fn start_grant(
        &self,
        ctx: &RequestCtx,
        purpose: Purpose,
        description: String,
    ) -> Result<DeviceAuthorization, ApiError> {
        let origin = self.passkeys.origin().ok_or_else(|| {
            ApiError::new(
                codes::UNAVAILABLE,
                "passkeys are not available on this server",
            )
        })?;
        let started = self
            .passkeys
            .approvals
            .start(&self.key, purpose, ctx.source_addr.clone(), now_ms(), now())?
            .map_err(|full| {
                let (what, wait) = match full {
                    Full::Address(d) => ("from this address", d),
                    Full::Server(d) => ("on this server", d),
                };
                let secs = d_secs(wait);
                let mut e = ApiError::new(
                    codes::ACCOUNT_LOCKED,
                    format!("too many browser approvals are pending {what}; try again in {secs}s"),
                );
                e.detail = Some(imadm_api::ErrorDetail {
                    retry_after_secs: Some(secs),
                    hint: Some("finish or let expire the approvals already started".into()),
                    approval: None,
                });
                e
            })?;
        let uri = format!("{origin}/admin/approve");
        Ok(DeviceAuthorization {
            device_code: started.device_code,
            verification_uri_complete: format!("{uri}?code={}", started.user_code),
            verification_uri: uri,
            user_code: started.user_code,
            expires_in: started.expires_in.as_secs(),
            interval: started.interval.as_secs(),
            description,
        })
    }

    /// `POST /admin/auth/device`: a login approved in the browser.
    pub fn device_login(&self, ctx: &RequestCtx) -> Result<DeviceAuthorization, ApiError> {
        self.start_grant(ctx, Purpose::Login, "sign in to imadm".into())
    }

    /// `POST /admin/mfa/passkeys`: enrol a passkey named `name` in the browser.
    pub fn passkey_add_start(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        name: &str,
    ) -> Result<DeviceAuthorization, ApiError> {
        let session = caller.session()?;
        // The rules the OpenAPI schema of `PasskeyAdd` declares.
        if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control)
        {
            return Err(ApiError::bad_request(format!(
                "a passkey name has 1-{MAX_NAME} characters, no control characters"
            )));
        }
        let op = &caller.operator;
        if self.store.passkeys(op.id)?.iter().any(|p| p.name == name) {
            return Err(ApiError::new(
                codes::CONFLICT,
                format!("a passkey named {name:?} already exists"),
            )
            .hint("choose another name, or remove that one first"));
        }
        self.start_grant(
            ctx,
            Purpose::Enrol {
                operator_id: op.id,
                session_id: session.id,
                name: name.to_owned(),
            },
            format!("add the passkey {name:?} to operator {}", op.username),
        )
    }

    /// A step-up approved in the browser instead of a TOTP code: the error that sends the
    /// client there (code 50034 with `data.approval`).
    pub(crate) fn step_up_web(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        action: &str,
        shown: &str,
    ) -> Result<ApiError, ApiError> {
        let session = caller.session()?;
        let op = &caller.operator;
        if self.store.passkeys(op.id)?.is_empty() {
            return Err(ApiError::new(
                codes::STEP_UP_REQUIRED,
                format!(
                    "{action} needs step-up MFA, and {} has no passkey",
                    op.username
                ),
            )
            .hint("enrol one with `imadm mfa passkey add NAME`, or pass a TOTP code (--otp)"));
        }
        let binding = ctx.binding.clone().ok_or_else(|| {
            ApiError::new(codes::INTERNAL, "the request's binding was not computed")
        })?;
        let description = format!("{shown} ({} {})", binding.method, binding.path);
        let approval = self.start_grant(
            ctx,
            Purpose::StepUp {
                operator_id: op.id,
                session_id: session.id,
                binding,
                action: action.to_owned(),
                shown: shown.to_owned(),
            },
            description,
        )?;
        let mut e = ApiError::new(
            codes::APPROVAL_REQUIRED,
            format!("{action} waits for your approval with a passkey in the browser"),
        );
        e.detail = Some(imadm_api::ErrorDetail {
            retry_after_secs: None,
            hint: Some(format!(
                "open {} and approve with your passkey",
                approval.verification_uri_complete
            )),
            approval: Some(Box::new(approval)),
        });
        Ok(e)
    }

    /// A step-up token from a passkey approval, spent on this request.
    pub(crate) fn step_up_redeem(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        token: &str,
        action: &str,
    ) -> Result<(), ApiError> {
        let session = caller.session()?;
        let op = &caller.operator;
        let attempt = self.admit(ctx, Some(op), Some(&op.username), "step_up")?;
        let binding = ctx.binding.clone().unwrap_or(Binding {
            method: String::new(),
            path: String::new(),
            body_sha256: [0; 32],
        });
        match self.passkeys.approvals.redeem(
            &self.key,
            token,
            op.id,
            session.id,
            &binding,
            now_ms(),
        )? {
            Ok(approved) => {
                self.throttle.complete(attempt);
                self.event(
                    ctx,
                    Some(op),
                    "",
                    "step_up",
                    "success",
                    Some(format!("passkey: {approved}")),
                )
            }
            Err(why) => {
                let msg = match why {
                    approval::Redeem::Invalid => {
                        "the passkey approval is unknown, used, expired, or another session's"
                    }
                    approval::Redeem::OtherRequest => {
                        "the passkey approval was given for another request"
                    }
                };
                let err = ApiError::new(codes::MFA_INVALID, format!("{action}: {msg}"))
                    .hint("approve again with --web (an approval is good for one request, once)");
                Err(self.failure(ctx, op, attempt, "step_up", "passkey_token_invalid", err))
            }
        }
    }

    /// `POST /admin/auth/device/token`: the client's poll.
    pub fn device_poll(
        &self,
        ctx: &RequestCtx,
        device_code: &str,
    ) -> Result<DeviceGrant, ApiError> {
        let poll = self.passkeys.approvals.poll(
            &self.key,
            device_code,
            ctx.source_addr.as_deref(),
            now_ms(),
        )?;
        match poll {
            Poll::Pending => Err(ApiError::new(
                codes::APPROVAL_PENDING,
                "waiting for the approval in the browser",
            )),
            Poll::SlowDown(every) => Err(ApiError::new(
                codes::APPROVAL_SLOW_DOWN,
                format!("polling too fast: poll every {}s", every.as_secs()),
            )),
            Poll::Denied => Err(ApiError::new(
                codes::APPROVAL_DENIED,
                "the approval was denied in the browser",
            )
            .hint("nothing was done; start again if that was a mistake")),
            Poll::Expired => Err(expired()),
            Poll::Done(purpose, outcome) => self.grant(ctx, purpose, outcome),
        }
    }

    fn grant(
        &self,
        ctx: &RequestCtx,
        purpose: Purpose,
        outcome: Outcome,
    ) -> Result<DeviceGrant, ApiError> {
        match (&purpose, outcome) {
            (Purpose::Login, Outcome::LoggedIn { operator_id }) => {
                let op = self.operator(operator_id)?;
                let session = self.web_session(ctx, &op)?;
                Ok(DeviceGrant {
                    username: op.username,
                    session: Some(session),
                    passkey: None,
                    step_up_token: None,
                })
            }
            (
                Purpose::Enrol { .. },
                Outcome::Enrolled {
                    operator_id,
                    passkey_id,
                },
            ) => {
                let op = self.operator(operator_id)?;
                let passkey = self
                    .store
                    .passkeys(operator_id)?
                    .iter()
                    .find(|p| p.id == passkey_id)
                    .map(view);
                Ok(DeviceGrant {
                    username: op.username,
                    session: None,
                    passkey,
                    step_up_token: None,
                })
            }
            (Purpose::StepUp { .. }, Outcome::Approved { operator_id }) => {
                let op = self.operator(operator_id)?;
                let token = self
                    .passkeys
                    .approvals
                    .issue(&self.key, &purpose, now_ms())?;
                Ok(DeviceGrant {
                    username: op.username,
                    session: None,
                    passkey: None,
                    step_up_token: token,
                })
            }
            _ => Err(ApiError::new(
                codes::INTERNAL,
                "an approval ended in an outcome of another kind",
            )),
        }
    }

    /// The session of a login approved with password and passkey: like a TOTP login's.
    fn web_session(
        &self,
        ctx: &RequestCtx,
        op: &crate::store::Operator,
    ) -> Result<SessionTokens, ApiError> {
        if op.disabled {
            return Err(ApiError::new(
                codes::ACCOUNT_DISABLED,
                "this operator account is disabled",
            ));
        }
        let mut restrictions = vec![];
        if op.must_change_password {
            restrictions.push(imadm_api::auth::RESTRICTION_PASSWORD_CHANGE.to_owned());
        }
        self.event(
            ctx,
            Some(op),
            "",
            "login",
            "success",
            Some("mfa=passkey".into()),
        )?;
        self.new_session(ctx, op, restrictions)
    }

    /// `DELETE /admin/mfa/passkeys/{id}` (step-up).
    pub fn passkey_remove(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        otp: Option<&str>,
        id: i64,
    ) -> Result<(), ApiError> {
        let op = &caller.operator;
        let Some(p) = self.store.passkeys(op.id)?.into_iter().find(|p| p.id == id) else {
            return Err(
                ApiError::new(codes::NOT_FOUND, format!("you have no passkey {id}"))
                    .hint("list yours with `imadm mfa passkey list`"),
            );
        };
        self.step_up(
            ctx,
            caller,
            otp,
            &format!("removing the passkey {:?}", p.name),
        )?;
        let keep_one = self.passkey_required(op.id)?;
        match self.store.remove_passkey(op.id, id, keep_one)? {
            Removal::Removed => self.event(
                ctx,
                Some(op),
                "",
                "mfa.passkey_remove",
                "success",
                Some(format!("passkey {id} {:?}", p.name)),
            ),
            Removal::NotFound => Err(ApiError::new(
                codes::NOT_FOUND,
                format!("you have no passkey {id}"),
            )),
            Removal::LastFactor => Err(ApiError::new(
                codes::CONFLICT,
                "this is your last second factor (no other passkey, no TOTP)",
            )
            .hint("enrol another passkey (`imadm mfa passkey add`) or TOTP first")),
            Removal::LastPasskey => Err(ApiError::new(
                codes::CONFLICT,
                "this is your last passkey, and a role of yours needs one",
            )
            .hint("enrol another passkey first (`imadm mfa passkey add`)")),
        }
    }

    /// Whether a role of operator `id` needs passkeys (`--require-passkey-for`).
    pub fn passkey_required(&self, id: i64) -> Result<bool, ApiError> {
        if self.policy.require_passkey_for.is_empty() {
            return Ok(false);
        }
        let roles = self.store.operator_roles(id)?;
        Ok(roles
            .iter()
            .any(|r| self.policy.require_passkey_for.contains(r)))
    }

    // --- the approval page -------------------------------------------------------------

    /// The grant a page names, or the error the page shows. A user code that names no
    /// grant is a failed attempt for the address (user codes are short).
    fn page_grant<R>(
        &self,
        ctx: &RequestCtx,
        user_code: &str,
        f: impl FnOnce(&mut approval::Grant<Ceremony>) -> R,
    ) -> Result<R, ApiError> {
        let attempt = self.admit(ctx, None, None, "approve.code")?;
        match self
            .passkeys
            .approvals
            .with(&self.key, user_code, now_ms(), f)?
        {
            Some(r) => {
                self.throttle.release(attempt);
                Ok(r)
            }
            None => {
                let locked = self.failed(ctx, None, "", attempt, "approve.code", "unknown_code")?;
                Err(locked.unwrap_or_else(expired))
            }
        }
    }

    pub fn approval_page(&self, ctx: &RequestCtx, user_code: &str) -> Result<PageView, ApiError> {
        let users = |id| self.store.operator_by_id(id).ok().flatten();
        let (view, purpose) = self.page_grant(ctx, user_code, |g| {
            (
                PageView {
                    user_code: g.user_code.clone(),
                    kind: match g.purpose {
                        Purpose::Login => "login",
                        Purpose::Enrol { .. } => "enrol",
                        Purpose::StepUp { .. } => "step_up",
                    },
                    description: String::new(),
                    client_addr: g.client_addr.clone().unwrap_or_else(|| "unknown".into()),
                    pending: g.is_pending(),
                },
                g.purpose.clone(),
            )
        })?;
        let description = match &purpose {
            Purpose::Login => "Sign in to imadm from the terminal.".to_owned(),
            Purpose::Enrol {
                operator_id, name, ..
            } => format!(
                "Add the passkey \u{201c}{name}\u{201d} to operator {}.",
                users(*operator_id).map_or_else(String::new, |o| o.username)
            ),
            Purpose::StepUp {
                operator_id,
                shown,
                binding,
                ..
            } => format!(
                "Approve, as operator {}: {shown} ({} {}).",
                users(*operator_id).map_or_else(String::new, |o| o.username),
                binding.method,
                binding.path
            ),
        };
        Ok(PageView {
            description,
            ..view
        })
    }

    /// The page's first call: the WebAuthn options for `navigator.credentials.create` (an
    /// enrolment) or `.get` (a login, after the password; a step-up).
    pub fn approve_begin(
        &self,
        ctx: &RequestCtx,
        user_code: &str,
        username: Option<&str>,
        password: Option<&str>,
        passkey_only: bool,
    ) -> Result<serde_json::Value, ApiError> {
        let rp = self.passkeys.rp()?;
        let purpose = self.page_grant(ctx, user_code, |g| {
            g.is_pending().then(|| g.purpose.clone())
        })?;
        let Some(purpose) = purpose else {
            return Err(decided());
        };
        let (options, ceremony) = match purpose {
            // Only a login: an enrolment keeps its password step, and a step-up must be
            // approved by the session's own operator (its passkeys in `allowCredentials`).
            _ if passkey_only && purpose != Purpose::Login => {
                return Err(ApiError::bad_request(
                    "a passkey alone only signs in; this approval needs the usual steps",
                ));
            }
            Purpose::Login if passkey_only => {
                if username.is_some() || password.is_some() {
                    return Err(ApiError::bad_request(
                        "a passkey-only sign-in takes no username or password",
                    ));
                }
                let (rcr, state) = rp
                    .start_discoverable_authentication()
                    .map_err(|e| webauthn_failed(&e))?;
                let mut options = serde_json::to_value(rcr).map_err(|e| internal(&e))?;
                // webauthn-rs asks for conditional mediation (autofill); the page asks on
                // a button click instead.
                if let Some(o) = options.as_object_mut() {
                    o.remove("mediation");
                }
                (options, Ceremony::Discoverable(Box::new(state)))
            }
            Purpose::Enrol { operator_id, .. } => {
                // Whoever holds the user code must also know the operator's password: a
                // code read over a shoulder must not add a stranger's passkey.
                let op = self.operator(operator_id)?;
                let Some(password) = password else {
                    return Err(ApiError::bad_request("the password is required"));
                };
                let (checked, attempt) = self.password_step(ctx, &op.username, password)?;
                self.throttle.release(attempt);
                if checked.id != op.id {
                    return Err(ApiError::new(codes::INTERNAL, "the operator changed"));
                }
                let exclude = self
                    .store
                    .passkeys(op.id)?
                    .iter()
                    .filter_map(|p| URL_SAFE_NO_PAD.decode(&p.credential_id).ok())
                    .collect::<Vec<_>>();
                let (ccr, state) = rp
                    .start_passkey_registration(
                        user_handle(&self.server_id, op.id),
                        &op.username,
                        &op.username,
                        Some(exclude),
                    )
                    .map_err(|e| webauthn_failed(&e))?;
                let mut options = serde_json::to_value(ccr).map_err(|e| internal(&e))?;
                prefer_discoverable(&mut options);
                (options, Ceremony::Register(Box::new(state)))
            }
            Purpose::Login => {
                let (Some(username), Some(password)) = (username, password) else {
                    return Err(ApiError::bad_request("username and password are required"));
                };
                // The password step of a login, throttled like `imadm auth login`'s.
                let (op, attempt) = self.password_step(ctx, username, password)?;
                self.throttle.release(attempt);
                self.event(
                    ctx,
                    Some(&op),
                    "",
                    "login.password",
                    "passkey_required",
                    None,
                )?;
                self.assertion_options(rp, &op)?
            }
            Purpose::StepUp { operator_id, .. } => {
                let op = self.operator(operator_id)?;
                self.assertion_options(rp, &op)?
            }
        };
        // Kept with the grant: the page's next call may reach another instance.
        self.passkeys
            .approvals
            .with(&self.key, user_code, now_ms(), |g| {
                g.ceremony = Some(ceremony)
            })?;
        Ok(options)
    }

    fn assertion_options(
        &self,
        rp: &Webauthn,
        op: &crate::store::Operator,
    ) -> Result<(serde_json::Value, Ceremony), ApiError> {
        let creds = self.credentials(op)?;
        if creds.is_empty() {
            return Err(ApiError::new(
                codes::MFA_ENROLLMENT_REQUIRED,
                format!("operator {} has no passkey", op.username),
            )
            .hint("enrol one with `imadm mfa passkey add NAME` (after a TOTP login)"));
        }
        let keys: Vec<Passkey> = creds.into_iter().map(|(_, k)| k).collect();
        let (rcr, state) = rp
            .start_passkey_authentication(&keys)
            .map_err(|e| webauthn_failed(&e))?;
        Ok((
            serde_json::to_value(rcr).map_err(|e| internal(&e))?,
            Ceremony::Authenticate {
                operator_id: op.id,
                state: Box::new(state),
            },
        ))
    }

    /// The operator's passkeys, opened.
    fn credentials(
        &self,
        op: &crate::store::Operator,
    ) -> Result<Vec<(StoredPasskey, Passkey)>, ApiError> {
        let mut out = vec![];
        for p in self.store.passkeys(op.id)? {
            let plain = self.key.open(&p.sealed, &aad(p.id)).ok_or_else(|| {
                ApiError::new(
                    codes::INTEGRITY,
                    "a stored passkey does not decrypt with this server key",
                )
            })?;
            let key: Passkey = serde_json::from_slice(&plain).map_err(|e| internal(&e))?;
            out.push((p, key));
        }
        Ok(out)
    }

    /// The page's second call: the browser's credential. Approves the grant when it
    /// verifies.
    pub fn approve_finish(
        &self,
        ctx: &RequestCtx,
        user_code: &str,
        credential: serde_json::Value,
    ) -> Result<(), ApiError> {
        let rp = self.passkeys.rp()?;
        // The ceremony is taken out: one credential per begin.
        let taken = self.page_grant(ctx, user_code, |g| {
            g.is_pending()
                .then(|| (g.purpose.clone(), g.ceremony.take()))
        })?;
        let Some((purpose, ceremony)) = taken else {
            return Err(decided());
        };
        let outcome = match (purpose, ceremony) {
            (
                Purpose::Enrol {
                    operator_id, name, ..
                },
                Some(Ceremony::Register(state)),
            ) => {
                let op = self.operator(operator_id)?;
                let reg: RegisterPublicKeyCredential =
                    serde_json::from_value(credential).map_err(|e| {
                        ApiError::bad_request(format!("not a WebAuthn credential: {e}"))
                    })?;
                let key = match rp.finish_passkey_registration(&reg, &state) {
                    Ok(k) => k,
                    Err(e) => {
                        self.event(
                            ctx,
                            Some(&op),
                            "",
                            "mfa.passkey_add",
                            "failure",
                            Some(format!("{e}")),
                        )?;
                        return Err(passkey_invalid(&e.to_string()));
                    }
                };
                let plain =
                    zeroize::Zeroizing::new(serde_json::to_vec(&key).map_err(|e| internal(&e))?);
                let cred_id = URL_SAFE_NO_PAD.encode(key.cred_id());
                let seal = |id| self.key.seal(&plain, &aad(id));
                let stored = self
                    .store
                    .add_passkey(op.id, &name, &cred_id, &seal, now())?;
                self.event(
                    ctx,
                    Some(&op),
                    "",
                    "mfa.passkey_add",
                    "success",
                    Some(format!("passkey {} {:?}", stored.id, stored.name)),
                )?;
                Outcome::Enrolled {
                    operator_id,
                    passkey_id: stored.id,
                }
            }
            (
                purpose @ (Purpose::Login | Purpose::StepUp { .. }),
                Some(Ceremony::Authenticate { operator_id, state }),
            ) => {
                let op = self.operator(operator_id)?;
                let step = if purpose == Purpose::Login {
                    "login.passkey"
                } else {
                    "step_up.passkey"
                };
                let attempt = self.admit(ctx, Some(&op), Some(&op.username), step)?;
                let assertion: Result<PublicKeyCredential, _> = serde_json::from_value(credential);
                let checked = assertion.map_err(|e| e.to_string()).and_then(|a| {
                    rp.finish_passkey_authentication(&a, &state)
                        .map_err(|e| e.to_string())
                });
                let result = match checked {
                    Ok(r) => r,
                    Err(why) => {
                        return Err(self.failure(
                            ctx,
                            &op,
                            attempt,
                            step,
                            "passkey_invalid",
                            passkey_invalid(&why),
                        ));
                    }
                };
                for (p, key) in self.credentials(&op)? {
                    if key.cred_id() == result.cred_id() {
                        self.passkey_used(ctx, &op, &p, key, &result, "")?;
                    }
                }
                if purpose == Purpose::Login {
                    self.login_completed(ctx, &op, attempt)?;
                    Outcome::LoggedIn { operator_id }
                } else {
                    self.throttle.complete(attempt);
                    Outcome::Approved { operator_id }
                }
            }
            (Purpose::Login, Some(Ceremony::Discoverable(state))) => {
                let operator_id = self.passkey_only_login(ctx, rp, credential, *state)?;
                Outcome::LoggedIn { operator_id }
            }
            _ => {
                return Err(ApiError::bad_request(
                    "no passkey ceremony is in progress for this code",
                )
                .hint("reload the page and approve again"));
            }
        };
        if !self
            .passkeys
            .approvals
            .approve(&self.key, user_code, outcome, now_ms())?
        {
            return Err(decided());
        }
        Ok(())
    }

    /// Record a verified use of passkey `p` (its opened credential `key`): last use, the
    /// new counter (a lower one later means a clone), the audit event (`how` added to
    /// its detail).
    fn passkey_used(
        &self,
        ctx: &RequestCtx,
        op: &crate::store::Operator,
        p: &StoredPasskey,
        mut key: Passkey,
        result: &AuthenticationResult,
        how: &str,
    ) -> Result<(), ApiError> {
        let changed = key.update_credential(result) == Some(true);
        let sealed = changed
            .then(|| serde_json::to_vec(&key).ok())
            .flatten()
            .map(|plain| self.key.seal(&zeroize::Zeroizing::new(plain), &aad(p.id)));
        self.store.touch_passkey(p.id, sealed.as_deref(), now())?;
        self.event(
            ctx,
            Some(op),
            "",
            "auth.passkey",
            "success",
            Some(format!("passkey {} {:?}{how}", p.id, p.name)),
        )
    }

    /// A passkey-only login: the operator is the owner of the stored credential the
    /// browser names, whose user handle must be that operator's; the assertion is checked
    /// against that one credential (user verification required). A failure counts against
    /// the address, and the operator when the credential is known, like a wrong password.
    /// Returns the operator, whose login is then completed.
    fn passkey_only_login(
        &self,
        ctx: &RequestCtx,
        rp: &Webauthn,
        credential: serde_json::Value,
        state: DiscoverableAuthentication,
    ) -> Result<i64, ApiError> {
        let step = "login.passkey";
        let assertion: Result<PublicKeyCredential, _> = serde_json::from_value(credential);
        let (owner, handle) = match &assertion {
            Ok(a) => match rp.identify_discoverable_authentication(a) {
                Ok((handle, cred_id)) => (
                    self.store
                        .passkey_by_credential(&URL_SAFE_NO_PAD.encode(cred_id))?,
                    Some(handle),
                ),
                Err(_) => (None, None),
            },
            Err(_) => (None, None),
        };
        let op = match &owner {
            Some(p) => Some(self.operator(p.operator_id)?),
            None => None,
        };
        let attempt = self.admit(
            ctx,
            op.as_ref(),
            op.as_ref().map(|o| o.username.as_str()),
            step,
        )?;
        let (Some(p), Some(op), Ok(assertion)) = (owner, op, assertion) else {
            // No passkey of this server (or no credential at all): the address's failure.
            let locked = self.failed(ctx, None, "", attempt, step, "unknown_passkey")?;
            return Err(locked.unwrap_or_else(|| {
                ApiError::new(
                    codes::PASSKEY_INVALID,
                    "the passkey was not accepted: it is not a passkey of this server, or \
                     your authenticator offered none it can sign in with alone",
                )
                .hint(
                    "sign in with username, password and passkey (a passkey signs in alone \
                     only when the authenticator stored it as a discoverable credential)",
                )
            }));
        };
        let key = self
            .credentials(&op)?
            .into_iter()
            .find(|(c, _)| c.id == p.id)
            .map(|(_, k)| k);
        let checked = match key {
            _ if handle != Some(user_handle(&self.server_id, op.id)) => {
                Err("the user handle is not the passkey's operator's".to_owned())
            }
            None => Err("the passkey was removed".to_owned()),
            Some(key) => rp
                .finish_discoverable_authentication_v2(&assertion, state, &key)
                .map(|r| (key, r))
                .map_err(|e| e.to_string()),
        };
        let (key, result) = match checked {
            Ok(r) => r,
            Err(why) => {
                let err = passkey_invalid(&why);
                return Err(self.failure(ctx, &op, attempt, step, "passkey_invalid", err));
            }
        };
        if op.disabled {
            self.throttle.release(attempt);
            self.event(ctx, Some(&op), "", step, "disabled", None)?;
            return Err(ApiError::new(
                codes::ACCOUNT_DISABLED,
                "this operator account is disabled",
            )
            .hint("ask an owner or admin to run `imadm operator enable`"));
        }
        self.passkey_used(ctx, &op, &p, key, &result, " (passkey only)")?;
        self.login_completed(ctx, &op, attempt)?;
        Ok(op.id)
    }

    /// The page's "Deny" button.
    pub fn approve_deny(&self, ctx: &RequestCtx, user_code: &str) -> Result<(), ApiError> {
        self.page_grant(ctx, user_code, |_| ())?;
        if !self
            .passkeys
            .approvals
            .deny(&self.key, user_code, now_ms())?
        {
            return Err(decided());
        }
        self.event(ctx, None, "", "auth.passkey", "refused_in_browser", None)
    }
}

/// Ask the authenticator for a discoverable credential when it can make one (WebAuthn
/// `residentKey: "preferred"`), so it can later sign in without a username: see the
/// module's decisions. webauthn-rs's `start_passkey_registration` says `"discouraged"`,
/// and its registration state does not check the resident-key choice, so only the options
/// the browser gets change. `requireResidentKey` stays false: an authenticator without
/// storage for credentials still enrols (for username + password + passkey).
fn prefer_discoverable(options: &mut serde_json::Value) {
    if let Some(sel) = options
        .pointer_mut("/publicKey/authenticatorSelection")
        .and_then(|v| v.as_object_mut())
    {
        sel.insert("residentKey".into(), "preferred".into());
        sel.insert("requireResidentKey".into(), false.into());
    }
}

fn decided() -> ApiError {
    ApiError::new(
        codes::CONFLICT,
        "this approval was already approved or denied",
    )
    .hint("start again in the terminal if you need another one")
}

fn webauthn_failed(e: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "webauthn");
    ApiError::new(codes::INTERNAL, "the passkey ceremony could not start")
}

fn internal(e: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "passkey serialisation");
    ApiError::new(codes::INTERNAL, "internal server error")
}

fn d_secs(d: std::time::Duration) -> u64 {
    d.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::{Binding, Purpose};

    fn state() -> (tempfile::TempDir, AppState, crate::DevLogin) {
        let dir = tempfile::tempdir().unwrap();
        let data = crate::open_data_dir(dir.path(), true, None).unwrap();
        let owner = crate::dev_bootstrap(&data, "owner", &[]).unwrap().owner;
        let s = AppState::new(data, crate::Policy::default(), true);
        s.passkeys.configure("https://localhost:8443").unwrap();
        (dir, s, owner)
    }

    fn ctx() -> RequestCtx {
        RequestCtx {
            source_addr: Some("192.0.2.1".into()),
            ..RequestCtx::default()
        }
    }

    #[test]
    fn an_enrolment_on_the_page_needs_the_operators_password_too() {
        let (_dir, s, owner) = state();
        let op = s.store.operator_by_username("owner").unwrap().unwrap();
        let started = s
            .passkeys
            .approvals
            .start(
                &s.key,
                Purpose::Enrol {
                    operator_id: op.id,
                    session_id: 1,
                    name: "laptop".into(),
                },
                Some("192.0.2.1".into()),
                now_ms(),
                0,
            )
            .unwrap()
            .unwrap();
        let code = &started.user_code;
        let e = s
            .approve_begin(&ctx(), code, None, None, false)
            .unwrap_err();
        assert_eq!(e.code, codes::BAD_REQUEST);
        let e = s
            .approve_begin(&ctx(), code, None, Some("not the password"), false)
            .unwrap_err();
        assert_eq!(e.code, codes::BAD_CREDENTIALS);
        let options = s
            .approve_begin(&ctx(), code, None, Some(&owner.password), false)
            .unwrap();
        assert_eq!(options["publicKey"]["user"]["name"], "owner");
        assert_eq!(
            options["publicKey"]["authenticatorSelection"]["userVerification"],
            "required"
        );
        assert_eq!(options["publicKey"]["rp"]["id"], "localhost");
        // A discoverable credential when the authenticator can (passkey-only sign-in).
        assert_eq!(
            options["publicKey"]["authenticatorSelection"]["residentKey"],
            "preferred"
        );
    }

    #[test]
    fn a_passkey_alone_only_signs_in_and_every_unknown_one_is_a_failed_attempt() {
        let (_dir, s, _owner) = state();
        let op = s.store.operator_by_username("owner").unwrap().unwrap();
        let start = |purpose| {
            let addr = Some("192.0.2.1".into());
            let g = s
                .passkeys
                .approvals
                .start(&s.key, purpose, addr, now_ms(), 0);
            g.unwrap().unwrap().user_code
        };
        // An enrolment keeps its password step; a step-up is the session's operator's.
        let enrol = start(Purpose::Enrol {
            operator_id: op.id,
            session_id: 1,
            name: "laptop".into(),
        });
        let step_up = start(Purpose::StepUp {
            operator_id: op.id,
            session_id: 1,
            binding: Binding {
                method: "DELETE".into(),
                path: "/admin/users/1".into(),
                body_sha256: [0; 32],
            },
            action: "deleting users".into(),
            shown: "delete IM user 1".into(),
        });
        for code in [&enrol, &step_up] {
            let e = s.approve_begin(&ctx(), code, None, None, true).unwrap_err();
            assert_eq!(e.code, codes::BAD_REQUEST, "{}", e.message);
        }
        let login = start(Purpose::Login);
        let e = s
            .approve_begin(&ctx(), &login, Some("owner"), None, true)
            .unwrap_err();
        assert_eq!(e.code, codes::BAD_REQUEST);
        // No credentials named: the authenticator offers its discoverable ones; UV required;
        // asked on the page's button, not as autofill.
        let options = s.approve_begin(&ctx(), &login, None, None, true).unwrap();
        let pk = &options["publicKey"];
        assert!(
            pk["allowCredentials"].as_array().is_none_or(Vec::is_empty),
            "{options}"
        );
        assert_eq!(pk["userVerification"], "required");
        assert!(options.get("mediation").is_none(), "{options}");

        // A credential that is no passkey of this server: refused, and a failure of the
        // address that stays counted until it is throttled.
        let unknown = serde_json::json!({
            "id": "AAAA", "rawId": "AAAA", "type": "public-key", "extensions": {},
            "response": {"authenticatorData": "AAAA", "clientDataJSON": "AAAA",
                         "signature": "AAAA", "userHandle": "AAAAAAAAAAAAAAAAAAAAAA"}
        });
        let mut refused = 0;
        for _ in 0..crate::Policy::default().address_rate.burst {
            let Ok(_) = s.approve_begin(&ctx(), &login, None, None, true) else {
                break;
            };
            let e = s
                .approve_finish(&ctx(), &login, unknown.clone())
                .unwrap_err();
            assert_eq!(e.code, codes::PASSKEY_INVALID, "{}", e.message);
            refused += 1;
        }
        assert!(refused > 0);
        let e = s
            .approve_begin(&ctx(), &login, None, None, true)
            .unwrap_err();
        assert!(e.message.contains("too many attempts"), "{}", e.message);
    }
}
