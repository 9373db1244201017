//! The rules of the Lanying-compatible IM data: who may do what to IM users, groups and
//! messages, what a valid username is, and how sensitive fields are sealed at rest.
//!
//! Every method checks the caller's permission first (`user:read`, `user:write`,
//! `user:delete`, `message:read`), so no handler can forget it; deleting users also
//! needs a step-up TOTP code. Errors carry Lanying's codes (10000 user not found, 10002
//! bad parameter, 10004 user exists, 20001 group not found, ...). Passwords are argon2id
//! hashed before the store sees them; profile fields, group names and descriptions and
//! message contents are sealed with the server key, with `table:id:column` as associated
//! data (see `store::im::aad`), so a ciphertext moved to another row fails to open.

use imadm_api::codes;
use imadm_api::im::limits;
use imadm_api::im::{
    self as wire, AdminUser, AdminUserDetail, AdminUserPage, BasicUserInfo, BatchRegisterUserDto,
    GroupInfoAndSettingsDto, GroupInfoRequest, GroupMember, GroupUserRelationResponse,
    MessageRequest, SessionMessage, SessionMessageList, UserProfileDto, UserRegisterRequest,
    UserSettings, Xid,
};

use crate::auth::{Caller, RequestCtx};
use crate::error::ApiError;
use crate::store::im::{GROUP_ID_BASE, ImGroup, ImUser, MemberOutcome, NewImUser, aad};
use crate::{AppState, now, secrets};
use std::sync::Arc;

/// Most rows one batch registration may carry.
pub const MAX_BATCH: usize = 1000;
/// Most rows one keyset page may carry.
pub const MAX_PAGE: u32 = 1000;
/// Lanying's `/user/list` page size bound.
pub const MAX_LANYING_PAGE: u32 = 200;
const GROUP_CAPACITY: i64 = 2000;

/// `Err` (for a 10002) when `value` is longer than `max` characters
/// (`imadm_api::im::limits`), naming the field as the request does.
fn check_len(field: &str, value: &str, max: usize) -> Result<(), String> {
    // Counting stops past the limit: a 1 MiB value costs no more than a short one.
    let n = value.chars().take(max + 1).count();
    if n > max {
        return Err(format!(
            "{field} is longer than {max} characters, the most this server accepts"
        ));
    }
    Ok(())
}

fn check_len_opt(field: &str, value: Option<&str>, max: usize) -> Result<(), String> {
    value.map_or(Ok(()), |v| check_len(field, v, max))
}

/// The hint of a 10002 for a field over its limit.
const LIMITS_HINT: &str = "shorten it; every field's limit is in /openapi.json (maxLength)";

/// Lanying's username rule: letters, digits, underscore (and CJK ideographs), not only
/// digits, not starting with `maxim` or `mta`. `Err` says what is wrong, for a 10002.
pub fn check_username(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the username is empty".into());
    }
    if name.chars().nth(limits::USERNAME).is_some() {
        return Err(format!(
            "the username is longer than {} characters",
            limits::USERNAME
        ));
    }
    let allowed =
        |c: char| c.is_ascii_alphanumeric() || c == '_' || ('\u{4e00}'..='\u{9fa5}').contains(&c);
    if let Some(bad) = name.chars().find(|c| !allowed(*c)) {
        return Err(format!(
            "the username {name:?} contains {bad:?}; only letters, digits and underscore are allowed"
        ));
    }
    if name.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "the username {name:?} is all digits; it needs at least one letter or underscore"
        ));
    }
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("maxim") || lower.starts_with("mta") {
        return Err(format!(
            "the username {name:?} starts with a reserved prefix (maxim, mta)"
        ));
    }
    Ok(())
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(codes::BAD_REQUEST, message)
}

fn user_not_found(what: impl std::fmt::Display) -> ApiError {
    ApiError::new(codes::USER_NOT_FOUND, format!("no IM user {what}"))
        .hint("list users with `imadm user list`; USER is a user id or a username")
}

fn group_not_found(id: i64) -> ApiError {
    ApiError::new(wire::GROUP_NOT_FOUND, format!("no group {id}"))
}

/// Prefix of an erased user's tombstone username. Usernames cannot contain `-`, so no
/// registered user can ever carry it.
pub const ERASED_PREFIX: &str = "erased-";

pub(crate) fn status_name(username: &str, disabled: bool) -> &'static str {
    if username.starts_with(ERASED_PREFIX) {
        "erased"
    } else if disabled {
        "disabled"
    } else {
        "active"
    }
}

/// Lanying's name of a message content type (unknown ones read as `TEXT`).
pub(crate) fn content_type_name(t: i32) -> &'static str {
    [
        "TEXT", "IMAGE", "AUDIO", "VIDEO", "FILE", "LOCATION", "COMMAND", "FORWARD",
    ]
    .get(t as usize)
    .copied()
    .unwrap_or("TEXT")
}

/// Everything about one row, minus the secret.
fn check_register(r: &UserRegisterRequest) -> Result<(), String> {
    check_username(&r.username)?;
    if r.password.is_empty() {
        return Err(format!("the password for {:?} is empty", r.username));
    }
    Ok(())
}

/// Each field's length (`imadm_api::im::limits`).
fn check_lengths(r: &UserRegisterRequest) -> Result<(), String> {
    check_len("password", &r.password, limits::PASSWORD)?;
    check_len_opt("nick_name", r.nick_name.as_deref(), limits::NICK_NAME)?;
    check_len_opt("email", r.email.as_deref(), limits::EMAIL)?;
    check_len_opt("mobile", r.mobile.as_deref(), limits::MOBILE)?;
    Ok(())
}

impl AppState {
    fn sealer(&self) -> impl Fn(&[u8], &str) -> Vec<u8> + Sync + '_ {
        move |p: &[u8], a: &str| self.key.seal(p, a)
    }

    pub(crate) fn open_text(
        &self,
        sealed: Option<&[u8]>,
        aad: &str,
    ) -> Result<Option<String>, ApiError> {
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        if sealed.is_empty() {
            // Wiped by an erasure (GDPR art. 17): nothing left to open.
            return Ok(Some(String::new()));
        }
        let plain = self.key.open(sealed, aad).ok_or_else(|| {
            tracing::error!(aad, "sealed value does not open with the server key");
            ApiError::new(
                codes::INTEGRITY,
                "a stored value does not decrypt with the server key",
            )
            .hint("the server key does not match this database, or the row was tampered with")
        })?;
        Ok(Some(String::from_utf8_lossy(&plain).into_owned()))
    }

    fn user_or_404(&self, id: i64) -> Result<ImUser, ApiError> {
        self.im.im_user(id)?.ok_or_else(|| user_not_found(id))
    }

    fn group_or_404(&self, id: i64) -> Result<ImGroup, ApiError> {
        self.im.im_group(id)?.ok_or_else(|| group_not_found(id))
    }

    /// The `user_id` header a Lanying endpoint acts on: required, must exist.
    fn subject(&self, user_id: Option<i64>) -> Result<ImUser, ApiError> {
        let id = user_id.ok_or_else(|| {
            bad("this endpoint needs the user_id header naming the IM user")
                .hint("send the header user_id: <id> (see `imadm user list`)")
        })?;
        self.user_or_404(id)
    }

    /// Hash and store; `Err` rows are returned as failed outcomes, never dropped.
    pub fn register_users(
        &self,
        caller: &Caller,
        rows: Vec<UserRegisterRequest>,
    ) -> Result<Vec<BatchRegisterUserDto>, ApiError> {
        caller.require("user:write")?;
        if rows.len() > MAX_BATCH {
            return Err(bad(format!(
                "a batch carries at most {MAX_BATCH} users, this one {}",
                rows.len()
            ))
            .hint("split the list into smaller batches"));
        }
        let mut out: Vec<Option<BatchRegisterUserDto>> = vec![None; rows.len()];
        let mut valid = Vec::new();
        let mut valid_at = Vec::new();
        for (i, r) in rows.into_iter().enumerate() {
            match check_register(&r).and_then(|()| check_lengths(&r)) {
                Ok(()) => {
                    valid.push(NewImUser {
                        password_hash: secrets::hash_password(&r.password),
                        username: r.username,
                        nick_name: r.nick_name,
                        email: r.email,
                        mobile: r.mobile,
                    });
                    valid_at.push(i);
                }
                Err(reason) => {
                    out[i] = Some(BatchRegisterUserDto {
                        username: r.username,
                        success: false,
                        user_id: None,
                        reason: Some(reason),
                        code: Some(codes::BAD_REQUEST),
                    })
                }
            }
        }
        let seal = self.sealer();
        // The event names the new users (pseudonyms), known only inside the insert.
        let name = |ids: &[i64]| crate::audit::amend_pending(|e| e.target = self.user_targets(ids));
        let ids = self.im.create_im_users(&valid, &seal, now(), &name)?;
        for ((u, id), i) in valid.into_iter().zip(ids).zip(valid_at) {
            out[i] = Some(match id {
                Some(id) => BatchRegisterUserDto {
                    username: u.username,
                    success: true,
                    user_id: Some(id),
                    reason: None,
                    code: None,
                },
                None => BatchRegisterUserDto {
                    reason: Some(format!("the username {:?} already exists", u.username)),
                    username: u.username,
                    success: false,
                    user_id: None,
                    code: Some(codes::USER_EXISTS),
                },
            });
        }
        Ok(out.into_iter().flatten().collect())
    }

    pub fn register_user(
        &self,
        caller: &Caller,
        req: UserRegisterRequest,
    ) -> Result<UserSettings, ApiError> {
        caller.require("user:write")?;
        check_register(&req).map_err(|m| {
            bad(m).hint("usernames are letters, digits and underscore, not all digits, not starting with maxim/mta")
        })?;
        check_lengths(&req).map_err(|m| bad(m).hint(LIMITS_HINT))?;
        let r = self.register_users(caller, vec![req])?.remove(0);
        match r.user_id {
            Some(user_id) => Ok(UserSettings {
                user_id,
                ..Default::default()
            }),
            None => Err(ApiError::new(
                r.code.unwrap_or(codes::USER_EXISTS),
                r.reason.unwrap_or_default(),
            )
            .hint("choose another username, or `imadm user show` the existing one")),
        }
    }

    /// `GET /user/list`. The page is read on the async runtime where the backend can
    /// (`ImStore::im_users_page_async`: no thread hand-off per request on the hottest
    /// read), else on a blocking thread.
    pub async fn lanying_user_list(
        self: &Arc<Self>,
        caller: &Caller,
        page_num: Option<u32>,
        page_size: Option<u32>,
    ) -> Result<Vec<BasicUserInfo>, ApiError> {
        caller.require("user:read")?;
        let num = page_num.unwrap_or(1);
        let size = page_size.unwrap_or(50);
        if num < 1 || !(1..=MAX_LANYING_PAGE).contains(&size) {
            return Err(bad(format!(
                "page_num must be at least 1 and page_size between 1 and {MAX_LANYING_PAGE}"
            )));
        }
        let read_async = match self.im.im_users_page_async(num, size) {
            Some(read) => read.await,
            None => None,
        };
        let page = match read_async {
            Some(page) => page,
            None => crate::blocking(self, move |s| Ok(s.im.im_users_page(num, size)?)).await?,
        };
        Ok(page
            .into_iter()
            .map(|u| BasicUserInfo {
                user_id: u.user_id,
                username: u.username,
                status: i32::from(u.disabled),
            })
            .collect())
    }

    pub fn user_profile(
        &self,
        caller: &Caller,
        user_id: Option<i64>,
    ) -> Result<UserProfileDto, ApiError> {
        caller.require("user:read")?;
        let u = self.subject(user_id)?;
        let d = self.detail(u)?;
        Ok(UserProfileDto {
            user_id: d.user_id,
            username: d.username,
            nick_name: d.nick_name,
            email: d.email,
            mobile: d.mobile,
        })
    }

    fn detail(&self, u: ImUser) -> Result<AdminUserDetail, ApiError> {
        let id = u.user_id;
        Ok(AdminUserDetail {
            nick_name: self.open_text(u.nick_name.as_deref(), &aad("im_users", id, "nick_name"))?,
            email: self.open_text(u.email.as_deref(), &aad("im_users", id, "email"))?,
            mobile: self.open_text(u.mobile.as_deref(), &aad("im_users", id, "mobile"))?,
            groups: self.im.im_user_group_count(id)?,
            user_id: id,
            status: status_name(&u.username, u.disabled).into(),
            username: u.username,
            created_at: u.created_at,
            updated_at: u.updated_at,
            kicked_at: u.kicked_at,
        })
    }

    pub fn set_users_disabled(
        &self,
        caller: &Caller,
        ids: &[i64],
        disabled: bool,
    ) -> Result<bool, ApiError> {
        caller.require("user:write")?;
        if ids.is_empty() {
            return Err(bad("the list of user ids is empty"));
        }
        match self.im.set_im_users_disabled(ids, disabled, now())? {
            Ok(()) => Ok(true),
            Err(id) => Err(user_not_found(id).hint("nothing was changed")),
        }
    }

    pub fn delete_users(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        otp: Option<&str>,
        ids: &[i64],
    ) -> Result<u64, ApiError> {
        caller.require("user:delete")?;
        if ids.is_empty() {
            return Err(bad("the list of user ids is empty"));
        }
        // Check existence before spending the caller's TOTP code on a typo.
        let mut names = Vec::with_capacity(ids.len());
        for id in ids {
            names.push(self.user_or_404(*id)?.username);
        }
        // A passkey approval page shows the users by name (the first few); the audit log
        // keeps naming them by pseudonym only.
        let shown = match names.len() {
            n if n > 5 => format!("{} and {} more", names[..5].join(", "), n - 5),
            _ => names.join(", "),
        };
        let shown = format!("delete IM users {shown}");
        self.step_up_showing(ctx, caller, otp, "deleting users", Some(&shown))?;
        match self.im.delete_im_users(ids)? {
            Ok(n) => {
                tracing::info!(operator = %caller.operator.username, count = n, "IM users deleted");
                Ok(n)
            }
            Err(id) => Err(user_not_found(id).hint("nothing was deleted")),
        }
    }

    /// GDPR art. 17: wipe the contents of every message the user sent, remove their group
    /// memberships, and turn their row into a pseudonymous tombstone, in one transaction;
    /// then have SQLite forget the old bytes (secure_delete is on; the WAL is truncated).
    pub fn erase_user(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        otp: Option<&str>,
        user_id: i64,
    ) -> Result<imadm_api::im::UserErased, ApiError> {
        caller.require("user:delete")?;
        let u = self.user_or_404(user_id)?;
        if u.username.starts_with(ERASED_PREFIX) {
            return Err(ApiError::new(
                codes::USER_NOT_FOUND,
                format!("IM user {user_id} is already erased"),
            ));
        }
        self.step_up(ctx, caller, otp, "erasing a user")?;
        let pseudonym = self.audit_key.user_pseudonym(user_id);
        let tombstone = format!("{ERASED_PREFIX}{}", pseudonym.trim_start_matches("user:"));
        let (messages, memberships) = self
            .im
            .erase_im_user(user_id, &tombstone, crate::now())?
            .ok_or_else(|| user_not_found(user_id))?;
        Ok(imadm_api::im::UserErased {
            user_id,
            pseudonym,
            messages_erased: messages,
            memberships_removed: memberships,
        })
    }

    pub fn delete_user(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        otp: Option<&str>,
        user_id: Option<i64>,
    ) -> Result<bool, ApiError> {
        caller.require("user:delete")?;
        let u = self.subject(user_id)?;
        self.delete_users(ctx, caller, otp, &[u.user_id])?;
        Ok(true)
    }

    pub fn change_user_password(
        &self,
        caller: &Caller,
        user_id: Option<i64>,
        password: &str,
    ) -> Result<bool, ApiError> {
        caller.require("user:write")?;
        let u = self.subject(user_id)?;
        if password.is_empty() {
            return Err(bad("the new password is empty"));
        }
        check_len("password", password, limits::PASSWORD).map_err(|m| bad(m).hint(LIMITS_HINT))?;
        let hash = secrets::hash_password(password);
        if !self.im.set_im_password(u.user_id, &hash, now())? {
            return Err(user_not_found(u.user_id));
        }
        Ok(true)
    }

    pub fn kick_user(&self, caller: &Caller, user_id: Option<i64>) -> Result<bool, ApiError> {
        caller.require("user:write")?;
        let u = self.subject(user_id)?;
        if !self.im.kick_im_user(u.user_id, now())? {
            return Err(user_not_found(u.user_id));
        }
        Ok(true)
    }

    // --- admin extension ---

    pub fn admin_users(
        &self,
        caller: &Caller,
        after: Option<&str>,
        limit: Option<u32>,
        status: Option<&str>,
    ) -> Result<AdminUserPage, ApiError> {
        caller.require("user:read")?;
        let after: i64 = match after.filter(|a| !a.is_empty()) {
            None => 0,
            Some(a) => a.parse().map_err(|_| {
                bad(format!("after={a:?} is not a cursor"))
                    .hint("pass the next_cursor of the previous page")
            })?,
        };
        let limit = limit.unwrap_or(100);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(bad(format!(
                "limit must be between 1 and {MAX_PAGE}, not {limit}"
            )));
        }
        let disabled = match status {
            None | Some("") => None,
            Some("active") => Some(false),
            Some("disabled") => Some(true),
            Some(other) => {
                return Err(bad(format!("status={other:?} is not active or disabled")));
            }
        };
        // One more than asked tells whether another page follows, without a COUNT.
        let mut rows = self.im.im_users_after(after, limit + 1, disabled)?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = more
            .then(|| rows.last().map(|u| u.user_id.to_string()))
            .flatten();
        Ok(AdminUserPage {
            items: rows
                .into_iter()
                .map(|u| AdminUser {
                    user_id: u.user_id,
                    status: status_name(&u.username, u.disabled).into(),
                    username: u.username,
                    created_at: u.created_at,
                })
                .collect(),
            next_cursor,
        })
    }

    /// `USER` as the CLI takes it: all digits is an id (usernames never are), else a
    /// username.
    pub fn admin_user(&self, caller: &Caller, user: &str) -> Result<AdminUserDetail, ApiError> {
        caller.require("user:read")?;
        let found = match user.parse::<i64>() {
            Ok(id) => self.im.im_user(id)?,
            Err(_) => self.im.im_user_by_username(user)?,
        };
        self.detail(found.ok_or_else(|| user_not_found(format!("{user:?}")))?)
    }

    // --- groups ---

    fn group_dto(&self, g: ImGroup) -> Result<GroupInfoAndSettingsDto, ApiError> {
        let id = g.group_id;
        Ok(GroupInfoAndSettingsDto {
            group_id: id,
            name: self
                .open_text(Some(&g.name), &aad("im_groups", id, "name"))?
                .unwrap_or_default(),
            description: self
                .open_text(
                    g.description.as_deref(),
                    &aad("im_groups", id, "description"),
                )?
                .unwrap_or_default(),
            owner_id: g.owner_id,
            kind: g.kind,
            status: 0,
            count: g.members,
            capacity: GROUP_CAPACITY,
            created_at: g.created_at * 1000,
            updated_at: g.updated_at * 1000,
        })
    }

    pub fn create_group(
        &self,
        caller: &Caller,
        owner: Option<i64>,
        req: GroupInfoRequest,
    ) -> Result<GroupInfoAndSettingsDto, ApiError> {
        caller.require("user:write")?;
        let owner = self.subject(owner)?;
        let name = req
            .name
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| bad("the group needs a name"))?;
        check_len("name", &name, limits::GROUP_NAME)
            .and_then(|()| {
                check_len_opt(
                    "description",
                    req.description.as_deref(),
                    limits::GROUP_DESCRIPTION,
                )
            })
            .map_err(|m| bad(m).hint(LIMITS_HINT))?;
        let kind = req.kind.unwrap_or(0);
        if !matches!(kind, 0 | 2) {
            return Err(bad(format!(
                "group type {kind} is unknown (0 private group, 2 chatroom)"
            )));
        }
        let members = req.user_list.unwrap_or_default();
        let seal = self.sealer();
        let (id, unknown) = self.im.create_im_group(
            owner.user_id,
            kind,
            &name,
            req.description.as_deref(),
            &members,
            &seal,
            now(),
        )?;
        if !unknown.is_empty() {
            tracing::info!(group = id, unknown = ?unknown, "unknown users left out of a new group");
        }
        self.group_dto(self.group_or_404(id)?)
    }

    pub fn group_info(
        &self,
        caller: &Caller,
        group_id: i64,
    ) -> Result<GroupInfoAndSettingsDto, ApiError> {
        caller.require("user:read")?;
        self.group_dto(self.group_or_404(group_id)?)
    }

    pub fn destroy_group(&self, caller: &Caller, group_id: i64) -> Result<bool, ApiError> {
        caller.require("user:write")?;
        if !self.im.destroy_im_group(group_id)? {
            return Err(group_not_found(group_id));
        }
        Ok(true)
    }

    pub fn group_members(
        &self,
        caller: &Caller,
        group_id: i64,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<(Vec<GroupMember>, Option<String>), ApiError> {
        caller.require("user:read")?;
        self.group_or_404(group_id)?;
        let after: i64 = match cursor.filter(|c| !c.is_empty()) {
            None => 0,
            Some(c) => c
                .parse()
                .map_err(|_| bad(format!("cursor={c:?} is not a cursor of this group")))?,
        };
        let limit = limit.unwrap_or(1000);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(bad(format!("limit must be between 1 and {MAX_PAGE}")));
        }
        let mut rows = self.im.im_members_after(group_id, after, limit + 1)?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let cursor = more
            .then(|| rows.last().map(|(u, _)| u.to_string()))
            .flatten();
        Ok((
            rows.into_iter()
                .map(|(user_id, joined)| GroupMember {
                    user_id,
                    join_time: joined * 1000,
                    display_name: None,
                })
                .collect(),
            cursor,
        ))
    }

    pub fn change_members(
        &self,
        caller: &Caller,
        group_id: i64,
        users: &[i64],
        add: bool,
    ) -> Result<Vec<GroupUserRelationResponse>, ApiError> {
        caller.require("user:write")?;
        self.group_or_404(group_id)?;
        if users.is_empty() || users.len() > MAX_BATCH {
            return Err(bad(format!(
                "user_list must name between 1 and {MAX_BATCH} users"
            )));
        }
        let outcomes = if add {
            self.im.add_im_members(group_id, users, now())?
        } else {
            self.im.remove_im_members(group_id, users)?
        };
        Ok(users
            .iter()
            .zip(outcomes)
            .map(|(user_id, o)| {
                let reason = match o {
                    MemberOutcome::Done => None,
                    MemberOutcome::UnknownUser => {
                        Some(format!("{}: user does not exist", codes::USER_NOT_FOUND))
                    }
                    MemberOutcome::AlreadyMember => Some(format!(
                        "{}: user is already a group member",
                        wire::ALREADY_A_MEMBER
                    )),
                    MemberOutcome::NotMember => Some(format!(
                        "{}: user is not a group member",
                        wire::NOT_A_MEMBER
                    )),
                    MemberOutcome::IsOwner => {
                        Some("the group owner cannot be kicked out".to_owned())
                    }
                };
                GroupUserRelationResponse {
                    user_id: *user_id,
                    result: if reason.is_none() { "success" } else { "fail" }.into(),
                    reason,
                }
            })
            .collect())
    }

    // --- messages ---

    pub fn send_message(
        &self,
        caller: &Caller,
        header_user: Option<i64>,
        req: MessageRequest,
    ) -> Result<bool, ApiError> {
        caller.require("user:write")?;
        let from = self.subject(req.from_user_id.or(header_user)).map_err(|e| {
            if e.code == codes::BAD_REQUEST {
                bad("the message needs a sender: from_user_id in the body or the user_id header")
            } else {
                e
            }
        })?;
        let group = match req.kind {
            1 => false,
            2 => true,
            other => return Err(bad(format!("type {other} is unknown (1 user, 2 group)"))),
        };
        if !(0..=7).contains(&req.content_type) {
            return Err(bad(format!(
                "content_type {} is unknown (0..=7)",
                req.content_type
            )));
        }
        check_len("content", &req.content, limits::MESSAGE_CONTENT)
            .map_err(|m| bad(m).hint(LIMITS_HINT))?;
        if req.targets.is_empty() || req.targets.len() > MAX_BATCH {
            return Err(bad(format!(
                "targets must name between 1 and {MAX_BATCH} recipients"
            )));
        }
        for t in &req.targets {
            if group {
                self.group_or_404(*t)?;
            } else {
                self.user_or_404(*t)?;
            }
        }
        let seal = self.sealer();
        self.im.send_im_messages(
            from.user_id,
            group,
            &req.targets,
            req.content_type,
            &req.content,
            &seal,
            now(),
        )?;
        Ok(true)
    }

    pub fn conversation(
        &self,
        caller: &Caller,
        me: Option<i64>,
        opposite: i64,
        msg_id_start: i64,
        limit: u32,
    ) -> Result<SessionMessageList, ApiError> {
        caller.require("message:read")?;
        let me = self.subject(me)?;
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(bad(format!("limit must be between 1 and {MAX_PAGE}")));
        }
        let group = opposite >= GROUP_ID_BASE;
        if group {
            self.group_or_404(opposite)?;
        } else {
            self.user_or_404(opposite)?;
        }
        let before = (msg_id_start > 0).then_some(msg_id_start);
        let mut rows = self
            .im
            .im_conversation(me.user_id, opposite, group, before, limit + 1)?;
        let is_last = rows.len() <= limit as usize;
        rows.truncate(limit as usize);
        let next_msg_id = if is_last {
            None
        } else {
            rows.last().map(|m| m.msg_id)
        };
        let messages = rows
            .into_iter()
            .map(|m| {
                let content = self
                    .open_text(Some(&m.content), &aad("im_messages", m.msg_id, "content"))?
                    .unwrap_or_default();
                Ok(SessionMessage {
                    msg_id: m.msg_id,
                    from_xid: Xid {
                        uid: m.from_id,
                        device_sn: 0,
                    },
                    to_xid: Xid {
                        uid: m.to_id,
                        device_sn: 0,
                    },
                    content,
                    ctype: content_type_name(m.content_type).into(),
                    timestamp: m.created_at * 1000,
                    status: "DELIVERED".into(),
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok(SessionMessageList {
            messages,
            is_last,
            next_msg_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_lanying_rules() {
        for ok in ["alice", "a_1", "_", "Bob99", "user_2024", "张三", "x1"] {
            assert!(check_username(ok).is_ok(), "{ok} should be accepted");
        }
        for (bad, why) in [
            ("", "empty"),
            ("12345", "all digits"),
            ("maximus", "reserved"),
            ("MTA_bot", "reserved"),
            ("mtauser", "reserved"),
            ("a-b", "contains"),
            ("a b", "contains"),
            ("a.b", "contains"),
            ("é", "contains"),
        ] {
            let e = check_username(bad).expect_err(bad);
            assert!(e.contains(why), "{bad}: {e}");
        }
        assert!(check_username(&"a".repeat(65)).is_err());
        assert!(check_username(&"a".repeat(64)).is_ok());
    }

    fn row(field: &str, len: usize) -> UserRegisterRequest {
        // Multi-byte characters: limits count characters, not bytes.
        let v = "é".repeat(len);
        let mut r = UserRegisterRequest {
            username: "alice".into(),
            password: "pw".into(),
            ..Default::default()
        };
        match field {
            "password" => r.password = v,
            "nick_name" => r.nick_name = Some(v),
            "email" => r.email = Some(v),
            "mobile" => r.mobile = Some(v),
            _ => unreachable!(),
        }
        r
    }

    #[test]
    fn profile_fields_are_refused_past_their_limit_naming_field_and_limit() {
        for (field, max) in [
            ("password", limits::PASSWORD),
            ("nick_name", limits::NICK_NAME),
            ("email", limits::EMAIL),
            ("mobile", limits::MOBILE),
        ] {
            assert_eq!(
                check_lengths(&row(field, max)),
                Ok(()),
                "{field} at its limit"
            );
            let e = check_lengths(&row(field, max + 1)).expect_err(field);
            assert!(
                e.starts_with(field) && e.contains(&format!("{max} characters")),
                "{e}"
            );
        }
        // The 2 MB nick name.
        let mut r = row("nick_name", 1);
        r.nick_name = Some("x".repeat(2 << 20));
        assert!(check_lengths(&r).unwrap_err().starts_with("nick_name"));
        assert!(
            check_len(
                "content",
                &"m".repeat(limits::MESSAGE_CONTENT),
                limits::MESSAGE_CONTENT
            )
            .is_ok()
        );
        assert!(
            check_len(
                "name",
                &"g".repeat(limits::GROUP_NAME + 1),
                limits::GROUP_NAME
            )
            .is_err()
        );
    }

    /// `/openapi.json` announces the limits the service layer applies (utoipa's
    /// `max_length` takes only literals, so the two are written twice).
    #[test]
    fn openapi_max_lengths_are_the_enforced_limits() {
        use utoipa::OpenApi;
        let doc = serde_json::to_value(crate::http::openapi::ApiDoc::openapi()).unwrap();
        let schemas = &doc["components"]["schemas"];
        for (schema, field, max) in [
            ("UserRegisterRequest", "username", limits::USERNAME),
            ("UserRegisterRequest", "password", limits::PASSWORD),
            ("UserRegisterRequest", "nick_name", limits::NICK_NAME),
            ("UserRegisterRequest", "email", limits::EMAIL),
            ("UserRegisterRequest", "mobile", limits::MOBILE),
            ("PasswordDto", "password", limits::PASSWORD),
            ("GroupInfoRequest", "name", limits::GROUP_NAME),
            ("GroupInfoRequest", "description", limits::GROUP_DESCRIPTION),
            ("MessageRequest", "content", limits::MESSAGE_CONTENT),
        ] {
            assert_eq!(
                schemas[schema]["properties"][field]["maxLength"], max,
                "{schema}.{field}: {}",
                schemas[schema]["properties"][field]
            );
        }
    }
}
