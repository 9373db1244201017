//! [`NotifyStore`] on PostgreSQL: the alert notification queue and the channels' delivery
//! records, the same statements as `store/sqlite/notify.rs`. (Queueing an alert's
//! messages inside the transaction that raises it is `AuditTx::enqueue_alert`, `audit.rs`.)

use super::{Done, PgStore, PgTx};
use crate::store::Result;
use crate::store::notify::{Attempt, ChannelRecord, NotifyStore, Queued, TEST};

const QUEUED_COLUMNS: &str = "id, channel, alert_id, state, payload, created_ms, attempts, \
     next_ms, delivered_ms, last_error";

fn queued_row(r: &postgres::Row) -> Result<Queued> {
    Ok(Queued {
        id: r.try_get(0)?,
        channel: r.try_get(1)?,
        alert_id: r.try_get(2)?,
        state: r.try_get(3)?,
        payload: r.try_get(4)?,
        created_ms: r.try_get(5)?,
        attempts: r.try_get::<_, i64>(6)? as u32,
        next_ms: r.try_get(7)?,
        delivered_ms: r.try_get(8)?,
        last_error: r.try_get(9)?,
    })
}

fn channel_record(tx: &PgTx<'_>, name: &str) -> Result<ChannelRecord> {
    let mut rec = match tx.query_opt(
        "SELECT last_success_ms, last_error_ms, last_error, failing_since_ms, failing_alerted
         FROM notify_channels WHERE name = $1",
        &[&name],
    )? {
        Some(r) => ChannelRecord {
            name: name.to_owned(),
            last_success_ms: r.try_get(0)?,
            last_error_ms: r.try_get(1)?,
            last_error: r.try_get(2)?,
            failing_since_ms: r.try_get(3)?,
            failing_alerted: r.try_get::<_, i64>(4)? != 0,
            ..ChannelRecord::default()
        },
        None => ChannelRecord {
            name: name.to_owned(),
            ..ChannelRecord::default()
        },
    };
    let r = tx.query_one(
        "SELECT count(*), min(created_ms) FROM notify_queue
         WHERE channel = $1 AND delivered_ms IS NULL",
        &[&name],
    )?;
    rec.queued = r.try_get::<_, i64>(0)? as u64;
    rec.oldest_queued_ms = r.try_get(1)?;
    Ok(rec)
}

impl NotifyStore for PgStore {
    fn next_message(&self, channel: &str) -> Result<Option<Queued>> {
        self.conn()?
            .query_opt(
                &format!(
                    "SELECT {QUEUED_COLUMNS} FROM notify_queue
                     WHERE channel = $1 AND delivered_ms IS NULL ORDER BY id LIMIT 1"
                ),
                &[&channel],
            )?
            .map(|r| queued_row(&r))
            .transpose()
    }

    fn message(&self, id: i64) -> Result<Option<Queued>> {
        self.conn()?
            .query_opt(
                &format!("SELECT {QUEUED_COLUMNS} FROM notify_queue WHERE id = $1"),
                &[&id],
            )?
            .map(|r| queued_row(&r))
            .transpose()
    }

    fn record_attempt(
        &self,
        id: i64,
        channel: &str,
        attempt: &Attempt,
        now_ms: i64,
    ) -> Result<ChannelRecord> {
        self.write_plain(|tx| {
            tx.execute(
                "INSERT INTO notify_channels (name) VALUES ($1) ON CONFLICT DO NOTHING",
                &[&channel],
            )?;
            match attempt {
                Attempt::Delivered => {
                    tx.execute(
                        "UPDATE notify_queue SET attempts = attempts + 1, delivered_ms = $2,
                             last_error = NULL WHERE id = $1",
                        &[&id, &now_ms],
                    )?;
                    tx.execute(
                        "UPDATE notify_channels SET last_success_ms = $2,
                             failing_since_ms = NULL, failing_alerted = 0 WHERE name = $1",
                        &[&channel, &now_ms],
                    )?;
                }
                Attempt::Failed { error, retry_at_ms } => {
                    tx.execute(
                        "UPDATE notify_queue SET attempts = attempts + 1, next_ms = $2,
                             last_error = $3 WHERE id = $1",
                        &[&id, retry_at_ms, error],
                    )?;
                    tx.execute(
                        "UPDATE notify_channels SET last_error_ms = $2, last_error = $3,
                             failing_since_ms = coalesce(failing_since_ms, $2) WHERE name = $1",
                        &[&channel, &now_ms, error],
                    )?;
                }
            }
            channel_record(tx, channel)
        })
    }

    fn raise_channel_failing(&self, channel: &str, detail: &str) -> Result<bool> {
        let rules = self.alert_rules();
        self.write_plain(|tx| {
            // Compare-and-set: of two instances noticing the same failing spell, one
            // flips the flag and raises the alert.
            let n = tx.execute(
                "UPDATE notify_channels SET failing_alerted = 1
                 WHERE name = $1 AND failing_alerted = 0 AND failing_since_ms IS NOT NULL",
                &[&channel],
            )?;
            if n == 1 {
                crate::store::audit::insert(
                    tx,
                    &crate::store::audit::NewAudit {
                        actor_type: "system".into(),
                        action: crate::store::audit::CHANNEL_FAILING_ACTION.into(),
                        target: Some(format!("channel:{channel}")),
                        outcome: "failure".into(),
                        detail: Some(detail.to_owned()),
                        ..Default::default()
                    },
                    crate::store::audit::now_ms(),
                    &rules,
                )?;
            }
            Ok(n == 1)
        })
    }

    fn enqueue_test(&self, channel: &str, payload: &str, now_ms: i64) -> Result<i64> {
        // The request's `notify.test` event commits with the message.
        self.write(|tx| {
            Ok(Done::Commit(
                tx.query_one(
                    "INSERT INTO notify_queue (channel, alert_id, state, payload, created_ms,
                         next_ms)
                     VALUES ($1, NULL, $2, $3, $4, $4) RETURNING id",
                    &[&channel, &TEST, &payload, &now_ms],
                )?
                .try_get(0)?,
            ))
        })
    }

    fn channel_records(&self) -> Result<Vec<ChannelRecord>> {
        // One transaction: every record from the same moment.
        self.write_plain(|tx| {
            let names: Vec<String> = tx
                .query(
                    "SELECT name FROM notify_channels
                     UNION SELECT channel FROM notify_queue WHERE delivered_ms IS NULL
                     ORDER BY 1",
                    &[],
                )?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<std::result::Result<_, _>>()?;
            names.iter().map(|n| channel_record(tx, n)).collect()
        })
    }

    fn prune_delivered(&self, before_ms: i64) -> Result<u64> {
        self.write_plain(|tx| {
            tx.execute(
                "DELETE FROM notify_queue WHERE delivered_ms IS NOT NULL AND delivered_ms < $1",
                &[&before_ms],
            )
        })
    }
}
