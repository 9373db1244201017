//! The SQLite side of [`IncidentStore`]: each write one transaction ending in the
//! request's audit event, with the incident's open-check inside it.

use imadm_api::audit::format_at;
use imadm_api::incident::{EventKind, Incident, IncidentDetail, IncidentEvent};
use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteStore;
use crate::store::Result;
use crate::store::incident::*;

const SELECT: &str =
    "SELECT id, title, severity, opened_by, opened_at_ms, closed_at_ms, summary FROM incidents";

fn incident_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Incident> {
    Ok(Incident {
        id: r.get(0)?,
        title: r.get(1)?,
        severity: r.get(2)?,
        opened_by: r.get(3)?,
        opened_at: format_at(r.get(4)?),
        closed_at: r.get::<_, Option<i64>>(5)?.map(format_at),
        summary: r.get(6)?,
    })
}

fn event_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<IncidentEvent> {
    let kind: String = r.get(3)?;
    let detail: String = r.get(4)?;
    Ok(IncidentEvent {
        seq: r.get(0)?,
        at: format_at(r.get(1)?),
        actor: r.get(2)?,
        // Written by this module only, from the enum; a row that does not parse is shown
        // as a note rather than hiding the whole timeline.
        kind: EventKind::parse(&kind).unwrap_or(EventKind::Note),
        detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
    })
}

fn by_id(c: &Connection, id: i64) -> rusqlite::Result<Option<Incident>> {
    c.prepare_cached(&format!("{SELECT} WHERE id = ?1"))?
        .query_row([id], incident_row)
        .optional()
}

/// Why incident `id` takes no new step (missing or closed), read inside the writing
/// transaction; `None` when it is open.
fn not_open<T>(c: &Connection, id: i64) -> rusqlite::Result<Option<IncidentChange<T>>> {
    Ok(match by_id(c, id)? {
        None => Some(IncidentChange::NotFound),
        Some(Incident {
            closed_at: Some(at),
            ..
        }) => Some(IncidentChange::Closed(at)),
        Some(_) => None,
    })
}

/// Append an event to incident `id` (open, checked by the caller) inside `c`'s transaction.
fn append(
    c: &Connection,
    id: i64,
    at_ms: i64,
    actor: &str,
    kind: EventKind,
    detail: &serde_json::Value,
) -> rusqlite::Result<IncidentEvent> {
    let seq: u32 = c.query_row(
        "SELECT coalesce(max(seq), 0) + 1 FROM incident_events WHERE incident_id = ?1",
        [id],
        |r| r.get(0),
    )?;
    c.prepare_cached(
        "INSERT INTO incident_events (incident_id, seq, at_ms, actor, kind, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        id,
        seq,
        at_ms,
        actor,
        kind.name(),
        detail.to_string()
    ])?;
    Ok(IncidentEvent {
        seq,
        at: format_at(at_ms),
        actor: actor.to_owned(),
        kind,
        detail: detail.clone(),
    })
}

impl IncidentStore for SqliteStore {
    fn open_incident(
        &self,
        title: &str,
        severity: &str,
        actor: &str,
        at_ms: i64,
    ) -> Result<Incident> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO incidents (title, severity, opened_by, opened_at_ms) VALUES (?1, ?2, ?3, ?4)",
            params![title, severity, actor, at_ms],
        )?;
        let id = tx.last_insert_rowid();
        append(
            &tx,
            id,
            at_ms,
            actor,
            EventKind::Opened,
            &serde_json::json!({ "title": title, "severity": severity }),
        )?;
        // The id exists only now: the event names it before it is written.
        crate::store::audit::amend_pending(|e| e.target = Some(format!("incident:{id}")));
        let incident = by_id(&tx, id)?.expect("inserted above");
        crate::store::sqlite::audit::commit(tx, &self.alert_rules())?;
        Ok(incident)
    }

    fn incidents(&self, after: i64, limit: u32) -> Result<Vec<Incident>> {
        let conn = self.reader();
        let mut stmt =
            conn.prepare_cached(&format!("{SELECT} WHERE id > ?1 ORDER BY id LIMIT ?2"))?;
        let rows = stmt.query_map(params![after, limit], incident_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn incident(&self, id: i64) -> Result<Option<IncidentDetail>> {
        let mut conn = self.reader();
        // One read snapshot: the incident and its timeline agree.
        let tx = conn.transaction()?;
        let Some(incident) = by_id(&tx, id)? else {
            return Ok(None);
        };
        let events = tx
            .prepare_cached(
                "SELECT seq, at_ms, actor, kind, detail FROM incident_events
                 WHERE incident_id = ?1 ORDER BY seq",
            )?
            .query_map([id], event_row)?
            .collect::<rusqlite::Result<_>>()?;
        drop(tx);
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
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if let Some(refused) = not_open(&tx, id)? {
            return Ok(refused);
        }
        let ev = append(&tx, id, at_ms, actor, kind, detail)?;
        crate::store::sqlite::audit::commit(tx, &self.alert_rules())?;
        Ok(IncidentChange::Done(ev))
    }

    fn principal_events(
        &self,
        p: &Principal,
        since_ms: i64,
        until_ms: Option<i64>,
        after: u64,
        limit: u32,
    ) -> Result<Vec<imadm_api::audit::AuditEvent>> {
        // Compared with substr, not LIKE: a username may hold `%` or `_`.
        let (cond, key) = match p {
            Principal::Operator(op) => (
                "(actor = ?1 OR (actor_type = 'token' AND substr(actor, 1, length(?1) + 1) = ?1 || '#'))",
                op.clone(),
            ),
            Principal::Token(id) => (
                "(actor_type = 'token' AND substr(actor, -length(?1) - 1) = '#' || ?1)",
                id.to_string(),
            ),
            Principal::Source(addr) => ("source = ?1", addr.clone()),
        };
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT seq, at_ms, actor_type, actor, source, action, target, outcome, request_id,
                    detail, hash
             FROM audit_log
             WHERE seq > ?2 AND at_ms >= ?3 AND (?4 IS NULL OR at_ms <= ?4) AND {cond}
             ORDER BY seq LIMIT ?5"
        ))?;
        let rows = stmt.query_map(params![key, after as i64, since_ms, until_ms, limit], |r| {
            Ok(imadm_api::audit::AuditEvent {
                seq: r.get::<_, i64>(0)? as u64,
                at: format_at(r.get(1)?),
                actor_type: r.get(2)?,
                actor: r.get(3)?,
                source: r.get(4)?,
                action: r.get(5)?,
                target: r.get(6)?,
                outcome: r.get(7)?,
                request_id: r.get(8)?,
                detail: r.get(9)?,
                hash: r.get(10)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn close_incident(
        &self,
        id: i64,
        actor: &str,
        summary: &str,
        at_ms: i64,
    ) -> Result<IncidentChange<Incident>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if let Some(refused) = not_open(&tx, id)? {
            return Ok(refused);
        }
        tx.execute(
            "UPDATE incidents SET closed_at_ms = ?2, summary = ?3 WHERE id = ?1",
            params![id, at_ms, summary],
        )?;
        append(
            &tx,
            id,
            at_ms,
            actor,
            EventKind::Closed,
            &serde_json::json!({ "summary_chars": summary.chars().count() }),
        )?;
        let incident = by_id(&tx, id)?.expect("checked above");
        crate::store::sqlite::audit::commit(tx, &self.alert_rules())?;
        Ok(IncidentChange::Done(incident))
    }
}
