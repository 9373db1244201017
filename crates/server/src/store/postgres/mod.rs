//! The PostgreSQL backend (`imadm server --database`, issue #16). [`PgStore`] connects from a libpq-style URL ([`connect`]), keeps a
//! bounded pool, applies the versioned schema ([`MIGRATIONS`], refusing a newer one), and
//! implements [`Store`](super::Store) (`store.rs`) with its supertraits
//! [`IncidentStore`](super::incident::IncidentStore) (`incident.rs`) and
//! [`PasskeyStore`](super::passkey::PasskeyStore) (`passkey.rs`), and
//! [`NotifyStore`](super::notify::NotifyStore) (`notify.rs`) and
//! [`KeyStore`](super::keys::KeyStore) (`keys.rs`), [`ImStore`](super::im::ImStore)
//! (`im.rs`) and [`BackupStore`](super::restore::BackupStore) (`backup.rs`),
//! [`ThrottleStore`](super::throttle::ThrottleStore) (`throttle.rs`) and
//! [`ApprovalStore`](super::approval::ApprovalStore) (`approval.rs`), and
//! [`Backend`](super::Backend).
//!
//! Its calls wait on the network: `Backend::reads_inline` is false, so the request
//! authentication that SQLite runs inline on an async worker reads the shared epoch on
//! the async runtime instead (`reader.rs`, all a cached session needs) and otherwise runs
//! under `block_in_place` (the driver's own runtime cannot start on a worker).
//!
//! Driver: `postgres` (the synchronous client over `tokio-postgres`, both sfackler's and
//! the de-facto standard) with `r2d2_postgres` for the pool and `tokio-postgres-rustls`
//! for TLS. The store's methods are synchronous and run on tokio's blocking pool, so a
//! blocking client fits the seam as it is: every method checks out a connection, runs
//! one transaction and returns, like the SQLite backend. `sqlx` would bring its own
//! async runtime plumbing and a second set of query macros for one backend; an async
//! pool (`deadpool-postgres`) would need a runtime handle inside every method. TLS is
//! rustls (as everywhere else in imadm): no OpenSSL in the tree.
//!
//! Transactions are READ COMMITTED (PostgreSQL's default): each statement sees what
//! committed before it, which is what the compare-and-set updates (TOTP steps, refresh
//! rotation) rely on, exactly as on SQLite's single writer: the `UPDATE … WHERE` takes
//! the row lock and re-checks its condition on the newest version. The audit chain is
//! serialised on one row (`audit_chain_head`, see `audit.rs`).

mod approval;
mod audit;
mod backup;
pub mod connect;
mod im;
mod incident;
mod keys;
mod lease;
mod notify;
mod passkey;
mod pool;
mod reader;
mod store;
mod throttle;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use r2d2_postgres::{PostgresConnectionManager, r2d2};

use super::{Result, StoreError};

pub(crate) use audit::PgTx;
pub use audit::seed;
pub use backup::remove_stale_scratch;

/// Migration `i` takes the schema from version `i` to `i + 1`; each one is a file, applied
/// with its version row in one transaction.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_passkeys.sql"),
    include_str!("migrations/0003_im_id_bases.sql"),
    include_str!("migrations/0004_epoch.sql"),
    include_str!("migrations/0005_login_throttle.sql"),
    include_str!("migrations/0006_approvals.sql"),
];

/// The SQLite schema version that PostgreSQL version `i + 1` holds the same tables as:
/// archives carry SQLite's numbering, whichever store wrote them, and a restore needs the
/// archive's version to be the live one's. 0001 is SQLite's 13 in one migration; 0003 and
/// 0004 change only PostgreSQL's own sequences, 0005 and 0006 add internal tables. One
/// entry per migration (checked by the array's length).
pub(crate) const SQLITE_VERSIONS: [i64; MIGRATIONS.len()] = [13, 14, 14, 14, 14, 14];

/// The tables of the PostgreSQL schema that are the backend's own machinery, not data:
/// no class in `store::restore::TABLES`, never in a backup (the applied versions, and the
/// audit chain's lock row, login throttling's counters, browser approvals).
pub const INTERNAL_TABLES: &[&str] = &[
    "approval_grants",
    "approval_tokens",
    "audit_chain_head",
    "imadm_schema",
    "login_throttle",
];

/// Connections the pool keeps at most: every request holds one for the length of one
/// store method.
const POOL_SIZE: u32 = 16;
/// How long a method waits for a free connection (or a new one) before failing.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(30);
/// `pg_advisory_xact_lock` key of the migration: instances starting together on one
/// database apply the schema one after the other (the second finds it done).
const MIGRATION_LOCK: i64 = 0x696d_6164_6d00_0001;
/// Session advisory lock key of the instance lock (`lease.rs`): held shared by every
/// serving instance, exclusive by an offline key rotation. Public for the tests that
/// hold it as one of those would.
pub const INSTANCE_LOCK: i64 = 0x696d_6164_6d00_0004;

pub(crate) use pool::Conn;
use pool::{Manager, Pool};

pub struct PgStore {
    /// Always `Some` until dropped (see `Drop`).
    pool: Option<Pool>,
    /// Values `epoch()` answers when the database cannot be read: each a new one, so
    /// no cached lookup is trusted meanwhile.
    unread_epoch: AtomicU64,
    /// Reads on the async runtime (`reader.rs`).
    reader: Arc<reader::AsyncReader>,
    /// The epoch read on it, shared by concurrent requests.
    epoch: Arc<reader::Coalesced<Option<u64>>>,
    rules: RwLock<Arc<crate::store::audit::AlertRules>>,
    /// The URL without its password.
    shown: String,
    /// Where leases connect (`lease.rs`).
    lease_target: lease::LeaseTarget,
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        StoreError::Backend(describe(&e))
    }
}

/// The driver's error with its cause: the server's message and SQLSTATE (it names tables
/// and constraints, never a parameter's value), or the I/O or TLS error underneath.
fn describe(e: &postgres::Error) -> String {
    use std::error::Error;
    match (e.as_db_error(), e.source()) {
        (Some(db), _) => format!("{} ({})", db.message(), db.code().code()),
        (None, Some(cause)) => format!("{e}: {cause}"),
        (None, None) => e.to_string(),
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(e: r2d2::Error) -> Self {
        StoreError::Backend(format!("no database connection: {e}"))
    }
}

impl PgStore {
    /// Connect to `url`, apply the migrations and sync the built-in roles.
    pub fn open(url: &str) -> Result<Self> {
        let target = connect::target(url)?;
        // One connection first, for the migrations and for a start that fails at once
        // with the server's answer (the pool would retry until its timeout).
        let mut first = target.config.connect(target.tls.clone()).map_err(|e| {
            StoreError::Backend(format!(
                "cannot connect to {}: {}",
                target.shown,
                describe(&e)
            ))
        })?;
        migrate(&mut first)?;
        drop(first);
        let reader = Arc::new(reader::AsyncReader::new(
            target.async_config,
            target.tls.clone(),
        ));
        let epoch = {
            let reader = reader.clone();
            reader::Coalesced::new(move || {
                let reader = reader.clone();
                async move {
                    let rows = reader.query(EPOCH, &[]).await?;
                    let value: i64 = rows.first()?.try_get(0).ok()?;
                    Some(value as u64)
                }
            })
        };
        let lease_target = lease::LeaseTarget {
            config: target.config.clone(),
            tls: target.tls.clone(),
        };
        let manager = Manager(PostgresConnectionManager::new(target.config, target.tls));
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(CHECKOUT_TIMEOUT)
            .build_unchecked(manager);
        let store = PgStore {
            pool: Some(pool),
            unread_epoch: AtomicU64::new(1 << 63),
            reader,
            epoch,
            rules: RwLock::new(Arc::default()),
            shown: target.shown,
            lease_target,
        };
        store.sync_builtin_roles()?;
        Ok(store)
    }

    /// The database URL without its password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The schema version of a freshly migrated database.
    pub fn latest_version() -> usize {
        MIGRATIONS.len()
    }

    pub fn set_alert_rules(&self, mut rules: crate::store::audit::AlertRules) {
        let mut current = self.rules.write().unwrap_or_else(|p| p.into_inner());
        rules.notify_routes = current.notify_routes.clone();
        *current = Arc::new(rules);
    }

    pub(crate) fn alert_rules(&self) -> Arc<crate::store::audit::AlertRules> {
        self.rules.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Queue alerts for `routes` from now on.
    pub fn set_notify_routes(&self, routes: Vec<super::notify::Route>) {
        let mut rules = self.rules.write().unwrap_or_else(|p| p.into_inner());
        let mut next = (**rules).clone();
        next.notify_routes = Arc::new(routes);
        *rules = Arc::new(next);
    }

    pub(crate) fn conn(&self) -> Result<Conn> {
        let pool = self
            .pool
            .as_ref()
            .ok_or_else(|| StoreError::Backend("closed".into()))?;
        Ok(pool.get()?)
    }

    /// A per-request read through the connection's prepared statement (`pool.rs`): one
    /// round trip instead of three. Tried again on another connection while the one it
    /// got turns out closed (the database dropped it while it sat in the pool; after a
    /// database restart, every pooled one is).
    pub(crate) fn read(
        &self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>> {
        let mut tries = POOL_SIZE + 1;
        loop {
            let mut conn = self.conn()?;
            let statement = conn.prepared(sql);
            let rows = statement.and_then(|s| conn.query(&s, params));
            match rows {
                Err(e) if conn.is_closed() && tries > 1 => {
                    tracing::debug!(error = %describe(&e), "pooled connection closed; another");
                    tries -= 1;
                }
                other => return Ok(other?),
            }
        }
    }

    /// Run `f` in a write transaction that ends with the request's parked audit event
    /// (fail-closed: if that insert fails, nothing `f` did commits). [`Done::Rollback`]
    /// commits nothing and records no event, like an early return on SQLite.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&PgTx<'_>) -> Result<Done<T>>) -> Result<T> {
        let mut conn = self.conn()?;
        let tx = PgTx::new(conn.transaction()?);
        let out = match f(&tx)? {
            Done::Commit(out) => out,
            Done::Rollback(out) => return Ok(out),
        };
        let wrote = crate::store::audit::write_pending(&tx, &self.alert_rules())?;
        tx.commit()?;
        advance_epoch(&mut conn);
        if wrote {
            crate::store::audit::mark_written();
        }
        Ok(out)
    }

    /// Run `f` in a write transaction of its own that does not carry the parked event
    /// (what SQLite's plain `execute`s and `tx.commit()`s are).
    pub(crate) fn write_plain<T>(&self, f: impl FnOnce(&PgTx<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.conn()?;
        let tx = PgTx::new(conn.transaction()?);
        let out = f(&tx)?;
        tx.commit()?;
        advance_epoch(&mut conn);
        Ok(out)
    }

    /// The shared epoch (`Store::epoch`): the `imadm_epoch` sequence's last value.
    pub(crate) fn read_epoch(&self) -> u64 {
        let read = || -> Result<i64> {
            let rows = self.read(EPOCH, &[])?;
            let row = rows
                .first()
                .ok_or_else(|| StoreError::Backend("no epoch".into()))?;
            Ok(row.try_get(0)?)
        };
        match read() {
            Ok(v) => v as u64,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the store epoch; not trusting caches");
                self.unread_epoch.fetch_add(1, Ordering::SeqCst)
            }
        }
    }

    /// Advance the shared epoch on a connection of its own (a restore, `bump_epoch`).
    pub(crate) fn bump_shared_epoch(&self) {
        match self.conn() {
            Ok(mut conn) => advance_epoch(&mut conn),
            Err(e) => tracing::error!(error = %e, "cannot advance the store epoch"),
        }
    }

    fn sync_builtin_roles(&self) -> Result<()> {
        self.write(|tx| {
            for (name, description, _) in imadm_api::permissions::BUILTIN_ROLES {
                tx.execute(
                    "INSERT INTO roles (name, description, builtin) VALUES ($1, $2, 1)
                     ON CONFLICT (name) DO UPDATE SET description = excluded.description, builtin = 1",
                    &[name, description],
                )?;
                tx.execute("DELETE FROM role_permissions WHERE role = $1", &[name])?;
                for p in imadm_api::permissions::builtin_permissions(name).unwrap_or_default() {
                    tx.execute(
                        "INSERT INTO role_permissions (role, permission) VALUES ($1, $2)",
                        &[name, &p],
                    )?;
                }
            }
            Ok(Done::Commit(()))
        })
    }
}

/// Apply the migrations past the newest version in `imadm_schema`, all in one
/// transaction under an advisory lock (PostgreSQL's DDL is transactional: a failed
/// migration leaves the schema as it was).
fn migrate(conn: &mut postgres::Client) -> Result<()> {
    let mut tx = conn.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS imadm_schema (
             version       BIGINT PRIMARY KEY,
             applied_at_ms BIGINT NOT NULL
         )",
    )?;
    let current: i64 = tx
        .query_one("SELECT COALESCE(max(version), 0) FROM imadm_schema", &[])?
        .try_get(0)?;
    let current = current as usize;
    if current > MIGRATIONS.len() {
        return Err(StoreError::Backend(format!(
            "the database schema is version {current}, newer than this imadm ({}); upgrade imadm",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        tx.batch_execute(sql).map_err(|e| {
            StoreError::Backend(format!("migration {}: {}", i + 1, StoreError::from(e)))
        })?;
        tx.execute(
            "INSERT INTO imadm_schema (version, applied_at_ms) VALUES ($1, $2)",
            &[&((i + 1) as i64), &crate::store::audit::now_ms()],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Closing a connection blocks on the driver's own runtime, which cannot start on a
/// thread already driving one: the server's last reference to the store goes away on an
/// async worker (at shutdown the process aborted). The pool is dropped on a thread of its
/// own instead.
impl Drop for PgStore {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            let _ = std::thread::spawn(move || drop(pool)).join();
        }
    }
}

impl super::Backend for PgStore {
    fn set_alert_rules(&self, rules: crate::store::audit::AlertRules) {
        PgStore::set_alert_rules(self, rules)
    }

    fn set_notify_routes(&self, routes: Vec<super::notify::Route>) {
        PgStore::set_notify_routes(self, routes)
    }

    fn kind(&self) -> &'static str {
        "postgresql"
    }

    fn reads_inline(&self) -> bool {
        false
    }

    fn lease(&self, duty: &str) -> Box<dyn super::Lease> {
        self.lease_of(duty)
    }

    fn instance_lock(&self, exclusive: bool) -> Box<dyn super::InstanceLock> {
        self.instance_lock_of(exclusive)
    }

    fn epoch_async(&self) -> Option<super::EpochFuture<'_>> {
        Some(Box::pin(async {
            match self.epoch.get().await {
                Some(e) => e,
                // Never a value a cached lookup holds: the caller authenticates the
                // blocking way.
                None => self.unread_epoch.fetch_add(1, Ordering::SeqCst),
            }
        }))
    }

    fn schema_version(&self) -> u32 {
        PgStore::latest_version() as u32
    }
}

/// The shared epoch's value (`read_epoch`).
const EPOCH: &str = "SELECT last_value FROM imadm_epoch";

/// Advance the epoch shared by every instance, after a write committed: any instance's
/// request that starts after this reads the new value, misses its cached lookups and
/// reads the committed state (a logout or revoke through one instance is in force on
/// the others' very next request). After the commit, not inside the transaction: a
/// sequence is not transactional, and a reader seeing the new value before the commit
/// could cache the old state under it. Reader and writer take no lock on it.
fn advance_epoch(conn: &mut Conn) {
    if let Err(e) = conn.execute("SELECT nextval('imadm_epoch')", &[]) {
        // The write has committed; failing it now would misreport it. Other instances'
        // caches stay as they were until the next write advances the epoch.
        tracing::error!(error = %describe(&e), "cannot advance the store epoch after a write");
    }
}

/// What a [`PgStore::write`] closure decided.
pub(crate) enum Done<T> {
    Commit(T),
    Rollback(T),
}
