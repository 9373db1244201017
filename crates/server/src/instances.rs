//! Several `imadm server` instances on one PostgreSQL database, each with its own copy of
//! the keys in its data dir: which processes may run together, and which keys they must
//! hold.
//!
//! - The instance lock ([`crate::store::Backend::instance_lock`]): every serving instance
//!   holds it shared for its lifetime ([`claim_to_serve`], then [`watch`]); the offline
//!   rotations (`rotate-key`, `rotate-audit-key`) take it exclusive ([`claim_offline`])
//!   and hold it to the end. So a rotation never runs beside an instance, and no instance
//!   starts during one. New keys reach the other hosts out of band (copies of
//!   `server.key.d/` and `audit.key.d/`): a key wrapped under the old one in the database
//!   would be exposed by the very leak that prompts a rotation.
//! - The keys every instance must hold, recorded in `settings` ([`check_keys`],
//!   [`record_keys`]): the active server key's id and the audit signing key's public
//!   half, written by the first instance to start and by each rotation. An instance whose
//!   data dir has others, or that lacks a key some sealed value is under, refuses to
//!   start (integrity error) and names what to copy.
//!
//! SQLite is one process per data dir (its lock file): none of this applies there.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::keys::{KeyId, ServerKey};
use crate::store::{Backend, Hold, InstanceLock};
use crate::{DataDir, ErrorKind, ServerError, rotation};

/// How long a starting instance waits for its shared hold (an offline rotation may be
/// about to end) before it refuses to start.
const START_WAIT: Duration = Duration::from_secs(5);
/// How often a serving instance checks that it still holds the instance lock.
const WATCH_EVERY: Duration = Duration::from_secs(10);

/// `settings` key: the id of the server key every instance seals under.
const ACTIVE_KEY_SETTING: &str = "server_key_active";
/// `settings` key: the audit signing key every instance signs checkpoints with.
const AUDIT_KEY_SETTING: &str = "audit_signing_key";

/// The steps of an offline rotation, for the hints that refuse one part of them.
pub const OFFLINE_STEPS: &str = "stop every instance, run `imadm server rotate-key` (or \
     `rotate-audit-key`) on one host with IMADM_DATABASE_URL set, copy its server.key.d/ \
     (or audit.key.d/) into every other host's data dir with modes kept (`cp -a`, \
     `rsync -a`), then start them all (README \"Key rotation\")";

fn unreachable(e: String) -> ServerError {
    ServerError::new(ErrorKind::Unavailable, format!("the instance lock: {e}"))
        .hint("check that the database server is reachable, then try again")
}

/// The shared hold of a serving instance, waiting up to [`START_WAIT`] for an offline
/// rotation to end.
pub(crate) fn claim_to_serve(store: &dyn Backend) -> Result<Box<dyn InstanceLock>, ServerError> {
    let mut lock = store.instance_lock(false);
    let until = Instant::now() + START_WAIT;
    loop {
        match lock.check() {
            Hold::Held => return Ok(lock),
            Hold::Unreachable(e) => return Err(unreachable(e)),
            Hold::Refused if Instant::now() < until => {
                std::thread::sleep(Duration::from_millis(200))
            }
            Hold::Refused => {
                return Err(ServerError::new(
                    ErrorKind::Conflict,
                    "an offline operation (`imadm server rotate-key` or `rotate-audit-key`) \
                     holds the database: no instance may start until it ends",
                )
                .hint(format!(
                    "wait for it to finish, copy the keys it made to this data dir, then start \
                     again: {OFFLINE_STEPS}"
                )));
            }
        }
    }
}

/// The exclusive hold of an offline rotation (`command`), refused while any instance runs.
pub(crate) fn claim_offline(
    store: &dyn Backend,
    command: &str,
) -> Result<Box<dyn InstanceLock>, ServerError> {
    let mut lock = store.instance_lock(true);
    match lock.check() {
        Hold::Held => Ok(lock),
        Hold::Unreachable(e) => Err(unreachable(e)),
        Hold::Refused => Err(ServerError::new(
            ErrorKind::Conflict,
            "an imadm server is running on this database (or another offline rotation); \
             stop every instance first",
        )
        .hint(format!(
            "{command} must not run beside an instance, which would keep its old keys: \
             {OFFLINE_STEPS}"
        ))),
    }
}

/// Stop the server (`stop`) if its instance lock is lost to an offline rotation: its
/// database session ended (a network cut, a database restart) and a rotation took the
/// lock exclusive before this instance could take it again. Checked every
/// [`WATCH_EVERY`]; `taken` says why the server stopped.
pub(crate) fn watch(
    mut lock: Box<dyn InstanceLock>,
    taken: Arc<std::sync::atomic::AtomicBool>,
    stop: impl FnOnce() + Send + 'static,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(WATCH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let checked = tokio::task::spawn_blocking(move || {
                let hold = lock.check();
                (lock, hold)
            })
            .await;
            let Ok((back, hold)) = checked else { return };
            lock = back;
            match hold {
                Hold::Held => {}
                Hold::Unreachable(e) => {
                    tracing::warn!(error = %e, "cannot check the instance lock; trying again")
                }
                Hold::Refused => {
                    tracing::error!(
                        "an offline key rotation holds the database (this instance lost its \
                         lock with its connection): stopping"
                    );
                    taken.store(true, std::sync::atomic::Ordering::SeqCst);
                    stop();
                    return;
                }
            }
        }
    });
}

/// The error of a data dir whose keys are not the ones the database records.
fn not_held(message: String) -> ServerError {
    ServerError::new(ErrorKind::Integrity, message).hint(
        "another host rotated the keys: copy server.key.d/ (and audit.key.d/) from the host \
         that rotated into this data dir, modes kept (`cp -a`, `rsync -a`), then start \
         again; on the host that rotated, a rotation cut short is finished by running it again",
    )
}

fn io(e: crate::store::StoreError) -> ServerError {
    ServerError::new(ErrorKind::Io, e.to_string())
}

/// Refuse a data dir that does not hold what the database needs: a key some sealed value
/// is under, the active server key or the audit signing key the database records (a
/// rotation on another host). A database without the record gets this dir's. A dir
/// ahead of the record (its own rotation was cut short before recording: it holds the
/// recorded server key, with the re-seal to a newer one unfinished; its signing key has
/// a hand-off signed by the recorded one) records its keys. A rotation records the keys
/// it made with [`record_keys`].
pub(crate) fn check_keys(dir: &DataDir) -> Result<(), ServerError> {
    let keyring = ServerKey::keyring_dir(&ServerKey::path(&dir.path));
    let counts = rotation::counts_by_key(&*dir.store, &dir.key)
        .map_err(|m| ServerError::new(ErrorKind::Io, m))?;
    if let Some((id, n)) = counts.iter().find(|(id, _)| !dir.key.holds(**id)) {
        return Err(not_held(format!(
            "{n} sealed values in the database are under the server key {id}, which {} does \
             not hold",
            keyring.display()
        )));
    }
    let mine = dir.key.active().id();
    let mut record = false;
    match dir.store.setting(ACTIVE_KEY_SETTING).map_err(io)? {
        None => record = true,
        Some(recorded) if recorded == mine.to_string() => {}
        Some(recorded) => {
            let ahead = recorded
                .parse::<KeyId>()
                .is_ok_and(|id| dir.key.holds(id) && rotation::unfinished(&dir.key));
            if !ahead {
                return Err(not_held(format!(
                    "the database's active server key is {recorded}, but this data dir's is \
                     {mine} ({})",
                    keyring.join("keyring.json").display()
                )));
            }
            record = true;
        }
    }
    let signing = dir.audit_key.signing_public();
    match dir.store.setting(AUDIT_KEY_SETTING).map_err(io)? {
        None => record = true,
        Some(recorded) if recorded == signing => {}
        Some(recorded) => {
            let ahead = dir.audit_key.rotated_from(&recorded);
            if !ahead {
                let handoffs: PathBuf = dir.audit_key.rotations_dir().join("handoffs.json");
                return Err(not_held(format!(
                    "the database's audit signing key is {recorded}, but this data dir signs \
                     with {signing} ({})",
                    handoffs.display()
                )));
            }
            record = true;
        }
    }
    if record {
        record_keys(dir)?;
    }
    Ok(())
}

/// Record this data dir's active server key and audit signing key as the ones every
/// instance must hold (after a rotation, or at the first start).
pub(crate) fn record_keys(dir: &DataDir) -> Result<(), ServerError> {
    let store = &*dir.store;
    store
        .set_setting(ACTIVE_KEY_SETTING, &dir.key.active().id().to_string())
        .map_err(io)?;
    store
        .set_setting(AUDIT_KEY_SETTING, &dir.audit_key.signing_public())
        .map_err(io)
}
