//! [`ApprovalStore`] on PostgreSQL: browser approvals in `approval_grants` and
//! `approval_tokens`, shared by every instance on the database.
//!
//! - A start takes a transaction-level advisory lock ([`START_LOCK`]) before it counts
//!   the live grants and inserts: starts through several instances are admitted one after
//!   the other, so the caps hold in all. The same transaction deletes a bounded batch of
//!   ended grants and tokens (skipping rows another transaction holds): every start
//!   clears more than it adds.
//! - A change of a grant locks its row (`SELECT … FOR UPDATE`) for one transaction; a
//!   change through another instance waits, then reads the newest version, or nothing if
//!   the first deleted it: a poll gets the outcome once.
//! - A token is taken by one `DELETE … RETURNING`: whichever instance deletes it has it.

use super::PgStore;
use crate::store::Result;
use crate::store::approval::{ApprovalStore, Census, GrantKey, Start, StoredGrant, StoredToken};

/// `pg_advisory_xact_lock` key of a start (see the module comment).
const START_LOCK: i64 = 0x696d_6164_6d00_0003;
/// Ended rows of each table a start deletes at most.
const PRUNE_BATCH: i64 = 100;

const COLUMNS: &str = "user_code, device_hash, client_addr, login, started_at, expires, \
     interval_ms, last_poll, body, ceremony";

const PRUNE_GRANTS: &str = "DELETE FROM approval_grants WHERE user_code IN (
     SELECT user_code FROM approval_grants WHERE expires <= $1
     LIMIT $2 FOR UPDATE SKIP LOCKED)";
const PRUNE_TOKENS: &str = "DELETE FROM approval_tokens WHERE hash IN (
     SELECT hash FROM approval_tokens WHERE expires <= $1
     LIMIT $2 FOR UPDATE SKIP LOCKED)";
const CENSUS: &str = "SELECT count(*) FILTER (WHERE login),
       min(expires) FILTER (WHERE login),
       count(*) FILTER (WHERE client_addr IS NOT DISTINCT FROM $2),
       min(expires) FILTER (WHERE client_addr IS NOT DISTINCT FROM $2)
     FROM approval_grants WHERE expires > $1";
// Both take a grant's columns in COLUMNS' order ([`params`]).
const INSERT: &str = "INSERT INTO approval_grants (user_code, device_hash, client_addr, login,
       started_at, expires, interval_ms, last_poll, body, ceremony)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING";
const UPDATE: &str = "UPDATE approval_grants SET client_addr = $3, login = $4, started_at = $5,
       expires = $6, interval_ms = $7, last_poll = $8, body = $9, ceremony = $10
     WHERE user_code = $1 AND device_hash = $2";

/// `g`'s columns in COLUMNS' order.
fn params(g: &StoredGrant) -> [&(dyn postgres::types::ToSql + Sync); 10] {
    [
        &g.user_code,
        &g.device_hash,
        &g.client_addr,
        &g.login,
        &g.started_at,
        &g.expires,
        &g.interval_ms,
        &g.last_poll,
        &g.body,
        &g.ceremony,
    ]
}

fn grant(r: &postgres::Row) -> Result<StoredGrant> {
    Ok(StoredGrant {
        user_code: r.try_get(0)?,
        device_hash: r.try_get(1)?,
        client_addr: r.try_get(2)?,
        login: r.try_get(3)?,
        started_at: r.try_get(4)?,
        expires: r.try_get(5)?,
        interval_ms: r.try_get(6)?,
        last_poll: r.try_get(7)?,
        body: r.try_get(8)?,
        ceremony: r.try_get(9)?,
    })
}

fn count(r: &postgres::Row, i: usize) -> Result<usize> {
    Ok(usize::try_from(r.try_get::<_, i64>(i)?).unwrap_or(0))
}

impl ApprovalStore for PgStore {
    fn start_grant(
        &self,
        g: &StoredGrant,
        now: i64,
        admit: &mut dyn FnMut(&Census) -> bool,
    ) -> Result<Start> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&START_LOCK])?;
        tx.execute(PRUNE_GRANTS, &[&now, &PRUNE_BATCH])?;
        tx.execute(PRUNE_TOKENS, &[&now, &PRUNE_BATCH])?;
        let r = tx.query_one(CENSUS, &[&now, &g.client_addr])?;
        let census = Census {
            logins: count(&r, 0)?,
            first_login_ends: r.try_get(1)?,
            from_addr: count(&r, 2)?,
            first_from_addr_ends: r.try_get(3)?,
        };
        if !admit(&census) {
            return Ok(Start::Refused);
        }
        // An ended grant with this code, not yet pruned, gives way.
        tx.execute(
            "DELETE FROM approval_grants WHERE user_code = $1 AND expires <= $2",
            &[&g.user_code, &now],
        )?;
        let inserted = tx.execute(INSERT, &params(g))?;
        if inserted == 0 {
            return Ok(Start::CodeTaken);
        }
        tx.commit()?;
        Ok(Start::Started)
    }

    fn update_grant(
        &self,
        key: GrantKey<'_>,
        now: i64,
        f: &mut dyn FnMut(&mut Option<StoredGrant>),
    ) -> Result<()> {
        let (column, value) = match key {
            GrantKey::UserCode(c) => ("user_code", c),
            GrantKey::DeviceHash(h) => ("device_hash", h),
        };
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let found = tx.query_opt(
            &format!(
                "SELECT {COLUMNS} FROM approval_grants WHERE {column} = $1 AND expires > $2 \
                 FOR UPDATE"
            ),
            &[&value, &now],
        )?;
        let Some(found) = found.as_ref().map(grant).transpose()? else {
            f(&mut None);
            return Ok(());
        };
        let (code, device_hash) = (found.user_code.clone(), found.device_hash.clone());
        let mut slot = Some(found);
        f(&mut slot);
        match slot {
            // The codes are the grant's keys: they stay.
            Some(mut g) => {
                (g.user_code, g.device_hash) = (code, device_hash);
                tx.execute(UPDATE, &params(&g))?
            }
            None => tx.execute("DELETE FROM approval_grants WHERE user_code = $1", &[&code])?,
        };
        tx.commit()?;
        Ok(())
    }

    fn add_step_up_token(&self, t: &StoredToken) -> Result<()> {
        self.conn()?.execute(
            "INSERT INTO approval_tokens (hash, operator_id, session_id, expires, body)
             VALUES ($1, $2, $3, $4, $5)",
            &[&t.hash, &t.operator_id, &t.session_id, &t.expires, &t.body],
        )?;
        Ok(())
    }

    fn take_step_up_token(
        &self,
        hash: &str,
        operator_id: i64,
        session_id: i64,
        now: i64,
    ) -> Result<Option<StoredToken>> {
        let taken = self.conn()?.query_opt(
            "DELETE FROM approval_tokens
             WHERE hash = $1 AND operator_id = $2 AND session_id = $3 AND expires > $4
             RETURNING expires, body",
            &[&hash, &operator_id, &session_id, &now],
        )?;
        taken
            .map(|r| {
                Ok(StoredToken {
                    hash: hash.to_owned(),
                    operator_id,
                    session_id,
                    expires: r.try_get(0)?,
                    body: r.try_get(1)?,
                })
            })
            .transpose()
    }
}
