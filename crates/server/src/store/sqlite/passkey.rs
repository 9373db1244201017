//! The SQLite side of [`PasskeyStore`]: each write one transaction ending in the
//! request's audit event; the last-factor rule checked inside the removing transaction.

use rusqlite::{OptionalExtension, params};

use super::SqliteStore;
use crate::UnixTime;
use crate::store::passkey::*;
use crate::store::{Result, StoreError};

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
        crate::store::sqlite::audit::commit(tx, &self.alert_rules())?;
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

    fn passkey_by_credential(&self, credential_id: &str) -> Result<Option<StoredPasskey>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM passkeys WHERE credential_id = ?1"
        ))?;
        Ok(stmt.query_row([credential_id], row).optional()?)
    }

    fn touch_passkey(&self, id: i64, sealed: Option<&[u8]>, now: UnixTime) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE passkeys SET last_used_at = ?2, credential = coalesce(?3, credential)
             WHERE id = ?1",
            params![id, now, sealed],
        )?;
        crate::store::sqlite::audit::commit(tx, &self.alert_rules())?;
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
        crate::store::sqlite::audit::commit(tx, &self.alert_rules())?;
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
        crate::store::sqlite::audit::commit(tx, &self.alert_rules())?;
        Ok(())
    }
}
