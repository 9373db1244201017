//! Persistence side of key rotation: which rows hold sealed values under which key, and
//! re-sealing them in bounded batches.
//!
//! [`SEALED`] lists every sealed column with the associated data its values are sealed
//! with. A value's key is in its first bytes (`keys::SEALED_MAGIC` and the key id), so
//! the progress of a rotation is in the data itself: the rows whose value does not start
//! with the active key's prefix are the ones left. Each batch is one transaction of at
//! most `limit` rows, so a crash loses nothing and the next run starts over from the
//! rows still left. The store never sees a key: the caller's [`Resealer`] opens and
//! seals each value. SQLite: `sqlite::keys`.

use std::collections::BTreeMap;

use super::Result;
use crate::keys::KeyId;

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
