//! [`Store`] on PostgreSQL: the same statements as the SQLite
//! backend's (`store/sqlite.rs`) in PostgreSQL's dialect, each method one transaction.
//!
//! Done: settings; operators (create, look-ups, logins and their addresses, password,
//! roles and permissions, disable, delete); roles; MFA (TOTP steps by compare-and-set,
//! enrolment, recovery codes, challenges); sessions (create, look-up, refresh rotation
//! with grace and reuse detection, upgrade, revocation); service tokens; authentication
//! events; the audit log (append, pages, ranges, checkpoints, sink cursors, lag, system
//! alerts); alerts and their state changes; access attestations. ([`IncidentStore`] is
//! `incident.rs`.)
//!
//! Where SQLite's single writer made a read-check-write safe, this backend serialises
//! explicitly: the last-owner rule under an advisory lock ([`lock_owners`]), an alert's
//! state change on its row, the audit chain on its head row (`audit.rs`).

use imadm_api::admin::{Role, ServiceToken};

use super::passkey::lock_operator;
use super::{Done, PgStore, PgTx};
use crate::UnixTime;
use crate::store::audit::AuditTx;
use crate::store::passkey::Removal;
use crate::store::{
    AlertChanged, AlertFilter, AlertStateChange, AuthEvent, Grace, LiveServiceToken,
    NewServiceToken, NewSession, Operator, Result, RoleHolder, RotateOutcome, Rotation, Session,
    Store, StoreError, StoredEvent,
};

const OPERATOR_COLUMNS: &str = "id, username, password_hash, must_change_password, disabled, \
     totp_secret, totp_pending, last_totp_step, failed_attempts, locked_until, created_at, last_login_at";

fn operator_row(r: &postgres::Row) -> Result<Operator> {
    Ok(Operator {
        id: r.try_get(0)?,
        username: r.try_get(1)?,
        password_hash: r.try_get(2)?,
        must_change_password: r.try_get::<_, i64>(3)? != 0,
        disabled: r.try_get::<_, i64>(4)? != 0,
        totp_secret: r.try_get(5)?,
        totp_pending: r.try_get(6)?,
        last_totp_step: r.try_get::<_, Option<i64>>(7)?.map(|s| s as u64),
        failed_attempts: r.try_get::<_, i64>(8)? as u32,
        locked_until: r.try_get(9)?,
        created_at: r.try_get(10)?,
        last_login_at: r.try_get(11)?,
    })
}

/// Drop the sealed pairs of refresh grace windows that have ended (`$1` = now).
const CLEAR_ENDED_GRACE: &str =
    "UPDATE sessions SET grace_tokens = NULL, grace_until = NULL WHERE grace_until <= $1";

const SESSION_COLUMNS: &str = "id, operator_id, access_expires_at, refresh_expires_at, \
     absolute_expires_at, restrictions, revoked_at IS NOT NULL";

fn session_row(r: &postgres::Row) -> Result<Session> {
    let restrictions: String = r.try_get(5)?;
    Ok(Session {
        id: r.try_get(0)?,
        operator_id: r.try_get(1)?,
        access_expires_at: r.try_get(2)?,
        refresh_expires_at: r.try_get(3)?,
        absolute_expires_at: r.try_get(4)?,
        restrictions: restrictions
            .split(',')
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect(),
        revoked: r.try_get(6)?,
    })
}

/// A flag as the schema keeps it (0 or 1, as on SQLite).
fn flag(b: bool) -> i64 {
    i64::from(b)
}

/// The first column of every row.
fn strings(rows: Vec<postgres::Row>) -> Result<Vec<String>> {
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

fn replace_codes(tx: &PgTx<'_>, id: i64, hashes: &[String]) -> Result<()> {
    tx.execute("DELETE FROM recovery_codes WHERE operator_id = $1", &[&id])?;
    for h in hashes {
        tx.execute(
            "INSERT INTO recovery_codes (operator_id, code_hash) VALUES ($1, $2)",
            &[&id, h],
        )?;
    }
    Ok(())
}

/// A role with its permissions, sorted (`… WHERE …` and `GROUP BY r.name` follow).
const ROLE_SELECT: &str = "SELECT r.name, r.description, r.builtin,
        COALESCE(array_agg(p.permission ORDER BY p.permission)
                 FILTER (WHERE p.permission IS NOT NULL), '{}')
    FROM roles r LEFT JOIN role_permissions p ON p.role = r.name";

fn role_row(r: &postgres::Row) -> Result<Role> {
    Ok(Role {
        name: r.try_get(0)?,
        description: r.try_get(1)?,
        builtin: r.try_get::<_, i64>(2)? != 0,
        permissions: r.try_get(3)?,
    })
}

/// A service token with its sorted scopes and its creator's name.
const SERVICE_TOKEN_SELECT: &str = "SELECT t.id, t.name,
        ARRAY(SELECT permission FROM service_token_scopes s
              WHERE s.token_id = t.id ORDER BY permission),
        o.username, t.created_at, t.expires_at, t.last_used_at, t.last_used_addr,
        t.revoked_at IS NOT NULL
    FROM service_tokens t JOIN operators o ON o.id = t.created_by";

fn service_token_row(r: &postgres::Row) -> Result<ServiceToken> {
    Ok(ServiceToken {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        scopes: r.try_get(2)?,
        created_by: r.try_get(3)?,
        created_at: r.try_get(4)?,
        expires_at: r.try_get(5)?,
        last_used_at: r.try_get(6)?,
        last_used_addr: r.try_get(7)?,
        revoked: r.try_get(8)?,
    })
}

/// `pg_advisory_xact_lock` key of the role and owner changes.
const OWNER_LOCK: i64 = 0x696d_6164_6d00_0002;

/// Serialise the transactions that can take the last owner away or change what a role
/// grants. SQLite has one writer; here two concurrent "disable owner A" and "disable
/// owner B" would each see the other owner still enabled under READ COMMITTED and both
/// commit, leaving none. Under this lock, the second re-reads the first's result.
fn lock_owners(tx: &PgTx<'_>) -> Result<()> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&OWNER_LOCK])?;
    Ok(())
}

/// The invariant behind "the last owner cannot be removed or demoted": at least one
/// enabled operator holds `owner`. Checked inside the transaction that changes it, under
/// [`lock_owners`].
fn ensure_an_owner(tx: &PgTx<'_>) -> Result<()> {
    let owners: i64 = tx
        .query_one(
            "SELECT count(*) FROM operator_roles r JOIN operators o ON o.id = r.operator_id
             WHERE r.role = 'owner' AND o.disabled = 0",
            &[],
        )?
        .try_get(0)?;
    if owners == 0 {
        return Err(StoreError::Refused(
            "this would leave no enabled owner; grant `owner` to another operator first".into(),
        ));
    }
    Ok(())
}

/// An alert and its latest state change (none: open).
const ALERT_SELECT: &str = "SELECT a.id, a.at_ms, a.rule, a.severity, a.actor, a.detail,
        a.event_seq, e.state, e.at_ms, e.actor, e.note
     FROM alerts a LEFT JOIN alert_events e
       ON e.id = (SELECT max(id) FROM alert_events WHERE alert_id = a.id)";

fn alert_row(r: &postgres::Row) -> Result<imadm_api::audit::Alert> {
    let state: Option<String> = r.try_get(7)?;
    Ok(imadm_api::audit::Alert {
        id: r.try_get::<_, i64>(0)? as u64,
        at: imadm_api::audit::format_at(r.try_get(1)?),
        rule: r.try_get(2)?,
        severity: r.try_get(3)?,
        actor: r.try_get(4)?,
        detail: r.try_get(5)?,
        event_seq: r.try_get::<_, i64>(6)? as u64,
        state: state.unwrap_or_else(|| imadm_api::audit::ALERT_OPEN.to_owned()),
        state_at: r
            .try_get::<_, Option<i64>>(8)?
            .map(imadm_api::audit::format_at),
        state_by: r.try_get(9)?,
        note: r.try_get(10)?,
    })
}

/// One `audit_log` row (columns: seq, at_ms, actor_type, actor, source, action, target,
/// outcome, request_id, detail, hash) as its event.
pub(super) fn audit_event_row(r: &postgres::Row) -> Result<imadm_api::audit::AuditEvent> {
    Ok(imadm_api::audit::AuditEvent {
        seq: r.try_get::<_, i64>(0)? as u64,
        at: imadm_api::audit::format_at(r.try_get(1)?),
        actor_type: r.try_get(2)?,
        actor: r.try_get(3)?,
        source: r.try_get(4)?,
        action: r.try_get(5)?,
        target: r.try_get(6)?,
        outcome: r.try_get(7)?,
        request_id: r.try_get(8)?,
        detail: r.try_get(9)?,
        hash: r.try_get(10)?,
    })
}

impl Store for PgStore {
    /// One query: the epoch is shared by every instance on the database (`mod.rs`,
    /// `advance_epoch`).
    fn epoch(&self) -> u64 {
        self.read_epoch()
    }

    fn bump_epoch(&self) {
        self.bump_shared_epoch()
    }

    fn setting(&self, key: &str) -> Result<Option<String>> {
        self.conn()?
            .query_opt("SELECT value FROM settings WHERE key = $1", &[&key])?
            .map(|r| Ok(r.try_get(0)?))
            .transpose()
    }

    fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.write_plain(|tx| {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&key, &value],
            )
        })?;
        Ok(())
    }

    fn create_operator(
        &self,
        username: &str,
        password_hash: &str,
        must_change_password: bool,
        roles: &[&str],
        now: UnixTime,
    ) -> Result<i64> {
        self.write(|tx| {
            let res = tx.query_opt(
                "INSERT INTO operators (username, password_hash, must_change_password, created_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (username) DO NOTHING RETURNING id",
                &[&username, &password_hash, &flag(must_change_password), &now],
            )?;
            let Some(row) = res else {
                return Err(StoreError::Conflict(format!("operator {username:?}")));
            };
            let id: i64 = row.try_get(0)?;
            for role in roles {
                tx.execute(
                    "INSERT INTO operator_roles (operator_id, role) VALUES ($1, $2)",
                    &[&id, role],
                )?;
            }
            Ok(Done::Commit(id))
        })
    }

    fn operator_by_username(&self, username: &str) -> Result<Option<Operator>> {
        self.conn()?
            .query_opt(
                &format!("SELECT {OPERATOR_COLUMNS} FROM operators WHERE username = $1"),
                &[&username],
            )?
            .map(|r| operator_row(&r))
            .transpose()
    }

    fn operator_by_id(&self, id: i64) -> Result<Option<Operator>> {
        self.conn()?
            .query_opt(
                &format!("SELECT {OPERATOR_COLUMNS} FROM operators WHERE id = $1"),
                &[&id],
            )?
            .map(|r| operator_row(&r))
            .transpose()
    }

    fn operator_count(&self) -> Result<u64> {
        let n: i64 = self
            .conn()?
            .query_one("SELECT count(*) FROM operators", &[])?
            .try_get(0)?;
        Ok(n as u64)
    }

    fn login_succeeded(&self, id: i64, addr: &str, keep: usize, now: UnixTime) -> Result<()> {
        self.write_plain(|tx| {
            tx.execute(
                "UPDATE operators SET last_login_at = $2 WHERE id = $1",
                &[&id, &now],
            )?;
            tx.execute(
                "INSERT INTO operator_addresses (operator_id, addr, last_login_at)
                 VALUES ($1, $2, $3)
                 ON CONFLICT (operator_id, addr) DO UPDATE SET last_login_at = excluded.last_login_at",
                &[&id, &addr, &now],
            )?;
            tx.execute(
                "DELETE FROM operator_addresses WHERE operator_id = $1 AND addr NOT IN (
                     SELECT addr FROM operator_addresses WHERE operator_id = $1
                     ORDER BY last_login_at DESC, addr LIMIT $2)",
                &[&id, &(keep as i64)],
            )?;
            Ok(())
        })
    }

    fn is_known_address(&self, id: i64, addr: &str, since: UnixTime) -> Result<bool> {
        Ok(self
            .conn()?
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM operator_addresses
                   WHERE operator_id = $1 AND addr = $2 AND last_login_at >= $3)",
                &[&id, &addr, &since],
            )?
            .try_get(0)?)
    }

    fn set_password(&self, id: i64, hash: &str, must_change: bool) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE operators SET password_hash = $2, must_change_password = $3 WHERE id = $1",
                &[&id, &hash, &flag(must_change)],
            )?;
            Ok(Done::Commit(()))
        })
    }

    fn operator_roles(&self, id: i64) -> Result<Vec<String>> {
        strings(self.conn()?.query(
            "SELECT role FROM operator_roles WHERE operator_id = $1 ORDER BY role",
            &[&id],
        )?)
    }

    fn last_login_addresses(&self) -> Result<Vec<(i64, String)>> {
        self.conn()?
            .query(
                "SELECT DISTINCT ON (operator_id) operator_id, addr FROM operator_addresses
                 ORDER BY operator_id, last_login_at DESC, addr",
                &[],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    fn operator_permissions(&self, id: i64) -> Result<Vec<String>> {
        strings(self.read(
            "SELECT DISTINCT rp.permission FROM operator_roles o
             JOIN role_permissions rp ON rp.role = o.role
             WHERE o.operator_id = $1 ORDER BY rp.permission",
            &[&id],
        )?)
    }

    fn consume_totp_step(&self, id: i64, step: u64) -> Result<bool> {
        // Compare-and-set: the row lock makes a concurrent consumer of the same step wait,
        // then re-check the condition against the committed step and update nothing.
        let n = self.write_plain(|tx| {
            tx.execute(
                "UPDATE operators SET last_totp_step = $2
                 WHERE id = $1 AND (last_totp_step IS NULL OR last_totp_step < $2)",
                &[&id, &(step as i64)],
            )
        })?;
        Ok(n == 1)
    }

    fn cap_totp_step(&self, id: i64, max: u64) -> Result<()> {
        self.write_plain(|tx| {
            tx.execute(
                "UPDATE operators SET last_totp_step = $2 WHERE id = $1 AND last_totp_step > $2",
                &[&id, &(max as i64)],
            )
        })?;
        Ok(())
    }

    fn set_pending_totp(&self, id: i64, sealed: &[u8]) -> Result<()> {
        self.write_plain(|tx| {
            tx.execute(
                "UPDATE operators SET totp_pending = $2 WHERE id = $1",
                &[&id, &sealed],
            )
        })?;
        Ok(())
    }

    fn activate_totp(&self, id: i64, step: u64, recovery_hashes: &[String]) -> Result<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE operators SET totp_secret = totp_pending, totp_pending = NULL,
                     last_totp_step = $2
                 WHERE id = $1 AND totp_pending IS NOT NULL
                   AND (last_totp_step IS NULL OR last_totp_step < $2)",
                &[&id, &(step as i64)],
            )?;
            if n != 1 {
                return Ok(Done::Rollback(false));
            }
            replace_codes(tx, id, recovery_hashes)?;
            Ok(Done::Commit(true))
        })
    }

    fn replace_recovery_codes(&self, id: i64, recovery_hashes: &[String]) -> Result<()> {
        self.write(|tx| {
            replace_codes(tx, id, recovery_hashes)?;
            Ok(Done::Commit(()))
        })
    }

    fn use_recovery_code(&self, id: i64, hash: &str, now: UnixTime) -> Result<bool> {
        let n = self.write_plain(|tx| {
            tx.execute(
                "UPDATE recovery_codes SET used_at = $3
                 WHERE operator_id = $1 AND code_hash = $2 AND used_at IS NULL",
                &[&id, &hash, &now],
            )
        })?;
        Ok(n == 1)
    }

    fn recovery_codes_left(&self, id: i64) -> Result<u32> {
        let n: i64 = self
            .conn()?
            .query_one(
                "SELECT count(*) FROM recovery_codes WHERE operator_id = $1 AND used_at IS NULL",
                &[&id],
            )?
            .try_get(0)?;
        Ok(n as u32)
    }

    fn disable_totp(&self, id: i64, keep_last_factor: bool) -> Result<Removal> {
        self.write(|tx| {
            // The operator's row lock first, as a passkey removal takes it: the one that
            // waits then sees what the other left (READ COMMITTED would not).
            if lock_operator(tx, id)?.is_none() {
                return Ok(Done::Rollback(Removal::NotFound));
            }
            let passkeys: i64 = tx
                .query_one(
                    "SELECT count(*) FROM passkeys WHERE operator_id = $1",
                    &[&id],
                )?
                .try_get(0)?;
            if passkeys == 0 && keep_last_factor {
                return Ok(Done::Rollback(Removal::LastFactor));
            }
            tx.execute(
                "UPDATE operators SET totp_secret = NULL, totp_pending = NULL WHERE id = $1",
                &[&id],
            )?;
            tx.execute("DELETE FROM recovery_codes WHERE operator_id = $1", &[&id])?;
            Ok(Done::Commit(Removal::Removed))
        })
    }

    fn set_totp_secret(&self, id: i64, sealed: &[u8]) -> Result<()> {
        self.write_plain(|tx| {
            tx.execute(
                "UPDATE operators SET totp_secret = $2, totp_pending = NULL WHERE id = $1",
                &[&id, &sealed],
            )
        })?;
        Ok(())
    }

    fn create_mfa_challenge(
        &self,
        hash: &str,
        operator_id: i64,
        expires_at: UnixTime,
    ) -> Result<()> {
        self.write_plain(|tx| {
            tx.execute(
                "DELETE FROM mfa_challenges WHERE expires_at < $1",
                &[&(expires_at - 3600)],
            )?;
            tx.execute(
                "INSERT INTO mfa_challenges (token_hash, operator_id, expires_at)
                 VALUES ($1, $2, $3)",
                &[&hash, &operator_id, &expires_at],
            )
        })?;
        Ok(())
    }

    fn mfa_challenge(&self, hash: &str, now: UnixTime) -> Result<Option<i64>> {
        self.conn()?
            .query_opt(
                "SELECT operator_id FROM mfa_challenges WHERE token_hash = $1 AND expires_at > $2",
                &[&hash, &now],
            )?
            .map(|r| Ok(r.try_get(0)?))
            .transpose()
    }

    fn delete_mfa_challenge(&self, hash: &str) -> Result<()> {
        self.write_plain(|tx| {
            tx.execute("DELETE FROM mfa_challenges WHERE token_hash = $1", &[&hash])
        })?;
        Ok(())
    }

    fn create_session(&self, s: &NewSession, now: UnixTime) -> Result<i64> {
        self.write_plain(|tx| {
            Ok(tx
                .query_one(
                    "INSERT INTO sessions (operator_id, access_hash, access_expires_at,
                         refresh_hash, refresh_expires_at, absolute_expires_at, restrictions,
                         source_addr, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                    &[
                        &s.operator_id,
                        &s.access_hash,
                        &s.access_expires_at,
                        &s.refresh_hash,
                        &s.refresh_expires_at.min(s.absolute_expires_at),
                        &s.absolute_expires_at,
                        &s.restrictions.join(","),
                        &s.source_addr,
                        &now,
                    ],
                )?
                .try_get(0)?)
        })
    }

    fn session_by_access_hash(&self, hash: &str) -> Result<Option<Session>> {
        self.conn()?
            .query_opt(
                &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE access_hash = $1"),
                &[&hash],
            )?
            .map(|r| session_row(&r))
            .transpose()
    }

    fn rotate_refresh(
        &self,
        refresh_hash: &str,
        r: &Rotation,
        now: UnixTime,
        grace: &Grace<'_>,
    ) -> Result<RotateOutcome> {
        self.write(|tx| {
            tx.execute(CLEAR_ENDED_GRACE, &[&now])?;
            // Compare-and-set on the refresh hash: of two concurrent rotations of one
            // token, the second waits for the row lock, re-checks `refresh_hash = $1` on
            // the committed row, updates nothing and goes on to the grace/reuse branch.
            let updated = tx.query_opt(
                &format!(
                    "UPDATE sessions SET access_hash = $2, access_expires_at = $3,
                         prev_refresh_hash = refresh_hash, refresh_hash = $4,
                         refresh_expires_at = LEAST($5, absolute_expires_at),
                         grace_tokens = NULL, grace_until = NULL
                     WHERE refresh_hash = $1 AND revoked_at IS NULL
                       AND refresh_expires_at > $6 AND absolute_expires_at > $6
                     RETURNING {SESSION_COLUMNS}"
                ),
                &[
                    &refresh_hash,
                    &r.access_hash,
                    &r.access_expires_at,
                    &r.refresh_hash,
                    &r.refresh_expires_at,
                    &now,
                ],
            )?;
            if let Some(row) = updated {
                let s = session_row(&row)?;
                if grace.until > now {
                    tx.execute(
                        "UPDATE sessions SET grace_tokens = $2, grace_until = $3 WHERE id = $1",
                        &[&s.id, &(grace.seal)(s.id), &grace.until],
                    )?;
                }
                return Ok(Done::Commit(RotateOutcome::Rotated(s)));
            }
            let previous = tx.query_opt(
                &format!(
                    "SELECT {SESSION_COLUMNS}, grace_until, grace_tokens FROM sessions
                     WHERE prev_refresh_hash = $1 AND revoked_at IS NULL FOR UPDATE"
                ),
                &[&refresh_hash],
            )?;
            let outcome = match previous {
                None => RotateOutcome::Invalid,
                Some(row) => {
                    let session = session_row(&row)?;
                    let until: Option<i64> = row.try_get(7)?;
                    let sealed: Option<Vec<u8>> = row.try_get(8)?;
                    match (until, sealed) {
                        (Some(until), Some(sealed))
                            if until > now
                                && session.refresh_expires_at > now
                                && session.absolute_expires_at > now =>
                        {
                            RotateOutcome::Grace { session, sealed }
                        }
                        _ => {
                            tx.execute(
                                "UPDATE sessions SET revoked_at = $2, grace_tokens = NULL,
                                     grace_until = NULL
                                 WHERE id = $1",
                                &[&session.id, &now],
                            )?;
                            RotateOutcome::Reused {
                                session_id: session.id,
                                operator_id: session.operator_id,
                            }
                        }
                    }
                }
            };
            Ok(Done::Commit(outcome))
        })
    }

    fn clear_refresh_grace(&self, now: UnixTime) -> Result<()> {
        let any: bool = self
            .conn()?
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM sessions WHERE grace_until <= $1)",
                &[&now],
            )?
            .try_get(0)?;
        if any {
            self.write_plain(|tx| tx.execute(CLEAR_ENDED_GRACE, &[&now]))?;
        }
        Ok(())
    }

    fn upgrade_session(&self, id: i64, r: &Rotation, restrictions: &[String]) -> Result<()> {
        self.write_plain(|tx| {
            tx.execute(
                "UPDATE sessions SET access_hash = $2, access_expires_at = $3,
                     prev_refresh_hash = refresh_hash, refresh_hash = $4,
                     refresh_expires_at = LEAST($5, absolute_expires_at), restrictions = $6,
                     grace_tokens = NULL, grace_until = NULL
                 WHERE id = $1",
                &[
                    &id,
                    &r.access_hash,
                    &r.access_expires_at,
                    &r.refresh_hash,
                    &r.refresh_expires_at,
                    &restrictions.join(","),
                ],
            )
        })?;
        Ok(())
    }

    fn revoke_session(&self, id: i64, now: UnixTime) -> Result<()> {
        self.write_plain(|tx| {
            tx.execute(
                "UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                &[&id, &now],
            )
        })?;
        Ok(())
    }

    fn revoke_operator_sessions(
        &self,
        operator_id: i64,
        keep: Option<i64>,
        now: UnixTime,
    ) -> Result<()> {
        self.write_plain(|tx| {
            tx.execute(
                "UPDATE sessions SET revoked_at = $2
                 WHERE operator_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $3",
                &[&operator_id, &now, &keep],
            )
        })?;
        Ok(())
    }

    fn append_event(&self, e: &AuthEvent, now: UnixTime) -> Result<()> {
        // The authentication event and its audit-log entry commit together (fail-closed).
        let rules = self.alert_rules();
        self.write_plain(|tx| {
            tx.execute(
                "INSERT INTO auth_events (at, operator_id, username, event, outcome,
                     source_addr, request_id, detail)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &now,
                    &e.operator_id,
                    &e.username,
                    &e.event,
                    &e.outcome,
                    &e.source_addr,
                    &e.request_id,
                    &e.detail,
                ],
            )?;
            if let Some(a) = crate::store::audit::from_auth_event(e) {
                crate::store::audit::insert(tx, &a, crate::store::audit::now_ms(), &rules)?;
            }
            Ok(())
        })
    }

    fn recent_events(&self, limit: u32) -> Result<Vec<StoredEvent>> {
        self.conn()?
            .query(
                "SELECT id, at, operator_id, username, event, outcome, source_addr, request_id,
                     detail
                 FROM auth_events ORDER BY id DESC LIMIT $1",
                &[&i64::from(limit)],
            )?
            .iter()
            .map(|r| {
                Ok(StoredEvent {
                    id: r.try_get(0)?,
                    at: r.try_get(1)?,
                    event: AuthEvent {
                        operator_id: r.try_get(2)?,
                        username: r.try_get(3)?,
                        event: r.try_get(4)?,
                        outcome: r.try_get(5)?,
                        source_addr: r.try_get(6)?,
                        request_id: r.try_get(7)?,
                        detail: r.try_get(8)?,
                    },
                })
            })
            .collect()
    }

    fn append_audit(&self, e: &crate::store::audit::NewAudit) -> Result<()> {
        let rules = self.alert_rules();
        self.write_plain(|tx| {
            crate::store::audit::insert(tx, e, crate::store::audit::now_ms(), &rules)?;
            Ok(())
        })
    }

    fn audit_hash_at(&self, seq: Option<u64>) -> Result<Option<(u64, String)>> {
        let mut conn = self.conn()?;
        let row = match seq {
            Some(s) => conn.query_opt(
                "SELECT seq, hash FROM audit_log WHERE seq = $1",
                &[&(s as i64)],
            )?,
            None => conn.query_opt(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                &[],
            )?,
        };
        row.map(|r| Ok((r.try_get::<_, i64>(0)? as u64, r.try_get(1)?)))
            .transpose()
    }

    fn list_roles(&self) -> Result<Vec<Role>> {
        self.conn()?
            .query(
                &format!("{ROLE_SELECT} GROUP BY r.name ORDER BY r.builtin DESC, r.name"),
                &[],
            )?
            .iter()
            .map(role_row)
            .collect()
    }

    fn role(&self, name: &str) -> Result<Option<Role>> {
        self.conn()?
            .query_opt(
                &format!("{ROLE_SELECT} WHERE r.name = $1 GROUP BY r.name"),
                &[&name],
            )?
            .map(|r| role_row(&r))
            .transpose()
    }

    fn write_roles(&self, upserts: &[Role], deletes: &[String]) -> Result<()> {
        self.write(|tx| {
            // Roles held and built-in flags are re-read under this lock: a concurrent
            // grant of a role being deleted waits (see `lock_owners`).
            lock_owners(tx)?;
            let builtin = |name: &str| -> Result<bool> {
                Ok(tx
                    .query_opt("SELECT builtin FROM roles WHERE name = $1", &[&name])?
                    .map(|r| r.try_get::<_, i64>(0))
                    .transpose()?
                    .is_some_and(|b| b != 0))
            };
            for name in deletes {
                if builtin(name)? {
                    return Err(StoreError::Refused(format!(
                        "built-in role {name:?} cannot be deleted"
                    )));
                }
                let holders: i64 = tx
                    .query_one(
                        "SELECT count(*) FROM operator_roles WHERE role = $1",
                        &[name],
                    )?
                    .try_get(0)?;
                if holders > 0 {
                    return Err(StoreError::Refused(format!(
                        "role {name:?} is still held by {holders} operator(s); revoke it first"
                    )));
                }
                tx.execute("DELETE FROM roles WHERE name = $1", &[name])?;
            }
            for role in upserts {
                if builtin(&role.name)? {
                    return Err(StoreError::Refused(format!(
                        "built-in role {:?} cannot be changed",
                        role.name
                    )));
                }
                tx.execute(
                    "INSERT INTO roles (name, description, builtin) VALUES ($1, $2, 0)
                     ON CONFLICT (name) DO UPDATE SET description = excluded.description",
                    &[&role.name, &role.description],
                )?;
                tx.execute(
                    "DELETE FROM role_permissions WHERE role = $1",
                    &[&role.name],
                )?;
                for p in &role.permissions {
                    tx.execute(
                        "INSERT INTO role_permissions (role, permission) VALUES ($1, $2)",
                        &[&role.name, p],
                    )?;
                }
            }
            Ok(Done::Commit(()))
        })
    }

    fn list_operators(&self, after_id: i64, limit: u32) -> Result<Vec<Operator>> {
        self.conn()?
            .query(
                &format!(
                    "SELECT {OPERATOR_COLUMNS} FROM operators WHERE id > $1 ORDER BY id LIMIT $2"
                ),
                &[&after_id, &i64::from(limit)],
            )?
            .iter()
            .map(operator_row)
            .collect()
    }

    fn role_holders(&self) -> Result<Vec<RoleHolder>> {
        self.conn()?
            .query(
                "SELECT o.id, o.username, array_agg(r.role ORDER BY r.role)
                 FROM operators o JOIN operator_roles r ON r.operator_id = o.id
                 GROUP BY o.id ORDER BY o.id",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(RoleHolder {
                    id: r.try_get(0)?,
                    username: r.try_get(1)?,
                    roles: r.try_get(2)?,
                })
            })
            .collect()
    }

    fn change_roles(&self, operator_id: i64, grant: &[String], revoke: &[String]) -> Result<()> {
        self.write(|tx| {
            lock_owners(tx)?;
            for role in grant {
                if tx
                    .query_opt("SELECT 1 FROM roles WHERE name = $1", &[role])?
                    .is_none()
                {
                    return Err(StoreError::Refused(format!("no role named {role:?}")));
                }
                tx.execute(
                    "INSERT INTO operator_roles (operator_id, role) VALUES ($1, $2)
                     ON CONFLICT DO NOTHING",
                    &[&operator_id, role],
                )?;
            }
            for role in revoke {
                tx.execute(
                    "DELETE FROM operator_roles WHERE operator_id = $1 AND role = $2",
                    &[&operator_id, role],
                )?;
            }
            ensure_an_owner(tx)?;
            Ok(Done::Commit(()))
        })
    }

    fn set_operator_disabled(&self, operator_id: i64, disabled: bool) -> Result<()> {
        self.write(|tx| {
            lock_owners(tx)?;
            tx.execute(
                "UPDATE operators SET disabled = $2 WHERE id = $1",
                &[&operator_id, &flag(disabled)],
            )?;
            ensure_an_owner(tx)?;
            Ok(Done::Commit(()))
        })
    }

    fn delete_operator(&self, operator_id: i64) -> Result<()> {
        self.write(|tx| {
            lock_owners(tx)?;
            tx.execute("DELETE FROM operators WHERE id = $1", &[&operator_id])?;
            ensure_an_owner(tx)?;
            Ok(Done::Commit(()))
        })
    }

    fn create_service_token(&self, t: &NewServiceToken, now: UnixTime) -> Result<i64> {
        self.write(|tx| {
            let id: i64 = tx
                .query_one(
                    "INSERT INTO service_tokens (name, token_hash, created_by, created_at,
                         expires_at)
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    &[&t.name, &t.token_hash, &t.created_by, &now, &t.expires_at],
                )?
                .try_get(0)?;
            for p in &t.scopes {
                tx.execute(
                    "INSERT INTO service_token_scopes (token_id, permission) VALUES ($1, $2)
                     ON CONFLICT DO NOTHING",
                    &[&id, p],
                )?;
            }
            Ok(Done::Commit(id))
        })
    }

    fn service_token_by_hash(&self, hash: &str, now: UnixTime) -> Result<Option<LiveServiceToken>> {
        self.conn()?
            .query_opt(
                "SELECT id, created_by, expires_at,
                     ARRAY(SELECT permission FROM service_token_scopes s
                           WHERE s.token_id = t.id ORDER BY permission)
                 FROM service_tokens t
                 WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
                &[&hash, &now],
            )?
            .map(|r| {
                Ok(LiveServiceToken {
                    id: r.try_get(0)?,
                    created_by: r.try_get(1)?,
                    expires_at: r.try_get(2)?,
                    scopes: r.try_get(3)?,
                })
            })
            .transpose()
    }

    fn touch_service_token(
        &self,
        id: i64,
        addr: Option<&str>,
        now: UnixTime,
    ) -> Result<Option<String>> {
        // The address before this use, read and replaced in one statement (the old row
        // version is what the self-join sees).
        self.write_plain(|tx| {
            Ok(tx
                .query_opt(
                    "UPDATE service_tokens t SET last_used_at = $2, last_used_addr = $3
                     FROM service_tokens old WHERE t.id = $1 AND old.id = t.id
                     RETURNING old.last_used_addr",
                    &[&id, &now, &addr],
                )?
                .map(|r| r.try_get::<_, Option<String>>(0))
                .transpose()?
                .flatten())
        })
    }

    fn list_service_tokens(&self) -> Result<Vec<ServiceToken>> {
        self.conn()?
            .query(&format!("{SERVICE_TOKEN_SELECT} ORDER BY t.id"), &[])?
            .iter()
            .map(service_token_row)
            .collect()
    }

    fn service_token(&self, id: i64) -> Result<Option<ServiceToken>> {
        self.conn()?
            .query_opt(&format!("{SERVICE_TOKEN_SELECT} WHERE t.id = $1"), &[&id])?
            .map(|r| service_token_row(&r))
            .transpose()
    }

    fn revoke_service_token(&self, id: i64, now: UnixTime) -> Result<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE service_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                &[&id, &now],
            )?;
            Ok(Done::Commit(n == 1))
        })
    }

    fn audit_events(
        &self,
        q: &crate::store::audit::EventFilter,
    ) -> Result<Vec<imadm_api::audit::AuditEvent>> {
        let (after, to) = (q.after as i64, q.to.map_or(i64::MAX, |t| t as i64));
        // One statement whatever the filters: unset ones compare against NULL. An action
        // ending in `.` is a prefix (`auth.` = every authentication event).
        self.conn()?
            .query(
                "SELECT seq, at_ms, actor_type, actor, source, action, target, outcome,
                     request_id, detail, hash
                 FROM audit_log
                 WHERE seq > $1 AND seq <= $2
                   AND ($3::BIGINT IS NULL OR at_ms >= $3) AND ($4::BIGINT IS NULL OR at_ms <= $4)
                   AND ($5::TEXT IS NULL OR actor = $5)
                   AND ($6::TEXT IS NULL OR action = $6
                        OR (right($6, 1) = '.' AND left(action, length($6)) = $6))
                   AND ($8::TEXT IS NULL OR target = $8)
                 ORDER BY seq LIMIT $7",
                &[
                    &after,
                    &to,
                    &q.since_ms,
                    &q.until_ms,
                    &q.actor,
                    &q.action,
                    &i64::from(q.limit),
                    &q.target,
                ],
            )?
            .iter()
            .map(audit_event_row)
            .collect()
    }

    fn audit_events_json(
        &self,
        q: &crate::store::audit::EventFilter,
        out: &mut Vec<u8>,
    ) -> Result<(u32, Option<u64>)> {
        // serde's own form of each event (SQLite writes the same bytes by hand, faster).
        let events = self.audit_events(q)?;
        for (i, ev) in events.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            serde_json::to_writer(&mut *out, ev)
                .map_err(|e| StoreError::Backend(format!("an audit event as JSON: {e}")))?;
        }
        Ok((events.len() as u32, events.last().map(|e| e.seq)))
    }

    fn audit_range(&self, since_ms: Option<i64>, until_ms: Option<i64>) -> Result<(u64, u64, u64)> {
        let r = self.conn()?.query_one(
            "SELECT min(seq), max(seq), count(*) FROM audit_log
             WHERE ($1::BIGINT IS NULL OR at_ms >= $1) AND ($2::BIGINT IS NULL OR at_ms <= $2)",
            &[&since_ms, &until_ms],
        )?;
        let (first, last, count): (Option<i64>, Option<i64>, i64) =
            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        Ok((
            first.unwrap_or(0) as u64,
            last.unwrap_or(0) as u64,
            count as u64,
        ))
    }

    fn save_checkpoint(&self, cp: &imadm_api::audit::Checkpoint) -> Result<()> {
        self.write_plain(|tx| {
            tx.execute(
                "INSERT INTO audit_checkpoints (seq, head, at, server_id, signature)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &(cp.seq as i64),
                    &cp.head,
                    &cp.at,
                    &cp.server_id,
                    &cp.signature,
                ],
            )
        })?;
        Ok(())
    }

    fn audit_lag(&self, after: u64) -> Result<(u64, Option<i64>)> {
        let r = self.conn()?.query_one(
            "SELECT (SELECT max(seq) FROM audit_log),
                    (SELECT at_ms FROM audit_log WHERE seq = $1::BIGINT + 1)",
            &[&(after as i64)],
        )?;
        let (head, oldest): (Option<i64>, Option<i64>) = (r.try_get(0)?, r.try_get(1)?);
        Ok((head.unwrap_or(0) as u64, oldest))
    }

    fn raise_alert(&self, alert: &crate::store::audit::SystemAlert) -> Result<()> {
        let rules = self.alert_rules();
        self.write_plain(|tx| {
            crate::store::audit::raise_system_alert(
                tx,
                alert,
                crate::store::audit::now_ms(),
                &rules,
            )
        })
    }

    fn sink_cursor(&self, name: &str) -> Result<Option<(u64, String)>> {
        self.conn()?
            .query_opt(
                "SELECT seq, hash FROM audit_sink_cursors WHERE name = $1",
                &[&name],
            )?
            .map(|r| Ok((r.try_get::<_, i64>(0)? as u64, r.try_get(1)?)))
            .transpose()
    }

    fn set_sink_cursor(&self, name: &str, seq: u64, hash: &str, now_ms: i64) -> Result<()> {
        self.write_plain(|tx| {
            tx.execute(
                "INSERT INTO audit_sink_cursors (name, seq, hash, at_ms) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (name) DO UPDATE
                   SET seq = excluded.seq, hash = excluded.hash, at_ms = excluded.at_ms",
                &[&name, &(seq as i64), &hash, &now_ms],
            )
        })?;
        Ok(())
    }

    fn alerts(&self, f: &AlertFilter) -> Result<Vec<imadm_api::audit::Alert>> {
        let states = (!f.states.is_empty()).then_some(&f.states);
        self.conn()?
            .query(
                &format!(
                    "{ALERT_SELECT}
                     WHERE a.id > $1 AND ($2::BIGINT IS NULL OR a.at_ms >= $2)
                       AND (CASE a.severity WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END) >= $3::BIGINT
                       AND ($4::TEXT[] IS NULL OR coalesce(e.state, 'open') = ANY($4))
                     ORDER BY a.id LIMIT $5"
                ),
                &[
                    &(f.after as i64),
                    &f.since_ms,
                    &i64::from(f.min_rank),
                    &states,
                    &i64::from(f.limit),
                ],
            )?
            .iter()
            .map(alert_row)
            .collect()
    }

    fn alert(&self, id: u64) -> Result<Option<imadm_api::audit::Alert>> {
        self.conn()?
            .query_opt(&format!("{ALERT_SELECT} WHERE a.id = $1"), &[&(id as i64)])?
            .map(|r| alert_row(&r))
            .transpose()
    }

    fn change_alert_state(&self, ch: &AlertStateChange<'_>) -> Result<AlertChanged> {
        let rules = self.alert_rules();
        self.write(|tx| {
            // The alert row locked first (a lock, not a change: the append-only trigger
            // does not fire): two operators resolving it at once are serialised, and the
            // second sees the first's state and is refused.
            if tx
                .query_opt(
                    "SELECT id FROM alerts WHERE id = $1 FOR UPDATE",
                    &[&(ch.id as i64)],
                )?
                .is_none()
            {
                return Ok(Done::Rollback(AlertChanged::NotFound));
            }
            let current = alert_row(&tx.query_one(
                &format!("{ALERT_SELECT} WHERE a.id = $1"),
                &[&(ch.id as i64)],
            )?)?;
            if !ch.from.contains(&current.state.as_str()) {
                return Ok(Done::Rollback(AlertChanged::Refused(current.state)));
            }
            tx.execute(
                "INSERT INTO alert_events (alert_id, state, actor, note, at_ms)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&(ch.id as i64), &ch.to, &ch.actor, &ch.note, &ch.at_ms],
            )?;
            let alert = alert_row(&tx.query_one(
                &format!("{ALERT_SELECT} WHERE a.id = $1"),
                &[&(ch.id as i64)],
            )?)?;
            if alert.state == imadm_api::audit::ALERT_RESOLVED {
                tx.enqueue_alert(&rules.notify_routes, &alert, None, ch.at_ms)?;
            }
            Ok(Done::Commit(AlertChanged::Changed(Box::new(alert))))
        })
    }

    fn add_attestation(
        &self,
        a: &imadm_api::access::AttestationCreate,
        recorded_by: &str,
        now: UnixTime,
    ) -> Result<i64> {
        self.write(|tx| {
            Ok(Done::Commit(
                tx.query_one(
                    "INSERT INTO access_attestations (reviewer, recorded_by, review_sha256,
                         signature, attested_at, operators, tokens, keep, revoke)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                    &[
                        &a.reviewer,
                        &recorded_by,
                        &a.review_sha256,
                        &a.signature,
                        &now,
                        &i64::from(a.operators),
                        &i64::from(a.tokens),
                        &i64::from(a.keep),
                        &i64::from(a.revoke),
                    ],
                )?
                .try_get(0)?,
            ))
        })
    }

    fn attestations(&self, limit: u32) -> Result<Vec<imadm_api::access::Attestation>> {
        let count =
            |r: &postgres::Row, i: usize| -> Result<u32> { Ok(r.try_get::<_, i64>(i)? as u32) };
        self.conn()?
            .query(
                "SELECT id, reviewer, recorded_by, review_sha256, signature, attested_at,
                        operators, tokens, keep, revoke
                 FROM access_attestations ORDER BY id DESC LIMIT $1",
                &[&i64::from(limit)],
            )?
            .iter()
            .map(|r| {
                Ok(imadm_api::access::Attestation {
                    id: r.try_get(0)?,
                    reviewer: r.try_get(1)?,
                    recorded_by: r.try_get(2)?,
                    review_sha256: r.try_get(3)?,
                    signature: r.try_get(4)?,
                    attested_at: r.try_get(5)?,
                    operators: count(r, 6)?,
                    tokens: count(r, 7)?,
                    keep: count(r, 8)?,
                    revoke: count(r, 9)?,
                })
            })
            .collect()
    }
}
