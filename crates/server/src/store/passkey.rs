//! Persistence of passkeys (`crate::passkey`): the `passkeys` rows, several per operator,
//! named, each holding its WebAuthn credential sealed with the server key (AAD
//! [`aad`], by row id, so `store::keys::SEALED` re-seals them on a key rotation).
//! Security state for a restore (`store::sqlite::merge`: an operator keeps its current passkeys).
//!
//! The SQLite side is `store/sqlite/passkey.rs`. The rule "never remove an operator's last second factor" is checked inside the removing
//! transaction, so two removals at once cannot both pass it; `Store::disable_totp` checks
//! it the same way for TOTP.

use super::Result;
use crate::UnixTime;

/// Associated data binding a sealed passkey credential to its row.
pub fn aad(id: i64) -> String {
    format!("passkeys:{id}:credential")
}

/// A passkey as stored: `sealed` is the credential (webauthn-rs `Passkey` as JSON:
/// public key, signature counter), sealed with the server key (AAD [`aad`]).
#[derive(Debug, Clone)]
pub struct StoredPasskey {
    pub id: i64,
    pub operator_id: i64,
    pub name: String,
    /// base64url of the WebAuthn credential id.
    pub credential_id: String,
    pub sealed: Vec<u8>,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

/// Why a passkey was not removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed,
    NotFound,
    /// It is the operator's last second factor (no other passkey, no TOTP).
    LastFactor,
    /// It is the operator's last passkey and a role of theirs needs one.
    LastPasskey,
}

/// The passkey part of the store (a supertrait of `Store`).
pub trait PasskeyStore {
    /// Store a passkey; `seal` seals the credential for the new row id. A name the
    /// operator already uses, or a credential already stored, is a conflict.
    fn add_passkey(
        &self,
        operator_id: i64,
        name: &str,
        credential_id: &str,
        seal: &dyn Fn(i64) -> Vec<u8>,
        now: UnixTime,
    ) -> Result<StoredPasskey>;
    /// The operator's passkeys, oldest first.
    fn passkeys(&self, operator_id: i64) -> Result<Vec<StoredPasskey>>;
    /// The passkey with this credential id (base64url), whoever's it is: a passkey-only
    /// login learns the operator from the credential the browser returns.
    fn passkey_by_credential(&self, credential_id: &str) -> Result<Option<StoredPasskey>>;
    /// A passkey was used at `now`; `sealed` replaces the credential when its counter or
    /// backup state changed.
    fn touch_passkey(&self, id: i64, sealed: Option<&[u8]>, now: UnixTime) -> Result<()>;
    /// Remove passkey `id` of `operator_id`, unless it is the last second factor (or, with
    /// `keep_one`, the last passkey).
    fn remove_passkey(&self, operator_id: i64, id: i64, keep_one: bool) -> Result<Removal>;
    /// Remove every second factor of operator `id` (`operator reset-mfa`): TOTP secret,
    /// recovery codes, passkeys, in one transaction.
    fn reset_mfa(&self, id: i64) -> Result<()>;
}
