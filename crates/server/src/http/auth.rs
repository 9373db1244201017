//! Handlers of `/admin/auth/*` and `/admin/mfa/*`: unpack, call `crate::auth` (and
//! `crate::passkey` for passkeys and browser approvals), wrap.

use axum::extract::State;
use axum::response::Response;
use imadm_api::Envelope;
use imadm_api::auth::{
    ChangePasswordRequest, DeviceAuthorization, DeviceGrant, DeviceTokenRequest, LoginRequest,
    LoginResponse, MfaConfirmRequest, MfaEnrolled, MfaEnrollment, MfaStatus, MfaVerifyRequest,
    PasskeyAdd, PasswordChanged, RecoveryCodes, RefreshRequest, SessionTokens, WhoAmI,
};

use super::{AnySession, Authed, Body, Otp, P, Shared, Unused, blocking, ok};
use crate::auth::RequestCtx;
use crate::error::ApiError;

#[utoipa::path(post, path = "/admin/auth/login", tag = "auth", request_body = LoginRequest,
    params(("app_id" = String, Header, description = "application id")),
    responses(
        (status = 200, description = "an MFA challenge, or a restricted session for an operator without MFA", body = Envelope<LoginResponse>),
        (status = 401, description = "wrong username or password (code 50001)", body = Envelope<imadm_api::ErrorDetail>),
        (status = 429, description = "too many failed attempts: this address is locked out of the account or throttled (code 50005, Retry-After)", body = Envelope<imadm_api::ErrorDetail>)))]
pub async fn login(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Body(req): Body<LoginRequest>,
) -> Result<Response, ApiError> {
    if req.username.is_empty() || req.password.is_empty() {
        return Err(ApiError::bad_request("username and password are required"));
    }
    Ok(ok(blocking(&s, move |s| {
        s.login(&ctx, &req.username, &req.password)
    })
    .await?))
}

#[utoipa::path(post, path = "/admin/auth/mfa", tag = "auth", request_body = MfaVerifyRequest,
    params(("app_id" = String, Header, description = "application id")),
    responses(
        (status = 200, description = "a session", body = Envelope<SessionTokens>),
        (status = 401, description = "wrong (50003) or replayed (50004) code", body = Envelope<imadm_api::ErrorDetail>)))]
pub async fn mfa(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Body(req): Body<MfaVerifyRequest>,
) -> Result<Response, ApiError> {
    Ok(ok(blocking(&s, move |s| {
        s.verify_mfa(&ctx, &req.mfa_token, &req.code)
    })
    .await?))
}

#[utoipa::path(post, path = "/admin/auth/refresh", tag = "auth", request_body = RefreshRequest,
    params(("app_id" = String, Header, description = "application id")),
    responses(
        (status = 200, description = "a new token pair; the old refresh token is dead, but presented again within the grace window (30 s) it gets this same pair", body = Envelope<SessionTokens>),
        (status = 401, description = "refresh token invalid (50009)", body = Envelope<imadm_api::ErrorDetail>)))]
pub async fn refresh(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Body(req): Body<RefreshRequest>,
) -> Result<Response, ApiError> {
    Ok(ok(blocking(&s, move |s| {
        s.refresh(&ctx, &req.refresh_token)
    })
    .await?))
}

#[utoipa::path(post, path = "/admin/auth/logout", tag = "auth",
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token")),
    responses((status = 200, description = "the session is revoked", body = Envelope<bool>)))]
pub async fn logout(
    State(s): State<Shared>,
    ctx: RequestCtx,
    AnySession(caller): AnySession,
    _: Unused,
) -> Result<Response, ApiError> {
    blocking(&s, move |s| s.logout(&ctx, &caller)).await?;
    Ok(ok(true))
}

#[utoipa::path(get, path = "/admin/auth/whoami", tag = "auth",
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token")),
    responses((status = 200, description = "the caller", body = Envelope<WhoAmI>)))]
pub async fn whoami(
    State(s): State<Shared>,
    AnySession(caller): AnySession,
) -> Result<Response, ApiError> {
    Ok(ok(blocking(&s, move |s| s.whoami(&caller)).await?))
}

#[utoipa::path(post, path = "/admin/auth/password", tag = "auth", request_body = ChangePasswordRequest,
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token")),
    responses((status = 200, description = "password changed", body = Envelope<PasswordChanged>)))]
pub async fn change_password(
    State(s): State<Shared>,
    ctx: RequestCtx,
    AnySession(caller): AnySession,
    Body(req): Body<ChangePasswordRequest>,
) -> Result<Response, ApiError> {
    Ok(ok(blocking(&s, move |s| {
        s.change_password(&ctx, &caller, &req.current_password, &req.new_password)
    })
    .await?))
}

#[utoipa::path(get, path = "/admin/mfa/status", tag = "mfa",
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token")),
    responses((status = 200, description = "MFA state of the caller", body = Envelope<MfaStatus>)))]
pub async fn mfa_status(
    State(s): State<Shared>,
    AnySession(caller): AnySession,
) -> Result<Response, ApiError> {
    Ok(ok(blocking(&s, move |s| s.mfa_status(&caller)).await?))
}

#[utoipa::path(post, path = "/admin/mfa/enroll", tag = "mfa",
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token")),
    responses((status = 200, description = "a pending secret to confirm", body = Envelope<MfaEnrollment>)))]
pub async fn mfa_enroll(
    State(s): State<Shared>,
    ctx: RequestCtx,
    AnySession(caller): AnySession,
    _: Unused,
) -> Result<Response, ApiError> {
    Ok(ok(
        blocking(&s, move |s| s.mfa_enroll_start(&ctx, &caller)).await?
    ))
}

#[utoipa::path(post, path = "/admin/mfa/enroll/confirm", tag = "mfa", request_body = MfaConfirmRequest,
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token")),
    responses((status = 200, description = "MFA active; recovery codes shown once", body = Envelope<MfaEnrolled>)))]
pub async fn mfa_confirm(
    State(s): State<Shared>,
    ctx: RequestCtx,
    AnySession(caller): AnySession,
    Body(req): Body<MfaConfirmRequest>,
) -> Result<Response, ApiError> {
    Ok(ok(blocking(&s, move |s| {
        s.mfa_enroll_confirm(&ctx, &caller, &req.code)
    })
    .await?))
}

#[utoipa::path(post, path = "/admin/mfa/recovery-codes", tag = "mfa",
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token"),
           ("x-imadm-otp" = Option<String>, Header, description = "step-up TOTP code")),
    responses((status = 200, description = "a new set of recovery codes", body = Envelope<RecoveryCodes>)))]
pub async fn recovery_codes(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(caller): Authed,
    Otp(otp): Otp,
    _: Unused,
) -> Result<Response, ApiError> {
    Ok(ok(blocking(&s, move |s| {
        s.regenerate_recovery_codes(&ctx, &caller, otp.as_deref())
    })
    .await?))
}

#[utoipa::path(post, path = "/admin/mfa/disable", tag = "mfa",
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token"),
           ("x-imadm-otp" = Option<String>, Header, description = "step-up TOTP code")),
    responses((status = 200, description = "MFA removed; all sessions revoked", body = Envelope<bool>)))]
pub async fn mfa_disable(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(caller): Authed,
    Otp(otp): Otp,
    _: Unused,
) -> Result<Response, ApiError> {
    blocking(&s, move |s| s.mfa_disable(&ctx, &caller, otp.as_deref())).await?;
    Ok(ok(true))
}

#[utoipa::path(post, path = "/admin/auth/device", tag = "auth",
    params(("app_id" = String, Header, description = "application id")),
    responses(
        (status = 200, description = "a login to approve in the browser (RFC 8628 device authorization): show the URL and user code, poll /admin/auth/device/token", body = Envelope<DeviceAuthorization>),
        (status = 429, description = "too many approvals pending from this address (code 50005)", body = Envelope<imadm_api::ErrorDetail>)))]
pub async fn device(
    State(s): State<Shared>,
    ctx: RequestCtx,
    _: Unused,
) -> Result<Response, ApiError> {
    Ok(ok(blocking(&s, move |s| s.device_login(&ctx)).await?))
}

#[utoipa::path(post, path = "/admin/auth/device/token", tag = "auth", request_body = DeviceTokenRequest,
    params(("app_id" = String, Header, description = "application id")),
    responses(
        (status = 200, description = "approved (answered once): a session, a passkey or a step-up token", body = Envelope<DeviceGrant>),
        (status = 409, description = "not approved yet (50030): poll again after `interval` seconds", body = Envelope<imadm_api::ErrorDetail>),
        (status = 429, description = "polled too fast (50031): poll 5 s less often", body = Envelope<imadm_api::ErrorDetail>),
        (status = 403, description = "denied in the browser (50032)", body = Envelope<imadm_api::ErrorDetail>),
        (status = 404, description = "unknown, spent or expired device code (50033)", body = Envelope<imadm_api::ErrorDetail>)))]
pub async fn device_token(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Body(req): Body<DeviceTokenRequest>,
) -> Result<Response, ApiError> {
    Ok(ok(blocking(&s, move |s| {
        s.device_poll(&ctx, &req.device_code)
    })
    .await?))
}

#[utoipa::path(post, path = "/admin/mfa/passkeys", tag = "mfa", request_body = PasskeyAdd,
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token")),
    responses(
        (status = 200, description = "an enrolment to complete in the browser: poll /admin/auth/device/token", body = Envelope<DeviceAuthorization>),
        (status = 409, description = "a passkey of that name exists (50012)", body = Envelope<imadm_api::ErrorDetail>)))]
pub async fn passkey_add(
    State(s): State<Shared>,
    ctx: RequestCtx,
    AnySession(caller): AnySession,
    Body(req): Body<PasskeyAdd>,
) -> Result<Response, ApiError> {
    use imadm_api::auth::{RESTRICTION_MFA_ENROLL, RESTRICTION_PASSWORD_CHANGE};
    // A session restricted to enrolling a passkey may do this; one that must change its
    // password or enrol TOTP first may not.
    if caller
        .restrictions()
        .iter()
        .any(|r| r == RESTRICTION_MFA_ENROLL || r == RESTRICTION_PASSWORD_CHANGE)
    {
        return Err(ApiError::new(
            imadm_api::codes::MFA_ENROLLMENT_REQUIRED,
            "this session must change its password and enrol TOTP first",
        )
        .hint("run `imadm auth change-password` / `imadm mfa enroll`, then add the passkey"));
    }
    Ok(ok(blocking(&s, move |s| {
        s.passkey_add_start(&ctx, &caller, &req.name)
    })
    .await?))
}

#[utoipa::path(delete, path = "/admin/mfa/passkeys/{id}", tag = "mfa",
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token"),
           ("x-imadm-otp" = Option<String>, Header, description = "step-up TOTP code, `web`, or a passkey approval token"),
           ("id" = i64, Path, description = "the passkey's id (`imadm mfa passkey list`)")),
    responses(
        (status = 200, description = "removed", body = Envelope<bool>),
        (status = 404, description = "no such passkey of the caller (50011)", body = Envelope<imadm_api::ErrorDetail>),
        (status = 409, description = "the caller's last second factor (50012)", body = Envelope<imadm_api::ErrorDetail>)))]
pub async fn passkey_remove(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(caller): Authed,
    Otp(otp): Otp,
    P(id): P<i64>,
    _: Unused,
) -> Result<Response, ApiError> {
    blocking(&s, move |s| {
        s.passkey_remove(&ctx, &caller, otp.as_deref(), id)
    })
    .await?;
    Ok(ok(true))
}
