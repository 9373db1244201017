//! Persistence side of key rotation: which rows hold sealed values under which key, and
//! re-sealing them in bounded batches.
//!
//! [`SEALED`] lists every sealed column with the associated data its values are sealed
//! with. A value's key is in its first bytes (`keys::SEALED_MAGIC` and the key id), so
//! the progress of a rotation is in the data itself: the rows whose value does not start
//! with the active key's prefix are the ones left. Each batch is one transaction of at
//! most `limit` rows, so a crash loses nothing and the next run starts over from the
//! rows still left. The store never sees a key: the caller's [`Resealer`] opens and
//! seals each value.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{Connection, params};

use super::sqlite::SqliteStore;
use super::{Result, StoreError};
use crate::keys::{KeyId, SEALED_MAGIC, SEALED_PREFIX_LEN};

/// A table with sealed columns: its id column and how a value's associated data is made.
pub struct SealedTable {
    pub table: &'static str,
    pub id: &'static str,
    pub columns: &'static [&'static str],
    pub aad: fn(id: i64, column: &str) -> String,
}

/// Every sealed column of the database.
pub const SEALED: &[SealedTable] = &[
    SealedTable {
        table: "operators",
        id: "id",
        // The pending secret of an enrolment is sealed like the confirmed one.
        columns: &["totp_secret", "totp_pending"],
        aad: |id, _| super::totp_aad(id),
    },
    SealedTable {
        table: "sessions",
        id: "id",
        columns: &["grace_tokens"],
        aad: |id, _| super::grace_aad(id),
    },
    SealedTable {
        table: "im_users",
        id: "user_id",
        columns: &["nick_name", "email", "mobile"],
        aad: |id, c| super::im::aad("im_users", id, c),
    },
    SealedTable {
        table: "im_groups",
        id: "group_id",
        columns: &["name", "description"],
        aad: |id, c| super::im::aad("im_groups", id, c),
    },
    SealedTable {
        table: "im_messages",
        id: "msg_id",
        columns: &["content"],
        aad: |id, c| super::im::aad("im_messages", id, c),
    },
    SealedTable {
        table: "passkeys",
        id: "id",
        columns: &["credential"],
        aad: |id, _| super::passkey::aad(id),
    },
];

/// Opens a sealed value (with its associated data) and seals it again under the key the
/// caller chose; `None` when no key of the keyring opens it.
pub type Resealer<'a> = &'a (dyn Fn(&[u8], &str) -> Option<Vec<u8>> + Sync);

/// Where a re-seal pass is: the table (index into [`SEALED`]) and the last id done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub table: usize,
    pub after: i64,
}

impl Cursor {
    pub const START: Cursor = Cursor {
        table: 0,
        after: i64::MIN,
    };
}

/// Rows re-sealed by one batch, and where the next batch starts (`None`: pass done).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    pub rows: usize,
    pub next: Option<Cursor>,
}

pub trait KeyStore: Send + Sync {
    /// Sealed values per key id (`None`: the original key's values that name no key).
    fn sealed_counts(&self) -> Result<BTreeMap<Option<KeyId>, u64>>;

    /// Re-seal, in one transaction, up to `limit` rows from `cursor` on that hold a value
    /// not under `keep` (the active key).
    fn reseal_batch(
        &self,
        cursor: Cursor,
        limit: usize,
        keep: KeyId,
        reseal: Resealer<'_>,
    ) -> Result<Batch>;
}

/// The key ids the sealed values seen through `conn` are under (`None`: values that name
/// no key). A backup snapshot's header lists them (`backup::snapshot`).
pub(crate) fn sealed_key_ids(conn: &Connection) -> Result<BTreeSet<Option<KeyId>>> {
    Ok(sealed_counts(conn)?.into_keys().collect())
}

fn sealed_counts(conn: &Connection) -> Result<BTreeMap<Option<KeyId>, u64>> {
    let mut counts = BTreeMap::new();
    for t in SEALED {
        for c in t.columns {
            let sql = format!(
                "SELECT CASE WHEN substr({c}, 1, {m}) = ?1 THEN substr({c}, {s}, 8) END AS k, \
                     count(*) FROM {t} WHERE {c} IS NOT NULL GROUP BY k",
                m = SEALED_MAGIC.len(),
                s = SEALED_MAGIC.len() + 1,
                t = t.table,
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![&SEALED_MAGIC[..]], |r| {
                Ok((r.get::<_, Option<Vec<u8>>>(0)?, r.get::<_, i64>(1)?))
            })?;
            for row in rows {
                let (id, n) = row?;
                let id = id.map(|b| KeyId(b.try_into().unwrap_or_default()));
                *counts.entry(id).or_insert(0) += n as u64;
            }
        }
    }
    Ok(counts)
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
        crate::audit::commit(tx, &self.alert_rules())?;
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
