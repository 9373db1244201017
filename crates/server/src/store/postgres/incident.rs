//! [`IncidentStore`] on PostgreSQL: each write one transaction ending in the request's
//! audit event. The incident's row is locked (`FOR UPDATE`) before its open-check, so a
//! close and an appended step, or two appended steps (each numbered `max(seq) + 1`),
//! never interleave.

use imadm_api::audit::format_at;
use imadm_api::incident::{EventKind, Incident, IncidentDetail, IncidentEvent};

use super::store::audit_event_row;
use super::{Done, PgStore, PgTx};
use crate::store::Result;
use crate::store::incident::{IncidentChange, IncidentStore, Principal};

const SELECT: &str =
    "SELECT id, title, severity, opened_by, opened_at_ms, closed_at_ms, summary FROM incidents";

fn incident_row(r: &postgres::Row) -> Result<Incident> {
    Ok(Incident {
        id: r.try_get(0)?,
        title: r.try_get(1)?,
        severity: r.try_get(2)?,
        opened_by: r.try_get(3)?,
        opened_at: format_at(r.try_get(4)?),
        closed_at: r.try_get::<_, Option<i64>>(5)?.map(format_at),
        summary: r.try_get(6)?,
    })
}

fn event_row(r: &postgres::Row) -> Result<IncidentEvent> {
    let kind: String = r.try_get(3)?;
    let detail: String = r.try_get(4)?;
    Ok(IncidentEvent {
        seq: r.try_get::<_, i64>(0)? as u32,
        at: format_at(r.try_get(1)?),
        actor: r.try_get(2)?,
        // As on SQLite: a row that does not parse is shown as a note.
        kind: EventKind::parse(&kind).unwrap_or(EventKind::Note),
        detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
    })
}

/// Why incident `id` takes no new step (missing or closed), read with its row locked
/// inside the writing transaction; `None` when it is open.
fn not_open<T>(tx: &PgTx<'_>, id: i64) -> Result<Option<IncidentChange<T>>> {
    let row = tx.query_opt(&format!("{SELECT} WHERE id = $1 FOR UPDATE"), &[&id])?;
    Ok(match row.map(|r| incident_row(&r)).transpose()? {
        None => Some(IncidentChange::NotFound),
        Some(Incident {
            closed_at: Some(at),
            ..
        }) => Some(IncidentChange::Closed(at)),
        Some(_) => None,
    })
}

fn by_id(tx: &PgTx<'_>, id: i64) -> Result<Incident> {
    incident_row(&tx.query_one(&format!("{SELECT} WHERE id = $1"), &[&id])?)
}

/// Append an event to incident `id` (open and locked, by the caller).
fn append(
    tx: &PgTx<'_>,
    id: i64,
    at_ms: i64,
    actor: &str,
    kind: EventKind,
    detail: &serde_json::Value,
) -> Result<IncidentEvent> {
    let seq: i64 = tx
        .query_one(
            "INSERT INTO incident_events (incident_id, seq, at_ms, actor, kind, detail)
             SELECT $1, coalesce(max(seq), 0) + 1, $2, $3, $4, $5
             FROM incident_events WHERE incident_id = $1
             RETURNING seq",
            &[&id, &at_ms, &actor, &kind.name(), &detail.to_string()],
        )?
        .try_get(0)?;
    Ok(IncidentEvent {
        seq: seq as u32,
        at: format_at(at_ms),
        actor: actor.to_owned(),
        kind,
        detail: detail.clone(),
    })
}

impl IncidentStore for PgStore {
    fn open_incident(
        &self,
        title: &str,
        severity: &str,
        actor: &str,
        at_ms: i64,
    ) -> Result<Incident> {
        self.write(|tx| {
            let id: i64 = tx
                .query_one(
                    "INSERT INTO incidents (title, severity, opened_by, opened_at_ms)
                     VALUES ($1, $2, $3, $4) RETURNING id",
                    &[&title, &severity, &actor, &at_ms],
                )?
                .try_get(0)?;
            append(
                tx,
                id,
                at_ms,
                actor,
                EventKind::Opened,
                &serde_json::json!({ "title": title, "severity": severity }),
            )?;
            // The id exists only now: the event names it before it is written.
            crate::store::audit::amend_pending(|e| e.target = Some(format!("incident:{id}")));
            Ok(Done::Commit(by_id(tx, id)?))
        })
    }

    fn incidents(&self, after: i64, limit: u32) -> Result<Vec<Incident>> {
        self.conn()?
            .query(
                &format!("{SELECT} WHERE id > $1 ORDER BY id LIMIT $2"),
                &[&after, &i64::from(limit)],
            )?
            .iter()
            .map(incident_row)
            .collect()
    }

    fn incident(&self, id: i64) -> Result<Option<IncidentDetail>> {
        let mut conn = self.conn()?;
        // One snapshot: the incident and its timeline agree.
        let mut tx = conn
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let Some(row) = tx.query_opt(&format!("{SELECT} WHERE id = $1"), &[&id])? else {
            return Ok(None);
        };
        let incident = incident_row(&row)?;
        let events = tx
            .query(
                "SELECT seq, at_ms, actor, kind, detail FROM incident_events
                 WHERE incident_id = $1 ORDER BY seq",
                &[&id],
            )?
            .iter()
            .map(event_row)
            .collect::<Result<_>>()?;
        tx.commit()?;
        Ok(Some(IncidentDetail { incident, events }))
    }

    fn record_incident_event(
        &self,
        id: i64,
        actor: &str,
        kind: EventKind,
        detail: &serde_json::Value,
        at_ms: i64,
    ) -> Result<IncidentChange<IncidentEvent>> {
        self.write(|tx| {
            if let Some(refused) = not_open(tx, id)? {
                return Ok(Done::Rollback(refused));
            }
            Ok(Done::Commit(IncidentChange::Done(append(
                tx, id, at_ms, actor, kind, detail,
            )?)))
        })
    }

    fn principal_events(
        &self,
        p: &Principal,
        since_ms: i64,
        until_ms: Option<i64>,
        after: u64,
        limit: u32,
    ) -> Result<Vec<imadm_api::audit::AuditEvent>> {
        // Compared with left/right, not LIKE: a username may hold `%` or `_`.
        let (cond, key) = match p {
            Principal::Operator(op) => (
                "(actor = $1 OR (actor_type = 'token' AND left(actor, length($1) + 1) = $1 || '#'))",
                op.clone(),
            ),
            Principal::Token(id) => (
                "(actor_type = 'token' AND right(actor, length($1) + 1) = '#' || $1)",
                id.to_string(),
            ),
            Principal::Source(addr) => ("source = $1", addr.clone()),
        };
        self.conn()?
            .query(
                &format!(
                    "SELECT seq, at_ms, actor_type, actor, source, action, target, outcome,
                         request_id, detail, hash
                     FROM audit_log
                     WHERE seq > $2 AND at_ms >= $3 AND ($4::BIGINT IS NULL OR at_ms <= $4)
                       AND {cond}
                     ORDER BY seq LIMIT $5"
                ),
                &[
                    &key,
                    &(after as i64),
                    &since_ms,
                    &until_ms,
                    &i64::from(limit),
                ],
            )?
            .iter()
            .map(audit_event_row)
            .collect()
    }

    fn close_incident(
        &self,
        id: i64,
        actor: &str,
        summary: &str,
        at_ms: i64,
    ) -> Result<IncidentChange<Incident>> {
        self.write(|tx| {
            if let Some(refused) = not_open(tx, id)? {
                return Ok(Done::Rollback(refused));
            }
            tx.execute(
                "UPDATE incidents SET closed_at_ms = $2, summary = $3 WHERE id = $1",
                &[&id, &at_ms, &summary],
            )?;
            append(
                tx,
                id,
                at_ms,
                actor,
                EventKind::Closed,
                &serde_json::json!({ "summary_chars": summary.chars().count() }),
            )?;
            Ok(Done::Commit(IncidentChange::Done(by_id(tx, id)?)))
        })
    }
}
