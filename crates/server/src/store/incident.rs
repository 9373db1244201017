//! Persistence of incidents (`crate::incident`): the `incidents` rows (security state:
//! a restore merges them, `store::restore`) and their append-only timeline
//! (`incident_events`, history: a restore never rewinds it).
//!
//! Each write is one transaction with the request's audit event, and the check that the
//! incident is still open happens inside it, so an event can never be appended to an
//! incident closed meanwhile (SQLite: `sqlite::incident`).

use imadm_api::incident::{EventKind, Incident, IncidentDetail, IncidentEvent};

use super::Result;

/// What an append to a timeline (or a close) found.
#[derive(Debug, Clone, PartialEq)]
pub enum IncidentChange<T> {
    Done(T),
    NotFound,
    /// The incident is closed (at this RFC 3339 time); nothing changed.
    Closed(String),
}

/// Whose events a scope query reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An operator: its sessions and its service tokens (`<operator>#<id>`).
    Operator(String),
    /// A service token by id, whoever created it.
    Token(i64),
    /// Whatever came from this source address.
    Source(String),
}

/// The incident part of the store (a supertrait of `Store`).
pub trait IncidentStore {
    /// Insert an incident and its `opened` timeline entry; the request's audit event gets
    /// the new id as its target.
    fn open_incident(
        &self,
        title: &str,
        severity: &str,
        actor: &str,
        at_ms: i64,
    ) -> Result<Incident>;
    /// Incidents with `id > after`, ascending.
    fn incidents(&self, after: i64, limit: u32) -> Result<Vec<Incident>>;
    /// One incident with its whole timeline.
    fn incident(&self, id: i64) -> Result<Option<IncidentDetail>>;
    /// Append to the timeline of an open incident.
    fn record_incident_event(
        &self,
        id: i64,
        actor: &str,
        kind: EventKind,
        detail: &serde_json::Value,
        at_ms: i64,
    ) -> Result<IncidentChange<IncidentEvent>>;
    /// One keyset page (`seq > after`, ascending) of `p`'s audit events in a window.
    fn principal_events(
        &self,
        p: &Principal,
        since_ms: i64,
        until_ms: Option<i64>,
        after: u64,
        limit: u32,
    ) -> Result<Vec<imadm_api::audit::AuditEvent>>;
    /// Close an open incident with its summary (and a `closed` timeline entry).
    fn close_incident(
        &self,
        id: i64,
        actor: &str,
        summary: &str,
        at_ms: i64,
    ) -> Result<IncidentChange<Incident>>;
}
