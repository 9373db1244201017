//! Incidents (issue #20): a record that a breach response is under way (title,
//! severity, who opened it) and its append-only timeline (`incident_events`). Reading
//! needs `security:read`; opening, recording a step and closing need `security:manage`,
//! each audited (`incident.open`, `incident.record`, `incident.close`).
//!
//! The server writes the `opened` and `closed` entries itself; the CLI records the steps
//! it takes through other endpoints (a scope query, containment, each notification) with
//! a kind from a fixed list and a small JSON object as detail. A closed incident is
//! final: it accepts no new entries and cannot be closed again (a conflict, checked in
//! the writing transaction). IM users appear on a timeline only by id, never by name, and
//! the audit event of a recorded step carries only its kind, so no user id reaches the
//! audit log.

use imadm_api::admin::Page;
use imadm_api::codes;
use imadm_api::incident::{
    DETAIL_KEYS_MAX, Incident, IncidentClose, IncidentDetail, IncidentEvent, IncidentOpen,
    IncidentRecord, SUMMARY_MAX, Severity, TITLE_MAX,
};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::store::incident::IncidentChange;

/// The most incidents one page lists.
pub const MAX_PAGE: u32 = 1000;

/// `text` is 1 to `max` characters, not only white space, free of control characters
/// (line breaks and tabs allowed when `multiline`).
fn check_text(
    what: &str,
    text: &str,
    max: usize,
    multiline: bool,
    hint: &str,
) -> Result<(), ApiError> {
    if text.trim().is_empty() {
        return Err(ApiError::bad_request(format!("the {what} is empty")).hint(hint.to_owned()));
    }
    let n = text.chars().count();
    if n > max {
        return Err(ApiError::bad_request(format!(
            "the {what} has {n} characters, more than {max}"
        ))
        .hint(hint.to_owned()));
    }
    let allowed = |c: char| multiline && (c == '\n' || c == '\t');
    if text.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(
            ApiError::bad_request(format!("the {what} contains control characters"))
                .hint(hint.to_owned()),
        );
    }
    Ok(())
}

pub fn check_title(title: &str) -> Result<(), ApiError> {
    check_text(
        "title",
        title,
        TITLE_MAX,
        false,
        "1 to 200 characters on one line, e.g. --title \"leaked support token\"",
    )
}

pub fn check_summary(summary: &str) -> Result<(), ApiError> {
    check_text(
        "summary",
        summary,
        SUMMARY_MAX,
        true,
        "1 to 4000 characters: what happened and what was done",
    )
}

fn not_found(id: i64) -> ApiError {
    ApiError::new(codes::NOT_FOUND, format!("there is no incident #{id}"))
        .hint("list them with `imadm incident list`")
}

fn closed(id: i64, at: &str) -> ApiError {
    ApiError::new(
        codes::CONFLICT,
        format!("incident #{id} was closed at {at}; a closed incident takes no new steps"),
    )
    .hint("open a new incident with `imadm incident open --title ...` for further work")
}

impl AppState {
    pub fn open_incident(&self, c: &Caller, req: &IncidentOpen) -> Result<Incident, ApiError> {
        c.require("security:manage")?;
        check_title(&req.title)?;
        let severity = req.severity.unwrap_or(Severity::Medium);
        let (_, actor) = crate::audit::actor_of(c);
        Ok(self
            .store
            .open_incident(&req.title, severity.name(), &actor, crate::audit::now_ms())?)
    }

    pub fn incident_page(
        &self,
        c: &Caller,
        after: i64,
        limit: u32,
    ) -> Result<Page<Incident>, ApiError> {
        c.require("security:read")?;
        if limit == 0 || limit > MAX_PAGE {
            return Err(ApiError::bad_request(format!(
                "limit must be between 1 and {MAX_PAGE}, not {limit}"
            )));
        }
        let items = self.store.incidents(after, limit)?;
        let next_cursor = if items.len() as u32 == limit {
            items.last().map(|i| i.id.to_string())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    pub fn incident(&self, c: &Caller, id: i64) -> Result<IncidentDetail, ApiError> {
        c.require("security:read")?;
        self.store.incident(id)?.ok_or_else(|| not_found(id))
    }

    pub fn record_incident(
        &self,
        c: &Caller,
        id: i64,
        req: &IncidentRecord,
    ) -> Result<IncidentEvent, ApiError> {
        c.require("security:manage")?;
        if req.detail.len() > DETAIL_KEYS_MAX {
            return Err(ApiError::bad_request(format!(
                "the detail has {} keys, more than {DETAIL_KEYS_MAX}",
                req.detail.len()
            ))
            .hint("record counts, not lists"));
        }
        let (_, actor) = crate::audit::actor_of(c);
        let detail = serde_json::Value::Object(req.detail.clone());
        match self.store.record_incident_event(
            id,
            &actor,
            req.kind.into(),
            &detail,
            crate::audit::now_ms(),
        )? {
            IncidentChange::Done(ev) => Ok(ev),
            IncidentChange::NotFound => Err(not_found(id)),
            IncidentChange::Closed(at) => Err(closed(id, &at)),
        }
    }

    pub fn close_incident(
        &self,
        c: &Caller,
        id: i64,
        req: &IncidentClose,
    ) -> Result<Incident, ApiError> {
        c.require("security:manage")?;
        check_summary(&req.summary)?;
        let (_, actor) = crate::audit::actor_of(c);
        match self
            .store
            .close_incident(id, &actor, &req.summary, crate::audit::now_ms())?
        {
            IncidentChange::Done(i) => Ok(i),
            IncidentChange::NotFound => Err(not_found(id)),
            IncidentChange::Closed(at) => Err(closed(id, &at)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_one_bounded_line_and_summaries_may_span_lines() {
        assert!(check_title("leaked support token").is_ok());
        assert!(check_title(&"é".repeat(TITLE_MAX)).is_ok());
        for bad in ["", "  ", "two\nlines", "\u{1b}[2J", "c1\u{9b}"] {
            assert!(check_title(bad).is_err(), "{bad:?}");
        }
        assert!(check_title(&"x".repeat(TITLE_MAX + 1)).is_err());
        assert!(check_summary("token revoked\n\t32 users notified").is_ok());
        for bad in ["", "\n", "bell\u{7}"] {
            assert!(check_summary(bad).is_err(), "{bad:?}");
        }
        let e = check_summary(&"x".repeat(SUMMARY_MAX + 1)).unwrap_err();
        assert!(e.message.contains("4001 characters"), "{}", e.message);
    }
}
