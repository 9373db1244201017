//! The SQLite side of the audit log: [`AuditTx`] on a connection inside its write
//! transaction, [`commit`] (every write transaction of the SQLite stores ends in it, so
//! the request's parked event commits with its changes), and the database file's [`seed`].

use imadm_api::audit::AuditEvent;
use rusqlite::{Connection, OptionalExtension, params};

use crate::store::Result;
use crate::store::audit::{AlertRow, AlertRules, AuditTx, NewAudit};
use crate::store::notify::Route;

/// Commit `tx` with the parked event (if any, and not yet recorded) inside it.
pub(crate) fn commit(tx: rusqlite::Transaction<'_>, rules: &AlertRules) -> Result<()> {
    let wrote = crate::store::audit::write_pending(&*tx, rules)?;
    tx.commit()?;
    if wrote {
        crate::store::audit::mark_written();
    }
    Ok(())
}

/// Append `e` at the end of the chain inside the open transaction of `conn`.
pub(crate) fn insert(conn: &Connection, e: &NewAudit, rules: &AlertRules) -> Result<u64> {
    crate::store::audit::insert(conn, e, crate::store::audit::now_ms(), rules)
}

impl AuditTx for Connection {
    fn audit_head(&self) -> Result<Option<(u64, i64, String)>> {
        Ok(self
            .prepare_cached("SELECT seq, at_ms, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
            .query_row([], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?))
            })
            .optional()?)
    }

    fn write_audit_row(&self, at_ms: i64, ev: &AuditEvent) -> Result<()> {
        Ok(write_row(self, at_ms, ev)?)
    }

    fn count_events(
        &self,
        actor: &str,
        actions: &[&str],
        outcome: &str,
        since_ms: i64,
    ) -> Result<i64> {
        Ok(self
            .prepare_cached(
                "SELECT count(*) FROM audit_log WHERE at_ms >= ?1 AND actor = ?2 AND outcome = ?3
                   AND instr(',' || ?4 || ',', ',' || action || ',') > 0",
            )?
            .query_row(params![since_ms, actor, outcome, actions.join(",")], |r| {
                r.get(0)
            })?)
    }

    fn add_token_source(&self, actor: &str, source: &str, seq: u64) -> Result<bool> {
        let n = self
            .prepare_cached(
                "INSERT OR IGNORE INTO token_sources (actor, source, first_seq)
                 VALUES (?1, ?2, ?3)",
            )?
            .execute(params![actor, source, seq as i64])?;
        Ok(n == 1)
    }

    fn token_sources_besides(&self, actor: &str, source: &str, limit: u32) -> Result<Vec<String>> {
        Ok(self
            .prepare_cached(
                "SELECT source FROM token_sources WHERE actor = ?1 AND source <> ?2
                 ORDER BY first_seq LIMIT ?3",
            )?
            .query_map(params![actor, source, limit], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn alert_raised_after(&self, rule: &str, actor: &str, after_ms: i64) -> Result<bool> {
        Ok(self
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM alerts WHERE rule = ?1 AND actor = ?2
                   AND at_ms > ?3)",
            )?
            .query_row(params![rule, actor, after_ms], |r| r.get(0))?)
    }

    fn insert_alert(&self, a: &AlertRow<'_>, at_ms: i64) -> Result<u64> {
        self.prepare_cached(
            "INSERT INTO alerts (at_ms, rule, severity, actor, detail, event_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            at_ms,
            a.rule,
            a.severity,
            a.actor,
            a.detail,
            a.event_seq as i64
        ])?;
        Ok(self.last_insert_rowid() as u64)
    }

    fn enqueue_alert(
        &self,
        routes: &[Route],
        alert: &imadm_api::audit::Alert,
        exclude: Option<&str>,
        at_ms: i64,
    ) -> Result<()> {
        Ok(crate::store::sqlite::notify::enqueue_alert(
            self, routes, alert, exclude, at_ms,
        )?)
    }
}

/// The one statement that writes an audit row (for [`AuditTx`] and the bench's `seed`).
pub(crate) fn write_row(conn: &Connection, at_ms: i64, ev: &AuditEvent) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_log (seq, at_ms, actor_type, actor, source, action, target, outcome,
             request_id, detail, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        ev.seq as i64,
        at_ms,
        ev.actor_type,
        ev.actor,
        ev.source,
        ev.action,
        ev.target,
        ev.outcome,
        ev.request_id,
        ev.detail,
        ev.hash
    ])?;
    Ok(())
}

/// [`crate::store::audit::seed`] into the database file `db`, in one transaction that
/// takes the write lock before reading the chain's end.
pub fn seed(db: &std::path::Path, n: u64, now_ms: i64) -> Result<u64> {
    let mut conn = Connection::open(db)?;
    // The server may be running and writing (its audit sinks move their cursors): wait
    // for it.
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let last = crate::store::audit::seed(&*tx, n, now_ms)?;
    tx.commit()?;
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::audit::{AlertRules, BusinessHours, DAYS, RequestedAlert, now_ms};

    fn token_event(source: &str) -> NewAudit {
        NewAudit {
            actor_type: "token".into(),
            actor: "owner#7".into(),
            source: Some(source.into()),
            action: "audit.export".into(),
            outcome: "success".into(),
            ..NewAudit::default()
        }
    }

    fn rules_fired(store: &crate::store::sqlite::SqliteStore) -> Vec<String> {
        use crate::store::Store;
        store
            .alerts(&crate::store::AlertFilter {
                limit: 100,
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|a| a.rule)
            .collect()
    }

    #[test]
    fn token_new_address_and_off_hours_rules() {
        use crate::store::Store;
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::sqlite::SqliteStore::open(&dir.path().join("t.db")).unwrap();
        // First address: the baseline; again: nothing; a second address: one alert.
        for src in ["10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.2", "10.0.0.1"] {
            store.append_audit(&token_event(src)).unwrap();
        }
        assert_eq!(rules_fired(&store), ["token_new_address"]);
        // Another token's first use is its own baseline.
        let mut other = token_event("10.0.0.9");
        other.actor = "owner#8".into();
        store.append_audit(&other).unwrap();
        assert_eq!(rules_fired(&store).len(), 1);

        // Business hours that never hold (a minute on a day): operators alert, once an
        // hour; tokens and failed logins do not.
        let mut rules = AlertRules::default();
        let day_after_tomorrow = (now_ms() + 2 * 86_400_000).div_euclid(86_400_000);
        let day = DAYS[(day_after_tomorrow + 3).rem_euclid(7) as usize];
        rules.business_hours = Some(BusinessHours::parse(&format!("{day} 00:00-00:01")).unwrap());
        store.set_alert_rules(rules);
        let op = |action: &str, outcome: &str| NewAudit {
            actor_type: "operator".into(),
            actor: "night-owl".into(),
            action: action.into(),
            outcome: outcome.into(),
            ..NewAudit::default()
        };
        store.append_audit(&op("auth.login", "failure")).unwrap();
        store.append_audit(&token_event("10.0.0.1")).unwrap();
        assert_eq!(rules_fired(&store).len(), 1);
        store.append_audit(&op("user.create", "success")).unwrap();
        store.append_audit(&op("user.delete", "success")).unwrap();
        assert_eq!(rules_fired(&store), ["token_new_address", "off_hours"]);
    }

    /// A service's own alerts (a restore's permission gains) fire with a successful
    /// event only: a failed or refused one changed nothing.
    #[test]
    fn requested_alerts_fire_with_successful_events_only() {
        use crate::store::Store;
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::sqlite::SqliteStore::open(&dir.path().join("t.db")).unwrap();
        let restore = |outcome: &str| NewAudit {
            actor_type: "operator".into(),
            actor: "owner".into(),
            action: "backup.restore".into(),
            outcome: outcome.into(),
            alerts: vec![RequestedAlert {
                rule: "role_escalation",
                severity: "high",
                detail: "a restore gives operator x role:write".into(),
            }],
            ..NewAudit::default()
        };
        store.append_audit(&restore("failure")).unwrap();
        assert!(rules_fired(&store).is_empty());
        store.append_audit(&restore("success")).unwrap();
        let alerts = store
            .alerts(&crate::store::AlertFilter {
                limit: 100,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(alerts.len(), 1);
        assert_eq!(
            (alerts[0].rule.as_str(), alerts[0].severity.as_str()),
            ("role_escalation", "high")
        );
        assert!(alerts[0].detail.contains("operator x role:write"));
    }
}
