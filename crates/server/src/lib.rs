//! The imadm reference server: the Lanying-compatible IM API plus our `/admin/`
//! extension (operators, MFA, sessions), over HTTPS, on SQLite.
//!
//! The CLI's `imadm server` command is a thin wrapper over this crate's entry points:
//! [`init`] bootstraps a production data dir, [`dev_bootstrap`] prepares (or reuses) the
//! dev owner, and [`serve`] runs until SIGINT/SIGTERM. Module map:
//!
//! - `http/`: router, middleware, extractors, handlers, OpenAPI document
//! - `auth`: the authentication policy (login, throttling and lockout, sessions, MFA,
//!   step-up); `throttle`: its in-memory counters; `passkey`: WebAuthn and the browser
//!   approvals (`approval`: their RFC 8628 state machine)
//! - `audit`: the audit log's services (fail-closed recording, checkpoints, the signing
//!   key); `alerts`: the alert workflow; `notify`: alert notifications (delivery task,
//!   channels); `backup`: snapshot and restore services
//! - `store/`: the persistence traits (with the audit chain and alert rules, and what a
//!   restore keeps, written once for every backend), the SQLite and PostgreSQL backends
//! - `dev`: dev mode's operators and `dev-credentials.json`
//! - `sinks/`: copies of the audit log outside the database (file, syslog, HTTPS)
//! - `keys`, `secrets`, `totp`, `tls`: cryptographic building blocks; `rotation`: server
//!   key rotation (re-sealing in batches); `instances`: several instances on one
//!   PostgreSQL database (the instance lock, the keys each must hold)

pub mod access;
pub mod alerts;
pub mod approval;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod dev;
pub mod error;
pub mod export;
pub mod fsutil;
pub mod http;
pub mod im;
pub mod incident;
pub mod instances;
pub mod keys;
pub mod notify;
pub mod passkey;
pub mod proxy;
pub mod rbac;
pub mod rotation;
pub mod secrets;
pub mod sinks;
pub mod store;
pub mod throttle;
pub mod tls;
pub mod totp;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use auth::Policy;
pub use dev::{DevLogin, DevLogins, dev_bootstrap};
pub use imadm_api::UnixTime;
use keys::ServerKey;
use store::sqlite::SqliteStore;
use store::{Backend, Store};

/// Keep the server's secrets out of core dumps and away from debuggers: call first thing
/// in a process that will hold `server.key`, `audit.key`, passwords or tokens in memory.
///
/// `RLIMIT_CORE` goes to 0, soft and hard limit both, so nothing in the process can raise
/// it again; and the process is marked not dumpable (`PR_SET_DUMPABLE` 0), which also
/// covers a `core_pattern` that pipes to a crash collector (those ignore the rlimit), makes
/// `/proc/<pid>/mem`, `environ` and the like root's, and refuses `ptrace` attaches by other
/// processes of the same user. Linux only; elsewhere it does nothing.
pub fn harden_process() -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let none = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: plain system calls on this process; `none` outlives the call.
        if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: as above; PR_SET_DUMPABLE takes no pointers.
        if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Run service-layer code (SQLite, argon2) off the async executor.
pub async fn blocking<T, F>(state: &Arc<AppState>, f: F) -> Result<T, error::ApiError>
where
    F: FnOnce(&AppState) -> Result<T, error::ApiError> + Send + 'static,
    T: Send + 'static,
{
    let state = state.clone();
    tokio::task::spawn_blocking(move || f(&state))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "handler task failed");
            error::ApiError::new(imadm_api::codes::INTERNAL, "internal server error")
        })?
}

/// Seconds since the epoch, the server's one clock.
pub fn now() -> UnixTime {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Everything a request handler needs, shared by all requests.
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// IM users, groups and messages (`im.rs`).
    pub im: Arc<dyn store::im::ImStore>,
    /// The alert notification queue (`notify`).
    pub queue: Arc<dyn store::notify::NotifyStore>,
    /// Sealed values per key and their re-sealing (`rotation.rs`).
    pub keystore: Arc<dyn store::keys::KeyStore>,
    /// Snapshots and staged restores (`backup.rs`).
    pub backups: Arc<dyn store::restore::BackupStore>,
    /// All of the above, as one (which backend: `GET /admin/instance`).
    pub backend: Arc<dyn Backend>,
    /// This process among the instances on one database (`GET /admin/instance`).
    pub instance: String,
    /// The loaded notification config (`--notify-config`).
    pub notifier: notify::Notifier,
    pub key: ServerKey,
    /// Signs audit checkpoints; keys IM-user pseudonyms in the audit log.
    pub audit_key: audit::AuditKey,
    pub policy: Policy,
    pub app_id: String,
    pub server_id: String,
    /// False emulates a plain Lanying deployment: `/admin/*` and `/openapi.json` answer
    /// a bare 404, as on a server without our extension (tests of the CLI's fallback).
    pub admin_api: bool,
    /// Session lookups of recent requests, valid while the store's epoch stays the same.
    pub auth_cache: auth::AuthCache,
    /// Attempt counters of login throttling and lockout (`auth.rs`).
    pub throttle: throttle::Throttle,
    /// The audit sinks' backlogs, and the gate a required sink closes (`sinks/`).
    pub sinks: sinks::Sinks,
    /// The WebAuthn relying party and the browser approvals in progress (`passkey.rs`).
    pub passkeys: passkey::Passkeys,
    /// Whose PROXY headers and `X-Forwarded-For` name the client (`--trusted-proxy`).
    pub trusted_proxies: Arc<proxy::TrustedProxies>,
}

impl AppState {
    /// The state of a server on the opened data dir `dir`.
    pub fn new(dir: DataDir, policy: Policy, admin_api: bool) -> AppState {
        let throttle = throttle::Throttle::new(&policy, dir.store.clone(), dir.key.throttle_key());
        let passkeys = passkey::Passkeys::new(&policy, dir.store.clone());
        AppState {
            store: dir.store.clone(),
            queue: dir.store.clone(),
            keystore: dir.store.clone(),
            backups: dir.store.clone(),
            notifier: notify::Notifier::default(),
            im: dir.store.clone(),
            backend: dir.store,
            instance: secrets::random_token("")[..16].to_owned(),
            key: dir.key,
            audit_key: dir.audit_key,
            throttle,
            passkeys,
            policy,
            app_id: dir.app_id,
            server_id: dir.server_id,
            admin_api,
            auth_cache: auth::AuthCache::default(),
            sinks: sinks::Sinks::default(),
            trusted_proxies: Arc::default(),
        }
    }
}

/// Why the server could not start or bootstrap; the CLI maps `kind` to an exit code.
#[derive(Debug)]
pub struct ServerError {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad options or an unusable data dir.
    Usage,
    /// The data dir is already initialised.
    Conflict,
    /// The listen address is taken or unreachable.
    Unavailable,
    /// The server key does not match the database.
    Integrity,
    Io,
}

impl ServerError {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ServerError {
            kind,
            message: message.into(),
            hint: None,
        }
    }
    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

const DB_FILE: &str = "imadm.db";
const OWNER_ROLE: &str = "owner";

/// The opened data dir: database and server key.
pub struct DataDir {
    pub path: PathBuf,
    /// The data dir's SQLite file, or the PostgreSQL database `open_data_dir` was given.
    pub store: Arc<dyn Backend>,
    pub key: ServerKey,
    pub audit_key: audit::AuditKey,
    pub app_id: String,
    pub server_id: String,
    /// `<data-dir>/server.lock`, locked for as long as this is open: one process at a
    /// time (a server, or `rotate-key`, which must not run beside one).
    lock: std::fs::File,
    /// The hold on a database several instances share (`instances.rs`): shared by a
    /// server, exclusive by an offline rotation. Always held on SQLite.
    instance: Box<dyn store::InstanceLock>,
    /// Whether several instances may run on the database (PostgreSQL).
    shared: bool,
}

const LOCK_FILE: &str = "server.lock";

/// Lock the data dir for this process, or say who holds it.
fn lock_data_dir(path: &Path) -> Result<std::fs::File, ServerError> {
    use std::os::unix::fs::OpenOptionsExt;
    let lock_path = path.join(LOCK_FILE);
    // Empty, but 0600 like everything in the data dir.
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&lock_path)
        .map_err(|e| {
            ServerError::new(
                ErrorKind::Io,
                format!("cannot open {}: {e}", lock_path.display()),
            )
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(ServerError::new(
            ErrorKind::Conflict,
            format!(
                "another imadm process (a running server?) has the data dir {} open",
                path.display()
            ),
        )
        .hint("stop the server first, or rotate online: POST /admin/keys/rotate")),
        Err(std::fs::TryLockError::Error(e)) => Err(ServerError::new(
            ErrorKind::Io,
            format!("cannot lock {}: {e}", lock_path.display()),
        )),
    }
}

/// Open (creating if `create`) a data dir: directory 0700, server key 0600, database
/// migrated, app id and server id generated once; locked against other processes.
/// With `database` (a postgres:// URL) the data lives there instead of in the dir's
/// SQLite file; the dir still holds the keys, the TLS files and the lock, and the app id
/// and server id are the database's (shared by every instance on it).
///
/// On PostgreSQL the process holds the instance lock shared, waiting a few seconds for an
/// offline rotation to end, and the data dir must hold the keys the database records
/// (`instances.rs`).
pub fn open_data_dir(
    path: &Path,
    create: bool,
    database: Option<&str>,
) -> Result<DataDir, ServerError> {
    open(path, create, database, None)
}

/// [`open_data_dir`], or with `offline` (the command's name) for an offline rotation: the
/// instance lock exclusive, refused while an instance runs.
fn open(
    path: &Path,
    create: bool,
    database: Option<&str>,
    offline: Option<&str>,
) -> Result<DataDir, ServerError> {
    let db = path.join(DB_FILE);
    let initialised = match database {
        None => db.exists(),
        Some(_) => ServerKey::path(path).exists(),
    };
    if !create && !initialised && database.is_none() && audit::AuditKey::path(path).exists() {
        // Keys but no SQLite file: the data dir of an instance on PostgreSQL.
        return Err(ServerError::new(
            ErrorKind::Usage,
            format!(
                "{} has keys but no SQLite database: its data is in PostgreSQL",
                path.display()
            ),
        )
        .hint(
            "set IMADM_DATABASE_URL to the database's postgres:// URL, as for the server on \
             this data dir",
        ));
    }
    if !create && !initialised {
        return Err(ServerError::new(
            ErrorKind::Usage,
            format!("{} is not an initialised imadm data dir", path.display()),
        )
        .hint(format!(
            "run `imadm server init --data-dir {}` first, or use `imadm server --dev`",
            path.display()
        )));
    }
    fsutil::create_private_dir(path).map_err(|e| {
        ServerError::new(
            ErrorKind::Io,
            format!("cannot create data dir {}: {e}", path.display()),
        )
    })?;
    let lock = lock_data_dir(path)?;
    let key_path = ServerKey::path(path);
    let key = if create {
        ServerKey::create(&key_path)
    } else {
        ServerKey::load(&key_path)
    }
    .map_err(|e| {
        ServerError::new(ErrorKind::Usage, e.to_string()).hint(format!(
            "the server key is {} (or set {})",
            key_path.display(),
            keys::KEY_FILE_ENV
        ))
    })?;
    let audit_key_path = audit::AuditKey::path(path);
    let audit_key = audit::AuditKey::open(&audit_key_path, true).map_err(|m| {
        ServerError::new(ErrorKind::Usage, m).hint(format!(
            "the audit signing key is {}; `imadm server init` creates it",
            audit_key_path.display()
        ))
    })?;
    let store: Arc<dyn Backend> = match database {
        Some(url) => {
            // A restore killed mid-way leaves its scratch copy of the live data in the
            // temp dir; nothing depends on it.
            store::postgres::remove_stale_scratch();
            Arc::new(open_postgres(url)?)
        }
        None => {
            // A restore killed mid-way leaves its staging file; the live data never
            // depended on it.
            store::sqlite::backup::remove_stale_staging(path);
            Arc::new(SqliteStore::open(&db).map_err(|e| {
                ServerError::new(
                    ErrorKind::Io,
                    format!("cannot open database {}: {e}", db.display()),
                )
            })?)
        }
    };
    let app_id = setting_or_create(&*store, "app_id", || {
        format!(
            "imadm{}",
            &secrets::random_token("")[..10]
                .to_lowercase()
                .replace(['-', '_'], "x")
        )
    })?;
    let server_id = setting_or_create(&*store, "server_id", || {
        secrets::random_token("")[..22].to_owned()
    })?;
    let shared = database.is_some();
    let instance = match (shared, offline) {
        (false, _) => store.instance_lock(false),
        (true, None) => instances::claim_to_serve(&*store)?,
        (true, Some(command)) => instances::claim_offline(&*store, command)?,
    };
    let dir = DataDir {
        path: path.to_owned(),
        store,
        key,
        audit_key,
        app_id,
        server_id,
        lock,
        instance,
        shared,
    };
    if shared {
        instances::check_keys(&dir)?;
    }
    Ok(dir)
}

/// Connect to `url` and apply the schema.
fn open_postgres(url: &str) -> Result<store::postgres::PgStore, ServerError> {
    store::postgres::PgStore::open(url).map_err(|e| {
        ServerError::new(ErrorKind::Unavailable, e.to_string()).hint(
            "check the URL, that the database server is reachable, and the password \
                 (PGPASSWORD, PGPASSFILE or ~/.pgpass)",
        )
    })
}

/// `imadm __seed-audit`: append `n` synthetic events to the audit log of the data dir's
/// SQLite file, or of the PostgreSQL database `database` (a server must have run on it
/// once). See [`store::audit::seed`]; the last seq.
pub fn seed_audit(
    path: &Path,
    database: Option<&str>,
    n: u64,
    now_ms: i64,
) -> Result<u64, ServerError> {
    let seeded = match database {
        Some(url) => store::postgres::seed(url, n, now_ms),
        None => {
            let db = path.join(DB_FILE);
            if !db.exists() {
                return Err(ServerError::new(
                    ErrorKind::Usage,
                    format!("{} does not exist", db.display()),
                )
                .hint("pass the data directory of a server started at least once"));
            }
            store::sqlite::audit::seed(&db, n, now_ms)
        }
    };
    seeded.map_err(|e| ServerError::new(ErrorKind::Io, format!("cannot seed the audit log: {e}")))
}

fn setting_or_create(
    store: &dyn Store,
    key: &str,
    make: impl FnOnce() -> String,
) -> Result<String, ServerError> {
    let io = |e: store::StoreError| ServerError::new(ErrorKind::Io, e.to_string());
    if let Some(v) = store.setting(key).map_err(io)? {
        return Ok(v);
    }
    let v = make();
    store.set_setting(key, &v).map_err(io)?;
    Ok(v)
}

/// Result of [`init`]: the first owner and its one-time password.
pub struct InitOutput {
    pub username: String,
    pub one_time_password: String,
    pub app_id: String,
}

/// Bootstrap a production data dir: create it and the first owner, whose one-time
/// password must be changed, and MFA enrolled, at first login (the server enforces it).
pub fn init(
    path: &Path,
    username: &str,
    database: Option<&str>,
) -> Result<InitOutput, ServerError> {
    let dir = open_data_dir(path, true, database)?;
    let io = |e: store::StoreError| ServerError::new(ErrorKind::Io, e.to_string());
    if dir.store.operator_count().map_err(io)? > 0 {
        return Err(ServerError::new(
            ErrorKind::Conflict,
            format!("{} already has operators", path.display()),
        )
        .hint("init runs once per data dir; log in with an existing owner instead"));
    }
    let password = secrets::random_password();
    dir.store
        .create_operator(
            username,
            &secrets::hash_password(&password),
            true,
            &[OWNER_ROLE],
            now(),
        )
        .map_err(io)?;
    Ok(InitOutput {
        username: username.to_owned(),
        one_time_password: password,
        app_id: dir.app_id,
    })
}

/// Result of [`rotate_key`].
pub struct RotateOutput {
    /// The key made active (`None`: the run finished an earlier rotation instead).
    pub new_key: Option<keys::KeyId>,
    pub active: keys::KeyId,
    pub resealed: rotation::Resealed,
}

/// `imadm server rotate-key`: with the data dir locked (no server running on it), make a
/// new key active and re-seal every value under it. A rotation cut short (crash, kill)
/// is finished instead, without another key.
///
/// On PostgreSQL (`database`) also with the instance lock exclusive (no instance runs on
/// the database, none starts meanwhile), from a data dir holding the keys the database
/// records; the new key is recorded as the one every instance must hold before anything
/// is sealed under it (`instances.rs`).
pub fn rotate_key(path: &Path, database: Option<&str>) -> Result<RotateOutput, ServerError> {
    let dir = open(path, false, database, Some("rotate-key"))?;
    let new_key = if rotation::unfinished(&dir.key) {
        None
    } else {
        Some(dir.key.rotate().map_err(|e| {
            ServerError::new(ErrorKind::Io, e.to_string()).hint(format!(
                "the keyring is {}; the active key is unchanged",
                ServerKey::keyring_dir(&ServerKey::path(path)).display()
            ))
        })?)
    };
    if dir.shared {
        instances::record_keys(&dir)?;
    }
    if let Some(id) = new_key {
        // No request and no operator: the record names the command, as `system`.
        let previous = dir
            .key
            .list()
            .iter()
            .rev()
            .find(|k| !k.active && !k.retired)
            .map(|k| k.id.to_string())
            .unwrap_or_default();
        dir.store
            .append_audit(&audit::NewAudit {
                actor_type: "system".into(),
                actor: "imadm server rotate-key".into(),
                action: "keys.rotate".into(),
                target: Some(format!("key:{id}")),
                outcome: "success".into(),
                detail: Some(format!("replaces key {previous} (offline)")),
                ..audit::NewAudit::default()
            })
            .map_err(|e| {
                ServerError::new(
                    ErrorKind::Io,
                    format!("the rotation could not be recorded in the audit log: {e}"),
                )
                .hint("the new key is active; run `imadm server rotate-key` again to finish the re-seal")
            })?;
    }
    let resealed = rotation::reseal(&*dir.store, &dir.key).map_err(|m| {
        ServerError::new(ErrorKind::Io, format!("re-sealing stopped: {m}")).hint(
            "run `imadm server rotate-key` again: it resumes with the values still under older keys",
        )
    })?;
    Ok(RotateOutput {
        new_key,
        active: dir.key.active().id(),
        resealed,
    })
}

/// `imadm server rotate-audit-key`: with the data dir locked (no server running on it),
/// a new audit signing key, handed off at the chain's head by the key it replaces
/// (`audit::AuditKey::rotate`); recorded as `keys.rotate_audit` by `system`.
///
/// On PostgreSQL (`database`) with the instance lock exclusive, like [`rotate_key`]; the
/// new key is recorded as the one every instance must sign with.
pub fn rotate_audit_key(
    path: &Path,
    database: Option<&str>,
) -> Result<imadm_api::audit::KeyHandoff, ServerError> {
    let dir = open(path, false, database, Some("rotate-audit-key"))?;
    let io = |e: store::StoreError| ServerError::new(ErrorKind::Io, e.to_string());
    let (seq, head) = dir
        .store
        .audit_hash_at(None)
        .map_err(io)?
        .unwrap_or_else(|| (0, imadm_api::audit::hash_hex(&imadm_api::audit::GENESIS)));
    let handoff = dir
        .audit_key
        .rotate(seq, &head, &dir.server_id)
        .map_err(|m| {
            ServerError::new(ErrorKind::Io, m).hint("the audit signing key is unchanged")
        })?;
    if dir.shared {
        instances::record_keys(&dir)?;
    }
    dir.store
        .append_audit(&audit::NewAudit {
            actor_type: "system".into(),
            actor: "imadm server rotate-audit-key".into(),
            action: "keys.rotate_audit".into(),
            target: Some("audit-key".into()),
            outcome: "success".into(),
            detail: Some(format!(
                "hand-off at seq {seq} to {} (offline)",
                handoff.new_key
            )),
            ..audit::NewAudit::default()
        })
        .map_err(io)?;
    Ok(handoff)
}

/// Where the TLS certificate comes from.
pub enum TlsSource {
    /// Generate (or reuse) a dev CA and certificate in the data dir.
    Dev,
    Files {
        cert: PathBuf,
        key: PathBuf,
    },
}

pub struct ServeOptions {
    pub listen: SocketAddr,
    pub tls: TlsSource,
    pub policy: Policy,
    /// Serve the `/admin/` extension (false: Lanying-compatible API only).
    pub admin_api: bool,
    /// Thresholds and business hours of the security alert rules.
    pub alerts: audit::AlertRules,
    /// The notification config file (`--notify-config`), reloaded on SIGHUP.
    pub notify_config: Option<PathBuf>,
    /// Where copies of the audit log go (`--audit-sink`).
    pub audit_sinks: Vec<sinks::SinkSpec>,
    /// The URL browsers reach the server at (`--public-url`): the passkeys' relying party
    /// id and origin. `None`: `https://localhost:<port>`.
    pub public_url: Option<String>,
    /// Load balancers whose PROXY protocol headers and `X-Forwarded-For` name the client
    /// (`--trusted-proxy`; `proxy.rs`). Empty: the TCP peer is the client.
    pub trusted_proxies: Vec<proxy::IpNet>,
}

/// Handed to the caller once the server accepts connections.
pub struct Ready {
    pub url: String,
    pub addr: SocketAddr,
    pub app_id: String,
    pub server_id: String,
    /// The dev CA clients must trust (dev mode only).
    pub ca_cert: Option<PathBuf>,
}

/// Serve HTTPS on `opts.listen` until SIGINT or SIGTERM, then shut down gracefully.
pub async fn serve(
    mut dir: DataDir,
    opts: ServeOptions,
    on_ready: impl FnOnce(&Ready),
) -> Result<(), ServerError> {
    tls::install_crypto_provider();
    let (cert, key, ca_cert) = match &opts.tls {
        TlsSource::Dev => {
            let c = tls::ensure_dev_certs(&dir.path)
                .map_err(|e| ServerError::new(ErrorKind::Io, e.to_string()))?;
            (c.cert, c.key, Some(c.ca_cert))
        }
        TlsSource::Files { cert, key } => (cert.clone(), key.clone(), None),
    };
    let config = tls::server_config(&cert, &key).map_err(|m| {
        ServerError::new(ErrorKind::Usage, m).hint(
            "pass a PEM certificate chain with --tls-cert and its PEM private key with --tls-key",
        )
    })?;
    // A bad notification config is a usage error at start (a reload keeps the old one).
    let notify_config = match &opts.notify_config {
        Some(path) => Some((
            path.clone(),
            notify::config::load(path).map_err(|m| {
                ServerError::new(ErrorKind::Usage, m)
                    .hint("see \"Monitoring\" in the README for the --notify-config file format")
            })?,
        )),
        None => None,
    };
    dir.store.set_alert_rules(opts.alerts.clone());
    let (sinks, transports) = sinks::Sinks::prepare(&opts.audit_sinks).map_err(|m| {
        ServerError::new(ErrorKind::Usage, m)
            .hint("fix the --audit-sink spec (or IMADM_AUDIT_SINK); see `imadm server --help`")
    })?;
    // Bound first: the passkeys' default origin names the port.
    let listener = std::net::TcpListener::bind(opts.listen).map_err(|e| {
        ServerError::new(
            ErrorKind::Unavailable,
            format!("cannot listen on {}: {e}", opts.listen),
        )
        .hint("choose another address with --listen, e.g. --listen 127.0.0.1:0 for a free port")
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| ServerError::new(ErrorKind::Io, e.to_string()))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServerError::new(ErrorKind::Io, e.to_string()))?;
    let app_id = dir.app_id.clone();
    let server_id = dir.server_id.clone();
    let backend = dir.store.clone();
    // The data-dir lock outlives `dir` (taken apart below): held until the server stops.
    let _lock = dir
        .lock
        .try_clone()
        .map_err(|e| ServerError::new(ErrorKind::Io, format!("the data-dir lock: {e}")))?;
    // The instance lock too (`instances.rs`), watched while serving on a shared database.
    let instance = std::mem::replace(&mut dir.instance, Box::new(store::SoleInstance));
    let shared = dir.shared;
    let mut state = AppState::new(dir, opts.policy, opts.admin_api);
    state.sinks = sinks;
    state.trusted_proxies = Arc::new(proxy::TrustedProxies::new(opts.trusted_proxies.clone()));
    if !opts.trusted_proxies.is_empty() {
        let ranges: Vec<String> = opts.trusted_proxies.iter().map(|n| n.to_string()).collect();
        tracing::info!(
            "trusted proxies (PROXY protocol, X-Forwarded-For): {}",
            ranges.join(", ")
        );
    }
    let public_url = opts
        .public_url
        .clone()
        .unwrap_or_else(|| format!("https://localhost:{}", addr.port()));
    state.passkeys.configure(&public_url).map_err(|m| {
        ServerError::new(ErrorKind::Usage, m)
            .hint("pass the https:// URL browsers reach this server at, e.g. --public-url https://imadm.example.com")
    })?;
    let state = Arc::new(state);
    // Before the first request: a required sink's gate holds from the start.
    // Reads the sinks' cursors: off the async worker on a backend that waits on the
    // network (see `Backend::reads_inline`).
    let start = || sinks::Sinks::start(&state, transports);
    let started = if state.backend.reads_inline() {
        start()
    } else {
        tokio::task::block_in_place(start)
    };
    started
        .map_err(|m| ServerError::new(ErrorKind::Io, format!("starting the audit sinks: {m}")))?;
    spawn_grace_sweep(state.clone());
    if rotation::unfinished(&state.key) {
        tracing::info!("key rotation: resuming the re-seal of values under older keys");
        rotation::spawn_reseal(state.clone());
    }
    if let Some((path, config)) = notify_config {
        notify::start(
            state.clone(),
            path,
            config,
            Arc::new(move |routes| backend.set_notify_routes(routes)),
        );
    }
    let trusted = state.trusted_proxies.clone();
    let app = http::router(state);

    let handle = axum_server::Handle::new();
    // Before TLS: TCP_NODELAY, a trusted proxy's PROXY header, the client address.
    let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(
        axum_server::tls_rustls::RustlsConfig::from_config(config),
    )
    .acceptor(proxy::ProxyAcceptor::new(trusted));
    let server = axum_server::from_tcp(listener)
        .map_err(|e| ServerError::new(ErrorKind::Io, e.to_string()))?
        .acceptor(acceptor)
        .handle(handle.clone());

    let host = if addr.ip().is_loopback() && addr.is_ipv4() {
        "127.0.0.1".to_owned()
    } else if addr.is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    let ready = Ready {
        url: format!("https://{host}:{}", addr.port()),
        addr,
        app_id,
        server_id,
        ca_cert,
    };

    let taken = Arc::new(std::sync::atomic::AtomicBool::new(false));
    if shared {
        let shutdown = handle.clone();
        instances::watch(instance, taken.clone(), move || {
            shutdown.graceful_shutdown(Some(Duration::from_secs(10)))
        });
    }
    let shutdown = handle.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        shutdown.graceful_shutdown(Some(Duration::from_secs(10)));
    });
    let serving = tokio::spawn(server.serve(app.into_make_service()));
    // `listening` resolves once the acceptor runs; only then is the server ready.
    if handle.listening().await.is_none() {
        return Err(ServerError::new(
            ErrorKind::Unavailable,
            "the server failed to start",
        ));
    }
    on_ready(&ready);
    match serving.await {
        Ok(Ok(())) if taken.load(std::sync::atomic::Ordering::SeqCst) => Err(ServerError::new(
            ErrorKind::Conflict,
            "stopped: an offline key rotation took the database while this instance's lock \
             was lost with its connection",
        )
        .hint(format!(
            "copy the keys the rotation made to this data dir, then start again: {}",
            instances::OFFLINE_STEPS
        ))),
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(ServerError::new(
            ErrorKind::Io,
            format!("server error: {e}"),
        )),
        Err(e) => Err(ServerError::new(
            ErrorKind::Io,
            format!("server task failed: {e}"),
        )),
    }
}

/// Drop the sealed pairs of ended refresh grace windows (`auth::Policy::refresh_grace`)
/// once per window, so none outlives its window by more than that even when no further
/// refresh comes to sweep it.
fn spawn_grace_sweep(state: Arc<AppState>) {
    let window = state.policy.refresh_grace;
    if window.is_zero() {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(window.max(Duration::from_secs(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let s = state.clone();
            match tokio::task::spawn_blocking(move || s.store.clear_refresh_grace(now())).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("clearing ended refresh grace windows: {e}"),
                Err(e) => tracing::warn!("clearing ended refresh grace windows: {e}"),
            }
        }
    });
}

async fn wait_for_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("install SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// In a child process (the flags must not stick to the test runner): after
    /// `harden_process`, the kernel reports it not dumpable and its core limit 0/0.
    #[test]
    fn harden_process_leaves_no_core_dump_and_no_dumpable_process() {
        // SAFETY: the child only makes system calls (no allocation, no locks) before
        // `_exit`, which is what is allowed after fork in a multi-threaded process.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let ok = super::harden_process().is_ok();
            let mut lim = libc::rlimit {
                rlim_cur: 1,
                rlim_max: 1,
            };
            // SAFETY: `lim` outlives the call.
            let got = unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut lim) } == 0;
            // SAFETY: no pointers.
            let dumpable = unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) };
            let code = match (ok, got, lim.rlim_cur, lim.rlim_max, dumpable) {
                (true, true, 0, 0, 0) => 0,
                (false, ..) => 1,
                (_, _, cur, max, _) if cur != 0 || max != 0 => 2,
                _ => 3,
            };
            // SAFETY: ends the child without running the parent's destructors.
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        // SAFETY: `status` outlives the call; `pid` is our child.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status), "child did not exit: {status}");
        let code = libc::WEXITSTATUS(status);
        assert_eq!(
            code,
            0,
            "{}",
            match code {
                1 => "harden_process failed",
                2 => "RLIMIT_CORE is not 0/0",
                _ => "the process is still dumpable",
            }
        );
    }
}
