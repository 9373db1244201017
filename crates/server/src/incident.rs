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
//!
//! Also here, the two server-side steps of a breach response: the scope of a principal
//! (`security:read` and `audit:read`; its audit events in a window and the IM users it
//! read or exported, pseudonyms resolved only for `user:read`), and containment
//! (`security:manage` plus `operator:write` / `token:write`; sessions, tokens and
//! operators in one step-up request, each through `rbac::must_hold`, whoever holds more
//! than the caller skipped with the reason).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use imadm_api::admin::Page;
use imadm_api::codes;
use imadm_api::incident::{
    ActionCount, AffectedUser, CONTAIN_DISABLE_OPERATOR, CONTAIN_LIST_MAX, CONTAIN_REVOKE_SESSIONS,
    CONTAIN_REVOKE_TOKEN, ContainAction, ContainRequest, ContainResult, DETAIL_KEYS_MAX, EventKind,
    Incident, IncidentClose, IncidentDetail, IncidentEvent, IncidentOpen, IncidentRecord,
    IncidentScope, SCOPE_EVENTS_MAX, SUMMARY_MAX, Severity, TITLE_MAX,
};

use crate::AppState;
use crate::auth::{Caller, RequestCtx};
use crate::error::ApiError;
use crate::store::Operator;
use crate::store::incident::{IncidentChange, Principal};

/// Events read per store call, and IM users per page when resolving pseudonyms.
const SCOPE_PAGE: u32 = 1000;

/// The principal of a scope query, `actor:OP`, `token:ID` or `source:ADDR`.
pub fn parse_principal(s: &str) -> Result<Principal, ApiError> {
    let bad = || {
        ApiError::bad_request(format!(
            "principal {s:?} is not actor:OPERATOR, token:ID or source:ADDRESS"
        ))
        .hint("e.g. --token 7, --actor alice or --source 203.0.113.9")
    };
    let (kind, v) = s.split_once(':').ok_or_else(bad)?;
    if v.is_empty() || v.chars().any(char::is_control) {
        return Err(bad());
    }
    match kind {
        "actor" => Ok(Principal::Operator(v.to_owned())),
        "token" => v
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0 && v.bytes().all(|b| b.is_ascii_digit()))
            .map(Principal::Token)
            .ok_or_else(bad),
        "source" => Ok(Principal::Source(v.to_owned())),
        _ => Err(bad()),
    }
}

/// The `user:<pseudonym>` items of a target (a list target is comma-joined and may end in
/// `+N more`), and that N.
fn user_targets(target: &str) -> (Vec<&str>, u64) {
    let mut users = Vec::new();
    let mut more = 0;
    for t in target.split(',') {
        if t.starts_with("user:") {
            users.push(t);
        } else if let Some(n) = t.strip_prefix('+').and_then(|r| r.strip_suffix(" more")) {
            more += n.parse::<u64>().unwrap_or(0);
        }
    }
    (users, more)
}

/// What a containment does to one principal, once allowed.
#[derive(Debug, Clone, Copy)]
enum Act {
    /// End an operator's sessions but `keep`.
    Sessions {
        operator: i64,
        keep: Option<i64>,
    },
    Token(i64),
    Disable(i64),
}

/// A containment's plan: each line, and what to do when it is not skipped.
type Plan = Vec<(ContainAction, Option<Act>)>;

fn line(action: &str, principal: String, act: Result<Act, String>) -> (ContainAction, Option<Act>) {
    let (outcome, note, act) = match act {
        Ok(a) => ("would", None, Some(a)),
        Err(why) => ("skipped", Some(why), None),
    };
    (
        ContainAction {
            action: action.to_owned(),
            principal,
            outcome: outcome.to_owned(),
            note,
        },
        act,
    )
}

/// `revoke sessions of 3 operators, revoke 2 tokens, disable 1 operator, 1 skipped`.
fn plan_summary(plan: &Plan) -> String {
    let n = |a: &str| {
        plan.iter()
            .filter(|(l, act)| l.action == a && act.is_some())
            .count()
    };
    format!(
        "end sessions of {} operator(s), revoke {} token(s), disable {} operator(s), {} skipped",
        n(CONTAIN_REVOKE_SESSIONS),
        n(CONTAIN_REVOKE_TOKEN),
        n(CONTAIN_DISABLE_OPERATOR),
        plan.iter().filter(|(_, act)| act.is_none()).count()
    )
}

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

    /// What `principal` did in `[since_ms, until_ms]` and whose data it read or exported
    /// (`security:read` and `audit:read`). The events are read page by page; memory holds one page, the
    /// first [`SCOPE_EVENTS_MAX`] events and one entry per exposed user. Pseudonyms are
    /// resolved only for a caller holding `user:read`, by computing each IM user's
    /// pseudonym (a pass over the users, page by page), never written anywhere.
    pub fn incident_scope(
        &self,
        c: &Caller,
        principal: &str,
        since_ms: i64,
        until_ms: Option<i64>,
    ) -> Result<IncidentScope, ApiError> {
        c.require("security:read")?;
        // It lists audit events: whoever may not read the log may not read them here.
        c.require("audit:read")?;
        // An `until` before `since` is an empty window, not an error.
        let p = parse_principal(principal)?;
        let mut events = Vec::new();
        let mut total = 0u64;
        let mut actions: BTreeMap<(String, String), u64> = BTreeMap::new();
        let mut exposed: HashMap<String, (BTreeSet<String>, u64)> = HashMap::new();
        let mut unnamed = 0;
        let mut after = 0;
        loop {
            let page = self
                .store
                .principal_events(&p, since_ms, until_ms, after, SCOPE_PAGE)?;
            let full = page.len() as u32 == SCOPE_PAGE;
            for e in page {
                after = e.seq;
                total += 1;
                *actions
                    .entry((e.action.clone(), e.outcome.clone()))
                    .or_default() += 1;
                if crate::audit::SENSITIVE_READS.contains(&e.action.as_str())
                    && e.outcome == "success"
                    && let Some(t) = &e.target
                {
                    let (users, more) = user_targets(t);
                    unnamed += more;
                    for u in users {
                        let entry = exposed.entry(u.to_owned()).or_default();
                        entry.0.insert(e.action.clone());
                        entry.1 += 1;
                    }
                }
                if events.len() < SCOPE_EVENTS_MAX {
                    events.push(e);
                }
            }
            if !full {
                break;
            }
        }
        let resolved = c.permissions.iter().any(|p| p == "user:read");
        let mut users = Vec::with_capacity(exposed.len());
        if resolved && !exposed.is_empty() {
            let mut after = 0;
            loop {
                let page = self.im.im_users_after(after, SCOPE_PAGE, None)?;
                for u in &page {
                    let pseudonym = self.audit_key.user_pseudonym(u.user_id);
                    if let Some((exposure, n)) = exposed.remove(&pseudonym) {
                        users.push(AffectedUser {
                            pseudonym,
                            user_id: Some(u.user_id),
                            name: Some(u.username.clone()),
                            exposure: exposure.into_iter().collect(),
                            events: n,
                        });
                    }
                }
                match page.last() {
                    Some(last) if page.len() as u32 == SCOPE_PAGE && !exposed.is_empty() => {
                        after = last.user_id
                    }
                    _ => break,
                }
            }
        }
        let mut rest: Vec<_> = exposed
            .into_iter()
            .map(|(pseudonym, (exposure, n))| AffectedUser {
                pseudonym,
                user_id: None,
                name: None,
                exposure: exposure.into_iter().collect(),
                events: n,
            })
            .collect();
        rest.sort_by(|a, b| a.pseudonym.cmp(&b.pseudonym));
        users.extend(rest);
        Ok(IncidentScope {
            principal: principal.to_owned(),
            since: imadm_api::audit::format_at(since_ms),
            until: until_ms.map(imadm_api::audit::format_at),
            events_total: total,
            events,
            actions: actions
                .into_iter()
                .map(|((action, outcome), count)| ActionCount {
                    action,
                    outcome,
                    count,
                })
                .collect(),
            users,
            resolved,
            unnamed,
        })
    }

    /// The open incident `id`, or why not.
    fn open_incident_or_err(&self, id: i64) -> Result<(), ApiError> {
        match self.store.incident(id)? {
            None => Err(not_found(id)),
            Some(d) => match d.incident.closed_at {
                Some(at) => Err(closed(id, &at)),
                None => Ok(()),
            },
        }
    }

    /// Operators by the names given (deduplicated), the missing ones as skipped lines.
    fn operators_named(
        &self,
        action: &str,
        names: &[String],
        plan: &mut Plan,
    ) -> Result<Vec<Operator>, ApiError> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for name in names {
            match self.target(name) {
                Ok(op) if seen.insert(op.id) => out.push(op),
                Ok(_) => {}
                Err(e) if e.code == codes::NOT_FOUND => plan.push(line(
                    action,
                    format!("operator {name}"),
                    Err("no such operator".into()),
                )),
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    fn contain_plan(&self, c: &Caller, req: &ContainRequest) -> Result<Plan, ApiError> {
        let mut plan = Plan::new();
        let sessions_of = if req.sessions_all {
            let mut all = Vec::new();
            let mut after = 0;
            loop {
                let page = self.store.list_operators(after, SCOPE_PAGE)?;
                let full = page.len() as u32 == SCOPE_PAGE;
                after = page.last().map_or(after, |o| o.id);
                all.extend(page);
                if !full {
                    break;
                }
            }
            all
        } else {
            self.operators_named(CONTAIN_REVOKE_SESSIONS, &req.sessions, &mut plan)?
        };
        for op in sessions_of {
            let principal = format!("operator {}", op.username);
            if op.id == c.operator.id {
                let keep = c
                    .session
                    .as_ref()
                    .map(|s| s.id)
                    .filter(|_| req.keep_session);
                let mut l = line(
                    CONTAIN_REVOKE_SESSIONS,
                    principal,
                    Ok(Act::Sessions {
                        operator: op.id,
                        keep,
                    }),
                );
                l.0.note = Some(if keep.is_some() {
                    "your own: the session making this request is kept".into()
                } else {
                    "your own, including the session making this request".into()
                });
                plan.push(l);
                continue;
            }
            let allowed = self
                .check_may_act_on(c, &op, "end the sessions of")
                .map(|()| Act::Sessions {
                    operator: op.id,
                    keep: None,
                })
                .map_err(|e| e.message);
            plan.push(line(CONTAIN_REVOKE_SESSIONS, principal, allowed));
        }

        if req.tokens_all || !req.tokens.is_empty() {
            let now = crate::now();
            let live: Vec<_> = self
                .store
                .list_service_tokens()?
                .into_iter()
                .filter(|t| !t.revoked && t.expires_at > now)
                .collect();
            let wanted: BTreeSet<i64> = req.tokens.iter().copied().collect();
            for id in &wanted {
                if !live.iter().any(|t| t.id == *id) {
                    plan.push(line(
                        CONTAIN_REVOKE_TOKEN,
                        format!("token {id}"),
                        Err("no live service token with this id".into()),
                    ));
                }
            }
            for t in live
                .iter()
                .filter(|t| req.tokens_all || wanted.contains(&t.id))
            {
                let principal = format!("token {} ({}, of {})", t.id, t.name, t.created_by);
                // Your own tokens you may always revoke; someone else's only with all its
                // scopes (as `DELETE /admin/tokens/{id}`).
                let allowed = if t.created_by == c.operator.username {
                    Ok(Act::Token(t.id))
                } else {
                    crate::rbac::must_hold(&c.permissions, &t.scopes, |p| {
                        format!("it carries `{p}`, which you do not hold")
                    })
                    .map(|()| Act::Token(t.id))
                    .map_err(|e| e.message)
                };
                plan.push(line(CONTAIN_REVOKE_TOKEN, principal, allowed));
            }
        }

        for op in
            self.operators_named(CONTAIN_DISABLE_OPERATOR, &req.disable_operators, &mut plan)?
        {
            let principal = format!("operator {}", op.username);
            let allowed = if op.id == c.operator.id {
                Err("you cannot disable your own account".to_owned())
            } else if op.disabled {
                Err("already disabled".to_owned())
            } else {
                self.check_may_act_on(c, &op, "disable")
                    .map(|()| Act::Disable(op.id))
                    .map_err(|e| e.message)
            };
            plan.push(line(CONTAIN_DISABLE_OPERATOR, principal, allowed));
        }
        Ok(plan)
    }

    /// Contain incident `id`: end sessions, revoke tokens, disable operators
    /// (`security:manage`, and `operator:write` / `token:write` for what it touches;
    /// step-up unless a dry run). The plan is recorded on the timeline, in one transaction
    /// with the request's audit event, before anything is done: nothing happens that is
    /// not recorded.
    pub fn contain(
        &self,
        ctx: &RequestCtx,
        c: &Caller,
        otp: Option<&str>,
        id: i64,
        req: &ContainRequest,
    ) -> Result<ContainResult, ApiError> {
        c.require("security:manage")?;
        if req.sessions_all || !req.sessions.is_empty() || !req.disable_operators.is_empty() {
            c.require("operator:write")?;
        }
        if req.tokens_all || !req.tokens.is_empty() {
            c.require("token:write")?;
        }
        for (what, n) in [
            ("sessions", req.sessions.len()),
            ("tokens", req.tokens.len()),
            ("disable_operators", req.disable_operators.len()),
        ] {
            if n > CONTAIN_LIST_MAX {
                return Err(ApiError::bad_request(format!(
                    "{what} lists {n} entries, more than {CONTAIN_LIST_MAX}"
                ))
                .hint("use the `all` form, or split the containment"));
            }
        }
        self.open_incident_or_err(id)?;
        let mut plan = self.contain_plan(c, req)?;
        let summary = plan_summary(&plan);
        if req.dry_run {
            crate::audit::amend_pending(|e| e.detail = Some(format!("dry run: {summary}")));
            return Ok(ContainResult {
                dry_run: true,
                actions: plan.into_iter().map(|(l, _)| l).collect(),
            });
        }
        // Before the step-up: its own record may carry the request's event.
        crate::audit::amend_pending(|e| e.detail = Some(summary));
        self.step_up(ctx, c, otp, "containing an incident")?;
        let names = |a: &str, done: bool| -> Vec<String> {
            plan.iter()
                .filter(|(l, act)| l.action == a && act.is_some() == done)
                .map(|(l, _)| l.principal.clone())
                .collect()
        };
        let skipped: Vec<serde_json::Value> = plan
            .iter()
            .filter(|(_, act)| act.is_none())
            .map(|(l, _)| serde_json::json!({"action": l.action, "principal": l.principal, "why": l.note}))
            .collect();
        let detail = serde_json::json!({
            "revoke_sessions": names(CONTAIN_REVOKE_SESSIONS, true),
            "revoke_tokens": names(CONTAIN_REVOKE_TOKEN, true),
            "disable_operators": names(CONTAIN_DISABLE_OPERATOR, true),
            "kept_own_session": req.keep_session,
            "skipped": skipped,
        });
        let (_, actor) = crate::audit::actor_of(c);
        match self.store.record_incident_event(
            id,
            &actor,
            EventKind::Contain,
            &detail,
            crate::audit::now_ms(),
        )? {
            IncidentChange::Done(_) => {}
            IncidentChange::NotFound => return Err(not_found(id)),
            IncidentChange::Closed(at) => return Err(closed(id, &at)),
        }
        let now = crate::now();
        for (l, act) in &mut plan {
            let Some(act) = act else { continue };
            match *act {
                Act::Sessions { operator, keep } => {
                    self.store.revoke_operator_sessions(operator, keep, now)?
                }
                Act::Token(t) => {
                    self.store.revoke_service_token(t, now)?;
                }
                Act::Disable(op) => {
                    self.store.set_operator_disabled(op, true)?;
                    self.store.revoke_operator_sessions(op, None, now)?;
                }
            }
            l.outcome = "done".into();
        }
        Ok(ContainResult {
            dry_run: false,
            actions: plan.into_iter().map(|(l, _)| l).collect(),
        })
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
    fn principals_and_list_targets_parse() {
        assert_eq!(
            parse_principal("actor:alice").unwrap(),
            Principal::Operator("alice".into())
        );
        assert_eq!(parse_principal("token:7").unwrap(), Principal::Token(7));
        assert_eq!(
            parse_principal("source:203.0.113.9").unwrap(),
            Principal::Source("203.0.113.9".into())
        );
        for bad in [
            "",
            "alice",
            "actor:",
            "token:x",
            "token:+7",
            "token:0",
            "user:1",
            "source:\u{1b}",
        ] {
            assert!(parse_principal(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            user_targets("user:aa,user:bb,+3 more"),
            (vec!["user:aa", "user:bb"], 3)
        );
        assert_eq!(user_targets("group:4"), (vec![], 0));
    }

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
