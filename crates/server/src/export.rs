//! The GDPR art. 15 export of one IM user (`GET /admin/users/{user}/export`): who may
//! export, how the export is recorded, and the JSON document itself (docs/gdpr-export.md).
//!
//! Two steps. [`AppState::begin_user_export`] checks `user:export`, finds the user and
//! records the sensitive read `user.export` (target: the user's pseudonym) in the audit
//! log, fail-closed: if that write fails the request fails and nothing is sent.
//! [`AppState::write_user_export`] then writes the document page by page (keyset pages of
//! [`PAGE`] rows), so memory stays flat however many messages the user has. The closing
//! `}` is written last: a document cut off by an error is not valid JSON.

use std::io::{self, Write};

use imadm_api::audit::format_at;
use imadm_api::codes;
use imadm_api::im::{
    ExportAuditEvent, ExportMembership, ExportMessage, ExportProfile, USER_EXPORT_FORMAT,
    USER_EXPORT_VERSION,
};

use crate::AppState;
use crate::audit::EventFilter;
use crate::auth::{Caller, RequestCtx};
use crate::error::ApiError;
use crate::im::{ERASED_PREFIX, content_type_name, status_name};
use crate::store::im::{ImUser, aad};

/// Rows per keyset page.
pub const PAGE: u32 = 500;

/// What the streaming step needs, fixed when the export was recorded.
#[derive(Debug, Clone)]
pub struct ExportStart {
    pub user: ImUser,
    pub pseudonym: String,
    /// Audit events up to this sequence number (the export's own event included).
    pub audit_to: u64,
    /// Unix milliseconds when the export was recorded.
    pub at_ms: i64,
}

fn iso(secs: i64) -> String {
    format_at(secs.saturating_mul(1000))
}

fn io_err(e: ApiError) -> io::Error {
    io::Error::other(e.message)
}

impl AppState {
    /// Check the permission, find the user and record `user.export` before any data
    /// leaves. A refusal (no permission, unknown or erased user) is recorded too.
    pub fn begin_user_export(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        user: &str,
    ) -> Result<ExportStart, ApiError> {
        let mut ev = self.audit_event(ctx, Some(caller), "user.export", None);
        if let Err(e) = caller.require("user:export") {
            return self.audited(ev, || Err(e));
        }
        let found = match user.parse::<i64>() {
            Ok(id) => self.im.im_user(id),
            Err(_) => self.im.im_user_by_username(user),
        };
        let u = match found {
            Ok(Some(u)) => u,
            Ok(None) => {
                let e = ApiError::new(codes::USER_NOT_FOUND, format!("no IM user {user:?}"))
                    .hint("list users with `imadm user list`; USER is a user id or a username");
                return self.audited(ev, || Err(e));
            }
            Err(e) => return self.audited(ev, || Err(e.into())),
        };
        let pseudonym = self.audit_key.user_pseudonym(u.user_id);
        ev.target = Some(pseudonym.clone());
        if u.username.starts_with(ERASED_PREFIX) {
            let e = ApiError::new(
                codes::USER_NOT_FOUND,
                format!(
                    "IM user {} was erased (GDPR art. 17): nothing that identifies them is left to export",
                    u.user_id
                ),
            )
            .hint("an erased user's data cannot be exported; a backup taken before the erasure still holds it");
            return self.audited(ev, || Err(e));
        }
        self.audited(ev, || Ok(()))?;
        // After the event: the export lists its own record.
        let audit_to = self.store.audit_hash_at(None)?.map_or(0, |(seq, _)| seq);
        Ok(ExportStart {
            user: u,
            pseudonym,
            audit_to,
            at_ms: crate::audit::now_ms(),
        })
    }

    fn export_profile(&self, start: &ExportStart) -> Result<ExportProfile, ApiError> {
        let u = &start.user;
        let id = u.user_id;
        Ok(ExportProfile {
            user_id: id,
            username: u.username.clone(),
            status: status_name(&u.username, u.disabled).into(),
            nick_name: self.open_text(u.nick_name.as_deref(), &aad("im_users", id, "nick_name"))?,
            email: self.open_text(u.email.as_deref(), &aad("im_users", id, "email"))?,
            mobile: self.open_text(u.mobile.as_deref(), &aad("im_users", id, "mobile"))?,
            created_at: iso(u.created_at),
            updated_at: iso(u.updated_at),
            kicked_at: u.kicked_at.map(iso),
            pseudonym: start.pseudonym.clone(),
        })
    }

    /// Write the export document to `out`, one keyset page at a time.
    pub fn write_user_export<W: Write>(&self, start: &ExportStart, mut out: W) -> io::Result<()> {
        let id = start.user.user_id;
        let json = |v: &str| serde_json::to_string(v).map_err(io::Error::from);
        write!(
            out,
            "{{\"format\":{},\"version\":{USER_EXPORT_VERSION},\"exported_at\":{},\"server_id\":{},\"user\":",
            json(USER_EXPORT_FORMAT)?,
            json(&format_at(start.at_ms))?,
            json(&self.server_id)?,
        )?;
        serde_json::to_writer(&mut out, &self.export_profile(start).map_err(io_err)?)?;

        out.write_all(b",\"groups\":[")?;
        let (mut after, mut first) = (0i64, true);
        loop {
            let page = self
                .im
                .im_memberships_after(id, after, PAGE)
                .map_err(|e| io_err(e.into()))?;
            for m in &page {
                let g = m.group_id;
                let item = ExportMembership {
                    group_id: g,
                    name: self
                        .open_text(Some(&m.name), &aad("im_groups", g, "name"))
                        .map_err(io_err)?
                        .unwrap_or_default(),
                    description: self
                        .open_text(
                            m.description.as_deref(),
                            &aad("im_groups", g, "description"),
                        )
                        .map_err(io_err)?,
                    kind: m.kind,
                    role: m.role.clone(),
                    owner_id: m.owner_id,
                    joined_at: iso(m.joined_at),
                };
                if !std::mem::take(&mut first) {
                    out.write_all(b",")?;
                }
                serde_json::to_writer(&mut out, &item)?;
            }
            match page.last() {
                Some(m) if page.len() as u32 == PAGE => after = m.group_id,
                _ => break,
            }
        }

        out.write_all(b"],\"messages\":[")?;
        let (mut after, mut first) = (0i64, true);
        loop {
            let page = self
                .im
                .im_user_messages_after(id, after, PAGE)
                .map_err(|e| io_err(e.into()))?;
            for m in &page {
                let content = self
                    .open_text(Some(&m.content), &aad("im_messages", m.msg_id, "content"))
                    .map_err(io_err)?
                    .unwrap_or_default();
                let item = ExportMessage {
                    msg_id: m.msg_id,
                    direction: if m.from_id == id { "sent" } else { "received" }.into(),
                    from_user_id: m.from_id,
                    to_type: if m.to_group { "group" } else { "user" }.into(),
                    to_id: m.to_id,
                    content_type: content_type_name(m.content_type).into(),
                    content,
                    sent_at: iso(m.created_at),
                };
                if !std::mem::take(&mut first) {
                    out.write_all(b",")?;
                }
                serde_json::to_writer(&mut out, &item)?;
            }
            match page.last() {
                Some(m) if page.len() as u32 == PAGE => after = m.msg_id,
                _ => break,
            }
        }

        out.write_all(b"],\"devices\":[],\"audit_events\":[")?;
        let mut filter = EventFilter {
            to: Some(start.audit_to),
            target: Some(start.pseudonym.clone()),
            limit: PAGE,
            ..Default::default()
        };
        let mut first = true;
        loop {
            let page = self
                .store
                .audit_events(&filter)
                .map_err(|e| io_err(e.into()))?;
            for e in &page {
                let item = ExportAuditEvent {
                    seq: e.seq,
                    at: e.at.clone(),
                    actor_type: e.actor_type.clone(),
                    actor: e.actor.clone(),
                    action: e.action.clone(),
                    outcome: e.outcome.clone(),
                    detail: e.detail.clone(),
                    hash: e.hash.clone(),
                };
                if !std::mem::take(&mut first) {
                    out.write_all(b",")?;
                }
                serde_json::to_writer(&mut out, &item)?;
            }
            match page.last() {
                Some(e) if page.len() as u32 == PAGE => filter.after = e.seq,
                _ => break,
            }
        }
        out.write_all(b"]}\n")?;
        out.flush()
    }
}
