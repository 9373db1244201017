//! [`ThrottleStore`] on PostgreSQL: login throttling's counters in `login_throttle`,
//! shared by every instance on the database. An update locks its counters' rows
//! (`SELECT … FOR UPDATE`, rows created first if absent) for one transaction: an update
//! of the same counters through another instance waits for it, so every attempt is
//! counted once, wherever it arrives.
//!
//! Every update takes its rows in key order, so two updates never wait on each other
//! crosswise. Rows nobody touched for two days are deleted now and then (at most hourly
//! per instance), in a transaction of their own that skips locked rows.

use std::sync::atomic::{AtomicI64, Ordering};

use super::PgStore;
use crate::store::Result;
use crate::store::audit::now_ms;
use crate::store::throttle::{Counter, CounterKey, Slots, ThrottleStore};

/// Longer than any counter matters: failures are forgotten a day after the last one,
/// and a lock lasts an hour at most.
const PRUNE_AFTER_MS: i64 = 2 * 24 * 3600 * 1000;
/// How often an instance prunes, at most.
const PRUNE_EVERY_MS: i64 = 3600 * 1000;
const PRUNE_BATCH: i64 = 10_000;
/// When this process last pruned (Unix ms).
static LAST_PRUNE: AtomicI64 = AtomicI64::new(0);

const CREATE: &str = "INSERT INTO login_throttle (key, touched)
     SELECT k, $2 FROM unnest($1::bytea[]) AS k ORDER BY k
     ON CONFLICT (key) DO NOTHING";
const LOCK: &str = "SELECT key, tokens, failures, locked_until, at FROM login_throttle
     WHERE key = ANY($1) ORDER BY key FOR UPDATE";
// An upsert, not an update: a row pruned between CREATE and LOCK is written again.
const KEEP: &str = "INSERT INTO login_throttle (key, tokens, failures, locked_until, at, touched)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens, failures = excluded.failures,
       locked_until = excluded.locked_until, at = excluded.at, touched = excluded.touched";
const PRUNE: &str = "DELETE FROM login_throttle WHERE key IN (
     SELECT key FROM login_throttle WHERE touched < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)";

fn counter(r: &postgres::Row) -> Result<Option<Counter>> {
    let Some(at) = r.try_get::<_, Option<i64>>(4)? else {
        return Ok(None);
    };
    Ok(Some(Counter {
        tokens: r.try_get::<_, Option<f64>>(1)?.unwrap_or(0.0),
        failures: r.try_get::<_, Option<i32>>(2)?.unwrap_or(0).max(0) as u32,
        locked_until: r.try_get(3)?,
        at,
    }))
}

impl ThrottleStore for PgStore {
    fn update_counters(&self, keys: &[CounterKey], f: &mut dyn FnMut(&mut Slots)) -> Result<()> {
        let mut sorted: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
        sorted.sort();
        let now = now_ms();
        let mut conn = self.conn()?;
        let (create, lock, keep) = (
            conn.prepared(CREATE)?,
            conn.prepared(LOCK)?,
            conn.prepared(KEEP)?,
        );
        let mut tx = conn.transaction()?;
        tx.execute(&create, &[&sorted, &now])?;
        let mut slots: Vec<Option<Counter>> = vec![None; keys.len()];
        for r in tx.query(&lock, &[&sorted])? {
            let key: &[u8] = r.try_get(0)?;
            if let Some(i) = keys.iter().position(|k| k[..] == *key) {
                slots[i] = counter(&r)?;
            }
        }
        f(&mut slots);
        for (key, slot) in keys.iter().zip(&slots) {
            let failures = slot.map(|c| i32::try_from(c.failures).unwrap_or(i32::MAX));
            tx.execute(
                &keep,
                &[
                    &&key[..],
                    &slot.map(|c| c.tokens),
                    &failures,
                    &slot.and_then(|c| c.locked_until),
                    &slot.map(|c| c.at),
                    &now,
                ],
            )?;
        }
        tx.commit()?;
        if now - LAST_PRUNE.load(Ordering::Relaxed) >= PRUNE_EVERY_MS {
            LAST_PRUNE.store(now, Ordering::Relaxed);
            for _ in 0..10 {
                match conn.execute(PRUNE, &[&(now - PRUNE_AFTER_MS), &PRUNE_BATCH]) {
                    Ok(n) if n as i64 == PRUNE_BATCH => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot prune login throttling's counters");
                        break;
                    }
                }
            }
        }
        Ok(())
    }
}
