//! Bodies of the RBAC administration endpoints: operators, roles, permissions and
//! service tokens (`/admin/operators`, `/admin/roles`, `/admin/permissions`,
//! `/admin/tokens`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::UnixTime;

/// One page of a keyset-paginated list; pass `next_cursor` as `after` for the next.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `GET /admin/instance`: which store and which instance answered (for any authenticated
/// caller; the public `/admin/server-info` names neither).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InstanceInfo {
    /// `sqlite` or `postgresql`.
    pub store: String,
    /// This server process (random per start): tells instances on one database apart.
    pub instance: String,
    /// The server's version.
    pub version: String,
    /// The database schema's version (that backend's migrations applied).
    pub schema_version: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PermissionInfo {
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Role {
    pub name: String,
    pub description: String,
    pub builtin: bool,
    pub permissions: Vec<String>,
}

/// `POST /admin/roles` (step-up).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RoleCreate {
    /// 1-64 lowercase letters, digits, `-` and `_`.
    #[schema(pattern = "^[a-z0-9_-]{1,64}$")]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[schema(value_type = Vec<crate::permissions::PermissionName>)]
    pub permissions: Vec<String>,
}

/// `PATCH /admin/roles/{name}` (step-up): replace the description and/or add and remove
/// permissions.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct RoleUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    #[schema(value_type = Vec<crate::permissions::PermissionName>)]
    pub add: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Vec<crate::permissions::PermissionName>)]
    pub remove: Vec<String>,
}

/// `POST /admin/roles/apply` (step-up unless `dry_run`): make the custom roles exactly
/// `roles`, atomically. Built-in roles cannot be changed; `prune` deletes custom roles
/// not listed (refused if an operator still holds one).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RolesApply {
    pub roles: Vec<RoleCreate>,
    #[serde(default)]
    pub prune: bool,
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RoleChange {
    pub role: String,
    /// `create`, `update`, `delete` or `unchanged`.
    pub action: String,
    #[serde(default)]
    pub added: Vec<String>,
    #[serde(default)]
    pub removed: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RolesDiff {
    pub changes: Vec<RoleChange>,
    pub applied: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Operator {
    pub id: i64,
    pub username: String,
    pub roles: Vec<String>,
    pub disabled: bool,
    /// A second factor is enrolled: TOTP or a passkey.
    pub mfa_enrolled: bool,
    /// How many passkeys the operator has (phishing-resistant MFA).
    #[serde(default)]
    pub passkeys: u32,
    pub created_at: UnixTime,
    pub last_login_at: Option<UnixTime>,
}

/// `POST /admin/operators` (step-up): the new operator gets a one-time password and must
/// change it and enrol MFA at first login.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OperatorCreate {
    /// 1-64 letters, digits, `-`, `_`, `.` and `@`.
    #[schema(pattern = "^[A-Za-z0-9_.@-]{1,64}$")]
    pub username: String,
    pub roles: Vec<String>,
}

#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct OperatorCreated {
    pub operator: Operator,
    pub one_time_password: String,
}

impl std::fmt::Debug for OperatorCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorCreated")
            .field("operator", &self.operator)
            .finish_non_exhaustive()
    }
}

/// `POST /admin/operators/{name}/reset-password` (step-up): a new one-time password,
/// shown once; the operator must change it at next login, and their sessions have ended.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct PasswordReset {
    pub operator: Operator,
    pub one_time_password: String,
}

impl std::fmt::Debug for PasswordReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordReset")
            .field("operator", &self.operator)
            .finish_non_exhaustive()
    }
}

/// `POST /admin/operators/{name}/grant|revoke` (step-up).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RoleNames {
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ServiceToken {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_by: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
    pub last_used_addr: Option<String>,
    pub revoked: bool,
}

/// `POST /admin/tokens` (step-up): scopes must be a subset of the creator's permissions.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenCreate {
    /// 1-100 characters, not only white space.
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: String,
    #[schema(value_type = Vec<crate::permissions::PermissionName>, min_items = 1)]
    pub scopes: Vec<String>,
    /// Lifetime in seconds (at most one year).
    #[schema(minimum = 1, maximum = 31536000)]
    #[serde(deserialize_with = "crate::lenient::u64")]
    pub expires_in: u64,
}

/// The token itself is shown once, here, and never again.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenCreated {
    pub token: ServiceToken,
    pub secret: String,
}

impl std::fmt::Debug for TokenCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCreated")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// One key of the server keyring (`GET /admin/keys`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KeyStatus {
    /// 16 hex digits: the start of the key's public fingerprint.
    pub id: String,
    /// The key new values are sealed with.
    pub active: bool,
    /// The original key (`server.key`): values that name no key are its.
    pub original: bool,
    /// No row uses it any more; kept to open backups taken before the rotation.
    pub retired: bool,
    /// Sealed values under this key now.
    pub sealed_values: u64,
}

/// `GET /admin/keys`: the keyring and how far a rotation is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KeysStatus {
    /// The original key first, then the rotated ones.
    pub keys: Vec<KeyStatus>,
    /// Sealed values under keys other than the active one: what the re-seal still has
    /// to do (0 once a rotation is complete).
    pub sealed_values_left: u64,
}

/// `POST /admin/keys/rotate`: the new active key; the re-seal runs in the background.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KeyRotation {
    pub active: String,
    pub previous: String,
}
