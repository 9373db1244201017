//! Handlers of the RBAC administration endpoints: `/admin/permissions`, `/admin/roles`,
//! `/admin/operators`, `/admin/tokens`; and `/admin/instance`. Each unpacks and calls `crate::rbac`.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use imadm_api::Envelope;
use imadm_api::admin::{
    InstanceInfo, Operator, OperatorCreate, OperatorCreated, Page, PasswordReset, PermissionInfo,
    Role, RoleCreate, RoleNames, RoleUpdate, RolesApply, RolesDiff, ServiceToken, TokenCreate,
    TokenCreated,
};
use serde::Deserialize;

use super::{Authed, Body, Otp, P, Q, Shared, Unused, blocking, ok};
use crate::auth::RequestCtx;
use crate::error::ApiError;

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/admin/instance", get(instance))
        .route("/admin/permissions", get(permissions))
        .route("/admin/roles", get(list_roles).post(create_role))
        .route("/admin/roles/apply", post(apply_roles))
        .route(
            "/admin/roles/{name}",
            get(show_role).patch(update_role).delete(delete_role),
        )
        .route(
            "/admin/operators",
            get(list_operators).post(create_operator),
        )
        .route(
            "/admin/operators/{name}",
            get(show_operator).delete(delete_operator),
        )
        .route("/admin/operators/{name}/grant", post(grant))
        .route("/admin/operators/{name}/revoke", post(revoke))
        .route("/admin/operators/{name}/disable", post(disable))
        .route("/admin/operators/{name}/enable", post(enable))
        .route("/admin/operators/{name}/reset-mfa", post(reset_mfa))
        .route(
            "/admin/operators/{name}/reset-password",
            post(reset_password),
        )
        .route("/admin/tokens", get(list_tokens).post(create_token))
        .route("/admin/tokens/{id}", axum::routing::delete(revoke_token))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Return items after this cursor (the `next_cursor` of the previous page).
    #[serde(default)]
    #[param(pattern = "^[0-9]{0,18}$")]
    pub after: Option<String>,
    /// Page size (1-1000, default 100).
    #[serde(default)]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/admin/instance", tag = "admin",
    params(("app_id" = String, Header), ("access-token" = String, Header)),
    responses((status = 200, description = "the store and instance answering", body = Envelope<InstanceInfo>)))]
pub async fn instance(State(s): State<Shared>, Authed(c): Authed) -> Result<Response, ApiError> {
    Ok(ok(s.instance_info(&c)))
}

#[utoipa::path(get, path = "/admin/permissions", tag = "rbac",
    params(("app_id" = String, Header), ("access-token" = String, Header)),
    responses((status = 200, description = "the permission catalogue", body = Envelope<Vec<PermissionInfo>>)))]
pub async fn permissions(State(s): State<Shared>, Authed(c): Authed) -> Result<Response, ApiError> {
    Ok(ok(blocking(&s, move |s| s.permission_catalogue(&c)).await?))
}

#[utoipa::path(get, path = "/admin/roles", tag = "rbac",
    params(("app_id" = String, Header), ("access-token" = String, Header)),
    responses((status = 200, description = "all roles, built-in first", body = Envelope<Vec<Role>>)))]
pub async fn list_roles(State(s): State<Shared>, Authed(c): Authed) -> Result<Response, ApiError> {
    Ok(ok(blocking(&s, move |s| s.roles(&c)).await?))
}

#[utoipa::path(get, path = "/admin/roles/{name}", tag = "rbac",
    params(("app_id" = String, Header), ("access-token" = String, Header), ("name" = String, Path)),
    responses((status = 200, description = "one role", body = Envelope<Role>)))]
pub async fn show_role(
    State(s): State<Shared>,
    Authed(c): Authed,
    P(name): P<String>,
) -> Result<Response, ApiError> {
    Ok(ok(blocking(&s, move |s| s.role_by_name(&c, &name)).await?))
}

#[utoipa::path(post, path = "/admin/roles", tag = "rbac", request_body = RoleCreate,
    params(("app_id" = String, Header), ("access-token" = String, Header), ("x-imadm-otp" = Option<String>, Header)),
    responses((status = 200, description = "the new role", body = Envelope<Role>)))]
pub async fn create_role(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    Otp(otp): Otp,
    Body(req): Body<RoleCreate>,
) -> Result<Response, ApiError> {
    let ev = s.audit_event(
        &ctx,
        Some(&c),
        "role.create",
        Some(format!("role:{}", req.name)),
    );
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || s.create_role(&ctx, &c, otp.as_deref(), req))
    })
    .await?))
}

#[utoipa::path(patch, path = "/admin/roles/{name}", tag = "rbac", request_body = RoleUpdate,
    params(("app_id" = String, Header), ("access-token" = String, Header), ("x-imadm-otp" = Option<String>, Header), ("name" = String, Path)),
    responses((status = 200, description = "the changed role", body = Envelope<Role>)))]
pub async fn update_role(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    Otp(otp): Otp,
    P(name): P<String>,
    Body(req): Body<RoleUpdate>,
) -> Result<Response, ApiError> {
    let ev = s.audit_event(&ctx, Some(&c), "role.update", Some(format!("role:{name}")));
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || s.update_role(&ctx, &c, otp.as_deref(), &name, req))
    })
    .await?))
}

#[utoipa::path(delete, path = "/admin/roles/{name}", tag = "rbac",
    params(("app_id" = String, Header), ("access-token" = String, Header), ("x-imadm-otp" = Option<String>, Header), ("name" = String, Path)),
    responses((status = 200, description = "deleted", body = Envelope<bool>)))]
pub async fn delete_role(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    Otp(otp): Otp,
    P(name): P<String>,
    _: Unused,
) -> Result<Response, ApiError> {
    let ev = s.audit_event(&ctx, Some(&c), "role.delete", Some(format!("role:{name}")));
    blocking(&s, move |s| {
        s.audited(ev, || s.delete_role(&ctx, &c, otp.as_deref(), &name))
    })
    .await?;
    Ok(ok(true))
}

#[utoipa::path(post, path = "/admin/roles/apply", tag = "rbac", request_body = RolesApply,
    params(("app_id" = String, Header), ("access-token" = String, Header), ("x-imadm-otp" = Option<String>, Header)),
    responses((status = 200, description = "the diff, and whether it was applied", body = Envelope<RolesDiff>)))]
pub async fn apply_roles(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    Otp(otp): Otp,
    Body(req): Body<RolesApply>,
) -> Result<Response, ApiError> {
    let ev = s.audit_event(&ctx, Some(&c), "role.apply", None);
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || s.apply_roles(&ctx, &c, otp.as_deref(), req))
    })
    .await?))
}

fn cursor(q: &PageQuery) -> Result<i64, ApiError> {
    match q.after.as_deref().filter(|a| !a.is_empty()) {
        None => Ok(0),
        Some(a) => a.parse().map_err(|_| {
            ApiError::bad_request(format!("bad cursor {a:?}"))
                .hint("pass the next_cursor of the previous page")
        }),
    }
}

#[utoipa::path(get, path = "/admin/operators", tag = "rbac",
    params(("app_id" = String, Header), ("access-token" = String, Header), PageQuery),
    responses((status = 200, description = "a page of operators", body = Envelope<Page<Operator>>)))]
pub async fn list_operators(
    State(s): State<Shared>,
    Authed(c): Authed,
    Q(q): Q<PageQuery>,
) -> Result<Response, ApiError> {
    let after = cursor(&q)?;
    let limit = q.limit.unwrap_or(100);
    Ok(ok(
        blocking(&s, move |s| s.operators(&c, after, limit)).await?
    ))
}

#[utoipa::path(get, path = "/admin/operators/{name}", tag = "rbac",
    params(("app_id" = String, Header), ("access-token" = String, Header), ("name" = String, Path, description = "username or id")),
    responses((status = 200, description = "one operator", body = Envelope<Operator>)))]
pub async fn show_operator(
    State(s): State<Shared>,
    Authed(c): Authed,
    P(name): P<String>,
) -> Result<Response, ApiError> {
    Ok(ok(
        blocking(&s, move |s| s.operator_by_name(&c, &name)).await?
    ))
}

#[utoipa::path(post, path = "/admin/operators", tag = "rbac", request_body = OperatorCreate,
    params(("app_id" = String, Header), ("access-token" = String, Header), ("x-imadm-otp" = Option<String>, Header)),
    responses((status = 200, description = "the operator and its one-time password (shown once)", body = Envelope<OperatorCreated>)))]
pub async fn create_operator(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    Otp(otp): Otp,
    Body(req): Body<OperatorCreate>,
) -> Result<Response, ApiError> {
    let ev = s.audit_event(
        &ctx,
        Some(&c),
        "operator.create",
        Some(format!("operator:{}", req.username)),
    );
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || s.create_operator(&ctx, &c, otp.as_deref(), req))
    })
    .await?))
}

#[utoipa::path(delete, path = "/admin/operators/{name}", tag = "rbac",
    params(("app_id" = String, Header), ("access-token" = String, Header), ("x-imadm-otp" = Option<String>, Header), ("name" = String, Path)),
    responses((status = 200, description = "deleted", body = Envelope<bool>)))]
pub async fn delete_operator(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    Otp(otp): Otp,
    P(name): P<String>,
    _: Unused,
) -> Result<Response, ApiError> {
    let ev = s.audit_event(
        &ctx,
        Some(&c),
        "operator.delete",
        Some(format!("operator:{name}")),
    );
    blocking(&s, move |s| {
        s.audited(ev, || s.delete_operator(&ctx, &c, otp.as_deref(), &name))
    })
    .await?;
    Ok(ok(true))
}

#[utoipa::path(post, path = "/admin/operators/{name}/grant", tag = "rbac", request_body = RoleNames,
    params(("app_id" = String, Header), ("access-token" = String, Header), ("x-imadm-otp" = Option<String>, Header), ("name" = String, Path)),
    responses((status = 200, description = "the operator after the grant", body = Envelope<Operator>)))]
pub async fn grant(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    Otp(otp): Otp,
    P(name): P<String>,
    Body(req): Body<RoleNames>,
) -> Result<Response, ApiError> {
    let mut ev = s.audit_event(
        &ctx,
        Some(&c),
        "operator.grant",
        Some(format!("operator:{name}")),
    );
    ev.detail = Some(req.roles.join(","));
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || {
            s.change_operator_roles(&ctx, &c, otp.as_deref(), &name, req.roles, vec![])
        })
    })
    .await?))
}

#[utoipa::path(post, path = "/admin/operators/{name}/revoke", tag = "rbac", request_body = RoleNames,
    params(("app_id" = String, Header), ("access-token" = String, Header), ("x-imadm-otp" = Option<String>, Header), ("name" = String, Path)),
    responses((status = 200, description = "the operator after the revoke", body = Envelope<Operator>)))]
pub async fn revoke(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    Otp(otp): Otp,
    P(name): P<String>,
    Body(req): Body<RoleNames>,
) -> Result<Response, ApiError> {
    let ev = s.audit_event(
        &ctx,
        Some(&c),
        "operator.revoke",
        Some(format!("operator:{name}")),
    );
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || {
            s.change_operator_roles(&ctx, &c, otp.as_deref(), &name, vec![], req.roles)
        })
    })
    .await?))
}

#[utoipa::path(post, path = "/admin/operators/{name}/disable", tag = "rbac",
    params(("app_id" = String, Header), ("access-token" = String, Header), ("x-imadm-otp" = Option<String>, Header), ("name" = String, Path)),
    responses((status = 200, description = "disabled; its sessions are revoked", body = Envelope<Operator>)))]
pub async fn disable(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    Otp(otp): Otp,
    P(name): P<String>,
    _: Unused,
) -> Result<Response, ApiError> {
    let ev = s.audit_event(
        &ctx,
        Some(&c),
        "operator.disable",
        Some(format!("operator:{name}")),
    );
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || {
            s.set_operator_disabled(&ctx, &c, otp.as_deref(), &name, true)
        })
    })
    .await?))
}

#[utoipa::path(post, path = "/admin/operators/{name}/enable", tag = "rbac",
    params(("app_id" = String, Header), ("access-token" = String, Header), ("x-imadm-otp" = Option<String>, Header), ("name" = String, Path)),
    responses((status = 200, description = "enabled", body = Envelope<Operator>)))]
pub async fn enable(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    Otp(otp): Otp,
    P(name): P<String>,
    _: Unused,
) -> Result<Response, ApiError> {
    let ev = s.audit_event(
        &ctx,
        Some(&c),
        "operator.enable",
        Some(format!("operator:{name}")),
    );
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || {
            s.set_operator_disabled(&ctx, &c, otp.as_deref(), &name, false)
        })
    })
    .await?))
}

#[utoipa::path(post, path = "/admin/operators/{name}/reset-mfa", tag = "rbac",
    params(("app_id" = String, Header), ("access-token" = String, Header), ("x-imadm-otp" = Option<String>, Header), ("name" = String, Path)),
    responses((status = 200, description = "MFA removed; the operator must enrol again", body = Envelope<Operator>)))]
pub async fn reset_mfa(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    Otp(otp): Otp,
    P(name): P<String>,
    _: Unused,
) -> Result<Response, ApiError> {
    let ev = s.audit_event(
        &ctx,
        Some(&c),
        "operator.reset_mfa",
        Some(format!("operator:{name}")),
    );
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || s.reset_operator_mfa(&ctx, &c, otp.as_deref(), &name))
    })
    .await?))
}

#[utoipa::path(post, path = "/admin/operators/{name}/reset-password", tag = "rbac",
    params(("app_id" = String, Header), ("access-token" = String, Header), ("x-imadm-otp" = Option<String>, Header), ("name" = String, Path)),
    responses((status = 200, description = "a new one-time password (shown once) the operator must change at next login; their sessions are revoked", body = Envelope<PasswordReset>)))]
pub async fn reset_password(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    Otp(otp): Otp,
    P(name): P<String>,
    _: Unused,
) -> Result<Response, ApiError> {
    let ev = s.audit_event(
        &ctx,
        Some(&c),
        "operator.reset_password",
        Some(format!("operator:{name}")),
    );
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || {
            s.reset_operator_password(&ctx, &c, otp.as_deref(), &name)
        })
    })
    .await?))
}

#[utoipa::path(get, path = "/admin/tokens", tag = "rbac",
    params(("app_id" = String, Header), ("access-token" = String, Header)),
    responses((status = 200, description = "service tokens with last use", body = Envelope<Vec<ServiceToken>>)))]
pub async fn list_tokens(State(s): State<Shared>, Authed(c): Authed) -> Result<Response, ApiError> {
    Ok(ok(blocking(&s, move |s| s.tokens(&c)).await?))
}

#[utoipa::path(post, path = "/admin/tokens", tag = "rbac", request_body = TokenCreate,
    params(("app_id" = String, Header), ("access-token" = String, Header), ("x-imadm-otp" = Option<String>, Header)),
    responses((status = 200, description = "the token; its secret is shown only here", body = Envelope<TokenCreated>)))]
pub async fn create_token(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    Otp(otp): Otp,
    Body(req): Body<TokenCreate>,
) -> Result<Response, ApiError> {
    let ev = s.audit_event(
        &ctx,
        Some(&c),
        "token.create",
        Some(format!("token:{}", req.name)),
    );
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || s.create_token(&ctx, &c, otp.as_deref(), req))
    })
    .await?))
}

#[utoipa::path(delete, path = "/admin/tokens/{id}", tag = "rbac",
    params(("app_id" = String, Header), ("access-token" = String, Header), ("id" = i64, Path)),
    responses((status = 200, description = "revoked", body = Envelope<bool>)))]
pub async fn revoke_token(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(c): Authed,
    P(id): P<i64>,
    _: Unused,
) -> Result<Response, ApiError> {
    let ev = s.audit_event(&ctx, Some(&c), "token.revoke", Some(format!("token:{id}")));
    blocking(&s, move |s| s.audited(ev, || s.revoke_token(&ctx, &c, id))).await?;
    Ok(ok(true))
}
