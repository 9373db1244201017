//! Bodies of the `/admin/auth/*` and `/admin/mfa/*` endpoints: the two-step login
//! (password, then TOTP), token refresh and rotation, logout, MFA enrolment.
//!
//! Flow: `POST /admin/auth/login` with the password answers either with an MFA
//! challenge (`mfa_token`) to redeem at `POST /admin/auth/mfa` with a TOTP or recovery
//! code, or, for an operator who has not enrolled MFA yet, with a *restricted* session
//! that can only enrol (and change a one-time password). Sessions are an access token
//! (short-lived) plus a refresh token that rotates on every use.
//!
//! Passkeys go through the browser (RFC 8628 device authorization grant): the CLI gets a
//! [`DeviceAuthorization`] (from `POST /admin/auth/device` for a login, `POST
//! /admin/mfa/passkeys` for an enrolment, or a step-up request sent with
//! `x-imadm-otp: web`), shows its URL and user code, and polls
//! `POST /admin/auth/device/token` until the operator approved or denied it on the page;
//! the answer is a [`DeviceGrant`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::UnixTime;

/// Restrictions a session can carry until the operator fixes its account.
pub const RESTRICTION_MFA_ENROLL: &str = "mfa_enroll";
pub const RESTRICTION_PASSWORD_CHANGE: &str = "password_change";
/// The operator's role needs a passkey (server option `--require-passkey-for`) and it has
/// none yet: the session may only enrol one (`imadm mfa passkey add`).
pub const RESTRICTION_PASSKEY_ENROLL: &str = "passkey_enroll";

#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginRequest {
    #[schema(min_length = 1)]
    pub username: String,
    #[schema(min_length = 1)]
    pub password: String,
}

// Hand-written so a stray `{:?}` can never print a password.
impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Answer to the password step: exactly one of the two fields is set.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    /// Redeem with a TOTP or recovery code at `/admin/auth/mfa`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa: Option<MfaChallenge>,
    /// A restricted session for an operator without MFA (see `restrictions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionTokens>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MfaChallenge {
    pub mfa_token: String,
    pub expires_at: UnixTime,
}

#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct MfaVerifyRequest {
    pub mfa_token: String,
    /// A 6-digit TOTP code, or a single-use recovery code (`xxxxx-xxxxx`).
    pub code: String,
}

impl std::fmt::Debug for MfaVerifyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MfaVerifyRequest { <redacted> }")
    }
}

/// An access token plus its rotating refresh token.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionTokens {
    pub access_token: String,
    pub access_expires_at: UnixTime,
    pub refresh_token: String,
    /// When the refresh token stops working if unused (idle expiry); never later than
    /// the session's absolute expiry.
    pub refresh_expires_at: UnixTime,
    /// Empty for a full session; otherwise what the operator must do first.
    #[serde(default)]
    pub restrictions: Vec<String>,
}

impl std::fmt::Debug for SessionTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionTokens")
            .field("access_expires_at", &self.access_expires_at)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("restrictions", &self.restrictions)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

impl std::fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshRequest { <redacted> }")
    }
}

#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

impl std::fmt::Debug for ChangePasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChangePasswordRequest { <redacted> }")
    }
}

/// `GET /admin/auth/whoami`: who the credential belongs to and what it may do.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WhoAmI {
    pub operator_id: i64,
    pub username: String,
    pub roles: Vec<String>,
    pub permissions: Vec<String>,
    pub mfa_enrolled: bool,
    /// `session` for an interactive login; `service_token` for cron/CI tokens.
    pub credential: String,
    pub expires_at: Option<UnixTime>,
    #[serde(default)]
    pub restrictions: Vec<String>,
}

/// `POST /admin/mfa/enroll`: a fresh secret, not active until confirmed with a code.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct MfaEnrollment {
    /// Base32 TOTP secret (SHA1, 6 digits, 30 s).
    pub secret: String,
    pub otpauth_uri: String,
}

impl std::fmt::Debug for MfaEnrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MfaEnrollment { <redacted> }")
    }
}

#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct MfaConfirmRequest {
    pub code: String,
}

impl std::fmt::Debug for MfaConfirmRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MfaConfirmRequest { <redacted> }")
    }
}

/// `POST /admin/mfa/enroll/confirm`: the single-use recovery codes, shown once, and
/// (when nothing else is pending) a full session replacing the restricted one.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct MfaEnrolled {
    pub recovery_codes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionTokens>,
}

/// `POST /admin/mfa/recovery-codes`: a new set, invalidating the old one.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

/// `GET /admin/mfa/status`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MfaStatus {
    /// A TOTP authenticator is enrolled.
    pub enrolled: bool,
    pub recovery_codes_left: u32,
    /// The operator's passkeys, oldest first.
    #[serde(default)]
    pub passkeys: Vec<Passkey>,
    /// A role of the operator needs passkeys (server option `--require-passkey-for`): TOTP
    /// neither logs in nor approves.
    #[serde(default)]
    pub passkey_required: bool,
}

/// One passkey (WebAuthn credential) of an operator.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Passkey {
    pub id: i64,
    pub name: String,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

/// `POST /admin/mfa/passkeys`: start enrolling a passkey, named for the list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PasskeyAdd {
    /// 1-64 characters, no control characters, unique per operator (e.g. "laptop touch
    /// id").
    #[schema(min_length = 1, max_length = 64, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub name: String,
}

/// RFC 8628 section 3.2: a pending browser approval. Show `verification_uri_complete` (or
/// `verification_uri` and `user_code`), then poll `/admin/auth/device/token` with
/// `device_code` every `interval` seconds until `expires_in` seconds have passed.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct DeviceAuthorization {
    pub device_code: String,
    /// `XXXX-XXXX`, shown on the page too: the operator checks they match.
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: u64,
    pub interval: u64,
    /// What is being approved, as the page says it.
    pub description: String,
}

// The device code is the poller's secret.
impl std::fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// `POST /admin/auth/device/token`: poll for the approval of a device code.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct DeviceTokenRequest {
    pub device_code: String,
}

impl std::fmt::Debug for DeviceTokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceTokenRequest { <redacted> }")
    }
}

/// An approved device code (once: the code is spent). Which field is set depends on what
/// was approved: a login (`session`), an enrolment (`passkey`, and `session` when that
/// lifted a restriction of the enrolling session), a step-up (`step_up_token`: send the
/// request again with it in `x-imadm-otp`, within a minute, once).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct DeviceGrant {
    /// The operator who approved.
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionTokens>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passkey: Option<Passkey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_up_token: Option<String>,
}

impl std::fmt::Debug for DeviceGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceGrant")
            .field("username", &self.username)
            .field("session", &self.session)
            .field("passkey", &self.passkey)
            .finish_non_exhaustive()
    }
}

/// `POST /admin/auth/password`: when the change lifted a restriction, the session's
/// tokens were rotated and the new ones are here.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PasswordChanged {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionTokens>,
}

/// The approval page's requests (`POST /admin/approve/begin|finish|deny`), sent by its
/// script with the page's CSRF token (header `x-csrf-token`, and the cookie it matches).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct ApproveBegin {
    /// The user code, `XXXX-XXXX`.
    #[schema(min_length = 1, max_length = 16)]
    pub user_code: String,
    /// A login's operator (a login only).
    #[serde(default)]
    pub username: Option<String>,
    /// A login's password (a login only).
    #[serde(default)]
    pub password: Option<String>,
    /// Sign in with a discoverable passkey alone, no username or password (a login only).
    #[serde(default)]
    pub passkey_only: bool,
}

impl std::fmt::Debug for ApproveBegin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApproveBegin")
            .field("user_code", &self.user_code)
            .field("username", &self.username)
            .field("passkey_only", &self.passkey_only)
            .finish_non_exhaustive()
    }
}

/// The browser's WebAuthn credential (`navigator.credentials.create` or `.get`, binary
/// fields base64url) for a user code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApproveFinish {
    #[schema(min_length = 1, max_length = 16)]
    pub user_code: String,
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// Deny the approval of a user code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApproveDeny {
    #[schema(min_length = 1, max_length = 16)]
    pub user_code: String,
}
