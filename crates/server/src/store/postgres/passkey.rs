//! [`PasskeyStore`] on PostgreSQL: the SQLite side's statements (`store/sqlite/passkey.rs`),
//! each write one transaction ending in the request's audit event.
//!
//! SQLite's single writer made "is this the operator's last second factor?" and the
//! removal one step; here two removals of an operator's last two passkeys would each see
//! the other still there under READ COMMITTED and both commit. A removal therefore locks
//! the operator's row first ([`lock_operator`]): the second waits, then counts what the
//! first left. Disabling TOTP (`store.rs`) takes the same lock.

use super::{Done, PgStore, PgTx};
use crate::UnixTime;
use crate::store::passkey::*;
use crate::store::{Result, StoreError};

const COLUMNS: &str = "id, operator_id, name, credential_id, credential, created_at, last_used_at";

fn row(r: &postgres::Row) -> Result<StoredPasskey> {
    Ok(StoredPasskey {
        id: r.try_get(0)?,
        operator_id: r.try_get(1)?,
        name: r.try_get(2)?,
        credential_id: r.try_get(3)?,
        sealed: r.try_get(4)?,
        created_at: r.try_get(5)?,
        last_used_at: r.try_get(6)?,
    })
}

/// Lock operator `id`'s row for the rest of the transaction and tell whether it has a
/// TOTP secret (read from the locked, newest version). `None`: no such operator.
pub(super) fn lock_operator(tx: &PgTx<'_>, id: i64) -> Result<Option<bool>> {
    Ok(tx
        .query_opt(
            "SELECT totp_secret IS NOT NULL FROM operators WHERE id = $1 FOR UPDATE",
            &[&id],
        )?
        .map(|r| r.try_get(0))
        .transpose()?)
}

impl PasskeyStore for PgStore {
    fn add_passkey(
        &self,
        operator_id: i64,
        name: &str,
        credential_id: &str,
        seal: &dyn Fn(i64) -> Vec<u8>,
        now: UnixTime,
    ) -> Result<StoredPasskey> {
        self.write(|tx| {
            // The AAD names the row id, known only once inserted: an empty value first.
            let Some(inserted) = tx.query_opt(
                "INSERT INTO passkeys (operator_id, name, credential_id, credential, created_at)
                 VALUES ($1, $2, $3, '\\x', $4) ON CONFLICT DO NOTHING RETURNING id",
                &[&operator_id, &name, &credential_id, &now],
            )?
            else {
                return Err(StoreError::Conflict(format!(
                    "a passkey named {name:?} (or this very passkey)"
                )));
            };
            let id: i64 = inserted.try_get(0)?;
            let stored = tx.query_one(
                &format!("UPDATE passkeys SET credential = $2 WHERE id = $1 RETURNING {COLUMNS}"),
                &[&id, &seal(id)],
            )?;
            Ok(Done::Commit(row(&stored)?))
        })
    }

    fn passkeys(&self, operator_id: i64) -> Result<Vec<StoredPasskey>> {
        self.conn()?
            .query(
                &format!("SELECT {COLUMNS} FROM passkeys WHERE operator_id = $1 ORDER BY id"),
                &[&operator_id],
            )?
            .iter()
            .map(row)
            .collect()
    }

    fn passkey_by_credential(&self, credential_id: &str) -> Result<Option<StoredPasskey>> {
        self.conn()?
            .query_opt(
                &format!("SELECT {COLUMNS} FROM passkeys WHERE credential_id = $1"),
                &[&credential_id],
            )?
            .as_ref()
            .map(row)
            .transpose()
    }

    fn touch_passkey(&self, id: i64, sealed: Option<&[u8]>, now: UnixTime) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE passkeys SET last_used_at = $2, credential = coalesce($3, credential)
                 WHERE id = $1",
                &[&id, &now, &sealed],
            )?;
            Ok(Done::Commit(()))
        })
    }

    fn remove_passkey(&self, operator_id: i64, id: i64, keep_one: bool) -> Result<Removal> {
        self.write(|tx| {
            let Some(totp) = lock_operator(tx, operator_id)? else {
                return Ok(Done::Rollback(Removal::NotFound));
            };
            let (exists, others): (bool, i64) = {
                let r = tx.query_one(
                    "SELECT EXISTS (SELECT 1 FROM passkeys WHERE id = $2 AND operator_id = $1),
                            (SELECT count(*) FROM passkeys WHERE operator_id = $1 AND id <> $2)",
                    &[&operator_id, &id],
                )?;
                (r.try_get(0)?, r.try_get(1)?)
            };
            if !exists {
                return Ok(Done::Rollback(Removal::NotFound));
            }
            if others == 0 && keep_one {
                return Ok(Done::Rollback(Removal::LastPasskey));
            }
            if others == 0 && !totp {
                return Ok(Done::Rollback(Removal::LastFactor));
            }
            tx.execute("DELETE FROM passkeys WHERE id = $1", &[&id])?;
            Ok(Done::Commit(Removal::Removed))
        })
    }

    fn reset_mfa(&self, id: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE operators SET totp_secret = NULL, totp_pending = NULL WHERE id = $1",
                &[&id],
            )?;
            tx.execute("DELETE FROM recovery_codes WHERE operator_id = $1", &[&id])?;
            tx.execute("DELETE FROM passkeys WHERE operator_id = $1", &[&id])?;
            Ok(Done::Commit(()))
        })
    }
}
