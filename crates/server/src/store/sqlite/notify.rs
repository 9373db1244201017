//! The SQLite side of [`NotifyStore`], and [`enqueue_alert`], which queues an alert's
//! messages inside the transaction that raises or resolves it.

use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteStore;
use crate::store::Result;
use crate::store::notify::*;

/// Queue `alert` (in state `open` or `resolved`) for every route that wants it, except
/// the channel named `exclude` (an alert about that channel failing goes to the others).
/// Runs inside the caller's transaction.
pub(crate) fn enqueue_alert(
    conn: &Connection,
    routes: &[Route],
    alert: &imadm_api::audit::Alert,
    exclude: Option<&str>,
    now_ms: i64,
) -> rusqlite::Result<()> {
    let rank = crate::store::audit::severity_rank(&alert.severity).unwrap_or(1);
    let resolved = alert.state == RESOLVED;
    let mut payload = None;
    for r in routes {
        if rank < r.min_rank || (resolved && !r.send_resolved) || exclude == Some(&r.channel) {
            continue;
        }
        let json = payload.get_or_insert_with(|| {
            serde_json::to_string(alert).expect("an alert serialises to JSON")
        });
        conn.prepare_cached(
            "INSERT OR IGNORE INTO notify_queue (channel, alert_id, state, payload, created_ms,
                 next_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        )?
        .execute(params![
            r.channel,
            alert.id as i64,
            if resolved { RESOLVED } else { RAISED },
            json.as_str(),
            now_ms
        ])?;
    }
    Ok(())
}

const QUEUED_COLUMNS: &str = "id, channel, alert_id, state, payload, created_ms, attempts, \
     next_ms, delivered_ms, last_error";

fn queued_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Queued> {
    Ok(Queued {
        id: r.get(0)?,
        channel: r.get(1)?,
        alert_id: r.get(2)?,
        state: r.get(3)?,
        payload: r.get(4)?,
        created_ms: r.get(5)?,
        attempts: r.get(6)?,
        next_ms: r.get(7)?,
        delivered_ms: r.get(8)?,
        last_error: r.get(9)?,
    })
}

fn channel_record(c: &Connection, name: &str) -> rusqlite::Result<ChannelRecord> {
    let mut rec = c
        .prepare_cached(
            "SELECT last_success_ms, last_error_ms, last_error, failing_since_ms, failing_alerted
             FROM notify_channels WHERE name = ?1",
        )?
        .query_row([name], |r| {
            Ok(ChannelRecord {
                name: name.to_owned(),
                last_success_ms: r.get(0)?,
                last_error_ms: r.get(1)?,
                last_error: r.get(2)?,
                failing_since_ms: r.get(3)?,
                failing_alerted: r.get(4)?,
                ..ChannelRecord::default()
            })
        })
        .optional()?
        .unwrap_or_else(|| ChannelRecord {
            name: name.to_owned(),
            ..ChannelRecord::default()
        });
    let (n, oldest): (i64, Option<i64>) = c
        .prepare_cached(
            "SELECT count(*), min(created_ms) FROM notify_queue
             WHERE channel = ?1 AND delivered_ms IS NULL",
        )?
        .query_row([name], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rec.queued = n as u64;
    rec.oldest_queued_ms = oldest;
    Ok(rec)
}

impl NotifyStore for SqliteStore {
    fn next_message(&self, channel: &str) -> Result<Option<Queued>> {
        Ok(self
            .reader()
            .prepare_cached(&format!(
                "SELECT {QUEUED_COLUMNS} FROM notify_queue
                 WHERE channel = ?1 AND delivered_ms IS NULL ORDER BY id LIMIT 1"
            ))?
            .query_row([channel], queued_row)
            .optional()?)
    }

    fn message(&self, id: i64) -> Result<Option<Queued>> {
        Ok(self
            .reader()
            .prepare_cached(&format!(
                "SELECT {QUEUED_COLUMNS} FROM notify_queue WHERE id = ?1"
            ))?
            .query_row([id], queued_row)
            .optional()?)
    }

    fn record_attempt(
        &self,
        id: i64,
        channel: &str,
        attempt: &Attempt,
        now_ms: i64,
    ) -> Result<ChannelRecord> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT OR IGNORE INTO notify_channels (name) VALUES (?1)",
            [channel],
        )?;
        match attempt {
            Attempt::Delivered => {
                tx.execute(
                    "UPDATE notify_queue SET attempts = attempts + 1, delivered_ms = ?2,
                         last_error = NULL WHERE id = ?1",
                    params![id, now_ms],
                )?;
                tx.execute(
                    "UPDATE notify_channels SET last_success_ms = ?2, failing_since_ms = NULL,
                         failing_alerted = 0 WHERE name = ?1",
                    params![channel, now_ms],
                )?;
            }
            Attempt::Failed { error, retry_at_ms } => {
                tx.execute(
                    "UPDATE notify_queue SET attempts = attempts + 1, next_ms = ?2,
                         last_error = ?3 WHERE id = ?1",
                    params![id, retry_at_ms, error],
                )?;
                tx.execute(
                    "UPDATE notify_channels SET last_error_ms = ?2, last_error = ?3,
                         failing_since_ms = coalesce(failing_since_ms, ?2) WHERE name = ?1",
                    params![channel, now_ms, error],
                )?;
            }
        }
        let rec = channel_record(&tx, channel)?;
        tx.commit()?;
        Ok(rec)
    }

    fn raise_channel_failing(&self, channel: &str, detail: &str) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE notify_channels SET failing_alerted = 1
             WHERE name = ?1 AND failing_alerted = 0 AND failing_since_ms IS NOT NULL",
            [channel],
        )?;
        if n == 1 {
            crate::store::sqlite::audit::insert(
                &tx,
                &crate::store::audit::NewAudit {
                    actor_type: "system".into(),
                    action: crate::store::audit::CHANNEL_FAILING_ACTION.into(),
                    target: Some(format!("channel:{channel}")),
                    outcome: "failure".into(),
                    detail: Some(detail.to_owned()),
                    ..Default::default()
                },
                &self.alert_rules(),
            )?;
        }
        tx.commit()?;
        Ok(n == 1)
    }

    fn enqueue_test(&self, channel: &str, payload: &str, now_ms: i64) -> Result<i64> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO notify_queue (channel, alert_id, state, payload, created_ms, next_ms)
             VALUES (?1, NULL, ?2, ?3, ?4, ?4)",
            params![channel, TEST, payload, now_ms],
        )?;
        let id = tx.last_insert_rowid();
        // The request's `notify.test` event commits with the message.
        crate::store::sqlite::audit::commit(tx, &self.alert_rules())?;
        Ok(id)
    }

    fn channel_records(&self) -> Result<Vec<ChannelRecord>> {
        let conn = self.reader();
        let names: Vec<String> = conn
            .prepare_cached(
                "SELECT name FROM notify_channels
                 UNION SELECT channel FROM notify_queue WHERE delivered_ms IS NULL
                 ORDER BY 1",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(names
            .iter()
            .map(|n| channel_record(&conn, n))
            .collect::<rusqlite::Result<_>>()?)
    }

    fn prune_delivered(&self, before_ms: i64) -> Result<u64> {
        Ok(self.conn().execute(
            "DELETE FROM notify_queue WHERE delivered_ms IS NOT NULL AND delivered_ms < ?1",
            [before_ms],
        )? as u64)
    }
}
