//! Bodies of the incident endpoints (`/admin/incidents`): an incident record (title,
//! severity, who opened it, when, the closing summary) and its append-only timeline.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The longest title, in characters.
pub const TITLE_MAX: usize = 200;
/// The longest closing summary, in characters.
pub const SUMMARY_MAX: usize = 4000;
/// The most keys a timeline entry's detail object may have.
pub const DETAIL_KEYS_MAX: usize = 32;

/// How bad an incident is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ]
        .into_iter()
        .find(|v| v.name() == s)
    }
}

/// What a timeline entry records. `opened` and `closed` are written by the server itself;
/// the others by the CLI for a step it took through other endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Opened,
    Closed,
    /// A scope query (`incident scope --incident`): its counts.
    Scope,
    /// A containment action (`incident contain --apply`): what was done and skipped.
    Contain,
    /// A notification sent to one IM user (`incident notify`).
    Notify,
    /// Anything else worth keeping, e.g. a restore.
    Note,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Opened => "opened",
            EventKind::Closed => "closed",
            EventKind::Scope => "scope",
            EventKind::Contain => "contain",
            EventKind::Notify => "notify",
            EventKind::Note => "note",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            EventKind::Opened,
            EventKind::Closed,
            EventKind::Scope,
            EventKind::Contain,
            EventKind::Notify,
            EventKind::Note,
        ]
        .into_iter()
        .find(|v| v.name() == s)
    }
}

/// The kinds a client may record (`POST /admin/incidents/{id}/events`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    Scope,
    Contain,
    Notify,
    Note,
}

impl From<RecordKind> for EventKind {
    fn from(k: RecordKind) -> Self {
        match k {
            RecordKind::Scope => EventKind::Scope,
            RecordKind::Contain => EventKind::Contain,
            RecordKind::Notify => EventKind::Notify,
            RecordKind::Note => EventKind::Note,
        }
    }
}

/// `POST /admin/incidents`: open an incident.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IncidentOpen {
    /// 1-200 characters, not only white space, no control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub title: String,
    /// Default `medium`.
    #[serde(default)]
    pub severity: Option<Severity>,
}

/// `POST /admin/incidents/{id}/close`: what happened and what was done.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IncidentClose {
    /// 1-4000 characters, not only white space, no control characters but line breaks
    /// and tabs.
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x08\x0b-\x1f\x7f-\x9f]*$"
    )]
    pub summary: String,
}

/// `POST /admin/incidents/{id}/events`: a step taken through other endpoints.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IncidentRecord {
    pub kind: RecordKind,
    /// A JSON object of at most 32 keys (counts, names, what was skipped and why).
    #[schema(schema_with = detail_schema)]
    pub detail: serde_json::Map<String, serde_json::Value>,
}

/// A JSON object of at most [`DETAIL_KEYS_MAX`] keys.
fn detail_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Object)
        .max_properties(Some(DETAIL_KEYS_MAX))
        .build()
}

/// One incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Incident {
    pub id: i64,
    pub title: String,
    pub severity: String,
    pub opened_by: String,
    /// RFC 3339.
    pub opened_at: String,
    /// RFC 3339; absent while the incident is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

impl Incident {
    pub fn state(&self) -> &'static str {
        if self.closed_at.is_some() {
            "closed"
        } else {
            "open"
        }
    }
}

/// One entry of an incident's timeline (append-only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IncidentEvent {
    /// 1, 2, 3 … within the incident.
    pub seq: u32,
    /// RFC 3339.
    pub at: String,
    /// The operator, or `<operator>#<token id>`.
    pub actor: String,
    pub kind: EventKind,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// `GET /admin/incidents/{id}`: the incident and its timeline, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub incident: Incident,
    pub events: Vec<IncidentEvent>,
}

/// The most events an [`IncidentScope`] lists (all are counted).
pub const SCOPE_EVENTS_MAX: usize = 1000;

/// `GET /admin/incidents/scope`: what one principal did in a window, and whose data it
/// read or exported.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IncidentScope {
    /// `actor:<operator>` (its sessions and its tokens), `token:<id>` or `source:<address>`.
    pub principal: String,
    /// RFC 3339.
    pub since: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Every event of the principal in the window.
    pub events_total: u64,
    /// The first [`SCOPE_EVENTS_MAX`] of them, oldest first.
    pub events: Vec<crate::audit::AuditEvent>,
    /// Counts per action and outcome.
    pub actions: Vec<ActionCount>,
    /// The IM users whose data it read or exported, by id (ascending; unresolved last).
    pub users: Vec<AffectedUser>,
    /// Whether pseudonyms were resolved to user ids and names (the caller holds
    /// `user:read`).
    pub resolved: bool,
    /// Users an event counted but did not name (a list target cut at its first 20).
    pub unnamed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ActionCount {
    pub action: String,
    pub outcome: String,
    pub count: u64,
}

/// One IM user whose data a principal read or exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AffectedUser {
    /// As the audit log names them: `user:<16 hex>`.
    pub pseudonym: String,
    /// Absent when not resolved, or when no user has the pseudonym any more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The actions that exposed it (`message.read`, `user.export`), sorted.
    pub exposure: Vec<String>,
    /// How many such events.
    pub events: u64,
}

/// The most names or ids a containment list may hold.
pub const CONTAIN_LIST_MAX: usize = 1000;

/// `POST /admin/incidents/{id}/contain`: end sessions, revoke tokens, disable operators,
/// in one step-up request (one TOTP code), each through the who-may-act-on-whom rules.
/// A principal the caller may not act on is skipped, with the reason, not an error; an
/// empty request does nothing.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ContainRequest {
    /// End the sessions of every operator.
    #[serde(default)]
    pub sessions_all: bool,
    /// End the sessions of these operators (usernames).
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub sessions: Vec<String>,
    /// Revoke every live service token.
    #[serde(default)]
    pub tokens_all: bool,
    /// Revoke these service tokens (ids; integral floats taken, like the other ids).
    #[serde(default, deserialize_with = "crate::lenient::vec_i64")]
    #[schema(max_items = 1000)]
    pub tokens: Vec<i64>,
    /// Disable these operators (usernames); their sessions end too.
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub disable_operators: Vec<String>,
    /// Keep the session making this request when ending the caller's own sessions
    /// (default true).
    #[serde(default = "yes")]
    pub keep_session: bool,
    /// Only say what would be done (no step-up needed).
    #[serde(default)]
    pub dry_run: bool,
}

fn yes() -> bool {
    true
}

pub const CONTAIN_REVOKE_SESSIONS: &str = "revoke_sessions";
pub const CONTAIN_REVOKE_TOKEN: &str = "revoke_token";
pub const CONTAIN_DISABLE_OPERATOR: &str = "disable_operator";

/// One thing a containment did, would do, or skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ContainAction {
    /// `revoke_sessions`, `revoke_token` or `disable_operator`.
    pub action: String,
    /// `operator <name>` or `token <id> (<name>, of <operator>)`.
    pub principal: String,
    /// `done`, `would` (dry run) or `skipped`.
    pub outcome: String,
    /// Why it was skipped, or a note (`the session making this request is kept`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ContainResult {
    pub dry_run: bool,
    pub actions: Vec<ContainAction>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_severities_round_trip_under_their_wire_names() {
        for k in [
            EventKind::Opened,
            EventKind::Closed,
            EventKind::Scope,
            EventKind::Contain,
            EventKind::Notify,
            EventKind::Note,
        ] {
            assert_eq!(EventKind::parse(k.name()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.name());
        }
        for s in [
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ] {
            assert_eq!(Severity::parse(s.name()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.name());
        }
        // A client records only its own kinds; `opened` and `closed` are the server's.
        assert!(serde_json::from_str::<RecordKind>("\"opened\"").is_err());
        let c: ContainRequest = serde_json::from_str(r#"{"tokens": [3.0, 4]}"#).unwrap();
        assert_eq!(
            (c.tokens, c.keep_session, c.dry_run),
            (vec![3, 4], true, false)
        );
    }
}
