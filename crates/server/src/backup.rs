//! Snapshot and restore of the whole database, generic over its schema.
//!
//! The snapshot dumps every table in `sqlite_master` (except SQLite's own) from one read
//! transaction on a dedicated connection: WAL lets writers continue while the snapshot
//! stays point-in-time. The restore never touches live data: it loads the stream into a
//! staging file beside the database (a complete database with the live schema: tables
//! and indexes before the load, triggers after it, foreign keys checked), two threads
//! deep (one reads, hashes and decodes, one inserts). Only once the trailer verified and
//! every record was accepted does the store rename the fsynced staging file over the live
//! one (`SqliteStore::replace_file`), so a crash leaves the old file or the new one, whole.
//! Sealed columns stay sealed: a restore needs the same server key, which the header's
//! key fingerprint checks.
//!
//! What a restore accepts ([`AppState::restore_backup`], the service behind
//! `POST /admin/backup/restore`): only snapshots this server key authenticated (the
//! header tag before the staging file is created, the trailer's MAC before the file can
//! be installed or a dry run succeed), and only permission changes its restorer could
//! have granted: every operator's effective permissions in the staged file are compared
//! with the live ones, a gain the restorer does not hold refuses the restore, and every
//! gain raises a `role_escalation` alert.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};
use std::path::Path;

use imadm_api::backup::{
    FORMAT_NAME, FORMAT_VERSION, FormatError, Header, Item, MacKey, Reader, TableInfo, Value,
    ValueRef, Writer,
};
use imadm_api::codes;
use rusqlite::types::ValueRef as SqlRef;
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use crate::AppState;
use crate::audit::RequestedAlert;
use crate::auth::{Caller, RequestCtx};
use crate::error::ApiError;
use crate::fsutil::Flusher;

fn db_err(e: rusqlite::Error) -> ApiError {
    tracing::error!(error = %e, "backup database error");
    ApiError::new(codes::DATABASE_ERROR, "the server's database failed")
        .hint("see the server log; the live data was not changed")
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Tables a snapshot covers: all of the user's tables, not SQLite's internal ones.
fn tables(conn: &Connection) -> rusqlite::Result<Vec<(String, Vec<String>)>> {
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

/// Write a snapshot of the database at `db` to `out`, authenticated under `mac`.
pub fn snapshot<W: Write>(
    db: &Path,
    server_id: &str,
    key_fingerprint: &str,
    mac: &MacKey,
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
    let header = Header {
        format: FORMAT_NAME.into(),
        version: FORMAT_VERSION,
        server_id: server_id.into(),
        created_at: crate::now(),
        schema_version,
        key_fingerprint: key_fingerprint.into(),
        tables: infos,
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

/// Rows per table before (live) and in the snapshot.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct TableCounts {
    pub table: String,
    pub current: u64,
    pub snapshot: u64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RestoreReport {
    pub dry_run: bool,
    pub server_id: String,
    pub created_at: i64,
    pub schema_version: i64,
    pub tables: Vec<TableCounts>,
    /// Operators whose effective permissions the restore extends (or would extend).
    pub permission_gains: Vec<PermissionGain>,
}

/// An operator who holds permissions in the snapshot that it does not hold live (a
/// disabled operator holds none).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PermissionGain {
    pub operator: String,
    pub permissions: Vec<String>,
}

fn integrity(e: FormatError) -> ApiError {
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

/// Every enabled operator's permissions through its roles, by username (the name a
/// restore keeps; ids may differ between the snapshot and the live data).
fn effective_permissions(
    conn: &Connection,
) -> rusqlite::Result<BTreeMap<String, BTreeSet<String>>> {
    let mut stmt = conn.prepare(
        "SELECT o.username, rp.permission FROM operators o
           JOIN operator_roles r ON r.operator_id = o.id
           JOIN role_permissions rp ON rp.role = r.role
          WHERE o.disabled = 0",
    )?;
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
    for row in rows {
        let (user, perm) = row?;
        out.entry(user).or_default().insert(perm);
    }
    Ok(out)
}

/// What each operator holds in `staged` and not in `live`.
fn permission_gains(
    live: &Connection,
    staged: &Connection,
) -> rusqlite::Result<Vec<PermissionGain>> {
    let before = effective_permissions(live)?;
    let none = BTreeSet::new();
    Ok(effective_permissions(staged)?
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

/// A snapshot loaded into a complete staging file beside the database: verified,
/// authenticated and checked, not yet live. Dropping it deletes the file.
pub struct Staged {
    file: tempfile::NamedTempFile,
    pub report: RestoreReport,
}

impl Staged {
    /// Make the staging file the live database through `install`
    /// (`Store::replace_file`); on failure the file is deleted.
    pub fn install(
        self,
        install: impl FnOnce(&Path) -> Result<(), ApiError>,
    ) -> Result<RestoreReport, ApiError> {
        // On success the staging file has been renamed; the temp guard's delete then
        // finds nothing. On failure it removes the staging file.
        install(self.file.path())?;
        Ok(self.report)
    }
}

/// Load a snapshot authenticated under `mac` into a staging file beside `db` and verify
/// it. Nothing live changes: [`Staged::install`] does that. A dry run's staging file is
/// never synced.
pub fn stage<R: BufRead + Send>(
    db: &Path,
    key_fingerprint: &str,
    mac: &MacKey,
    inp: R,
    dry_run: bool,
) -> Result<Staged, ApiError> {
    let started = std::time::Instant::now();
    let reader = Reader::new(inp).map_err(integrity)?;
    if reader.header.version != FORMAT_VERSION {
        return Err(integrity(FormatError::NoMac));
    }
    if reader.header.key_fingerprint != key_fingerprint {
        return Err(ApiError::new(
            codes::INTEGRITY,
            "the snapshot was taken under a different server key (key fingerprint mismatch)",
        )
        .hint("start the server with the server.key of the backed-up server (IMADM_SERVER_KEY_FILE); sealed secrets cannot be read without it"));
    }
    // Before anything else is looked at or created: a header this key did not write is
    // refused here, its records unread.
    let reader = reader.authenticate(mac).map_err(integrity)?;
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

    let gains;
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
        st.pragma_update(None, "page_size", crate::store::sqlite::PAGE_SIZE)
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
        tracing::debug!(
            ms = started.elapsed().as_millis(),
            "restore: records loaded"
        );
        for (kind, sql) in &schema {
            if kind == "trigger" {
                st.execute_batch(sql).map_err(db_err)?;
            }
        }
        let violations: i64 = st
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .map_err(db_err)?;
        if violations > 0 {
            return Err(ApiError::new(
                codes::INTEGRITY,
                format!("the snapshot breaks {violations} foreign-key reference(s)"),
            )
            .hint("the live data was not changed; the archive is inconsistent"));
        }
        gains = permission_gains(&live, &st).map_err(db_err)?;
        st.execute_batch("COMMIT; PRAGMA journal_mode=DELETE")
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
        });
    }
    drop(live);
    Ok(Staged {
        file: staging,
        report: RestoreReport {
            dry_run,
            server_id: header.server_id,
            created_at: header.created_at,
            schema_version: header.schema_version,
            tables: counts,
            permission_gains: gains,
        },
    })
}

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

/// The audit detail of a restore: which snapshot, and who gains what.
fn restore_detail(r: &RestoreReport) -> String {
    let mut d = format!("snapshot of {} taken at {}", r.server_id, r.created_at);
    for g in &r.permission_gains {
        d.push_str(&format!(
            "; {} gains {}",
            g.operator,
            g.permissions.join(",")
        ));
    }
    d
}

impl AppState {
    /// Restore (or with `dry_run`, check) the snapshot streamed from `inp`: permission
    /// `backup:restore` and step-up first, then [`stage`], the permission-gain check, and
    /// the install under `file_lock`. Recorded fail-closed as `backup.restore` (or
    /// `backup.restore_dry_run`): `denied` for refusals (no permission, a snapshot that
    /// fails authentication, a gain the restorer does not hold), `failure` otherwise.
    /// The success event commits inside the new database file, with one
    /// `role_escalation` alert per operator that gains permissions.
    pub fn restore_backup<R: BufRead + Send>(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        otp: Option<&str>,
        inp: R,
        dry_run: bool,
    ) -> Result<RestoreReport, ApiError> {
        let action = if dry_run {
            "backup.restore_dry_run"
        } else {
            "backup.restore"
        };
        let event = self.audit_event(ctx, Some(caller), action, None);
        self.audited(event, || {
            caller.require("backup:restore")?;
            self.step_up(ctx, caller, otp, "restoring a backup")?;
            let staged = stage(
                &self.db_path,
                &self.key.fingerprint(),
                self.key.backup_mac_key(),
                inp,
                dry_run,
            )?;
            check_gains(caller, &staged.report.permission_gains)?;
            crate::audit::amend_pending(|e| {
                e.detail = Some(restore_detail(&staged.report));
                if !dry_run {
                    e.alerts = staged
                        .report
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
                }
            });
            if dry_run {
                return Ok(staged.report);
            }
            let r = staged.install(|staged| {
                let _file = self.file_lock.write().unwrap_or_else(|p| p.into_inner());
                self.store.replace_file(staged).map_err(|e| {
                    tracing::error!(error = %e, "installing the restored database failed");
                    ApiError::new(codes::DATABASE_ERROR, "the restored database could not be installed")
                        .hint("see the server log; the live data is the old data unless the log says otherwise")
                })
            });
            // The data changed under every cached session lookup.
            self.store.bump_epoch();
            r
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The MAC key of these tests' server.
    fn mac() -> MacKey {
        MacKey::from_bytes([9; 32])
    }

    /// [`stage`] and, unless a dry run, [`Staged::install`], under [`mac`].
    fn restore<R: BufRead + Send>(
        db: &Path,
        key_fingerprint: &str,
        inp: R,
        dry_run: bool,
        install: impl FnOnce(&Path) -> Result<(), ApiError>,
    ) -> Result<RestoreReport, ApiError> {
        let staged = stage(db, key_fingerprint, &mac(), inp, dry_run)?;
        if dry_run {
            Ok(staged.report)
        } else {
            staged.install(install)
        }
    }

    fn snap(db: &Path) -> Vec<u8> {
        snapshot(db, "srv", "fp", &mac(), Vec::new()).unwrap()
    }

    /// A small database with the tables a restore compares permissions in, besides a
    /// table of each kind of value and an append-only one.
    fn db(dir: &Path) -> std::path::PathBuf {
        let p = dir.join("t.db");
        let c = Connection::open(&p).unwrap();
        c.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA user_version=7;
             CREATE TABLE operators (id INTEGER PRIMARY KEY, username TEXT, disabled INTEGER);
             CREATE TABLE operator_roles (operator_id INTEGER, role TEXT);
             CREATE TABLE role_permissions (role TEXT, permission TEXT);
             CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT, b BLOB, r REAL);
             CREATE TABLE log (id INTEGER PRIMARY KEY, e TEXT);
             CREATE TRIGGER log_no_delete BEFORE DELETE ON log BEGIN SELECT RAISE(ABORT, 'append-only'); END;
             INSERT INTO a VALUES (1, 'x', x'00ff', 1.5), (2, NULL, NULL, NULL);
             INSERT INTO log VALUES (1, 'created');",
        )
        .unwrap();
        p
    }

    fn rows(p: &Path) -> Vec<String> {
        let c = Connection::open(p).unwrap();
        let mut out = Vec::new();
        for t in ["a", "log"] {
            let mut s = c
                .prepare(&format!("SELECT * FROM {t} ORDER BY id"))
                .unwrap();
            let n = s.column_count();
            let r: Vec<String> = s
                .query_map([], |r| {
                    Ok((0..n)
                        .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                        .collect::<Vec<_>>()
                        .join("|"))
                })
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            out.push(format!("{t}: {r:?}"));
        }
        out
    }

    /// What the server does: the store installs the file (closing and reopening its
    /// connections). Also checks that each operator's newest TOTP step survives.
    #[test]
    fn restore_through_the_store_keeps_the_newest_totp_step_so_used_codes_stay_used() {
        use crate::store::Store;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("imadm.db");
        let store = crate::store::sqlite::SqliteStore::open(&p).unwrap();
        for name in ["alice", "bob", "carol"] {
            store.create_operator(name, "x", false, &[], 1).unwrap();
        }
        let set = |sql: &str| Connection::open(&p).unwrap().execute_batch(sql).unwrap();
        let steps = |store: &crate::store::sqlite::SqliteStore| -> Vec<(String, Option<u64>)> {
            ["alice", "bob", "carol", "dave"]
                .iter()
                .filter_map(|n| store.operator_by_username(n).unwrap())
                .map(|o| (o.username, o.last_totp_step))
                .collect()
        };
        set(
            "UPDATE operators SET last_totp_step = 100 WHERE username = 'alice';
             UPDATE operators SET last_totp_step = 500 WHERE username = 'carol';",
        );
        let snap = snap(&p);
        // After the backup: alice and bob log in (newer steps), carol is deleted, dave is new.
        set(
            "UPDATE operators SET last_totp_step = 200 WHERE username = 'alice';
             UPDATE operators SET last_totp_step = 300 WHERE username = 'bob';
             DELETE FROM operators WHERE username = 'carol';",
        );
        store.create_operator("dave", "x", false, &[], 1).unwrap();
        restore(&p, "fp", &snap[..], false, |staged| {
            store
                .replace_file(staged)
                .map_err(|e| ApiError::new(codes::INTERNAL, e.to_string()))
        })
        .unwrap();
        // The store's own (reopened) connections read the restored file.
        assert_eq!(
            steps(&store),
            [
                ("alice".to_owned(), Some(200)),
                ("bob".to_owned(), Some(300)),
                ("carol".to_owned(), Some(500)),
            ]
        );
        // And it still writes: through the reopened writer, into the restored file.
        store.create_operator("erin", "x", false, &[], 1).unwrap();
        assert!(store.operator_by_username("erin").unwrap().is_some());
    }

    /// Both ways a database file comes to be get the server's page size: a new store, and
    /// a restore over a file made with SQLite's default. The pragma only works before the
    /// first write, so its place in each set-up matters.
    #[test]
    fn new_and_restored_files_use_the_server_page_size() {
        use crate::store::sqlite::{PAGE_SIZE, SqliteStore};
        let page_size = |p: &Path| -> u32 {
            Connection::open(p)
                .unwrap()
                .pragma_query_value(None, "page_size", |r| r.get(0))
                .unwrap()
        };
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("fresh.db");
        drop(SqliteStore::open(&fresh).unwrap());
        assert_eq!(page_size(&fresh), PAGE_SIZE);
        let p = db(dir.path());
        assert_eq!(
            page_size(&p),
            4096,
            "premise: the fixture has SQLite's default"
        );
        let before = rows(&p);
        let snap = snap(&p);
        restore(&p, "fp", &snap[..], false, rename_into(&p)).unwrap();
        assert_eq!(page_size(&p), PAGE_SIZE);
        assert_eq!(rows(&p), before);
    }

    fn assert_no_staging_files(dir: &Path) {
        let left: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().contains("staging"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    /// Install by renaming, as the store does once its connections are closed.
    fn rename_into(db: &Path) -> impl FnOnce(&Path) -> Result<(), ApiError> + '_ {
        move |staged| {
            std::fs::rename(staged, db).map_err(|e| ApiError::new(codes::INTERNAL, e.to_string()))
        }
    }

    #[test]
    fn restore_replaces_every_table_through_triggers_and_checks_key_and_schema() {
        let dir = tempfile::tempdir().unwrap();
        let p = db(dir.path());
        let before = rows(&p);
        let snap = snap(&p);
        {
            let c = Connection::open(&p).unwrap();
            c.execute_batch("DELETE FROM a WHERE id = 1; INSERT INTO log VALUES (2, 'changed');")
                .unwrap();
        }
        let changed = rows(&p);
        assert_ne!(changed, before);

        let e = restore(&p, "other", &snap[..], false, rename_into(&p)).unwrap_err();
        assert!(!e.is_denial(), "a foreign key is a mistake, not an attack");
        assert_eq!(e.code, codes::INTEGRITY);
        assert!(e.message.contains("different server key"), "{}", e.message);
        let dry = restore(&p, "fp", &snap[..], true, rename_into(&p)).unwrap();
        assert!(dry.dry_run);
        assert_eq!(rows(&p), changed);
        let e = restore(&p, "fp", &snap[..snap.len() - 1], false, rename_into(&p)).unwrap_err();
        assert_eq!(e.code, codes::INTEGRITY);
        assert_eq!(rows(&p), changed);

        let report = restore(&p, "fp", &snap[..], false, rename_into(&p)).unwrap();
        assert_eq!(rows(&p), before);
        let log = report.tables.iter().find(|t| t.table == "log").unwrap();
        assert_eq!((log.current, log.snapshot), (2, 1));
        // The append-only trigger is back.
        let c = Connection::open(&p).unwrap();
        assert!(c.execute("DELETE FROM log", []).is_err());

        c.execute_batch("PRAGMA user_version=8").unwrap();
        let e = restore(&p, "fp", &snap[..], false, rename_into(&p)).unwrap_err();
        assert!(e.message.contains("schema version 7"), "{}", e.message);
        // No staging files left behind.
        assert_no_staging_files(dir.path());
    }

    /// Many records cross the decoder's batches and channel; a record the database
    /// refuses half-way (a duplicate key) stops both threads, and nothing is installed.
    #[test]
    fn restore_across_many_batches_and_a_refused_record_stops_it_cleanly() {
        use imadm_api::backup::Writer;
        let dir = tempfile::tempdir().unwrap();
        let p = db(dir.path());
        {
            let c = Connection::open(&p).unwrap();
            c.execute_batch(
                "WITH RECURSIVE n(i) AS (SELECT 3 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
                 INSERT INTO a SELECT i, 'row ' || i, randomblob(2048), i / 2.0 FROM n;",
            )
            .unwrap();
        }
        let before = rows(&p);
        let snap = snap(&p);
        Connection::open(&p)
            .unwrap()
            .execute_batch("DELETE FROM a WHERE id > 10")
            .unwrap();
        let changed = rows(&p);
        restore(&p, "fp", &snap[..], false, rename_into(&p)).unwrap();
        assert_eq!(rows(&p), before, "3000 rows of ~2 KiB, over many batches");

        // The same header, but row 2500 comes twice.
        let mut header = Reader::new(&snap[..]).unwrap().header;
        for t in &mut header.tables {
            if t.name == "a" {
                t.count = 3001;
            }
        }
        let mut w = Writer::new(Vec::new(), &header, &mac()).unwrap();
        let a = header.tables.iter().position(|t| t.name == "a").unwrap() as u32;
        let blob = vec![7u8; 2048];
        for id in (1..=3000).chain([2500]) {
            let v = format!("row {id}");
            w.record(
                a,
                &[
                    ValueRef::Int(id),
                    ValueRef::Text(v.as_bytes()),
                    ValueRef::Blob(&blob),
                    ValueRef::Real(1.0),
                ],
            )
            .unwrap();
        }
        let log = header.tables.iter().position(|t| t.name == "log").unwrap() as u32;
        w.record(log, &[ValueRef::Int(1), ValueRef::Text(b"created")])
            .unwrap();
        let bad = w.finish().unwrap();
        Connection::open(&p)
            .unwrap()
            .execute_batch("DELETE FROM a WHERE id > 10")
            .unwrap();
        let mut installed = false;
        let e = restore(&p, "fp", &bad[..], false, |_| {
            installed = true;
            Ok(())
        })
        .unwrap_err();
        assert_eq!(e.code, codes::INTEGRITY);
        assert!(e.message.contains("table a was refused"), "{}", e.message);
        assert!(!installed);
        assert_eq!(rows(&p), changed);
        assert_no_staging_files(dir.path());
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
        let dir = tempfile::tempdir().unwrap();
        let p = db(dir.path());
        let genuine = snap(&p);
        let mut header = Reader::new(&genuine[..]).unwrap().header;
        header.server_id = "elsewhere".into();
        // The fingerprint is public, so a forger copies it; the tag is what they cannot
        // make: written under their own key, or the genuine tag copied after their header.
        let foreign = {
            let mut w = Writer::new(Vec::new(), &header, &MacKey::from_bytes([1; 32])).unwrap();
            w.record(
                0,
                &[
                    ValueRef::Int(1),
                    ValueRef::Text(b"x"),
                    ValueRef::Null,
                    ValueRef::Null,
                ],
            )
            .unwrap();
            w.finish().unwrap()
        };
        let copied_tag = {
            let mut forged = foreign[..start_len(&foreign)].to_vec();
            let n = start_len(&genuine);
            forged.extend_from_slice(&genuine[n..]);
            forged
        };
        // Hold the database open, so its WAL files stay: then only a staging file could
        // change the directory (its modification time).
        let hold = Connection::open(&p).unwrap();
        hold.query_row("SELECT count(*) FROM a", [], |_| Ok(()))
            .unwrap();
        let modified = || std::fs::metadata(dir.path()).unwrap().modified().unwrap();
        let untouched = modified();
        for forged in [foreign, copied_tag] {
            for dry_run in [true, false] {
                let mut spy = Spy {
                    data: &forged,
                    dir: dir.path(),
                    saw_staging: false,
                };
                let e = restore(&p, "fp", &mut spy, dry_run, |_| panic!("installed")).unwrap_err();
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
            dir: dir.path(),
            saw_staging: false,
        };
        let e = restore(&p, "fp", &mut spy, true, |_| panic!("installed")).unwrap_err();
        assert_eq!(e.code, codes::INTEGRITY);
        assert!(e.message.contains("version 1"), "{}", e.message);
        let hint = e.detail.and_then(|d| d.hint).unwrap_or_default();
        assert!(hint.contains("take a new backup"), "{hint}");
        assert!(!spy.saw_staging);
        assert_no_staging_files(dir.path());
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
        let dir = tempfile::tempdir().unwrap();
        let p = db(dir.path());
        let before = rows(&p);
        let genuine = snap(&p);
        // Table `a`'s text 'x' becomes 'y'.
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
            let e = restore(&p, "fp", &forged[..], dry_run, |_| panic!("installed")).unwrap_err();
            assert_eq!(e.code, codes::INTEGRITY);
            assert!(e.is_denial());
            assert!(e.message.contains("trailer's MAC"), "{}", e.message);
        }
        assert_eq!(rows(&p), before);
        assert_no_staging_files(dir.path());
        // The genuine stream restores.
        restore(&p, "fp", &genuine[..], false, rename_into(&p)).unwrap();
    }

    #[test]
    fn permission_gains_compare_live_and_staged_effective_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let p = db(dir.path());
        let sql = |q: &str| Connection::open(&p).unwrap().execute_batch(q).unwrap();
        sql("INSERT INTO operators VALUES (1, 'x', 0), (2, 'y', 0), (3, 'z', 0), (4, 'old', 0);
             INSERT INTO role_permissions VALUES ('admin', 'user:read'), ('admin', 'role:write'),
                 ('viewer', 'user:read');
             INSERT INTO operator_roles VALUES (1, 'admin'), (2, 'viewer'), (3, 'viewer'), (4, 'viewer');");
        let genuine = snap(&p);
        // Since the backup: x lost admin (keeps viewer), y gained admin, z was disabled,
        // `old` was deleted, and `new` appeared (with id 4 again).
        sql("DELETE FROM operator_roles WHERE operator_id = 1;
             INSERT INTO operator_roles VALUES (1, 'viewer'), (2, 'admin');
             UPDATE operators SET disabled = 1 WHERE id = 3;
             DELETE FROM operator_roles WHERE operator_id = 4;
             UPDATE operators SET username = 'new' WHERE id = 4;");
        let report = restore(&p, "fp", &genuine[..], true, |_| panic!("installed")).unwrap();
        let gain = |op: &str, perms: &[&str]| PermissionGain {
            operator: op.into(),
            permissions: perms.iter().map(|p| p.to_string()).collect(),
        };
        assert_eq!(
            report.permission_gains,
            [
                gain("old", &["user:read"]),
                gain("x", &["role:write"]),
                gain("z", &["user:read"]),
            ]
        );
    }
}
