//! The SQLite side of what a restore keeps (the classes and rules are
//! `store::restore`'s: data rolls back; history never does; security state merges to the
//! most restrictive). Everything here runs on the staging connection with the live
//! database attached read-only as schema `live` (`sqlite::attach_read_only`), staging
//! being `main`:
//!
//! - [`relate`]: how the snapshot's audit ledger relates to the live one (the live one
//!   extends it; the live one is behind it; disaster recovery onto a new install; a fork);
//! - [`History`]: the history that ends up in the staging file, copied in two passes:
//!   the bulk before the store's write lock, then, under it, whatever live committed since;
//! - [`security`]: operators and service tokens merged to the more restrictive of live
//!   and snapshot, every session and MFA challenge gone; [`erasures`]: IM users erased in
//!   live are erased again in the restored data; [`install_tables`] (the install's
//!   identity), [`carry_sequences`] (ids are never reused), [`owners_with_mfa`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use imadm_api::audit::{AuditEvent, GENESIS, chain_next, format_at, hash_hex, parse_hash};
use imadm_api::codes;
use rusqlite::{Connection, OptionalExtension, params};

use super::backup::db_err;
use crate::error::ApiError;
use crate::store::restore::{
    Appended, ChainHead, Class, Ledger, MERGED, PrincipalNote, Relation, TABLES, note,
};

/// The events a new install makes before its first restore: what a live ledger may hold
/// for a restore to count as disaster recovery. Logins, MFA and their alerts, and reads
/// and restore attempts that changed nothing; no change to data, operators, roles or
/// tokens. As an SQL condition on `action` and `outcome`.
pub const INSTALL_ACTIONS: &str = "action GLOB 'auth.*' OR action GLOB 'mfa.*' \
     OR action IN ('alert.raised', 'audit.export', 'backup.run', 'backup.restore_dry_run') \
     OR (action = 'backup.restore' AND outcome <> 'success')";

fn head(c: &Connection, schema: &str) -> Result<Option<ChainHead>, ApiError> {
    c.query_row(
        &format!("SELECT seq, hash FROM {schema}.audit_log ORDER BY seq DESC LIMIT 1"),
        [],
        |r| {
            Ok(ChainHead {
                seq: r.get::<_, i64>(0)? as u64,
                hash: r.get(1)?,
            })
        },
    )
    .optional()
    .map_err(db_err)
}

/// Whether `schema`'s ledger holds `h` (the same hash at that seq), so its chain up to
/// there is `h`'s.
fn holds(c: &Connection, schema: &str, h: &ChainHead) -> Result<bool, ApiError> {
    let at: Option<String> = c
        .query_row(
            &format!("SELECT hash FROM {schema}.audit_log WHERE seq = ?1"),
            [h.seq as i64],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err)?;
    Ok(at.as_deref() == Some(h.hash.as_str()))
}

/// Relate the snapshot's ledger (`main`) to the live one (`live`).
pub fn relate(
    c: &Connection,
    snapshot_server: &str,
    live_server: &str,
) -> Result<Ledger, ApiError> {
    let snapshot_head = head(c, "main")?;
    let live_head = head(c, "live")?;
    let relation = match (&snapshot_head, &live_head) {
        (None, _) => Relation::Extends,
        (Some(s), _) if holds(c, "live", s)? => Relation::Extends,
        (Some(_), None) => Relation::Behind,
        (Some(_), Some(l)) if holds(c, "main", l)? => Relation::Behind,
        _ if snapshot_server != live_server && install_only(c)? => Relation::Recovery,
        _ => Relation::Fork,
    };
    Ok(Ledger {
        relation,
        snapshot_head,
        live_head,
    })
}

fn install_only(c: &Connection) -> Result<bool, ApiError> {
    c.query_row(
        &format!("SELECT NOT EXISTS (SELECT 1 FROM live.audit_log WHERE NOT ({INSTALL_ACTIONS}))"),
        [],
        |r| r.get(0),
    )
    .map_err(db_err)
}

/// The history the staging file ends up with, copied from live in passes
/// ([`History::copy`]): all of it before the store's write lock, then under the lock
/// what live committed meanwhile, so no event is lost.
///
/// When the live ledger stays (extends, fork), the snapshot's history rows are dropped
/// and live's copied as they are. When the snapshot's is continued (behind, recovery),
/// the live events past the common prefix are appended to it as new events: the next
/// sequence numbers, chained on the snapshot's head (`at` never goes backwards), alert
/// ids renumbered past the snapshot's and `alert:<id>` targets with them, every other
/// field as it was; `auth_events` and checkpoints get new ids, `token_sources` the new
/// sequence numbers. The restore event names the original range and head ([`Appended`]).
pub struct History {
    relation: Relation,
    /// Live events up to here were in the snapshot's ledger already (behind).
    common: u64,
    /// The snapshot's head: where appended events continue.
    snapshot_seq: u64,
    /// Per history table, the largest key copied; absent before the first pass.
    copied: BTreeMap<&'static str, i64>,
    /// The last live event copied, and its hash: a later pass checks that live still
    /// has it (a restore that ran meanwhile would have replaced the live ledger).
    last_live: Option<(i64, String)>,
    alert_ids: HashMap<i64, i64>,
    appended: Option<Appended>,
}

fn history_tables() -> impl Iterator<Item = (&'static str, &'static str)> {
    TABLES.iter().filter_map(|(t, c)| match c {
        Class::History { key } => Some((*t, *key)),
        _ => None,
    })
}

fn max_key(c: &Connection, schema: &str, table: &str, key: &str) -> Result<i64, ApiError> {
    c.query_row(
        &format!("SELECT coalesce(max({key}), 0) FROM {schema}.{table}"),
        [],
        |r| r.get(0),
    )
    .map_err(db_err)
}

/// Every column of `table` but `id`, comma-joined.
fn columns_but_id(c: &Connection, table: &str) -> Result<String, ApiError> {
    let mut stmt = c
        .prepare(&format!(
            "SELECT name FROM pragma_table_info('{table}', 'main')"
        ))
        .map_err(db_err)?;
    let cols: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .map_err(db_err)?
        .collect::<rusqlite::Result<_>>()
        .map_err(db_err)?;
    Ok(cols
        .into_iter()
        .filter(|c| c != "id")
        .collect::<Vec<_>>()
        .join(", "))
}

impl History {
    pub fn new(c: &Connection, ledger: &Ledger) -> Result<Self, ApiError> {
        let mut copied = BTreeMap::new();
        let mut common = 0;
        if ledger.relation == Relation::Behind {
            // Everything live holds now is in the snapshot already; only later rows are
            // appended.
            common = ledger.live_head.as_ref().map_or(0, |h| h.seq);
            for (table, key) in history_tables() {
                if table != "audit_log" && table != "token_sources" {
                    copied.insert(table, max_key(c, "live", table, key)?);
                }
            }
        }
        Ok(History {
            relation: ledger.relation,
            common,
            snapshot_seq: ledger.snapshot_head.as_ref().map_or(0, |h| h.seq),
            copied,
            last_live: ledger
                .live_head
                .as_ref()
                .filter(|_| ledger.relation == Relation::Behind)
                .map(|h| (h.seq as i64, h.hash.clone())),
            alert_ids: HashMap::new(),
            appended: None,
        })
    }

    /// The live events appended after the snapshot's chain so far.
    pub fn appended(&self) -> Option<&Appended> {
        self.appended.as_ref()
    }

    /// Copy what live committed since the last pass (everything, the first time).
    pub fn copy(&mut self, c: &Connection) -> Result<(), ApiError> {
        if let Some((seq, hash)) = &self.last_live {
            let now: Option<String> = c
                .query_row(
                    "SELECT hash FROM live.audit_log WHERE seq = ?1",
                    [seq],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db_err)?;
            if now.as_deref() != Some(hash.as_str()) {
                return Err(ApiError::new(
                    codes::CONFLICT,
                    "the live audit log changed under this restore (another restore finished meanwhile)",
                )
                .hint("the live data was not changed by this restore; run it again"));
            }
        }
        if self.relation.keeps_live_ledger() {
            self.copy_as_is(c)
        } else {
            self.continue_snapshot(c)
        }
    }

    fn copy_as_is(&mut self, c: &Connection) -> Result<(), ApiError> {
        for (table, key) in history_tables() {
            let from = match self.copied.get(table) {
                Some(k) => *k,
                None => {
                    // The snapshot's rows give way to live's (which start with them).
                    c.execute(&format!("DELETE FROM main.{table}"), [])
                        .map_err(db_err)?;
                    i64::MIN
                }
            };
            c.execute(
                &format!("INSERT INTO main.{table} SELECT * FROM live.{table} WHERE {key} > ?1"),
                [from],
            )
            .map_err(db_err)?;
            self.copied
                .insert(table, max_key(c, "main", table, key)?.max(from));
        }
        self.last_live = head(c, "main")?.map(|h| (h.seq as i64, h.hash));
        Ok(())
    }

    fn continue_snapshot(&mut self, c: &Connection) -> Result<(), ApiError> {
        // Alerts first: the `alert.raised` events name their new ids.
        let from = self.copied.get("alerts").copied().unwrap_or(0);
        let base = max_key(c, "main", "alerts", "id")?;
        let old: Vec<i64> = c
            .prepare("SELECT id FROM live.alerts WHERE id > ?1 ORDER BY id")
            .and_then(|mut s| s.query_map([from], |r| r.get(0))?.collect())
            .map_err(db_err)?;
        let cols = columns_but_id(c, "alerts")?;
        c.execute(
            &format!(
                "INSERT INTO main.alerts ({cols}) SELECT {cols} FROM live.alerts WHERE id > ?1 ORDER BY id"
            ),
            [from],
        )
        .map_err(db_err)?;
        c.execute(
            "UPDATE main.alerts SET event_seq = event_seq + ?2 WHERE id > ?1 AND event_seq > ?3",
            params![
                base,
                self.snapshot_seq as i64 - self.common as i64,
                self.common as i64
            ],
        )
        .map_err(db_err)?;
        for (i, id) in old.iter().enumerate() {
            self.alert_ids.insert(*id, base + 1 + i as i64);
        }
        if let Some(last) = old.last() {
            self.copied.insert("alerts", *last);
        }

        // The events, chained on the snapshot's head. A head whose hash does not parse
        // is damage (the snapshot's MAC held, so not an attack on the archive): refused,
        // never chained from the genesis value as if the ledger were empty.
        let (mut seq, mut at_ms, prev) = c
            .query_row(
                "SELECT seq, at_ms, hash FROM main.audit_log ORDER BY seq DESC LIMIT 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)? as u64,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()
            .map_err(db_err)?
            .map_or((0, i64::MIN, Some(GENESIS)), |(s, a, h)| {
                (s, a, parse_hash(&h))
            });
        let mut prev = prev.ok_or_else(|| {
            ApiError::new(
                codes::INTEGRITY,
                format!("the backup's audit log head (seq {seq}) has no valid hash"),
            )
            .hint("the live data was not changed; restore another backup, or check this one with `imadm backup verify`")
        })?;
        let after = self
            .last_live
            .as_ref()
            .map_or(self.common as i64, |(s, _)| *s);
        let mut stmt = c
            .prepare(
                "SELECT seq, at_ms, actor_type, actor, source, action, target, outcome,
                        request_id, detail, hash
                 FROM live.audit_log WHERE seq > ?1 ORDER BY seq",
            )
            .map_err(db_err)?;
        let mut rows = stmt.query([after]).map_err(db_err)?;
        let mut expected = after + 1;
        while let Some(r) = rows.next().map_err(db_err)? {
            let live_seq: i64 = r.get(0).map_err(db_err)?;
            if live_seq != expected {
                return Err(ApiError::new(
                    codes::INTEGRITY,
                    format!("the live audit log has a gap before seq {live_seq}"),
                )
                .hint("the live data was not changed; check the log with `imadm audit verify`"));
            }
            expected += 1;
            let live_hash: String = r.get(10).map_err(db_err)?;
            let action: String = r.get(5).map_err(db_err)?;
            let mut target: Option<String> = r.get(6).map_err(db_err)?;
            // `alert.raised`, `alert.ack`, `alert.resolve` name the alert.
            if action.starts_with("alert.")
                && let Some(new) = target
                    .as_deref()
                    .and_then(|t| t.strip_prefix("alert:"))
                    .and_then(|id| id.parse::<i64>().ok())
                    .and_then(|id| self.alert_ids.get(&id))
            {
                target = Some(format!("alert:{new}"));
            }
            at_ms = at_ms.max(r.get(1).map_err(db_err)?);
            seq += 1;
            let mut ev = AuditEvent {
                seq,
                at: format_at(at_ms),
                actor_type: r.get(2).map_err(db_err)?,
                actor: r.get(3).map_err(db_err)?,
                source: r.get(4).map_err(db_err)?,
                action,
                target,
                outcome: r.get(7).map_err(db_err)?,
                request_id: r.get(8).map_err(db_err)?,
                detail: r.get(9).map_err(db_err)?,
                hash: String::new(),
            };
            prev = chain_next(&prev, &ev.leaf());
            ev.hash = hash_hex(&prev);
            crate::store::sqlite::audit::write_row(c, at_ms, &ev).map_err(db_err)?;
            if ev.actor_type == "token"
                && let Some(src) = &ev.source
            {
                c.execute(
                    "INSERT OR IGNORE INTO main.token_sources (actor, source, first_seq)
                     VALUES (?1, ?2, ?3)",
                    params![ev.actor, src, seq as i64],
                )
                .map_err(db_err)?;
            }
            let a = self.appended.get_or_insert(Appended {
                live_from: live_seq as u64,
                live_to: 0,
                live_head: String::new(),
                from: seq,
                to: 0,
            });
            a.live_to = live_seq as u64;
            a.live_head = live_hash.clone();
            a.to = seq;
            self.last_live = Some((live_seq, live_hash));
        }
        drop(rows);
        drop(stmt);

        // Alert state changes (acknowledged, resolved): new ids, in their order, naming
        // the alerts by their new ids; a change to an alert the snapshot holds keeps its id.
        let from = self.copied.get("alert_events").copied().unwrap_or(0);
        let changes: Vec<(i64, i64)> = c
            .prepare("SELECT id, alert_id FROM live.alert_events WHERE id > ?1 ORDER BY id")
            .and_then(|mut s| {
                s.query_map([from], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
            .map_err(db_err)?;
        for (id, alert_id) in changes {
            let alert_id = self.alert_ids.get(&alert_id).copied().unwrap_or(alert_id);
            c.execute(
                "INSERT INTO main.alert_events (alert_id, state, actor, note, at_ms)
                 SELECT ?2, state, actor, note, at_ms FROM live.alert_events WHERE id = ?1",
                params![id, alert_id],
            )
            .map_err(db_err)?;
            self.copied.insert("alert_events", id);
        }

        // Authentication events, checkpoints, attestations and incident timelines: new
        // ids, in their order (an incident's entries keep their incident id and seq).
        for table in [
            "auth_events",
            "audit_checkpoints",
            "access_attestations",
            "incident_events",
        ] {
            let from = self.copied.get(table).copied().unwrap_or(0);
            let cols = columns_but_id(c, table)?;
            c.execute(
                &format!(
                    "INSERT INTO main.{table} ({cols}) SELECT {cols} FROM live.{table} WHERE id > ?1 ORDER BY id"
                ),
                [from],
            )
            .map_err(db_err)?;
            // The same read snapshot of live as the insert: its largest id is the last copied.
            self.copied
                .insert(table, max_key(c, "live", table, "id")?.max(from));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Op {
    username: String,
    created_at: i64,
    password_hash: String,
    must_change_password: bool,
    disabled: bool,
    totp_secret: Option<Vec<u8>>,
    totp_pending: Option<Vec<u8>>,
    last_totp_step: Option<i64>,
    failed_attempts: i64,
    locked_until: Option<i64>,
    last_login_at: Option<i64>,
    roles: BTreeSet<String>,
    codes: BTreeSet<(String, Option<i64>)>,
}

fn operators(c: &Connection, schema: &str) -> rusqlite::Result<BTreeMap<i64, Op>> {
    let mut out = BTreeMap::new();
    let mut stmt = c.prepare(&format!(
        "SELECT id, username, created_at, password_hash, must_change_password, disabled,
                totp_secret, totp_pending, last_totp_step, failed_attempts, locked_until,
                last_login_at
         FROM {schema}.operators"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        out.insert(
            r.get::<_, i64>(0)?,
            Op {
                username: r.get(1)?,
                created_at: r.get(2)?,
                password_hash: r.get(3)?,
                must_change_password: r.get(4)?,
                disabled: r.get(5)?,
                totp_secret: r.get(6)?,
                totp_pending: r.get(7)?,
                last_totp_step: r.get(8)?,
                failed_attempts: r.get(9)?,
                locked_until: r.get(10)?,
                last_login_at: r.get(11)?,
                roles: BTreeSet::new(),
                codes: BTreeSet::new(),
            },
        );
    }
    let mut stmt = c.prepare(&format!(
        "SELECT operator_id, role FROM {schema}.operator_roles"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        if let Some(op) = out.get_mut(&r.get::<_, i64>(0)?) {
            op.roles.insert(r.get(1)?);
        }
    }
    let mut stmt = c.prepare(&format!(
        "SELECT operator_id, code_hash, used_at FROM {schema}.recovery_codes"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        if let Some(op) = out.get_mut(&r.get::<_, i64>(0)?) {
            op.codes.insert((r.get(1)?, r.get(2)?));
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq)]
struct Token {
    name: String,
    token_hash: String,
    created_at: i64,
    expires_at: i64,
    last_used_at: Option<i64>,
    last_used_addr: Option<String>,
    revoked_at: Option<i64>,
    scopes: BTreeSet<String>,
}

fn tokens(c: &Connection, schema: &str) -> rusqlite::Result<BTreeMap<i64, Token>> {
    let mut out = BTreeMap::new();
    let mut stmt = c.prepare(&format!(
        "SELECT id, name, token_hash, created_at, expires_at, last_used_at, last_used_addr,
                revoked_at
         FROM {schema}.service_tokens"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        out.insert(
            r.get::<_, i64>(0)?,
            Token {
                name: r.get(1)?,
                token_hash: r.get(2)?,
                created_at: r.get(3)?,
                expires_at: r.get(4)?,
                last_used_at: r.get(5)?,
                last_used_addr: r.get(6)?,
                revoked_at: r.get(7)?,
                scopes: BTreeSet::new(),
            },
        );
    }
    let mut stmt = c.prepare(&format!(
        "SELECT token_id, permission FROM {schema}.service_token_scopes"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        if let Some(t) = out.get_mut(&r.get::<_, i64>(0)?) {
            t.scopes.insert(r.get(1)?);
        }
    }
    Ok(out)
}

fn list(items: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    items
        .into_iter()
        .map(|s| s.as_ref().to_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The earlier of two optional times, `None` being "never".
fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) | (None, x) => x,
    }
}

/// Merge the security state (`main` holds the snapshot's, `live` the live one) to the
/// more restrictive of the two; return what was kept from live, per principal.
///
/// Principals are the same when they have the same id (ids are never reused) and the
/// same username and creation time (operators) or token hash and creation time (tokens).
/// With `same_lineage` (every relation but a recovery):
///
/// - in both: an operator is disabled if either is; password, `must_change_password`,
///   TOTP secret and pending secret, recovery codes: live's; `last_totp_step`, failed
///   attempts, `locked_until`, `last_login_at`: the larger; roles and login addresses:
///   those in both. A token: the earliest revocation and expiry, the scopes in both, its
///   name and last use live's;
/// - only in the snapshot: deleted after the backup, so removed again;
/// - only live: created after the backup, removed (as a restore implies).
///
/// A recovery keeps the snapshot's operators and tokens, the install's own are removed.
/// Either way every session and MFA challenge ends: everyone logs in again. Foreign keys
/// must be on: removing an operator removes its roles, codes, addresses and tokens.
pub fn security(c: &Connection, same_lineage: bool) -> Result<Vec<PrincipalNote>, ApiError> {
    let mut notes = Vec::new();
    let (s_ops, l_ops) = (
        operators(c, "main").map_err(db_err)?,
        operators(c, "live").map_err(db_err)?,
    );
    let (s_toks, l_toks) = (
        tokens(c, "main").map_err(db_err)?,
        tokens(c, "live").map_err(db_err)?,
    );
    c.execute_batch("DELETE FROM main.sessions; DELETE FROM main.mfa_challenges;")
        .map_err(db_err)?;
    incidents(c, same_lineage).map_err(db_err)?;
    if !same_lineage {
        for op in l_ops.values() {
            notes.push(note(
                &format!("operator {}", op.username),
                "removed",
                "an operator of this new install; the backup's operators replace them",
            ));
        }
        for (id, t) in &l_toks {
            notes.push(note(
                &format!("token {id} ({})", t.name),
                "removed",
                "a token of this new install; the backup's tokens replace them",
            ));
        }
        return Ok(notes);
    }
    let same_op = |id: &i64, s: &Op| {
        l_ops
            .get(id)
            .filter(|l| l.username == s.username && l.created_at == s.created_at)
    };
    for (id, s) in &s_ops {
        let who = format!("operator {}", s.username);
        let Some(l) = same_op(id, s) else {
            c.execute("DELETE FROM main.operators WHERE id = ?1", [id])
                .map_err(db_err)?;
            notes.push(note(&who, "stays deleted", "deleted after the backup"));
            continue;
        };
        c.execute(
            "UPDATE main.operators SET password_hash = ?2, must_change_password = ?3,
                 disabled = ?4, totp_secret = ?5, totp_pending = ?6, last_totp_step = ?7,
                 failed_attempts = ?8, locked_until = ?9, last_login_at = ?10
             WHERE id = ?1",
            params![
                id,
                l.password_hash,
                l.must_change_password,
                s.disabled || l.disabled,
                l.totp_secret,
                l.totp_pending,
                s.last_totp_step.max(l.last_totp_step),
                s.failed_attempts.max(l.failed_attempts),
                s.locked_until.max(l.locked_until),
                s.last_login_at.max(l.last_login_at),
            ],
        )
        .map_err(db_err)?;
        c.execute(
            "DELETE FROM main.recovery_codes WHERE operator_id = ?1",
            [id],
        )
        .map_err(db_err)?;
        c.execute(
            "INSERT INTO main.recovery_codes SELECT * FROM live.recovery_codes WHERE operator_id = ?1",
            [id],
        )
        .map_err(db_err)?;
        // Passkeys are live's, like the TOTP secret: one removed after the backup stays
        // removed, one added after it stays (it may be the operator's only factor now),
        // and signature counters never go back (a cloned authenticator stays detectable).
        let differs: bool = c
            .query_row(
                "SELECT EXISTS (SELECT id, name, credential_id FROM main.passkeys WHERE operator_id = ?1
                                EXCEPT SELECT id, name, credential_id FROM live.passkeys WHERE operator_id = ?1)
                     OR EXISTS (SELECT id, name, credential_id FROM live.passkeys WHERE operator_id = ?1
                                EXCEPT SELECT id, name, credential_id FROM main.passkeys WHERE operator_id = ?1)",
                [id],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        c.execute("DELETE FROM main.passkeys WHERE operator_id = ?1", [id])
            .map_err(db_err)?;
        c.execute(
            "INSERT INTO main.passkeys SELECT * FROM live.passkeys WHERE operator_id = ?1",
            [id],
        )
        .map_err(db_err)?;
        if differs {
            notes.push(note(
                &who,
                "keeps its current passkeys",
                "passkeys added or removed after the backup",
            ));
        }
        for (table, col) in [("operator_roles", "role"), ("operator_addresses", "addr")] {
            c.execute(
                &format!(
                    "DELETE FROM main.{table} WHERE operator_id = ?1
                       AND {col} NOT IN (SELECT {col} FROM live.{table} WHERE operator_id = ?1)"
                ),
                [id],
            )
            .map_err(db_err)?;
        }
        match (s.disabled, l.disabled) {
            (false, true) => notes.push(note(&who, "stays disabled", "disabled after the backup")),
            (true, false) => notes.push(note(
                &who,
                "stays disabled",
                "disabled in the backup, enabled after it",
            )),
            _ => {}
        }
        if (&s.password_hash, s.must_change_password) != (&l.password_hash, l.must_change_password)
        {
            notes.push(note(
                &who,
                "keeps its current password",
                "password changed after the backup",
            ));
        }
        if s.totp_secret != l.totp_secret {
            let why = match (&s.totp_secret, &l.totp_secret) {
                (Some(_), None) => "MFA reset or disabled after the backup",
                (None, Some(_)) => "MFA enrolled after the backup",
                _ => "MFA enrolled again after the backup",
            };
            notes.push(note(&who, "keeps its current MFA", why));
        }
        if s.codes != l.codes {
            notes.push(note(
                &who,
                "keeps its current recovery codes",
                "recovery codes used or replaced after the backup",
            ));
        }
        let revoked: Vec<_> = s.roles.difference(&l.roles).collect();
        if !revoked.is_empty() {
            notes.push(note(
                &who,
                format!("stays without role {}", list(&revoked)),
                "revoked after the backup",
            ));
        }
        let granted: Vec<_> = l.roles.difference(&s.roles).collect();
        if !granted.is_empty() {
            notes.push(note(
                &who,
                format!("loses role {}", list(&granted)),
                "granted after the backup",
            ));
        }
    }
    // The passkeys of operators deleted after the backup go with them.
    c.execute(
        "DELETE FROM main.passkeys WHERE operator_id NOT IN (SELECT id FROM main.operators)",
        [],
    )
    .map_err(db_err)?;
    for (id, l) in &l_ops {
        if s_ops.get(id).is_none_or(|s| same_op(id, s).is_none()) {
            notes.push(note(
                &format!("operator {}", l.username),
                "removed",
                "created after the backup",
            ));
        }
    }

    let token_gone = |id: &i64| -> Result<bool, ApiError> {
        c.query_row(
            "SELECT NOT EXISTS (SELECT 1 FROM main.service_tokens WHERE id = ?1)",
            [id],
            |r| r.get(0),
        )
        .map_err(db_err)
    };
    let same_tok = |id: &i64, s: &Token| {
        l_toks
            .get(id)
            .filter(|l| l.token_hash == s.token_hash && l.created_at == s.created_at)
    };
    for (id, s) in &s_toks {
        let who = format!("token {id} ({})", s.name);
        let Some(l) = same_tok(id, s) else {
            c.execute("DELETE FROM main.service_tokens WHERE id = ?1", [id])
                .map_err(db_err)?;
            notes.push(note(&who, "stays deleted", "deleted after the backup"));
            continue;
        };
        if token_gone(id)? {
            notes.push(note(&who, "removed", "its creator is removed"));
            continue;
        }
        let revoked_at = earliest(s.revoked_at, l.revoked_at);
        let expires_at = s.expires_at.min(l.expires_at);
        c.execute(
            "UPDATE main.service_tokens SET name = ?2, expires_at = ?3, revoked_at = ?4,
                 last_used_at = ?5, last_used_addr = ?6
             WHERE id = ?1",
            params![
                id,
                l.name,
                expires_at,
                revoked_at,
                l.last_used_at.max(s.last_used_at),
                l.last_used_addr
            ],
        )
        .map_err(db_err)?;
        c.execute(
            "DELETE FROM main.service_token_scopes WHERE token_id = ?1
               AND permission NOT IN (SELECT permission FROM live.service_token_scopes
                                      WHERE token_id = ?1)",
            [id],
        )
        .map_err(db_err)?;
        if revoked_at != s.revoked_at {
            notes.push(note(&who, "stays revoked", "revoked after the backup"));
        }
        if expires_at != s.expires_at {
            notes.push(note(
                &who,
                "keeps its earlier expiry",
                "expiry brought forward after the backup",
            ));
        }
        let dropped: Vec<_> = s.scopes.difference(&l.scopes).collect();
        if !dropped.is_empty() {
            notes.push(note(
                &who,
                format!("stays without scope {}", list(&dropped)),
                "removed after the backup",
            ));
        }
    }
    for (id, l) in &l_toks {
        if s_toks.get(id).is_none_or(|s| same_tok(id, s).is_none()) {
            notes.push(note(
                &format!("token {id} ({})", l.name),
                "removed",
                "created after the backup",
            ));
        }
    }
    for t in MERGED {
        let broken: i64 = c
            .query_row(
                &format!("SELECT count(*) FROM pragma_foreign_key_check('{t}', 'main')"),
                [],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        if broken > 0 {
            return Err(ApiError::new(
                codes::INTERNAL,
                format!("merging table {t} broke {broken} reference(s)"),
            )
            .hint("the live data was not changed; report this as a bug"));
        }
    }
    Ok(notes)
}

/// Incidents are never rolled back: a restore is often part of the response to one. An
/// incident opened after the backup stays; one in both keeps live's row unless only the
/// snapshot's is closed (closed is final). A recovery onto a new install keeps the
/// snapshot's incidents and adds the install's own whose ids are free.
fn incidents(c: &Connection, same_lineage: bool) -> rusqlite::Result<()> {
    if same_lineage {
        c.execute_batch(
            "INSERT OR REPLACE INTO main.incidents
               SELECT * FROM live.incidents l
                WHERE NOT EXISTS (SELECT 1 FROM main.incidents m
                                   WHERE m.id = l.id AND m.closed_at_ms IS NOT NULL
                                     AND l.closed_at_ms IS NULL);",
        )
    } else {
        c.execute_batch("INSERT OR IGNORE INTO main.incidents SELECT * FROM live.incidents;")
    }
}

/// The install's identity (`settings`: `server_id`, `app_id`) is live's.
/// GDPR erasures outlive a restore: an IM user erased after the backup (a tombstone in
/// live) is erased again in the restored data, which would otherwise bring their profile,
/// messages and memberships back. Their data rolled back; the erasure, a duty, does not.
pub fn erasures(c: &Connection, now: i64) -> Result<Vec<PrincipalNote>, ApiError> {
    let erased: Vec<(i64, String)> = c
        .prepare(
            "SELECT l.user_id, l.username FROM live.im_users l
             JOIN main.im_users m ON m.user_id = l.user_id
             WHERE l.password_hash = ?1 AND m.password_hash <> ?1
             ORDER BY l.user_id",
        )
        .and_then(|mut st| {
            st.query_map([super::im::ERASED_HASH], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
        .map_err(db_err)?;
    let mut notes = Vec::new();
    for (id, tombstone) in erased {
        super::im::erase_rows(c, id, &tombstone, now).map_err(db_err)?;
        notes.push(note(
            &format!("user {tombstone}"),
            "stays erased",
            "erased after the backup (GDPR art. 17)",
        ));
    }
    Ok(notes)
}

pub fn install_tables(c: &Connection) -> Result<(), ApiError> {
    for (t, _) in TABLES.iter().filter(|(_, c)| *c == Class::Install) {
        c.execute_batch(&format!(
            "DELETE FROM main.{t}; INSERT INTO main.{t} SELECT * FROM live.{t};"
        ))
        .map_err(db_err)?;
    }
    Ok(())
}

/// Every AUTOINCREMENT counter keeps the larger of live's and the snapshot's, so no id
/// used live since the backup (an IM user, an operator created and rolled away) is ever
/// given again: the audit log may name it.
pub fn carry_sequences(c: &Connection) -> Result<(), ApiError> {
    c.execute_batch(
        "UPDATE main.sqlite_sequence
            SET seq = max(seq, (SELECT l.seq FROM live.sqlite_sequence l
                                WHERE l.name = sqlite_sequence.name))
          WHERE name IN (SELECT name FROM live.sqlite_sequence);
         INSERT INTO main.sqlite_sequence (name, seq)
           SELECT name, seq FROM live.sqlite_sequence
            WHERE name NOT IN (SELECT name FROM main.sqlite_sequence);",
    )
    .map_err(db_err)
}

/// Enabled operators holding `owner` with MFA enrolled, in `main`: a restore that leaves
/// none is refused (nobody could administer the server, or only without MFA).
pub fn owners_with_mfa(c: &Connection) -> Result<u64, ApiError> {
    c.query_row(
        "SELECT count(*) FROM main.operators o JOIN main.operator_roles r ON r.operator_id = o.id
          WHERE r.role = 'owner' AND o.disabled = 0
            AND (o.totp_secret IS NOT NULL
                 OR EXISTS (SELECT 1 FROM main.passkeys p WHERE p.operator_id = o.id))",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as u64)
    .map_err(db_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::restore::check_classes;

    /// Live events appended to a snapshot whose audit head hash is damaged: refused
    /// (they used to be chained from the genesis value, a ledger that verifies nowhere).
    #[test]
    fn a_snapshot_head_without_a_valid_hash_is_refused_not_chained_from_genesis() {
        let dir = tempfile::tempdir().unwrap();
        let (snap, live) = (dir.path().join("snap.db"), dir.path().join("live.db"));
        drop(crate::store::sqlite::SqliteStore::open(&snap).unwrap());
        drop(crate::store::sqlite::SqliteStore::open(&live).unwrap());
        let insert = "INSERT INTO audit_log (seq, at_ms, actor_type, actor, action, outcome, hash)
                      VALUES (1, 1000, 'operator', 'a', ?1, 'success', ?2)";
        Connection::open(&snap)
            .unwrap()
            .execute(insert, ["user.create", "not-a-hash"])
            .unwrap();
        // A new install's only event: the restore is disaster recovery, live's events
        // are appended to the snapshot's chain.
        let genesis_next = hash_hex(&GENESIS);
        Connection::open(&live)
            .unwrap()
            .execute(insert, ["auth.login", genesis_next.as_str()])
            .unwrap();
        let c = Connection::open(&snap).unwrap();
        crate::store::sqlite::attach_read_only(&c, &live, "live").unwrap();
        let ledger = relate(&c, "old-install", "new-install").unwrap();
        assert_eq!(ledger.relation, Relation::Recovery);
        let mut history = History::new(&c, &ledger).unwrap();
        let err = history.copy(&c).expect_err("chained on a damaged head");
        assert_eq!(err.code, codes::INTEGRITY, "{err:?}");
    }

    /// Every table a freshly migrated database has is classified, and every class has a
    /// rule: adding a table without deciding what a restore does with it fails here.
    #[test]
    fn every_table_has_a_class() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("imadm.db");
        drop(crate::store::sqlite::SqliteStore::open(&p).unwrap());
        let c = Connection::open(&p).unwrap();
        let tables: Vec<String> = c
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table'
                   AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let classified: Vec<&str> = TABLES.iter().map(|(t, _)| *t).collect();
        assert_eq!(
            tables, classified,
            "TABLES must list exactly the schema's tables"
        );
        check_classes(tables.iter().map(String::as_str)).unwrap();
        for (t, class) in TABLES {
            if let Class::History { key } = class {
                let has: bool = c
                    .query_row(
                        &format!(
                            "SELECT count(*) FROM pragma_table_info('{t}') WHERE name = '{key}'"
                        ),
                        [],
                        |r| r.get(0),
                    )
                    .unwrap();
                assert!(has, "{t} has no column {key}");
            }
        }
        assert!(check_classes(["new_table"]).is_err());
    }
}
