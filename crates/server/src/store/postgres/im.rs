//! [`ImStore`] on PostgreSQL: the statements of `store/sqlite/im.rs` in PostgreSQL's
//! dialect. Ids come from the tables' identity sequences (`nextval` in the writing
//! transaction, started at the id bases by migration 0003): never reused, even after a
//! delete or a rollback, and known before the insert so the sealed columns can name
//! them. Every write ends with the request's audit event ([`PgStore::write`]).
//!
//! Where SQLite's single writer made check-then-insert safe, the insert itself decides
//! here: a username is claimed by `ON CONFLICT DO NOTHING` (a concurrent claim of the
//! same name waits for the first to commit, then finds it taken), a membership likewise.

use super::{Done, PgStore, PgTx};
use crate::UnixTime;
use crate::store::Result;
use crate::store::im::*;

const USER_COLUMNS: &str = "user_id, username, password_hash, disabled, nick_name, email, \
     mobile, created_at, updated_at, kicked_at";

const MESSAGE_COLUMNS: &str = "msg_id, from_id, to_type, to_id, content_type, content, created_at";

/// The password hash of an erased IM user (no password matches it), as on SQLite.
const ERASED_HASH: &str = "!erased";

fn user_row(r: &postgres::Row) -> Result<ImUser> {
    Ok(ImUser {
        user_id: r.try_get(0)?,
        username: r.try_get(1)?,
        password_hash: r.try_get(2)?,
        disabled: r.try_get::<_, i64>(3)? != 0,
        nick_name: r.try_get(4)?,
        email: r.try_get(5)?,
        mobile: r.try_get(6)?,
        created_at: r.try_get(7)?,
        updated_at: r.try_get(8)?,
        kicked_at: r.try_get(9)?,
    })
}

fn list_row(r: &postgres::Row) -> Result<ImUserRow> {
    Ok(ImUserRow {
        user_id: r.try_get(0)?,
        username: r.try_get(1)?,
        disabled: r.try_get::<_, i64>(2)? != 0,
        created_at: r.try_get(3)?,
    })
}

fn message_row(r: &postgres::Row) -> Result<ImMessage> {
    Ok(ImMessage {
        msg_id: r.try_get(0)?,
        from_id: r.try_get(1)?,
        to_group: r.try_get::<_, String>(2)? == "group",
        to_id: r.try_get(3)?,
        content_type: r.try_get::<_, i64>(4)? as i32,
        content: r.try_get(5)?,
        created_at: r.try_get(6)?,
    })
}

fn rows<T>(rows: Vec<postgres::Row>, f: fn(&postgres::Row) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(f).collect()
}

/// The next id of `table`'s identity column (`column`).
fn next_id(tx: &PgTx<'_>, table: &str, column: &str) -> Result<i64> {
    Ok(tx
        .query_one(
            "SELECT nextval(pg_get_serial_sequence($1, $2))",
            &[&table, &column],
        )?
        .try_get(0)?)
}

fn user_exists(tx: &PgTx<'_>, id: i64) -> Result<bool> {
    Ok(tx
        .query_opt("SELECT 1 FROM im_users WHERE user_id = $1", &[&id])?
        .is_some())
}

/// The first of `ids` with no user, after locking the rows of the others (so a
/// concurrent delete cannot make the all-or-nothing update touch fewer rows).
fn first_unknown(tx: &PgTx<'_>, ids: &[i64]) -> Result<Option<i64>> {
    for id in ids {
        if tx
            .query_opt(
                "SELECT 1 FROM im_users WHERE user_id = $1 FOR UPDATE",
                &[id],
            )?
            .is_none()
        {
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

/// One page of Lanying's `/user/list` (`im_users_page`, blocking or async).
const USERS_PAGE: &str = "SELECT user_id, username, disabled, created_at FROM im_users
                          ORDER BY user_id LIMIT $1 OFFSET $2";

fn page_offset(page_num: u32, page_size: u32) -> i64 {
    i64::from(page_num.max(1) - 1) * i64::from(page_size)
}

fn limit(n: u32) -> i64 {
    i64::from(n)
}

/// Erase IM user `user_id` (GDPR art. 17), as `sqlite::im::erase_rows`: the contents of
/// every message they sent, their memberships, their profile; the row stays as tombstone
/// `tombstone`. Returns (messages, memberships).
pub(crate) fn erase_rows(
    tx: &PgTx<'_>,
    user_id: i64,
    tombstone: &str,
    now: UnixTime,
) -> Result<(u64, u64)> {
    let messages = tx.execute(
        "UPDATE im_messages SET content = '\\x' WHERE from_id = $1",
        &[&user_id],
    )?;
    let memberships = tx.execute(
        "DELETE FROM im_group_members WHERE user_id = $1",
        &[&user_id],
    )?;
    tx.execute(
        "UPDATE im_users SET username = $2, password_hash = $4, disabled = 1,
             nick_name = NULL, email = NULL, mobile = NULL, updated_at = $3, kicked_at = $3
         WHERE user_id = $1",
        &[&user_id, &tombstone, &now, &ERASED_HASH],
    )?;
    Ok((messages, memberships))
}

impl ImStore for PgStore {
    fn create_im_users(
        &self,
        users: &[NewImUser],
        seal: Sealer<'_>,
        now: UnixTime,
        created: &dyn Fn(&[i64]),
    ) -> Result<Vec<Option<i64>>> {
        self.write(|tx| {
            let mut out = Vec::with_capacity(users.len());
            for u in users {
                // Taken names cost no id; the insert below still decides under concurrency.
                if tx
                    .query_opt("SELECT 1 FROM im_users WHERE username = $1", &[&u.username])?
                    .is_some()
                {
                    out.push(None);
                    continue;
                }
                let id = next_id(tx, "im_users", "user_id")?;
                let n = tx.execute(
                    "INSERT INTO im_users (user_id, username, password_hash, nick_name, email,
                         mobile, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
                     ON CONFLICT (username) DO NOTHING",
                    &[
                        &id,
                        &u.username,
                        &u.password_hash,
                        &seal_opt(seal, &u.nick_name, aad("im_users", id, "nick_name")),
                        &seal_opt(seal, &u.email, aad("im_users", id, "email")),
                        &seal_opt(seal, &u.mobile, aad("im_users", id, "mobile")),
                        &now,
                    ],
                )?;
                out.push((n == 1).then_some(id));
            }
            created(&out.iter().flatten().copied().collect::<Vec<_>>());
            Ok(Done::Commit(out))
        })
    }

    fn im_user(&self, user_id: i64) -> Result<Option<ImUser>> {
        self.conn()?
            .query_opt(
                &format!("SELECT {USER_COLUMNS} FROM im_users WHERE user_id = $1"),
                &[&user_id],
            )?
            .as_ref()
            .map(user_row)
            .transpose()
    }

    fn im_user_by_username(&self, username: &str) -> Result<Option<ImUser>> {
        self.conn()?
            .query_opt(
                &format!("SELECT {USER_COLUMNS} FROM im_users WHERE username = $1"),
                &[&username],
            )?
            .as_ref()
            .map(user_row)
            .transpose()
    }

    fn im_users_page(&self, page_num: u32, page_size: u32) -> Result<Vec<ImUserRow>> {
        let offset = page_offset(page_num, page_size);
        rows(
            self.read(USERS_PAGE, &[&limit(page_size), &offset])?,
            list_row,
        )
    }

    fn im_users_page_async(
        &self,
        page_num: u32,
        page_size: u32,
    ) -> Option<crate::store::AsyncRead<'_, Vec<ImUserRow>>> {
        Some(Box::pin(async move {
            let offset = page_offset(page_num, page_size);
            let found = self
                .reader
                .query(USERS_PAGE, &[&limit(page_size), &offset])
                .await?;
            rows(found, list_row).ok()
        }))
    }

    fn im_users_after(
        &self,
        after: i64,
        limit_: u32,
        disabled: Option<bool>,
    ) -> Result<Vec<ImUserRow>> {
        let disabled = disabled.map(i64::from);
        rows(
            self.read(
                "SELECT user_id, username, disabled, created_at FROM im_users
                 WHERE user_id > $1 AND ($3::BIGINT IS NULL OR disabled = $3)
                 ORDER BY user_id LIMIT $2",
                &[&after, &limit(limit_), &disabled],
            )?,
            list_row,
        )
    }

    fn set_im_users_disabled(
        &self,
        ids: &[i64],
        disabled: bool,
        now: UnixTime,
    ) -> Result<std::result::Result<(), i64>> {
        self.write(|tx| {
            if let Some(id) = first_unknown(tx, ids)? {
                return Ok(Done::Rollback(Err(id)));
            }
            for id in ids {
                tx.execute(
                    "UPDATE im_users SET disabled = $2, updated_at = $3 WHERE user_id = $1",
                    &[id, &i64::from(disabled), &now],
                )?;
            }
            Ok(Done::Commit(Ok(())))
        })
    }

    fn delete_im_users(&self, ids: &[i64]) -> Result<std::result::Result<u64, i64>> {
        self.write(|tx| {
            if let Some(id) = first_unknown(tx, ids)? {
                return Ok(Done::Rollback(Err(id)));
            }
            let mut n = 0;
            for id in ids {
                tx.execute(
                    "DELETE FROM im_messages WHERE from_id = $1 OR (to_type = 'user' AND to_id = $1)
                        OR (to_type = 'group' AND to_id IN
                            (SELECT group_id FROM im_groups WHERE owner_id = $1))",
                    &[id],
                )?;
                tx.execute("DELETE FROM im_groups WHERE owner_id = $1", &[id])?;
                n += tx.execute("DELETE FROM im_users WHERE user_id = $1", &[id])?;
            }
            Ok(Done::Commit(Ok(n)))
        })
    }

    fn erase_im_user(
        &self,
        user_id: i64,
        tombstone: &str,
        now: UnixTime,
    ) -> Result<Option<(u64, u64)>> {
        let counts = self.write(|tx| {
            if first_unknown(tx, &[user_id])?.is_some() {
                return Ok(Done::Rollback(None));
            }
            Ok(Done::Commit(Some(erase_rows(tx, user_id, tombstone, now)?)))
        })?;
        if counts.is_some() {
            // The old row versions stay in the heap until a vacuum prunes them (what
            // SQLite's secure_delete and WAL checkpoint do there); best effort, as there.
            // The WAL and its archives keep them until they are recycled.
            let _ = self
                .conn()?
                .batch_execute("VACUUM im_users, im_messages, im_group_members");
        }
        Ok(counts)
    }

    fn set_im_password(&self, user_id: i64, hash: &str, now: UnixTime) -> Result<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE im_users SET password_hash = $2, updated_at = $3, kicked_at = $3
                 WHERE user_id = $1",
                &[&user_id, &hash, &now],
            )?;
            Ok(if n == 1 {
                Done::Commit(true)
            } else {
                Done::Rollback(false)
            })
        })
    }

    fn kick_im_user(&self, user_id: i64, now: UnixTime) -> Result<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE im_users SET kicked_at = $2 WHERE user_id = $1",
                &[&user_id, &now],
            )?;
            Ok(if n == 1 {
                Done::Commit(true)
            } else {
                Done::Rollback(false)
            })
        })
    }

    fn im_user_group_count(&self, user_id: i64) -> Result<i64> {
        Ok(self
            .conn()?
            .query_one(
                "SELECT count(*) FROM im_group_members WHERE user_id = $1",
                &[&user_id],
            )?
            .try_get(0)?)
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
        self.write(|tx| {
            let id = next_id(tx, "im_groups", "group_id")?;
            let description = description
                .filter(|d| !d.is_empty())
                .map(|d| seal(d.as_bytes(), &aad("im_groups", id, "description")));
            tx.execute(
                "INSERT INTO im_groups (group_id, owner_id, kind, name, description, created_at,
                     updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $6)",
                &[
                    &id,
                    &owner,
                    &i64::from(kind),
                    &seal(name.as_bytes(), &aad("im_groups", id, "name")),
                    &description,
                    &now,
                ],
            )?;
            tx.execute(
                "INSERT INTO im_group_members (group_id, user_id, role, joined_at)
                 VALUES ($1, $2, 'owner', $3)",
                &[&id, &owner, &now],
            )?;
            let mut unknown = Vec::new();
            for m in members.iter().filter(|m| **m != owner) {
                if !user_exists(tx, *m)? {
                    unknown.push(*m);
                    continue;
                }
                tx.execute(
                    "INSERT INTO im_group_members (group_id, user_id, joined_at)
                     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    &[&id, m, &now],
                )?;
            }
            Ok(Done::Commit((id, unknown)))
        })
    }

    fn im_group(&self, group_id: i64) -> Result<Option<ImGroup>> {
        self.conn()?
            .query_opt(
                "SELECT group_id, owner_id, kind, name, description, created_at, updated_at,
                     (SELECT count(*) FROM im_group_members m WHERE m.group_id = g.group_id)
                 FROM im_groups g WHERE group_id = $1",
                &[&group_id],
            )?
            .map(|r| {
                Ok(ImGroup {
                    group_id: r.try_get(0)?,
                    owner_id: r.try_get(1)?,
                    kind: r.try_get::<_, i64>(2)? as i32,
                    name: r.try_get(3)?,
                    description: r.try_get(4)?,
                    created_at: r.try_get(5)?,
                    updated_at: r.try_get(6)?,
                    members: r.try_get(7)?,
                })
            })
            .transpose()
    }

    fn destroy_im_group(&self, group_id: i64) -> Result<bool> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM im_messages WHERE to_type = 'group' AND to_id = $1",
                &[&group_id],
            )?;
            let n = tx.execute("DELETE FROM im_groups WHERE group_id = $1", &[&group_id])?;
            Ok(Done::Commit(n == 1))
        })
    }

    fn add_im_members(
        &self,
        group_id: i64,
        users: &[i64],
        now: UnixTime,
    ) -> Result<Vec<MemberOutcome>> {
        self.write(|tx| {
            let mut out = Vec::with_capacity(users.len());
            for u in users {
                if !user_exists(tx, *u)? {
                    out.push(MemberOutcome::UnknownUser);
                    continue;
                }
                let n = tx.execute(
                    "INSERT INTO im_group_members (group_id, user_id, joined_at)
                     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    &[&group_id, u, &now],
                )?;
                out.push(if n == 1 {
                    MemberOutcome::Done
                } else {
                    MemberOutcome::AlreadyMember
                });
            }
            Ok(Done::Commit(out))
        })
    }

    fn remove_im_members(&self, group_id: i64, users: &[i64]) -> Result<Vec<MemberOutcome>> {
        self.write(|tx| {
            let mut out = Vec::with_capacity(users.len());
            for u in users {
                let role: Option<String> = tx
                    .query_opt(
                        "SELECT role FROM im_group_members WHERE group_id = $1 AND user_id = $2
                         FOR UPDATE",
                        &[&group_id, u],
                    )?
                    .map(|r| r.try_get(0))
                    .transpose()?;
                out.push(match role.as_deref() {
                    None if !user_exists(tx, *u)? => MemberOutcome::UnknownUser,
                    None => MemberOutcome::NotMember,
                    Some("owner") => MemberOutcome::IsOwner,
                    Some(_) => {
                        tx.execute(
                            "DELETE FROM im_group_members WHERE group_id = $1 AND user_id = $2",
                            &[&group_id, u],
                        )?;
                        MemberOutcome::Done
                    }
                });
            }
            Ok(Done::Commit(out))
        })
    }

    fn im_members_after(&self, group_id: i64, after: i64, limit_: u32) -> Result<Vec<(i64, i64)>> {
        self.conn()?
            .query(
                "SELECT user_id, joined_at FROM im_group_members
                 WHERE group_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3",
                &[&group_id, &after, &limit(limit_)],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
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
        self.write(|tx| {
            let mut ids = Vec::with_capacity(targets.len());
            for to in targets {
                let id = next_id(tx, "im_messages", "msg_id")?;
                tx.execute(
                    "INSERT INTO im_messages (msg_id, from_id, to_type, to_id, content_type,
                         content, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    &[
                        &id,
                        &from,
                        &if to_group { "group" } else { "user" },
                        to,
                        &i64::from(content_type),
                        &seal(content.as_bytes(), &aad("im_messages", id, "content")),
                        &now,
                    ],
                )?;
                ids.push(id);
            }
            Ok(Done::Commit(ids))
        })
    }

    fn im_conversation(
        &self,
        me: i64,
        opposite: i64,
        group: bool,
        before: Option<i64>,
        limit_: u32,
    ) -> Result<Vec<ImMessage>> {
        let before = before.unwrap_or(i64::MAX);
        let found = if group {
            self.conn()?.query(
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM im_messages
                     WHERE to_type = 'group' AND to_id = $1 AND msg_id < $2
                     ORDER BY msg_id DESC LIMIT $3"
                ),
                &[&opposite, &before, &limit(limit_)],
            )?
        } else {
            self.conn()?.query(
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM im_messages
                     WHERE to_type = 'user' AND msg_id < $3
                       AND ((from_id = $1 AND to_id = $2) OR (from_id = $2 AND to_id = $1))
                     ORDER BY msg_id DESC LIMIT $4"
                ),
                &[&me, &opposite, &before, &limit(limit_)],
            )?
        };
        rows(found, message_row)
    }

    fn im_memberships_after(
        &self,
        user_id: i64,
        after: i64,
        limit_: u32,
    ) -> Result<Vec<ImMembership>> {
        self.conn()?
            .query(
                "SELECT g.group_id, g.owner_id, g.kind, g.name, g.description, m.role, m.joined_at
                 FROM im_group_members m JOIN im_groups g ON g.group_id = m.group_id
                 WHERE m.user_id = $1 AND m.group_id > $2 ORDER BY m.group_id LIMIT $3",
                &[&user_id, &after, &limit(limit_)],
            )?
            .iter()
            .map(|r| {
                Ok(ImMembership {
                    group_id: r.try_get(0)?,
                    owner_id: r.try_get(1)?,
                    kind: r.try_get::<_, i64>(2)? as i32,
                    name: r.try_get(3)?,
                    description: r.try_get(4)?,
                    role: r.try_get(5)?,
                    joined_at: r.try_get(6)?,
                })
            })
            .collect()
    }

    fn im_user_messages_after(
        &self,
        user_id: i64,
        after: i64,
        limit_: u32,
    ) -> Result<Vec<ImMessage>> {
        // Two index range scans (im_messages_from, im_messages_to) merged by id: each page
        // reads at most `limit` rows from each, however large the table.
        rows(
            self.conn()?.query(
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM (
                         (SELECT * FROM im_messages WHERE from_id = $1 AND msg_id > $2
                          ORDER BY msg_id LIMIT $3)
                         UNION
                         (SELECT * FROM im_messages
                          WHERE to_type = 'user' AND to_id = $1 AND msg_id > $2
                          ORDER BY msg_id LIMIT $3)) m
                     ORDER BY msg_id LIMIT $3"
                ),
                &[&user_id, &after, &limit(limit_)],
            )?,
            message_row,
        )
    }
}
