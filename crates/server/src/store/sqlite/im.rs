//! The SQLite side of [`ImStore`]: ids allocated in the writing transaction, sealed
//! columns sealed there (the id is in the associated data), `LIMIT`ed keyset lists.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::SqliteStore;
use crate::UnixTime;
use crate::store::Result;
use crate::store::im::*;

const USER_COLUMNS: &str = "user_id, username, password_hash, disabled, nick_name, email, \
     mobile, created_at, updated_at, kicked_at";

fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ImUser> {
    Ok(ImUser {
        user_id: r.get(0)?,
        username: r.get(1)?,
        password_hash: r.get(2)?,
        disabled: r.get(3)?,
        nick_name: r.get(4)?,
        email: r.get(5)?,
        mobile: r.get(6)?,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
        kicked_at: r.get(9)?,
    })
}

fn list_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ImUserRow> {
    Ok(ImUserRow {
        user_id: r.get(0)?,
        username: r.get(1)?,
        disabled: r.get(2)?,
        created_at: r.get(3)?,
    })
}

/// The next id of an AUTOINCREMENT table, at least `base`. Explicitly inserting it
/// advances `sqlite_sequence`, so ids keep growing even after deletes.
fn next_id(tx: &Transaction<'_>, table: &str, base: i64) -> Result<i64> {
    let seq: Option<i64> = tx
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = ?1",
            [table],
            |r| r.get(0),
        )
        .optional()?;
    Ok(seq.map_or(base, |s| (s + 1).max(base)))
}

/// The password hash of an erased IM user (no password matches it).
pub(crate) const ERASED_HASH: &str = "!erased";

/// Erase IM user `user_id` on `c` (GDPR art. 17): the contents of every message they sent,
/// their group memberships, their profile; the row stays as tombstone `tombstone` so other
/// people's conversations keep their shape. Returns (messages, memberships). Used by
/// `erase_im_user`, and by a restore, which erases again in the restored data whoever was
/// erased after the backup.
pub(crate) fn erase_rows(
    c: &Connection,
    user_id: i64,
    tombstone: &str,
    now: UnixTime,
) -> rusqlite::Result<(u64, u64)> {
    let messages = c.execute(
        "UPDATE im_messages SET content = X'' WHERE from_id = ?1",
        [user_id],
    )? as u64;
    let memberships =
        c.execute("DELETE FROM im_group_members WHERE user_id = ?1", [user_id])? as u64;
    c.execute(
        "UPDATE im_users SET username = ?2, password_hash = ?4, disabled = 1,
             nick_name = NULL, email = NULL, mobile = NULL, updated_at = ?3, kicked_at = ?3
         WHERE user_id = ?1",
        params![user_id, tombstone, now, ERASED_HASH],
    )?;
    Ok((messages, memberships))
}

fn user_exists(tx: &Transaction<'_>, id: i64) -> Result<bool> {
    Ok(tx
        .query_row(
            "SELECT 1 FROM im_users WHERE user_id = ?1",
            [id],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

fn first_unknown(tx: &Transaction<'_>, ids: &[i64]) -> Result<Option<i64>> {
    for id in ids {
        if !user_exists(tx, *id)? {
            return Ok(Some(*id));
        }
    }
    Ok(None)
}

fn seal_opt(seal: Sealer<'_>, v: &Option<String>, aad: String) -> Option<Vec<u8>> {
    v.as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| seal(s.as_bytes(), &aad))
}

impl ImStore for SqliteStore {
    fn create_im_users(
        &self,
        users: &[NewImUser],
        seal: Sealer<'_>,
        now: UnixTime,
        created: &dyn Fn(&[i64]),
    ) -> Result<Vec<Option<i64>>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut out = Vec::with_capacity(users.len());
        for u in users {
            let taken = tx
                .query_row(
                    "SELECT 1 FROM im_users WHERE username = ?1",
                    [&u.username],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if taken {
                out.push(None);
                continue;
            }
            let id = next_id(&tx, "im_users", USER_ID_BASE)?;
            tx.execute(
                "INSERT INTO im_users (user_id, username, password_hash, nick_name, email,
                     mobile, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                params![
                    id,
                    u.username,
                    u.password_hash,
                    seal_opt(seal, &u.nick_name, aad("im_users", id, "nick_name")),
                    seal_opt(seal, &u.email, aad("im_users", id, "email")),
                    seal_opt(seal, &u.mobile, aad("im_users", id, "mobile")),
                    now
                ],
            )?;
            out.push(Some(id));
        }
        created(&out.iter().flatten().copied().collect::<Vec<_>>());
        crate::store::sqlite::audit::commit(tx, &self.alert_rules())?;
        Ok(out)
    }

    fn im_user(&self, user_id: i64) -> Result<Option<ImUser>> {
        Ok(self
            .reader()
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM im_users WHERE user_id = ?1"),
                [user_id],
                user_row,
            )
            .optional()?)
    }

    fn im_user_by_username(&self, username: &str) -> Result<Option<ImUser>> {
        Ok(self
            .reader()
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM im_users WHERE username = ?1"),
                [username],
                user_row,
            )
            .optional()?)
    }

    fn im_users_page(&self, page_num: u32, page_size: u32) -> Result<Vec<ImUserRow>> {
        let offset = i64::from(page_num.max(1) - 1) * i64::from(page_size);
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT user_id, username, disabled, created_at FROM im_users
             ORDER BY user_id LIMIT ?1 OFFSET ?2",
        )?;
        let rows = stmt.query_map(params![page_size, offset], list_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn im_users_after(
        &self,
        after: i64,
        limit: u32,
        disabled: Option<bool>,
    ) -> Result<Vec<ImUserRow>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT user_id, username, disabled, created_at FROM im_users
             WHERE user_id > ?1 AND (?3 IS NULL OR disabled = ?3)
             ORDER BY user_id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit, disabled], list_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn set_im_users_disabled(
        &self,
        ids: &[i64],
        disabled: bool,
        now: UnixTime,
    ) -> Result<std::result::Result<(), i64>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if let Some(id) = first_unknown(&tx, ids)? {
            return Ok(Err(id));
        }
        for id in ids {
            tx.execute(
                "UPDATE im_users SET disabled = ?2, updated_at = ?3 WHERE user_id = ?1",
                params![id, disabled, now],
            )?;
        }
        crate::store::sqlite::audit::commit(tx, &self.alert_rules())?;
        Ok(Ok(()))
    }

    fn delete_im_users(&self, ids: &[i64]) -> Result<std::result::Result<u64, i64>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if let Some(id) = first_unknown(&tx, ids)? {
            return Ok(Err(id));
        }
        let mut n = 0;
        for id in ids {
            tx.execute(
                "DELETE FROM im_messages WHERE from_id = ?1 OR (to_type = 'user' AND to_id = ?1)
                    OR (to_type = 'group' AND to_id IN
                        (SELECT group_id FROM im_groups WHERE owner_id = ?1))",
                [id],
            )?;
            tx.execute("DELETE FROM im_groups WHERE owner_id = ?1", [id])?;
            n += tx.execute("DELETE FROM im_users WHERE user_id = ?1", [id])? as u64;
        }
        crate::store::sqlite::audit::commit(tx, &self.alert_rules())?;
        Ok(Ok(n))
    }

    fn erase_im_user(
        &self,
        user_id: i64,
        tombstone: &str,
        now: UnixTime,
    ) -> Result<Option<(u64, u64)>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if !user_exists(&tx, user_id)? {
            return Ok(None);
        }
        let counts = erase_rows(&tx, user_id, tombstone, now)?;
        crate::store::sqlite::audit::commit(tx, &self.alert_rules())?;
        // secure_delete (set at open) zeroed the freed bytes in the database pages; the WAL
        // still holds older copies of those pages until a checkpoint truncates it.
        let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        Ok(Some(counts))
    }

    fn set_im_password(&self, user_id: i64, hash: &str, now: UnixTime) -> Result<bool> {
        let n = self.conn().execute(
            "UPDATE im_users SET password_hash = ?2, updated_at = ?3, kicked_at = ?3
             WHERE user_id = ?1",
            params![user_id, hash, now],
        )?;
        Ok(n == 1)
    }

    fn kick_im_user(&self, user_id: i64, now: UnixTime) -> Result<bool> {
        let n = self.conn().execute(
            "UPDATE im_users SET kicked_at = ?2 WHERE user_id = ?1",
            params![user_id, now],
        )?;
        Ok(n == 1)
    }

    fn im_user_group_count(&self, user_id: i64) -> Result<i64> {
        Ok(self.reader().query_row(
            "SELECT COUNT(*) FROM im_group_members WHERE user_id = ?1",
            [user_id],
            |r| r.get(0),
        )?)
    }

    fn create_im_group(
        &self,
        owner: i64,
        kind: i32,
        name: &str,
        description: Option<&str>,
        members: &[i64],
        seal: Sealer<'_>,
        now: UnixTime,
    ) -> Result<(i64, Vec<i64>)> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let id = next_id(&tx, "im_groups", GROUP_ID_BASE)?;
        let description = description
            .filter(|d| !d.is_empty())
            .map(|d| seal(d.as_bytes(), &aad("im_groups", id, "description")));
        tx.execute(
            "INSERT INTO im_groups (group_id, owner_id, kind, name, description, created_at,
                 updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            params![
                id,
                owner,
                kind,
                seal(name.as_bytes(), &aad("im_groups", id, "name")),
                description,
                now
            ],
        )?;
        tx.execute(
            "INSERT INTO im_group_members (group_id, user_id, role, joined_at)
             VALUES (?1, ?2, 'owner', ?3)",
            params![id, owner, now],
        )?;
        let mut unknown = Vec::new();
        for m in members.iter().filter(|m| **m != owner) {
            if !user_exists(&tx, *m)? {
                unknown.push(*m);
                continue;
            }
            tx.execute(
                "INSERT OR IGNORE INTO im_group_members (group_id, user_id, joined_at)
                 VALUES (?1, ?2, ?3)",
                params![id, m, now],
            )?;
        }
        crate::store::sqlite::audit::commit(tx, &self.alert_rules())?;
        Ok((id, unknown))
    }

    fn im_group(&self, group_id: i64) -> Result<Option<ImGroup>> {
        Ok(self
            .reader()
            .query_row(
                "SELECT group_id, owner_id, kind, name, description, created_at, updated_at,
                     (SELECT COUNT(*) FROM im_group_members m WHERE m.group_id = g.group_id)
                 FROM im_groups g WHERE group_id = ?1",
                [group_id],
                |r| {
                    Ok(ImGroup {
                        group_id: r.get(0)?,
                        owner_id: r.get(1)?,
                        kind: r.get(2)?,
                        name: r.get(3)?,
                        description: r.get(4)?,
                        created_at: r.get(5)?,
                        updated_at: r.get(6)?,
                        members: r.get(7)?,
                    })
                },
            )
            .optional()?)
    }

    fn destroy_im_group(&self, group_id: i64) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM im_messages WHERE to_type = 'group' AND to_id = ?1",
            [group_id],
        )?;
        let n = tx.execute("DELETE FROM im_groups WHERE group_id = ?1", [group_id])?;
        crate::store::sqlite::audit::commit(tx, &self.alert_rules())?;
        Ok(n == 1)
    }

    fn add_im_members(
        &self,
        group_id: i64,
        users: &[i64],
        now: UnixTime,
    ) -> Result<Vec<MemberOutcome>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut out = Vec::with_capacity(users.len());
        for u in users {
            if !user_exists(&tx, *u)? {
                out.push(MemberOutcome::UnknownUser);
                continue;
            }
            let n = tx.execute(
                "INSERT OR IGNORE INTO im_group_members (group_id, user_id, joined_at)
                 VALUES (?1, ?2, ?3)",
                params![group_id, u, now],
            )?;
            out.push(if n == 1 {
                MemberOutcome::Done
            } else {
                MemberOutcome::AlreadyMember
            });
        }
        crate::store::sqlite::audit::commit(tx, &self.alert_rules())?;
        Ok(out)
    }

    fn remove_im_members(&self, group_id: i64, users: &[i64]) -> Result<Vec<MemberOutcome>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut out = Vec::with_capacity(users.len());
        for u in users {
            let role: Option<String> = tx
                .query_row(
                    "SELECT role FROM im_group_members WHERE group_id = ?1 AND user_id = ?2",
                    params![group_id, u],
                    |r| r.get(0),
                )
                .optional()?;
            out.push(match role.as_deref() {
                None if !user_exists(&tx, *u)? => MemberOutcome::UnknownUser,
                None => MemberOutcome::NotMember,
                Some("owner") => MemberOutcome::IsOwner,
                Some(_) => {
                    tx.execute(
                        "DELETE FROM im_group_members WHERE group_id = ?1 AND user_id = ?2",
                        params![group_id, u],
                    )?;
                    MemberOutcome::Done
                }
            });
        }
        crate::store::sqlite::audit::commit(tx, &self.alert_rules())?;
        Ok(out)
    }

    fn im_members_after(&self, group_id: i64, after: i64, limit: u32) -> Result<Vec<(i64, i64)>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT user_id, joined_at FROM im_group_members
             WHERE group_id = ?1 AND user_id > ?2 ORDER BY user_id LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![group_id, after, limit], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn send_im_messages(
        &self,
        from: i64,
        to_group: bool,
        targets: &[i64],
        content_type: i32,
        content: &str,
        seal: Sealer<'_>,
        now: UnixTime,
    ) -> Result<Vec<i64>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut ids = Vec::with_capacity(targets.len());
        for to in targets {
            let id = next_id(&tx, "im_messages", 1)?;
            tx.execute(
                "INSERT INTO im_messages (msg_id, from_id, to_type, to_id, content_type,
                     content, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    id,
                    from,
                    if to_group { "group" } else { "user" },
                    to,
                    content_type,
                    seal(content.as_bytes(), &aad("im_messages", id, "content")),
                    now
                ],
            )?;
            ids.push(id);
        }
        crate::store::sqlite::audit::commit(tx, &self.alert_rules())?;
        Ok(ids)
    }

    fn im_conversation(
        &self,
        me: i64,
        opposite: i64,
        group: bool,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ImMessage>> {
        let conn = self.reader();
        let before = before.unwrap_or(i64::MAX);
        let map = |r: &rusqlite::Row<'_>| {
            Ok(ImMessage {
                msg_id: r.get(0)?,
                from_id: r.get(1)?,
                to_group: r.get::<_, String>(2)? == "group",
                to_id: r.get(3)?,
                content_type: r.get(4)?,
                content: r.get(5)?,
                created_at: r.get(6)?,
            })
        };
        let cols = "msg_id, from_id, to_type, to_id, content_type, content, created_at";
        let rows = if group {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {cols} FROM im_messages
                 WHERE to_type = 'group' AND to_id = ?1 AND msg_id < ?2
                 ORDER BY msg_id DESC LIMIT ?3"
            ))?;
            stmt.query_map(params![opposite, before, limit], map)?
                .collect::<rusqlite::Result<Vec<_>>>()?
        } else {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {cols} FROM im_messages
                 WHERE to_type = 'user' AND msg_id < ?3
                   AND ((from_id = ?1 AND to_id = ?2) OR (from_id = ?2 AND to_id = ?1))
                 ORDER BY msg_id DESC LIMIT ?4"
            ))?;
            stmt.query_map(params![me, opposite, before, limit], map)?
                .collect::<rusqlite::Result<Vec<_>>>()?
        };
        Ok(rows)
    }

    fn im_memberships_after(
        &self,
        user_id: i64,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ImMembership>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT g.group_id, g.owner_id, g.kind, g.name, g.description, m.role, m.joined_at
             FROM im_group_members m JOIN im_groups g ON g.group_id = m.group_id
             WHERE m.user_id = ?1 AND m.group_id > ?2 ORDER BY m.group_id LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![user_id, after, limit], |r| {
            Ok(ImMembership {
                group_id: r.get(0)?,
                owner_id: r.get(1)?,
                kind: r.get(2)?,
                name: r.get(3)?,
                description: r.get(4)?,
                role: r.get(5)?,
                joined_at: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn im_user_messages_after(
        &self,
        user_id: i64,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ImMessage>> {
        let conn = self.reader();
        // Two index range scans (im_messages_from, im_messages_to) merged by id: each page
        // reads at most `limit` rows from each, however large the table.
        let mut stmt = conn.prepare_cached(
            "SELECT msg_id, from_id, to_type, to_id, content_type, content, created_at FROM (
                 SELECT * FROM (SELECT * FROM im_messages WHERE from_id = ?1 AND msg_id > ?2
                                ORDER BY msg_id LIMIT ?3)
                 UNION
                 SELECT * FROM (SELECT * FROM im_messages
                                WHERE to_type = 'user' AND to_id = ?1 AND msg_id > ?2
                                ORDER BY msg_id LIMIT ?3))
             ORDER BY msg_id LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![user_id, after, limit], |r| {
            Ok(ImMessage {
                msg_id: r.get(0)?,
                from_id: r.get(1)?,
                to_group: r.get::<_, String>(2)? == "group",
                to_id: r.get(3)?,
                content_type: r.get(4)?,
                content: r.get(5)?,
                created_at: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("imadm.db")).unwrap();
        (dir, s)
    }

    fn fake_seal(p: &[u8], aad: &str) -> Vec<u8> {
        let mut v = aad.as_bytes().to_vec();
        v.extend(p.iter().map(|b| b ^ 0x55));
        v
    }

    fn user(name: &str) -> NewImUser {
        NewImUser {
            username: name.into(),
            password_hash: "h".into(),
            ..Default::default()
        }
    }

    #[test]
    fn ids_start_high_grow_and_are_never_reused() {
        let (_d, s) = store();
        let ids = s
            .create_im_users(&[user("a"), user("b"), user("a")], &fake_seal, 1, &|_| {})
            .unwrap();
        assert_eq!(ids[0], Some(USER_ID_BASE));
        assert_eq!(ids[1], Some(USER_ID_BASE + 1));
        assert_eq!(ids[2], None, "duplicate in the same batch");
        s.delete_im_users(&[USER_ID_BASE + 1]).unwrap().unwrap();
        let again = s
            .create_im_users(&[user("c")], &fake_seal, 2, &|_| {})
            .unwrap();
        assert_eq!(again[0], Some(USER_ID_BASE + 2));
    }

    #[test]
    fn keyset_pages_filter_by_state_and_unknown_ids_change_nothing() {
        let (_d, s) = store();
        let names: Vec<NewImUser> = (0..5).map(|i| user(&format!("u{i}"))).collect();
        let ids: Vec<i64> = s
            .create_im_users(&names, &fake_seal, 1, &|_| {})
            .unwrap()
            .into_iter()
            .map(Option::unwrap)
            .collect();
        assert_eq!(
            s.set_im_users_disabled(&[ids[1], 42], true, 2).unwrap(),
            Err(42)
        );
        assert!(s.im_users_after(0, 10, Some(true)).unwrap().is_empty());
        s.set_im_users_disabled(&[ids[1], ids[3]], true, 2)
            .unwrap()
            .unwrap();
        let disabled: Vec<i64> = s
            .im_users_after(0, 10, Some(true))
            .unwrap()
            .iter()
            .map(|u| u.user_id)
            .collect();
        assert_eq!(disabled, vec![ids[1], ids[3]]);
        let page = s.im_users_after(ids[1], 2, None).unwrap();
        assert_eq!(page.len(), 2);
        assert_eq!(page[0].user_id, ids[2]);
    }

    #[test]
    fn deleting_an_owner_removes_their_groups_and_messages() {
        let (_d, s) = store();
        let ids = s
            .create_im_users(&[user("a"), user("b")], &fake_seal, 1, &|_| {})
            .unwrap();
        let (a, b) = (ids[0].unwrap(), ids[1].unwrap());
        let (g, unknown) = s
            .create_im_group(a, 0, "g", None, &[b, 7], &fake_seal, 1)
            .unwrap();
        assert_eq!(unknown, vec![7]);
        assert_eq!(s.im_group(g).unwrap().unwrap().members, 2);
        s.send_im_messages(b, true, &[g], 0, "hi", &fake_seal, 1)
            .unwrap();
        s.send_im_messages(b, false, &[a], 0, "hi", &fake_seal, 1)
            .unwrap();
        assert_eq!(s.im_conversation(b, a, false, None, 10).unwrap().len(), 1);
        s.delete_im_users(&[a]).unwrap().unwrap();
        assert!(s.im_group(g).unwrap().is_none());
        assert!(s.im_conversation(b, g, true, None, 10).unwrap().is_empty());
        assert!(s.im_conversation(b, a, false, None, 10).unwrap().is_empty());
    }

    #[test]
    fn export_pages_cover_sent_received_and_own_group_messages_only() {
        let (_d, s) = store();
        let ids = s
            .create_im_users(&[user("a"), user("b"), user("c")], &fake_seal, 1, &|_| {})
            .unwrap();
        let (a, b, c) = (ids[0].unwrap(), ids[1].unwrap(), ids[2].unwrap());
        let (g, _) = s
            .create_im_group(b, 0, "g", None, &[a, c], &fake_seal, 1)
            .unwrap();
        let (g2, _) = s
            .create_im_group(a, 0, "h", None, &[], &fake_seal, 1)
            .unwrap();
        let mut mine = Vec::new();
        mine.extend(
            s.send_im_messages(a, false, &[b], 0, "1", &fake_seal, 1)
                .unwrap(),
        );
        s.send_im_messages(b, false, &[c], 0, "other", &fake_seal, 1)
            .unwrap();
        mine.extend(
            s.send_im_messages(c, false, &[a], 0, "2", &fake_seal, 1)
                .unwrap(),
        );
        mine.extend(
            s.send_im_messages(a, true, &[g], 0, "3", &fake_seal, 1)
                .unwrap(),
        );
        s.send_im_messages(b, true, &[g], 0, "theirs", &fake_seal, 1)
            .unwrap();
        mine.extend(
            s.send_im_messages(a, false, &[a], 0, "self", &fake_seal, 1)
                .unwrap(),
        );
        let mut seen = Vec::new();
        let mut after = 0;
        loop {
            let page = s.im_user_messages_after(a, after, 2).unwrap();
            if page.is_empty() {
                break;
            }
            after = page.last().unwrap().msg_id;
            seen.extend(page.iter().map(|m| m.msg_id));
        }
        assert_eq!(seen, mine);
        let groups: Vec<(i64, String)> = s
            .im_memberships_after(a, 0, 10)
            .unwrap()
            .into_iter()
            .map(|m| (m.group_id, m.role))
            .collect();
        assert_eq!(groups, vec![(g, "member".into()), (g2, "owner".into())]);
        assert_eq!(s.im_memberships_after(a, g, 10).unwrap().len(), 1);
    }
}
