//! The SQLite backend's snapshot and restore (`store::restore::BackupStore`), generic
//! over its schema.
//!
//! The snapshot dumps every table in `sqlite_master` (except SQLite's own) from one read
//! transaction on a dedicated connection: WAL lets writers continue while the snapshot
//! stays point-in-time. The restore never touches live data: it loads the stream into a
//! staging file beside the database (a complete database with the live schema: tables
//! and indexes before the load, triggers after it, foreign keys checked), two threads
//! deep (one reads, hashes and decodes, one inserts). Only once the trailer verified and
//! every record was accepted does the store finish the staging file and rename it,
//! fsynced, over the live one (`SqliteStore::replace_file`), so a crash leaves the old
//! file or the new one, whole. The snapshot's connection holds the store's `file_lock`
//! shared, the install exclusive: no connection stays open on the old file across the
//! swap.
//!
//! What a restore keeps (`store::restore`, the SQL in [`merge`](super::merge)): the live
//! history goes into the staging file in bulk while it is staged, and what live commits
//! after that, with the security merge, under the store's write lock at the install
//! ([`Staged::install`]).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};
use std::path::Path;

use imadm_api::backup::{
    FORMAT_NAME, FORMAT_VERSION, FormatError, Header, Item, MacKey, Reader, TableInfo, Value,
    ValueRef, Writer,
};
use imadm_api::codes;
use rusqlite::types::ValueRef as SqlRef;

use crate::keys::KeyId;
use rusqlite::{Connection, OpenFlags};

use super::SqliteStore;
use super::merge::{self, History};
use crate::error::ApiError;
use crate::fsutil::Flusher;
use crate::store::StoreError;
use crate::store::restore::{
    BackupStore, LedgerReport, OnMerged, PermissionGain, Relation, RestoreOptions, RestoreReport,
    SnapshotMeta, SnapshotReader, StagedRestore, TableCounts, check_classes, fork_refused,
    integrity, require_owner,
};

pub(crate) fn db_err(e: rusqlite::Error) -> ApiError {
    tracing::error!(error = %e, "backup database error");
    ApiError::new(codes::DATABASE_ERROR, "the server's database failed")
        .hint("see the server log; the live data was not changed")
}

use crate::store::quote_ident as quote;

/// Tables a snapshot covers: all of the user's tables, not SQLite's internal ones.
pub(crate) fn tables(conn: &Connection) -> rusqlite::Result<Vec<(String, Vec<String>)>> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )?;
    let names: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::new();
    for name in names {
        let mut cols = conn.prepare(&format!("PRAGMA table_info({})", quote(&name)))?;
        let columns: Vec<String> = cols
            .query_map([], |r| r.get(1))?
            .collect::<rusqlite::Result<_>>()?;
        out.push((name, columns));
    }
    Ok(out)
}

/// Write a snapshot of the database at `db` to `out`, authenticated under `mac` (the MAC
/// key of the key with `key_fingerprint`). Its header lists the key ids its sealed values
/// need, a value that names no key counted as `original_key`'s.
pub fn snapshot<W: Write>(
    db: &Path,
    server_id: &str,
    key_fingerprint: &str,
    mac: &MacKey,
    original_key: KeyId,
    out: W,
) -> Result<W, String> {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| e.to_string())?;
    conn.execute_batch("BEGIN").map_err(|e| e.to_string())?;
    // The first read fixes the snapshot; everything below sees the same state.
    let schema_version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|e| e.to_string())?;
    let tabs = tables(&conn).map_err(|e| e.to_string())?;
    let mut infos = Vec::new();
    for (name, columns) in &tabs {
        let count: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {}", quote(name)), [], |r| {
                r.get(0)
            })
            .map_err(|e| e.to_string())?;
        infos.push(TableInfo {
            name: name.clone(),
            columns: columns.clone(),
            count: count as u64,
        });
    }
    let key_ids = super::keys::sealed_key_ids(&conn)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|id| id.unwrap_or(original_key).to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let header = Header {
        format: FORMAT_NAME.into(),
        version: FORMAT_VERSION,
        server_id: server_id.into(),
        created_at: crate::now(),
        schema_version,
        key_fingerprint: key_fingerprint.into(),
        tables: infos,
        key_ids,
    };
    let mut w = Writer::new(out, &header, mac).map_err(|e| e.to_string())?;
    for (i, (name, columns)) in tabs.iter().enumerate() {
        let cols = columns
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(",");
        let mut stmt = conn
            .prepare(&format!("SELECT {cols} FROM {}", quote(name)))
            .map_err(|e| e.to_string())?;
        let mut rows = stmt.query([]).map_err(|e| e.to_string())?;
        while let Some(row) = rows.next().map_err(|e| e.to_string())? {
            let mut vals = Vec::with_capacity(columns.len());
            for c in 0..columns.len() {
                vals.push(match row.get_ref(c).map_err(|e| e.to_string())? {
                    SqlRef::Null => ValueRef::Null,
                    SqlRef::Integer(v) => ValueRef::Int(v),
                    SqlRef::Real(v) => ValueRef::Real(v),
                    SqlRef::Text(t) => ValueRef::Text(t),
                    SqlRef::Blob(b) => ValueRef::Blob(b),
                });
            }
            w.record(i as u32, &vals).map_err(|e| e.to_string())?;
        }
    }
    let out = w.finish().map_err(|e| e.to_string())?;
    conn.execute_batch("COMMIT").map_err(|e| e.to_string())?;
    Ok(out)
}

const STAGING_PREFIX: &str = ".restore-staging-";

/// Delete staging files of restores that never finished (called at start-up, before any
/// restore can run).
pub fn remove_stale_staging(data_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(data_dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(STAGING_PREFIX) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Every enabled operator's permissions through its roles in `schema`, by username.
fn effective_permissions(
    conn: &Connection,
    schema: &str,
) -> rusqlite::Result<BTreeMap<String, BTreeSet<String>>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT o.username, rp.permission FROM {schema}.operators o
           JOIN {schema}.operator_roles r ON r.operator_id = o.id
           JOIN {schema}.role_permissions rp ON rp.role = r.role
          WHERE o.disabled = 0"
    ))?;
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
    for row in rows {
        let (user, perm) = row?;
        out.entry(user).or_default().insert(perm);
    }
    Ok(out)
}

/// What each operator holds in the staging file (`main`) and not live (`live`).
fn permission_gains(c: &Connection) -> Result<Vec<PermissionGain>, ApiError> {
    let before = effective_permissions(c, "live").map_err(db_err)?;
    let none = BTreeSet::new();
    Ok(effective_permissions(c, "main")
        .map_err(db_err)?
        .into_iter()
        .filter_map(|(operator, after)| {
            let had = before.get(&operator).unwrap_or(&none);
            let permissions: Vec<String> = after.difference(had).cloned().collect();
            (!permissions.is_empty()).then_some(PermissionGain {
                operator,
                permissions,
            })
        })
        .collect())
}

/// Decoded records in flight between [`decode`] and the inserting thread, and their budget.
const DECODED_DEPTH: usize = 4;
const DECODED_BATCH_BYTES: usize = 1 << 20;
const DECODED_BATCH_RECORDS: usize = 512;

enum Decoded {
    Records(Vec<(u32, Vec<rusqlite::types::Value>)>),
    /// The trailer verified: hash, counts and end of stream.
    End,
    Failed(FormatError),
}

/// The restore's reading thread: reads, hashes and decodes records, and sends them in
/// batches of about [`DECODED_BATCH_BYTES`]. It stops at the verified trailer, at the first
/// error, or when the inserting thread has gone (a refused record).
fn decode<R: BufRead>(mut reader: Reader<R>, tx: std::sync::mpsc::SyncSender<Decoded>) {
    use rusqlite::types::Value as Sql;
    let mut batch = Vec::new();
    let mut bytes = 0;
    loop {
        let last = match reader.next() {
            Ok(Item::Record { table, values }) => {
                let params: Vec<Sql> = values
                    .into_iter()
                    .map(|v| match v {
                        Value::Null => Sql::Null,
                        Value::Int(i) => Sql::Integer(i),
                        Value::Real(r) => Sql::Real(r),
                        Value::Text(t) => {
                            bytes += t.len();
                            Sql::Text(t)
                        }
                        Value::Blob(b) => {
                            bytes += b.len();
                            Sql::Blob(b)
                        }
                    })
                    .collect();
                batch.push((table, params));
                if bytes < DECODED_BATCH_BYTES && batch.len() < DECODED_BATCH_RECORDS {
                    continue;
                }
                None
            }
            Ok(Item::End(_)) => Some(Decoded::End),
            Err(e) => Some(Decoded::Failed(e)),
        };
        if !batch.is_empty() {
            bytes = 0;
            if tx
                .send(Decoded::Records(std::mem::take(&mut batch)))
                .is_err()
            {
                return;
            }
        }
        if let Some(last) = last {
            let _ = tx.send(last);
            return;
        }
    }
}

/// The store a [`Staged`] restore installs into: the server's, or a scratch store the
/// restore owns (the PostgreSQL backend merges in one, `postgres::backup`).
pub(crate) enum StoreRef<'a> {
    Borrowed(&'a SqliteStore),
    Owned(Box<SqliteStore>),
}

impl std::ops::Deref for StoreRef<'_> {
    type Target = SqliteStore;

    fn deref(&self) -> &SqliteStore {
        match self {
            StoreRef::Borrowed(s) => s,
            StoreRef::Owned(s) => s,
        }
    }
}

/// A snapshot loaded into a complete staging file beside the database: verified,
/// authenticated and checked, not yet live. Dropping it deletes the file.
pub struct Staged<'a> {
    store: StoreRef<'a>,
    file: tempfile::NamedTempFile,
    pub report: RestoreReport,
    history: History,
}

impl Staged<'_> {
    /// Make the staging file the live database through the store's `replace_file`, which
    /// first finishes it under the store's write lock: the live history committed since
    /// [`stage`] copied it, the security state merged with live's as it is at that moment
    /// ([`merge::security`]), the install's settings and id counters; then the checks on
    /// the merged result (an enabled owner with MFA; `on_merged`, the service's: the
    /// restorer's permissions, the audit event amended with the report) and the request's
    /// audit event. On failure the file is deleted and nothing live changed.
    pub fn install(self, on_merged: &OnMerged<'_>) -> Result<RestoreReport, ApiError> {
        let Staged {
            store,
            file,
            mut report,
            mut history,
        } = self;
        let mut refusal = None;
        let done = {
            let _file = store.file_lock.write().unwrap_or_else(|p| p.into_inner());
            store.replace_file(file.path(), &mut |tx| {
                finish(tx, &mut report, &mut history, on_merged).map_err(|e| {
                    let message = e.message.clone();
                    refusal = Some(e);
                    StoreError::Refused(message)
                })
            })
        };
        match (done, refusal) {
            (_, Some(e)) => Err(e),
            (Err(e), None) => {
                tracing::error!(error = %e, "installing the restored database failed");
                Err(ApiError::new(
                    codes::DATABASE_ERROR,
                    "the restored database could not be installed",
                )
                .hint("see the server log; the live data is the old data unless the log says otherwise"))
            }
            // On success the staging file has been renamed; the temp guard's delete then
            // finds nothing.
            (Ok(()), None) => Ok(report),
        }
    }
}

/// The part of a restore that runs under the store's write lock (see [`Staged::install`]).
fn finish(
    c: &Connection,
    report: &mut RestoreReport,
    history: &mut History,
    on_merged: &OnMerged<'_>,
) -> Result<(), ApiError> {
    history.copy(c)?;
    report.ledger.appended = history.appended().cloned();
    report.kept_from_live = merge::security(c, report.ledger.relation.same_lineage())?;
    report
        .kept_from_live
        .extend(merge::erasures(c, crate::now())?);
    merge::install_tables(c)?;
    merge::carry_sequences(c)?;
    require_owner(merge::owners_with_mfa(c)?)?;
    report.permission_gains = permission_gains(c)?;
    on_merged(report)
}

/// Load a snapshot (authenticated by `store::restore::open_snapshot`) into a staging
/// file beside the store's database and verify it. Nothing live changes:
/// [`Staged::install`] does that. A dry run's staging file is never synced; it also gets
/// the merge a real restore does under the lock, so its report (kept from live,
/// permission gains) and its refusals are the real one's.
pub fn stage<'a, R: BufRead + Send>(
    store: &'a SqliteStore,
    reader: Reader<R>,
    opts: &RestoreOptions<'_>,
) -> Result<Staged<'a>, ApiError> {
    stage_into(StoreRef::Borrowed(store), reader, opts)
}

/// [`stage`] into `store`, which the returned [`Staged`] keeps.
pub(crate) fn stage_into<'a, R: BufRead + Send>(
    store: StoreRef<'a>,
    reader: Reader<R>,
    opts: &RestoreOptions<'_>,
) -> Result<Staged<'a>, ApiError> {
    let db = store.path.clone();
    let db = db.as_path();
    let dry_run = opts.dry_run;
    let started = std::time::Instant::now();
    let header = reader.header.clone();
    let live = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(db_err)?;
    live.busy_timeout(std::time::Duration::from_secs(60))
        .map_err(db_err)?;
    let live_version: i64 = live
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(db_err)?;
    if header.schema_version != live_version {
        return Err(ApiError::new(
            codes::INTEGRITY,
            format!(
                "the snapshot has schema version {}, this server's database has {live_version}",
                header.schema_version
            ),
        )
        .hint("restore with a server of the same imadm version as the one that took the backup"));
    }
    let live_tables: BTreeMap<String, Vec<String>> =
        tables(&live).map_err(db_err)?.into_iter().collect();
    let snap_tables: BTreeMap<String, Vec<String>> = header
        .tables
        .iter()
        .map(|t| (t.name.clone(), t.columns.clone()))
        .collect();
    if live_tables != snap_tables {
        return Err(ApiError::new(
            codes::INTEGRITY,
            "the snapshot's tables or columns differ from this server's schema",
        )
        .hint("restore with a server of the same imadm version as the one that took the backup"));
    }
    check_classes(header.tables.iter().map(|t| t.name.as_str()))?;
    // The live schema, to build the staging file as a complete database: tables and
    // indexes before the load, triggers after it (an insert must not fire them).
    let schema: Vec<(String, String)> = {
        let mut stmt = live
            .prepare(
                "SELECT type, sql FROM sqlite_master
                 WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
                 ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, rowid",
            )
            .map_err(db_err)?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db_err)?
            .collect::<rusqlite::Result<_>>()
            .map_err(db_err)?
    };

    let dir = db.parent().unwrap_or(Path::new("."));
    let staging = tempfile::Builder::new()
        .prefix(STAGING_PREFIX)
        .suffix(".sqlite")
        .tempfile_in(dir)
        .map_err(|e| {
            ApiError::new(
                codes::INTERNAL,
                format!("cannot create the staging file: {e}"),
            )
            .hint("check free space and permissions of the data dir")
        })?;
    let ledger;
    let history;
    let mut merged = None;
    {
        // The staging file is written back and synced beside the load, on a thread of its
        // own (`Flusher`), so the fsync before the switch has little left to do. A dry
        // run's staging file is deleted, never synced: no flusher. Declared before the
        // connection so that its descriptor is closed after it: closing another
        // descriptor of a file drops the POSIX locks SQLite holds on it.
        let flusher = if dry_run {
            None
        } else {
            Some(Flusher::watch([staging.path()]).map_err(|e| {
                ApiError::new(
                    codes::INTERNAL,
                    format!("cannot open the staging file: {e}"),
                )
            })?)
        };
        let st = Connection::open(staging.path()).map_err(db_err)?;
        // The page size comes first: the first write fixes it (see `PAGE_SIZE`).
        st.pragma_update(None, "page_size", super::PAGE_SIZE)
            .map_err(db_err)?;
        // No journal and no syncs while loading: until the file is complete and fsynced
        // (by `install`), a crash just leaves a staging file that start-up deletes.
        st.execute_batch(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA foreign_keys=OFF",
        )
        .map_err(db_err)?;
        st.pragma_update(None, "user_version", header.schema_version)
            .map_err(db_err)?;
        st.execute_batch("BEGIN").map_err(db_err)?;
        for (kind, sql) in &schema {
            if kind != "trigger" {
                st.execute_batch(sql).map_err(db_err)?;
            }
        }
        let mut stmts = Vec::new();
        for t in &header.tables {
            let cols = t
                .columns
                .iter()
                .map(|c| quote(c))
                .collect::<Vec<_>>()
                .join(",");
            let marks = vec!["?"; t.columns.len()].join(",");
            stmts.push(
                st.prepare(&format!(
                    "INSERT INTO {} ({cols}) VALUES ({marks})",
                    quote(&t.name)
                ))
                .map_err(db_err)?,
            );
        }
        // Two threads: this one inserts while `decode` reads, hashes and decodes the
        // next records (on two cores the single-threaded load was bound by doing both).
        std::thread::scope(|scope| -> Result<(), ApiError> {
            let (tx, rx) = std::sync::mpsc::sync_channel(DECODED_DEPTH);
            scope.spawn(move || decode(reader, tx));
            loop {
                let batch = match rx.recv() {
                    Ok(Decoded::Records(batch)) => batch,
                    Ok(Decoded::End) => return Ok(()),
                    Ok(Decoded::Failed(e)) => return Err(integrity(e)),
                    Err(_) => {
                        return Err(ApiError::new(
                            codes::INTERNAL,
                            "the snapshot decoder stopped early",
                        ));
                    }
                };
                for (table, params) in batch {
                    stmts[table as usize]
                        .execute(rusqlite::params_from_iter(params))
                        .map_err(|e| {
                            ApiError::new(
                                codes::INTEGRITY,
                                format!(
                                    "a record of table {} was refused: {e}",
                                    header.tables[table as usize].name
                                ),
                            )
                            .hint("the live data was not changed; the archive is inconsistent")
                        })?;
                }
            }
        })?;
        drop(stmts);
        st.execute_batch("COMMIT").map_err(db_err)?;
        tracing::debug!(
            ms = started.elapsed().as_millis(),
            "restore: records loaded"
        );

        // The snapshot is in; now what the restore keeps from live. Foreign keys on, so
        // the dry run's merge removes what hangs off a removed operator.
        st.pragma_update(None, "foreign_keys", "ON")
            .map_err(db_err)?;
        super::attach_read_only(&st, db, "live").map_err(db_err)?;
        st.execute_batch("BEGIN").map_err(db_err)?;
        ledger = merge::relate(&st, &header.server_id, opts.server_id)?;
        if ledger.relation == Relation::Fork && opts.accept_fork.is_none() {
            return Err(fork_refused(&ledger));
        }
        let mut h = History::new(&st, &ledger)?;
        // The live history, in bulk: before the store's write lock, which `install` takes
        // only for what live commits meanwhile. A dry run copies only the few events a
        // continued ledger appends, for its report.
        if !dry_run || !ledger.relation.keeps_live_ledger() {
            h.copy(&st)?;
        }
        if dry_run {
            let mut notes = merge::security(&st, ledger.relation.same_lineage())?;
            notes.extend(merge::erasures(&st, crate::now())?);
            require_owner(merge::owners_with_mfa(&st)?)?;
            merged = Some((notes, permission_gains(&st)?));
        }
        history = h;
        for (kind, sql) in &schema {
            if kind == "trigger" {
                st.execute_batch(sql).map_err(db_err)?;
            }
        }
        let violations: i64 = st
            .query_row(
                "SELECT count(*) FROM pragma_foreign_key_check(NULL, 'main')",
                [],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        if violations > 0 {
            return Err(ApiError::new(
                codes::INTEGRITY,
                format!("the snapshot breaks {violations} foreign-key reference(s)"),
            )
            .hint("the live data was not changed; the archive is inconsistent"));
        }
        // Detached before the journal mode changes: unqualified, that pragma would reach
        // the attached live file too.
        st.execute_batch("COMMIT; DETACH DATABASE live; PRAGMA main.journal_mode=DELETE")
            .map_err(db_err)?;
        // The connection first (see above), then the flusher's descriptor.
        drop(st);
        if let Some(f) = flusher {
            f.finish().map_err(|e| {
                tracing::error!(error = %e, "writing the restore's staging file failed");
                ApiError::new(
                    codes::INTERNAL,
                    format!("writing the staging file failed: {e}"),
                )
                .hint("check the data dir's disk (space, errors in the kernel log); the live data was not changed")
            })?;
        }
        tracing::debug!(
            ms = started.elapsed().as_millis(),
            "restore: staging file checked and committed"
        );
    }

    let mut counts = Vec::new();
    for t in &header.tables {
        let current: i64 = live
            .query_row(
                &format!("SELECT count(*) FROM {}", quote(&t.name)),
                [],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        counts.push(TableCounts {
            table: t.name.clone(),
            current: current as u64,
            snapshot: t.count,
            source: crate::store::restore::source(&t.name, ledger.relation),
        });
    }
    drop(live);
    let (kept_from_live, permission_gains) = merged.unwrap_or_default();
    let report = RestoreReport {
        dry_run,
        server_id: header.server_id,
        created_at: header.created_at,
        schema_version: header.schema_version,
        tables: counts,
        permission_gains,
        ledger: LedgerReport {
            relation: ledger.relation,
            server_id: opts.server_id.to_owned(),
            snapshot_head: ledger.snapshot_head,
            live_head: ledger.live_head,
            appended: history.appended().cloned(),
            fork_reason: opts
                .accept_fork
                .filter(|_| ledger.relation == Relation::Fork)
                .map(str::to_owned),
        },
        kept_from_live,
        sessions_ended: true,
    };
    Ok(Staged {
        store,
        file: staging,
        report,
        history,
    })
}

impl StagedRestore for Staged<'_> {
    fn report(&self) -> &RestoreReport {
        &self.report
    }

    fn install(self: Box<Self>, on_merged: &OnMerged<'_>) -> Result<RestoreReport, ApiError> {
        Staged::install(*self, on_merged)
    }
}

impl BackupStore for SqliteStore {
    /// The database and WAL file sizes bound the snapshot's size closely enough; the exact
    /// size is only known at the trailer.
    fn snapshot_size_estimate(&self) -> u64 {
        [self.path.clone(), super::wal_path(&self.path)]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }

    fn snapshot(&self, meta: &SnapshotMeta<'_>, out: &mut dyn Write) -> Result<(), String> {
        let _file = self.file_lock.read().unwrap_or_else(|p| p.into_inner());
        snapshot(
            &self.path,
            meta.server_id,
            meta.key_fingerprint,
            meta.mac,
            meta.original_key,
            out,
        )
        .map(drop)
    }

    fn stage<'a>(
        &'a self,
        snapshot: SnapshotReader<'a>,
        opts: &RestoreOptions<'_>,
    ) -> Result<Box<dyn StagedRestore + 'a>, ApiError> {
        Ok(Box::new(stage(self, snapshot, opts)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::store::audit::NewAudit;
    use crate::store::restore::{SnapshotKeys, Source, open_snapshot};
    use crate::store::sqlite::SqliteStore;
    use crate::store::{NewServiceToken, NewSession};

    /// The MAC key of these tests' server.
    fn mac() -> MacKey {
        MacKey::from_bytes([9; 32])
    }

    /// A server holding one key: [`mac`] under the fingerprint given, every key id.
    struct TestKey(&'static str);

    impl SnapshotKeys for TestKey {
        fn mac_key(&self, fingerprint: &str) -> Option<MacKey> {
            (fingerprint == self.0).then(mac)
        }

        fn holds(&self, _: &str) -> bool {
            true
        }
    }

    /// A server's database, through its store (as the server has it open), with an owner
    /// who has MFA (a restore must leave one), one IM user with a value of every kind,
    /// and a few audit events.
    struct Srv {
        _dir: tempfile::TempDir,
        dir: std::path::PathBuf,
        p: std::path::PathBuf,
        store: SqliteStore,
        id: &'static str,
    }

    impl Srv {
        fn new(id: &'static str) -> Srv {
            Srv::with(id, |_| {})
        }

        /// `before` runs on the empty file, before the store creates its schema.
        fn with(id: &'static str, before: impl FnOnce(&Path)) -> Srv {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("imadm.db");
            before(&p);
            let store = SqliteStore::open(&p).unwrap();
            let owner = store
                .create_operator(&format!("{id}-owner"), "h", false, &["owner"], 1)
                .unwrap();
            store.set_totp_secret(owner, b"sealed").unwrap();
            let srv = Srv {
                dir: dir.path().to_owned(),
                _dir: dir,
                p,
                store,
                id,
            };
            srv.sql(
                "INSERT INTO im_users (user_id, username, password_hash, nick_name, created_at, updated_at)
                     VALUES (1, 'x', 'h', x'00ff', 1.5, 1), (2, 'q', 'h', NULL, 2, 2);",
            );
            srv.event("auth.login");
            srv.event("user.create");
            srv
        }

        fn sql(&self, q: &str) {
            Connection::open(&self.p).unwrap().execute_batch(q).unwrap();
        }

        fn query(&self, q: &str) -> Vec<String> {
            let c = Connection::open(&self.p).unwrap();
            let mut s = c.prepare(q).unwrap();
            let n = s.column_count();
            s.query_map([], |r| {
                Ok((0..n)
                    .map(|i| match r.get_ref(i).unwrap() {
                        SqlRef::Null => "NULL".to_owned(),
                        SqlRef::Integer(v) => v.to_string(),
                        SqlRef::Real(v) => v.to_string(),
                        SqlRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                        SqlRef::Blob(b) => format!("x'{}'", hex::encode(b)),
                    })
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
        }

        fn event(&self, action: &str) {
            self.store
                .append_audit(&NewAudit {
                    actor_type: "operator".into(),
                    actor: format!("{}-owner", self.id),
                    action: action.into(),
                    outcome: "success".into(),
                    ..NewAudit::default()
                })
                .unwrap();
        }

        /// The IM data (what rolls back).
        fn data(&self) -> Vec<String> {
            let mut out = self.query("SELECT * FROM im_users ORDER BY user_id");
            out.extend(
                self.query("SELECT msg_id, length(content) FROM im_messages ORDER BY msg_id"),
            );
            out
        }

        /// `seq|action|hash` of every event.
        fn ledger(&self) -> Vec<String> {
            self.query("SELECT seq, action, hash FROM audit_log ORDER BY seq")
        }

        fn snap(&self) -> Vec<u8> {
            snapshot(&self.p, self.id, "fp", &mac(), KeyId([0; 8]), Vec::new()).unwrap()
        }

        fn restore(&self, inp: &[u8], dry_run: bool) -> Result<RestoreReport, ApiError> {
            self.restore_with(inp, dry_run, None)
        }

        /// [`stage`] and, unless a dry run, [`Staged::install`] through the store.
        fn restore_with<R: BufRead + Send>(
            &self,
            inp: R,
            dry_run: bool,
            accept_fork: Option<&str>,
        ) -> Result<RestoreReport, ApiError> {
            let staged = self.stage(inp, dry_run, accept_fork)?;
            if dry_run {
                Ok(staged.report)
            } else {
                staged.install(&|_| Ok(()))
            }
        }

        fn stage<R: BufRead + Send>(
            &self,
            inp: R,
            dry_run: bool,
            accept_fork: Option<&str>,
        ) -> Result<Staged<'_>, ApiError> {
            let opts = RestoreOptions {
                dry_run,
                server_id: self.id,
                accept_fork,
            };
            stage(&self.store, open_snapshot(&TestKey("fp"), inp)?, &opts)
        }

        /// Cut the live ledger back to `seq` (as someone with the file could), so that
        /// what is appended next forks from what was there.
        fn truncate_ledger(&self, seq: u64) {
            self.sql(&format!(
                "DROP TRIGGER audit_log_append_only_delete;
                 DELETE FROM audit_log WHERE seq > {seq};
                 CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
                 BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;"
            ));
        }
    }

    /// Every event's hash follows from the previous one and its own fields.
    fn assert_chain_verifies(srv: &Srv) {
        let events = srv
            .store
            .audit_events(&crate::audit::EventFilter {
                limit: 100_000,
                ..Default::default()
            })
            .unwrap();
        let mut prev = imadm_api::audit::GENESIS;
        for (i, e) in events.iter().enumerate() {
            assert_eq!(e.seq, i as u64 + 1, "no gaps");
            prev = imadm_api::audit::chain_next(&prev, &e.leaf());
            assert_eq!(e.hash, imadm_api::audit::hash_hex(&prev), "event {}", e.seq);
        }
    }

    fn prefix(short: &[String], long: &[String]) {
        assert!(
            long.len() >= short.len() && long[..short.len()] == *short,
            "not a prefix:\n{short:#?}\nof\n{long:#?}"
        );
    }

    fn assert_no_staging_files(dir: &Path) {
        let left: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().contains("staging"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    /// Both ways a database file comes to be get the server's page size: a new store, and
    /// a restore over a file made with SQLite's default. The pragma only works before the
    /// first write, so its place in each set-up matters.
    #[test]
    fn new_and_restored_files_use_the_server_page_size() {
        use crate::store::sqlite::PAGE_SIZE;
        let page_size = |p: &Path| -> u32 {
            Connection::open(p)
                .unwrap()
                .pragma_query_value(None, "page_size", |r| r.get(0))
                .unwrap()
        };
        let fresh = Srv::new("srv");
        assert_eq!(page_size(&fresh.p), PAGE_SIZE);
        let old = Srv::with("srv", |p| {
            Connection::open(p)
                .unwrap()
                .execute_batch("PRAGMA page_size = 4096; CREATE TABLE x (a); DROP TABLE x;")
                .unwrap()
        });
        assert_eq!(page_size(&old.p), 4096, "premise: SQLite's default");
        let before = old.data();
        let snap = old.snap();
        old.restore(&snap, false).unwrap();
        assert_eq!(page_size(&old.p), PAGE_SIZE);
        assert_eq!(old.data(), before);
    }

    /// The header lists the key ids of the snapshot's sealed values (values naming no
    /// key as the original key's); a server lacking one refuses before staging anything.
    #[test]
    fn a_snapshot_needing_a_key_the_server_lacks_is_refused() {
        struct Lacking;
        impl SnapshotKeys for Lacking {
            fn mac_key(&self, fingerprint: &str) -> Option<MacKey> {
                TestKey("fp").mac_key(fingerprint)
            }
            fn holds(&self, id: &str) -> bool {
                id == "0000000000000000"
            }
        }
        let srv = Srv::new("srv");
        let under_b = KeyId([0xbb; 8]).sealed_prefix();
        srv.sql(&format!(
            "UPDATE im_users SET email = x'{}00' WHERE user_id = 2",
            hex::encode(under_b)
        ));
        let snap = srv.snap();
        let header = Reader::new(&snap[..]).unwrap().header;
        assert_eq!(header.key_ids, ["0000000000000000", "bbbbbbbbbbbbbbbb"]);
        let before = srv.data();
        let opts = RestoreOptions {
            dry_run: false,
            server_id: "srv",
            accept_fork: None,
        };
        let Err(e) = open_snapshot(&Lacking, &snap[..]).and_then(|r| stage(&srv.store, r, &opts))
        else {
            panic!("a snapshot needing a missing key was staged");
        };
        assert_eq!(e.code, codes::INTEGRITY);
        assert!(e.message.contains("bbbbbbbbbbbbbbbb"), "{}", e.message);
        assert!(!e.message.contains("0000000000000000"), "{}", e.message);
        assert!(
            e.detail
                .as_ref()
                .and_then(|d| d.hint.as_deref())
                .unwrap()
                .contains("bbbbbbbbbbbbbbbb.key"),
            "{e:?}"
        );
        assert_eq!(srv.data(), before);
        srv.stage(&snap[..], true, None).unwrap();
    }

    #[test]
    fn data_rolls_back_history_stays_and_key_and_schema_are_checked() {
        let srv = Srv::new("srv");
        let before = srv.data();
        // Audit sink cursors at the backup: one sink moves on after it, one is removed.
        srv.store.set_sink_cursor("siem", 1, "h1", 1).unwrap();
        srv.store.set_sink_cursor("gone", 1, "h1", 1).unwrap();
        let snap = srv.snap();
        srv.store.set_sink_cursor("siem", 2, "h2", 2).unwrap();
        srv.sql("DELETE FROM audit_sink_cursors WHERE name = 'gone'");
        srv.sql(
            "DELETE FROM im_users WHERE user_id = 1;
             INSERT INTO im_users (username, password_hash, created_at, updated_at)
                 VALUES ('z', 'h', 3, 3);",
        );
        srv.event("user.delete");
        let changed = srv.data();
        assert_ne!(changed, before);
        let ledger = srv.ledger();

        let opts = RestoreOptions {
            dry_run: false,
            server_id: "srv",
            accept_fork: None,
        };
        let Err(e) =
            open_snapshot(&TestKey("other"), &snap[..]).and_then(|r| stage(&srv.store, r, &opts))
        else {
            panic!("another key fingerprint was accepted");
        };
        assert!(!e.is_denial(), "a foreign key is a mistake, not an attack");
        assert_eq!(e.code, codes::INTEGRITY);
        assert!(e.message.contains("different server key"), "{}", e.message);
        let dry = srv.restore(&snap, true).unwrap();
        assert!(dry.dry_run);
        assert_eq!(dry.ledger.relation, Relation::Extends);
        assert_eq!(srv.data(), changed);
        let e = srv.restore(&snap[..snap.len() - 1], false).unwrap_err();
        assert_eq!(e.code, codes::INTEGRITY);
        assert_eq!(srv.data(), changed);

        let report = srv.restore(&snap, false).unwrap();
        assert_eq!(srv.data(), before, "the IM data rolled back");
        prefix(&ledger, &srv.ledger());
        assert_chain_verifies(&srv);
        let source = |t: &str| report.tables.iter().find(|c| c.table == t).unwrap().source;
        assert_eq!(source("im_users"), Source::Snapshot);
        assert_eq!(source("audit_log"), Source::Live);
        assert_eq!(source("operators"), Source::Merged);
        assert_eq!(source("sessions"), Source::Cleared);
        assert_eq!(source("settings"), Source::Live);
        // A restore neither rewinds a sink (re-sending) nor brings one back.
        assert_eq!(source("audit_sink_cursors"), Source::Live);
        assert_eq!(
            srv.query("SELECT name, seq, hash FROM audit_sink_cursors"),
            ["siem|2|h2"]
        );
        // The append-only trigger is back.
        let c = Connection::open(&srv.p).unwrap();
        assert!(c.execute("DELETE FROM audit_log", []).is_err());

        c.execute_batch("PRAGMA user_version=99").unwrap();
        let e = srv.restore(&snap, false).unwrap_err();
        assert!(e.message.contains("schema version"), "{}", e.message);
        assert_no_staging_files(&srv.dir);
    }

    /// What live commits between the bulk copy of its history and the install (here,
    /// events written after `stage`) is in the restored file too, before the restore's
    /// own event; ids of rows created since the backup are not given again.
    #[test]
    fn history_committed_during_the_restore_is_kept_and_ids_are_not_reused() {
        let srv = Srv::new("srv");
        let snap = srv.snap();
        srv.sql(
            "INSERT INTO im_users (username, password_hash, created_at, updated_at)
                 VALUES ('later', 'h', 3, 3);",
        );
        let rolled_away: i64 = srv.query("SELECT max(user_id) FROM im_users")[0]
            .parse()
            .unwrap();
        srv.event("user.create");
        let staged = srv.stage(&snap[..], false, None).unwrap();
        srv.event("user.update");
        srv.store
            .append_event(
                &crate::store::AuthEvent {
                    event: "login.password".into(),
                    outcome: "failure".into(),
                    ..Default::default()
                },
                5,
            )
            .unwrap();
        let before = srv.ledger();
        let auth_before = srv.query("SELECT * FROM auth_events ORDER BY id");
        crate::store::audit::set_pending(NewAudit {
            actor_type: "operator".into(),
            actor: "srv-owner".into(),
            action: "backup.restore".into(),
            outcome: "success".into(),
            ..NewAudit::default()
        });
        // The service's say on the merged result: the event's detail (`crate::backup`).
        let report = staged
            .install(&|r| {
                let detail = crate::backup::restore_detail(r);
                crate::store::audit::amend_pending(|e| e.detail = Some(detail));
                Ok(())
            })
            .unwrap();
        let (event, written) = crate::store::audit::take_pending().unwrap();
        assert!(written, "the restore's event went into the new file");
        let after = srv.ledger();
        prefix(&before, &after);
        assert_eq!(after.len(), before.len() + 1);
        assert!(after.last().unwrap().contains("|backup.restore|"));
        assert_eq!(
            srv.query("SELECT * FROM auth_events ORDER BY id"),
            auth_before
        );
        assert_chain_verifies(&srv);
        let detail = event.detail.unwrap();
        let head = report.ledger.snapshot_head.unwrap();
        assert!(
            detail.contains(&format!("snapshot of srv taken at {}", report.created_at))
                && detail.contains(&format!("chain head seq {} hash {}", head.seq, head.hash))
                && detail.contains("every session ended"),
            "{detail}"
        );
        srv.sql(
            "INSERT INTO im_users (username, password_hash, created_at, updated_at)
                 VALUES ('new', 'h', 4, 4);",
        );
        let new: i64 = srv.query("SELECT max(user_id) FROM im_users")[0]
            .parse()
            .unwrap();
        assert!(
            new > rolled_away,
            "id {new} given again (was {rolled_away})"
        );
    }

    /// Many records cross the decoder's batches and channel; a record the database
    /// refuses half-way (a duplicate key) stops both threads, and nothing is installed.
    #[test]
    fn restore_across_many_batches_and_a_refused_record_stops_it_cleanly() {
        let srv = Srv::new("srv");
        srv.sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
             INSERT INTO im_messages (msg_id, from_id, to_type, to_id, content, created_at)
                 SELECT i, 1, 'user', 2, randomblob(2048), i FROM n;",
        );
        let before = srv.data();
        let snap = srv.snap();
        srv.sql("DELETE FROM im_messages WHERE msg_id > 10");
        let changed = srv.data();
        srv.restore(&snap, false).unwrap();
        assert_eq!(srv.data(), before, "3000 rows of ~2 KiB, over many batches");

        // The same snapshot, but message 2500 comes twice.
        let mut r = Reader::new(&snap[..]).unwrap();
        let mut records = Vec::new();
        while let Item::Record { table, values } = r.next().unwrap() {
            records.push((table, values));
        }
        let mut header = r.header;
        let msgs = header
            .tables
            .iter()
            .position(|t| t.name == "im_messages")
            .unwrap();
        header.tables[msgs].count += 1;
        let dup = records
            .iter()
            .find(|(t, v)| *t as usize == msgs && v[0] == Value::Int(2500))
            .unwrap()
            .clone();
        records.push(dup);
        let mut w = Writer::new(Vec::new(), &header, &mac()).unwrap();
        for (t, values) in &records {
            let refs: Vec<ValueRef<'_>> = values.iter().map(Value::as_ref).collect();
            w.record(*t, &refs).unwrap();
        }
        let bad = w.finish().unwrap();
        srv.sql("DELETE FROM im_messages WHERE msg_id > 10");
        let e = srv.restore(&bad, false).unwrap_err();
        assert_eq!(e.code, codes::INTEGRITY);
        assert!(
            e.message.contains("table im_messages was refused"),
            "{}",
            e.message
        );
        assert_eq!(srv.data(), changed);
        assert_no_staging_files(&srv.dir);
    }

    /// An input that notes whether a staging file existed whenever it was read.
    struct Spy<'a> {
        data: &'a [u8],
        dir: &'a Path,
        saw_staging: bool,
    }

    impl std::io::Read for Spy<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = std::io::Read::read(&mut self.fill_buf()?, buf)?;
            self.consume(n);
            Ok(n)
        }
    }

    impl BufRead for Spy<'_> {
        fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
            self.saw_staging |= std::fs::read_dir(self.dir)?
                .any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().contains("staging")));
            Ok(self.data)
        }

        fn consume(&mut self, n: usize) {
            self.data = &self.data[n..];
        }
    }

    /// Magic, header length, header JSON: the part of a stream the header tag covers.
    fn start_len(stream: &[u8]) -> usize {
        12 + u32::from_be_bytes(stream[8..12].try_into().unwrap()) as usize
    }

    #[test]
    fn a_forged_header_is_refused_before_a_staging_file_exists() {
        let srv = Srv::new("srv");
        let genuine = srv.snap();
        let mut header = Reader::new(&genuine[..]).unwrap().header;
        header.server_id = "elsewhere".into();
        for t in &mut header.tables {
            t.count = u64::from(t.name == "settings");
        }
        let settings = header
            .tables
            .iter()
            .position(|t| t.name == "settings")
            .unwrap() as u32;
        // The fingerprint is public, so a forger copies it; the tag is what they cannot
        // make: written under their own key, or the genuine tag copied after their header.
        let foreign = {
            let mut w = Writer::new(Vec::new(), &header, &MacKey::from_bytes([1; 32])).unwrap();
            w.record(settings, &[ValueRef::Text(b"k"), ValueRef::Text(b"v")])
                .unwrap();
            w.finish().unwrap()
        };
        let copied_tag = {
            let mut forged = foreign[..start_len(&foreign)].to_vec();
            let n = start_len(&genuine);
            forged.extend_from_slice(&genuine[n..]);
            forged
        };
        // The store holds the database open, so its WAL files stay: then only a staging
        // file could change the directory (its modification time).
        let modified = || std::fs::metadata(&srv.dir).unwrap().modified().unwrap();
        let untouched = modified();
        for forged in [foreign, copied_tag] {
            for dry_run in [true, false] {
                let mut spy = Spy {
                    data: &forged,
                    dir: &srv.dir,
                    saw_staging: false,
                };
                let Err(e) = srv.stage(&mut spy, dry_run, None) else {
                    panic!("a forged header was staged");
                };
                assert_eq!(e.code, codes::INTEGRITY);
                assert!(e.is_denial(), "a forgery is recorded as denied");
                assert!(e.message.contains("header tag"), "{}", e.message);
                assert!(!spy.saw_staging, "read on after the staging file was made");
                assert_eq!(modified(), untouched, "a staging file was made");
            }
        }
        // A version 1 archive has no MAC: refused, before staging too, and said why.
        let v1 = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/vectors/backup/v1.bin"
        ))
        .unwrap();
        let mut spy = Spy {
            data: &v1,
            dir: &srv.dir,
            saw_staging: false,
        };
        let Err(e) = srv.stage(&mut spy, true, None) else {
            panic!("a version 1 archive was staged");
        };
        assert_eq!(e.code, codes::INTEGRITY);
        assert!(e.message.contains("version 1"), "{}", e.message);
        let hint = e.detail.and_then(|d| d.hint).unwrap_or_default();
        assert!(hint.contains("take a new backup"), "{hint}");
        assert!(!spy.saw_staging);
        assert_no_staging_files(&srv.dir);
    }

    /// The stream with one body byte changed and its BLAKE3 recomputed (anyone can):
    /// the genuine header and tag pass, the trailer's MAC must not.
    fn rehashed_with_flip(stream: &[u8], at: usize) -> Vec<u8> {
        let p = stream
            .windows(10)
            .rposition(|w| w == b"{\"counts\":")
            .unwrap()
            - 4;
        let mut body = stream[..p].to_vec();
        body[at] ^= 0x01;
        let mut trailer: imadm_api::backup::Trailer =
            serde_json::from_slice(&stream[p + 4..]).unwrap();
        trailer.blake3 = Some(blake3::hash(&body).to_hex().to_string());
        let json = serde_json::to_vec(&trailer).unwrap();
        body.extend_from_slice(&(json.len() as u32).to_be_bytes());
        body.extend_from_slice(&json);
        body
    }

    #[test]
    fn a_changed_body_with_a_recomputed_hash_fails_at_the_trailer_and_installs_nothing() {
        let srv = Srv::new("srv");
        let before = srv.data();
        let genuine = srv.snap();
        // IM user 1's name 'x' becomes 'y' (a name nobody has: the record loads).
        let x = genuine
            .windows(6)
            .position(|w| w == [3, 0, 0, 0, 1, b'x'])
            .unwrap()
            + 5;
        let forged = rehashed_with_flip(&genuine, x);
        assert!(
            imadm_api::backup::verify(&forged[..]).is_ok(),
            "integrity holds"
        );
        for dry_run in [true, false] {
            let e = srv.restore(&forged, dry_run).unwrap_err();
            assert_eq!(e.code, codes::INTEGRITY);
            assert!(e.is_denial());
            assert!(e.message.contains("trailer's MAC"), "{}", e.message);
        }
        assert_eq!(srv.data(), before);
        assert_no_staging_files(&srv.dir);
        // The genuine stream restores.
        srv.restore(&genuine, false).unwrap();
    }

    fn op(srv: &Srv, name: &str, roles: &[&str]) -> i64 {
        let id = srv
            .store
            .create_operator(name, "old", false, roles, 1)
            .unwrap();
        srv.store.set_totp_secret(id, b"s1").unwrap();
        srv.store
            .replace_recovery_codes(id, &["c1".into(), "c2".into()])
            .unwrap();
        id
    }

    fn token(srv: &Srv, name: &str, by: i64) -> i64 {
        srv.store
            .create_service_token(
                &NewServiceToken {
                    name: name.into(),
                    token_hash: format!("hash-{name}"),
                    created_by: by,
                    expires_at: 1000,
                    scopes: vec!["user:read".into(), "audit:read".into()],
                },
                1,
            )
            .unwrap()
    }

    fn session(srv: &Srv, id: i64, n: &str) {
        srv.store
            .create_session(
                &NewSession {
                    operator_id: id,
                    access_hash: format!("a-{n}"),
                    access_expires_at: i64::MAX,
                    refresh_hash: format!("r-{n}"),
                    refresh_expires_at: i64::MAX,
                    absolute_expires_at: i64::MAX,
                    restrictions: vec![],
                    source_addr: None,
                },
                1,
            )
            .unwrap();
    }

    /// Every rule of the security merge, on one restore: what was revoked, disabled,
    /// deleted or changed after the backup stays so; what was created after it goes; the
    /// most restrictive of the two wins where both have a say; every session ends.
    #[test]
    fn security_state_merges_to_the_most_restrictive() {
        let srv = Srv::new("srv");
        let alice = op(&srv, "alice", &["support"]);
        let bob = op(&srv, "bob", &["support"]);
        let carol = op(&srv, "carol", &["support"]);
        let erin = op(&srv, "erin", &["auditor", "support"]);
        let frank = op(&srv, "frank", &["support"]);
        let gina = op(&srv, "gina", &["support"]);
        srv.store.set_operator_disabled(gina, true).unwrap();
        let t1 = token(&srv, "t1", alice);
        let t3 = token(&srv, "t3", bob);
        session(&srv, alice, "1");
        srv.sql(&format!(
            "UPDATE operators SET last_totp_step = 500 WHERE id = {alice};
             UPDATE operators SET last_totp_step = 100 WHERE id = {bob};"
        ));
        use crate::store::passkey::{PasskeyStore, Removal};
        let passkey = |op, name: &str, sealed: &'static [u8]| {
            srv.store
                .add_passkey(op, name, &format!("cred-{name}"), &|_| sealed.to_vec(), 1)
                .unwrap()
                .id
        };
        let a1 = passkey(alice, "a1", b"counter-1");
        let b1 = passkey(bob, "b1", b"counter-1");
        passkey(carol, "c1", b"counter-1");
        let snap = srv.snap();

        // After the backup.
        srv.store.set_operator_disabled(alice, true).unwrap();
        srv.store.set_password(bob, "new", true).unwrap();
        srv.store.consume_totp_step(bob, 300).unwrap();
        srv.store.delete_operator(carol).unwrap();
        let dave = op(&srv, "dave", &["owner"]);
        srv.store
            .change_roles(erin, &["user-manager".into()], &["auditor".into()])
            .unwrap();
        srv.store.disable_totp(frank, false).unwrap();
        srv.store.set_operator_disabled(gina, false).unwrap();
        srv.store.revoke_service_token(t1, 50).unwrap();
        srv.sql(&format!("DELETE FROM service_tokens WHERE id = {t3}"));
        let t2 = token(&srv, "t2", bob);
        session(&srv, bob, "2");
        // A passkey used since (its counter moved on), one removed, one added, and one of
        // an operator created after the backup.
        srv.store.touch_passkey(a1, Some(b"counter-9"), 2).unwrap();
        passkey(bob, "b2", b"counter-1");
        assert_eq!(
            srv.store.remove_passkey(bob, b1, false).unwrap(),
            Removal::Removed
        );
        passkey(dave, "d1", b"counter-1");

        let dry = srv.restore(&snap, true).unwrap();
        let report = srv.restore(&snap, false).unwrap();
        assert_eq!(dry.kept_from_live, report.kept_from_live);
        let notes: Vec<String> = report
            .kept_from_live
            .iter()
            .map(|n| format!("{}: {} ({})", n.principal, n.kept, n.why))
            .collect();
        for want in [
            "operator alice: stays disabled (disabled after the backup)".to_owned(),
            "operator bob: keeps its current password (password changed after the backup)".into(),
            "operator carol: stays deleted (deleted after the backup)".into(),
            "operator dave: removed (created after the backup)".into(),
            "operator erin: stays without role auditor (revoked after the backup)".into(),
            "operator erin: loses role user-manager (granted after the backup)".into(),
            "operator frank: keeps its current MFA (MFA reset or disabled after the backup)".into(),
            "operator frank: keeps its current recovery codes (recovery codes used or replaced after the backup)".into(),
            "operator gina: stays disabled (disabled in the backup, enabled after it)".into(),
            "operator bob: keeps its current passkeys (passkeys added or removed after the backup)".into(),
            format!("token {t1} (t1): stays revoked (revoked after the backup)"),
            format!("token {t3} (t3): stays deleted (deleted after the backup)"),
            format!("token {t2} (t2): removed (created after the backup)"),
        ] {
            assert!(notes.contains(&want), "{want:?} not in {notes:#?}");
        }
        let row = |q: &str| srv.query(q).join(";");
        assert_eq!(
            row("SELECT username, disabled, password_hash, must_change_password, totp_secret IS NOT NULL, last_totp_step
                 FROM operators ORDER BY id"),
            "srv-owner|0|h|0|1|NULL;alice|1|old|0|1|500;bob|0|new|1|1|300;erin|0|old|0|1|NULL;frank|0|old|0|0|NULL;gina|1|old|0|1|NULL"
        );
        assert_eq!(
            row(&format!(
                "SELECT role FROM operator_roles WHERE operator_id = {erin}"
            )),
            "support"
        );
        assert_eq!(
            row(&format!(
                "SELECT count(*) FROM recovery_codes WHERE operator_id = {frank}"
            )),
            "0"
        );
        assert_eq!(
            row("SELECT id, revoked_at FROM service_tokens ORDER BY id"),
            format!("{t1}|50")
        );
        assert_eq!(row("SELECT count(*) FROM sessions"), "0");
        assert_eq!(row("SELECT count(*) FROM mfa_challenges"), "0");
        // Passkeys are live's: b1 stays removed, b2 stays, a1 keeps its newer counter;
        // those of carol (deleted) and dave (removed) are gone with them.
        assert_eq!(
            row("SELECT operator_id, name, CAST(credential AS TEXT) FROM passkeys ORDER BY id"),
            format!("{alice}|a1|counter-9;{bob}|b2|counter-1")
        );
        // Nobody is given dave's id, or carol's, again.
        let next = op(&srv, "hank", &[]);
        assert!(next > dave, "{next} <= {dave}");
        let next_token = token(&srv, "t4", alice);
        assert!(next_token > t2);
    }

    /// A restore refuses a result without an enabled owner who has MFA, in a dry run and
    /// for real, and changes nothing.
    #[test]
    fn a_result_without_an_enabled_owner_with_mfa_is_refused() {
        let srv = Srv::new("srv");
        let snap = srv.snap();
        // The only owner loses MFA after the backup; another owner appears (removed by a
        // restore, being newer than the backup).
        let owner = srv
            .store
            .operator_by_username("srv-owner")
            .unwrap()
            .unwrap()
            .id;
        op(&srv, "second", &["owner"]);
        srv.store.disable_totp(owner, false).unwrap();
        let before = srv.query("SELECT * FROM operators ORDER BY id");
        for dry_run in [true, false] {
            let e = srv.restore(&snap, dry_run).unwrap_err();
            assert_eq!(e.code, codes::CONFLICT);
            assert!(
                e.message.contains("no enabled owner with MFA"),
                "{}",
                e.message
            );
        }
        assert_eq!(srv.query("SELECT * FROM operators ORDER BY id"), before);
        assert_no_staging_files(&srv.dir);
    }

    /// Role definitions roll back (they are data): an operator holding a custom role in
    /// both gains what the snapshot's definition adds; granted roles do not come back.
    #[test]
    fn permission_gains_come_from_rolled_back_role_definitions_only() {
        let srv = Srv::new("srv");
        srv.sql(
            "INSERT INTO roles VALUES ('ops', 'custom', 0);
             INSERT INTO role_permissions VALUES ('ops', 'user:read'), ('ops', 'user:delete');",
        );
        op(&srv, "x", &["ops"]);
        let y = op(&srv, "y", &["admin"]);
        let snap = srv.snap();
        srv.sql("DELETE FROM role_permissions WHERE role = 'ops' AND permission = 'user:delete'");
        srv.store.change_roles(y, &[], &["admin".into()]).unwrap();
        let report = srv.restore(&snap, true).unwrap();
        assert_eq!(
            report.permission_gains,
            [PermissionGain {
                operator: "x".into(),
                permissions: vec!["user:delete".into()],
            }]
        );
    }

    /// The ledgers' relations: a fork is refused (denied) unless accepted, and then the
    /// live ledger stays; a live ledger behind the snapshot's (cut back) gives way to it.
    #[test]
    fn a_fork_is_refused_unless_accepted_and_a_ledger_behind_moves_forward() {
        let srv = Srv::new("srv");
        let snap = srv.snap();
        let at_backup = srv.ledger();
        srv.truncate_ledger(1);
        srv.event("user.delete");
        let forked = srv.ledger();
        assert_ne!(
            forked[1], at_backup[1],
            "premise: the ledgers diverge at seq 2"
        );
        let e = srv.restore(&snap, true).unwrap_err();
        assert_eq!(e.code, codes::INTEGRITY);
        assert!(e.is_denial());
        assert!(e.message.contains("forks"), "{}", e.message);
        assert!(srv.restore(&snap, false).is_err());
        assert_eq!(srv.ledger(), forked);
        let report = srv
            .restore_with(&snap[..], false, Some("on purpose"))
            .unwrap();
        assert_eq!(report.ledger.relation, Relation::Fork);
        assert_eq!(report.ledger.fork_reason.as_deref(), Some("on purpose"));
        prefix(&forked, &srv.ledger());

        // Behind: the live ledger is cut back to a prefix of the snapshot's.
        let srv = Srv::new("srv");
        srv.event("user.update");
        let snap = srv.snap();
        let at_backup = srv.ledger();
        srv.truncate_ledger(2);
        let report = srv.restore(&snap, false).unwrap();
        assert_eq!(report.ledger.relation, Relation::Behind);
        prefix(&at_backup, &srv.ledger());
        assert_chain_verifies(&srv);
    }

    /// Alert state changes are history: a restore of a snapshot taken while the alert was
    /// open keeps it acknowledged, and a ledger behind the snapshot (continued from it)
    /// neither loses nor repeats a change.
    #[test]
    fn a_restore_never_rewinds_an_acknowledgement() {
        use crate::store::{AlertChanged, AlertFilter, AlertStateChange};
        let state = |srv: &Srv| -> Vec<String> {
            let f = AlertFilter {
                limit: 10,
                ..Default::default()
            };
            let mut out: Vec<String> = srv
                .store
                .alerts(&f)
                .unwrap()
                .into_iter()
                .map(|a| format!("{} {}", a.id, a.state))
                .collect();
            out.extend(srv.query("SELECT alert_id, state, note FROM alert_events ORDER BY id"));
            out
        };
        let ack = |srv: &Srv, id: u64| {
            let ch = AlertStateChange {
                id,
                from: &["open"],
                to: "acknowledged",
                actor: "sec",
                note: "looking",
                at_ms: 5,
            };
            assert!(matches!(
                srv.store.change_alert_state(&ch).unwrap(),
                AlertChanged::Changed(_)
            ));
        };
        let raise = "INSERT INTO alerts (at_ms, rule, severity, actor, detail, event_seq)
                     VALUES (1, 'lockout', 'medium', 'x', 'd', 1), (2, 'lockout', 'medium', 'y', 'd', 2);";

        // Extends: the snapshot has the alert open, live acknowledged it since.
        let srv = Srv::new("srv");
        srv.sql(raise);
        let snap = srv.snap();
        ack(&srv, 1);
        let before = state(&srv);
        assert_eq!(before[0], "1 acknowledged");
        let report = srv.restore(&snap, false).unwrap();
        assert_eq!(report.ledger.relation, Relation::Extends);
        assert_eq!(state(&srv), before);

        // Behind: acknowledged before the snapshot; live cut back to a prefix of it.
        let srv = Srv::new("srv");
        srv.sql(raise);
        ack(&srv, 2);
        srv.event("user.update");
        let snap = srv.snap();
        let before = state(&srv);
        srv.truncate_ledger(2);
        let report = srv.restore(&snap, false).unwrap();
        assert_eq!(report.ledger.relation, Relation::Behind);
        assert_eq!(state(&srv), before);
        assert_chain_verifies(&srv);
    }

    /// The notification queue is this install's runtime state: a restore keeps live's (no
    /// message re-sent from the snapshot's queue, none of live's dropped).
    #[test]
    fn the_notification_queue_is_kept_from_live() {
        let srv = Srv::new("srv");
        let queue = |srv: &Srv| {
            srv.query("SELECT channel, state, delivered_ms FROM notify_queue ORDER BY id")
        };
        srv.sql(
            "INSERT INTO notify_queue (channel, alert_id, state, payload, created_ms, next_ms,
                 delivered_ms) VALUES ('hook', 1, 'open', '{}', 1, 1, NULL);",
        );
        let snap = srv.snap();
        srv.sql(
            "UPDATE notify_queue SET delivered_ms = 5;
             INSERT INTO notify_queue (channel, alert_id, state, payload, created_ms, next_ms)
                 VALUES ('hook', 2, 'open', '{}', 2, 2);
             INSERT INTO notify_channels (name, last_success_ms) VALUES ('hook', 5);",
        );
        let before = (queue(&srv), srv.query("SELECT * FROM notify_channels"));
        let report = srv.restore(&snap, false).unwrap();
        assert_eq!(
            before,
            (queue(&srv), srv.query("SELECT * FROM notify_channels"))
        );
        let source = |t: &str| report.tables.iter().find(|c| c.table == t).unwrap().source;
        assert_eq!(source("notify_queue"), Source::Live);
    }

    /// Disaster recovery: a new install (another server id, only its own logins and an
    /// alert in its log) takes the snapshot's ledger and continues it with its own
    /// events, re-chained, alert ids and targets renumbered; its operators give way to
    /// the snapshot's. The same install with a data change in its log is a fork.
    #[test]
    fn disaster_recovery_continues_the_snapshots_chain() {
        let old = Srv::new("old");
        old.store
            .append_audit(&NewAudit {
                actor_type: "operator".into(),
                actor: "x".into(),
                action: "auth.lockout".into(),
                outcome: "denied".into(),
                ..NewAudit::default()
            })
            .unwrap();
        let snap = old.snap();
        let old_ledger = old.ledger();

        let fresh = || {
            let new = Srv::new("new");
            // Srv::new wrote a `user.create`: make the log an install's own.
            new.truncate_ledger(0);
            new.sql("DELETE FROM alerts");
            new.event("auth.login");
            new.store
                .append_audit(&NewAudit {
                    actor_type: "operator".into(),
                    actor: "y".into(),
                    action: "auth.lockout".into(),
                    outcome: "denied".into(),
                    ..NewAudit::default()
                })
                .unwrap();
            new
        };
        let new = fresh();
        let install = new.query("SELECT seq, action, target, hash FROM audit_log ORDER BY seq");
        assert!(install.iter().any(|e| e.contains("|alert.raised|alert:1|")));
        let report = new.restore(&snap, false).unwrap();
        assert_eq!(report.ledger.relation, Relation::Recovery);
        let after = new.ledger();
        prefix(&old_ledger, &after);
        assert_chain_verifies(&new);
        let a = report.ledger.appended.clone().unwrap();
        let n = old_ledger.len() as u64;
        assert_eq!((a.live_from, a.live_to), (1, install.len() as u64));
        assert_eq!((a.from, a.to), (n + 1, n + install.len() as u64));
        // The install's events follow, same fields, new seq and hash; its alert is
        // alert 2 now (the snapshot has alert 1).
        let appended = new.query(&format!(
            "SELECT action, target FROM audit_log WHERE seq > {n} AND seq <= {} ORDER BY seq",
            a.to
        ));
        assert_eq!(
            appended,
            [
                "auth.login|NULL",
                "auth.lockout|NULL",
                "alert.raised|alert:2"
            ]
        );
        assert_eq!(
            new.query("SELECT id, actor, event_seq FROM alerts ORDER BY id"),
            [format!("1|x|{}", n - 1), format!("2|y|{}", n + 2)]
        );
        assert_eq!(
            new.query("SELECT username FROM operators"),
            ["old-owner"],
            "the snapshot's operators"
        );
        assert!(
            report
                .kept_from_live
                .iter()
                .any(|k| k.principal == "operator new-owner" && k.kept == "removed")
        );
        assert_eq!(
            new.query("SELECT value FROM settings WHERE key = 'server_id'")
                .len(),
            0,
            "settings are the install's (none in these tests)"
        );

        // An install that changed data is no new install: a fork.
        let busy = fresh();
        busy.event("user.create");
        let e = busy.restore(&snap, false).unwrap_err();
        assert!(e.message.contains("forks"), "{}", e.message);
    }
}
