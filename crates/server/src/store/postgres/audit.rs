//! The PostgreSQL side of the audit log: [`PgTx`], a write transaction that is also the
//! [`AuditTx`] the chain append (`store::audit::insert`) and the alert rules run over;
//! [`seed`], the synthetic events of `imadm __seed-audit`.
//!
//! The chain's order across connections and instances: [`AuditTx::audit_head`] first
//! locks the one `audit_chain_head` row (`SELECT … FOR UPDATE`), then reads the newest
//! event. Every appender takes that lock, so the read-compute-insert of one append runs
//! alone until its transaction ends; under READ COMMITTED the read after the lock is a
//! new snapshot that sees the previous appender's committed row. `audit_log`'s primary
//! key is the `UNIQUE(seq)` backstop. The lock is the last thing a write transaction
//! takes (the parked event is written just before `COMMIT`), so it is held only for the
//! append and its alert rules.

use std::cell::RefCell;

use imadm_api::audit::AuditEvent;
use postgres::Transaction;
use postgres::types::ToSql;

use crate::store::Result;
use crate::store::StoreError;
use crate::store::audit::{AlertRow, AuditTx};
use crate::store::notify::{RAISED, RESOLVED, Route};

/// An open write transaction. `AuditTx` takes `&self` while the driver's statements take
/// `&mut`: the cell bridges the two (one statement at a time, one thread).
pub struct PgTx<'a>(RefCell<Transaction<'a>>);

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

impl<'a> PgTx<'a> {
    pub(crate) fn new(tx: Transaction<'a>) -> Self {
        PgTx(RefCell::new(tx))
    }

    pub(crate) fn commit(self) -> Result<()> {
        Ok(self.0.into_inner().commit()?)
    }

    pub(crate) fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64> {
        Ok(self.0.borrow_mut().execute(sql, params)?)
    }

    pub(crate) fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<postgres::Row>> {
        Ok(self.0.borrow_mut().query(sql, params)?)
    }

    pub(crate) fn query_opt(&self, sql: &str, params: Params<'_>) -> Result<Option<postgres::Row>> {
        Ok(self.0.borrow_mut().query_opt(sql, params)?)
    }

    pub(crate) fn query_one(&self, sql: &str, params: Params<'_>) -> Result<postgres::Row> {
        Ok(self.0.borrow_mut().query_one(sql, params)?)
    }
}

/// [`crate::store::audit::seed`] into the database at `url` (a connection of its own, no
/// migrations: the server must have created the schema), in one transaction that holds
/// the chain head's lock like every appender.
pub fn seed(url: &str, n: u64, now_ms: i64) -> Result<u64> {
    let target = super::connect::target(url)?;
    let mut client = target.config.connect(target.tls)?;
    let tx = PgTx::new(client.transaction()?);
    let last = crate::store::audit::seed(&tx, n, now_ms)?;
    tx.commit()?;
    Ok(last)
}

impl AuditTx for PgTx<'_> {
    fn audit_head(&self) -> Result<Option<(u64, i64, String)>> {
        // Without its row the lock would lock nothing: refuse to append (the migration
        // inserts it and a trigger refuses its deletion).
        if self
            .query_opt(
                "SELECT id FROM audit_chain_head WHERE id = 1 FOR UPDATE",
                &[],
            )?
            .is_none()
        {
            return Err(StoreError::Backend(
                "the audit chain head row is missing: refusing to append".into(),
            ));
        }
        self.query_opt(
            "SELECT seq, at_ms, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            &[],
        )?
        .map(|r| Ok((r.try_get::<_, i64>(0)? as u64, r.try_get(1)?, r.try_get(2)?)))
        .transpose()
    }

    fn write_audit_row(&self, at_ms: i64, ev: &AuditEvent) -> Result<()> {
        self.execute(
            "INSERT INTO audit_log (seq, at_ms, actor_type, actor, source, action, target,
                 outcome, request_id, detail, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                &(ev.seq as i64),
                &at_ms,
                &ev.actor_type,
                &ev.actor,
                &ev.source,
                &ev.action,
                &ev.target,
                &ev.outcome,
                &ev.request_id,
                &ev.detail,
                &ev.hash,
            ],
        )?;
        Ok(())
    }

    fn count_events(
        &self,
        actor: &str,
        actions: &[&str],
        outcome: &str,
        since_ms: i64,
    ) -> Result<i64> {
        Ok(self
            .query_one(
                "SELECT count(*) FROM audit_log WHERE at_ms >= $1 AND actor = $2
                   AND outcome = $3 AND action = ANY($4)",
                &[&since_ms, &actor, &outcome, &actions],
            )?
            .try_get(0)?)
    }

    fn add_token_source(&self, actor: &str, source: &str, seq: u64) -> Result<bool> {
        let n = self.execute(
            "INSERT INTO token_sources (actor, source, first_seq) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&actor, &source, &(seq as i64)],
        )?;
        Ok(n == 1)
    }

    fn token_sources_besides(&self, actor: &str, source: &str, limit: u32) -> Result<Vec<String>> {
        self.query(
            "SELECT source FROM token_sources WHERE actor = $1 AND source <> $2
             ORDER BY first_seq LIMIT $3",
            &[&actor, &source, &i64::from(limit)],
        )?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
    }

    fn alert_raised_after(&self, rule: &str, actor: &str, after_ms: i64) -> Result<bool> {
        Ok(self
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM alerts WHERE rule = $1 AND actor = $2
                   AND at_ms > $3)",
                &[&rule, &actor, &after_ms],
            )?
            .try_get(0)?)
    }

    fn insert_alert(&self, a: &AlertRow<'_>, at_ms: i64) -> Result<u64> {
        let id: i64 = self
            .query_one(
                "INSERT INTO alerts (at_ms, rule, severity, actor, detail, event_seq)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[
                    &at_ms,
                    &a.rule,
                    &a.severity,
                    &a.actor,
                    &a.detail,
                    &(a.event_seq as i64),
                ],
            )?
            .try_get(0)?;
        Ok(id as u64)
    }

    fn enqueue_alert(
        &self,
        routes: &[Route],
        alert: &imadm_api::audit::Alert,
        exclude: Option<&str>,
        at_ms: i64,
    ) -> Result<()> {
        // The same routing as SQLite's `sqlite::notify::enqueue_alert`.
        let rank = crate::store::audit::severity_rank(&alert.severity).unwrap_or(1);
        let resolved = alert.state == RESOLVED;
        let mut payload = None;
        for r in routes {
            if rank < r.min_rank || (resolved && !r.send_resolved) || exclude == Some(&r.channel) {
                continue;
            }
            let json: &String = payload.get_or_insert_with(|| {
                serde_json::to_string(alert).expect("an alert serialises to JSON")
            });
            self.execute(
                "INSERT INTO notify_queue (channel, alert_id, state, payload, created_ms, next_ms)
                 VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING",
                &[
                    &r.channel,
                    &(alert.id as i64),
                    &if resolved { RESOLVED } else { RAISED },
                    json,
                    &at_ms,
                ],
            )?;
        }
        Ok(())
    }
}
