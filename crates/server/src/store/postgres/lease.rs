//! [`Lease`] on PostgreSQL: leadership of a background duty (an audit sink's delivery, a
//! notification channel's) among the instances on one database, as a session-level
//! advisory lock (`pg_try_advisory_lock`) on a connection of the lease's own. The
//! database releases the lock when that session ends, so an instance that dies or loses
//! its connection hands the duty over with no timeout of ours; [`Lease::held`] notices
//! the lost connection, and the loop holding it stops until it wins the lock again.

use postgres::Client;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{PgStore, describe};
use crate::store::Lease;

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

impl PgLease {
    fn try_take(&mut self) -> Result<bool, postgres::Error> {
        let client = match &mut self.client {
            Some(c) => c,
            None => self
                .client
                .insert(self.target.config.connect(self.target.tls.clone())?),
        };
        client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&self.key])?
            .try_get(0)
    }
}

impl Lease for PgLease {
    fn held(&mut self) -> bool {
        if self.holding {
            // The session is the lock: while it answers, the lock is ours.
            if let Some(c) = &mut self.client
                && c.simple_query("").is_ok()
            {
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
        if let Some(client) = self.client.take() {
            let _ = std::thread::spawn(move || drop(client));
        }
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
}
