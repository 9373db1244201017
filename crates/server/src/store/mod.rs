//! Persistence behind one seam, so the service layer never sees SQL or a driver.
//!
//! The seam is a set of object-safe traits, one per area, each held by `AppState` as an
//! `Arc<dyn …>`: [`Store`] (operators, MFA, sessions, RBAC, tokens, the audit log and
//! alerts; with its supertrait [`incident::IncidentStore`]), [`im::ImStore`],
//! [`notify::NotifyStore`], [`keys::KeyStore`], [`restore::BackupStore`] (snapshot and
//! staged restore), [`throttle::ThrottleStore`] (login throttling's counters) and
//! [`approval::ApprovalStore`] (browser approvals). A backend implements them all, and
//! [`Backend`], which is all of them plus what the server configures at start; [`sqlite`]
//! and [`postgres`] are the two, and `lib.rs` (`open_data_dir`) is the one place that
//! names them. Traits rather than an enum
//! of backends: each backend stays in its own modules with its own migrations and
//! driver, nothing matches on the backend in every method, and the services and tests
//! already take `dyn` stores.
//!
//! The audit log is written once for every backend ([`audit`]): the chain append, the
//! request's parked event and the alert rules run over [`audit::AuditTx`], a few
//! statements a backend provides inside its own write transaction, which its commit
//! helper ends with the parked event (fail-closed). What a restore keeps, the report and
//! the snapshot's authentication are [`restore`]'s, the same on every backend.
//!
//! The methods speak in plain records and are synchronous: handlers run them on tokio's
//! blocking pool. Each method is one transaction, which is what makes the security rules
//! (replay of TOTP steps, refresh-token rotation) race-free: they are compare-and-set
//! updates, not read-then-write sequences in Rust.

pub mod approval;
pub mod audit;
pub mod im;
pub mod incident;
pub mod keys;
pub mod notify;
pub mod passkey;
pub mod postgres;
pub mod restore;
pub mod sqlite;
pub mod throttle;

use crate::UnixTime;
use imadm_api::admin::{Role, ServiceToken};

/// A read on the async runtime ([`im::ImStore::im_users_page_async`]): `None` when it
/// cannot be done now (then read the blocking way, which reports any error).
pub type AsyncRead<'a, T> = futures_util::future::BoxFuture<'a, Option<T>>;

/// [`Backend::epoch_async`]'s answer.
pub type EpochFuture<'a> = futures_util::future::BoxFuture<'a, u64>;

/// One database holding everything a server runs on: `DataDir` keeps it as one
/// `Arc<dyn Backend>`, and `AppState` as the trait objects of its areas.
pub trait Backend:
    Store
    + im::ImStore
    + notify::NotifyStore
    + keys::KeyStore
    + restore::BackupStore
    + throttle::ThrottleStore
    + approval::ApprovalStore
{
    /// Use `rules` for the alerts of every event written from now on; the notification
    /// routes stay as they are.
    fn set_alert_rules(&self, rules: audit::AlertRules);
    /// Queue alerts for `routes` from now on (the notification config, reloaded on SIGHUP).
    fn set_notify_routes(&self, routes: Vec<notify::Route>);
    /// `sqlite` or `postgresql` (`GET /admin/instance`).
    fn kind(&self) -> &'static str;
    /// Whether a read is quick enough to run on an async worker thread (a local file);
    /// false for a backend whose calls wait on the network.
    fn reads_inline(&self) -> bool;
    /// For a backend that does not read inline: the epoch ([`Store::epoch`]) read without
    /// blocking an async worker, so a request whose session is cached needs no thread
    /// hand-off. `None`: read it on a blocking thread.
    fn epoch_async(&self) -> Option<EpochFuture<'_>> {
        None
    }
    /// The schema version the database is at (open migrates it to the latest one).
    fn schema_version(&self) -> u32;
    /// This instance's candidacy for `duty`, a background job only one instance on the
    /// database may do at a time (an audit sink's delivery, a notification channel's).
    fn lease(&self, duty: &str) -> Box<dyn Lease>;
    /// This process's hold on the database as a whole: shared by every serving instance,
    /// `exclusive` for an offline operation no instance may run beside (`rotate-key`,
    /// `rotate-audit-key`). Taken by the first [`InstanceLock::check`].
    fn instance_lock(&self, exclusive: bool) -> Box<dyn InstanceLock>;
}

/// A hold on the database ([`Backend::instance_lock`]), given up when dropped.
pub trait InstanceLock: Send {
    /// Take the hold if this process does not have it yet (or lost it with its
    /// connection), without waiting; then whether it has it.
    fn check(&mut self) -> Hold;
}

/// What [`InstanceLock::check`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    Held,
    /// Another process holds the database the conflicting way (an instance serving, for
    /// an exclusive hold; an offline operation, for a shared one).
    Refused,
    /// The database could not be asked.
    Unreachable(String),
}

/// The instance lock of a backend that is one process (SQLite: the data-dir lock, taken
/// first, already keeps every other process out): always held.
pub struct SoleInstance;

impl InstanceLock for SoleInstance {
    fn check(&mut self) -> Hold {
        Hold::Held
    }
}

/// One instance's candidacy for a background duty ([`Backend::lease`]); the lead is
/// given up when it is dropped.
pub trait Lease: Send {
    /// Whether this instance holds the duty now: taken when free, kept while the
    /// database connection holding it lives. False while another instance has it (or
    /// the database cannot be reached): do not do the duty.
    fn held(&mut self) -> bool;
}

/// The lease of a backend that is one process (SQLite: the data dir is locked to it):
/// always held.
pub struct SoleLease;

impl Lease for SoleLease {
    fn held(&mut self) -> bool {
        true
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    Conflict(String),
    /// The change would break an invariant (e.g. remove the last owner); nothing changed.
    #[error("{0}")]
    Refused(String),
    #[error("database error: {0}")]
    Backend(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A store error as the API reports it: the database's detail goes to the server log,
/// not to the client. Here rather than in `error.rs`, so that the store depends on the
/// error type (a restore's refusals are `ApiError`s) and not the other way round.
impl From<StoreError> for crate::error::ApiError {
    fn from(e: StoreError) -> Self {
        use crate::error::ApiError;
        use imadm_api::codes;
        match e {
            StoreError::Conflict(what) => {
                ApiError::new(codes::CONFLICT, format!("{what} already exists"))
            }
            StoreError::Refused(msg) => ApiError::new(codes::CONFLICT, msg),
            StoreError::Backend(msg) => {
                tracing::error!(error = %msg, "store failure");
                ApiError::new(codes::DATABASE_ERROR, "the server's database failed")
                    .hint("retry; if it persists, check the server log")
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Operator {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub must_change_password: bool,
    pub disabled: bool,
    /// TOTP secret sealed with the server key (AAD [`totp_aad`]).
    pub totp_secret: Option<Vec<u8>>,
    /// A secret being enrolled, not yet confirmed with a code.
    pub totp_pending: Option<Vec<u8>>,
    pub last_totp_step: Option<u64>,
    /// Unused since login throttling moved to memory (`throttle.rs`); kept in the schema.
    pub failed_attempts: u32,
    /// Unused, like `failed_attempts`.
    pub locked_until: Option<UnixTime>,
    pub created_at: UnixTime,
    pub last_login_at: Option<UnixTime>,
}

/// An operator and every role it holds: what the rules on role changes check against.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleHolder {
    pub id: i64,
    pub username: String,
    pub roles: Vec<String>,
}

/// Associated data binding a sealed TOTP secret to its operator row.
pub fn totp_aad(operator_id: i64) -> String {
    format!("operators:{operator_id}:totp_secret")
}

/// Associated data binding the sealed token pair of a refresh grace window to its session.
pub fn grace_aad(session_id: i64) -> String {
    format!("sessions:{session_id}:grace_tokens")
}

#[derive(Debug, Clone)]
pub struct Session {
    pub id: i64,
    pub operator_id: i64,
    pub access_expires_at: UnixTime,
    pub refresh_expires_at: UnixTime,
    pub absolute_expires_at: UnixTime,
    pub restrictions: Vec<String>,
    pub revoked: bool,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub operator_id: i64,
    pub access_hash: String,
    pub access_expires_at: UnixTime,
    pub refresh_hash: String,
    pub refresh_expires_at: UnixTime,
    pub absolute_expires_at: UnixTime,
    pub restrictions: Vec<String>,
    pub source_addr: Option<String>,
}

/// New token hashes and expiries for a refresh-token rotation.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub access_hash: String,
    pub access_expires_at: UnixTime,
    pub refresh_hash: String,
    /// Idle expiry; the store caps it at the session's absolute expiry.
    pub refresh_expires_at: UnixTime,
}

/// The pair a rotation issues, kept for the grace window in which the refresh token it
/// replaces may be presented again (`auth::Policy::refresh_grace`).
pub struct Grace<'a> {
    /// The previous refresh token gets the same pair while `now < until`; `until <= now`
    /// keeps nothing.
    pub until: UnixTime,
    /// Seal the new pair for the session with this id (the id is the associated data, see
    /// [`grace_aad`]); the store never sees it in clear.
    pub seal: &'a dyn Fn(i64) -> Vec<u8>,
}

#[derive(Debug)]
pub enum RotateOutcome {
    Rotated(Session),
    /// The refresh token this session just rotated away, presented again within the grace
    /// window: `sealed` is the pair that rotation issued, to be handed out again. Nothing
    /// changed.
    Grace {
        session: Session,
        sealed: Vec<u8>,
    },
    /// The token was valid once but has been rotated away: someone replayed it. The
    /// store has revoked the whole session (the legitimate holder must log in again).
    Reused {
        session_id: i64,
        operator_id: i64,
    },
    /// Unknown, expired or revoked.
    Invalid,
}

/// What authenticating a service token needs to know about it.
#[derive(Debug, Clone)]
pub struct LiveServiceToken {
    pub id: i64,
    pub created_by: i64,
    pub expires_at: UnixTime,
    pub scopes: Vec<String>,
}

pub struct NewServiceToken {
    pub name: String,
    pub token_hash: String,
    pub created_by: i64,
    pub expires_at: UnixTime,
    pub scopes: Vec<String>,
}

/// One entry of the append-only authentication event log. Never holds a secret.
#[derive(Debug, Clone, Default)]
pub struct AuthEvent {
    pub operator_id: Option<i64>,
    pub username: Option<String>,
    pub event: String,
    pub outcome: String,
    pub source_addr: Option<String>,
    pub request_id: Option<String>,
    pub detail: Option<String>,
}

#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub id: i64,
    pub at: UnixTime,
    pub event: AuthEvent,
}

pub trait Store: Send + Sync + 'static + incident::IncidentStore + passkey::PasskeyStore {
    /// A counter that changes after every committed write (and on [`Store::bump_epoch`]):
    /// caches of what the database says (the authentication cache) are valid only while it
    /// stays the same.
    fn epoch(&self) -> u64;
    /// Invalidate such caches after the data changed behind the store's back (a restore).
    fn bump_epoch(&self);
    fn setting(&self, key: &str) -> Result<Option<String>>;
    fn set_setting(&self, key: &str, value: &str) -> Result<()>;

    // --- operators ---
    fn create_operator(
        &self,
        username: &str,
        password_hash: &str,
        must_change_password: bool,
        roles: &[&str],
        now: UnixTime,
    ) -> Result<i64>;
    fn operator_by_username(&self, username: &str) -> Result<Option<Operator>>;
    fn operator_by_id(&self, id: i64) -> Result<Option<Operator>>;
    fn operator_count(&self) -> Result<u64>;
    /// A completed login from `addr` (as `throttle::Addr` prints it): stamp the login
    /// time and remember the address, keeping the `keep` most recent ones.
    fn login_succeeded(&self, id: i64, addr: &str, keep: usize, now: UnixTime) -> Result<()>;
    /// Whether operator `id` completed a login from `addr` at or after `since`.
    fn is_known_address(&self, id: i64, addr: &str, since: UnixTime) -> Result<bool>;
    fn set_password(&self, id: i64, hash: &str, must_change: bool) -> Result<()>;
    fn operator_roles(&self, id: i64) -> Result<Vec<String>>;
    /// `(operator id, address)` of each operator's most recent completed login.
    fn last_login_addresses(&self) -> Result<Vec<(i64, String)>>;
    fn operator_permissions(&self, id: i64) -> Result<Vec<String>>;

    // --- MFA ---
    /// Mark `step` used if it is later than the last used step; false means replay.
    fn consume_totp_step(&self, id: i64, step: u64) -> Result<bool>;
    /// Lower the last used step to `max` if it is beyond (clock skew, see `totp.rs`).
    fn cap_totp_step(&self, id: i64, max: u64) -> Result<()>;
    fn set_pending_totp(&self, id: i64, sealed: &[u8]) -> Result<()>;
    /// Promote the pending secret, record `step` as used, replace the recovery codes.
    fn activate_totp(&self, id: i64, step: u64, recovery_hashes: &[String]) -> Result<bool>;
    fn replace_recovery_codes(&self, id: i64, recovery_hashes: &[String]) -> Result<()>;
    /// Spend a recovery code; false if unknown or already used.
    fn use_recovery_code(&self, id: i64, hash: &str, now: UnixTime) -> Result<bool>;
    fn recovery_codes_left(&self, id: i64) -> Result<u32>;
    /// Remove operator `id`'s TOTP secret and recovery codes; with `keep_last_factor`, not
    /// when it is the operator's last second factor (no passkey): `Removal::LastFactor`,
    /// nothing changed. Checked inside the writing transaction (on PostgreSQL under the
    /// operator's row lock, like `remove_passkey`), so this and a removal of the last
    /// passkey at once cannot both pass.
    fn disable_totp(&self, id: i64, keep_last_factor: bool) -> Result<passkey::Removal>;
    /// Set an active secret directly (dev bootstrap only), clearing any pending one.
    fn set_totp_secret(&self, id: i64, sealed: &[u8]) -> Result<()>;
    fn create_mfa_challenge(
        &self,
        hash: &str,
        operator_id: i64,
        expires_at: UnixTime,
    ) -> Result<()>;
    /// The operator a live challenge belongs to.
    fn mfa_challenge(&self, hash: &str, now: UnixTime) -> Result<Option<i64>>;
    fn delete_mfa_challenge(&self, hash: &str) -> Result<()>;

    // --- sessions ---
    fn create_session(&self, s: &NewSession, now: UnixTime) -> Result<i64>;
    fn session_by_access_hash(&self, hash: &str) -> Result<Option<Session>>;
    /// Rotate the session whose refresh token hashes to `refresh_hash`, keeping the new
    /// pair sealed for `grace` (and dropping every grace pair whose window has passed).
    /// The token rotated away just before, presented again, gets [`RotateOutcome::Grace`]
    /// inside its window and revokes the session after it.
    fn rotate_refresh(
        &self,
        refresh_hash: &str,
        r: &Rotation,
        now: UnixTime,
        grace: &Grace<'_>,
    ) -> Result<RotateOutcome>;
    /// Drop the sealed pairs of grace windows that ended at or before `now`.
    fn clear_refresh_grace(&self, now: UnixTime) -> Result<()>;
    /// Replace a session's tokens and restrictions (after MFA enrolment lifts them). The
    /// replaced refresh token gets no grace window.
    fn upgrade_session(&self, id: i64, r: &Rotation, restrictions: &[String]) -> Result<()>;
    fn revoke_session(&self, id: i64, now: UnixTime) -> Result<()>;
    /// Revoke every live session of an operator, except `keep` (the caller's own).
    fn revoke_operator_sessions(
        &self,
        operator_id: i64,
        keep: Option<i64>,
        now: UnixTime,
    ) -> Result<()>;

    // --- RBAC administration ---
    fn list_roles(&self) -> Result<Vec<Role>>;
    fn role(&self, name: &str) -> Result<Option<Role>>;
    /// Create, replace and delete custom roles in one transaction. Built-in roles are
    /// refused; deleting a role an operator still holds is refused.
    fn write_roles(&self, upserts: &[Role], deletes: &[String]) -> Result<()>;
    fn list_operators(&self, after_id: i64, limit: u32) -> Result<Vec<Operator>>;
    /// Every operator holding at least one role, with all its roles (disabled ones too).
    fn role_holders(&self) -> Result<Vec<RoleHolder>>;
    /// Grant and revoke roles; refused (nothing changes) if no enabled owner would remain.
    fn change_roles(&self, operator_id: i64, grant: &[String], revoke: &[String]) -> Result<()>;
    /// Refused if it would disable the last enabled owner.
    fn set_operator_disabled(&self, operator_id: i64, disabled: bool) -> Result<()>;
    /// Refused if it would delete the last enabled owner.
    fn delete_operator(&self, operator_id: i64) -> Result<()>;

    // --- service tokens ---
    fn create_service_token(&self, t: &NewServiceToken, now: UnixTime) -> Result<i64>;
    /// A live (unrevoked, unexpired) token by hash.
    fn service_token_by_hash(&self, hash: &str, now: UnixTime) -> Result<Option<LiveServiceToken>>;
    /// Record a use; returns the address it was last used from before this one.
    fn touch_service_token(
        &self,
        id: i64,
        addr: Option<&str>,
        now: UnixTime,
    ) -> Result<Option<String>>;
    fn list_service_tokens(&self) -> Result<Vec<ServiceToken>>;
    /// One token by id, revoked or not.
    fn service_token(&self, id: i64) -> Result<Option<ServiceToken>>;
    /// False if there was no such live token.
    fn revoke_service_token(&self, id: i64, now: UnixTime) -> Result<bool>;

    // --- events ---
    fn append_event(&self, e: &AuthEvent, now: UnixTime) -> Result<()>;
    /// The newest `limit` events, newest first.
    fn recent_events(&self, limit: u32) -> Result<Vec<StoredEvent>>;

    // --- audit log (see `audit` here and `crate::audit`) ---
    /// Append one event in a transaction of its own.
    fn append_audit(&self, e: &crate::store::audit::NewAudit) -> Result<()>;
    /// One keyset page of events, ascending by `seq`.
    fn audit_events(
        &self,
        q: &crate::store::audit::EventFilter,
    ) -> Result<Vec<imadm_api::audit::AuditEvent>>;
    /// The same page written as JSON objects (exactly serde's form of `AuditEvent`),
    /// comma-separated, onto `out`, without building the events; returns the count and
    /// the last seq. For `GET /admin/audit/events`, which pages through millions.
    fn audit_events_json(
        &self,
        q: &crate::store::audit::EventFilter,
        out: &mut Vec<u8>,
    ) -> Result<(u32, Option<u64>)>;
    /// `(seq, hash)` of event `seq`, or of the newest event when `None`.
    fn audit_hash_at(&self, seq: Option<u64>) -> Result<Option<(u64, String)>>;
    /// `(first seq, last seq, count)` of the events in a time range; zeros when empty.
    fn audit_range(&self, since_ms: Option<i64>, until_ms: Option<i64>) -> Result<(u64, u64, u64)>;
    fn save_checkpoint(&self, cp: &imadm_api::audit::Checkpoint) -> Result<()>;
    /// One page of alerts, ascending by id, each with its current state.
    fn alerts(&self, f: &AlertFilter) -> Result<Vec<imadm_api::audit::Alert>>;
    /// One alert with its current state.
    fn alert(&self, id: u64) -> Result<Option<imadm_api::audit::Alert>>;
    /// Move alert `id` to state `to` if its current state is one of `from`, recording
    /// `actor` and `note` (an append-only row: the latest is the state), in one
    /// transaction with the request's audit event; a resolution is queued for the
    /// notification channels that send them.
    fn change_alert_state(&self, change: &AlertStateChange<'_>) -> Result<AlertChanged>;
    /// `(newest seq, at_ms of event after + 1)`: how far a reader at `after` is behind
    /// and since when (`None`: it is not).
    fn audit_lag(&self, after: u64) -> Result<(u64, Option<i64>)>;
    /// Raise an alert that no event triggers (an audit sink falling behind): its
    /// `alerts` row and its `alert.raised` event in one transaction.
    fn raise_alert(&self, alert: &crate::store::audit::SystemAlert) -> Result<()>;

    // --- access reviews (see `crate::access`) ---
    /// Append an attestation, in one transaction with the request's audit event.
    fn add_attestation(
        &self,
        a: &imadm_api::access::AttestationCreate,
        recorded_by: &str,
        now: UnixTime,
    ) -> Result<i64>;
    /// The newest `limit` attestations, newest first.
    fn attestations(&self, limit: u32) -> Result<Vec<imadm_api::access::Attestation>>;

    // --- audit sinks (see `crate::sinks`) ---
    /// `(seq, hash)` of the last event sink `name` acknowledged.
    fn sink_cursor(&self, name: &str) -> Result<Option<(u64, String)>>;
    /// Sink `name` acknowledged every event up to `seq`, whose chain value is `hash`.
    fn set_sink_cursor(&self, name: &str, seq: u64, hash: &str, now_ms: i64) -> Result<()>;
}

/// A page request for [`Store::alerts`].
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    /// Alerts with `id > after`.
    pub after: u64,
    /// At or after.
    pub since_ms: Option<i64>,
    /// Of at least this rank (low 1, medium 2, high 3).
    pub min_rank: u8,
    /// In one of these states; empty: any.
    pub states: Vec<String>,
    pub limit: u32,
}

/// An alert state change for [`Store::change_alert_state`].
#[derive(Debug, Clone)]
pub struct AlertStateChange<'a> {
    pub id: u64,
    /// The states the alert may be in for the change to happen.
    pub from: &'a [&'a str],
    pub to: &'a str,
    pub actor: &'a str,
    pub note: &'a str,
    pub at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertChanged {
    /// Done; the alert as it is now.
    Changed(Box<imadm_api::audit::Alert>),
    NotFound,
    /// The alert's state (given) is not one of `from`; nothing changed.
    Refused(String),
}

/// `name` as a quoted SQL identifier (standard SQL, so the same on every backend): for
/// the table and column names a snapshot or restore takes from the schema.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
