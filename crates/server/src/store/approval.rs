//! Where browser approvals live (`approval.rs` has the rules, `passkey.rs` the policy):
//! [`ApprovalStore`], which a backend implements, and [`MemoryApprovals`], the in-memory
//! store of a backend that is one process.
//!
//! A store keeps grants and step-up tokens and serialises changes to each; it knows
//! nothing of the rules. Every method is atomic on every instance: a start sees the
//! census of live grants with no other start in between ([`ApprovalStore::start_grant`]),
//! a grant is changed with no other change of it in between
//! ([`ApprovalStore::update_grant`]), and a token is taken once
//! ([`ApprovalStore::take_step_up_token`]). So the one answer of a grant and the one use
//! of a token hold however requests are spread over instances.
//!
//! Secrets are never kept in clear: a device code and a step-up token by their SHA-256
//! (like session tokens), and what a grant is for, its state and the page's WebAuthn
//! ceremony sealed with the server key by the service (opaque bytes here). Times are Unix
//! milliseconds from the caller's clock; a row whose `expires` has passed is as good as
//! gone (no method returns it) and is deleted some time later.
//!
//! SQLite keeps them in memory ([`MemoryApprovals`]: one process holds the data dir, and
//! a restart forgets them, which only makes the operator start again); PostgreSQL in the
//! `approval_grants` and `approval_tokens` tables, shared by the instances, which are not
//! part of backups or restores.

use std::collections::HashMap;
use std::sync::Mutex;

use super::Result;

/// One grant as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredGrant {
    /// The short code the operator types (`XXXX-XXXX`); its key on the page.
    pub user_code: String,
    /// SHA-256 (hex) of the device code the client polls with; its key for polls.
    pub device_hash: String,
    /// The address of the client that started it.
    pub client_addr: Option<String>,
    /// A login (counted against the server-wide cap).
    pub login: bool,
    /// Unix seconds it was started (shown on the page).
    pub started_at: i64,
    /// Unix ms it ends.
    pub expires: i64,
    /// How often the client may poll, in ms.
    pub interval_ms: i64,
    /// Unix ms of the last poll.
    pub last_poll: Option<i64>,
    /// What it is for and its state (pending, approved with an outcome, denied), sealed.
    pub body: Vec<u8>,
    /// The WebAuthn ceremony the page has begun, sealed.
    pub ceremony: Option<Vec<u8>>,
}

/// How a grant is found.
#[derive(Debug, Clone, Copy)]
pub enum GrantKey<'a> {
    /// By user code (the page).
    UserCode(&'a str),
    /// By the device code's hash (the client's poll).
    DeviceHash(&'a str),
}

/// The live grants a start is admitted against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Census {
    /// Live login grants, and when the first of them ends (Unix ms).
    pub logins: usize,
    pub first_login_ends: Option<i64>,
    /// Live grants of the new grant's client address, and when the first of them ends.
    pub from_addr: usize,
    pub first_from_addr_ends: Option<i64>,
}

/// What became of a start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Started,
    /// The census was refused.
    Refused,
    /// A live grant has this user code: pick another.
    CodeTaken,
}

/// A one-use step-up token as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    /// SHA-256 (hex) of the token.
    pub hash: String,
    pub operator_id: i64,
    pub session_id: i64,
    /// Unix ms it ends.
    pub expires: i64,
    /// The request it approves and the action, sealed.
    pub body: Vec<u8>,
}

pub trait ApprovalStore: Send + Sync {
    /// Add `grant` if `admit` accepts the census of grants live at `now` (for the
    /// grant's client address), with no other start in between on any instance.
    fn start_grant(
        &self,
        grant: &StoredGrant,
        now: i64,
        admit: &mut dyn FnMut(&Census) -> bool,
    ) -> Result<Start>;

    /// Run `f` on the grant `key` names if it is live at `now` (`None` if not), with no
    /// other change of it in between, on any instance; then keep what `f` left: the
    /// grant changed (its codes stay as they were), or `None` to delete it.
    fn update_grant(
        &self,
        key: GrantKey<'_>,
        now: i64,
        f: &mut dyn FnMut(&mut Option<StoredGrant>),
    ) -> Result<()>;

    fn add_step_up_token(&self, token: &StoredToken) -> Result<()>;

    /// Delete and return the token with `hash` if it is live at `now` and names this
    /// operator and session; once, whichever instance asks.
    fn take_step_up_token(
        &self,
        hash: &str,
        operator_id: i64,
        session_id: i64,
        now: i64,
    ) -> Result<Option<StoredToken>>;
}

#[derive(Default)]
struct Maps {
    /// By user code.
    grants: HashMap<String, StoredGrant>,
    /// Device code hash → user code.
    by_device: HashMap<String, String>,
    /// By hash.
    tokens: HashMap<String, StoredToken>,
}

impl Maps {
    /// Forget what has ended. Bounded by the caps on starts (`approval.rs`).
    fn sweep(&mut self, now: i64) {
        let Maps {
            grants, by_device, ..
        } = self;
        grants.retain(|_, g| {
            let live = g.expires > now;
            if !live {
                by_device.remove(&g.device_hash);
            }
            live
        });
        self.tokens.retain(|_, t| t.expires > now);
    }
}

/// Grants and tokens in maps under one lock.
#[derive(Default)]
pub struct MemoryApprovals {
    maps: Mutex<Maps>,
}

impl MemoryApprovals {
    fn maps(&self) -> std::sync::MutexGuard<'_, Maps> {
        // Plain maps: a panic elsewhere cannot leave them unsafe to use.
        self.maps.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The maps, with what ended by `now` forgotten.
    fn lock(&self, now: i64) -> std::sync::MutexGuard<'_, Maps> {
        let mut m = self.maps();
        m.sweep(now);
        m
    }
}

impl ApprovalStore for MemoryApprovals {
    fn start_grant(
        &self,
        grant: &StoredGrant,
        now: i64,
        admit: &mut dyn FnMut(&Census) -> bool,
    ) -> Result<Start> {
        let mut m = self.lock(now);
        let mut census = Census::default();
        for g in m.grants.values() {
            let earliest = |e: Option<i64>| Some(e.map_or(g.expires, |e| e.min(g.expires)));
            if g.login {
                census.logins += 1;
                census.first_login_ends = earliest(census.first_login_ends);
            }
            if g.client_addr == grant.client_addr {
                census.from_addr += 1;
                census.first_from_addr_ends = earliest(census.first_from_addr_ends);
            }
        }
        if !admit(&census) {
            return Ok(Start::Refused);
        }
        if m.grants.contains_key(&grant.user_code) {
            return Ok(Start::CodeTaken);
        }
        m.by_device
            .insert(grant.device_hash.clone(), grant.user_code.clone());
        m.grants.insert(grant.user_code.clone(), grant.clone());
        Ok(Start::Started)
    }

    fn update_grant(
        &self,
        key: GrantKey<'_>,
        now: i64,
        f: &mut dyn FnMut(&mut Option<StoredGrant>),
    ) -> Result<()> {
        let mut m = self.lock(now);
        let code = match key {
            GrantKey::UserCode(c) => Some(c.to_owned()),
            GrantKey::DeviceHash(h) => m.by_device.get(h).cloned(),
        };
        let mut slot = code.as_ref().and_then(|c| m.grants.get(c).cloned());
        let existed = slot.is_some();
        f(&mut slot);
        let Some(code) = code.filter(|_| existed) else {
            return Ok(());
        };
        match slot {
            Some(mut g) => {
                // The codes are the grant's keys: they stay.
                let old = &m.grants[&code];
                g.user_code = old.user_code.clone();
                g.device_hash = old.device_hash.clone();
                m.grants.insert(code, g);
            }
            None => {
                if let Some(g) = m.grants.remove(&code) {
                    m.by_device.remove(&g.device_hash);
                }
            }
        }
        Ok(())
    }

    fn add_step_up_token(&self, token: &StoredToken) -> Result<()> {
        self.maps().tokens.insert(token.hash.clone(), token.clone());
        Ok(())
    }

    fn take_step_up_token(
        &self,
        hash: &str,
        operator_id: i64,
        session_id: i64,
        now: i64,
    ) -> Result<Option<StoredToken>> {
        let mut m = self.lock(now);
        match m.tokens.get(hash) {
            Some(t) if t.operator_id == operator_id && t.session_id == session_id => {
                Ok(m.tokens.remove(hash))
            }
            _ => Ok(None),
        }
    }
}
