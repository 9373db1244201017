//! The rules of login throttling and lockout over their counters; the policy that uses
//! them (and the numbers) is in `auth.rs`, and where the counters live in
//! `store/throttle.rs` (in memory on SQLite, shared by every instance on PostgreSQL).
//!
//! An attempt touches up to three counters:
//!
//! - per source address ([`Addr`]: an IPv4 address, or the /64 of an IPv6 one, which is
//!   what one host usually holds): a token bucket of attempts;
//! - per (name, address): consecutive failures and the backoff lock they cause;
//! - per name: a token bucket of failures from addresses the operator has not logged in
//!   from (the account's ceiling).
//!
//! Counters are named by a keyed hash of the name and the address (the key is derived
//! from the server key, so every instance on one database names them alike), never by
//! the text, and the same way whether or not an operator has that name.
//!
//! An attempt is counted *before* it is checked ([`Throttle::admit`] takes the tokens and
//! counts the failure, and may already set the lock) and given back when it turns out
//! not to be a failure ([`Throttle::release`], [`Throttle::complete`]). So concurrent
//! requests, on one instance or several, cannot slip more guesses past a limit than it
//! allows while argon2 runs: each update runs on the counters with no other in between.
//!
//! Times are Unix milliseconds from the caller's clock, so instances on one database
//! count in the same time (a clock behind another's sees no refill until it catches up).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::Policy;
use crate::store::StoreError;
use crate::store::throttle::{Counter, CounterKey, Slots, ThrottleStore};

pub use crate::store::throttle::MAX_COUNTERS;

/// Where an attempt comes from, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Addr {
    V4([u8; 4]),
    /// The first 64 bits of an IPv6 address.
    V6Net([u8; 8]),
    /// No peer address (not over TCP): all such attempts share one bucket.
    Unknown,
}

impl Addr {
    /// From the request's source address (`RequestCtx::source_addr`).
    pub fn parse(source: Option<&str>) -> Addr {
        match source.and_then(|s| s.parse::<IpAddr>().ok()) {
            Some(IpAddr::V4(a)) => Addr::V4(a.octets()),
            Some(IpAddr::V6(a)) => match a.to_ipv4_mapped() {
                Some(v4) => Addr::V4(v4.octets()),
                None => {
                    let mut net = [0u8; 8];
                    net.copy_from_slice(&a.octets()[..8]);
                    Addr::V6Net(net)
                }
            },
            None => Addr::Unknown,
        }
    }
}

impl std::fmt::Display for Addr {
    /// `192.0.2.7`, `2001:db8:1:2::/64`, `unknown`: the form known addresses are stored in.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Addr::V4(a) => write!(f, "{}", std::net::Ipv4Addr::from(*a)),
            Addr::V6Net(n) => {
                let mut full = [0u8; 16];
                full[..8].copy_from_slice(n);
                write!(f, "{}/64", std::net::Ipv6Addr::from(full))
            }
            Addr::Unknown => f.write_str("unknown"),
        }
    }
}

/// A token bucket: `burst` tokens, one more every `refill`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub burst: u32,
    pub refill: Duration,
}

/// A bucket that was never used, full at `now`.
fn full(rate: Rate, now: i64) -> Counter {
    Counter {
        tokens: f64::from(rate.burst),
        failures: 0,
        locked_until: None,
        at: now,
    }
}

fn refill(b: &mut Counter, rate: Rate, now: i64) {
    let elapsed = (now - b.at).max(0) as f64 / 1000.0;
    let per = rate.refill.as_secs_f64().max(1e-3);
    b.tokens = (b.tokens + elapsed / per).min(f64::from(rate.burst));
    b.at = b.at.max(now);
}

/// Take a token, or say how long until there is one.
fn take(b: &mut Counter, rate: Rate, now: i64) -> Result<(), Duration> {
    refill(b, rate, now);
    if b.tokens >= 1.0 {
        b.tokens -= 1.0;
        Ok(())
    } else {
        Err(rate.refill.mul_f64(1.0 - b.tokens))
    }
}

fn give_back(b: &mut Counter, rate: Rate) {
    b.tokens = (b.tokens + 1.0).min(f64::from(rate.burst));
}

/// A failure pair with no failures yet.
fn no_failures(now: i64) -> Counter {
    Counter {
        tokens: 0.0,
        failures: 0,
        locked_until: None,
        at: now,
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Why an attempt was refused before it was checked; each carries the wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The source address has used up its attempts.
    Address(Duration),
    /// This address is locked out of this name (backoff after repeated failures).
    Locked(Duration),
    /// The name's ceiling is used up, and the operator never logged in from here.
    Ceiling(Duration),
}

/// The counters of one attempt: its address's bucket, and for a named attempt the
/// (name, address) pair and the name's ceiling. The order is that of the slots.
#[derive(Debug, Clone, Copy)]
struct Keys {
    addr: CounterKey,
    named: Option<(CounterKey, CounterKey)>,
}

impl Keys {
    fn list(&self) -> Vec<CounterKey> {
        match self.named {
            Some((pair, name)) => vec![self.addr, pair, name],
            None => vec![self.addr],
        }
    }
}

/// An admitted attempt, counted as a failure until [`Throttle::release`] or
/// [`Throttle::complete`] says otherwise.
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    keys: Keys,
    took_ceiling: bool,
    /// Consecutive failures of (name, address) with this one.
    pub failures: u32,
    /// Set when this attempt, if it fails, locks the address out of the name: the lock
    /// (already in place, so concurrent attempts wait: its end, Unix ms) and its length.
    pub lock: Option<(i64, Duration)>,
    /// This attempt took the name's last ceiling token.
    pub ceiling_reached: bool,
}

pub struct Throttle {
    counters: Arc<dyn ThrottleStore>,
    /// Keys the counters' names (`key`).
    key: [u8; 32],
    policy: Policy,
}

impl Throttle {
    /// Rules over `counters`, naming them with `key` (the same on every instance that
    /// shares the counters).
    pub fn new(policy: &Policy, counters: Arc<dyn ThrottleStore>, key: [u8; 32]) -> Throttle {
        Throttle {
            counters,
            key,
            policy: policy.clone(),
        }
    }

    fn key(&self, parts: &[&[u8]]) -> CounterKey {
        let mut h = blake3::Hasher::new_keyed(&self.key);
        for p in parts {
            // Length-prefixed, so no two lists of parts hash the same input.
            h.update(&(p.len() as u64).to_le_bytes());
            h.update(p);
        }
        h.finalize().as_bytes()[..16].try_into().expect("16 bytes")
    }

    fn keys(&self, name: Option<&str>, addr: Addr) -> Keys {
        let a = addr.to_string();
        Keys {
            addr: self.key(&[b"address", a.as_bytes()]),
            named: name.map(|n| {
                (
                    self.key(&[b"pair", n.as_bytes(), a.as_bytes()]),
                    self.key(&[b"name", n.as_bytes()]),
                )
            }),
        }
    }

    /// Admit an attempt for `name` (None: an attempt that names nobody, such as an unknown
    /// MFA challenge, limited per address only) from `addr` at `now` (Unix ms). `known`:
    /// the operator has logged in from `addr` recently, so the name's ceiling does not
    /// apply. Fails only when the counters cannot be read or kept (the attempt is then
    /// refused: nothing is checked uncounted).
    pub fn admit(
        &self,
        name: Option<&str>,
        addr: Addr,
        known: bool,
        now: i64,
    ) -> Result<Result<Attempt, Refusal>, StoreError> {
        let keys = self.keys(name, addr);
        let mut out = None;
        self.counters.update_counters(&keys.list(), &mut |slots| {
            out = Some(self.decide(keys, known, now, slots));
        })?;
        Ok(out.expect("the store ran the update"))
    }

    fn decide(
        &self,
        keys: Keys,
        known: bool,
        now: i64,
        slots: &mut Slots,
    ) -> Result<Attempt, Refusal> {
        let (address_rate, name_rate) = (self.policy.address_rate, self.policy.account_rate);
        let addr = slots[0].get_or_insert_with(|| full(address_rate, now));
        take(addr, address_rate, now).map_err(Refusal::Address)?;
        let mut attempt = Attempt {
            keys,
            took_ceiling: false,
            failures: 0,
            lock: None,
            ceiling_reached: false,
        };
        if keys.named.is_none() {
            return Ok(attempt);
        }
        if let Some(p) = &mut slots[1] {
            if let Some(until) = p.locked_until.filter(|u| *u > now) {
                return Err(Refusal::Locked(Duration::from_millis((until - now) as u64)));
            }
            if now - p.at >= millis(self.policy.failure_memory) {
                *p = no_failures(now);
            }
        }
        if !known {
            let b = slots[2].get_or_insert_with(|| full(name_rate, now));
            take(b, name_rate, now).map_err(Refusal::Ceiling)?;
            attempt.took_ceiling = true;
            attempt.ceiling_reached = b.tokens < 1.0;
        }
        let p = slots[1].get_or_insert_with(|| no_failures(now));
        p.failures = p.failures.saturating_add(1);
        p.at = now;
        attempt.failures = p.failures;
        if let Some(delay) = self.policy.lockout_delay(p.failures) {
            let until = now.saturating_add(millis(delay));
            p.locked_until = Some(until);
            attempt.lock = Some((until, delay));
        }
        Ok(attempt)
    }

    /// The attempt was not a failure, but no login completed either (a right password
    /// before the MFA step, a code refused for clock skew): give back what it took.
    pub fn release(&self, a: Attempt) {
        self.settle(a, false);
    }

    /// A login (or step-up) succeeded: give back what the attempt took and forget the
    /// failures of this address for this name.
    pub fn complete(&self, a: Attempt) {
        self.settle(a, true);
    }

    fn settle(&self, a: Attempt, completed: bool) {
        let (address_rate, name_rate) = (self.policy.address_rate, self.policy.account_rate);
        let result = self.counters.update_counters(&a.keys.list(), &mut |slots| {
            if let Some(b) = &mut slots[0] {
                give_back(b, address_rate);
            }
            if a.keys.named.is_none() {
                return;
            }
            if a.took_ceiling
                && let Some(b) = &mut slots[2]
            {
                give_back(b, name_rate);
            }
            if completed {
                slots[1] = None;
            } else if let Some(p) = &mut slots[1] {
                p.failures = p.failures.saturating_sub(1);
                if a.lock
                    .is_some_and(|(until, _)| p.locked_until == Some(until))
                {
                    p.locked_until = None;
                }
            }
        });
        // Left counted, the attempt stays a failure: stricter, never looser.
        if let Err(e) = result {
            tracing::warn!(error = %e, "cannot give a login attempt back to its counters");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::throttle::MemoryCounters;

    fn policy() -> Policy {
        Policy {
            address_rate: Rate {
                burst: 10,
                refill: Duration::from_secs(6),
            },
            account_rate: Rate {
                burst: 20,
                refill: Duration::from_secs(60),
            },
            ..Policy::default()
        }
    }

    fn throttle_of(counters: Arc<MemoryCounters>) -> Throttle {
        Throttle::new(&policy(), counters, [7; 32])
    }

    fn throttle() -> Tester {
        Tester(throttle_of(Arc::new(MemoryCounters::new(MAX_COUNTERS))))
    }

    /// The unit tests' view: a store that cannot fail.
    struct Tester(Throttle);

    impl Tester {
        fn admit(
            &self,
            name: Option<&str>,
            addr: Addr,
            known: bool,
            now: i64,
        ) -> Result<Attempt, Refusal> {
            self.0.admit(name, addr, known, now).expect("in memory")
        }
        fn release(&self, a: Attempt) {
            self.0.release(a)
        }
        fn complete(&self, a: Attempt) {
            self.0.complete(a)
        }
    }

    const T0: i64 = 1_800_000_000_000;

    fn v4(last: u8) -> Addr {
        Addr::V4([192, 0, 2, last])
    }

    #[test]
    fn addresses_are_counted_per_ipv4_address_and_per_ipv6_slash_64() {
        assert_eq!(Addr::parse(Some("192.0.2.7")).to_string(), "192.0.2.7");
        assert_eq!(Addr::parse(Some("::ffff:192.0.2.7")), v4(7));
        let a = Addr::parse(Some("2001:db8:1:2:aaaa::1"));
        assert_eq!(a, Addr::parse(Some("2001:db8:1:2:ffff::9")));
        assert_ne!(a, Addr::parse(Some("2001:db8:1:3::1")));
        assert_eq!(a.to_string(), "2001:db8:1:2::/64");
        assert_eq!(Addr::parse(None), Addr::Unknown);
        assert_eq!(Addr::parse(Some("garbage")), Addr::Unknown);
    }

    #[test]
    fn an_address_gets_its_burst_then_one_attempt_per_refill_and_successes_cost_nothing() {
        let t = throttle();
        let now = T0;
        // Successful logins give their token back: any number of them.
        for _ in 0..50 {
            let a = t.admit(Some("alice"), v4(1), true, now).unwrap();
            t.complete(a);
        }
        // Failures (different names each time) use the burst up...
        for i in 0..10 {
            t.admit(Some(&format!("guess{i}")), v4(1), false, now)
                .unwrap();
        }
        assert_eq!(
            t.admit(Some("alice"), v4(1), true, now).unwrap_err(),
            Refusal::Address(Duration::from_secs(6))
        );
        // ...another address is not affected...
        t.admit(Some("alice"), v4(2), true, now).unwrap();
        // ...and one token comes back every 6 s.
        let later = now + 3000;
        assert_eq!(
            t.admit(Some("x"), v4(1), false, later).unwrap_err(),
            Refusal::Address(Duration::from_secs(3))
        );
        let later = now + 6000;
        t.admit(Some("x"), v4(1), false, later).unwrap();
        assert!(t.admit(Some("x"), v4(1), false, later).is_err());
    }

    #[test]
    fn five_failures_lock_one_address_out_of_one_name_with_doubling_delays() {
        let t = throttle();
        let now = T0;
        for n in 1..=4 {
            let a = t.admit(Some("bob"), v4(1), false, now).unwrap();
            assert_eq!((a.failures, a.lock), (n, None));
        }
        let fifth = t.admit(Some("bob"), v4(1), false, now).unwrap();
        assert_eq!(fifth.lock.map(|l| l.1), Some(Duration::from_secs(30)));
        assert_eq!(
            t.admit(Some("bob"), v4(1), false, now).unwrap_err(),
            Refusal::Locked(Duration::from_secs(30))
        );
        // The same name from elsewhere, and another name from here, are not locked.
        t.admit(Some("bob"), v4(2), false, now).unwrap();
        t.admit(Some("carol"), v4(1), false, now).unwrap();
        // After the lock: one more try; failing it locks for twice as long.
        let later = now + 31000;
        let sixth = t.admit(Some("bob"), v4(1), false, later).unwrap();
        assert_eq!(sixth.lock.map(|l| l.1), Some(Duration::from_secs(60)));
        // A completed login clears the address's failures.
        t.complete(sixth);
        let a = t.admit(Some("bob"), v4(1), false, later).unwrap();
        assert_eq!((a.failures, a.lock), (1, None));
    }

    #[test]
    fn a_released_attempt_is_not_a_failure_and_lifts_the_lock_it_set() {
        let t = throttle();
        let now = T0;
        for _ in 0..4 {
            t.admit(Some("bob"), v4(1), false, now).unwrap();
        }
        // The fifth attempt locks in advance; its password turns out right.
        let fifth = t.admit(Some("bob"), v4(1), false, now).unwrap();
        assert!(fifth.lock.is_some());
        t.release(fifth);
        let again = t.admit(Some("bob"), v4(1), false, now).unwrap();
        assert_eq!(again.failures, 5, "still the fifth failure in a row");
    }

    #[test]
    fn the_name_ceiling_refuses_new_addresses_but_not_known_ones() {
        let t = throttle();
        let now = T0;
        // 20 failures spread over addresses, 4 each (below the per-pair lock).
        let mut last = None;
        for i in 0..20u8 {
            last = Some(t.admit(Some("owner"), v4(10 + i / 4), false, now).unwrap());
        }
        assert!(last.unwrap().ceiling_reached);
        assert_eq!(
            t.admit(Some("owner"), v4(99), false, now).unwrap_err(),
            Refusal::Ceiling(Duration::from_secs(60))
        );
        // The owner's usual address is exempt, and completes a login.
        let a = t.admit(Some("owner"), v4(1), true, now).unwrap();
        t.complete(a);
        // Other names are not affected.
        t.admit(Some("someone"), v4(99), false, now).unwrap();
        // One failure per minute comes back.
        let later = now + 60000;
        t.admit(Some("owner"), v4(99), false, later).unwrap();
        assert!(t.admit(Some("owner"), v4(98), false, later).is_err());
    }

    #[test]
    fn names_and_addresses_sprayed_past_the_capacity_keep_memory_bounded() {
        let counters = Arc::new(MemoryCounters::new(3 * 64));
        let t = throttle_of(counters.clone());
        let now = T0;
        for i in 0..10_000u32 {
            let addr = Addr::V4(i.to_be_bytes());
            let _ = t.admit(Some(&format!("random-{i}")), addr, false, now);
        }
        assert!(counters.len() <= 3 * 64, "{}", counters.len());
    }

    #[test]
    fn two_throttles_on_one_store_count_every_attempt_once() {
        // Two instances on one database: the same key, the same counters.
        let counters = Arc::new(MemoryCounters::new(MAX_COUNTERS));
        let (a, b) = (throttle_of(counters.clone()), throttle_of(counters));
        for n in 1..=4 {
            let on = if n % 2 == 0 { &a } else { &b };
            let attempt = on.admit(Some("bob"), v4(1), false, T0).unwrap().unwrap();
            assert_eq!(attempt.failures, n);
        }
        assert!(
            b.admit(Some("bob"), v4(1), false, T0)
                .unwrap()
                .unwrap()
                .lock
                .is_some()
        );
        assert_eq!(
            a.admit(Some("bob"), v4(1), false, T0).unwrap().unwrap_err(),
            Refusal::Locked(Duration::from_secs(30))
        );
    }

    #[test]
    fn counters_are_named_by_a_keyed_hash_of_name_and_address() {
        let t = throttle().0;
        let other = Throttle::new(&policy(), Arc::new(MemoryCounters::new(8)), [8; 32]);
        let k = t.keys(Some("bob"), v4(1));
        assert_ne!(k.addr, other.keys(Some("bob"), v4(1)).addr);
        assert_ne!(k.named, t.keys(Some("bob"), v4(2)).named);
        assert_ne!(
            k.named.unwrap().1,
            t.keys(Some("bo"), v4(1)).named.unwrap().1
        );
        assert_eq!(
            k.named.unwrap().1,
            t.keys(Some("bob"), v4(2)).named.unwrap().1
        );
    }

    #[test]
    fn failures_are_forgotten_a_day_after_the_last_one() {
        let t = throttle();
        let now = T0;
        for _ in 0..4 {
            t.admit(Some("bob"), v4(1), true, now).unwrap();
        }
        let later = now + millis(policy().failure_memory);
        let a = t.admit(Some("bob"), v4(1), true, later).unwrap();
        assert_eq!(a.failures, 1);
    }
}
