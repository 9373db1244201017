//! [`KeyStore`] on PostgreSQL: counts of sealed values per key, and one re-seal batch per
//! transaction, the same as `store/sqlite/keys.rs`. The batch's rows are locked as it
//! reads them (`FOR UPDATE`), so two re-seal passes (two instances) never seal one value
//! twice from the same old value.

use std::collections::BTreeMap;

use super::{Done, PgStore};
use crate::keys::{KeyId, SEALED_MAGIC, SEALED_PREFIX_LEN};
use crate::store::keys::{Batch, Cursor, KeyStore, Resealer, SEALED};
use crate::store::{Result, StoreError};

impl KeyStore for PgStore {
    fn sealed_counts(&self) -> Result<BTreeMap<Option<KeyId>, u64>> {
        sealed_counts(&mut **self.conn()?)
    }

    fn reseal_batch(
        &self,
        cursor: Cursor,
        limit: usize,
        keep: KeyId,
        reseal: Resealer<'_>,
    ) -> Result<Batch> {
        let t = &SEALED[cursor.table];
        let prefix = keep.sealed_prefix();
        let left = t
            .columns
            .iter()
            .map(|c| {
                format!(
                    "({c} IS NOT NULL AND substr({c}, 1, {SEALED_PREFIX_LEN}) IS DISTINCT FROM $1)"
                )
            })
            .collect::<Vec<_>>()
            .join(" OR ");
        let select = format!(
            "SELECT {id}, {cols} FROM {table} WHERE {id} > $2 AND ({left})
             ORDER BY {id} LIMIT $3 FOR UPDATE",
            id = t.id,
            cols = t.columns.join(", "),
            table = t.table,
        );
        let rows = self.write(|tx| {
            let rows: Vec<(i64, Vec<Option<Vec<u8>>>)> = tx
                .query(&select, &[&&prefix[..], &cursor.after, &(limit as i64)])?
                .iter()
                .map(|r| {
                    let values = (0..t.columns.len())
                        .map(|i| r.try_get(i + 1))
                        .collect::<std::result::Result<_, _>>()?;
                    Ok((r.try_get(0)?, values))
                })
                .collect::<Result<_>>()?;
            for (id, values) in &rows {
                for (c, v) in t.columns.iter().zip(values) {
                    let Some(v) = v.as_deref().filter(|v| !v.starts_with(&prefix)) else {
                        continue;
                    };
                    let sealed = reseal(v, &(t.aad)(*id, c)).ok_or_else(|| {
                        StoreError::Backend(format!(
                            "{}.{c} of row {id} opens with no key of the keyring",
                            t.table
                        ))
                    })?;
                    tx.execute(
                        &format!("UPDATE {} SET {c} = $1 WHERE {} = $2", t.table, t.id),
                        &[&sealed, id],
                    )?;
                }
            }
            Ok(Done::Commit(
                rows.iter().map(|(id, _)| *id).collect::<Vec<i64>>(),
            ))
        })?;
        let next = match rows.last() {
            Some(last) if rows.len() == limit => Some(Cursor {
                table: cursor.table,
                after: *last,
            }),
            _ if cursor.table + 1 < SEALED.len() => Some(Cursor {
                table: cursor.table + 1,
                after: i64::MIN,
            }),
            _ => None,
        };
        Ok(Batch {
            rows: rows.len(),
            next,
        })
    }
}

/// Sealed values per key (`None`: values that name no key) seen through `conn`; a
/// backup snapshot's header lists the keys (`backup.rs`).
pub(super) fn sealed_counts(
    conn: &mut impl postgres::GenericClient,
) -> Result<BTreeMap<Option<KeyId>, u64>> {
    let mut counts = BTreeMap::new();
    for t in SEALED {
        for c in t.columns {
            let sql = format!(
                "SELECT CASE WHEN substr({c}, 1, {m}) = $1 THEN substr({c}, {s}, 8) END AS k,
                     count(*) FROM {t} WHERE {c} IS NOT NULL GROUP BY k",
                m = SEALED_MAGIC.len(),
                s = SEALED_MAGIC.len() + 1,
                t = t.table,
            );
            for r in conn.query(&sql, &[&&SEALED_MAGIC[..]])? {
                let id: Option<Vec<u8>> = r.try_get(0)?;
                let n: i64 = r.try_get(1)?;
                let id = id.map(|b| KeyId(b.try_into().unwrap_or_default()));
                *counts.entry(id).or_insert(0) += n as u64;
            }
        }
    }
    Ok(counts)
}
