//! Bodies of the access review endpoints (`/admin/access/review`,
//! `/admin/access/attestations`): who can do what, and the signed record that someone
//! looked (ISO 27001 A.5.18).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::UnixTime;

/// Days without a login (operators) or a use (tokens) after which a principal is
/// `dormant`, unless the request says otherwise.
pub const DEFAULT_DORMANT_DAYS: u32 = 90;

/// Flag: no login (use) for `dormant_days`, counted from creation when there was none.
pub const FLAG_DORMANT: &str = "dormant";
/// Flag: never logged in (operator) or never used (token).
pub const FLAG_NEVER_USED: &str = "never_used";
/// Flag: holds the `owner` role.
pub const FLAG_OWNER: &str = "owner";
/// Flag: for some role it holds, the operator has permissions that no other holder of
/// that role has (it holds extra roles its peers do not).
pub const FLAG_BROADER: &str = "broader_than_peers";

/// `GET /admin/access/review`: every operator and live service token with what it may do.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccessReview {
    pub server_id: String,
    pub generated_at: UnixTime,
    pub dormant_days: u32,
    pub operators: Vec<ReviewedOperator>,
    /// Live tokens only (not revoked, not expired): expired access is no access.
    pub tokens: Vec<ReviewedToken>,
    /// Every role, with the operators holding it.
    pub roles: Vec<RoleHolders>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReviewedOperator {
    pub id: i64,
    pub username: String,
    pub roles: Vec<String>,
    /// The union of its roles' permissions, sorted.
    pub permissions: Vec<String>,
    pub disabled: bool,
    pub mfa: MfaFactors,
    pub created_at: UnixTime,
    pub last_login_at: Option<UnixTime>,
    /// The address of its most recent completed login.
    pub last_login_addr: Option<String>,
    /// Of [`FLAG_DORMANT`], [`FLAG_NEVER_USED`], [`FLAG_OWNER`], [`FLAG_BROADER`].
    pub flags: Vec<String>,
    /// Left out by the server; a reviewer's edited copy says `keep` or `revoke` here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct MfaFactors {
    pub totp: bool,
    /// Names of registered passkeys (none until passkeys exist).
    pub passkeys: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReviewedToken {
    pub id: i64,
    pub name: String,
    /// The operator who created it: the token acts as them.
    pub created_by: String,
    pub scopes: Vec<String>,
    /// Its scopes narrowed to what its creator holds now: what a request with it may do.
    pub permissions: Vec<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
    pub last_used_addr: Option<String>,
    /// Of [`FLAG_DORMANT`], [`FLAG_NEVER_USED`].
    pub flags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RoleHolders {
    pub role: String,
    pub builtin: bool,
    /// Usernames, disabled operators included.
    pub operators: Vec<String>,
}

/// `POST /admin/access/attestations`: a reviewer signed a review.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AttestationCreate {
    /// Who reviewed (1-100 characters, not only white space, no control characters): a
    /// person, not necessarily the caller.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub reviewer: String,
    /// SHA-256 (hex) of the review's JSON document as written.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub review_sha256: String,
    /// The SSHSIG (armored, namespace `imadm-audit`) over the review file: ASCII, at most
    /// 4096 bytes.
    #[schema(
        max_length = 4096,
        pattern = r"^-----BEGIN SSH SIGNATURE-----[\x20-\x7e\r\n]*$"
    )]
    pub signature: String,
    /// Lines of the review (each count at most [`MAX_REVIEW_LINES`]).
    #[schema(maximum = 1_000_000)]
    #[serde(deserialize_with = "crate::lenient::u32")]
    pub operators: u32,
    #[schema(maximum = 1_000_000)]
    #[serde(deserialize_with = "crate::lenient::u32")]
    pub tokens: u32,
    /// Lines the reviewer decided to keep and to revoke.
    #[serde(default, deserialize_with = "crate::lenient::u32")]
    #[schema(maximum = 1_000_000)]
    pub keep: u32,
    #[serde(default, deserialize_with = "crate::lenient::u32")]
    #[schema(maximum = 1_000_000)]
    pub revoke: u32,
}

/// The largest count an attestation may carry (more lines than any review has).
pub const MAX_REVIEW_LINES: u32 = 1_000_000;

/// One recorded attestation (append-only).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Attestation {
    pub id: i64,
    pub reviewer: String,
    /// The operator who recorded it.
    pub recorded_by: String,
    pub review_sha256: String,
    pub signature: String,
    pub attested_at: UnixTime,
    pub operators: u32,
    pub tokens: u32,
    pub keep: u32,
    pub revoke: u32,
}
