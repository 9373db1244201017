//! A scratch SQLite database another backend restores through (`postgres::backup`): the
//! SQLite schema without its append-only triggers (the copy is refilled wholesale; what
//! it guards is the other backend's live data), filled from and read back as the
//! archive's values, so that backend runs SQLite's restore and merge on a copy of its
//! data and never sees a `rusqlite` type.

use std::path::Path;

use imadm_api::backup::Value;
use rusqlite::types::Value as Sql;
use rusqlite::{Connection, OpenFlags};

use super::SqliteStore;
use super::backup::db_err;
use crate::error::ApiError;

use crate::store::quote_ident as quote;

fn column_list(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| quote(c))
        .collect::<Vec<_>>()
        .join(",")
}

/// A new scratch store at `path`: the store, its schema version and its tables with
/// their columns (as a snapshot lists them).
#[allow(clippy::type_complexity)]
pub(crate) fn open(
    path: &Path,
) -> Result<(SqliteStore, i64, Vec<(String, Vec<String>)>), ApiError> {
    let store = SqliteStore::open(path).map_err(|e| db_err_store(&e))?;
    let c = Connection::open(path).map_err(db_err)?;
    let triggers: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(db_err)?;
    for t in triggers {
        c.execute_batch(&format!("DROP TRIGGER {}", quote(&t)))
            .map_err(db_err)?;
    }
    let version: i64 = c
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(db_err)?;
    let tables = super::backup::tables(&c).map_err(db_err)?;
    Ok((store, version, tables))
}

fn db_err_store(e: &crate::store::StoreError) -> ApiError {
    tracing::error!(error = %e, "opening the restore's scratch database failed");
    ApiError::new(
        imadm_api::codes::DATABASE_ERROR,
        "the restore's scratch database failed",
    )
    .hint("see the server log; the live data was not changed")
}

/// Takes one row of a table being refilled.
pub(crate) type RowSink<'a> = dyn FnMut(Vec<Value>) -> Result<(), String> + 'a;

/// Sends every row of a table (named, with its columns) to the sink.
pub(crate) type RowSource<'a> =
    dyn FnMut(&str, &[String], &mut RowSink<'_>) -> Result<(), String> + 'a;

/// Empty every table of the scratch database at `path` and refill it: `rows(table,
/// columns, sink)` calls `sink` once per row.
pub(crate) fn refill(
    path: &Path,
    tables: &[(String, Vec<String>)],
    rows: &mut RowSource<'_>,
) -> Result<(), ApiError> {
    let mut c = Connection::open(path).map_err(db_err)?;
    c.pragma_update(None, "foreign_keys", "OFF")
        .map_err(db_err)?;
    let tx = c.transaction().map_err(db_err)?;
    for (name, columns) in tables {
        tx.execute(&format!("DELETE FROM {}", quote(name)), [])
            .map_err(db_err)?;
        let marks = vec!["?"; columns.len()].join(",");
        let mut ins = tx
            .prepare(&format!(
                "INSERT INTO {} ({}) VALUES ({marks})",
                quote(name),
                column_list(columns)
            ))
            .map_err(db_err)?;
        rows(name, columns, &mut |vals| {
            ins.execute(rusqlite::params_from_iter(vals.into_iter().map(to_sql)))
                .map(drop)
                .map_err(|e| e.to_string())
        })
        .map_err(|e| {
            tracing::error!(error = %e, table = %name, "copying live data into the restore's scratch database failed");
            ApiError::new(imadm_api::codes::DATABASE_ERROR, "the server's database failed")
                .hint("see the server log; the live data was not changed")
        })?;
    }
    tx.commit().map_err(db_err)
}

/// Every row of `table` in the scratch database at `path` whose `key` is above `after`
/// (all rows without one), to `each`.
pub(crate) fn read(
    path: &Path,
    table: &str,
    columns: &[String],
    after: Option<(&str, i64)>,
    each: &mut dyn FnMut(Vec<Value>) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(db_err)?;
    let filter = after.map_or(String::new(), |(key, max)| {
        format!(" WHERE {} > {max}", quote(key))
    });
    let mut stmt = c
        .prepare(&format!(
            "SELECT {} FROM {}{filter}",
            column_list(columns),
            quote(table)
        ))
        .map_err(db_err)?;
    let mut rows = stmt.query([]).map_err(db_err)?;
    while let Some(r) = rows.next().map_err(db_err)? {
        let vals = (0..columns.len())
            .map(|i| r.get::<_, Sql>(i).map(from_sql))
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db_err)?;
        each(vals)?;
    }
    Ok(())
}

fn to_sql(v: Value) -> Sql {
    match v {
        Value::Null => Sql::Null,
        Value::Int(i) => Sql::Integer(i),
        Value::Real(r) => Sql::Real(r),
        Value::Text(t) => Sql::Text(t),
        Value::Blob(b) => Sql::Blob(b),
    }
}

fn from_sql(v: Sql) -> Value {
    match v {
        Sql::Null => Value::Null,
        Sql::Integer(i) => Value::Int(i),
        Sql::Real(r) => Value::Real(r),
        Sql::Text(t) => Value::Text(t),
        Sql::Blob(b) => Value::Blob(b),
    }
}
