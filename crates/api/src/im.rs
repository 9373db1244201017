//! Bodies of the Lanying-compatible IM endpoints (`/user/*`, `/group/*`, `/message/*`)
//! and of our keyset-paginated user listing under `/admin/users`.
//!
//! Field names and shapes follow Lanying's own Swagger document
//! (`server-api.en.json`), so a script written against Lanying decodes our answers and
//! vice versa. Where we add a field Lanying does not have (profile fields at
//! registration, `status` as text in the admin listing), it is optional and says so.
//! Times in the Lanying bodies are milliseconds, as in Lanying; the `/admin/` bodies use
//! seconds like the rest of our admin API.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::UnixTime;

/// Header naming the IM user a Lanying request acts on (admin token + `user_id`).
pub const HEADER_USER_ID: &str = "user_id";

/// The longest text the server stores in each IM field, in characters (Unicode scalar
/// values, as JSON Schema's `maxLength` counts them). Lanying documents no lengths (only
/// the username pattern), so these are ours. Fields the server accepts but does not keep
/// (a group's avatar, a message's attachment/config/ext, an invitation's reason) are
/// bounded only by the request body limit; the server refuses longer values with 10002
/// naming the field and the limit. The `#[schema(max_length)]` annotations below repeat
/// them (utoipa takes only literals; a server test holds the two equal).
pub mod limits {
    /// Usernames: the bound the username rule always had.
    pub const USERNAME: usize = 64;
    /// OWASP ASVS 2.1.2: at least 64 characters permitted, more than 128 denied.
    pub const PASSWORD: usize = 128;
    pub const NICK_NAME: usize = 256;
    /// The longest forward path RFC 5321 allows (256 octets with the angle brackets).
    pub const EMAIL: usize = 254;
    /// E.164 has at most 15 digits; room for `+`, spaces and an extension.
    pub const MOBILE: usize = 32;
    pub const GROUP_NAME: usize = 256;
    pub const GROUP_DESCRIPTION: usize = 4096;
    /// 64 Ki characters: the large message bodies the store is sized for (its 16 KiB
    /// pages, bench/backup.sh) still fit; files go as attachments.
    pub const MESSAGE_CONTENT: usize = 65536;
}

// Lanying group error codes (server-api-quick-start, "Error code description"). They
// live here rather than in `codes` because only the group endpoints answer with them and
// the CLI never sees them.
/// Group does not exist.
pub const GROUP_NOT_FOUND: i32 = 20001;
/// The user is not a group member.
pub const NOT_A_MEMBER: i32 = 20002;
/// User is already a group member.
pub const ALREADY_A_MEMBER: i32 = 20017;

/// `POST /user/register/v2`, and one item of `/user/register/batch`. Lanying takes
/// `username` and `password`; the profile fields are our optional extension (stored
/// encrypted).
#[derive(Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct UserRegisterRequest {
    #[schema(max_length = 64)]
    pub username: String,
    #[schema(max_length = 128)]
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 256)]
    pub nick_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 254)]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 32)]
    pub mobile: Option<String>,
}

impl std::fmt::Debug for UserRegisterRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRegisterRequest")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Lanying's `ListRequest«T»`: `{"list": [...]}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListRequest<T> {
    pub list: Vec<T>,
}

/// Lanying's `UserSettings`, the answer to a registration (defaults for a new user).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct UserSettings {
    pub user_id: i64,
    #[serde(default)]
    pub auth_mode: i32,
    #[serde(default)]
    pub auto_download: bool,
    #[serde(default)]
    pub group_confirm: bool,
    #[serde(default)]
    pub no_push: bool,
    #[serde(default)]
    pub no_push_detail: bool,
    #[serde(default)]
    pub no_sounds: bool,
    #[serde(default)]
    pub vibratory: bool,
    #[serde(default)]
    pub no_push_start_hour: i32,
    #[serde(default)]
    pub no_push_end_hour: i32,
}

/// Lanying's `BatchRegisterUserDto`: the outcome of one row of a batch registration.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BatchRegisterUserDto {
    pub username: String,
    pub success: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    /// Why the row failed; empty on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Our extension: the Lanying error code of a failed row (10002 bad parameter, 10004
    /// user exists), so a client can tell a conflict from a malformed row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
}

/// Lanying's "Basic user information" (`GET /user/list`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BasicUserInfo {
    pub user_id: i64,
    pub username: String,
    /// 0 normal, 1 banned (disabled).
    pub status: i32,
}

/// Lanying's `UserProfileDto` (`GET /user/profile`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct UserProfileDto {
    pub user_id: i64,
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
}

/// Lanying's `PasswordDto` (`POST /user/change_password_admin`).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct PasswordDto {
    #[schema(max_length = 128)]
    pub password: String,
}

impl std::fmt::Debug for PasswordDto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordDto { <redacted> }")
    }
}

/// Lanying's `UserDeleteRequest`: the password is only for user tokens; an admin
/// credential (all of ours) leaves it out.
#[derive(Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct UserDeleteRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

impl std::fmt::Debug for UserDeleteRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserDeleteRequest { <redacted> }")
    }
}

/// Lanying's `GroupInfoRequest` (`POST /group/create`); the owner is the `user_id`
/// header.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct GroupInfoRequest {
    #[serde(default)]
    #[schema(max_length = 256)]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(max_length = 4096)]
    pub description: Option<String>,
    #[serde(default)]
    pub avatar: Option<String>,
    /// 0 private group, 2 chatroom.
    #[serde(default, rename = "type")]
    pub kind: Option<i32>,
    /// Users to add as members right away.
    #[serde(default)]
    pub user_list: Option<Vec<i64>>,
}

/// Lanying's `GroupInfoAndSettingsDto` (the fields this server keeps).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GroupInfoAndSettingsDto {
    pub group_id: i64,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub owner_id: i64,
    #[serde(rename = "type")]
    pub kind: i32,
    /// 0 normal, 1 dissolved.
    pub status: i32,
    pub count: i64,
    pub capacity: i64,
    /// Milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
}

/// Lanying's `GroupInvitationRequest` (`POST /group/invite`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GroupInvitationRequest {
    pub group_id: i64,
    pub user_list: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Lanying's `GroupMemberRequest` (`POST /group/kick`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GroupMemberRequest {
    pub group_id: i64,
    pub user_list: Vec<i64>,
}

/// Lanying's `GroupUserRelationResponse`: one user's outcome of invite or kick.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GroupUserRelationResponse {
    pub user_id: i64,
    /// `success` or `fail`.
    pub result: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Lanying's "Group member format".
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GroupMember {
    pub user_id: i64,
    /// Milliseconds.
    pub join_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// Lanying's paging envelope for `/group/member_list`: the envelope plus `cursor`
/// (present while more members follow) and `version`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MemberPage {
    pub code: i32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Always present on success; an error (code other than 200) has neither `data` nor
    /// `version`.
    #[serde(default)]
    pub data: Vec<GroupMember>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(default)]
    pub version: i64,
}

/// Lanying's `MessageRequest` (`POST /message/send`).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct MessageRequest {
    /// Sender; defaults to the `user_id` header.
    #[serde(default)]
    pub from_user_id: Option<i64>,
    /// User ids (type 1) or group ids (type 2).
    pub targets: Vec<i64>,
    /// 1 user, 2 group.
    #[serde(rename = "type")]
    pub kind: i32,
    #[schema(max_length = 65536)]
    pub content: String,
    /// 0 TEXT, 1 IMAGE, 2 AUDIO, 3 VIDEO, 4 FILE, 5 LOCATION, 6 COMMAND, 7 FORWARD.
    #[serde(default)]
    pub content_type: i32,
    #[serde(default)]
    pub attachment: Option<String>,
    #[serde(default)]
    pub config: Option<String>,
    #[serde(default)]
    pub ext: Option<String>,
    #[serde(default)]
    pub transaction_id: Option<i64>,
}

impl std::fmt::Debug for MessageRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Message contents are personal data: never in logs.
        f.debug_struct("MessageRequest")
            .field("from_user_id", &self.from_user_id)
            .field("targets", &self.targets)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Lanying's "User and device".
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Xid {
    pub uid: i64,
    #[serde(default)]
    pub device_sn: i32,
}

/// Lanying's `SessionMessage`.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionMessage {
    pub msg_id: i64,
    pub from_xid: Xid,
    pub to_xid: Xid,
    pub content: String,
    /// TEXT, IMAGE, AUDIO, VIDEO, FILE, LOCATION, COMMAND, FORWARD.
    pub ctype: String,
    /// Milliseconds.
    pub timestamp: i64,
    pub status: String,
}

impl std::fmt::Debug for SessionMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionMessage")
            .field("msg_id", &self.msg_id)
            .finish_non_exhaustive()
    }
}

/// Lanying's "SessionMessage list" (`GET /message/conversation`): newest first; pass
/// `next_msg_id` as `msg_id_start` for older messages.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionMessageList {
    pub messages: Vec<SessionMessage>,
    pub is_last: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_msg_id: Option<i64>,
}

/// One IM user in `GET /admin/users` (no decryption needed: cheap for big exports).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminUser {
    pub user_id: i64,
    pub username: String,
    /// `active` or `disabled`.
    pub status: String,
    pub created_at: UnixTime,
}

/// `GET /admin/users/{user}`: everything about one IM user, profile decrypted.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminUserDetail {
    pub user_id: i64,
    pub username: String,
    pub status: String,
    pub nick_name: Option<String>,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    /// When the user's devices were last kicked offline.
    pub kicked_at: Option<UnixTime>,
    pub groups: i64,
}

/// One page of `GET /admin/users`; pass `next_cursor` as `after` for the next.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminUserPage {
    pub items: Vec<AdminUser>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `POST /admin/users/delete` (step-up): delete several users with one TOTP code,
/// all or nothing.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UsersDelete {
    #[schema(min_items = 1)]
    #[serde(deserialize_with = "crate::lenient::vec_i64")]
    pub user_ids: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UsersDeleted {
    pub deleted: u64,
}

/// `POST /admin/users/{user}/erase` (GDPR art. 17, step-up): what was erased. The user's
/// row stays as a pseudonymous tombstone (`erased-<pseudonym>`) so ids in other people's
/// conversations and the audit chain stay valid; nothing in it identifies the person.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserErased {
    pub user_id: i64,
    /// The keyed pseudonym audit events use for this user (`user:<pseudonym>`).
    pub pseudonym: String,
    /// Messages the user sent whose contents were wiped.
    pub messages_erased: u64,
    /// Group memberships removed.
    pub memberships_removed: u64,
}

/// `format` of the document `GET /admin/users/{user}/export` streams.
pub const USER_EXPORT_FORMAT: &str = "imadm-user-export";
/// `version` of that document; bumped on any incompatible change.
pub const USER_EXPORT_VERSION: u32 = 1;

/// `GET /admin/users/{user}/export`: everything the server holds about one IM user (GDPR
/// art. 15), streamed as one JSON object in this field order. The server writes it page by
/// page; the closing `}` is written only once every page was read, so a document that
/// ends early was cut off. Times are RFC 3339 UTC. Schema: docs/gdpr-export.md.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserExport {
    /// Always [`USER_EXPORT_FORMAT`].
    pub format: String,
    /// Always [`USER_EXPORT_VERSION`].
    pub version: u32,
    /// When the server started writing the document.
    pub exported_at: String,
    /// The exporting server's id (`/admin/server-info`).
    pub server_id: String,
    pub user: ExportProfile,
    /// Current group memberships, by group id.
    pub groups: Vec<ExportMembership>,
    /// Messages the user sent (to users or groups) or received directly, by message id.
    pub messages: Vec<ExportMessage>,
    /// Devices the server knows for the user: the reference server keeps none.
    #[schema(value_type = Vec<Object>)]
    pub devices: Vec<serde_json::Value>,
    /// Audit events naming the user (by pseudonym) as their target, by sequence number.
    pub audit_events: Vec<ExportAuditEvent>,
}

/// The profile part of a [`UserExport`]. Never a password or its hash.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExportProfile {
    pub user_id: i64,
    pub username: String,
    /// `active` or `disabled`.
    pub status: String,
    pub nick_name: Option<String>,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// When the user's devices were last kicked offline.
    pub kicked_at: Option<String>,
    /// How the audit log names this user (`user:<16 hex>`).
    pub pseudonym: String,
}

/// One group the user is a member of.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExportMembership {
    pub group_id: i64,
    pub name: String,
    pub description: Option<String>,
    /// Lanying group type (0 private group, 2 chatroom).
    pub kind: i32,
    /// `owner` or `member`.
    pub role: String,
    /// The owner's user id.
    pub owner_id: i64,
    pub joined_at: String,
}

/// One message sent or received by the user.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExportMessage {
    pub msg_id: i64,
    /// `sent` (the user is the sender) or `received` (a direct message to the user).
    pub direction: String,
    pub from_user_id: i64,
    /// `user` or `group`.
    pub to_type: String,
    /// The receiving user id, or the group id.
    pub to_id: i64,
    /// `TEXT`, `IMAGE`, `AUDIO`, `VIDEO`, `FILE`, `LOCATION`, `COMMAND` or `FORWARD`.
    pub content_type: String,
    pub content: String,
    pub sent_at: String,
}

/// An audit event whose target is the user. The event's `target` is the profile's
/// `pseudonym`; the operator's source address and request id are left out (another
/// person's data). `seq` and `hash` match the event in a signed audit report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExportAuditEvent {
    pub seq: u64,
    pub at: String,
    /// `operator`, `token`, `anonymous` or `system`.
    pub actor_type: String,
    /// The operator (or `<operator>#<token id>`) who acted.
    pub actor: String,
    pub action: String,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    pub detail: Option<String>,
    pub hash: String,
}
