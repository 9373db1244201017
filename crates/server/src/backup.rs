//! The backup and restore services: `GET /admin/backup/snapshot` and
//! `POST /admin/backup/restore` without the HTTP. The store does the work behind its seam
//! (`store::restore::BackupStore`: a point-in-time snapshot while writers go on; a restore
//! staged beside the live data, verified, and switched whole); this module decides who
//! may, what is recorded, and what a restore may give. Sealed columns stay sealed: a
//! restore needs the server keys they are sealed under (the header's `key_ids`) and the
//! key of the header's fingerprint, whose MAC key authenticates the snapshot; retired
//! keys stay in the keyring for this.
//!
//! What a restore keeps (`store::restore::TABLES`): data rolls back; history never does;
//! security state merges to the most restrictive.
//!
//! What a restore accepts ([`AppState::restore_backup`], the service behind
//! `POST /admin/backup/restore`): only snapshots this server key authenticated (the
//! header tag before the staging file is created, the trailer's MAC before the file can
//! be installed or a dry run succeed); only a snapshot whose audit ledger the live one
//! extends (or is behind, or a new install's), a fork only with `accept_fork`; only a
//! merged result with an enabled owner who has MFA; and only permission changes its
//! restorer could have granted: every operator's effective permissions in the merged
//! result are compared with the live ones, a gain the restorer does not hold refuses the
//! restore, and every gain raises a `role_escalation` alert.

use std::io::{BufRead, Write};

use imadm_api::codes;

use crate::AppState;
use crate::audit::RequestedAlert;
use crate::auth::{Caller, RequestCtx};
use crate::error::ApiError;
use crate::store::restore::{ChainHead, Relation, SnapshotMeta, open_snapshot};
pub use crate::store::restore::{
    LedgerReport, PermissionGain, RestoreOptions, RestoreReport, TableCounts,
};

/// Refuse gains the restorer could not have granted: nobody can give a permission they
/// do not hold, through a restore either.
fn check_gains(caller: &Caller, gains: &[PermissionGain]) -> Result<(), ApiError> {
    for g in gains {
        if let Some(p) = g
            .permissions
            .iter()
            .find(|p| !caller.permissions.contains(p))
        {
            return Err(ApiError::new(
                codes::ESCALATION_REFUSED,
                format!(
                    "the snapshot gives operator {:?} `{p}`, which you do not hold",
                    g.operator
                ),
            )
            .hint("a restore cannot give anyone a permission its restorer does not hold; ask an operator who holds it (an owner) to restore this snapshot"));
        }
    }
    Ok(())
}

/// How many principal notes the audit detail spells out before `+N more`.
const DETAIL_NOTES: usize = 20;

/// The audit detail of a restore: which snapshot (server, time, chain head), what became
/// of the two ledgers, who gains what, and what was kept from live.
pub(crate) fn restore_detail(r: &RestoreReport) -> String {
    let l = &r.ledger;
    let head = |h: &Option<ChainHead>| {
        h.as_ref().map_or("empty".to_owned(), |h| {
            format!("seq {} hash {}", h.seq, h.hash)
        })
    };
    let mut d = format!(
        "snapshot of {} taken at {}, chain head {}",
        r.server_id,
        r.created_at,
        head(&l.snapshot_head)
    );
    d.push_str(&match l.relation {
        Relation::Extends => format!("; live chain ({}) extends it, kept", head(&l.live_head)),
        Relation::Behind => format!(
            "; live chain ({}) is a prefix of it: the snapshot's continued",
            head(&l.live_head)
        ),
        Relation::Recovery => format!(
            "; disaster recovery onto server {} (live chain {}): the snapshot's chain continued",
            l.server_id,
            head(&l.live_head)
        ),
        Relation::Fork => format!(
            "; fork accepted ({:?}): live chain ({}) kept",
            l.fork_reason.as_deref().unwrap_or(""),
            head(&l.live_head)
        ),
    });
    if let Some(a) = &l.appended {
        d.push_str(&format!(
            "; live events seq {}..={} (head {}) appended as seq {}..={}",
            a.live_from, a.live_to, a.live_head, a.from, a.to
        ));
    }
    for g in &r.permission_gains {
        d.push_str(&format!(
            "; {} gains {}",
            g.operator,
            g.permissions.join(",")
        ));
    }
    if !r.kept_from_live.is_empty() {
        let mut kept: Vec<String> = r
            .kept_from_live
            .iter()
            .take(DETAIL_NOTES)
            .map(|n| format!("{} {} ({})", n.principal, n.kept, n.why))
            .collect();
        if r.kept_from_live.len() > DETAIL_NOTES {
            kept.push(format!("+{} more", r.kept_from_live.len() - DETAIL_NOTES));
        }
        d.push_str(&format!("; kept from live: {}", kept.join(", ")));
    }
    d.push_str(if r.dry_run {
        "; would end every session"
    } else {
        "; every session ended"
    });
    d
}

/// The longest `accept_fork` reason (it goes into the audit log).
const MAX_FORK_REASON: usize = 500;

fn check_fork_reason(reason: Option<&str>) -> Result<(), ApiError> {
    let Some(r) = reason else { return Ok(()) };
    if r.trim().is_empty() || r.chars().count() > MAX_FORK_REASON || r.chars().any(char::is_control)
    {
        return Err(ApiError::bad_request(format!(
            "accept_fork needs a reason of 1 to {MAX_FORK_REASON} characters, on one line"
        ))
        .hint("say why the fork is expected, e.g. --accept-fork \"restored the pre-upgrade backup on purpose, ticket 4711\""));
    }
    Ok(())
}

impl AppState {
    /// Restore (or with `dry_run`, check) the snapshot streamed from `inp`: permission
    /// `backup:restore` and step-up first, then the stream authenticated
    /// ([`open_snapshot`]) and staged by the store (the ledger relation and, for a fork,
    /// `accept_fork`), and the install under the store's write lock, where the security
    /// state is merged and the merged result checked (an enabled owner with MFA, no
    /// permission gain the restorer does not hold). Recorded fail-closed as `backup.restore` (or
    /// `backup.restore_dry_run`): `denied` for refusals (no permission, a snapshot that
    /// fails authentication or forks, a gain the restorer does not hold), `failure`
    /// otherwise. The success event commits inside the new database file, after the live
    /// history, with one `role_escalation` alert per operator that gains permissions; a
    /// checkpoint is signed at the restore with this server's audit key.
    pub fn restore_backup<R: BufRead + Send>(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        otp: Option<&str>,
        inp: R,
        dry_run: bool,
        accept_fork: Option<&str>,
    ) -> Result<RestoreReport, ApiError> {
        let action = if dry_run {
            "backup.restore_dry_run"
        } else {
            "backup.restore"
        };
        let event = self.audit_event(ctx, Some(caller), action, None);
        self.audited(event, || {
            caller.require("backup:restore")?;
            check_fork_reason(accept_fork)?;
            self.step_up(ctx, caller, otp, "restoring a backup")?;
            let opts = RestoreOptions {
                dry_run,
                server_id: &self.server_id,
                accept_fork,
            };
            let snapshot = open_snapshot(&self.key, Box::new(inp) as Box<dyn BufRead + Send>)?;
            let staged = self.backups.stage(snapshot, &opts)?;
            if dry_run {
                let report = staged.report().clone();
                check_gains(caller, &report.permission_gains)?;
                crate::audit::amend_pending(|e| e.detail = Some(restore_detail(&report)));
                return Ok(report);
            }
            let installed = staged.install(&|report| {
                check_gains(caller, &report.permission_gains)?;
                record_merged(report);
                Ok(())
            });
            // The data changed under every cached session lookup.
            self.store.bump_epoch();
            let report = installed?;
            // The first checkpoint of the restored log, under this server's key.
            if let Err(e) = self.audit_checkpoint(None) {
                tracing::warn!(error = %e.message, "cannot sign a checkpoint after the restore");
            }
            Ok(report)
        })
    }
}

/// Complete the restore's parked audit event with its report, and one `role_escalation`
/// alert per operator the restore gives permissions (it commits with the install).
fn record_merged(report: &RestoreReport) {
    crate::audit::amend_pending(|e| {
        e.detail = Some(restore_detail(report));
        e.alerts = report
            .permission_gains
            .iter()
            .map(|g| RequestedAlert {
                rule: "role_escalation",
                severity: "high",
                detail: format!(
                    "a restore gives operator {} {}",
                    g.operator,
                    g.permissions.join(",")
                ),
            })
            .collect();
    });
}

impl AppState {
    /// Record a backup run's step in the audit log (its own transaction). The store's
    /// error lets the start of a snapshot be refused (fail-closed) when it cannot be
    /// recorded.
    fn record_backup(
        &self,
        ctx: &RequestCtx,
        c: &Caller,
        outcome: &str,
        detail: &str,
    ) -> Result<(), crate::store::StoreError> {
        let mut e = self.audit_event(ctx, Some(c), "backup.run", None);
        e.outcome = outcome.into();
        e.detail = Some(detail.into());
        self.store.append_audit(&e).inspect_err(|err| {
            tracing::error!(error = %err, "cannot record a backup event in the audit log");
        })
    }

    /// Start a snapshot for `c` (permission `backup:run`): recorded before a byte leaves,
    /// so a snapshot nobody can account for is refused. Returns about how many bytes it
    /// will have (the client's progress bar).
    pub fn start_snapshot(&self, ctx: &RequestCtx, c: &Caller) -> Result<u64, ApiError> {
        c.require("backup:run")?;
        if let Some(e) = self.backups.unavailable() {
            return Err(e);
        }
        self.record_backup(ctx, c, "success", "snapshot started")
            .map_err(|_| {
                ApiError::new(
                    codes::INTERNAL,
                    "the audit log could not be written, so the backup was refused",
                )
            })?;
        Ok(self.backups.snapshot_size_estimate())
    }

    /// Stream the snapshot [`AppState::start_snapshot`] started onto `out`, and record how
    /// it ended. On failure the caller breaks the stream, so the client's trailer check
    /// fails.
    pub fn stream_snapshot(
        &self,
        ctx: &RequestCtx,
        c: &Caller,
        out: &mut dyn Write,
    ) -> Result<(), String> {
        let key = self.key.active();
        let meta = SnapshotMeta {
            server_id: &self.server_id,
            key_fingerprint: key.fingerprint(),
            mac: key.backup_mac_key(),
            original_key: self.key.original_id(),
        };
        let done = self.backups.snapshot(&meta, out);
        // Recording the end is best effort: the start was recorded fail-closed.
        let _ = match &done {
            Ok(()) => self.record_backup(ctx, c, "success", "snapshot streamed"),
            Err(e) => {
                tracing::error!(error = %e, "snapshot failed");
                self.record_backup(ctx, c, "failure", "snapshot failed")
            }
        };
        done
    }
}
