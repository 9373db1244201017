//! The SQLite side of [`KeyStore`]: counts of sealed values per key, and one re-seal
//! batch per transaction.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, params};

use super::SqliteStore;
use crate::keys::{KeyId, SEALED_MAGIC, SEALED_PREFIX_LEN};
use crate::store::keys::*;
use crate::store::{Result, StoreError};

/// The key ids the sealed values seen through `conn` are under (`None`: values that name
/// no key). A backup snapshot's header lists them (`sqlite::backup::snapshot`).
pub(crate) fn sealed_key_ids(conn: &Connection) -> Result<BTreeSet<Option<KeyId>>> {
    Ok(sealed_counts(conn)?.into_keys().collect())
}

fn sealed_counts(conn: &Connection) -> Result<BTreeMap<Option<KeyId>, u64>> {
    let mut counts = BTreeMap::new();
    for t in SEALED {
        for c in t.columns {
            // Counted here, not with GROUP BY: SQLite's sorter for that carried every
            // value whole into temporary files (twice the message table's size, on every
            // backup's start). Only a value's first bytes are handed over.
            let mut stmt = conn.prepare_cached(&prefixes_sql(t.table, c))?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                // A sealed value is a blob that starts with the magic; a text one never is.
                let id = match row.get_ref(0)? {
                    ValueRef::Blob(b) if b.starts_with(&SEALED_MAGIC) => Some(KeyId(
                        b[SEALED_MAGIC.len()..].try_into().unwrap_or_default(),
                    )),
                    _ => None,
                };
                *counts.entry(id).or_insert(0) += 1;
            }
        }
    }
    Ok(counts)
}

/// The first bytes (magic and key id) of every value of column `c` in `table`.
fn prefixes_sql(table: &str, c: &str) -> String {
    format!("SELECT substr({c}, 1, {SEALED_PREFIX_LEN}) FROM {table} WHERE {c} IS NOT NULL")
}

impl KeyStore for SqliteStore {
    fn sealed_counts(&self) -> Result<BTreeMap<Option<KeyId>, u64>> {
        sealed_counts(&self.reader())
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
            .map(|c| format!("({c} IS NOT NULL AND substr({c}, 1, {SEALED_PREFIX_LEN}) IS NOT ?1)"))
            .collect::<Vec<_>>()
            .join(" OR ");
        let select = format!(
            "SELECT {id}, {cols} FROM {table} WHERE {id} > ?2 AND ({left}) ORDER BY {id} LIMIT ?3",
            id = t.id,
            cols = t.columns.join(", "),
            table = t.table,
        );
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let rows: Vec<(i64, Vec<Option<Vec<u8>>>)> = {
            let mut stmt = tx.prepare_cached(&select)?;
            stmt.query_map(params![&prefix[..], cursor.after, limit as i64], |r| {
                let values = (0..t.columns.len())
                    .map(|i| r.get(i + 1))
                    .collect::<rusqlite::Result<_>>()?;
                Ok((r.get(0)?, values))
            })?
            .collect::<rusqlite::Result<_>>()?
        };
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
                tx.prepare_cached(&format!(
                    "UPDATE {} SET {c} = ?1 WHERE {} = ?2",
                    t.table, t.id
                ))?
                .execute(params![sealed, id])?;
            }
        }
        crate::store::sqlite::audit::commit(tx, &self.alert_rules())?;
        let next = match rows.last() {
            Some((last, _)) if rows.len() == limit => Some(Cursor {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::ServerKey;
    use crate::store::im::{ImStore, NewImUser};

    /// Every backup's start counts the sealed values: a plain scan, no temporary b-tree
    /// (a GROUP BY's sorter took every value whole into temporary files, 2 GiB of
    /// writes per GiB of messages).
    #[test]
    fn counting_sealed_values_needs_no_temporary_b_tree() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).unwrap();
        let conn = store.reader();
        for t in SEALED {
            for c in t.columns {
                let sql = format!("EXPLAIN QUERY PLAN {}", prefixes_sql(t.table, c));
                let mut stmt = conn.prepare(&sql).unwrap();
                let plan: Vec<String> = stmt
                    .query_map([], |r| r.get::<_, String>(3))
                    .unwrap()
                    .map(|r| r.unwrap())
                    .collect();
                assert!(!plan.is_empty(), "{sql}");
                assert!(
                    plan.iter().all(|p| !p.contains("TEMP B-TREE")),
                    "{sql}: {plan:?}"
                );
            }
        }
    }

    /// Batches of at most `limit` rows, each its own transaction; a pass stopped after
    /// any batch and started again from the top finishes the job; legacy values (no key
    /// id) count as the original key's.
    #[test]
    fn batches_resume_from_the_rows_left() {
        let dir = tempfile::tempdir().unwrap();
        let ring = ServerKey::create(&dir.path().join("server.key")).unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).unwrap();
        let users: Vec<NewImUser> = (0..7)
            .map(|i| NewImUser {
                username: format!("u{i}"),
                password_hash: "x".into(),
                nick_name: Some(format!("nick {i}")),
                email: Some(format!("u{i}@example.com")),
                mobile: None,
            })
            .collect();
        let seal = |p: &[u8], a: &str| ring.seal(p, a);
        store.create_im_users(&users, &seal, 1, &|_| {}).unwrap();
        let a = ring.active().id();
        assert_eq!(
            store.sealed_counts().unwrap(),
            BTreeMap::from([(Some(a), 14)])
        );

        let b = ring.rotate().unwrap();
        let reseal = |v: &[u8], aad: &str| ring.open(v, aad).map(|p| ring.seal(&p, aad));
        let start = Cursor {
            table: 2,
            after: i64::MIN,
        };
        let first = store.reseal_batch(start, 3, b, &reseal).unwrap();
        assert_eq!(first.rows, 3);
        assert_eq!(
            store.sealed_counts().unwrap(),
            BTreeMap::from([(Some(a), 8), (Some(b), 6)])
        );
        // A crash here; the next run starts from the top and skips what is done.
        let mut cursor = Some(start);
        let mut batches = 0;
        while let Some(c) = cursor.filter(|c| c.table == 2) {
            cursor = store.reseal_batch(c, 3, b, &reseal).unwrap().next;
            batches += 1;
        }
        assert_eq!(batches, 2, "4 rows left, 3 a batch");
        assert_eq!(
            store.sealed_counts().unwrap(),
            BTreeMap::from([(Some(b), 14)])
        );
        let u = store.im_user_by_username("u6").unwrap().unwrap();
        let aad = crate::store::im::aad("im_users", u.user_id, "email");
        let email = ring.open(u.email.as_deref().unwrap(), &aad).unwrap();
        assert_eq!(email.as_slice(), b"u6@example.com");
        // A value no key opens stops the batch and changes nothing.
        let broken = |_: &[u8], _: &str| None;
        let c = ring.rotate().unwrap();
        assert!(store.reseal_batch(start, 3, c, &broken).is_err());
        assert_eq!(
            store.sealed_counts().unwrap(),
            BTreeMap::from([(Some(b), 14)])
        );
    }
}
