//! Persistence of the Lanying-compatible IM data: users, groups, members, messages.
//!
//! [`ImStore`] is a trait of its own (beside [`Store`](super::Store)) so the IM data can
//! move to another backend independently of the operator/auth tables. Like `Store`, it
//! is synchronous and every method is one transaction; lists are `LIMIT`ed queries, so
//! memory stays bounded however many users there are.
//!
//! Sensitive columns hold ciphertext. The store never sees the server key: callers pass
//! a [`Sealer`], and the store calls it *inside* the transaction, after allocating the
//! row id, because the id is part of the associated data (`im_users:<id>:email`). That
//! is why a backend allocates ids itself rather than by `INSERT` returning a rowid
//! (SQLite: `sqlite::im`).
//!
//! Ids: users start at [`USER_ID_BASE`] (2^41 + 1) and groups at [`GROUP_ID_BASE`]
//! (2^42 + 1), 13-digit numbers like Lanying's, in disjoint ranges so a conversation's
//! `opposite_id` can never be both a user and a group. They increase with creation time
//! (AUTOINCREMENT: never reused after a delete), which is what makes the keyset listing
//! `ORDER BY user_id` also a creation-order listing.

use super::Result;
use crate::UnixTime;

pub const USER_ID_BASE: i64 = (1 << 41) + 1;
pub const GROUP_ID_BASE: i64 = (1 << 42) + 1;

/// Seals `plaintext` under the server key with `aad` (see `keys::ServerKey::seal`).
pub type Sealer<'a> = &'a (dyn Fn(&[u8], &str) -> Vec<u8> + Sync);

/// Associated data of a sealed IM column: table, row id and column.
pub fn aad(table: &str, id: i64, column: &str) -> String {
    format!("{table}:{id}:{column}")
}

#[derive(Debug, Clone)]
pub struct ImUser {
    pub user_id: i64,
    pub username: String,
    pub password_hash: String,
    pub disabled: bool,
    pub nick_name: Option<Vec<u8>>,
    pub email: Option<Vec<u8>>,
    pub mobile: Option<Vec<u8>>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    pub kicked_at: Option<UnixTime>,
}

/// The columns a listing needs (nothing to decrypt).
#[derive(Debug, Clone, PartialEq)]
pub struct ImUserRow {
    pub user_id: i64,
    pub username: String,
    pub disabled: bool,
    pub created_at: UnixTime,
}

/// A user to create; profile fields in plaintext, sealed by the store's caller-given
/// sealer once the id is known.
#[derive(Clone, Default)]
pub struct NewImUser {
    pub username: String,
    pub password_hash: String,
    pub nick_name: Option<String>,
    pub email: Option<String>,
    pub mobile: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ImGroup {
    pub group_id: i64,
    pub owner_id: i64,
    pub kind: i32,
    pub name: Vec<u8>,
    pub description: Option<Vec<u8>>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    pub members: i64,
}

/// What happened to one user of an invite or kick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberOutcome {
    Done,
    UnknownUser,
    AlreadyMember,
    NotMember,
    /// The owner cannot be kicked out of their own group.
    IsOwner,
}

#[derive(Debug, Clone)]
pub struct ImMessage {
    pub msg_id: i64,
    pub from_id: i64,
    pub to_group: bool,
    pub to_id: i64,
    pub content_type: i32,
    pub content: Vec<u8>,
    pub created_at: UnixTime,
}

/// One group membership of a user (for the GDPR export), with the group's sealed fields.
#[derive(Debug, Clone)]
pub struct ImMembership {
    pub group_id: i64,
    pub owner_id: i64,
    pub kind: i32,
    pub name: Vec<u8>,
    pub description: Option<Vec<u8>>,
    /// `owner` or `member`.
    pub role: String,
    pub joined_at: UnixTime,
}

pub trait ImStore: Send + Sync + 'static {
    /// Create users in one transaction; per input, `Some(id)` or `None` when the
    /// username is taken (already stored, or earlier in the same batch). `created` gets
    /// the new ids inside the transaction, before it commits: the request's audit event,
    /// written with it, can then name them (they have no id before the insert).
    fn create_im_users(
        &self,
        users: &[NewImUser],
        seal: Sealer<'_>,
        now: UnixTime,
        created: &dyn Fn(&[i64]),
    ) -> Result<Vec<Option<i64>>>;
    fn im_user(&self, user_id: i64) -> Result<Option<ImUser>>;
    fn im_user_by_username(&self, username: &str) -> Result<Option<ImUser>>;
    /// Lanying's page_num/page_size paging (1-based), by id.
    fn im_users_page(&self, page_num: u32, page_size: u32) -> Result<Vec<ImUserRow>>;
    /// [`im_users_page`](Self::im_users_page) without blocking an async worker, for a
    /// backend whose reads wait on the network (`GET /user/list` is the hottest read).
    /// `None`, or a future answering `None`: read it on a blocking thread instead.
    fn im_users_page_async(
        &self,
        _page_num: u32,
        _page_size: u32,
    ) -> Option<super::AsyncRead<'_, Vec<ImUserRow>>> {
        None
    }
    /// Keyset paging: users with id > `after`, ascending, optionally by state.
    fn im_users_after(
        &self,
        after: i64,
        limit: u32,
        disabled: Option<bool>,
    ) -> Result<Vec<ImUserRow>>;
    /// All or nothing: `Err(id)` names the first unknown id and nothing changes.
    fn set_im_users_disabled(
        &self,
        ids: &[i64],
        disabled: bool,
        now: UnixTime,
    ) -> Result<std::result::Result<(), i64>>;
    /// Delete users, the groups they own, and the messages they sent or received
    /// directly. All or nothing, like [`set_im_users_disabled`](Self::set_im_users_disabled).
    fn delete_im_users(&self, ids: &[i64]) -> Result<std::result::Result<u64, i64>>;
    /// Erase a user (GDPR art. 17): empty the contents of the messages they sent, drop
    /// their memberships, replace the row with a tombstone named `tombstone` (no password,
    /// no profile, disabled). `None` if unknown; else (messages wiped, memberships removed).
    fn erase_im_user(
        &self,
        user_id: i64,
        tombstone: &str,
        now: UnixTime,
    ) -> Result<Option<(u64, u64)>>;
    /// Replace the password hash and kick the user's devices; false if unknown.
    fn set_im_password(&self, user_id: i64, hash: &str, now: UnixTime) -> Result<bool>;
    /// Record that the user's devices were kicked offline; false if unknown.
    fn kick_im_user(&self, user_id: i64, now: UnixTime) -> Result<bool>;
    fn im_user_group_count(&self, user_id: i64) -> Result<i64>;

    /// Create a group owned by `owner` with `members` (unknown ones are skipped and
    /// returned). Name and description are sealed with the new group id.
    #[allow(clippy::too_many_arguments)]
    fn create_im_group(
        &self,
        owner: i64,
        kind: i32,
        name: &str,
        description: Option<&str>,
        members: &[i64],
        seal: Sealer<'_>,
        now: UnixTime,
    ) -> Result<(i64, Vec<i64>)>;
    fn im_group(&self, group_id: i64) -> Result<Option<ImGroup>>;
    /// Delete the group, its members and its messages; false if unknown.
    fn destroy_im_group(&self, group_id: i64) -> Result<bool>;
    fn add_im_members(
        &self,
        group_id: i64,
        users: &[i64],
        now: UnixTime,
    ) -> Result<Vec<MemberOutcome>>;
    fn remove_im_members(&self, group_id: i64, users: &[i64]) -> Result<Vec<MemberOutcome>>;
    /// Members with user id > `after`, ascending: (user_id, joined_at).
    fn im_members_after(&self, group_id: i64, after: i64, limit: u32) -> Result<Vec<(i64, i64)>>;

    /// Store one message per target; the content is sealed per message id.
    #[allow(clippy::too_many_arguments)]
    fn send_im_messages(
        &self,
        from: i64,
        to_group: bool,
        targets: &[i64],
        content_type: i32,
        content: &str,
        seal: Sealer<'_>,
        now: UnixTime,
    ) -> Result<Vec<i64>>;
    /// Messages of the conversation between `me` and user `opposite` (both directions),
    /// or of group `opposite`, with id < `before` (None: newest), newest first.
    fn im_conversation(
        &self,
        me: i64,
        opposite: i64,
        group: bool,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ImMessage>>;

    /// The user's group memberships with group id > `after`, ascending (keyset paging).
    fn im_memberships_after(
        &self,
        user_id: i64,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ImMembership>>;
    /// Messages the user sent (to anyone or any group) or received directly, with id >
    /// `after`, ascending (keyset paging, for the GDPR export).
    fn im_user_messages_after(
        &self,
        user_id: i64,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ImMessage>>;
}
