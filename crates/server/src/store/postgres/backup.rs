//! `BackupStore` on PostgreSQL: the same archive as SQLite's, from and into this backend.
//!
//! The snapshot reads every table (not [`INTERNAL_TABLES`]) in one `REPEATABLE READ READ
//! ONLY` transaction, so it is one point in time while the instances keep writing; rows
//! stream from the server (`query_raw`), never held whole. Table and column names, their
//! order and the value types are SQLite's (BIGINT is an integer, TEXT text, BYTEA a blob),
//! and the header carries SQLite's schema version ([`SQLITE_VERSIONS`](super::SQLITE_VERSIONS)): an archive
//! says nothing about the store that wrote it.
//!
//! The restore runs SQLite's restore (`sqlite::backup`, `sqlite::merge`) on a scratch
//! copy, so that what a restore keeps (history never rewinds, security state merges to
//! the most restrictive, erasures outlive it, ids are never given again) is one
//! implementation on both stores, not two that could drift. The scratch store is a
//! private SQLite database in a temp dir ([`SCRATCH_PREFIX`], mode 0700) holding a copy of
//! the live PostgreSQL data. [`stage`] copies live into it from one consistent snapshot
//! and stages the archive beside it exactly as a SQLite server does (records, trailer,
//! schema and classes, foreign keys, the ledger relation and fork refusal, a dry run's
//! merge); nothing live changes. [`Staged::install`] runs in ONE PostgreSQL transaction:
//! it locks every table (`EXCLUSIVE`, with `NOWAIT` retried, so it never waits while
//! holding a lock and cannot deadlock with a writer; readers go on), the audit chain head
//! among them, so no instance writes meanwhile; it refreshes the scratch copy of live
//! from inside that transaction, lets the SQLite install merge the live history and
//! security state, run `require_owner` and `on_merged` and append the request's audit
//! event, then writes the merged tables back (a history table the live ledger keeps only
//! gets its new rows), moves every identity sequence past the larger of live's and the
//! restored ids, and commits. Any failure rolls the transaction back: live is as it was.
//! The scratch directory goes with the [`Staged`] (and one a killed process left behind
//! is removed at the next start, [`remove_stale_scratch`], or restore).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use imadm_api::backup::{
    FORMAT_NAME, FORMAT_VERSION, Header, TableInfo, Value as Sql, ValueRef, Writer,
};
use imadm_api::codes;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{ToSql, Type};
use postgres::{GenericClient, IsolationLevel};

use super::{INTERNAL_TABLES, PgStore};
use crate::error::ApiError;
use crate::store::StoreError;
use crate::store::restore::{
    BackupStore, Class, OnMerged, RestoreOptions, RestoreReport, SnapshotMeta, SnapshotReader,
    StagedRestore, TABLES,
};
use crate::store::sqlite::backup::{self as lite, StoreRef};
use crate::store::sqlite::scratch;

/// Scratch directories of restores: `<prefix><pid>-<random>` in the temp dir.
const SCRATCH_PREFIX: &str = "imadm-pg-restore-";

/// How long an install tries to lock every table before it gives up.
const LOCK_DEADLINE: Duration = Duration::from_secs(60);

/// A table and its columns, in their order.
type Tables = Vec<(String, Vec<String>)>;

fn db_err(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "backup database error");
    ApiError::new(codes::DATABASE_ERROR, "the server's database failed")
        .hint("see the server log; the live data was not changed")
}

fn pg_err(e: postgres::Error) -> ApiError {
    db_err(StoreError::from(e))
}

use crate::store::quote_ident as quote;

fn column_list(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| quote(c))
        .collect::<Vec<_>>()
        .join(",")
}

/// The data tables of the current schema (every table but [`INTERNAL_TABLES`]), sorted
/// by name bytewise as SQLite lists them, with their columns in order.
fn tables(c: &mut impl GenericClient) -> Result<Tables, postgres::Error> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in c.query(
        "SELECT c.table_name::text, c.column_name::text
           FROM information_schema.columns c
           JOIN information_schema.tables t
             ON t.table_schema = c.table_schema AND t.table_name = c.table_name
          WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
          ORDER BY c.ordinal_position",
        &[],
    )? {
        let table: String = r.try_get(0)?;
        if !INTERNAL_TABLES.contains(&table.as_str()) {
            out.entry(table).or_default().push(r.try_get(1)?);
        }
    }
    Ok(out.into_iter().collect())
}

/// The schema version in SQLite's numbering.
fn archive_version(c: &mut impl GenericClient) -> Result<i64, postgres::Error> {
    let v: i64 = c
        .query_one("SELECT COALESCE(max(version), 0) FROM imadm_schema", &[])?
        .try_get(0)?;
    // A version this binary does not know was refused when the store opened.
    Ok(usize::try_from(v)
        .ok()
        .and_then(|v| v.checked_sub(1))
        .and_then(|i| super::SQLITE_VERSIONS.get(i))
        .copied()
        .unwrap_or(0))
}

/// Column `i` of `row` as the archive's (and SQLite's) value.
fn value(row: &postgres::Row, i: usize) -> Result<Sql, postgres::Error> {
    let ty = row.columns()[i].type_();
    Ok(if *ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(i)?
            .map_or(Sql::Null, Sql::Int)
    } else if *ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(i)?
            .map_or(Sql::Null, |v| Sql::Int(v.into()))
    } else if *ty == Type::INT2 {
        row.try_get::<_, Option<i16>>(i)?
            .map_or(Sql::Null, |v| Sql::Int(v.into()))
    } else if *ty == Type::BYTEA {
        row.try_get::<_, Option<Vec<u8>>>(i)?
            .map_or(Sql::Null, Sql::Blob)
    } else if *ty == Type::FLOAT8 {
        row.try_get::<_, Option<f64>>(i)?
            .map_or(Sql::Null, Sql::Real)
    } else {
        // Text, or a type this mapping lacks: `try_get` refuses the latter.
        row.try_get::<_, Option<String>>(i)?
            .map_or(Sql::Null, Sql::Text)
    })
}

/// A value for a PostgreSQL column of type `ty`, refused when its kind does not fit (an
/// archive's text where the schema has an integer).
fn param(v: Sql, ty: &Type) -> Result<Box<dyn ToSql + Sync>, String> {
    let is = |t: &Type| ty == t;
    let bad = |kind: &str| Err(format!("a {kind} value for a column of type {ty}"));
    Ok(match v {
        Sql::Null if is(&Type::INT8) => Box::new(None::<i64>),
        Sql::Null if is(&Type::INT4) => Box::new(None::<i32>),
        Sql::Null if is(&Type::INT2) => Box::new(None::<i16>),
        Sql::Null if is(&Type::BYTEA) => Box::new(None::<Vec<u8>>),
        Sql::Null if is(&Type::FLOAT8) => Box::new(None::<f64>),
        Sql::Null => Box::new(None::<String>),
        Sql::Int(i) if is(&Type::INT8) => Box::new(i),
        Sql::Int(i) if is(&Type::INT4) => Box::new(i32::try_from(i).map_err(|e| e.to_string())?),
        Sql::Int(i) if is(&Type::INT2) => Box::new(i16::try_from(i).map_err(|e| e.to_string())?),
        Sql::Int(_) => return bad("integer"),
        Sql::Real(r) if is(&Type::FLOAT8) => Box::new(r),
        Sql::Real(_) => return bad("real"),
        Sql::Text(t) if is(&Type::TEXT) || is(&Type::VARCHAR) => Box::new(t),
        Sql::Text(_) => return bad("text"),
        Sql::Blob(b) if is(&Type::BYTEA) => Box::new(b),
        Sql::Blob(_) => return bad("blob"),
    })
}

/// Stream every row of `table` from PostgreSQL to `each`.
fn each_row(
    c: &mut impl GenericClient,
    table: &str,
    columns: &[String],
    mut each: impl FnMut(Vec<Sql>) -> Result<(), String>,
) -> Result<(), String> {
    let err = |e: postgres::Error| StoreError::from(e).to_string();
    let stmt = c
        .prepare(&format!(
            "SELECT {} FROM {}",
            column_list(columns),
            quote(table)
        ))
        .map_err(err)?;
    let mut rows = c.query_raw(&stmt, std::iter::empty::<i64>()).map_err(err)?;
    while let Some(row) = rows.next().map_err(err)? {
        let vals = (0..columns.len())
            .map(|i| value(&row, i))
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?;
        each(vals)?;
    }
    Ok(())
}

fn as_ref(v: &Sql) -> ValueRef<'_> {
    match v {
        Sql::Null => ValueRef::Null,
        Sql::Int(i) => ValueRef::Int(*i),
        Sql::Real(r) => ValueRef::Real(*r),
        Sql::Text(t) => ValueRef::Text(t.as_bytes()),
        Sql::Blob(b) => ValueRef::Blob(b),
    }
}

impl PgStore {
    fn write_snapshot(&self, meta: &SnapshotMeta<'_>, out: &mut dyn Write) -> Result<(), String> {
        let err = |e: postgres::Error| StoreError::from(e).to_string();
        let mut conn = self.conn().map_err(|e| e.to_string())?;
        let mut tx = conn
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(err)?;
        // The first query fixes the snapshot; everything below sees the same state.
        let schema_version = archive_version(&mut tx).map_err(err)?;
        let tabs = tables(&mut tx).map_err(err)?;
        let mut infos = Vec::new();
        for (name, columns) in &tabs {
            let count: i64 = tx
                .query_one(&format!("SELECT count(*) FROM {}", quote(name)), &[])
                .and_then(|r| r.try_get(0))
                .map_err(err)?;
            infos.push(TableInfo {
                name: name.clone(),
                columns: columns.clone(),
                count: count as u64,
            });
        }
        let key_ids = super::keys::sealed_counts(&mut tx)
            .map_err(|e| e.to_string())?
            .into_keys()
            .map(|id| id.unwrap_or(meta.original_key).to_string())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let header = Header {
            format: FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            server_id: meta.server_id.into(),
            created_at: crate::now(),
            schema_version,
            key_fingerprint: meta.key_fingerprint.into(),
            tables: infos,
            key_ids,
        };
        let mut w = Writer::new(out, &header, meta.mac).map_err(|e| e.to_string())?;
        for (i, (name, columns)) in tabs.iter().enumerate() {
            each_row(&mut tx, name, columns, |vals| {
                let refs: Vec<ValueRef<'_>> = vals.iter().map(as_ref).collect();
                w.record(i as u32, &refs).map_err(|e| e.to_string())
            })?;
        }
        w.finish().map_err(|e| e.to_string())?;
        tx.commit().map_err(err)
    }
}

/// Make the scratch SQLite database at `path` a copy of what `pg` sees.
fn copy_live(pg: &mut impl GenericClient, path: &Path, tabs: &Tables) -> Result<(), ApiError> {
    scratch::refill(path, tabs, &mut |name, columns, sink| {
        each_row(pg, name, columns, &mut *sink)
    })
}

/// Delete the scratch directories (copies of the live data) of restores whose process is
/// gone: a server killed mid-restore. Called at start-up and before each restore; those of
/// other instances still running stay.
pub fn remove_stale_scratch() {
    if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(pid) = name
                .strip_prefix(SCRATCH_PREFIX)
                .and_then(|r| r.split('-').next())
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

/// A new scratch directory, after removing those of restores whose process is gone.
fn scratch_dir() -> Result<tempfile::TempDir, ApiError> {
    remove_stale_scratch();
    tempfile::Builder::new()
        .prefix(&format!("{SCRATCH_PREFIX}{}-", std::process::id()))
        .tempdir_in(std::env::temp_dir())
        .map_err(|e| {
            ApiError::new(
                codes::INTERNAL,
                format!("cannot create the restore's scratch directory: {e}"),
            )
            .hint("check free space and permissions of the temp dir (TMPDIR); the live data was not changed")
        })
}

/// A snapshot staged beside the live PostgreSQL data (in a scratch SQLite store, see the
/// module header): verified, not yet live. Dropping it removes the scratch directory.
pub struct Staged<'a> {
    store: &'a PgStore,
    /// Declared before `dir`: its store and staging file close before the directory goes.
    inner: lite::Staged<'static>,
    tables: Tables,
    scratch: std::path::PathBuf,
    dir: tempfile::TempDir,
}

fn stage<'a>(
    store: &'a PgStore,
    reader: SnapshotReader<'a>,
    opts: &RestoreOptions<'_>,
) -> Result<Staged<'a>, ApiError> {
    let dir = scratch_dir()?;
    let scratch_path = dir.path().join("live.sqlite");
    let (lite_store, lite_version, lite_tables) = scratch::open(&scratch_path)?;
    lite_store.set_alert_rules((*store.alert_rules()).clone());
    lite_store.set_notify_routes((*store.alert_rules().notify_routes).clone());
    let mut conn = store.conn().map_err(db_err)?;
    let mut tx = conn
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(pg_err)?;
    let version = archive_version(&mut tx).map_err(pg_err)?;
    let tabs = tables(&mut tx).map_err(pg_err)?;
    if (version, &tabs) != (lite_version, &lite_tables) {
        return Err(ApiError::new(
            codes::INTERNAL,
            format!(
                "this server's PostgreSQL schema (as SQLite version {version}) differs from its SQLite schema (version {lite_version})"
            ),
        )
        .hint("the live data was not changed; report this as a bug"));
    }
    copy_live(&mut tx, &scratch_path, &tabs)?;
    tx.commit().map_err(pg_err)?;
    drop(conn);
    let inner = lite::stage_into(StoreRef::Owned(Box::new(lite_store)), reader, opts)?;
    Ok(Staged {
        store,
        inner,
        tables: tabs,
        scratch: scratch_path,
        dir,
    })
}

/// Take every table of the schema (the chain head's too) in `EXCLUSIVE` mode: no other
/// transaction writes until this one ends; reads go on. `NOWAIT`, retried: waiting for
/// one table while holding others could deadlock with a writer that holds the one and
/// wants the others; a failed attempt gives back what it took (its savepoint).
fn lock_all(tx: &mut postgres::Transaction<'_>) -> Result<(), ApiError> {
    let names: Vec<String> = tx
        .query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1",
            &[],
        )
        .map_err(pg_err)?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()
        .map_err(pg_err)?;
    let sql = format!(
        "LOCK TABLE {} IN EXCLUSIVE MODE NOWAIT",
        names
            .iter()
            .map(|n| quote(n))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let started = Instant::now();
    loop {
        let mut sp = tx.savepoint("imadm_lock").map_err(pg_err)?;
        match sp.batch_execute(&sql) {
            Ok(()) => return sp.commit().map_err(pg_err),
            Err(e)
                if e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE)
                    && started.elapsed() < LOCK_DEADLINE =>
            {
                drop(sp);
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) if e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) => {
                return Err(ApiError::new(
                    codes::CONFLICT,
                    "the restore could not lock the database: writes did not pause for a minute",
                )
                .hint(
                    "nothing was changed; run the restore again when the servers are less busy",
                ));
            }
            Err(e) => return Err(pg_err(e)),
        }
    }
}

/// Tables in an order where every table comes after those it references.
fn parents_first(tx: &mut impl GenericClient, tabs: &Tables) -> Result<Vec<String>, ApiError> {
    let mut parents: BTreeMap<String, BTreeSet<String>> = tabs
        .iter()
        .map(|(t, _)| (t.clone(), BTreeSet::new()))
        .collect();
    for r in tx
        .query(
            "SELECT a.relname::text, b.relname::text FROM pg_constraint c
               JOIN pg_class a ON a.oid = c.conrelid
               JOIN pg_class b ON b.oid = c.confrelid
               JOIN pg_namespace n ON n.oid = c.connamespace
              WHERE c.contype = 'f' AND n.nspname = current_schema()",
            &[],
        )
        .map_err(pg_err)?
    {
        let (child, parent): (String, String) =
            (r.try_get(0).map_err(pg_err)?, r.try_get(1).map_err(pg_err)?);
        if child != parent
            && let Some(p) = parents.get_mut(&child)
        {
            p.insert(parent);
        }
    }
    let mut order: Vec<String> = Vec::new();
    while !parents.is_empty() {
        let ready: Vec<String> = parents
            .iter()
            .filter(|(_, ps)| {
                ps.iter()
                    .all(|p| order.contains(p) || !parents_has(tabs, p))
            })
            .map(|(t, _)| t.clone())
            .collect();
        if ready.is_empty() {
            return Err(ApiError::new(
                codes::INTERNAL,
                "the schema's foreign keys form a cycle",
            ));
        }
        for t in ready {
            parents.remove(&t);
            order.push(t);
        }
    }
    Ok(order)
}

fn parents_has(tabs: &Tables, t: &str) -> bool {
    tabs.iter().any(|(n, _)| n == t)
}

/// Replace the live tables with the merged ones in the scratch store at `path`. A history
/// table whose live ledger stays only gets the rows past its live key (the restore's own
/// event, its alerts); every other table is emptied and refilled by `COPY`.
fn load_merged(
    tx: &mut postgres::Transaction<'_>,
    path: &Path,
    tabs: &Tables,
    keeps_live_ledger: bool,
) -> Result<(), ApiError> {
    let history: BTreeMap<&str, &str> = TABLES
        .iter()
        .filter_map(|(t, c)| match c {
            Class::History { key } => Some((*t, *key)),
            _ => None,
        })
        .collect();
    let order = parents_first(tx, tabs)?;
    let mut after: BTreeMap<&str, i64> = BTreeMap::new();
    for t in order.iter().rev() {
        let q = quote(t);
        match history.get(t.as_str()) {
            Some(key) if keeps_live_ledger => {
                let max: i64 = tx
                    .query_one(
                        &format!("SELECT COALESCE(max({}), 0) FROM {q}", quote(key)),
                        &[],
                    )
                    .and_then(|r| r.try_get(0))
                    .map_err(pg_err)?;
                after.insert(t.as_str(), max);
            }
            // The snapshot's ledger is continued: the append-only guard steps aside for
            // this transaction only (the table is locked; ALTER TABLE is transactional).
            Some(_) => tx
                .batch_execute(&format!(
                    "ALTER TABLE {q} DISABLE TRIGGER USER; DELETE FROM {q};
                     ALTER TABLE {q} ENABLE TRIGGER USER;"
                ))
                .map_err(pg_err)?,
            None => tx
                .batch_execute(&format!("DELETE FROM {q}"))
                .map_err(pg_err)?,
        }
    }
    for t in &order {
        let columns = &tabs.iter().find(|(n, _)| n == t).expect("listed").1;
        let cols = column_list(columns);
        let types: Vec<Type> = tx
            .prepare(&format!("SELECT {cols} FROM {} LIMIT 0", quote(t)))
            .map_err(pg_err)?
            .columns()
            .iter()
            .map(|c| c.type_().clone())
            .collect();
        let after = match (history.get(t.as_str()), after.get(t.as_str())) {
            (Some(key), Some(max)) => Some((*key, *max)),
            _ => None,
        };
        let sink = tx
            .copy_in(&format!("COPY {} ({cols}) FROM STDIN BINARY", quote(t)))
            .map_err(pg_err)?;
        let mut w = BinaryCopyInWriter::new(sink, &types);
        let refused = |e: String| {
            ApiError::new(
                codes::INTEGRITY,
                format!("a record of table {t} does not fit this server's schema: {e}"),
            )
            .hint("the live data was not changed")
        };
        scratch::read(path, t, columns, after, &mut |row| {
            let vals = row
                .into_iter()
                .zip(&types)
                .map(|(v, ty)| param(v, ty))
                .collect::<Result<Vec<_>, _>>()
                .map_err(refused)?;
            let refs: Vec<&(dyn ToSql + Sync)> = vals.iter().map(|v| v.as_ref()).collect();
            w.write(&refs).map_err(pg_err)
        })?;
        w.finish().map_err(pg_err)?;
    }
    Ok(())
}

/// Move every identity sequence to the larger of where it is (live's counter: ids used
/// since the backup, perhaps rolled away, are never given again) and the largest id now
/// in its table.
fn carry_sequences(tx: &mut postgres::Transaction<'_>) -> Result<(), ApiError> {
    let idents = tx
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
              WHERE table_schema = current_schema() AND is_identity = 'YES'",
            &[],
        )
        .map_err(pg_err)?;
    for r in idents {
        let (t, col): (String, String) =
            (r.try_get(0).map_err(pg_err)?, r.try_get(1).map_err(pg_err)?);
        let seq: String = tx
            .query_one("SELECT pg_get_serial_sequence($1, $2)", &[&quote(&t), &col])
            .and_then(|r| r.try_get(0))
            .map_err(pg_err)?;
        tx.execute(
            &format!(
                "SELECT setval($1::text::regclass, GREATEST((SELECT last_value FROM {seq}),
                     (SELECT COALESCE(max({c}), 0) FROM {t}), 1))",
                c = quote(&col),
                t = quote(&t)
            ),
            &[&seq],
        )
        .map_err(pg_err)?;
    }
    Ok(())
}

impl Staged<'_> {
    pub fn install(self, on_merged: &OnMerged<'_>) -> Result<RestoreReport, ApiError> {
        let Staged {
            store,
            inner,
            tables: tabs,
            scratch,
            dir,
        } = self;
        let keeps_live_ledger = inner.report.ledger.relation.keeps_live_ledger();
        let mut conn = store.conn().map_err(db_err)?;
        let mut tx = conn.transaction().map_err(pg_err)?;
        lock_all(&mut tx)?;
        // Live as it is now, with nothing else writing: the SQLite install takes what
        // live committed since the stage from here, and checks it still holds the
        // ledger the stage saw.
        copy_live(&mut tx, &scratch, &tabs)?;
        let report = inner.install(on_merged)?;
        load_merged(&mut tx, &scratch, &tabs, keeps_live_ledger)?;
        carry_sequences(&mut tx)?;
        tx.commit().map_err(|e| {
            tracing::error!(error = %StoreError::from(e), "committing the restore failed");
            ApiError::new(
                codes::DATABASE_ERROR,
                "the restored data could not be committed",
            )
            .hint("see the server log; the live data was not changed")
        })?;
        store.bump_shared_epoch();
        drop(dir);
        Ok(report)
    }
}

impl StagedRestore for Staged<'_> {
    fn report(&self) -> &RestoreReport {
        &self.inner.report
    }

    fn install(self: Box<Self>, on_merged: &OnMerged<'_>) -> Result<RestoreReport, ApiError> {
        Staged::install(*self, on_merged)
    }
}

impl BackupStore for PgStore {
    /// The tables' sizes on disk (with indexes and TOAST): an archive holds the same
    /// rows without the padding, so this bounds it from above, roughly.
    fn snapshot_size_estimate(&self) -> u64 {
        let size = self.conn().ok().and_then(|mut c| {
            c.query_one(
                "SELECT COALESCE(sum(pg_total_relation_size(format('%I.%I', schemaname, tablename)))::bigint, 0)
                   FROM pg_tables WHERE schemaname = current_schema()",
                &[],
            )
            .and_then(|r| r.try_get::<_, i64>(0))
            .ok()
        });
        size.unwrap_or(0).max(0) as u64
    }

    fn snapshot(&self, meta: &SnapshotMeta<'_>, out: &mut dyn Write) -> Result<(), String> {
        self.write_snapshot(meta, out)
    }

    fn stage<'a>(
        &'a self,
        snapshot: SnapshotReader<'a>,
        opts: &RestoreOptions<'_>,
    ) -> Result<Box<dyn StagedRestore + 'a>, ApiError> {
        // Staging writes only the scratch store: the request's event is recorded by the
        // install (into the scratch, then copied here) or, for a dry run, by the service.
        let staged = crate::store::audit::without_pending(|| stage(self, snapshot, opts))?;
        Ok(Box::new(staged))
    }
}
