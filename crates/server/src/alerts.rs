//! The alert workflow: an alert is `open` when raised (`audit.rs` rules), an operator
//! holding `security:manage` acknowledges it and resolves it, each time with a note.
//!
//! The states only move forward: `open → acknowledged → resolved`, or `open → resolved`
//! directly (a false positive needs no acknowledgement first). Acknowledging twice,
//! acknowledging a resolved alert or resolving twice is a conflict, checked and written in
//! one transaction (`Store::change_alert_state`), so two operators racing get one success
//! and one conflict. Each change is an append-only row (`alert_events`) and an audit
//! event (`alert.ack`, `alert.resolve`, the note as detail): evidence, so the note is
//! kept as typed, bounded in length, control characters refused.
//!
//! Nobody closes an alert their own actions raised (the actor of the alert, or a service
//! token of theirs): a second operator must look at it. Failed logins and lockouts name the
//! account attacked, not an actor, so its operator may close those.

use imadm_api::admin::Page;
use imadm_api::audit::{ALERT_ACKNOWLEDGED, ALERT_NOTE_MAX, ALERT_OPEN, ALERT_RESOLVED, Alert};
use imadm_api::codes;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::store::{AlertChanged, AlertFilter, AlertStateChange};

/// A state change an operator asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Acknowledge,
    Resolve,
}

impl Transition {
    /// The audit action.
    pub fn action(self) -> &'static str {
        match self {
            Transition::Acknowledge => "alert.ack",
            Transition::Resolve => "alert.resolve",
        }
    }

    fn to(self) -> &'static str {
        match self {
            Transition::Acknowledge => ALERT_ACKNOWLEDGED,
            Transition::Resolve => ALERT_RESOLVED,
        }
    }

    /// The states it may start from.
    fn from(self) -> &'static [&'static str] {
        match self {
            Transition::Acknowledge => &[ALERT_OPEN],
            Transition::Resolve => &[ALERT_OPEN, ALERT_ACKNOWLEDGED],
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Transition::Acknowledge => "acknowledge",
            Transition::Resolve => "resolve",
        }
    }
}

/// A note: 1 to [`ALERT_NOTE_MAX`] characters, not only white space, no control
/// characters but line breaks and tabs.
pub fn check_note(note: &str) -> Result<(), ApiError> {
    let hint =
        "write why, in 1 to 1000 characters, e.g. --note \"checked with alice: her new laptop\"";
    if note.trim().is_empty() {
        return Err(ApiError::bad_request("the note is empty").hint(hint));
    }
    let n = note.chars().count();
    if n > ALERT_NOTE_MAX {
        return Err(ApiError::bad_request(format!(
            "the note has {n} characters, more than {ALERT_NOTE_MAX}"
        ))
        .hint(hint));
    }
    if note
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(ApiError::bad_request("the note contains control characters").hint(hint));
    }
    Ok(())
}

/// The rules whose actor is the account someone failed to log in as, not anyone who
/// acted: the operator attacked may close those (on an install with one owner nobody else
/// could).
const RAISED_AGAINST: &[&str] = &["login_failures", "lockout"];

/// Whether `alert` was raised by `c`'s own actions: its actor is the operator, or one of
/// the operator's service tokens (`<operator>#<id>`).
fn raised_by(alert: &Alert, c: &Caller) -> bool {
    let me = c.operator.username.as_str();
    if RAISED_AGAINST.contains(&alert.rule.as_str()) {
        return false;
    }
    alert.actor == me
        || alert
            .actor
            .rsplit_once('#')
            .is_some_and(|(op, id)| op == me && id.bytes().all(|b| b.is_ascii_digit()))
}

impl AppState {
    /// One page of alerts (`security:read`).
    pub fn alert_page(&self, c: &Caller, f: &AlertFilter) -> Result<Page<Alert>, ApiError> {
        c.require("security:read")?;
        let items = self.store.alerts(f)?;
        let next_cursor = if items.len() as u32 == f.limit {
            items.last().map(|a| a.id.to_string())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// Acknowledge or resolve alert `id` with `note` (`security:manage`).
    pub fn change_alert_state(
        &self,
        c: &Caller,
        id: u64,
        t: Transition,
        note: &str,
    ) -> Result<Alert, ApiError> {
        c.require("security:manage")?;
        check_note(note)?;
        let not_found = || {
            ApiError::new(codes::NOT_FOUND, format!("there is no alert #{id}"))
                .hint("list them with `imadm audit alerts`")
        };
        let alert = self.store.alert(id)?.ok_or_else(not_found)?;
        if raised_by(&alert, c) {
            return Err(ApiError::new(
                codes::FORBIDDEN,
                format!(
                    "cannot {} alert #{id}: it was raised by your own actions ({:?})",
                    t.verb(),
                    alert.actor
                ),
            )
            .hint("another operator holding `security:manage` must look at it"));
        }
        let (_, actor) = crate::audit::actor_of(c);
        let change = AlertStateChange {
            id,
            from: t.from(),
            to: t.to(),
            actor: &actor,
            note,
            at_ms: crate::audit::now_ms(),
        };
        match self.store.change_alert_state(&change)? {
            AlertChanged::Changed(a) => Ok(*a),
            AlertChanged::NotFound => Err(not_found()),
            AlertChanged::Refused(current) => {
                let hint = match (t, current.as_str()) {
                    (_, ALERT_RESOLVED) => {
                        "a resolved alert stays resolved; a new incident raises a new alert"
                    }
                    _ => "it needs no second acknowledgement; resolve it once handled",
                };
                Err(ApiError::new(
                    codes::CONFLICT,
                    format!("cannot {} alert #{id}: it is already {current}", t.verb()),
                )
                .hint(hint))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_bounded_and_free_of_control_characters() {
        assert!(check_note("checked: a typo").is_ok());
        assert!(check_note("line one\n\tline two").is_ok());
        assert!(check_note(&"é".repeat(ALERT_NOTE_MAX)).is_ok());
        for bad in ["", "   \n", "\u{1b}[2Jclear", "bell\u{7}", "c1\u{9b}"] {
            assert!(check_note(bad).is_err(), "{bad:?}");
        }
        let e = check_note(&"x".repeat(ALERT_NOTE_MAX + 1)).unwrap_err();
        assert!(e.message.contains("1001 characters"), "{}", e.message);
    }
}
