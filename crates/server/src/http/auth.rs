//! Handlers of `/admin/auth/*` and `/admin/mfa/*`: unpack, call `crate::auth`, wrap.

use axum::extract::State;
use axum::response::Response;
use imadm_api::Envelope;
use imadm_api::auth::{
    ChangePasswordRequest, LoginRequest, LoginResponse, MfaConfirmRequest, MfaEnrolled,
    MfaEnrollment, MfaStatus, MfaVerifyRequest, PasswordChanged, RecoveryCodes, RefreshRequest,
    SessionTokens, WhoAmI,
};

use super::{AnySession, Authed, Body, Otp, Shared, Unused, blocking, ok};
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
