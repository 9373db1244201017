//! Browser approvals: the state machine of the OAuth 2.0 device authorization grant
//! (RFC 8628) behind `imadm auth login --web`, `imadm mfa passkey add` and passkey
//! step-up. Kept in memory: an approval lives minutes, and a restart only makes the
//! operator start again.
//!
//! A grant is started for a [`Purpose`] by a client (the CLI) at an address. The client
//! gets a secret *device code* to poll with and a short *user code* the operator types or
//! finds pre-filled on the approval page, which shows it beside the client's address so
//! the operator can tell it is theirs (RFC 8628 section 5.4, remote phishing). The page
//! approves ([`Approvals::approve`]) or denies it; the client's poll then gets the outcome
//! exactly once ([`Poll`]), after which the device code is spent.
//!
//! Rules (RFC 8628 section 3.5): a poll sooner than `interval` after the previous one
//! (a little slack allowed for the network) is answered `slow_down` and the interval grows
//! by 5 s for good; after `expires` everything is `expired`; a poll from another address
//! than the one that started the grant is answered as for an unknown code. At most
//! [`MAX_PER_ADDRESS`] pending grants per address and [`MAX_PENDING`] pending logins in
//! all: a flood of starts cannot fill memory, nor crowd out a session's enrolment or
//! step-up.
//!
//! A step-up approval ends in a one-use *step-up token* instead ([`Approvals::redeem`]):
//! bound to the operator, the session and the exact request ([`Binding`]), valid for
//! [`STEP_UP_TOKEN_TTL`]. `C` is the page's WebAuthn ceremony in progress (`passkey.rs`),
//! held with the grant so it cannot be replayed elsewhere.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::secrets;

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

/// The request a step-up approval is for: method, path with query, SHA-256 of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub method: String,
    pub path: String,
    pub body_sha256: [u8; 32],
}

/// What a grant approves.
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The operator signed in (login).
    LoggedIn { operator_id: i64 },
    /// The passkey with this id was stored (enrolment).
    Enrolled { operator_id: i64, passkey_id: i64 },
    /// The operator approved the request with a passkey (step-up).
    Approved { operator_id: i64 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Pending,
    Done(Outcome),
    Denied,
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
    device_hash: String,
    expires: Instant,
    interval: Duration,
    last_poll: Option<Instant>,
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

struct StepUpToken {
    operator_id: i64,
    session_id: i64,
    binding: Binding,
    action: String,
    expires: Instant,
}

/// Why a step-up token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redeem {
    /// Unknown, used, expired, or another operator's or session's.
    Invalid,
    /// Issued for another request (method, path or body differ); it is spent now.
    OtherRequest,
}

struct Inner<C> {
    /// By user code.
    grants: HashMap<String, Grant<C>>,
    /// Device code hash → user code.
    by_device: HashMap<String, String>,
    /// Token hash → token.
    tokens: HashMap<String, StepUpToken>,
}

/// Every grant in progress, and the step-up tokens not yet used.
pub struct Approvals<C> {
    inner: Mutex<Inner<C>>,
    ttl: Duration,
    interval: Duration,
}

impl<C> Approvals<C> {
    /// Grants living `ttl`, polled every `interval` at most.
    pub fn new(ttl: Duration, interval: Duration) -> Self {
        Approvals {
            inner: Mutex::new(Inner {
                grants: HashMap::new(),
                by_device: HashMap::new(),
                tokens: HashMap::new(),
            }),
            ttl,
            interval,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<C>> {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.sweep(Instant::now());
        g
    }

    /// Start a grant for `purpose` requested from `client_addr` at `now`.
    pub fn start(
        &self,
        purpose: Purpose,
        client_addr: Option<String>,
        now: Instant,
        unix_now: i64,
    ) -> Result<Started, Full> {
        let mut g = self.lock();
        g.sweep(now);
        let first_to_end = |addr: Option<&Option<String>>| {
            g.grants
                .values()
                .filter(|x| addr.is_none_or(|a| &x.client_addr == a))
                .map(|x| x.expires.saturating_duration_since(now))
                .min()
                .unwrap_or_default()
        };
        // Logins are started without a session, by anyone: only they are capped in all,
        // so a flood of them cannot keep operators from enrolling or approving a step-up.
        let logins = g
            .grants
            .values()
            .filter(|x| x.purpose == Purpose::Login)
            .count();
        if purpose == Purpose::Login && logins >= MAX_PENDING {
            return Err(Full::Server(first_to_end(None)));
        }
        let mine = g
            .grants
            .values()
            .filter(|x| x.client_addr == client_addr)
            .count();
        if mine >= MAX_PER_ADDRESS {
            return Err(Full::Address(first_to_end(Some(&client_addr))));
        }
        let user_code = loop {
            let c = user_code();
            if !g.grants.contains_key(&c) {
                break c;
            }
        };
        let device_code = secrets::random_token("imadm_dc_");
        let device_hash = secrets::token_hash(&device_code);
        g.by_device.insert(device_hash.clone(), user_code.clone());
        g.grants.insert(
            user_code.clone(),
            Grant {
                user_code: user_code.clone(),
                purpose,
                client_addr,
                started_at: unix_now,
                ceremony: None,
                device_hash,
                expires: now + self.ttl,
                interval: self.interval,
                last_poll: None,
                state: State::Pending,
            },
        );
        Ok(Started {
            device_code,
            user_code,
            expires_in: self.ttl,
            interval: self.interval,
        })
    }

    /// The client's poll with `device_code` from `client_addr` at `now`.
    pub fn poll(&self, device_code: &str, client_addr: Option<&str>, now: Instant) -> Poll {
        let mut g = self.lock();
        g.sweep(now);
        let hash = secrets::token_hash(device_code);
        let Some(code) = g.by_device.get(&hash).cloned() else {
            return Poll::Expired;
        };
        let Some(grant) = g.grants.get_mut(&code) else {
            return Poll::Expired;
        };
        if grant.client_addr.as_deref() != client_addr {
            return Poll::Expired;
        }
        if grant.state == State::Pending {
            // Some slack: two polls sent `interval` apart may arrive a little closer.
            let slack = grant.interval / 4;
            let too_soon = grant
                .last_poll
                .is_some_and(|last| now + slack < last + grant.interval);
            grant.last_poll = Some(now);
            if too_soon {
                grant.interval += SLOW_DOWN_STEP;
                return Poll::SlowDown(grant.interval);
            }
            return Poll::Pending;
        }
        // Approved or denied: answered once, then the code is spent.
        let grant = g.remove(&code).expect("present");
        match grant.state {
            State::Done(outcome) => Poll::Done(grant.purpose, outcome),
            _ => Poll::Denied,
        }
    }

    /// Run `f` on the pending (or decided) grant with `user_code`, if it lives.
    pub fn with<R>(&self, user_code: &str, f: impl FnOnce(&mut Grant<C>) -> R) -> Option<R> {
        let mut g = self.lock();
        g.grants.get_mut(&normalise(user_code)).map(f)
    }

    /// Approve the pending grant `user_code` with `outcome`; false if it is not pending.
    pub fn approve(&self, user_code: &str, outcome: Outcome) -> bool {
        self.decide(user_code, State::Done(outcome))
    }

    /// Deny the pending grant `user_code`; false if it is not pending.
    pub fn deny(&self, user_code: &str) -> bool {
        self.decide(user_code, State::Denied)
    }

    fn decide(&self, user_code: &str, state: State) -> bool {
        let mut g = self.lock();
        match g.grants.get_mut(&normalise(user_code)) {
            Some(grant) if grant.state == State::Pending => {
                grant.state = state;
                grant.ceremony = None;
                true
            }
            _ => false,
        }
    }

    /// A one-use token for the step-up approved in `purpose` (a [`Purpose::StepUp`]).
    pub fn issue(&self, purpose: &Purpose, now: Instant) -> Option<String> {
        let Purpose::StepUp {
            operator_id,
            session_id,
            binding,
            action,
            ..
        } = purpose
        else {
            return None;
        };
        let token = secrets::random_token("imadm_su_");
        self.lock().tokens.insert(
            secrets::token_hash(&token),
            StepUpToken {
                operator_id: *operator_id,
                session_id: *session_id,
                binding: binding.clone(),
                action: action.clone(),
                expires: now + STEP_UP_TOKEN_TTL,
            },
        );
        Some(token)
    }

    /// Spend a step-up token for `binding` sent by the operator's session; the action it
    /// approved. A token is spent by any attempt that names its operator and session,
    /// right request or not.
    pub fn redeem(
        &self,
        token: &str,
        operator_id: i64,
        session_id: i64,
        binding: &Binding,
        now: Instant,
    ) -> Result<String, Redeem> {
        let mut g = self.lock();
        g.sweep(now);
        let hash = secrets::token_hash(token);
        match g.tokens.get(&hash) {
            Some(t) if t.operator_id == operator_id && t.session_id == session_id => {}
            _ => return Err(Redeem::Invalid),
        }
        let t = g.tokens.remove(&hash).expect("present");
        if &t.binding != binding {
            return Err(Redeem::OtherRequest);
        }
        Ok(t.action)
    }
}

impl<C> Inner<C> {
    fn remove(&mut self, user_code: &str) -> Option<Grant<C>> {
        let g = self.grants.remove(user_code)?;
        self.by_device.remove(&g.device_hash);
        Some(g)
    }

    /// Forget what has expired.
    fn sweep(&mut self, now: Instant) {
        let gone: Vec<String> = self
            .grants
            .values()
            .filter(|g| g.expires <= now)
            .map(|g| g.user_code.clone())
            .collect();
        for code in gone {
            self.remove(&code);
        }
        self.tokens.retain(|_, t| t.expires > now);
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

    const TTL: Duration = Duration::from_secs(600);
    const EVERY: Duration = Duration::from_secs(5);
    const HOME: Option<&str> = Some("192.0.2.1");

    fn approvals() -> Approvals<()> {
        Approvals::new(TTL, EVERY)
    }

    fn start(a: &Approvals<()>, purpose: Purpose, now: Instant) -> Started {
        a.start(purpose, HOME.map(str::to_owned), now, 0).unwrap()
    }

    fn binding(body: &[u8]) -> Binding {
        use sha2::Digest;
        Binding {
            method: "DELETE".into(),
            path: "/admin/operators/bob".into(),
            body_sha256: sha2::Sha256::digest(body).into(),
        }
    }

    #[test]
    fn a_grant_is_pending_until_approved_then_answered_once() {
        let a = approvals();
        let t0 = Instant::now();
        let s = start(&a, Purpose::Login, t0);
        assert_eq!(s.expires_in, TTL);
        assert_eq!(s.interval, EVERY);
        assert_eq!(a.poll(&s.device_code, HOME, t0 + EVERY), Poll::Pending);
        let outcome = Outcome::LoggedIn { operator_id: 7 };
        assert!(a.approve(&s.user_code, outcome.clone()));
        // Decided once: a second decision is refused.
        assert!(!a.deny(&s.user_code));
        assert_eq!(
            a.poll(&s.device_code, HOME, t0 + 2 * EVERY),
            Poll::Done(Purpose::Login, outcome)
        );
        // One use: the code is spent.
        assert_eq!(a.poll(&s.device_code, HOME, t0 + 3 * EVERY), Poll::Expired);
        assert!(a.with(&s.user_code, |_| ()).is_none());
    }

    #[test]
    fn a_denied_grant_is_answered_denied_once() {
        let a = approvals();
        let t0 = Instant::now();
        let s = start(&a, Purpose::Login, t0);
        assert!(a.deny(&s.user_code.to_lowercase().replace('-', " ")));
        assert!(!a.approve(&s.user_code, Outcome::LoggedIn { operator_id: 1 }));
        assert_eq!(a.poll(&s.device_code, HOME, t0 + EVERY), Poll::Denied);
        assert_eq!(a.poll(&s.device_code, HOME, t0 + 2 * EVERY), Poll::Expired);
    }

    #[test]
    fn polling_too_fast_slows_the_client_down_for_good() {
        let a = approvals();
        let t0 = Instant::now();
        let s = start(&a, Purpose::Login, t0);
        assert_eq!(a.poll(&s.device_code, HOME, t0), Poll::Pending);
        // A little early (network jitter) is fine...
        let t1 = t0 + EVERY - Duration::from_millis(500);
        assert_eq!(a.poll(&s.device_code, HOME, t1), Poll::Pending);
        // ...half the interval is not: 5 s more, from now on.
        let t2 = t1 + EVERY / 2;
        assert_eq!(
            a.poll(&s.device_code, HOME, t2),
            Poll::SlowDown(EVERY + SLOW_DOWN_STEP)
        );
        // The old interval is now too fast too.
        let t3 = t2 + EVERY;
        assert_eq!(
            a.poll(&s.device_code, HOME, t3),
            Poll::SlowDown(EVERY + 2 * SLOW_DOWN_STEP)
        );
        let t4 = t3 + EVERY + 2 * SLOW_DOWN_STEP;
        assert_eq!(a.poll(&s.device_code, HOME, t4), Poll::Pending);
    }

    #[test]
    fn an_expired_grant_is_expired_and_can_no_longer_be_approved() {
        let a = approvals();
        let t0 = Instant::now() - TTL - Duration::from_secs(1);
        let s = start(&a, Purpose::Login, t0);
        // Sweeping uses the real clock too: this grant's expiry has passed.
        assert_eq!(a.poll(&s.device_code, HOME, t0 + TTL), Poll::Expired);
        assert!(!a.approve(&s.user_code, Outcome::LoggedIn { operator_id: 1 }));
        assert!(a.with(&s.user_code, |_| ()).is_none());
    }

    #[test]
    fn unknown_codes_and_other_addresses_get_expired() {
        let a = approvals();
        let t0 = Instant::now();
        let s = start(&a, Purpose::Login, t0);
        assert_eq!(a.poll("imadm_dc_guess", HOME, t0), Poll::Expired);
        assert_eq!(
            a.poll(&s.device_code, Some("203.0.113.9"), t0),
            Poll::Expired
        );
        // The right client is not affected.
        assert_eq!(a.poll(&s.device_code, HOME, t0), Poll::Pending);
    }

    #[test]
    fn pending_grants_are_capped_per_address_and_in_all() {
        let a = approvals();
        let t0 = Instant::now();
        for _ in 0..MAX_PER_ADDRESS {
            start(&a, Purpose::Login, t0);
        }
        let e = a
            .start(Purpose::Login, HOME.map(str::to_owned), t0, 0)
            .unwrap_err();
        assert!(matches!(e, Full::Address(d) if d <= TTL), "{e:?}");
        // Another address still can.
        assert!(
            a.start(Purpose::Login, Some("198.51.100.1".into()), t0, 0)
                .is_ok()
        );
        for i in 0..MAX_PENDING {
            let _ = a.start(
                Purpose::Login,
                Some(format!("10.0.{}.{}", i / 200, i % 200)),
                t0,
                0,
            );
        }
        let e = a
            .start(Purpose::Login, Some("198.51.100.2".into()), t0, 0)
            .unwrap_err();
        assert!(matches!(e, Full::Server(_)), "{e:?}");
        // A session's enrolment still starts: the flood of logins does not crowd it out.
        let enrol = Purpose::Enrol {
            operator_id: 1,
            session_id: 1,
            name: "laptop".into(),
        };
        assert!(a.start(enrol, Some("198.51.100.3".into()), t0, 0).is_ok());
    }

    #[test]
    fn a_step_up_token_is_bound_to_its_request_and_used_once() {
        let a = approvals();
        let t0 = Instant::now();
        let purpose = Purpose::StepUp {
            operator_id: 3,
            session_id: 30,
            binding: binding(b"{}"),
            action: "deleting an operator".into(),
            shown: "delete operator bob".into(),
        };
        let s = start(&a, purpose.clone(), t0);
        assert!(a.approve(&s.user_code, Outcome::Approved { operator_id: 3 }));
        let Poll::Done(p, _) = a.poll(&s.device_code, HOME, t0 + EVERY) else {
            panic!("not approved");
        };
        let token = a.issue(&p, t0).unwrap();
        // Another session or operator cannot use it (and does not spend it).
        assert_eq!(
            a.redeem(&token, 3, 31, &binding(b"{}"), t0),
            Err(Redeem::Invalid)
        );
        assert_eq!(
            a.redeem(&token, 4, 30, &binding(b"{}"), t0),
            Err(Redeem::Invalid)
        );
        assert_eq!(
            a.redeem(&token, 3, 30, &binding(b"{}"), t0).as_deref(),
            Ok("deleting an operator")
        );
        assert_eq!(
            a.redeem(&token, 3, 30, &binding(b"{}"), t0),
            Err(Redeem::Invalid),
            "used once"
        );
        // A token for another body is spent by the attempt.
        let token = a.issue(&p, t0).unwrap();
        assert_eq!(
            a.redeem(&token, 3, 30, &binding(b"{\"x\":1}"), t0),
            Err(Redeem::OtherRequest)
        );
        assert_eq!(
            a.redeem(&token, 3, 30, &binding(b"{}"), t0),
            Err(Redeem::Invalid)
        );
        // And it does not outlive its minute.
        let token = a.issue(&p, t0 - STEP_UP_TOKEN_TTL).unwrap();
        assert_eq!(
            a.redeem(&token, 3, 30, &binding(b"{}"), t0),
            Err(Redeem::Invalid)
        );
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
