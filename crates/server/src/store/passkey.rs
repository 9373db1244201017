//! Persistence of passkeys (`crate::passkey`): the `passkeys` rows, several per operator,
//! named, each holding its WebAuthn credential sealed with the server key (AAD
//! [`aad`], by row id, so `store::keys::SEALED` re-seals them on a key rotation).
//! Security state for a restore (`backup::merge`: an operator keeps its current passkeys).
//!
//! The rule "never remove an operator's last second factor" is checked inside the removing
//! transaction, so two removals at once cannot both pass it.

use rusqlite::{OptionalExtension, params};

use super::sqlite::SqliteStore;
use super::{Result, StoreError};
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

const COLUMNS: &str = "id, operator_id, name, credential_id, credential, created_at, last_used_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredPasskey> {
    Ok(StoredPasskey {
        id: r.get(0)?,
        operator_id: r.get(1)?,
        name: r.get(2)?,
        credential_id: r.get(3)?,
        sealed: r.get(4)?,
        created_at: r.get(5)?,
        last_used_at: r.get(6)?,
    })
}

impl PasskeyStore for SqliteStore {
    fn add_passkey(
        &self,
        operator_id: i64,
        name: &str,
        credential_id: &str,
        seal: &dyn Fn(i64) -> Vec<u8>,
        now: UnixTime,
    ) -> Result<StoredPasskey> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        // The AAD names the row id, known only once inserted: an empty value first.
        let res = tx.execute(
            "INSERT INTO passkeys (operator_id, name, credential_id, credential, created_at)
             VALUES (?1, ?2, ?3, x'', ?4)",
            params![operator_id, name, credential_id, now],
        );
        match res {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                return Err(StoreError::Conflict(format!(
                    "a passkey named {name:?} (or this very passkey)"
                )));
            }
            other => other?,
        };
        let id = tx.last_insert_rowid();
        tx.execute(
            "UPDATE passkeys SET credential = ?2 WHERE id = ?1",
            params![id, seal(id)],
        )?;
        let stored = tx.query_row(
            &format!("SELECT {COLUMNS} FROM passkeys WHERE id = ?1"),
            [id],
            row,
        )?;
        crate::audit::commit(tx, &self.alert_rules())?;
        Ok(stored)
    }

    fn passkeys(&self, operator_id: i64) -> Result<Vec<StoredPasskey>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM passkeys WHERE operator_id = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([operator_id], row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn touch_passkey(&self, id: i64, sealed: Option<&[u8]>, now: UnixTime) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE passkeys SET last_used_at = ?2, credential = coalesce(?3, credential)
             WHERE id = ?1",
            params![id, now, sealed],
        )?;
        crate::audit::commit(tx, &self.alert_rules())?;
        Ok(())
    }

    fn remove_passkey(&self, operator_id: i64, id: i64, keep_one: bool) -> Result<Removal> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let exists = tx
            .query_row(
                "SELECT 1 FROM passkeys WHERE id = ?1 AND operator_id = ?2",
                params![id, operator_id],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if !exists {
            return Ok(Removal::NotFound);
        }
        let (others, totp): (i64, bool) = tx.query_row(
            "SELECT (SELECT count(*) FROM passkeys WHERE operator_id = ?1 AND id <> ?2),
                    (SELECT totp_secret IS NOT NULL FROM operators WHERE id = ?1)",
            params![operator_id, id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if others == 0 && keep_one {
            return Ok(Removal::LastPasskey);
        }
        if others == 0 && !totp {
            return Ok(Removal::LastFactor);
        }
        tx.execute("DELETE FROM passkeys WHERE id = ?1", [id])?;
        crate::audit::commit(tx, &self.alert_rules())?;
        Ok(Removal::Removed)
    }

    fn reset_mfa(&self, id: i64) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE operators SET totp_secret = NULL, totp_pending = NULL WHERE id = ?1",
            [id],
        )?;
        tx.execute("DELETE FROM recovery_codes WHERE operator_id = ?1", [id])?;
        tx.execute("DELETE FROM passkeys WHERE operator_id = ?1", [id])?;
        crate::audit::commit(tx, &self.alert_rules())?;
        Ok(())
    }
}
