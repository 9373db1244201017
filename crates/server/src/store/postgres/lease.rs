//! [`Lease`] on PostgreSQL: leadership of a background duty (an audit sink's delivery, a
//! notification channel's) among the instances on one database, as a session-level
//! advisory lock (`pg_try_advisory_lock`) on a connection of the lease's own. The
//! database releases the lock when that session ends, so an instance that dies or loses
//! its connection hands the duty over with no timeout of ours; [`Lease::held`] notices
//! the lost connection, and the loop holding it stops until it wins the lock again.
//!
//! The instance lock ([`super::INSTANCE_LOCK`]) is the same recipe with one fixed key:
//! every serving instance holds it shared (`pg_try_advisory_lock_shared`), an offline
//! rotation exclusive, so neither starts while the other runs.

use postgres::Client;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{INSTANCE_LOCK, PgStore, describe};
use crate::store::{Hold, InstanceLock, Lease};

/// What a lease connects with.
#[derive(Clone)]
pub(super) struct LeaseTarget {
    pub config: postgres::Config,
    pub tls: MakeRustlsConnect,
}

struct PgLease {
    target: LeaseTarget,
    key: i64,
    duty: String,
    client: Option<Client>,
    holding: bool,
}

/// Try the session-level advisory lock `key` (`function`: `pg_try_advisory_lock` or its
/// `_shared` twin) on `client`, connecting it first if there is none.
fn try_lock(
    target: &LeaseTarget,
    client: &mut Option<Client>,
    function: &str,
    key: i64,
) -> Result<bool, postgres::Error> {
    let client = match client {
        Some(c) => c,
        None => client.insert(target.config.connect(target.tls.clone())?),
    };
    client
        .query_one(&format!("SELECT {function}($1)"), &[&key])?
        .try_get(0)
}

/// Whether the session on `client` still answers (then a lock it took is still its own).
fn alive(client: &mut Option<Client>) -> bool {
    client.as_mut().is_some_and(|c| c.simple_query("").is_ok())
}

/// The blocking client owns a runtime, which may not be dropped on an async worker: close
/// it on a thread.
fn close(client: &mut Option<Client>) {
    if let Some(client) = client.take() {
        let _ = std::thread::spawn(move || drop(client));
    }
}

impl PgLease {
    fn try_take(&mut self) -> Result<bool, postgres::Error> {
        try_lock(
            &self.target,
            &mut self.client,
            "pg_try_advisory_lock",
            self.key,
        )
    }
}

impl Lease for PgLease {
    fn held(&mut self) -> bool {
        if self.holding {
            // The session is the lock: while it answers, the lock is ours.
            if alive(&mut self.client) {
                return true;
            }
            tracing::warn!(duty = %self.duty, "lost the lead (its database session ended)");
            self.client = None;
            self.holding = false;
        }
        match self.try_take() {
            Ok(won) => self.holding = won,
            Err(e) => {
                tracing::warn!(duty = %self.duty, error = %describe(&e), "cannot take the lead");
                self.client = None;
            }
        }
        self.holding
    }
}

impl Drop for PgLease {
    /// The blocking client owns a runtime, which may not be dropped on an async worker
    /// (a notification task holding its lease is aborted there): close it on a thread.
    fn drop(&mut self) {
        close(&mut self.client);
    }
}

/// [`Backend::instance_lock`](crate::store::Backend::instance_lock) on PostgreSQL.
struct PgInstanceLock {
    target: LeaseTarget,
    exclusive: bool,
    client: Option<Client>,
    holding: bool,
}

impl InstanceLock for PgInstanceLock {
    fn check(&mut self) -> Hold {
        if self.holding && alive(&mut self.client) {
            return Hold::Held;
        }
        if self.holding {
            tracing::warn!("lost the instance lock (its database session ended); taking it again");
            self.holding = false;
            close(&mut self.client);
        }
        let function = if self.exclusive {
            "pg_try_advisory_lock"
        } else {
            "pg_try_advisory_lock_shared"
        };
        match try_lock(&self.target, &mut self.client, function, INSTANCE_LOCK) {
            Ok(true) => {
                self.holding = true;
                Hold::Held
            }
            Ok(false) => Hold::Refused,
            Err(e) => {
                close(&mut self.client);
                Hold::Unreachable(describe(&e))
            }
        }
    }
}

impl Drop for PgInstanceLock {
    fn drop(&mut self) {
        close(&mut self.client);
    }
}

/// The advisory lock key of `duty`: 64 bits of its BLAKE3 hash, under a context of its
/// own, so duties never share a key with each other or the fixed keys of `mod.rs`.
fn key(duty: &str) -> i64 {
    let hash = blake3::derive_key("imadm 2026-11-28 instance duty lock v1", duty.as_bytes());
    i64::from_le_bytes(hash[..8].try_into().expect("8 bytes"))
}

impl PgStore {
    pub(super) fn lease_of(&self, duty: &str) -> Box<dyn Lease> {
        Box::new(PgLease {
            target: self.lease_target.clone(),
            key: key(duty),
            duty: duty.to_owned(),
            client: None,
            holding: false,
        })
    }

    pub(super) fn instance_lock_of(&self, exclusive: bool) -> Box<dyn InstanceLock> {
        Box::new(PgInstanceLock {
            target: self.lease_target.clone(),
            exclusive,
            client: None,
            holding: false,
        })
    }
}
