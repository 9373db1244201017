//! Cross-process exclusive locks on files under the config dir: an advisory lock the OS
//! drops when the process dies, so a crashed command never leaves a stale lock behind.
//! Used by the session refresh (`credentials.rs`) and the audit checkpoint pins
//! (`audit/checkpoint.rs`). A lock belongs to an open file, so two threads of one process
//! that each call [`lock`] exclude each other as two processes would.

use std::fs::{File, TryLockError};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{CliError, Kind, Result};

/// An exclusive lock on a file; released when dropped (or when the process ends).
pub struct Lock {
    _file: File,
}

/// Take an exclusive lock on `path` (created 0600, in a 0700 dir), polling for up to
/// `wait`; `what` names what it guards in the timeout error.
pub fn lock(path: &Path, what: &str, wait: Duration) -> Result<Lock> {
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |e: std::io::Error| {
        CliError::unexpected(format!("cannot lock {}: {e}", path.display()))
            .hint("check that the config dir is writable (see --config-dir)")
    };
    if let Some(dir) = path.parent() {
        crate::config::create_private_dir(dir).map_err(fail)?;
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(fail)?;
    let deadline = Instant::now() + wait;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Lock { _file: file }),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(CliError::new(
                    Kind::Unavailable,
                    format!(
                        "another imadm process has held the lock on {what} for {}s",
                        wait.as_secs()
                    ),
                )
                .hint(format!(
                    "retry when it has finished; the lock is {} and is released when that process ends",
                    path.display()
                )));
            }
            Err(TryLockError::Error(e)) => return Err(fail(e)),
        }
    }
}
