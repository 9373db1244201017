//! The SQLite implementation of [`Store`]: one file in the data dir, WAL mode,
//! versioned migrations in `PRAGMA user_version`.
//!
//! One writer connection behind a mutex: SQLite serialises writers anyway, and every
//! method here is a short transaction. Methods that only read use one of a few read
//! connections ([`READERS`]): in WAL mode readers run beside the writer and each other,
//! and each read starts after every committed write, so a grant or revoke is seen by the
//! very next request. Hot statements are `prepare_cached` (per connection). Migrations are append-only: never edit a released one, add the
//! next. The built-in roles are re-synchronised from `imadm_api::permissions` at every
//! open, so a new permission in the catalogue reaches existing databases.

pub mod audit;
pub mod backup;
pub mod im;
pub mod incident;
pub mod keys;
pub mod merge;
pub mod notify;
pub mod passkey;
pub(crate) mod scratch;

use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, TryLockError};

use rusqlite::{Connection, OptionalExtension, params};

use imadm_api::admin::{Role, ServiceToken};

use super::{
    AlertChanged, AlertFilter, AlertStateChange, AuthEvent, Grace, LiveServiceToken,
    NewServiceToken, NewSession, Operator, Result, RoleHolder, RotateOutcome, Rotation, Session,
    Store, StoreError, StoredEvent,
};
use crate::UnixTime;
use crate::store::passkey::Removal;

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE operators (
    id                   INTEGER PRIMARY KEY,
    username             TEXT NOT NULL UNIQUE,
    password_hash        TEXT NOT NULL,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    disabled             INTEGER NOT NULL DEFAULT 0,
    totp_secret          BLOB,
    totp_pending         BLOB,
    last_totp_step       INTEGER,
    failed_attempts      INTEGER NOT NULL DEFAULT 0,
    locked_until         INTEGER,
    created_at           INTEGER NOT NULL,
    last_login_at        INTEGER
);
CREATE TABLE recovery_codes (
    operator_id INTEGER NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
    code_hash   TEXT NOT NULL,
    used_at     INTEGER,
    PRIMARY KEY (operator_id, code_hash)
);
CREATE TABLE roles (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    builtin     INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE role_permissions (
    role       TEXT NOT NULL REFERENCES roles(name) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    PRIMARY KEY (role, permission)
);
CREATE TABLE operator_roles (
    operator_id INTEGER NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
    role        TEXT NOT NULL REFERENCES roles(name),
    PRIMARY KEY (operator_id, role)
);
CREATE TABLE mfa_challenges (
    token_hash  TEXT PRIMARY KEY,
    operator_id INTEGER NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
    expires_at  INTEGER NOT NULL
);
CREATE TABLE sessions (
    id                  INTEGER PRIMARY KEY,
    operator_id         INTEGER NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
    access_hash         TEXT NOT NULL UNIQUE,
    access_expires_at   INTEGER NOT NULL,
    refresh_hash        TEXT NOT NULL UNIQUE,
    prev_refresh_hash   TEXT,
    refresh_expires_at  INTEGER NOT NULL,
    absolute_expires_at INTEGER NOT NULL,
    restrictions        TEXT NOT NULL DEFAULT '',
    source_addr         TEXT,
    created_at          INTEGER NOT NULL,
    revoked_at          INTEGER
);
CREATE INDEX sessions_prev_refresh ON sessions(prev_refresh_hash);
CREATE TABLE auth_events (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    operator_id INTEGER,
    username    TEXT,
    event       TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    source_addr TEXT,
    request_id  TEXT,
    detail      TEXT
);
CREATE TRIGGER auth_events_append_only_update BEFORE UPDATE ON auth_events
BEGIN SELECT RAISE(ABORT, 'auth_events is append-only'); END;
CREATE TRIGGER auth_events_append_only_delete BEFORE DELETE ON auth_events
BEGIN SELECT RAISE(ABORT, 'auth_events is append-only'); END;
"#,
    // 2: Lanying-compatible IM data. Sensitive columns (profile fields, group names,
    // message contents) hold AES-256-GCM ciphertext sealed with the server key, the row
    // identity as associated data (see `keys.rs`). Ids are AUTOINCREMENT, so an id is
    // never reused after a delete, and start in Lanying's 13-digit range (`store/im.rs`).
    r#"
CREATE TABLE im_users (
    user_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    nick_name     BLOB,
    email         BLOB,
    mobile        BLOB,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    kicked_at     INTEGER
);
CREATE TABLE im_groups (
    group_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id    INTEGER NOT NULL REFERENCES im_users(user_id),
    kind        INTEGER NOT NULL DEFAULT 0,
    name        BLOB NOT NULL,
    description BLOB,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX im_groups_owner ON im_groups(owner_id);
CREATE TABLE im_group_members (
    group_id  INTEGER NOT NULL REFERENCES im_groups(group_id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES im_users(user_id) ON DELETE CASCADE,
    role      TEXT NOT NULL DEFAULT 'member',
    joined_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX im_group_members_user ON im_group_members(user_id);
CREATE TABLE im_messages (
    msg_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    from_id      INTEGER NOT NULL,
    to_type      TEXT NOT NULL CHECK (to_type IN ('user', 'group')),
    to_id        INTEGER NOT NULL,
    content_type INTEGER NOT NULL DEFAULT 0,
    content      BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX im_messages_to ON im_messages(to_type, to_id, msg_id);
CREATE INDEX im_messages_from ON im_messages(from_id, msg_id);
"#,
    // 3: RBAC administration: custom roles get timestamps; service tokens for cron/CI.
    r#"
CREATE TABLE service_tokens (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    token_hash     TEXT NOT NULL UNIQUE,
    created_by     INTEGER NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    last_used_at   INTEGER,
    last_used_addr TEXT,
    revoked_at     INTEGER
);
CREATE TABLE service_token_scopes (
    token_id   INTEGER NOT NULL REFERENCES service_tokens(id) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    PRIMARY KEY (token_id, permission)
);
"#,
    // 3: the audit log (hash chain, append-only), issued checkpoints, security alerts.
    r#"
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,
    at_ms      INTEGER NOT NULL,
    actor_type TEXT NOT NULL,
    actor      TEXT NOT NULL,
    source     TEXT,
    action     TEXT NOT NULL,
    target     TEXT,
    outcome    TEXT NOT NULL,
    request_id TEXT,
    detail     TEXT,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log(at_ms);
CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TABLE audit_checkpoints (
    id        INTEGER PRIMARY KEY,
    seq       INTEGER NOT NULL,
    head      TEXT NOT NULL,
    at        TEXT NOT NULL,
    server_id TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE TABLE alerts (
    id        INTEGER PRIMARY KEY,
    at_ms     INTEGER NOT NULL,
    rule      TEXT NOT NULL,
    severity  TEXT NOT NULL,
    actor     TEXT NOT NULL,
    detail    TEXT NOT NULL,
    event_seq INTEGER NOT NULL
);
"#,
    // 5: the addresses each service token was used from (alert rule `token_new_address`),
    // seeded from the audit log so a token's known addresses survive the upgrade.
    r#"
CREATE TABLE token_sources (
    actor     TEXT NOT NULL,
    source    TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    PRIMARY KEY (actor, source)
) WITHOUT ROWID;
INSERT INTO token_sources (actor, source, first_seq)
    SELECT actor, source, min(seq) FROM audit_log
    WHERE actor_type = 'token' AND source IS NOT NULL
    GROUP BY actor, source;
"#,
    // 6: the refresh grace window (`auth::Policy::refresh_grace`): the pair the last
    // rotation issued, sealed with the server key (AAD `store::grace_aad`), kept until
    // `grace_until` so the refresh token it replaced, presented again by a client that
    // lost the answer or raced another one, gets that same pair instead of revoking.
    r#"
ALTER TABLE sessions ADD COLUMN grace_tokens BLOB;
ALTER TABLE sessions ADD COLUMN grace_until INTEGER;
CREATE INDEX sessions_grace ON sessions(grace_until) WHERE grace_until IS NOT NULL;
"#,
    // 7: the addresses each operator completed a login from (`auth.rs`: they are exempt
    // from the account's failure ceiling), the most recent few per operator. Seeded from
    // the IPv4 addresses of existing sessions (IPv6 ones are kept per /64 from now on).
    r#"
CREATE TABLE operator_addresses (
    operator_id   INTEGER NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
    addr          TEXT NOT NULL,
    last_login_at INTEGER NOT NULL,
    PRIMARY KEY (operator_id, addr)
) WITHOUT ROWID;
INSERT INTO operator_addresses (operator_id, addr, last_login_at)
    SELECT operator_id, source_addr, at FROM (
        SELECT operator_id, source_addr, max(created_at) AS at,
               row_number() OVER (PARTITION BY operator_id ORDER BY max(created_at) DESC) AS n
        FROM sessions WHERE source_addr IS NOT NULL AND source_addr NOT LIKE '%:%'
        GROUP BY operator_id, source_addr)
    WHERE n <= 8;
"#,
    // 8: operators, sessions and service tokens never reuse an id (AUTOINCREMENT): a
    // restore tells a principal deleted after the backup from one created after it by
    // id (`backup::merge`). SQLite cannot add AUTOINCREMENT in place, so each table is
    // rebuilt (with foreign keys off, see `migrate`) under the same name, which the other
    // tables' references then name again.
    r#"
CREATE TABLE operators_v8 (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    username             TEXT NOT NULL UNIQUE,
    password_hash        TEXT NOT NULL,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    disabled             INTEGER NOT NULL DEFAULT 0,
    totp_secret          BLOB,
    totp_pending         BLOB,
    last_totp_step       INTEGER,
    failed_attempts      INTEGER NOT NULL DEFAULT 0,
    locked_until         INTEGER,
    created_at           INTEGER NOT NULL,
    last_login_at        INTEGER
);
INSERT INTO operators_v8 SELECT * FROM operators;
DROP TABLE operators;
ALTER TABLE operators_v8 RENAME TO operators;
CREATE TABLE sessions_v8 (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    operator_id         INTEGER NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
    access_hash         TEXT NOT NULL UNIQUE,
    access_expires_at   INTEGER NOT NULL,
    refresh_hash        TEXT NOT NULL UNIQUE,
    prev_refresh_hash   TEXT,
    refresh_expires_at  INTEGER NOT NULL,
    absolute_expires_at INTEGER NOT NULL,
    restrictions        TEXT NOT NULL DEFAULT '',
    source_addr         TEXT,
    created_at          INTEGER NOT NULL,
    revoked_at          INTEGER,
    grace_tokens        BLOB,
    grace_until         INTEGER
);
INSERT INTO sessions_v8 SELECT * FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_v8 RENAME TO sessions;
CREATE INDEX sessions_prev_refresh ON sessions(prev_refresh_hash);
CREATE INDEX sessions_grace ON sessions(grace_until) WHERE grace_until IS NOT NULL;
CREATE TABLE service_tokens_v8 (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT NOT NULL,
    token_hash     TEXT NOT NULL UNIQUE,
    created_by     INTEGER NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    last_used_at   INTEGER,
    last_used_addr TEXT,
    revoked_at     INTEGER
);
INSERT INTO service_tokens_v8 SELECT * FROM service_tokens;
DROP TABLE service_tokens;
ALTER TABLE service_tokens_v8 RENAME TO service_tokens;
"#,
    // 9: the alert workflow. An alert's state changes are rows of their own, appended and
    // never updated (the current state is the latest row, `open` without one), so a restore
    // never rewinds an acknowledgement (`backup::merge`: history).
    r#"
CREATE TABLE alert_events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id INTEGER NOT NULL,
    state    TEXT NOT NULL CHECK (state IN ('acknowledged', 'resolved')),
    actor    TEXT NOT NULL,
    note     TEXT NOT NULL,
    at_ms    INTEGER NOT NULL
);
CREATE INDEX alert_events_alert ON alert_events(alert_id, id);
CREATE TRIGGER alert_events_append_only_update BEFORE UPDATE ON alert_events
BEGIN SELECT RAISE(ABORT, 'alert_events is append-only'); END;
CREATE TRIGGER alert_events_append_only_delete BEFORE DELETE ON alert_events
BEGIN SELECT RAISE(ABORT, 'alert_events is append-only'); END;
"#,
    // 10: alert notifications. The delivery queue holds each message whole (the alert as
    // it was), one row per channel, alert and state: the UNIQUE key is what suppresses
    // duplicates. Runtime state of this install (`backup::merge`: install, kept from live).
    r#"
CREATE TABLE notify_queue (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    channel      TEXT NOT NULL,
    alert_id     INTEGER,
    state        TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_ms   INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_ms      INTEGER NOT NULL,
    delivered_ms INTEGER,
    last_error   TEXT,
    UNIQUE (channel, alert_id, state)
);
CREATE INDEX notify_queue_pending ON notify_queue(channel, id) WHERE delivered_ms IS NULL;
CREATE TABLE notify_channels (
    name             TEXT PRIMARY KEY,
    last_success_ms  INTEGER,
    last_error_ms    INTEGER,
    last_error       TEXT,
    failing_since_ms INTEGER,
    failing_alerted  INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
"#,
    // 11: audit sinks (`sinks/`): per sink, the last event it acknowledged, with its chain
    // value so a log replaced under the sink (a disaster-recovery restore) is noticed.
    // Install state: a restore keeps live's rows (`backup::merge`).
    r#"
CREATE TABLE audit_sink_cursors (
    name  TEXT PRIMARY KEY,
    seq   INTEGER NOT NULL,
    hash  TEXT NOT NULL,
    at_ms INTEGER NOT NULL
) WITHOUT ROWID;
"#,
    // 12: access review attestations (`access.rs`): who signed which review, when, with
    // its counts. Append-only like the audit log: a restore never rewinds the proof that
    // access was reviewed (`backup::merge`: history).
    r#"
CREATE TABLE access_attestations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    reviewer      TEXT NOT NULL,
    recorded_by   TEXT NOT NULL,
    review_sha256 TEXT NOT NULL,
    signature     TEXT NOT NULL,
    attested_at   INTEGER NOT NULL,
    operators     INTEGER NOT NULL,
    tokens        INTEGER NOT NULL,
    keep          INTEGER NOT NULL,
    revoke        INTEGER NOT NULL
);
CREATE TRIGGER access_attestations_append_only_update BEFORE UPDATE ON access_attestations
BEGIN SELECT RAISE(ABORT, 'access_attestations is append-only'); END;
CREATE TRIGGER access_attestations_append_only_delete BEFORE DELETE ON access_attestations
BEGIN SELECT RAISE(ABORT, 'access_attestations is append-only'); END;
"#,
    // 13: incidents (`incident.rs`): the record (security state, merged by a restore)
    // and its timeline, append-only like the audit log (history: a restore never rewinds
    // it). No foreign key from the timeline: a restore copies history rows on their own.
    r#"
CREATE TABLE incidents (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    title        TEXT NOT NULL,
    severity     TEXT NOT NULL,
    opened_by    TEXT NOT NULL,
    opened_at_ms INTEGER NOT NULL,
    closed_at_ms INTEGER,
    summary      TEXT
);
CREATE TABLE incident_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    at_ms       INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX incident_events_by_incident ON incident_events(incident_id, seq);
CREATE TRIGGER incident_events_append_only_update BEFORE UPDATE ON incident_events
BEGIN SELECT RAISE(ABORT, 'incident_events is append-only'); END;
CREATE TRIGGER incident_events_append_only_delete BEFORE DELETE ON incident_events
BEGIN SELECT RAISE(ABORT, 'incident_events is append-only'); END;
"#,
    // 14: passkeys (WebAuthn credentials), several per operator, named. `credential` is
    // webauthn-rs's `Passkey` (public key, signature counter) as JSON, sealed with the
    // server key (AAD `store::passkey_aad`); `credential_id` (base64url) finds it at a
    // login with a discoverable credential. Security state for a restore
    // (`backup::merge`); ids never reused.
    r#"
CREATE TABLE passkeys (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    operator_id   INTEGER NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    credential_id TEXT NOT NULL UNIQUE,
    credential    BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    UNIQUE (operator_id, name)
);
"#,
];

/// Read connections beside the writer: enough to keep both cores of a small server busy
/// with authentication and list queries while a write is in progress.
pub const READERS: usize = 4;
const STATEMENT_CACHE: usize = 64;

pub struct SqliteStore {
    conn: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Bumped whenever the writer is released (see [`Writer`]): the authentication cache
    /// (`auth.rs`) keeps entries only for the epoch they were read in.
    epoch: AtomicU64,
    /// The alert rules every audit insert evaluates (`imadm server --alert-*` flags).
    rules: RwLock<Arc<crate::store::audit::AlertRules>>,
    /// The database file, for [`SqliteStore::replace_file`].
    path: std::path::PathBuf,
    /// Held (shared) by a backup snapshot's own connection to `path` for as long as it
    /// streams, and (exclusive) by a restore while it replaces the file: no connection may
    /// stay open on the old file across the swap (see [`SqliteStore::replace_file`]).
    file_lock: RwLock<()>,
    /// Login throttling's counters: in memory, as one process holds the data dir.
    counters: super::throttle::MemoryCounters,
    /// Browser approvals: in memory, for the same reason.
    approvals: super::approval::MemoryApprovals,
}

/// The writer connection, locked. Dropping it bumps the store's epoch, after whatever
/// the method wrote has committed (its transaction borrows this guard and ends first),
/// so no cached authentication result outlives a write that could change it.
pub(crate) struct Writer<'a> {
    guard: MutexGuard<'a, Connection>,
    epoch: &'a AtomicU64,
}

impl std::ops::Deref for Writer<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.guard
    }
}

impl std::ops::DerefMut for Writer<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.guard
    }
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }
}

/// Attach the database file `path` to `conn` as `schema`, read-only (a `mode=ro` URI, so
/// nothing done through `conn` can write it): a restore's staging connection reads the
/// live data through it.
pub(crate) fn attach_read_only(
    conn: &Connection,
    path: &Path,
    schema: &str,
) -> rusqlite::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let mut uri = String::from("file:");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?mode=ro");
    conn.execute(&format!("ATTACH DATABASE ?1 AS {schema}"), [uri])?;
    Ok(())
}

/// SQLite's write-ahead log beside `db`.
pub(crate) fn wal_path(db: &Path) -> std::path::PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push("-wal");
    s.into()
}

fn shm_path(db: &Path) -> std::path::PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push("-shm");
    s.into()
}

/// Page size of every database file the server creates: new ones and a restore's staging
/// file, which becomes the live file.
///
/// Why not SQLite's 4 KiB: the bulk of the data is message bodies, and a row larger than a
/// page lives in a chain of overflow pages, each read and written by a syscall of its own.
/// With 16 KiB pages a restore's load writes a quarter as many pages and the kernel takes
/// them in larger folios, which saves much of its system time (bench/README.md). 16 KiB is
/// also what InnoDB uses. The cost is on tiny commits,
/// which log a 16 KiB WAL frame per page they touch instead of 4 KiB: an audit entry or a
/// login writes a few dozen KiB, nothing an admin API notices. A file created with
/// another page size keeps it until a restore replaces it (SQLite reads any size).
pub const PAGE_SIZE: u32 = 16 << 10;

/// The writer connection's settings (also after a restore replaced the file).
fn open_writer(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    // Only takes effect on an empty file, and only before the switch to WAL writes the
    // header: keep it first.
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Deleted and overwritten content is zeroed, not left in free pages: an erased
    // user's name must not be recoverable from the file (GDPR art. 17).
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

fn open_reader(path: &Path) -> Result<Connection> {
    let r = Connection::open(path)?;
    r.busy_timeout(std::time::Duration::from_secs(5))?;
    r.pragma_update(None, "query_only", "ON")?;
    r.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(r)
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock cannot leave SQLite inconsistent (transactions
    // roll back on drop), so a poisoned mutex is safe to keep using.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        backend(e)
    }
}

impl SqliteStore {
    /// Open (creating if needed) `path`, migrate it, and sync the built-in roles.
    pub fn open(path: &Path) -> Result<Self> {
        // SQLite would create the file 0644 (less the umask), and it gives the `-wal` and
        // `-shm` files the database file's mode: so the file is made 0600 first. Files an
        // older version created are tightened too.
        for p in [path.to_owned(), wal_path(path), shm_path(path)] {
            if p == path || p.exists() {
                crate::fsutil::private_file(&p).map_err(|e| {
                    StoreError::Backend(format!("cannot make {} private: {e}", p.display()))
                })?;
            }
        }
        let mut store = SqliteStore {
            conn: Mutex::new(open_writer(path)?),
            readers: Vec::new(),
            next_reader: AtomicUsize::new(0),
            epoch: AtomicU64::new(0),
            rules: RwLock::new(Arc::default()),
            path: path.to_owned(),
            file_lock: RwLock::new(()),
            counters: super::throttle::MemoryCounters::new(super::throttle::MAX_COUNTERS),
            approvals: Default::default(),
        };
        store.migrate()?;
        store.sync_builtin_roles()?;
        // Opened after the migrations, so they see the current schema.
        for _ in 0..READERS {
            store.readers.push(Mutex::new(open_reader(path)?));
        }
        Ok(store)
    }

    /// Make the complete database file `staged` the live one (a restore): every connection
    /// is closed, the file renamed over the live one, and the connections reopened.
    ///
    /// Closing all connections first matters: the last close checkpoints the WAL into the
    /// old file and deletes it, so no WAL of the old file can ever be replayed onto the new
    /// one. Until the rename the old file is complete; after it the new one is (the caller
    /// fsynced it): a crash at any point leaves one of the two, whole. Nothing else may hold
    /// the file open meanwhile (the caller holds `file_lock` exclusive, which a backup
    /// snapshot's connection holds shared).
    ///
    /// Before that, with the writer held (so nothing else commits), `finish` completes the
    /// staged file in one transaction: a connection to it with foreign keys on and the live
    /// file attached read-only as schema `live`, so what live committed up to this moment
    /// can still be carried over (`sqlite::merge`). The request's parked audit event commits
    /// in the same transaction.
    pub(crate) fn replace_file(
        &self,
        staged: &Path,
        finish: &mut dyn FnMut(&rusqlite::Transaction<'_>) -> Result<()>,
    ) -> Result<()> {
        let started = std::time::Instant::now();
        let mut writer = self.conn();
        let mut readers: Vec<_> = self.readers.iter().map(lock).collect();
        {
            let st = Connection::open(staged)?;
            st.pragma_update(None, "synchronous", "FULL")?;
            st.pragma_update(None, "foreign_keys", "ON")?;
            // What the merge removes (sessions, removed operators) is zeroed, as live does.
            st.pragma_update(None, "secure_delete", "ON")?;
            attach_read_only(&st, &self.path, "live")?;
            let tx = st.unchecked_transaction()?;
            finish(&tx)?;
            // The request's parked audit event (the restore's own `backup.restore`, with
            // its alerts) commits inside the new file, after everything `finish` carried
            // over: it is there exactly when the new data is, and a failing audit insert
            // stops the install.
            audit::commit(tx, &self.alert_rules())?;
            st.execute_batch("DETACH DATABASE live")?;
        }
        std::fs::File::open(staged)
            .and_then(|f| f.sync_all())
            .map_err(|e| StoreError::Backend(format!("fsync of the staged file: {e}")))?;
        tracing::debug!(
            ms = started.elapsed().as_millis(),
            "install: connections idle, staged file finished and synced"
        );
        // The old file and its WAL (as large as the biggest transaction since they were
        // created) are unlinked by the rename and the last close below; the kernel then
        // drops their cached pages, about a second per GiB of CPU. Holding them open here
        // and closing them on a thread of their own takes that off the restore's reply.
        // These descriptors take no locks, and the new file is another inode, so closing
        // them cannot release a lock of the new connections.
        let old_files: Vec<std::fs::File> = [self.path.clone(), wal_path(&self.path)]
            .iter()
            .filter_map(|p| std::fs::File::open(p).ok())
            .collect();
        // Close all: swap in throw-away in-memory connections.
        let placeholder = || Connection::open_in_memory();
        drop(std::mem::replace(&mut *writer, placeholder()?));
        for r in readers.iter_mut() {
            drop(std::mem::replace(&mut **r, placeholder()?));
        }
        tracing::debug!(
            ms = started.elapsed().as_millis(),
            "install: connections closed"
        );
        let renamed = std::fs::rename(staged, &self.path).and_then(|()| {
            let dir = self.path.parent().unwrap_or(Path::new("."));
            std::fs::File::open(dir)?.sync_all()
        });
        // Reopen whichever file is live now (the old one if the rename failed).
        *writer = open_writer(&self.path)?;
        for r in readers.iter_mut() {
            **r = open_reader(&self.path)?;
        }
        tracing::debug!(
            ms = started.elapsed().as_millis(),
            "install: renamed, reopened"
        );
        let _ = std::thread::Builder::new()
            .name("close-old-db".into())
            .spawn(move || drop(old_files));
        renamed.map_err(|e| StoreError::Backend(format!("installing the restored file: {e}")))
    }

    /// Use `rules` for the alerts of every event written from now on.
    /// The notification routes stay as they are (see [`SqliteStore::set_notify_routes`]).
    pub fn set_alert_rules(&self, mut rules: crate::store::audit::AlertRules) {
        let mut current = self.rules.write().unwrap_or_else(|p| p.into_inner());
        rules.notify_routes = current.notify_routes.clone();
        *current = Arc::new(rules);
    }

    pub(crate) fn alert_rules(&self) -> Arc<crate::store::audit::AlertRules> {
        self.rules.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Queue alerts for `routes` from now on (the notification config, reloaded on SIGHUP).
    pub fn set_notify_routes(&self, routes: Vec<super::notify::Route>) {
        let mut rules = self.rules.write().unwrap_or_else(|p| p.into_inner());
        let mut next = (**rules).clone();
        next.notify_routes = Arc::new(routes);
        *rules = Arc::new(next);
    }

    /// The schema version of a freshly migrated database.
    pub fn latest_version() -> usize {
        MIGRATIONS.len()
    }

    /// The writer: every method that writes, and every transaction.
    pub(crate) fn conn(&self) -> Writer<'_> {
        Writer {
            guard: lock(&self.conn),
            epoch: &self.epoch,
        }
    }

    /// A read-only connection for a method that only reads (one statement, or reads
    /// that need no common snapshot): the first free one, else wait for one in turn.
    pub(crate) fn reader(&self) -> MutexGuard<'_, Connection> {
        let n = self.readers.len();
        if n == 0 {
            return lock(&self.conn);
        }
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for i in 0..n {
            match self.readers[(start + i) % n].try_lock() {
                Ok(g) => return g,
                Err(TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        lock(&self.readers[start % n])
    }

    /// Run the migrations past the file's `user_version`, each in a transaction of its own.
    ///
    /// Foreign keys are off meanwhile (the pragma only changes outside a transaction), as
    /// SQLite's procedure for rebuilding a table asks: with them on, dropping the old
    /// `operators` would cascade into every table that references it. Each migration
    /// checks the references itself (`foreign_key_check`) before it commits.
    fn migrate(&self) -> Result<()> {
        let mut conn = self.conn();
        let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let current = current as usize;
        if current > MIGRATIONS.len() {
            return Err(StoreError::Backend(format!(
                "the database schema is version {current}, newer than this imadm ({}); upgrade imadm",
                MIGRATIONS.len()
            )));
        }
        if current == MIGRATIONS.len() {
            return Ok(());
        }
        conn.pragma_update(None, "foreign_keys", "OFF")?;
        let migrated = (|| -> Result<()> {
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
                let tx = conn.transaction()?;
                tx.execute_batch(sql)?;
                let broken: i64 =
                    tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                        r.get(0)
                    })?;
                if broken > 0 {
                    return Err(StoreError::Backend(format!(
                        "migration {} would break {broken} foreign-key reference(s)",
                        i + 1
                    )));
                }
                tx.pragma_update(None, "user_version", (i + 1) as i64)?;
                tx.commit()?;
            }
            Ok(())
        })();
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrated
    }

    fn sync_builtin_roles(&self) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for (name, description, _) in imadm_api::permissions::BUILTIN_ROLES {
            tx.execute(
                "INSERT INTO roles (name, description, builtin) VALUES (?1, ?2, 1)
                 ON CONFLICT(name) DO UPDATE SET description = excluded.description, builtin = 1",
                params![name, description],
            )?;
            tx.execute("DELETE FROM role_permissions WHERE role = ?1", [name])?;
            for p in imadm_api::permissions::builtin_permissions(name).unwrap_or_default() {
                tx.execute(
                    "INSERT INTO role_permissions (role, permission) VALUES (?1, ?2)",
                    params![name, p],
                )?;
            }
        }
        audit::commit(tx, &self.alert_rules())?;
        Ok(())
    }
}

/// An alert and its latest state change (none: open).
const ALERT_SELECT: &str = "SELECT a.id, a.at_ms, a.rule, a.severity, a.actor, a.detail,
        a.event_seq, e.state, e.at_ms, e.actor, e.note
     FROM alerts a LEFT JOIN alert_events e
       ON e.id = (SELECT max(id) FROM alert_events WHERE alert_id = a.id)";

fn alert_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<imadm_api::audit::Alert> {
    let state: Option<String> = r.get(7)?;
    Ok(imadm_api::audit::Alert {
        id: r.get::<_, i64>(0)? as u64,
        at: imadm_api::audit::format_at(r.get(1)?),
        rule: r.get(2)?,
        severity: r.get(3)?,
        actor: r.get(4)?,
        detail: r.get(5)?,
        event_seq: r.get::<_, i64>(6)? as u64,
        state: state.unwrap_or_else(|| imadm_api::audit::ALERT_OPEN.to_owned()),
        state_at: r.get::<_, Option<i64>>(8)?.map(imadm_api::audit::format_at),
        state_by: r.get(9)?,
        note: r.get(10)?,
    })
}

const OPERATOR_COLUMNS: &str = "id, username, password_hash, must_change_password, disabled, \
     totp_secret, totp_pending, last_totp_step, failed_attempts, locked_until, created_at, last_login_at";

fn operator_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Operator> {
    Ok(Operator {
        id: r.get(0)?,
        username: r.get(1)?,
        password_hash: r.get(2)?,
        must_change_password: r.get(3)?,
        disabled: r.get(4)?,
        totp_secret: r.get(5)?,
        totp_pending: r.get(6)?,
        last_totp_step: r.get::<_, Option<i64>>(7)?.map(|s| s as u64),
        failed_attempts: r.get(8)?,
        locked_until: r.get(9)?,
        created_at: r.get(10)?,
        last_login_at: r.get(11)?,
    })
}

/// Drop the sealed pairs of refresh grace windows that have ended (`?1` = now).
const CLEAR_ENDED_GRACE: &str =
    "UPDATE sessions SET grace_tokens = NULL, grace_until = NULL WHERE grace_until <= ?1";

const SESSION_COLUMNS: &str = "id, operator_id, access_expires_at, refresh_expires_at, \
     absolute_expires_at, restrictions, revoked_at IS NOT NULL";

fn session_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Session> {
    let restrictions: String = r.get(5)?;
    Ok(Session {
        id: r.get(0)?,
        operator_id: r.get(1)?,
        access_expires_at: r.get(2)?,
        refresh_expires_at: r.get(3)?,
        absolute_expires_at: r.get(4)?,
        restrictions: split_list(&restrictions),
        revoked: r.get(6)?,
    })
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

impl SqliteStore {
    /// Run the audit page query of `q`, calling `each` per row (columns: seq, at_ms,
    /// actor_type, actor, source, action, target, outcome, request_id, detail, hash).
    fn audit_rows(
        &self,
        q: &crate::store::audit::EventFilter,
        mut each: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<()>,
    ) -> Result<()> {
        // A plain range is what `audit export` pages through: the filtered statement
        // evaluates its five NULL tests on every row, a tenth of the cost.
        const PLAIN: &str = "SELECT seq, at_ms, actor_type, actor, source, action, target, outcome,
                    request_id, detail, hash
             FROM audit_log WHERE seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3";
        // One prepared statement whatever the filters: unset ones compare against NULL.
        const FILTERED: &str = "SELECT seq, at_ms, actor_type, actor, source, action, target, outcome,
                    request_id, detail, hash
             FROM audit_log
             WHERE seq > ?1 AND seq <= ?2
               AND (?3 IS NULL OR at_ms >= ?3) AND (?4 IS NULL OR at_ms <= ?4)
               AND (?5 IS NULL OR actor = ?5)
               AND (?6 IS NULL OR action = ?6 OR (substr(?6, -1) = '.' AND substr(action, 1, length(?6)) = ?6))
               AND (?8 IS NULL OR target = ?8)
             ORDER BY seq LIMIT ?7";
        let unfiltered = q.since_ms.is_none()
            && q.until_ms.is_none()
            && q.actor.is_none()
            && q.action.is_none()
            && q.target.is_none();
        let conn = self.reader();
        let (after, to) = (q.after as i64, q.to.map_or(i64::MAX, |t| t as i64));
        let mut stmt = conn.prepare_cached(if unfiltered { PLAIN } else { FILTERED })?;
        let mut rows = if unfiltered {
            stmt.query(params![after, to, q.limit])?
        } else {
            stmt.query(params![
                after, to, q.since_ms, q.until_ms, q.actor, q.action, q.limit, q.target
            ])?
        };
        while let Some(r) = rows.next()? {
            each(r)?;
        }
        Ok(())
    }
}

impl Store for SqliteStore {
    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    fn bump_epoch(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .reader()
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    fn create_operator(
        &self,
        username: &str,
        password_hash: &str,
        must_change_password: bool,
        roles: &[&str],
        now: UnixTime,
    ) -> Result<i64> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let res = tx.execute(
            "INSERT INTO operators (username, password_hash, must_change_password, created_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![username, password_hash, must_change_password, now],
        );
        match res {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict(format!("operator {username:?}")));
            }
            other => other?,
        };
        let id = tx.last_insert_rowid();
        for role in roles {
            tx.execute(
                "INSERT INTO operator_roles (operator_id, role) VALUES (?1, ?2)",
                params![id, role],
            )?;
        }
        audit::commit(tx, &self.alert_rules())?;
        Ok(id)
    }

    fn operator_by_username(&self, username: &str) -> Result<Option<Operator>> {
        Ok(self
            .reader()
            .query_row(
                &format!("SELECT {OPERATOR_COLUMNS} FROM operators WHERE username = ?1"),
                [username],
                operator_row,
            )
            .optional()?)
    }

    fn operator_by_id(&self, id: i64) -> Result<Option<Operator>> {
        // Every authenticated request runs this, the session and the permissions query.
        Ok(self
            .reader()
            .prepare_cached(&format!(
                "SELECT {OPERATOR_COLUMNS} FROM operators WHERE id = ?1"
            ))?
            .query_row([id], operator_row)
            .optional()?)
    }

    fn operator_count(&self) -> Result<u64> {
        let n: i64 = self
            .reader()
            .query_row("SELECT COUNT(*) FROM operators", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    fn login_succeeded(&self, id: i64, addr: &str, keep: usize, now: UnixTime) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE operators SET last_login_at = ?2 WHERE id = ?1",
            params![id, now],
        )?;
        tx.execute(
            "INSERT INTO operator_addresses (operator_id, addr, last_login_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (operator_id, addr) DO UPDATE SET last_login_at = excluded.last_login_at",
            params![id, addr, now],
        )?;
        tx.execute(
            "DELETE FROM operator_addresses WHERE operator_id = ?1 AND addr NOT IN (
                 SELECT addr FROM operator_addresses WHERE operator_id = ?1
                 ORDER BY last_login_at DESC, addr LIMIT ?2)",
            params![id, keep as i64],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn is_known_address(&self, id: i64, addr: &str, since: UnixTime) -> Result<bool> {
        Ok(self
            .reader()
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM operator_addresses
                   WHERE operator_id = ?1 AND addr = ?2 AND last_login_at >= ?3)",
            )?
            .query_row(params![id, addr, since], |r| r.get(0))?)
    }

    fn set_password(&self, id: i64, hash: &str, must_change: bool) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE operators SET password_hash = ?2, must_change_password = ?3 WHERE id = ?1",
            params![id, hash, must_change],
        )?;
        audit::commit(tx, &self.alert_rules())?;
        Ok(())
    }

    fn operator_roles(&self, id: i64) -> Result<Vec<String>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT role FROM operator_roles WHERE operator_id = ?1 ORDER BY role",
        )?;
        let rows = stmt.query_map([id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn operator_permissions(&self, id: i64) -> Result<Vec<String>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT DISTINCT rp.permission FROM operator_roles o
             JOIN role_permissions rp ON rp.role = o.role
             WHERE o.operator_id = ?1 ORDER BY rp.permission",
        )?;
        let rows = stmt.query_map([id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn consume_totp_step(&self, id: i64, step: u64) -> Result<bool> {
        let n = self.conn().execute(
            "UPDATE operators SET last_totp_step = ?2
             WHERE id = ?1 AND (last_totp_step IS NULL OR last_totp_step < ?2)",
            params![id, step as i64],
        )?;
        Ok(n == 1)
    }

    fn cap_totp_step(&self, id: i64, max: u64) -> Result<()> {
        self.conn().execute(
            "UPDATE operators SET last_totp_step = ?2 WHERE id = ?1 AND last_totp_step > ?2",
            params![id, max as i64],
        )?;
        Ok(())
    }

    fn set_pending_totp(&self, id: i64, sealed: &[u8]) -> Result<()> {
        self.conn().execute(
            "UPDATE operators SET totp_pending = ?2 WHERE id = ?1",
            params![id, sealed],
        )?;
        Ok(())
    }

    fn activate_totp(&self, id: i64, step: u64, recovery_hashes: &[String]) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE operators SET totp_secret = totp_pending, totp_pending = NULL,
                 last_totp_step = ?2
             WHERE id = ?1 AND totp_pending IS NOT NULL
               AND (last_totp_step IS NULL OR last_totp_step < ?2)",
            params![id, step as i64],
        )?;
        if n != 1 {
            return Ok(false);
        }
        replace_codes(&tx, id, recovery_hashes)?;
        audit::commit(tx, &self.alert_rules())?;
        Ok(true)
    }

    fn replace_recovery_codes(&self, id: i64, recovery_hashes: &[String]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        replace_codes(&tx, id, recovery_hashes)?;
        audit::commit(tx, &self.alert_rules())?;
        Ok(())
    }

    fn use_recovery_code(&self, id: i64, hash: &str, now: UnixTime) -> Result<bool> {
        let n = self.conn().execute(
            "UPDATE recovery_codes SET used_at = ?3
             WHERE operator_id = ?1 AND code_hash = ?2 AND used_at IS NULL",
            params![id, hash, now],
        )?;
        Ok(n == 1)
    }

    fn recovery_codes_left(&self, id: i64) -> Result<u32> {
        Ok(self.reader().query_row(
            "SELECT COUNT(*) FROM recovery_codes WHERE operator_id = ?1 AND used_at IS NULL",
            [id],
            |r| r.get(0),
        )?)
    }

    fn disable_totp(&self, id: i64, keep_last_factor: bool) -> Result<Removal> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let passkeys: i64 = tx.query_row(
            "SELECT count(*) FROM passkeys WHERE operator_id = ?1",
            [id],
            |r| r.get(0),
        )?;
        if passkeys == 0 && keep_last_factor {
            return Ok(Removal::LastFactor);
        }
        tx.execute(
            "UPDATE operators SET totp_secret = NULL, totp_pending = NULL WHERE id = ?1",
            [id],
        )?;
        tx.execute("DELETE FROM recovery_codes WHERE operator_id = ?1", [id])?;
        audit::commit(tx, &self.alert_rules())?;
        Ok(Removal::Removed)
    }

    fn set_totp_secret(&self, id: i64, sealed: &[u8]) -> Result<()> {
        self.conn().execute(
            "UPDATE operators SET totp_secret = ?2, totp_pending = NULL WHERE id = ?1",
            params![id, sealed],
        )?;
        Ok(())
    }

    fn create_mfa_challenge(
        &self,
        hash: &str,
        operator_id: i64,
        expires_at: UnixTime,
    ) -> Result<()> {
        let conn = self.conn();
        conn.execute(
            "DELETE FROM mfa_challenges WHERE expires_at < ?1",
            [expires_at - 3600],
        )?;
        conn.execute(
            "INSERT INTO mfa_challenges (token_hash, operator_id, expires_at) VALUES (?1, ?2, ?3)",
            params![hash, operator_id, expires_at],
        )?;
        Ok(())
    }

    fn mfa_challenge(&self, hash: &str, now: UnixTime) -> Result<Option<i64>> {
        Ok(self
            .reader()
            .query_row(
                "SELECT operator_id FROM mfa_challenges WHERE token_hash = ?1 AND expires_at > ?2",
                params![hash, now],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn delete_mfa_challenge(&self, hash: &str) -> Result<()> {
        self.conn()
            .execute("DELETE FROM mfa_challenges WHERE token_hash = ?1", [hash])?;
        Ok(())
    }

    fn create_session(&self, s: &NewSession, now: UnixTime) -> Result<i64> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO sessions (operator_id, access_hash, access_expires_at, refresh_hash,
                 refresh_expires_at, absolute_expires_at, restrictions, source_addr, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                s.operator_id,
                s.access_hash,
                s.access_expires_at,
                s.refresh_hash,
                s.refresh_expires_at.min(s.absolute_expires_at),
                s.absolute_expires_at,
                s.restrictions.join(","),
                s.source_addr,
                now
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    fn session_by_access_hash(&self, hash: &str) -> Result<Option<Session>> {
        Ok(self
            .reader()
            .prepare_cached(&format!(
                "SELECT {SESSION_COLUMNS} FROM sessions WHERE access_hash = ?1"
            ))?
            .query_row([hash], session_row)
            .optional()?)
    }

    fn rotate_refresh(
        &self,
        refresh_hash: &str,
        r: &Rotation,
        now: UnixTime,
        grace: &Grace<'_>,
    ) -> Result<RotateOutcome> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(CLEAR_ENDED_GRACE, [now])?;
        let updated = tx
            .query_row(
                &format!(
                    "UPDATE sessions SET access_hash = ?2, access_expires_at = ?3,
                         prev_refresh_hash = refresh_hash, refresh_hash = ?4,
                         refresh_expires_at = MIN(?5, absolute_expires_at),
                         grace_tokens = NULL, grace_until = NULL
                     WHERE refresh_hash = ?1 AND revoked_at IS NULL
                       AND refresh_expires_at > ?6 AND absolute_expires_at > ?6
                     RETURNING {SESSION_COLUMNS}"
                ),
                params![
                    refresh_hash,
                    r.access_hash,
                    r.access_expires_at,
                    r.refresh_hash,
                    r.refresh_expires_at,
                    now
                ],
                session_row,
            )
            .optional()?;
        if let Some(s) = updated {
            if grace.until > now {
                tx.execute(
                    "UPDATE sessions SET grace_tokens = ?2, grace_until = ?3 WHERE id = ?1",
                    params![s.id, (grace.seal)(s.id), grace.until],
                )?;
            }
            audit::commit(tx, &self.alert_rules())?;
            return Ok(RotateOutcome::Rotated(s));
        }
        let previous: Option<(Session, Option<UnixTime>, Option<Vec<u8>>)> = tx
            .query_row(
                &format!(
                    "SELECT {SESSION_COLUMNS}, grace_until, grace_tokens FROM sessions
                     WHERE prev_refresh_hash = ?1 AND revoked_at IS NULL"
                ),
                [refresh_hash],
                |row| Ok((session_row(row)?, row.get(7)?, row.get(8)?)),
            )
            .optional()?;
        let outcome = match previous {
            Some((session, Some(until), Some(sealed)))
                if until > now
                    && session.refresh_expires_at > now
                    && session.absolute_expires_at > now =>
            {
                RotateOutcome::Grace { session, sealed }
            }
            Some((session, ..)) => {
                tx.execute(
                    "UPDATE sessions SET revoked_at = ?2, grace_tokens = NULL, grace_until = NULL
                     WHERE id = ?1",
                    params![session.id, now],
                )?;
                RotateOutcome::Reused {
                    session_id: session.id,
                    operator_id: session.operator_id,
                }
            }
            None => RotateOutcome::Invalid,
        };
        audit::commit(tx, &self.alert_rules())?;
        Ok(outcome)
    }

    fn clear_refresh_grace(&self, now: UnixTime) -> Result<()> {
        // Ask a reader first: the writer bumps the epoch, which empties the auth cache.
        let any: bool = self.reader().query_row(
            "SELECT EXISTS (SELECT 1 FROM sessions WHERE grace_until <= ?1)",
            [now],
            |r| r.get(0),
        )?;
        if any {
            self.conn().execute(CLEAR_ENDED_GRACE, [now])?;
        }
        Ok(())
    }

    fn upgrade_session(&self, id: i64, r: &Rotation, restrictions: &[String]) -> Result<()> {
        self.conn().execute(
            "UPDATE sessions SET access_hash = ?2, access_expires_at = ?3,
                 prev_refresh_hash = refresh_hash, refresh_hash = ?4,
                 refresh_expires_at = MIN(?5, absolute_expires_at), restrictions = ?6,
                 grace_tokens = NULL, grace_until = NULL
             WHERE id = ?1",
            params![
                id,
                r.access_hash,
                r.access_expires_at,
                r.refresh_hash,
                r.refresh_expires_at,
                restrictions.join(",")
            ],
        )?;
        Ok(())
    }

    fn revoke_session(&self, id: i64, now: UnixTime) -> Result<()> {
        self.conn().execute(
            "UPDATE sessions SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, now],
        )?;
        Ok(())
    }

    fn revoke_operator_sessions(
        &self,
        operator_id: i64,
        keep: Option<i64>,
        now: UnixTime,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE sessions SET revoked_at = ?2
             WHERE operator_id = ?1 AND revoked_at IS NULL AND id IS NOT ?3",
            params![operator_id, now, keep],
        )?;
        Ok(())
    }

    fn list_roles(&self) -> Result<Vec<Role>> {
        let conn = self.reader();
        let mut stmt = conn.prepare(
            "SELECT r.name, r.description, r.builtin, COALESCE(group_concat(p.permission, ','), '')
             FROM roles r LEFT JOIN (SELECT * FROM role_permissions ORDER BY permission) p ON p.role = r.name
             GROUP BY r.name ORDER BY r.builtin DESC, r.name",
        )?;
        let rows = stmt.query_map([], role_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn role(&self, name: &str) -> Result<Option<Role>> {
        Ok(self
            .reader()
            .query_row(
                "SELECT r.name, r.description, r.builtin, COALESCE(group_concat(p.permission, ','), '')
                 FROM roles r LEFT JOIN (SELECT * FROM role_permissions ORDER BY permission) p ON p.role = r.name
                 WHERE r.name = ?1 GROUP BY r.name",
                [name],
                role_row,
            )
            .optional()?)
    }

    fn write_roles(&self, upserts: &[Role], deletes: &[String]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let builtin = |tx: &rusqlite::Transaction<'_>, name: &str| -> Result<bool> {
            Ok(tx
                .query_row("SELECT builtin FROM roles WHERE name = ?1", [name], |r| {
                    r.get::<_, bool>(0)
                })
                .optional()?
                .unwrap_or(false))
        };
        for name in deletes {
            if builtin(&tx, name)? {
                return Err(StoreError::Refused(format!(
                    "built-in role {name:?} cannot be deleted"
                )));
            }
            let holders: i64 = tx.query_row(
                "SELECT COUNT(*) FROM operator_roles WHERE role = ?1",
                [name],
                |r| r.get(0),
            )?;
            if holders > 0 {
                return Err(StoreError::Refused(format!(
                    "role {name:?} is still held by {holders} operator(s); revoke it first"
                )));
            }
            tx.execute("DELETE FROM roles WHERE name = ?1", [name])?;
        }
        for role in upserts {
            if builtin(&tx, &role.name)? {
                return Err(StoreError::Refused(format!(
                    "built-in role {:?} cannot be changed",
                    role.name
                )));
            }
            tx.execute(
                "INSERT INTO roles (name, description, builtin) VALUES (?1, ?2, 0)
                 ON CONFLICT(name) DO UPDATE SET description = excluded.description",
                params![role.name, role.description],
            )?;
            tx.execute("DELETE FROM role_permissions WHERE role = ?1", [&role.name])?;
            for p in &role.permissions {
                tx.execute(
                    "INSERT INTO role_permissions (role, permission) VALUES (?1, ?2)",
                    params![role.name, p],
                )?;
            }
        }
        audit::commit(tx, &self.alert_rules())?;
        Ok(())
    }

    fn list_operators(&self, after_id: i64, limit: u32) -> Result<Vec<Operator>> {
        let conn = self.reader();
        let mut stmt = conn.prepare(&format!(
            "SELECT {OPERATOR_COLUMNS} FROM operators WHERE id > ?1 ORDER BY id LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![after_id, limit], operator_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn role_holders(&self) -> Result<Vec<RoleHolder>> {
        let conn = self.reader();
        let mut stmt = conn.prepare(
            "SELECT o.id, o.username, group_concat(r.role, ',')
             FROM operators o JOIN operator_roles r ON r.operator_id = o.id
             GROUP BY o.id ORDER BY o.id",
        )?;
        let rows = stmt.query_map([], |r| {
            let roles: String = r.get(2)?;
            let mut roles = split_list(&roles);
            roles.sort();
            Ok(RoleHolder {
                id: r.get(0)?,
                username: r.get(1)?,
                roles,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn change_roles(&self, operator_id: i64, grant: &[String], revoke: &[String]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for role in grant {
            let exists: Option<i64> = tx
                .query_row("SELECT 1 FROM roles WHERE name = ?1", [role], |r| r.get(0))
                .optional()?;
            if exists.is_none() {
                return Err(StoreError::Refused(format!("no role named {role:?}")));
            }
            tx.execute(
                "INSERT OR IGNORE INTO operator_roles (operator_id, role) VALUES (?1, ?2)",
                params![operator_id, role],
            )?;
        }
        for role in revoke {
            tx.execute(
                "DELETE FROM operator_roles WHERE operator_id = ?1 AND role = ?2",
                params![operator_id, role],
            )?;
        }
        ensure_an_owner(&tx)?;
        audit::commit(tx, &self.alert_rules())?;
        Ok(())
    }

    fn set_operator_disabled(&self, operator_id: i64, disabled: bool) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE operators SET disabled = ?2 WHERE id = ?1",
            params![operator_id, disabled],
        )?;
        ensure_an_owner(&tx)?;
        audit::commit(tx, &self.alert_rules())?;
        Ok(())
    }

    fn delete_operator(&self, operator_id: i64) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM operators WHERE id = ?1", [operator_id])?;
        ensure_an_owner(&tx)?;
        audit::commit(tx, &self.alert_rules())?;
        Ok(())
    }

    fn create_service_token(&self, t: &NewServiceToken, now: UnixTime) -> Result<i64> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO service_tokens (name, token_hash, created_by, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![t.name, t.token_hash, t.created_by, now, t.expires_at],
        )?;
        let id = tx.last_insert_rowid();
        for p in &t.scopes {
            tx.execute(
                "INSERT OR IGNORE INTO service_token_scopes (token_id, permission) VALUES (?1, ?2)",
                params![id, p],
            )?;
        }
        audit::commit(tx, &self.alert_rules())?;
        Ok(id)
    }

    fn service_token_by_hash(&self, hash: &str, now: UnixTime) -> Result<Option<LiveServiceToken>> {
        let conn = self.reader();
        let found: Option<(i64, i64, i64)> = conn
            .query_row(
                "SELECT id, created_by, expires_at FROM service_tokens
                 WHERE token_hash = ?1 AND revoked_at IS NULL AND expires_at > ?2",
                params![hash, now],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((id, created_by, expires_at)) = found else {
            return Ok(None);
        };
        let mut stmt = conn.prepare(
            "SELECT permission FROM service_token_scopes WHERE token_id = ?1 ORDER BY permission",
        )?;
        let scopes = stmt
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(Some(LiveServiceToken {
            id,
            created_by,
            expires_at,
            scopes,
        }))
    }

    fn touch_service_token(
        &self,
        id: i64,
        addr: Option<&str>,
        now: UnixTime,
    ) -> Result<Option<String>> {
        let conn = self.conn();
        let prev: Option<String> = conn
            .query_row(
                "SELECT last_used_addr FROM service_tokens WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        conn.execute(
            "UPDATE service_tokens SET last_used_at = ?2, last_used_addr = ?3 WHERE id = ?1",
            params![id, now, addr],
        )?;
        Ok(prev)
    }

    fn list_service_tokens(&self) -> Result<Vec<ServiceToken>> {
        let conn = self.reader();
        let mut stmt = conn.prepare(&format!("{SERVICE_TOKEN_SELECT} ORDER BY t.id"))?;
        let rows = stmt.query_map([], service_token_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn service_token(&self, id: i64) -> Result<Option<ServiceToken>> {
        Ok(self
            .reader()
            .query_row(
                &format!("{SERVICE_TOKEN_SELECT} WHERE t.id = ?1"),
                [id],
                service_token_row,
            )
            .optional()?)
    }

    fn revoke_service_token(&self, id: i64, now: UnixTime) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE service_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, now],
        )?;
        audit::commit(tx, &self.alert_rules())?;
        Ok(n == 1)
    }

    fn append_event(&self, e: &AuthEvent, now: UnixTime) -> Result<()> {
        // The authentication event and its audit-log entry commit together: if the audit
        // insert fails, the login step fails (fail-closed).
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO auth_events (at, operator_id, username, event, outcome, source_addr,
                 request_id, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                now,
                e.operator_id,
                e.username,
                e.event,
                e.outcome,
                e.source_addr,
                e.request_id,
                e.detail
            ],
        )?;
        if let Some(a) = crate::store::audit::from_auth_event(e) {
            audit::insert(&tx, &a, &self.alert_rules())?;
        }
        tx.commit()?;
        Ok(())
    }

    fn append_audit(&self, e: &crate::store::audit::NewAudit) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        audit::insert(&tx, e, &self.alert_rules())?;
        tx.commit()?;
        Ok(())
    }

    fn audit_events(
        &self,
        q: &crate::store::audit::EventFilter,
    ) -> Result<Vec<imadm_api::audit::AuditEvent>> {
        let mut out = Vec::new();
        self.audit_rows(q, |r| {
            out.push(imadm_api::audit::AuditEvent {
                seq: r.get::<_, i64>(0)? as u64,
                at: imadm_api::audit::format_at(r.get(1)?),
                actor_type: r.get(2)?,
                actor: r.get(3)?,
                source: r.get(4)?,
                action: r.get(5)?,
                target: r.get(6)?,
                outcome: r.get(7)?,
                request_id: r.get(8)?,
                detail: r.get(9)?,
                hash: r.get(10)?,
            });
            Ok(())
        })?;
        Ok(out)
    }

    fn audit_events_json(
        &self,
        q: &crate::store::audit::EventFilter,
        out: &mut Vec<u8>,
    ) -> Result<(u32, Option<u64>)> {
        // Written by hand in `AuditEvent`'s field order: a third of the page's cost was
        // serde's per-field machinery. Strings without a character JSON must escape are
        // copied as they are; any other goes through serde_json, so the output stays
        // byte-identical to serialising the struct (unit test in `http/audit.rs`).
        fn string(out: &mut Vec<u8>, s: &str) -> rusqlite::Result<()> {
            if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
                out.push(b'"');
                out.extend_from_slice(s.as_bytes());
                out.push(b'"');
                Ok(())
            } else {
                serde_json::to_writer(&mut *out, s)
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
            }
        }
        fn field(out: &mut Vec<u8>, key: &[u8], v: Option<&str>) -> rusqlite::Result<()> {
            out.extend_from_slice(key);
            match v {
                Some(s) => string(out, s),
                None => {
                    out.extend_from_slice(b"null");
                    Ok(())
                }
            }
        }
        let (mut n, mut last) = (0u32, None);
        let mut at = String::with_capacity(24);
        self.audit_rows(q, |r| {
            let text = |i: usize| r.get_ref(i).and_then(|v| Ok(Some(v.as_str()?)));
            let opt = |i: usize| r.get_ref(i).and_then(|v| Ok(v.as_str_or_null()?));
            let seq = r.get::<_, i64>(0)? as u64;
            at.clear();
            imadm_api::audit::format_at_into(&mut at, r.get(1)?);
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"seq\":");
            out.extend_from_slice(seq.to_string().as_bytes());
            field(out, b",\"at\":", Some(&at))?;
            field(out, b",\"actor_type\":", text(2)?)?;
            field(out, b",\"actor\":", text(3)?)?;
            field(out, b",\"source\":", opt(4)?)?;
            field(out, b",\"action\":", text(5)?)?;
            field(out, b",\"target\":", opt(6)?)?;
            field(out, b",\"outcome\":", text(7)?)?;
            field(out, b",\"request_id\":", opt(8)?)?;
            field(out, b",\"detail\":", opt(9)?)?;
            field(out, b",\"hash\":", text(10)?)?;
            out.push(b'}');
            n += 1;
            last = Some(seq);
            Ok(())
        })?;
        Ok((n, last))
    }

    fn audit_hash_at(&self, seq: Option<u64>) -> Result<Option<(u64, String)>> {
        let conn = self.reader();
        let row = match seq {
            Some(s) => conn
                .prepare_cached("SELECT seq, hash FROM audit_log WHERE seq = ?1")?
                .query_row([s as i64], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))
                .optional()?,
            None => conn
                .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
                .query_row([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))
                .optional()?,
        };
        Ok(row)
    }

    fn audit_range(&self, since_ms: Option<i64>, until_ms: Option<i64>) -> Result<(u64, u64, u64)> {
        let conn = self.reader();
        let (first, last, count): (Option<i64>, Option<i64>, i64) = conn
            .prepare_cached(
                "SELECT min(seq), max(seq), count(*) FROM audit_log
                 WHERE (?1 IS NULL OR at_ms >= ?1) AND (?2 IS NULL OR at_ms <= ?2)",
            )?
            .query_row(params![since_ms, until_ms], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        Ok((
            first.unwrap_or(0) as u64,
            last.unwrap_or(0) as u64,
            count as u64,
        ))
    }

    fn alerts(&self, f: &AlertFilter) -> Result<Vec<imadm_api::audit::Alert>> {
        let states = (!f.states.is_empty()).then(|| f.states.join(","));
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "{ALERT_SELECT}
             WHERE a.id > ?1 AND (?2 IS NULL OR a.at_ms >= ?2)
               AND (CASE a.severity WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END) >= ?3
               AND (?4 IS NULL OR instr(',' || ?4 || ',', ',' || coalesce(e.state, 'open') || ',') > 0)
             ORDER BY a.id LIMIT ?5"
        ))?;
        let rows = stmt.query_map(
            params![f.after as i64, f.since_ms, f.min_rank, states, f.limit],
            alert_row,
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn alert(&self, id: u64) -> Result<Option<imadm_api::audit::Alert>> {
        Ok(self
            .reader()
            .prepare_cached(&format!("{ALERT_SELECT} WHERE a.id = ?1"))?
            .query_row([id as i64], alert_row)
            .optional()?)
    }

    fn change_alert_state(&self, ch: &AlertStateChange<'_>) -> Result<AlertChanged> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let Some(current) = tx
            .prepare_cached(&format!("{ALERT_SELECT} WHERE a.id = ?1"))?
            .query_row([ch.id as i64], alert_row)
            .optional()?
        else {
            return Ok(AlertChanged::NotFound);
        };
        if !ch.from.contains(&current.state.as_str()) {
            return Ok(AlertChanged::Refused(current.state));
        }
        tx.execute(
            "INSERT INTO alert_events (alert_id, state, actor, note, at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![ch.id as i64, ch.to, ch.actor, ch.note, ch.at_ms],
        )?;
        let alert = tx
            .prepare_cached(&format!("{ALERT_SELECT} WHERE a.id = ?1"))?
            .query_row([ch.id as i64], alert_row)?;
        let rules = self.alert_rules();
        if alert.state == imadm_api::audit::ALERT_RESOLVED {
            notify::enqueue_alert(&tx, &rules.notify_routes, &alert, None, ch.at_ms)?;
        }
        audit::commit(tx, &rules)?;
        Ok(AlertChanged::Changed(Box::new(alert)))
    }

    fn sink_cursor(&self, name: &str) -> Result<Option<(u64, String)>> {
        Ok(self
            .reader()
            .prepare_cached("SELECT seq, hash FROM audit_sink_cursors WHERE name = ?1")?
            .query_row([name], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))
            .optional()?)
    }

    fn set_sink_cursor(&self, name: &str, seq: u64, hash: &str, now_ms: i64) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT INTO audit_sink_cursors (name, seq, hash, at_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(name) DO UPDATE
                   SET seq = excluded.seq, hash = excluded.hash, at_ms = excluded.at_ms",
            )?
            .execute(params![name, seq as i64, hash, now_ms])?;
        Ok(())
    }

    fn last_login_addresses(&self) -> Result<Vec<(i64, String)>> {
        let conn = self.reader();
        let mut stmt = conn.prepare(
            "SELECT operator_id, addr FROM (
                 SELECT operator_id, addr, row_number() OVER (
                     PARTITION BY operator_id ORDER BY last_login_at DESC, addr) AS n
                 FROM operator_addresses)
             WHERE n = 1 ORDER BY operator_id",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn add_attestation(
        &self,
        a: &imadm_api::access::AttestationCreate,
        recorded_by: &str,
        now: UnixTime,
    ) -> Result<i64> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO access_attestations (reviewer, recorded_by, review_sha256, signature,
                 attested_at, operators, tokens, keep, revoke)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                a.reviewer,
                recorded_by,
                a.review_sha256,
                a.signature,
                now,
                a.operators,
                a.tokens,
                a.keep,
                a.revoke
            ],
        )?;
        let id = tx.last_insert_rowid();
        audit::commit(tx, &self.alert_rules())?;
        Ok(id)
    }

    fn attestations(&self, limit: u32) -> Result<Vec<imadm_api::access::Attestation>> {
        let conn = self.reader();
        let mut stmt = conn.prepare(
            "SELECT id, reviewer, recorded_by, review_sha256, signature, attested_at,
                    operators, tokens, keep, revoke
             FROM access_attestations ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok(imadm_api::access::Attestation {
                id: r.get(0)?,
                reviewer: r.get(1)?,
                recorded_by: r.get(2)?,
                review_sha256: r.get(3)?,
                signature: r.get(4)?,
                attested_at: r.get(5)?,
                operators: r.get(6)?,
                tokens: r.get(7)?,
                keep: r.get(8)?,
                revoke: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn audit_lag(&self, after: u64) -> Result<(u64, Option<i64>)> {
        let conn = self.reader();
        let (head, oldest): (Option<i64>, Option<i64>) = conn
            .prepare_cached(
                "SELECT (SELECT max(seq) FROM audit_log),
                        (SELECT at_ms FROM audit_log WHERE seq = ?1 + 1)",
            )?
            .query_row([after as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok((head.unwrap_or(0) as u64, oldest))
    }

    fn raise_alert(&self, alert: &crate::store::audit::SystemAlert) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        crate::store::audit::raise_system_alert(
            &*tx,
            alert,
            crate::store::audit::now_ms(),
            &self.alert_rules(),
        )?;
        tx.commit()?;
        Ok(())
    }

    fn save_checkpoint(&self, cp: &imadm_api::audit::Checkpoint) -> Result<()> {
        self.conn().execute(
            "INSERT INTO audit_checkpoints (seq, head, at, server_id, signature)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![cp.seq as i64, cp.head, cp.at, cp.server_id, cp.signature],
        )?;
        Ok(())
    }

    fn recent_events(&self, limit: u32) -> Result<Vec<StoredEvent>> {
        let conn = self.reader();
        let mut stmt = conn.prepare(
            "SELECT id, at, operator_id, username, event, outcome, source_addr, request_id, detail
             FROM auth_events ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok(StoredEvent {
                id: r.get(0)?,
                at: r.get(1)?,
                event: AuthEvent {
                    operator_id: r.get(2)?,
                    username: r.get(3)?,
                    event: r.get(4)?,
                    outcome: r.get(5)?,
                    source_addr: r.get(6)?,
                    request_id: r.get(7)?,
                    detail: r.get(8)?,
                },
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// A service token with its scopes and its creator's name, for [`service_token_row`].
const SERVICE_TOKEN_SELECT: &str = "SELECT t.id, t.name,
        COALESCE((SELECT group_concat(permission, ',') FROM
            (SELECT permission FROM service_token_scopes s WHERE s.token_id = t.id ORDER BY permission)), ''),
        o.username, t.created_at, t.expires_at, t.last_used_at, t.last_used_addr,
        t.revoked_at IS NOT NULL
    FROM service_tokens t JOIN operators o ON o.id = t.created_by";

fn service_token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ServiceToken> {
    let scopes: String = r.get(2)?;
    Ok(ServiceToken {
        id: r.get(0)?,
        name: r.get(1)?,
        scopes: split_list(&scopes),
        created_by: r.get(3)?,
        created_at: r.get(4)?,
        expires_at: r.get(5)?,
        last_used_at: r.get(6)?,
        last_used_addr: r.get(7)?,
        revoked: r.get(8)?,
    })
}

fn role_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Role> {
    let perms: String = r.get(3)?;
    Ok(Role {
        name: r.get(0)?,
        description: r.get(1)?,
        builtin: r.get(2)?,
        permissions: split_list(&perms),
    })
}

/// The invariant behind "the last owner cannot be removed or demoted": at least one
/// enabled operator holds `owner`. Checked inside the transaction that changes it.
fn ensure_an_owner(tx: &rusqlite::Transaction<'_>) -> Result<()> {
    let owners: i64 = tx.query_row(
        "SELECT COUNT(*) FROM operator_roles r JOIN operators o ON o.id = r.operator_id
         WHERE r.role = 'owner' AND o.disabled = 0",
        [],
        |r| r.get(0),
    )?;
    if owners == 0 {
        return Err(StoreError::Refused(
            "this would leave no enabled owner; grant `owner` to another operator first".into(),
        ));
    }
    Ok(())
}

fn replace_codes(tx: &rusqlite::Transaction<'_>, id: i64, hashes: &[String]) -> Result<()> {
    tx.execute("DELETE FROM recovery_codes WHERE operator_id = ?1", [id])?;
    for h in hashes {
        tx.execute(
            "INSERT INTO recovery_codes (operator_id, code_hash) VALUES (?1, ?2)",
            params![id, h],
        )?;
    }
    Ok(())
}

impl super::throttle::ThrottleStore for SqliteStore {
    fn update_counters(
        &self,
        keys: &[super::throttle::CounterKey],
        f: &mut dyn FnMut(&mut super::throttle::Slots),
    ) -> Result<()> {
        self.counters.update_counters(keys, f)
    }
}

impl super::approval::ApprovalStore for SqliteStore {
    fn start_grant(
        &self,
        grant: &super::approval::StoredGrant,
        now: i64,
        admit: &mut dyn FnMut(&super::approval::Census) -> bool,
    ) -> Result<super::approval::Start> {
        self.approvals.start_grant(grant, now, admit)
    }

    fn update_grant(
        &self,
        key: super::approval::GrantKey<'_>,
        now: i64,
        f: &mut dyn FnMut(&mut Option<super::approval::StoredGrant>),
    ) -> Result<()> {
        self.approvals.update_grant(key, now, f)
    }

    fn add_step_up_token(&self, token: &super::approval::StoredToken) -> Result<()> {
        self.approvals.add_step_up_token(token)
    }

    fn take_step_up_token(
        &self,
        hash: &str,
        operator_id: i64,
        session_id: i64,
        now: i64,
    ) -> Result<Option<super::approval::StoredToken>> {
        self.approvals
            .take_step_up_token(hash, operator_id, session_id, now)
    }
}

impl super::Backend for SqliteStore {
    fn lease(&self, _duty: &str) -> Box<dyn super::Lease> {
        Box::new(super::SoleLease)
    }

    fn instance_lock(&self, _exclusive: bool) -> Box<dyn super::InstanceLock> {
        Box::new(super::SoleInstance)
    }

    fn set_alert_rules(&self, rules: crate::store::audit::AlertRules) {
        SqliteStore::set_alert_rules(self, rules)
    }

    fn set_notify_routes(&self, routes: Vec<super::notify::Route>) {
        SqliteStore::set_notify_routes(self, routes)
    }

    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn reads_inline(&self) -> bool {
        true
    }

    fn schema_version(&self) -> u32 {
        SqliteStore::latest_version() as u32
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

    /// TOTP is disabled only beside a passkey (unless the caller allows the last factor to
    /// go); a passkey is found by its credential id, whoever's it is.
    #[test]
    fn disabling_totp_keeps_the_last_second_factor() {
        use crate::store::passkey::PasskeyStore;
        let (_dir, s) = store();
        let op = s.create_operator("alice", "h", false, &[], 1).unwrap();
        s.set_totp_secret(op, b"totp").unwrap();
        assert_eq!(s.disable_totp(op, true).unwrap(), Removal::LastFactor);
        assert!(s.operator_by_id(op).unwrap().unwrap().totp_secret.is_some());
        let k = s.add_passkey(op, "k", "cred-k", &|_| vec![1], 2).unwrap();
        assert_eq!(s.passkey_by_credential("cred-k").unwrap().unwrap().id, k.id);
        assert!(s.passkey_by_credential("cred-x").unwrap().is_none());
        assert_eq!(s.disable_totp(op, true).unwrap(), Removal::Removed);
        assert!(s.operator_by_id(op).unwrap().unwrap().totp_secret.is_none());
        // Now the passkey is the last factor.
        assert_eq!(
            s.remove_passkey(op, k.id, false).unwrap(),
            Removal::LastFactor
        );
        s.set_totp_secret(op, b"totp").unwrap();
        s.reset_mfa(op).unwrap();
        assert_eq!(s.disable_totp(op, false).unwrap(), Removal::Removed);
    }

    /// The database and the WAL and shared-memory files SQLite makes beside it are 0600,
    /// whatever the umask; an older, world-readable file is tightened at open.
    #[test]
    fn database_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("imadm.db");
        let s = SqliteStore::open(&path).unwrap();
        s.set_setting("k", "v").unwrap();
        for p in [path.clone(), wal_path(&path), shm_path(&path)] {
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
        drop(s);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let _s = SqliteStore::open(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn migrations_are_idempotent_and_set_user_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("imadm.db");
        drop(SqliteStore::open(&path).unwrap());
        let s = SqliteStore::open(&path).unwrap();
        let v: i64 = s
            .conn()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v as usize, SqliteStore::latest_version());
        let mode: String = s
            .conn()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    /// Migration 8 on a version 7 file with data: rows, references and cascades survive
    /// the rebuild, and from then on a deleted operator's, session's or token's id (even
    /// the largest) is never given again.
    #[test]
    fn ids_are_never_reused_after_migration_8() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("imadm.db");
        {
            let c = Connection::open(&path).unwrap();
            for sql in &MIGRATIONS[..7] {
                c.execute_batch(sql).unwrap();
            }
            c.execute_batch(
                "PRAGMA user_version = 7;
                 INSERT INTO roles VALUES ('owner', 'o', 1);
                 INSERT INTO operators (id, username, password_hash, created_at)
                     VALUES (1, 'a', 'h', 1), (2, 'b', 'h', 1);
                 INSERT INTO operator_roles VALUES (1, 'owner'), (2, 'owner');
                 INSERT INTO recovery_codes VALUES (2, 'c', NULL);
                 INSERT INTO sessions (id, operator_id, access_hash, access_expires_at,
                     refresh_hash, refresh_expires_at, absolute_expires_at, created_at,
                     grace_until)
                     VALUES (5, 2, 'a5', 9, 'r5', 9, 9, 1, 3);
                 INSERT INTO service_tokens (id, name, token_hash, created_by, created_at,
                     expires_at) VALUES (7, 't', 'th', 2, 1, 9);
                 INSERT INTO service_token_scopes VALUES (7, 'user:read');",
            )
            .unwrap();
        }
        let s = SqliteStore::open(&path).unwrap();
        let q = |sql: &str| -> i64 { s.conn().query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(
            q("SELECT count(*) FROM sessions WHERE id = 5 AND grace_until = 3"),
            1
        );
        assert_eq!(q("SELECT count(*) FROM pragma_foreign_key_check"), 0);
        let fk: i64 = s
            .conn()
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1, "foreign keys are back on after the migrations");
        // Deleting b (the largest id) cascades to its codes, session, token and scopes ...
        s.delete_operator(2).unwrap();
        for t in [
            "recovery_codes",
            "sessions",
            "service_tokens",
            "service_token_scopes",
        ] {
            assert_eq!(q(&format!("SELECT count(*) FROM {t}")), 0, "{t}");
        }
        // ... and its id, the session's and the token's are not given again.
        assert_eq!(s.create_operator("c", "h", false, &[], 2).unwrap(), 3);
        let sid = s
            .create_session(
                &NewSession {
                    operator_id: 3,
                    access_hash: "a".into(),
                    access_expires_at: 9,
                    refresh_hash: "r".into(),
                    refresh_expires_at: 9,
                    absolute_expires_at: 9,
                    restrictions: vec![],
                    source_addr: None,
                },
                2,
            )
            .unwrap();
        assert_eq!(sid, 6);
        let tid = s
            .create_service_token(
                &NewServiceToken {
                    name: "t2".into(),
                    token_hash: "th2".into(),
                    created_by: 3,
                    expires_at: 9,
                    scopes: vec![],
                },
                2,
            )
            .unwrap();
        assert_eq!(tid, 8);
    }

    #[test]
    fn totp_step_can_be_consumed_once_and_only_forward() {
        let (_d, s) = store();
        let id = s.create_operator("a", "h", false, &["owner"], 0).unwrap();
        assert!(s.consume_totp_step(id, 10).unwrap());
        assert!(!s.consume_totp_step(id, 10).unwrap());
        assert!(!s.consume_totp_step(id, 9).unwrap());
        assert!(s.consume_totp_step(id, 11).unwrap());
    }

    /// A store with one operator and one session (refresh token hash `r1`, absolute
    /// expiry 5000), and the rotation that issues `a{n}` / `r{n}`.
    fn store_with_session() -> (tempfile::TempDir, SqliteStore, i64) {
        let (d, s) = store();
        let id = s.create_operator("a", "h", false, &["owner"], 0).unwrap();
        let sid = s
            .create_session(
                &NewSession {
                    operator_id: id,
                    access_hash: "a1".into(),
                    access_expires_at: 100,
                    refresh_hash: "r1".into(),
                    refresh_expires_at: 1000,
                    absolute_expires_at: 5000,
                    restrictions: vec![],
                    source_addr: None,
                },
                0,
            )
            .unwrap();
        (d, s, sid)
    }

    fn rot(n: &str) -> Rotation {
        Rotation {
            access_hash: format!("a{n}"),
            access_expires_at: 200,
            refresh_hash: format!("r{n}"),
            refresh_expires_at: 9000,
        }
    }

    /// No grace window: what a zero `refresh_grace` passes.
    const NO_GRACE: Grace<'static> = Grace {
        until: 0,
        seal: &|_| unreachable!("nothing is sealed without a window"),
    };

    #[test]
    fn refresh_rotation_detects_reuse_and_revokes() {
        let (_d, s, sid) = store_with_session();
        match s.rotate_refresh("r1", &rot("2"), 50, &NO_GRACE).unwrap() {
            RotateOutcome::Rotated(sess) => {
                assert_eq!(sess.id, sid);
                // idle expiry is capped by the absolute expiry
                assert_eq!(sess.refresh_expires_at, 5000);
            }
            other => panic!("{other:?}"),
        }
        assert!(s.session_by_access_hash("a1").unwrap().is_none());
        assert!(matches!(
            s.rotate_refresh("r1", &rot("3"), 60, &NO_GRACE).unwrap(),
            RotateOutcome::Reused { .. }
        ));
        assert!(s.session_by_access_hash("a2").unwrap().unwrap().revoked);
        assert!(matches!(
            s.rotate_refresh("r2", &rot("4"), 70, &NO_GRACE).unwrap(),
            RotateOutcome::Invalid
        ));
    }

    fn grace_columns(s: &SqliteStore, sid: i64) -> (Option<Vec<u8>>, Option<i64>) {
        s.reader()
            .query_row(
                "SELECT grace_tokens, grace_until FROM sessions WHERE id = ?1",
                [sid],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
    }

    #[test]
    fn the_rotated_refresh_token_gets_the_same_sealed_pair_within_the_window_only() {
        let (_d, s, sid) = store_with_session();
        let seal = |id: i64| format!("pair of session {id}").into_bytes();
        let grace = |until| Grace { until, seal: &seal };
        assert!(matches!(
            s.rotate_refresh("r1", &rot("2"), 50, &grace(80)).unwrap(),
            RotateOutcome::Rotated(_)
        ));
        assert_eq!(
            grace_columns(&s, sid),
            (
                Some(format!("pair of session {sid}").into_bytes()),
                Some(80)
            )
        );
        // Within the window, as often as it comes: the pair, nothing rotated or revoked.
        for now in [50, 79] {
            match s
                .rotate_refresh("r1", &rot("x"), now, &grace(now + 30))
                .unwrap()
            {
                RotateOutcome::Grace { session, sealed } => {
                    assert_eq!(session.id, sid);
                    assert!(!session.revoked);
                    assert_eq!(sealed, format!("pair of session {sid}").into_bytes());
                }
                other => panic!("at {now}: {other:?}"),
            }
        }
        assert!(s.session_by_access_hash("ax").unwrap().is_none());
        assert!(!s.session_by_access_hash("a2").unwrap().unwrap().revoked);
        // The window ends at `until`: the same token now revokes, and the pair is gone.
        assert!(matches!(
            s.rotate_refresh("r1", &rot("y"), 80, &grace(110)).unwrap(),
            RotateOutcome::Reused { .. }
        ));
        assert!(s.session_by_access_hash("a2").unwrap().unwrap().revoked);
        assert_eq!(grace_columns(&s, sid), (None, None));
    }

    #[test]
    fn only_the_latest_rotated_token_has_a_window_and_ended_windows_are_cleared() {
        let (_d, s, sid) = store_with_session();
        let seal = |_| b"sealed".to_vec();
        let grace = |until| Grace { until, seal: &seal };
        s.rotate_refresh("r1", &rot("2"), 50, &grace(80)).unwrap();
        s.rotate_refresh("r2", &rot("3"), 60, &grace(90)).unwrap();
        // r1 is two rotations old: unknown now (not a grace hit, even within its window).
        assert!(matches!(
            s.rotate_refresh("r1", &rot("x"), 61, &grace(91)).unwrap(),
            RotateOutcome::Invalid
        ));
        assert!(matches!(
            s.rotate_refresh("r2", &rot("x"), 61, &grace(91)).unwrap(),
            RotateOutcome::Grace { .. }
        ));
        // A restriction lift rotates without a window.
        s.upgrade_session(sid, &rot("4"), &[]).unwrap();
        assert_eq!(grace_columns(&s, sid), (None, None));
        assert!(matches!(
            s.rotate_refresh("r3", &rot("x"), 62, &grace(92)).unwrap(),
            RotateOutcome::Reused { .. }
        ));

        let (_d, s, sid) = store_with_session();
        s.rotate_refresh("r1", &rot("2"), 50, &grace(80)).unwrap();
        s.clear_refresh_grace(79).unwrap();
        assert_eq!(
            grace_columns(&s, sid).1,
            Some(80),
            "still within the window"
        );
        s.clear_refresh_grace(80).unwrap();
        assert_eq!(grace_columns(&s, sid), (None, None));
    }

    #[test]
    fn auth_events_are_append_only() {
        let (_d, s) = store();
        s.append_event(
            &AuthEvent {
                event: "login".into(),
                outcome: "failure".into(),
                ..Default::default()
            },
            1,
        )
        .unwrap();
        let conn = s.conn();
        assert!(conn.execute("DELETE FROM auth_events", []).is_err());
        assert!(
            conn.execute("UPDATE auth_events SET outcome = 'success'", [])
                .is_err()
        );
    }

    #[test]
    fn no_change_may_leave_zero_enabled_owners() {
        let (_d, s) = store();
        let a = s.create_operator("a", "h", false, &["owner"], 0).unwrap();
        let b = s.create_operator("b", "h", false, &["support"], 0).unwrap();
        let refused = |r: Result<()>| matches!(r, Err(StoreError::Refused(_)));
        assert!(refused(s.change_roles(a, &[], &["owner".into()])));
        assert!(refused(s.set_operator_disabled(a, true)));
        assert!(refused(s.delete_operator(a)));
        assert_eq!(
            s.operator_roles(a).unwrap(),
            ["owner"],
            "a refused change must roll back"
        );
        // With a second enabled owner, the first may go.
        s.change_roles(b, &["owner".into()], &[]).unwrap();
        s.set_operator_disabled(a, true).unwrap();
        assert!(refused(s.set_operator_disabled(b, true)));
        assert!(refused(s.change_roles(b, &[], &["owner".into()])));
    }

    #[test]
    fn roles_held_or_built_in_cannot_be_deleted_and_writes_are_atomic() {
        let (_d, s) = store();
        let role = |name: &str, perms: &[&str]| Role {
            name: name.into(),
            description: String::new(),
            builtin: false,
            permissions: perms.iter().map(|p| p.to_string()).collect(),
        };
        s.write_roles(&[role("ops", &["user:read"])], &[]).unwrap();
        let op = s.create_operator("o", "h", false, &["owner"], 0).unwrap();
        s.change_roles(op, &["ops".into()], &[]).unwrap();
        assert!(matches!(
            s.write_roles(&[], &["ops".into()]),
            Err(StoreError::Refused(_))
        ));
        assert!(matches!(
            s.write_roles(&[], &["auditor".into()]),
            Err(StoreError::Refused(_))
        ));
        // One bad item refuses the whole batch: `new` must not appear.
        let r = s.write_roles(&[role("new", &["user:read"]), role("owner", &[])], &[]);
        assert!(matches!(r, Err(StoreError::Refused(_))));
        assert!(s.role("new").unwrap().is_none());
        assert_eq!(s.role("ops").unwrap().unwrap().permissions, ["user:read"]);
    }

    #[test]
    fn role_holders_lists_every_operator_with_all_its_roles() {
        let (_d, s) = store();
        let a = s
            .create_operator("a", "h", false, &["support", "owner"], 0)
            .unwrap();
        s.create_operator("nobody", "h", false, &[], 0).unwrap();
        let c = s.create_operator("c", "h", false, &["auditor"], 0).unwrap();
        s.set_operator_disabled(c, true).unwrap();
        let holder = |id, name: &str, roles: &[&str]| RoleHolder {
            id,
            username: name.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        };
        assert_eq!(
            s.role_holders().unwrap(),
            [
                holder(a, "a", &["owner", "support"]),
                holder(c, "c", &["auditor"])
            ]
        );
    }

    #[test]
    fn read_connections_see_every_committed_write_and_refuse_writes() {
        let (_d, s) = store();
        s.create_operator("a", "h", false, &["owner"], 0).unwrap();
        let b = s.create_operator("b", "h", false, &["support"], 0).unwrap();
        // Twice round the readers: a grant or revoke is seen by the very next read on
        // whichever connection serves it (permissions are looked up per request).
        for _ in 0..READERS * 2 {
            s.change_roles(b, &["admin".into()], &[]).unwrap();
            assert!(
                s.operator_permissions(b)
                    .unwrap()
                    .iter()
                    .any(|p| p == "user:delete")
            );
            s.change_roles(b, &[], &["admin".into()]).unwrap();
            assert_eq!(s.operator_roles(b).unwrap(), ["support"]);
        }
        // With every reader busy, a read waits for one rather than failing.
        let held: Vec<_> = s.readers.iter().map(lock).collect();
        let s2 = &s;
        std::thread::scope(|t| {
            let h = t.spawn(move || s2.operator_roles(b).unwrap());
            std::thread::sleep(std::time::Duration::from_millis(20));
            drop(held);
            assert_eq!(h.join().unwrap(), ["support"]);
        });
        assert!(s.reader().execute("DELETE FROM settings", []).is_err());
    }

    #[test]
    fn duplicate_operator_is_a_conflict() {
        let (_d, s) = store();
        s.create_operator("a", "h", false, &[], 0).unwrap();
        assert!(matches!(
            s.create_operator("a", "h", false, &[], 0),
            Err(StoreError::Conflict(_))
        ));
    }

    #[test]
    fn every_write_moves_the_epoch_and_reads_do_not() {
        let (_d, s) = store();
        let id = s.create_operator("a", "h", false, &["owner"], 0).unwrap();
        let e0 = s.epoch();
        s.operator_permissions(id).unwrap();
        s.operator_by_id(id).unwrap();
        assert_eq!(s.epoch(), e0, "reads keep cached lookups valid");
        s.set_operator_disabled(id, true).unwrap_err(); // the last owner: refused
        let e1 = s.epoch();
        s.create_operator("b", "h", false, &["owner"], 0).unwrap();
        assert!(s.epoch() > e1);
        let e2 = s.epoch();
        s.set_operator_disabled(id, true).unwrap();
        assert!(s.epoch() > e2, "a disable invalidates cached sessions");
        let e3 = s.epoch();
        s.bump_epoch();
        assert!(s.epoch() > e3);
    }
}
