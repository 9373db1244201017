//! Browser approvals: the state machine of the OAuth 2.0 device authorization grant
//! (RFC 8628) behind `imadm auth login --web`, `imadm mfa passkey add` and passkey
//! step-up, over the grants and tokens a store keeps (`store/approval.rs`: in memory on
//! SQLite, where a restart only makes the operator start again; shared by every instance
//! on PostgreSQL, so the start, the page and its WebAuthn ceremony, the poll and the
//! token's use may each reach another instance).
//!
//! A grant is started for a [`Purpose`] by a client (the CLI) at an address. The client
//! gets a secret *device code* to poll with and a short *user code* the operator types or
//! finds pre-filled on the approval page, which shows it beside the client's address so
//! the operator can tell it is theirs (RFC 8628 section 5.4, remote phishing). The page
//! approves ([`Approvals::approve`]) or denies it; the client's poll then gets the outcome
//! exactly once ([`Poll`]), after which the device code is spent: each poll changes the
//! grant with no other change of it in between, on any instance.
//!
//! Rules (RFC 8628 section 3.5): a poll sooner than `interval` after the previous one
//! (a little slack allowed for the network) is answered `slow_down` and the interval grows
//! by 5 s for good; after `expires` everything is `expired`; a poll from another address
//! than the one that started the grant is answered as for an unknown code. At most
//! [`MAX_PER_ADDRESS`] pending grants per address and [`MAX_PENDING`] pending logins in
//! all, counted over every instance: a flood of starts cannot fill the store, nor crowd
//! out a session's enrolment or step-up.
//!
//! A step-up approval ends in a one-use *step-up token* instead ([`Approvals::redeem`]):
//! bound to the operator, the session and the exact request ([`Binding`]), valid for
//! [`STEP_UP_TOKEN_TTL`], taken from the store once. `C` is the page's WebAuthn ceremony
//! in progress (`passkey.rs`), kept with the grant so it cannot be replayed elsewhere.
//!
//! Nothing secret is stored in clear: device codes and step-up tokens by their SHA-256,
//! and what a grant is for, its state and its ceremony (webauthn-rs's state is a server
//! secret: its challenge) sealed with the server key, the AAD naming the grant or token.
//! Times are Unix milliseconds from the caller's clock.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::keys::ServerKey;
use crate::secrets;
use crate::store::approval::{ApprovalStore, Census, GrantKey, Start, StoredGrant, StoredToken};
use crate::store::{Result, StoreError};

/// Pending grants per client address.
pub const MAX_PER_ADDRESS: usize = 10;
/// Pending login grants in all (those started by sessions are capped per address only).
pub const MAX_PENDING: usize = 1000;
/// How much longer the interval gets at each `slow_down` (RFC 8628 section 3.5).
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// How long a step-up token may wait for its request.
pub const STEP_UP_TOKEN_TTL: Duration = Duration::from_secs(60);
/// Letters of user codes: consonants only (no vowels, so no words; no look-alikes),
/// as RFC 8628 section 6.1 suggests. 20^8: about 34 bits.
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Fresh user codes tried when one is taken, before giving up (with a few thousand live
/// codes among 20^8, a second try is already rare).
const USER_CODE_TRIES: usize = 16;

/// The request a step-up approval is for: method, path with query, SHA-256 of the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    pub method: String,
    pub path: String,
    pub body_sha256: [u8; 32],
}

/// What a grant approves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Purpose {
    /// A login: whoever signs in on the page (password and passkey, or passkey alone).
    Login,
    /// A new passkey named `name` for the operator whose session asked.
    Enrol {
        operator_id: i64,
        session_id: i64,
        name: String,
    },
    /// One request of the operator's session; `action` says what it does (for the audit
    /// log), `shown` what the page shows the operator (may name IM users).
    StepUp {
        operator_id: i64,
        session_id: i64,
        binding: Binding,
        action: String,
        shown: String,
    },
}

impl Purpose {
    /// The operator a grant is for, if it was started by a session.
    pub fn operator_id(&self) -> Option<i64> {
        match self {
            Purpose::Login => None,
            Purpose::Enrol { operator_id, .. } | Purpose::StepUp { operator_id, .. } => {
                Some(*operator_id)
            }
        }
    }
}

/// What the page established when it approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// The operator signed in (login).
    LoggedIn { operator_id: i64 },
    /// The passkey with this id was stored (enrolment).
    Enrolled { operator_id: i64, passkey_id: i64 },
    /// The operator approved the request with a passkey (step-up).
    Approved { operator_id: i64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum State {
    Pending,
    Done(Outcome),
    Denied,
}

/// A grant's sealed part.
#[derive(Serialize, Deserialize)]
struct Body {
    purpose: Purpose,
    state: State,
}

/// A step-up token's sealed part.
#[derive(Serialize, Deserialize)]
struct TokenBody {
    binding: Binding,
    action: String,
}

// The AADs name what the store keeps in clear beside a sealed value and a rule reads:
// a row's sealed part moved to another row, or its clear part changed, does not open.

fn body_aad(g: &StoredGrant) -> String {
    let addr = g.client_addr.as_deref().unwrap_or("");
    format!(
        "approval_grants.body:{}:{}:{addr}:{}",
        g.user_code, g.device_hash, g.login
    )
}

fn ceremony_aad(g: &StoredGrant) -> String {
    format!("approval_grants.ceremony:{}:{}", g.user_code, g.device_hash)
}

fn token_aad(t: &StoredToken) -> String {
    format!(
        "approval_tokens.body:{}:{}:{}",
        t.hash, t.operator_id, t.session_id
    )
}

fn seal<T: Serialize>(key: &ServerKey, value: &T, aad: &str) -> Vec<u8> {
    let plain = zeroize::Zeroizing::new(serde_json::to_vec(value).expect("serialisable"));
    key.seal(&plain, aad)
}

/// A sealed value opened; `None` (and a warning) when it does not open or parse, which
/// the callers take as no grant: another instance's server key, or a tampered row.
fn open<T: DeserializeOwned>(key: &ServerKey, sealed: &[u8], aad: &str) -> Option<T> {
    let value = key
        .open(sealed, aad)
        .and_then(|plain| serde_json::from_slice(&plain).ok());
    if value.is_none() {
        tracing::warn!("a browser approval does not open with this server key: ignored");
    }
    value
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn until(end: Option<i64>, now: i64) -> Duration {
    Duration::from_millis(end.map_or(0, |e| (e - now).max(0)) as u64)
}

/// A grant as the page sees it.
#[derive(Debug)]
pub struct Grant<C> {
    pub user_code: String,
    pub purpose: Purpose,
    /// The address of the client that started it, shown on the page.
    pub client_addr: Option<String>,
    /// Seconds since the epoch it was started, for the page.
    pub started_at: i64,
    /// The WebAuthn ceremony the page has begun, if any.
    pub ceremony: Option<C>,
    state: State,
}

impl<C> Grant<C> {
    pub fn is_pending(&self) -> bool {
        self.state == State::Pending
    }
}

/// What a poll answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    /// `authorization_pending`.
    Pending,
    /// `slow_down`: poll this often from now on.
    SlowDown(Duration),
    /// `access_denied` (once; the code is spent).
    Denied,
    /// `expired_token`: expired, spent, unknown, or polled from another address.
    Expired,
    /// Approved (once; the code is spent), with what the grant was for.
    Done(Purpose, Outcome),
}

/// Why a grant could not be started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// This address has [`MAX_PER_ADDRESS`] pending grants; one ends within this long.
    Address(Duration),
    /// [`MAX_PENDING`] grants are pending.
    Server(Duration),
}

/// A grant just started: what the client is told.
#[derive(Debug, Clone)]
pub struct Started {
    pub device_code: String,
    pub user_code: String,
    pub expires_in: Duration,
    pub interval: Duration,
}

/// Why a step-up token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redeem {
    /// Unknown, used, expired, or another operator's or session's.
    Invalid,
    /// Issued for another request (method, path or body differ); it is spent now.
    OtherRequest,
}

/// The rules over the grants and step-up tokens in `store`. Each call takes the server
/// key that seals what is stored.
pub struct Approvals<C> {
    store: Arc<dyn ApprovalStore>,
    ttl: Duration,
    interval: Duration,
    ceremony: PhantomData<fn() -> C>,
}

impl<C: Serialize + DeserializeOwned> Approvals<C> {
    /// Grants kept in `store`, living `ttl`, polled every `interval` at most.
    pub fn new(store: Arc<dyn ApprovalStore>, ttl: Duration, interval: Duration) -> Self {
        Approvals {
            store,
            ttl,
            interval,
            ceremony: PhantomData,
        }
    }

    /// Start a grant for `purpose` requested from `client_addr` at `now` (Unix ms).
    pub fn start(
        &self,
        key: &ServerKey,
        purpose: Purpose,
        client_addr: Option<String>,
        now: i64,
        unix_now: i64,
    ) -> Result<std::result::Result<Started, Full>> {
        let device_code = secrets::random_token("imadm_dc_");
        let login = purpose == Purpose::Login;
        let body = Body {
            purpose,
            state: State::Pending,
        };
        for _ in 0..USER_CODE_TRIES {
            let user_code = user_code();
            let mut grant = StoredGrant {
                body: vec![],
                user_code: user_code.clone(),
                device_hash: secrets::token_hash(&device_code),
                client_addr: client_addr.clone(),
                login,
                started_at: unix_now,
                expires: now + ms(self.ttl),
                interval_ms: ms(self.interval),
                last_poll: None,
                ceremony: None,
            };
            grant.body = seal(key, &body, &body_aad(&grant));
            let mut full = None;
            let started = self.store.start_grant(&grant, now, &mut |c: &Census| {
                // Logins are started without a session, by anyone: only they are capped
                // in all, so a flood of them cannot keep operators from enrolling or
                // approving a step-up.
                full = if login && c.logins >= MAX_PENDING {
                    Some(Full::Server(until(c.first_login_ends, now)))
                } else if c.from_addr >= MAX_PER_ADDRESS {
                    Some(Full::Address(until(c.first_from_addr_ends, now)))
                } else {
                    None
                };
                full.is_none()
            })?;
            match started {
                Start::Started => {
                    return Ok(Ok(Started {
                        device_code,
                        user_code,
                        expires_in: self.ttl,
                        interval: self.interval,
                    }));
                }
                Start::Refused => return Ok(Err(full.expect("refused with a reason"))),
                Start::CodeTaken => continue,
            }
        }
        Err(StoreError::Backend("no free user code".into()))
    }

    /// The client's poll with `device_code` from `client_addr` at `now`.
    pub fn poll(
        &self,
        key: &ServerKey,
        device_code: &str,
        client_addr: Option<&str>,
        now: i64,
    ) -> Result<Poll> {
        let hash = secrets::token_hash(device_code);
        let mut answer = Poll::Expired;
        self.store
            .update_grant(GrantKey::DeviceHash(&hash), now, &mut |slot| {
                let Some(g) = slot.as_mut() else { return };
                if g.client_addr.as_deref() != client_addr {
                    return;
                }
                let Some(body) = open::<Body>(key, &g.body, &body_aad(g)) else {
                    return;
                };
                match body.state {
                    State::Pending => {
                        // Some slack: two polls sent `interval` apart may arrive a little
                        // closer.
                        let slack = g.interval_ms / 4;
                        let too_soon = g
                            .last_poll
                            .is_some_and(|last| now + slack < last + g.interval_ms);
                        g.last_poll = Some(now);
                        answer = if too_soon {
                            g.interval_ms += ms(SLOW_DOWN_STEP);
                            Poll::SlowDown(Duration::from_millis(g.interval_ms as u64))
                        } else {
                            Poll::Pending
                        };
                    }
                    // Approved or denied: answered once, then the code is spent.
                    State::Done(outcome) => {
                        *slot = None;
                        answer = Poll::Done(body.purpose, outcome);
                    }
                    State::Denied => {
                        *slot = None;
                        answer = Poll::Denied;
                    }
                }
            })?;
        Ok(answer)
    }

    /// Run `f` on the pending (or decided) grant with `user_code`, if it lives at `now`;
    /// what `f` leaves in the grant's ceremony is kept.
    pub fn with<R>(
        &self,
        key: &ServerKey,
        user_code: &str,
        now: i64,
        f: impl FnOnce(&mut Grant<C>) -> R,
    ) -> Result<Option<R>> {
        let mut f = Some(f);
        let mut out = None;
        self.store.update_grant(
            GrantKey::UserCode(&normalise(user_code)),
            now,
            &mut |slot| {
                let Some(stored) = slot.as_mut() else { return };
                let Some(mut grant) = self.open_grant(key, stored) else {
                    return;
                };
                if let Some(f) = f.take() {
                    out = Some(f(&mut grant));
                }
                self.seal_grant(key, &grant, stored);
            },
        )?;
        Ok(out)
    }

    fn open_grant(&self, key: &ServerKey, g: &StoredGrant) -> Option<Grant<C>> {
        let body: Body = open(key, &g.body, &body_aad(g))?;
        let ceremony = match &g.ceremony {
            Some(sealed) => Some(open(key, sealed, &ceremony_aad(g))?),
            None => None,
        };
        Some(Grant {
            user_code: g.user_code.clone(),
            purpose: body.purpose,
            client_addr: g.client_addr.clone(),
            started_at: g.started_at,
            ceremony,
            state: body.state,
        })
    }

    /// Write `grant`'s purpose, state and ceremony into `stored`, sealed.
    fn seal_grant(&self, key: &ServerKey, grant: &Grant<C>, stored: &mut StoredGrant) {
        let body = Body {
            purpose: grant.purpose.clone(),
            state: grant.state.clone(),
        };
        stored.body = seal(key, &body, &body_aad(stored));
        stored.ceremony = grant
            .ceremony
            .as_ref()
            .map(|c| seal(key, c, &ceremony_aad(stored)));
    }

    /// Approve the pending grant `user_code` with `outcome`; false if it is not pending.
    pub fn approve(
        &self,
        key: &ServerKey,
        user_code: &str,
        outcome: Outcome,
        now: i64,
    ) -> Result<bool> {
        self.decide(key, user_code, State::Done(outcome), now)
    }

    /// Deny the pending grant `user_code`; false if it is not pending.
    pub fn deny(&self, key: &ServerKey, user_code: &str, now: i64) -> Result<bool> {
        self.decide(key, user_code, State::Denied, now)
    }

    fn decide(&self, key: &ServerKey, user_code: &str, state: State, now: i64) -> Result<bool> {
        let decided = self.with(key, user_code, now, |g| {
            if !g.is_pending() {
                return false;
            }
            g.state = state;
            g.ceremony = None;
            true
        })?;
        Ok(decided == Some(true))
    }

    /// A one-use token for the step-up approved in `purpose` (a [`Purpose::StepUp`]).
    pub fn issue(&self, key: &ServerKey, purpose: &Purpose, now: i64) -> Result<Option<String>> {
        let Purpose::StepUp {
            operator_id,
            session_id,
            binding,
            action,
            ..
        } = purpose
        else {
            return Ok(None);
        };
        let token = secrets::random_token("imadm_su_");
        let hash = secrets::token_hash(&token);
        let body = TokenBody {
            binding: binding.clone(),
            action: action.clone(),
        };
        let mut stored = StoredToken {
            body: vec![],
            hash,
            operator_id: *operator_id,
            session_id: *session_id,
            expires: now + ms(STEP_UP_TOKEN_TTL),
        };
        stored.body = seal(key, &body, &token_aad(&stored));
        self.store.add_step_up_token(&stored)?;
        Ok(Some(token))
    }

    /// Spend a step-up token for `binding` sent by the operator's session; the action it
    /// approved. A token is spent by any attempt that names its operator and session,
    /// right request or not.
    pub fn redeem(
        &self,
        key: &ServerKey,
        token: &str,
        operator_id: i64,
        session_id: i64,
        binding: &Binding,
        now: i64,
    ) -> Result<std::result::Result<String, Redeem>> {
        let hash = secrets::token_hash(token);
        let Some(t) = self
            .store
            .take_step_up_token(&hash, operator_id, session_id, now)?
        else {
            return Ok(Err(Redeem::Invalid));
        };
        let Some(body) = open::<TokenBody>(key, &t.body, &token_aad(&t)) else {
            return Ok(Err(Redeem::Invalid));
        };
        if &body.binding != binding {
            return Ok(Err(Redeem::OtherRequest));
        }
        Ok(Ok(body.action))
    }
}

fn user_code() -> String {
    let mut rng = rand::rng();
    let mut pick = || USER_CODE_ALPHABET[rng.random_range(0..USER_CODE_ALPHABET.len())] as char;
    let a: String = (0..4).map(|_| pick()).collect();
    let b: String = (0..4).map(|_| pick()).collect();
    format!("{a}-{b}")
}

/// A user code as typed: case and separators do not matter (`bcdf ghjk` is `BCDF-GHJK`).
pub fn normalise(typed: &str) -> String {
    let letters: String = typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if letters.len() == 8 {
        format!("{}-{}", &letters[..4], &letters[4..])
    } else {
        letters
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::approval::MemoryApprovals;

    const TTL: Duration = Duration::from_secs(600);
    const EVERY: Duration = Duration::from_secs(5);
    const HOME: Option<&str> = Some("192.0.2.1");
    /// A Unix time in ms.
    const T0: i64 = 1_800_000_000_000;

    /// Approvals over an in-memory store, with a server key of their own.
    struct Fx {
        a: Approvals<String>,
        key: ServerKey,
        store: Arc<MemoryApprovals>,
        _dir: tempfile::TempDir,
    }

    fn approvals() -> Fx {
        beside(Arc::default())
    }

    /// Another instance on `store`, with another server key.
    fn beside(store: Arc<MemoryApprovals>) -> Fx {
        let dir = tempfile::tempdir().unwrap();
        let key = ServerKey::create(&dir.path().join("server.key")).unwrap();
        Fx {
            a: Approvals::new(store.clone(), TTL, EVERY),
            key,
            store,
            _dir: dir,
        }
    }

    impl Fx {
        fn try_start(
            &self,
            purpose: Purpose,
            addr: Option<&str>,
            now: i64,
        ) -> std::result::Result<Started, Full> {
            let addr = addr.map(str::to_owned);
            self.a.start(&self.key, purpose, addr, now, 0).unwrap()
        }
        fn start(&self, purpose: Purpose, now: i64) -> Started {
            self.try_start(purpose, HOME, now).unwrap()
        }
        fn poll(&self, device_code: &str, addr: Option<&str>, now: i64) -> Poll {
            self.a.poll(&self.key, device_code, addr, now).unwrap()
        }
        fn approve(&self, user_code: &str, outcome: Outcome, now: i64) -> bool {
            self.a.approve(&self.key, user_code, outcome, now).unwrap()
        }
        fn deny(&self, user_code: &str, now: i64) -> bool {
            self.a.deny(&self.key, user_code, now).unwrap()
        }
        fn with<R>(
            &self,
            user_code: &str,
            now: i64,
            f: impl FnOnce(&mut Grant<String>) -> R,
        ) -> Option<R> {
            self.a.with(&self.key, user_code, now, f).unwrap()
        }
        fn issue(&self, purpose: &Purpose, now: i64) -> Option<String> {
            self.a.issue(&self.key, purpose, now).unwrap()
        }
        fn redeem(
            &self,
            token: &str,
            op: i64,
            session: i64,
            binding: &Binding,
            now: i64,
        ) -> std::result::Result<String, Redeem> {
            self.a
                .redeem(&self.key, token, op, session, binding, now)
                .unwrap()
        }
    }

    fn binding(body: &[u8]) -> Binding {
        use sha2::Digest;
        Binding {
            method: "DELETE".into(),
            path: "/admin/operators/bob".into(),
            body_sha256: sha2::Sha256::digest(body).into(),
        }
    }

    fn after(d: Duration) -> i64 {
        T0 + ms(d)
    }

    #[test]
    fn a_grant_is_pending_until_approved_then_answered_once() {
        let a = approvals();
        let s = a.start(Purpose::Login, T0);
        assert_eq!(s.expires_in, TTL);
        assert_eq!(s.interval, EVERY);
        assert_eq!(a.poll(&s.device_code, HOME, after(EVERY)), Poll::Pending);
        let outcome = Outcome::LoggedIn { operator_id: 7 };
        assert!(a.approve(&s.user_code, outcome.clone(), after(EVERY)));
        // Decided once: a second decision is refused.
        assert!(!a.deny(&s.user_code, after(EVERY)));
        assert_eq!(
            a.poll(&s.device_code, HOME, after(2 * EVERY)),
            Poll::Done(Purpose::Login, outcome)
        );
        // One use: the code is spent.
        assert_eq!(
            a.poll(&s.device_code, HOME, after(3 * EVERY)),
            Poll::Expired
        );
        assert!(a.with(&s.user_code, after(3 * EVERY), |_| ()).is_none());
    }

    #[test]
    fn a_denied_grant_is_answered_denied_once() {
        let a = approvals();
        let s = a.start(Purpose::Login, T0);
        assert!(a.deny(&s.user_code.to_lowercase().replace('-', " "), T0));
        assert!(!a.approve(&s.user_code, Outcome::LoggedIn { operator_id: 1 }, T0));
        assert_eq!(a.poll(&s.device_code, HOME, after(EVERY)), Poll::Denied);
        assert_eq!(
            a.poll(&s.device_code, HOME, after(2 * EVERY)),
            Poll::Expired
        );
    }

    #[test]
    fn polling_too_fast_slows_the_client_down_for_good() {
        let a = approvals();
        let s = a.start(Purpose::Login, T0);
        assert_eq!(a.poll(&s.device_code, HOME, T0), Poll::Pending);
        // A little early (network jitter) is fine...
        let t1 = after(EVERY) - 500;
        assert_eq!(a.poll(&s.device_code, HOME, t1), Poll::Pending);
        // ...half the interval is not: 5 s more, from now on.
        let t2 = t1 + ms(EVERY / 2);
        assert_eq!(
            a.poll(&s.device_code, HOME, t2),
            Poll::SlowDown(EVERY + SLOW_DOWN_STEP)
        );
        // The old interval is now too fast too.
        let t3 = t2 + ms(EVERY);
        assert_eq!(
            a.poll(&s.device_code, HOME, t3),
            Poll::SlowDown(EVERY + 2 * SLOW_DOWN_STEP)
        );
        let t4 = t3 + ms(EVERY + 2 * SLOW_DOWN_STEP);
        assert_eq!(a.poll(&s.device_code, HOME, t4), Poll::Pending);
    }

    #[test]
    fn an_expired_grant_is_expired_and_can_no_longer_be_approved() {
        let a = approvals();
        let s = a.start(Purpose::Login, T0);
        let end = after(TTL);
        assert!(
            a.with(&s.user_code, end - 1, |_| ()).is_some(),
            "it lives until then"
        );
        assert_eq!(a.poll(&s.device_code, HOME, end), Poll::Expired);
        assert!(!a.approve(&s.user_code, Outcome::LoggedIn { operator_id: 1 }, end));
        assert!(a.with(&s.user_code, end, |_| ()).is_none());
    }

    #[test]
    fn unknown_codes_and_other_addresses_get_expired() {
        let a = approvals();
        let s = a.start(Purpose::Login, T0);
        assert_eq!(a.poll("imadm_dc_guess", HOME, T0), Poll::Expired);
        assert_eq!(
            a.poll(&s.device_code, Some("203.0.113.9"), T0),
            Poll::Expired
        );
        // The right client is not affected.
        assert_eq!(a.poll(&s.device_code, HOME, T0), Poll::Pending);
    }

    #[test]
    fn pending_grants_are_capped_per_address_and_in_all() {
        let a = approvals();
        for _ in 0..MAX_PER_ADDRESS {
            a.start(Purpose::Login, T0);
        }
        let e = a.try_start(Purpose::Login, HOME, T0 + 1000).unwrap_err();
        assert_eq!(e, Full::Address(TTL - Duration::from_secs(1)));
        // Another address still can.
        assert!(
            a.try_start(Purpose::Login, Some("198.51.100.1"), T0)
                .is_ok()
        );
        for i in 0..MAX_PENDING {
            let _ = a.try_start(
                Purpose::Login,
                Some(&format!("10.0.{}.{}", i / 200, i % 200)),
                T0,
            );
        }
        let e = a
            .try_start(Purpose::Login, Some("198.51.100.2"), T0)
            .unwrap_err();
        assert!(matches!(e, Full::Server(_)), "{e:?}");
        // A session's enrolment still starts: the flood of logins does not crowd it out.
        let enrol = Purpose::Enrol {
            operator_id: 1,
            session_id: 1,
            name: "laptop".into(),
        };
        assert!(a.try_start(enrol, Some("198.51.100.3"), T0).is_ok());
        // Once they end, logins start again.
        assert!(
            a.try_start(Purpose::Login, Some("198.51.100.2"), after(TTL))
                .is_ok()
        );
    }

    #[test]
    fn the_ceremony_is_kept_with_its_grant_and_dropped_when_decided() {
        let a = approvals();
        let s = a.start(Purpose::Login, T0);
        a.with(&s.user_code, T0, |g| g.ceremony = Some("challenge".into()));
        let seen = a.with(&s.user_code, T0, |g| g.ceremony.take());
        assert_eq!(seen, Some(Some("challenge".to_owned())));
        // Taken: one credential per begin.
        assert_eq!(a.with(&s.user_code, T0, |g| g.ceremony.clone()), Some(None));
        a.with(&s.user_code, T0, |g| g.ceremony = Some("again".into()));
        assert!(a.approve(&s.user_code, Outcome::LoggedIn { operator_id: 1 }, T0));
        assert_eq!(a.with(&s.user_code, T0, |g| g.ceremony.clone()), Some(None));
    }

    #[test]
    fn another_instance_on_the_store_follows_the_grant_with_the_same_key_only() {
        let a = approvals();
        let mut b = beside(a.store.clone());
        // Another server key opens nothing: as if there were no grant.
        let s = a.start(Purpose::Login, T0);
        assert_eq!(b.poll(&s.device_code, HOME, T0), Poll::Expired);
        assert!(!b.approve(&s.user_code, Outcome::LoggedIn { operator_id: 1 }, T0));
        // The same key (a copy of server.key): the page's approval and the poll may each
        // reach either instance, and the answer comes once.
        b.key = ServerKey::load(&a._dir.path().join("server.key")).unwrap();
        assert!(b.approve(&s.user_code, Outcome::LoggedIn { operator_id: 1 }, T0));
        assert_eq!(
            a.poll(&s.device_code, HOME, T0),
            Poll::Done(Purpose::Login, Outcome::LoggedIn { operator_id: 1 })
        );
        assert_eq!(b.poll(&s.device_code, HOME, T0), Poll::Expired);
    }

    #[test]
    fn a_step_up_token_is_bound_to_its_request_and_used_once() {
        let a = approvals();
        let purpose = Purpose::StepUp {
            operator_id: 3,
            session_id: 30,
            binding: binding(b"{}"),
            action: "deleting an operator".into(),
            shown: "delete operator bob".into(),
        };
        let s = a.start(purpose.clone(), T0);
        assert!(a.approve(&s.user_code, Outcome::Approved { operator_id: 3 }, T0));
        let Poll::Done(p, _) = a.poll(&s.device_code, HOME, after(EVERY)) else {
            panic!("not approved");
        };
        let token = a.issue(&p, T0).unwrap();
        // Another session or operator cannot use it (and does not spend it).
        assert_eq!(
            a.redeem(&token, 3, 31, &binding(b"{}"), T0),
            Err(Redeem::Invalid)
        );
        assert_eq!(
            a.redeem(&token, 4, 30, &binding(b"{}"), T0),
            Err(Redeem::Invalid)
        );
        assert_eq!(
            a.redeem(&token, 3, 30, &binding(b"{}"), T0).as_deref(),
            Ok("deleting an operator")
        );
        assert_eq!(
            a.redeem(&token, 3, 30, &binding(b"{}"), T0),
            Err(Redeem::Invalid),
            "used once"
        );
        // A token for another body is spent by the attempt.
        let token = a.issue(&p, T0).unwrap();
        assert_eq!(
            a.redeem(&token, 3, 30, &binding(b"{\"x\":1}"), T0),
            Err(Redeem::OtherRequest)
        );
        assert_eq!(
            a.redeem(&token, 3, 30, &binding(b"{}"), T0),
            Err(Redeem::Invalid)
        );
        // And it does not outlive its minute.
        let token = a.issue(&p, T0 - ms(STEP_UP_TOKEN_TTL)).unwrap();
        assert_eq!(
            a.redeem(&token, 3, 30, &binding(b"{}"), T0),
            Err(Redeem::Invalid)
        );
        // Only a step-up gives one.
        assert_eq!(a.issue(&Purpose::Login, T0), None);
    }

    #[test]
    fn user_codes_are_two_groups_of_four_consonants() {
        for _ in 0..100 {
            let c = user_code();
            assert_eq!(c.len(), 9);
            assert_eq!(&c[4..5], "-");
            assert!(
                c.bytes()
                    .filter(|b| *b != b'-')
                    .all(|b| USER_CODE_ALPHABET.contains(&b))
            );
            assert_eq!(normalise(&c.to_lowercase().replace('-', "")), c);
        }
    }
}
