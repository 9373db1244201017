//! Handlers of the Lanying-compatible IM endpoints (`/user/*`, `/group/*`,
//! `/message/*`) and of the IM user listing under `/admin/users`.
//!
//! Lanying answers business errors with HTTP 200 and the error code in the envelope;
//! scripts written for Lanying check `code`, not the status. So the Lanying routes sit
//! behind [`lanying_status`], which turns every error status into 200 (the envelope is
//! unchanged), while the `/admin/users` routes keep real HTTP statuses like the rest of
//! our admin extension. Query and header parsing failures become envelope errors with
//! code 10002 rather than axum's plain-text rejections.

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use imadm_api::im::{
    AdminUserDetail, AdminUserPage, BasicUserInfo, BatchRegisterUserDto, GroupInfoAndSettingsDto,
    GroupInfoRequest, GroupInvitationRequest, GroupMemberRequest, GroupUserRelationResponse,
    HEADER_USER_ID, ListRequest, MemberPage, MessageRequest, PasswordDto, SessionMessageList,
    UserDeleteRequest, UserProfileDto, UserRegisterRequest, UserSettings, UsersDelete,
    UsersDeleted,
};
use imadm_api::{Envelope, LanyingError, codes};
use serde::Deserialize;

use super::{Authed, Body, Otp, P, Q, Shared, Unused, blocking, ok};
use crate::auth::RequestCtx;
use crate::error::{ApiError, RenderedError};

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/user/register/v2", post(register))
        .route("/user/register/batch", post(register_batch))
        .route("/user/list", get(user_list))
        .route("/user/profile", get(user_profile))
        .route("/user/disable", axum::routing::put(user_disable))
        .route("/user/enable", axum::routing::put(user_enable))
        .route("/user/delete", post(user_delete).delete(user_delete))
        .route("/user/change_password_admin", post(change_password_admin))
        .route("/user/kick", post(user_kick).put(user_kick))
        .route("/group/create", post(group_create))
        .route("/group/destroy", post(group_destroy).delete(group_destroy))
        .route("/group/info", get(group_info))
        .route("/group/member_list", get(group_member_list))
        .route("/group/invite", post(group_invite))
        .route("/group/kick", post(group_kick).delete(group_kick))
        .route("/message/send", post(message_send).put(message_send))
        .route("/message/conversation", get(message_conversation))
        .layer(axum::middleware::map_response(lanying_status))
        // Below the layer: the admin extension keeps real HTTP statuses.
        .route("/admin/users", get(admin_users))
        .route("/admin/users/bulk-delete", post(admin_users_delete))
        .route("/admin/users/{user}", get(admin_user))
        .route("/admin/users/{user}/erase", post(admin_user_erase))
        .route("/admin/users/{user}/export", get(admin_user_export))
}

/// Lanying's convention: business errors travel as HTTP 200 with the code in the body,
/// and the body is `{code, message}` without `data` (Lanying's document types `data` per
/// endpoint); our hint rides beside them ([`LanyingError`]). A wrong HTTP method is not a
/// business error: it keeps its 405 and `Allow` header.
async fn lanying_status(resp: Response) -> Response {
    lanying_render(resp)
}

/// Is `path` one of the Lanying routes (errors as HTTP 200)?
pub fn is_lanying_path(path: &str) -> bool {
    ["/user/", "/group/", "/message/"]
        .iter()
        .any(|p| path.starts_with(p))
}

/// [`lanying_status`] for a response already made (the `app_id` check runs before
/// routing, outside the layer).
pub fn lanying_render(resp: Response) -> Response {
    let Some(e) = resp.extensions().get::<RenderedError>().cloned() else {
        return resp;
    };
    if e.code == codes::METHOD_NOT_ALLOWED {
        return resp;
    }
    let (mut parts, _) = resp.into_parts();
    parts.status = StatusCode::OK;
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let body = axum::Json(LanyingError {
        code: e.code,
        message: e.message,
        detail: e.detail,
    })
    .into_response()
    .into_body();
    Response::from_parts(parts, body)
}

/// The Lanying `user_id` header: the IM user the request acts on.
pub struct UserIdHeader(pub Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for UserIdHeader {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        match parts.headers.get(HEADER_USER_ID) {
            None => Ok(UserIdHeader(None)),
            Some(v) => v
                .to_str()
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .map(|id| UserIdHeader(Some(id)))
                .ok_or_else(|| {
                    ApiError::bad_request("the user_id header is not a numeric user id")
                }),
        }
    }
}

#[utoipa::path(post, path = "/user/register/v2", tag = "user", request_body = UserRegisterRequest,
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token")),
    responses((status = 200, description = "the new user (business errors also answer HTTP 200: 10002 bad username or password, 10004 user exists)", body = Envelope<UserSettings>)))]
pub async fn register(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(caller): Authed,
    Body(req): Body<UserRegisterRequest>,
) -> Result<Response, ApiError> {
    let ev = s.audit_event(&ctx, Some(&caller), "user.create", None);
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || s.register_user(&caller, req))
    })
    .await?))
}

#[utoipa::path(post, path = "/user/register/batch", tag = "user", request_body = ListRequest<UserRegisterRequest>,
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token")),
    responses((status = 200, description = "one outcome per row, in order; at most 1000 rows", body = Envelope<Vec<BatchRegisterUserDto>>)))]
pub async fn register_batch(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(caller): Authed,
    Body(req): Body<ListRequest<UserRegisterRequest>>,
) -> Result<Response, ApiError> {
    // The target (the created users) is filled in by the insert; the detail counts the batch.
    let mut ev = s.audit_event(&ctx, Some(&caller), "user.create", None);
    let n = req.list.len();
    ev.detail = Some(format!(
        "batch of {n} user{}",
        if n == 1 { "" } else { "s" }
    ));
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || s.register_users(&caller, req.list))
    })
    .await?))
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    page_num: Option<u32>,
    page_size: Option<u32>,
}

#[utoipa::path(get, path = "/user/list", tag = "user",
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token"),
           ("page_num" = Option<u32>, Query, description = "page number, from 1 (default 1)"),
           ("page_size" = Option<u32>, Query, description = "users per page, 1..=200 (default 50)")),
    responses((status = 200, description = "one page of users, by id", body = Envelope<Vec<BasicUserInfo>>)))]
pub async fn user_list(
    State(s): State<Shared>,
    Authed(caller): Authed,
    Q(q): Q<PageQuery>,
) -> Result<Response, ApiError> {
    Ok(ok(s
        .lanying_user_list(&caller, q.page_num, q.page_size)
        .await?))
}

#[utoipa::path(get, path = "/user/profile", tag = "user",
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token"),
           ("user_id" = i64, Header, description = "the IM user")),
    responses((status = 200, description = "the user's profile (10000: no such user)", body = Envelope<UserProfileDto>)))]
pub async fn user_profile(
    State(s): State<Shared>,
    Authed(caller): Authed,
    UserIdHeader(user): UserIdHeader,
) -> Result<Response, ApiError> {
    Ok(ok(
        blocking(&s, move |s| s.user_profile(&caller, user)).await?
    ))
}

#[utoipa::path(put, path = "/user/disable", tag = "user", request_body = ListRequest<i64>,
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token")),
    responses((status = 200, description = "all listed users banned (all or nothing; 10000 names an unknown id)", body = Envelope<bool>)))]
pub async fn user_disable(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(caller): Authed,
    Body(req): Body<ListRequest<i64>>,
) -> Result<Response, ApiError> {
    let ev = s.audit_event(
        &ctx,
        Some(&caller),
        "user.disable",
        s.user_targets(&req.list),
    );
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || s.set_users_disabled(&caller, &req.list, true))
    })
    .await?))
}

#[utoipa::path(put, path = "/user/enable", tag = "user", request_body = ListRequest<i64>,
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token")),
    responses((status = 200, description = "all listed users unbanned (all or nothing)", body = Envelope<bool>)))]
pub async fn user_enable(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(caller): Authed,
    Body(req): Body<ListRequest<i64>>,
) -> Result<Response, ApiError> {
    let ev = s.audit_event(
        &ctx,
        Some(&caller),
        "user.enable",
        s.user_targets(&req.list),
    );
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || s.set_users_disabled(&caller, &req.list, false))
    })
    .await?))
}

#[utoipa::path(method(post, delete), path = "/user/delete", tag = "user", request_body = UserDeleteRequest,
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token"),
           ("user_id" = i64, Header, description = "the IM user to delete"),
           ("x-imadm-otp" = Option<String>, Header, description = "step-up TOTP code (50010 without)")),
    responses((status = 200, description = "the user, the groups it owns and its direct messages are deleted", body = Envelope<bool>)))]
pub async fn user_delete(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(caller): Authed,
    Otp(otp): Otp,
    UserIdHeader(user): UserIdHeader,
    _: Unused,
) -> Result<Response, ApiError> {
    let ev = s.audit_event(
        &ctx,
        Some(&caller),
        "user.delete",
        user.map(|u| s.audit_key.user_pseudonym(u)),
    );
    // The body (a password, for user tokens only) means nothing to an admin credential.
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || s.delete_user(&ctx, &caller, otp.as_deref(), user))
    })
    .await?))
}

#[utoipa::path(post, path = "/user/change_password_admin", tag = "user", request_body = PasswordDto,
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token"),
           ("user_id" = i64, Header, description = "the IM user")),
    responses((status = 200, description = "password replaced; the user's devices are kicked", body = Envelope<bool>)))]
pub async fn change_password_admin(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(caller): Authed,
    UserIdHeader(user): UserIdHeader,
    Body(req): Body<PasswordDto>,
) -> Result<Response, ApiError> {
    let ev = s.audit_event(
        &ctx,
        Some(&caller),
        "user.password_reset",
        user.map(|u| s.audit_key.user_pseudonym(u)),
    );
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || s.change_user_password(&caller, user, &req.password))
    })
    .await?))
}

#[utoipa::path(method(post, put), path = "/user/kick", tag = "user",
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token"),
           ("user_id" = i64, Header, description = "the IM user"),
           ("device_sn" = Option<i32>, Query, description = "one device; all when absent")),
    responses((status = 200, description = "the user's devices are kicked offline", body = Envelope<bool>)))]
pub async fn user_kick(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(caller): Authed,
    UserIdHeader(user): UserIdHeader,
    _: Unused,
) -> Result<Response, ApiError> {
    let ev = s.audit_event(
        &ctx,
        Some(&caller),
        "user.kick",
        user.map(|u| s.audit_key.user_pseudonym(u)),
    );
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || s.kick_user(&caller, user))
    })
    .await?))
}

#[utoipa::path(post, path = "/group/create", tag = "group", request_body = GroupInfoRequest,
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token"),
           ("user_id" = i64, Header, description = "the group owner")),
    responses((status = 200, description = "the new group", body = Envelope<GroupInfoAndSettingsDto>)))]
pub async fn group_create(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(caller): Authed,
    UserIdHeader(owner): UserIdHeader,
    Body(req): Body<GroupInfoRequest>,
) -> Result<Response, ApiError> {
    // The group has no id before the insert: the owner is what the event can name.
    let ev = s.audit_event(
        &ctx,
        Some(&caller),
        "group.create",
        owner.map(|u| s.audit_key.user_pseudonym(u)),
    );
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || s.create_group(&caller, owner, req))
    })
    .await?))
}

#[derive(Debug, Deserialize)]
pub struct GroupQuery {
    group_id: i64,
}

#[utoipa::path(method(post, delete), path = "/group/destroy", tag = "group",
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token"),
           ("group_id" = i64, Query, description = "the group")),
    responses((status = 200, description = "the group, its members and messages are gone (20001: no such group)", body = Envelope<bool>)))]
pub async fn group_destroy(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(caller): Authed,
    Q(q): Q<GroupQuery>,
    _: Unused,
) -> Result<Response, ApiError> {
    let ev = s.audit_event(
        &ctx,
        Some(&caller),
        "group.destroy",
        Some(format!("group:{}", q.group_id)),
    );
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || s.destroy_group(&caller, q.group_id))
    })
    .await?))
}

#[utoipa::path(get, path = "/group/info", tag = "group",
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token"),
           ("group_id" = i64, Query, description = "the group")),
    responses((status = 200, description = "the group", body = Envelope<GroupInfoAndSettingsDto>)))]
pub async fn group_info(
    State(s): State<Shared>,
    Authed(caller): Authed,
    Q(q): Q<GroupQuery>,
) -> Result<Response, ApiError> {
    Ok(ok(
        blocking(&s, move |s| s.group_info(&caller, q.group_id)).await?
    ))
}

#[derive(Debug, Deserialize)]
pub struct MemberQuery {
    group_id: i64,
    cursor: Option<String>,
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/group/member_list", tag = "group",
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token"),
           ("group_id" = i64, Query, description = "the group"),
           ("cursor" = Option<String>, Query, description = "the previous page's cursor"),
           ("limit" = Option<u32>, Query, description = "members per page, 1..=1000 (default 1000)")),
    responses((status = 200, description = "members by user id; `cursor` is set while more follow", body = MemberPage)))]
pub async fn group_member_list(
    State(s): State<Shared>,
    Authed(caller): Authed,
    Q(q): Q<MemberQuery>,
) -> Result<Response, ApiError> {
    let (members, cursor) = blocking(&s, move |s| {
        s.group_members(&caller, q.group_id, q.cursor.as_deref(), q.limit)
    })
    .await?;
    Ok(axum::Json(MemberPage {
        code: codes::OK,
        message: String::new(),
        data: members,
        cursor,
        version: crate::now(),
    })
    .into_response())
}

#[utoipa::path(post, path = "/group/invite", tag = "group", request_body = GroupInvitationRequest,
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token")),
    responses((status = 200, description = "one outcome per user (reason 20017: already a member, 10000: no such user)", body = Envelope<Vec<GroupUserRelationResponse>>)))]
pub async fn group_invite(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(caller): Authed,
    Body(req): Body<GroupInvitationRequest>,
) -> Result<Response, ApiError> {
    let mut ev = s.audit_event(
        &ctx,
        Some(&caller),
        "group.invite",
        Some(format!("group:{}", req.group_id)),
    );
    ev.detail = s.user_targets(&req.user_list);
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || {
            s.change_members(&caller, req.group_id, &req.user_list, true)
        })
    })
    .await?))
}

#[utoipa::path(method(post, delete), path = "/group/kick", tag = "group", request_body = GroupMemberRequest,
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token")),
    responses((status = 200, description = "one outcome per user (reason 20002: not a member)", body = Envelope<Vec<GroupUserRelationResponse>>)))]
pub async fn group_kick(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(caller): Authed,
    Body(req): Body<GroupMemberRequest>,
) -> Result<Response, ApiError> {
    let mut ev = s.audit_event(
        &ctx,
        Some(&caller),
        "group.kick",
        Some(format!("group:{}", req.group_id)),
    );
    ev.detail = s.user_targets(&req.user_list);
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || {
            s.change_members(&caller, req.group_id, &req.user_list, false)
        })
    })
    .await?))
}

#[utoipa::path(method(post, put), path = "/message/send", tag = "message", request_body = MessageRequest,
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token"),
           ("user_id" = Option<i64>, Header, description = "the sender, when from_user_id is absent")),
    responses((status = 200, description = "stored (encrypted at rest), one message per target", body = Envelope<bool>)))]
pub async fn message_send(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(caller): Authed,
    UserIdHeader(user): UserIdHeader,
    Body(req): Body<MessageRequest>,
) -> Result<Response, ApiError> {
    let ev = s.audit_event(
        &ctx,
        Some(&caller),
        "message.send",
        user.map(|u| s.audit_key.user_pseudonym(u)),
    );
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || s.send_message(&caller, user, req))
    })
    .await?))
}

#[derive(Debug, Deserialize)]
pub struct ConversationQuery {
    opposite_id: i64,
    msg_id_start: i64,
    limit: u32,
}

#[utoipa::path(get, path = "/message/conversation", tag = "message",
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token"),
           ("user_id" = i64, Header, description = "whose conversation"),
           ("opposite_id" = i64, Query, description = "the other user, or a group"),
           ("msg_id_start" = i64, Query, description = "older than this message id; 0 for the newest"),
           ("limit" = u32, Query, description = "messages per page, 1..=1000")),
    responses((status = 200, description = "messages, newest first", body = Envelope<SessionMessageList>)))]
pub async fn message_conversation(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(caller): Authed,
    UserIdHeader(user): UserIdHeader,
    Q(q): Q<ConversationQuery>,
) -> Result<Response, ApiError> {
    let ev = s.audit_event(
        &ctx,
        Some(&caller),
        "message.read",
        user.map(|u| s.audit_key.user_pseudonym(u)),
    );
    Ok(ok(blocking(&s, move |s| {
        s.audited(ev, || {
            s.conversation(&caller, user, q.opposite_id, q.msg_id_start, q.limit)
        })
    })
    .await?))
}

#[derive(Debug, Deserialize)]
pub struct AdminUsersQuery {
    after: Option<String>,
    limit: Option<u32>,
    status: Option<String>,
}

#[utoipa::path(get, path = "/admin/users", tag = "admin",
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token"),
           ("after" = Option<String>, Query, description = "the previous page's next_cursor", pattern = "^[0-9]{0,18}$"),
           ("limit" = Option<u32>, Query, description = "users per page, 1..=1000 (default 100)", minimum = 1, maximum = 1000),
           ("status" = Option<String>, Query, description = "active or disabled", pattern = "^(active|disabled)?$")),
    responses(
        (status = 200, description = "one page of IM users by ascending id; next_cursor is set while more follow", body = Envelope<AdminUserPage>),
        (status = 400, description = "bad cursor, limit or status (10002)", body = Envelope<imadm_api::ErrorDetail>)))]
pub async fn admin_users(
    State(s): State<Shared>,
    Authed(caller): Authed,
    Q(q): Q<AdminUsersQuery>,
) -> Result<Response, ApiError> {
    Ok(ok(blocking(&s, move |s| {
        s.admin_users(&caller, q.after.as_deref(), q.limit, q.status.as_deref())
    })
    .await?))
}

#[utoipa::path(get, path = "/admin/users/{user}", tag = "admin",
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token"),
           ("user" = String, Path, description = "a user id or a username")),
    responses(
        (status = 200, description = "the IM user, profile decrypted", body = Envelope<AdminUserDetail>),
        (status = 404, description = "no such user (10000)", body = Envelope<imadm_api::ErrorDetail>)))]
pub async fn admin_user(
    State(s): State<Shared>,
    Authed(caller): Authed,
    P(user): P<String>,
) -> Result<Response, ApiError> {
    Ok(ok(
        blocking(&s, move |s| s.admin_user(&caller, &user)).await?
    ))
}

#[utoipa::path(post, path = "/admin/users/bulk-delete", tag = "admin", request_body = UsersDelete,
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token"),
           ("x-imadm-otp" = Option<String>, Header, description = "step-up TOTP code")),
    responses(
        (status = 200, description = "all listed users deleted with one step-up code (all or nothing)", body = Envelope<UsersDeleted>),
        (status = 401, description = "step-up code needed (50010), wrong (50003) or replayed (50004)", body = Envelope<imadm_api::ErrorDetail>),
        (status = 404, description = "an unknown user id (10000); nothing deleted", body = Envelope<imadm_api::ErrorDetail>)))]
pub async fn admin_users_delete(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(caller): Authed,
    Otp(otp): Otp,
    Body(req): Body<UsersDelete>,
) -> Result<Response, ApiError> {
    let ev = s.audit_event(
        &ctx,
        Some(&caller),
        "user.delete",
        s.user_targets(&req.user_ids),
    );
    let deleted = blocking(&s, move |s| {
        s.audited(ev, || {
            s.delete_users(&ctx, &caller, otp.as_deref(), &req.user_ids)
        })
    })
    .await?;
    Ok(ok(UsersDeleted { deleted }))
}

#[utoipa::path(post, path = "/admin/users/{user}/erase", tag = "admin",
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token"),
           ("x-imadm-otp" = Option<String>, Header, description = "step-up TOTP code"),
           ("user" = String, Path, description = "user id or username")),
    responses(
        (status = 200, description = "profile, message contents and memberships erased (GDPR art. 17); a pseudonymous tombstone remains", body = Envelope<imadm_api::im::UserErased>),
        (status = 401, description = "step-up code needed (50010), wrong (50003) or replayed (50004)", body = Envelope<imadm_api::ErrorDetail>),
        (status = 404, description = "unknown or already erased user (10000)", body = Envelope<imadm_api::ErrorDetail>)))]
pub async fn admin_user_erase(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(caller): Authed,
    Otp(otp): Otp,
    P(user): P<String>,
    _: Unused,
) -> Result<Response, ApiError> {
    Ok(ok(blocking(&s, move |s| {
        caller.require("user:delete")?;
        let id = s.admin_user(&caller, &user)?.user_id;
        let ev = s.audit_event(
            &ctx,
            Some(&caller),
            "user.erase",
            Some(s.audit_key.user_pseudonym(id)),
        );
        s.audited(ev, || s.erase_user(&ctx, &caller, otp.as_deref(), id))
    })
    .await?))
}

#[utoipa::path(get, path = "/admin/users/{user}/export", tag = "admin",
    params(("app_id" = String, Header, description = "application id"),
           ("access-token" = String, Header, description = "access token"),
           ("user" = String, Path, description = "user id or username")),
    responses(
        (status = 200, description = "everything held about the user (GDPR art. 15), streamed as one JSON document (docs/gdpr-export.md); recorded as `user.export` before the first byte", content_type = "application/json", body = imadm_api::im::UserExport),
        (status = 403, description = "the caller lacks `user:export` (10010)", body = Envelope<imadm_api::ErrorDetail>),
        (status = 404, description = "unknown or erased user (10000)", body = Envelope<imadm_api::ErrorDetail>),
        (status = 500, description = "the export could not be recorded in the audit log (50099); nothing was sent", body = Envelope<imadm_api::ErrorDetail>)))]
pub async fn admin_user_export(
    State(s): State<Shared>,
    ctx: RequestCtx,
    Authed(caller): Authed,
    P(user): P<String>,
) -> Result<Response, ApiError> {
    let (ctx2, caller2) = (ctx.clone(), caller.clone());
    // Fail-closed: recorded (or refused) before a byte of the document exists.
    let start = blocking(&s, move |s| s.begin_user_export(&ctx2, &caller2, &user)).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(8);
    let state = s.clone();
    tokio::task::spawn_blocking(move || {
        let out = std::io::BufWriter::with_capacity(64 << 10, super::ChannelWriter(tx.clone()));
        if let Err(e) = state.write_user_export(&start, out) {
            tracing::error!(error = %e, "user export failed");
            // Breaking the body: the client sees a truncated, invalid document.
            let _ = tx.blocking_send(Err(std::io::Error::other("user export failed")));
            let mut ev =
                state.audit_event(&ctx, Some(&caller), "user.export", Some(start.pseudonym));
            ev.outcome = "failure".into();
            ev.detail = Some("the export stream broke off".into());
            if let Err(err) = state.store.append_audit(&ev) {
                tracing::error!(error = %err, "cannot record a failed export in the audit log");
            }
        }
    });
    let mut resp = (StatusCode::OK, super::channel_body(rx)).into_response();
    let h = resp.headers_mut();
    h.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}
