//! Backup and restore behind the store seam: what every backend provides
//! ([`BackupStore`]: a consistent snapshot while writers go on, a restore staged beside
//! the live data and installed whole, [`StagedRestore`]), and what a restore keeps, the
//! same on every backend. The SQLite implementation is `sqlite::backup` and
//! `sqlite::merge`; the service (`crate::backup`) authenticates nothing twice: it opens
//! the stream with [`open_snapshot`], hands the backend the authenticated reader, and
//! decides on the merged result through [`OnMerged`].
//!
//! What a restore keeps ([`TABLES`]): **data rolls back; history never does; security
//! state merges to the most restrictive** (docs/backup-format.md, "What a restore
//! keeps"). [`TABLES`] classifies every table of the schema; the restore, its report and
//! the docs take the classes from there, and a unit test fails when a table has none.

use std::io::{BufRead, Write};

use imadm_api::backup::{FORMAT_VERSION, FormatError, MacKey, Reader};
use imadm_api::codes;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::keys::KeyId;

/// What a restore does with a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Rolls back to the snapshot: IM data and the role definitions.
    Data,
    /// Never replaced or shortened: the audit trail and what is derived from it. `key`
    /// orders its rows (new rows have larger keys).
    History { key: &'static str },
    /// Merged to the more restrictive of live and snapshot (the backend's security merge).
    Security,
    /// The install's identity (`server_id`, `app_id`) and its runtime state (the
    /// notification queue, about live's alerts; the audit sinks' delivery cursors: what
    /// left this server cannot be recalled, so a restore neither rewinds them, re-sending,
    /// nor moves them on, skipping): kept from live.
    Install,
}

/// Every table of the schema and its class (docs/backup-format.md lists the same).
pub const TABLES: &[(&str, Class)] = &[
    ("access_attestations", Class::History { key: "id" }),
    ("alert_events", Class::History { key: "id" }),
    ("alerts", Class::History { key: "id" }),
    ("audit_checkpoints", Class::History { key: "id" }),
    ("audit_log", Class::History { key: "seq" }),
    ("audit_sink_cursors", Class::Install),
    ("auth_events", Class::History { key: "id" }),
    ("im_group_members", Class::Data),
    ("im_groups", Class::Data),
    ("im_messages", Class::Data),
    ("im_users", Class::Data),
    ("incident_events", Class::History { key: "id" }),
    ("incidents", Class::Security),
    ("mfa_challenges", Class::Security),
    ("notify_channels", Class::Install),
    ("notify_queue", Class::Install),
    ("operator_addresses", Class::Security),
    ("operator_roles", Class::Security),
    ("operators", Class::Security),
    ("passkeys", Class::Security),
    ("recovery_codes", Class::Security),
    ("role_permissions", Class::Data),
    ("roles", Class::Data),
    ("service_token_scopes", Class::Security),
    ("service_tokens", Class::Security),
    ("sessions", Class::Security),
    ("settings", Class::Install),
    ("token_sources", Class::History { key: "first_seq" }),
];

/// The security tables the backends' security merge knows; a security table missing here
/// would be taken from the snapshot unmerged, so [`check_classes`] refuses it.
pub(crate) const MERGED: &[&str] = &[
    "incidents",
    "mfa_challenges",
    "operator_addresses",
    "operator_roles",
    "operators",
    "passkeys",
    "recovery_codes",
    "service_token_scopes",
    "service_tokens",
    "sessions",
];

/// The history tables the backends know how to continue after a snapshot's ledger.
pub(crate) const CONTINUED: &[&str] = &[
    "access_attestations",
    "alert_events",
    "alerts",
    "audit_checkpoints",
    "audit_log",
    "auth_events",
    "incident_events",
    "token_sources",
];

/// The class of `table`, if it has one.
pub fn class(table: &str) -> Option<Class> {
    TABLES.iter().find(|(t, _)| *t == table).map(|(_, c)| *c)
}

/// Refuse to restore tables without a class, or whose class has no rule here: the code
/// is out of step with the schema (the unit test `every_table_has_a_class` catches it
/// first).
pub fn check_classes<'a>(tables: impl IntoIterator<Item = &'a str>) -> Result<(), ApiError> {
    for t in tables {
        let handled = match class(t) {
            None => false,
            Some(Class::Security) => MERGED.contains(&t),
            Some(Class::History { .. }) => CONTINUED.contains(&t),
            Some(_) => true,
        };
        if !handled {
            return Err(ApiError::new(
                codes::INTERNAL,
                format!("this server has no restore rule for table {t}"),
            )
            .hint("the live data was not changed; report this as a bug"));
        }
    }
    Ok(())
}

/// Where a table's rows come from after the restore (the report's `source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Snapshot,
    Live,
    Merged,
    /// Emptied: sessions and MFA challenges (everyone logs in again).
    Cleared,
}

/// The source of `table` under `relation`.
pub fn source(table: &str, relation: Relation) -> Source {
    match class(table) {
        Some(Class::History { .. }) if relation.keeps_live_ledger() => Source::Live,
        Some(Class::History { .. }) => Source::Merged,
        Some(Class::Security) if matches!(table, "sessions" | "mfa_challenges") => Source::Cleared,
        Some(Class::Security) if relation == Relation::Recovery => Source::Snapshot,
        Some(Class::Security) => Source::Merged,
        Some(Class::Install) => Source::Live,
        Some(Class::Data) | None => Source::Snapshot,
    }
}

/// How the snapshot's audit ledger relates to the live one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The snapshot's ledger is a prefix of the live one (the usual case): the live
    /// ledger stays as it is.
    Extends,
    /// The live ledger is a prefix of the snapshot's (live was rolled back earlier, by an
    /// imadm that replaced history): the snapshot's ledger is taken, the live events
    /// after it appended. History only moves forward.
    Behind,
    /// Disaster recovery onto a new install: another server id, and a live ledger of the
    /// install's own first events only (logins, MFA, reads and refused restores). The snapshot's ledger is
    /// taken as it is and the install's events appended after it.
    Recovery,
    /// Neither: restored only with `accept_fork`, and the live ledger stays.
    Fork,
}

impl Relation {
    /// Whether the live history stays as it is (else the snapshot's is continued).
    pub fn keeps_live_ledger(self) -> bool {
        matches!(self, Relation::Extends | Relation::Fork)
    }

    /// Whether live and snapshot are one server's data, so principals are matched (by
    /// id, username and creation time) and merged; a recovery takes the snapshot's.
    pub fn same_lineage(self) -> bool {
        self != Relation::Recovery
    }
}

/// A chain head: the last event's sequence number and hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: String,
}

/// Both ledgers and how they relate.
#[derive(Debug, Clone)]
pub struct Ledger {
    pub relation: Relation,
    pub snapshot_head: Option<ChainHead>,
    pub live_head: Option<ChainHead>,
}

/// Live events appended after the snapshot's chain (behind, recovery): their original
/// range and head, and the sequence numbers they have now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Appended {
    pub live_from: u64,
    pub live_to: u64,
    /// The hash of live event `live_to` in the live chain before the restore.
    pub live_head: String,
    pub from: u64,
    pub to: u64,
}

/// One thing a restore keeps from live (or takes away), for one principal, and why:
/// `operator carol: stays disabled (disabled after the backup)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PrincipalNote {
    /// `operator <username>` or `token <id> (<name>)`.
    pub principal: String,
    pub kept: String,
    pub why: String,
}

pub(crate) fn note(
    principal: &str,
    kept: impl Into<String>,
    why: impl Into<String>,
) -> PrincipalNote {
    PrincipalNote {
        principal: principal.to_owned(),
        kept: kept.into(),
        why: why.into(),
    }
}

/// Rows per table before (live) and in the snapshot, and where the table's rows come
/// from after the restore.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct TableCounts {
    pub table: String,
    pub current: u64,
    pub snapshot: u64,
    pub source: Source,
}

/// The snapshot's audit ledger against the live one, and what the restore does with them.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct LedgerReport {
    pub relation: Relation,
    /// This server's id (the snapshot's is the report's `server_id`).
    pub server_id: String,
    /// The snapshot's chain head; none when its log is empty.
    pub snapshot_head: Option<ChainHead>,
    /// The live chain head when the restore started.
    pub live_head: Option<ChainHead>,
    /// Live events appended after the snapshot's chain (relation `behind` or `recovery`).
    pub appended: Option<Appended>,
    /// Why a fork was accepted (`accept_fork`).
    pub fork_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RestoreReport {
    pub dry_run: bool,
    /// The snapshot's server.
    pub server_id: String,
    pub created_at: i64,
    pub schema_version: i64,
    pub tables: Vec<TableCounts>,
    /// Operators whose effective permissions the restore extends (or would extend), after
    /// the merge: only a rolled-back role definition can still give permissions.
    pub permission_gains: Vec<PermissionGain>,
    pub ledger: LedgerReport,
    /// What the restore keeps from live (or takes away), per operator and token, and why.
    pub kept_from_live: Vec<PrincipalNote>,
    /// Every session ends at a restore (the restorer's too): everyone logs in again.
    pub sessions_ended: bool,
}

/// An operator who holds permissions in the snapshot that it does not hold live (a
/// disabled operator holds none).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PermissionGain {
    pub operator: String,
    pub permissions: Vec<String>,
}

pub(crate) fn integrity(e: FormatError) -> ApiError {
    let unchanged = "the live data was not changed; check the archive with `imadm backup verify`";
    match e {
        FormatError::Io(e) => ApiError::new(
            codes::INTEGRITY,
            format!("the snapshot stream broke off: {e}"),
        )
        .hint(unchanged),
        // Only a forgery or an edit makes a well-formed stream fail its MAC: a refusal,
        // recorded as `denied` (and alerted), not a damaged file.
        FormatError::Unauthentic(_) => ApiError::new(codes::INTEGRITY, e.to_string())
            .hint("the live data was not changed; this server restores only snapshots written by a server with its server key (`imadm backup run`), unaltered")
            .as_denial(),
        FormatError::NoMac => ApiError::new(codes::INTEGRITY, e.to_string()).hint(
            "the live data was not changed; take a new backup with this version of imadm (`imadm backup run`) and restore that one (`imadm backup verify --identity` still checks a version 1 archive's integrity)",
        ),
        other => ApiError::new(codes::INTEGRITY, other.to_string()).hint(unchanged),
    }
}

/// Refuse a merged result that leaves nobody able to administer the server safely.
pub(crate) fn require_owner(owners_with_mfa: u64) -> Result<(), ApiError> {
    if owners_with_mfa > 0 {
        return Ok(());
    }
    Err(ApiError::new(
        codes::CONFLICT,
        "the restore would leave no enabled owner with MFA enrolled",
    )
    .hint("nothing was changed; `--dry-run` shows what the restore keeps from live (operators disabled, deleted or created since the backup); enable an owner or have one enrol MFA first, or restore another backup"))
}

/// How a restore was asked for.
pub struct RestoreOptions<'a> {
    pub dry_run: bool,
    /// This server's id (a snapshot of another is a disaster recovery, or a fork).
    pub server_id: &'a str,
    /// Restore a snapshot whose ledger forks from the live one, for this recorded reason
    /// (the live ledger stays).
    pub accept_fork: Option<&'a str>,
}

pub(crate) fn fork_refused(ledger: &Ledger) -> ApiError {
    let head = |h: &Option<ChainHead>| {
        h.as_ref().map_or("no events".to_owned(), |h| {
            format!("seq {} ({})", h.seq, h.hash)
        })
    };
    ApiError::new(
        codes::INTEGRITY,
        format!(
            "the snapshot's audit log forks from this server's: the snapshot's chain ends at {}, which the live chain (ending at {}) does not hold, nor does the snapshot's hold the live head",
            head(&ledger.snapshot_head),
            head(&ledger.live_head)
        ),
    )
    .hint("history never rewinds, so nothing was changed; restore a backup of this server's current log, or, if the divergence is known, pass --accept-fork REASON (recorded in the audit log; the live log is kept)")
    .as_denial()
}

/// The server keys a restore checks a snapshot against: the keyring (`keys::ServerKey`),
/// or a fixed key in the unit tests.
pub trait SnapshotKeys {
    /// The backup MAC key of the key with this fingerprint, if this server holds it.
    fn mac_key(&self, fingerprint: &str) -> Option<MacKey>;
    /// Whether this server holds the key with this id (16 hex digits).
    fn holds(&self, key_id: &str) -> bool;
}

impl SnapshotKeys for crate::keys::ServerKey {
    fn mac_key(&self, fingerprint: &str) -> Option<MacKey> {
        self.by_fingerprint(fingerprint)
            .map(|k| k.backup_mac_key().clone())
    }

    fn holds(&self, key_id: &str) -> bool {
        key_id.parse().is_ok_and(|id| self.holds(id))
    }
}

/// Open a snapshot stream and authenticate it under the MAC key of its key (found in
/// `keys`), before anything else is looked at: a header this server's keys did not write
/// is refused here, its records unread, as is a snapshot with values sealed under keys
/// this server lacks.
pub fn open_snapshot<R: BufRead>(keys: &dyn SnapshotKeys, inp: R) -> Result<Reader<R>, ApiError> {
    let reader = Reader::new(inp).map_err(integrity)?;
    if reader.header.version != FORMAT_VERSION {
        return Err(integrity(FormatError::NoMac));
    }
    let Some(mac) = keys.mac_key(&reader.header.key_fingerprint) else {
        return Err(ApiError::new(
            codes::INTEGRITY,
            "the snapshot was taken under a different server key (key fingerprint mismatch): this server's keyring does not hold it",
        )
        .hint("start the server with the server.key (and server.key.d/) of the backed-up server (IMADM_SERVER_KEY_FILE); sealed secrets cannot be read without them"));
    };
    let reader = reader.authenticate(&mac).map_err(integrity)?;
    let missing: Vec<&str> = reader
        .header
        .key_ids
        .iter()
        .map(String::as_str)
        .filter(|id| !keys.holds(id))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::new(
            codes::INTEGRITY,
            format!(
                "the snapshot has values sealed under server key(s) {} that this server does not hold",
                missing.join(", ")
            ),
        )
        .hint(format!(
            "copy {} from the backed-up server's server.key.d/ into this server's and restart it; nothing was changed",
            missing
                .iter()
                .map(|id| format!("{id}.key"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(reader)
}

/// What a snapshot's header says about the server that writes it.
pub struct SnapshotMeta<'a> {
    pub server_id: &'a str,
    /// The fingerprint of the key whose MAC key (`mac`) authenticates the snapshot.
    pub key_fingerprint: &'a str,
    pub mac: &'a MacKey,
    /// The key a sealed value that names no key is sealed under.
    pub original_key: KeyId,
}

/// The service's say on a restore's merged result, called by the backend under its write
/// lock before the install commits (with the request's parked audit event): refuse it
/// (a gain the restorer does not hold), and complete the audit event with the report.
pub type OnMerged<'a> = dyn Fn(&RestoreReport) -> Result<(), ApiError> + 'a;

/// A snapshot stream the backend reads, already authenticated by [`open_snapshot`].
pub type SnapshotReader<'a> = Reader<Box<dyn BufRead + Send + 'a>>;

/// Snapshot and restore of a whole store (docs/backup-format.md): the same archive from
/// and into every backend.
pub trait BackupStore: Send + Sync {
    /// Why this backend cannot snapshot at all (checked before a snapshot starts), if so.
    fn unavailable(&self) -> Option<ApiError> {
        None
    }
    /// About how many bytes a snapshot will have (for the client's progress bar).
    fn snapshot_size_estimate(&self) -> u64;
    /// Write one point-in-time snapshot of every table onto `out` while writers go on.
    fn snapshot(&self, meta: &SnapshotMeta<'_>, out: &mut dyn Write) -> Result<(), String>;
    /// Load `snapshot` into staging beside the live data and check it: schema, records,
    /// trailer, the ledger relation (a fork only with `opts.accept_fork`), and for a dry
    /// run the merge a real restore does. Nothing live changes.
    fn stage<'a>(
        &'a self,
        snapshot: SnapshotReader<'a>,
        opts: &RestoreOptions<'_>,
    ) -> Result<Box<dyn StagedRestore + 'a>, ApiError>;
}

/// A verified snapshot in staging, not yet live. Dropping it discards it.
pub trait StagedRestore {
    /// What the restore does (for a dry run, what it would do).
    fn report(&self) -> &RestoreReport;
    /// Make it the live data: under the store's write lock, the live history committed
    /// meanwhile, the security merge, the checks on the merged result (an enabled owner
    /// with MFA, then `on_merged`) and the request's audit event, in one step; on failure
    /// nothing live changed.
    fn install(self: Box<Self>, on_merged: &OnMerged<'_>) -> Result<RestoreReport, ApiError>;
}
