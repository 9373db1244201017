//! The in-memory counters behind login throttling and lockout; the rules that use them
//! (and the numbers) are in `auth.rs`.
//!
//! Three maps behind one mutex, each a least-recently-used cache of at most
//! [`MAX_ENTRIES`] entries, so spraying names or addresses evicts old entries instead of
//! growing memory (a few MiB per map when full):
//!
//! - per source address ([`Addr`]: an IPv4 address, or the /64 of an IPv6 one, which is
//!   what one host usually holds): a token bucket of attempts;
//! - per (name, address): consecutive failures and the backoff lock they cause;
//! - per name: a token bucket of failures from addresses the operator has not logged in
//!   from (the account's ceiling).
//!
//! Names are kept as a keyed 64-bit hash (a random key per process), never as text, and
//! the same way whether or not an operator has that name.
//!
//! An attempt is counted *before* it is checked ([`Throttle::admit`] takes the tokens and
//! counts the failure, and may already set the lock) and given back when it turns out
//! not to be a failure ([`Throttle::release`], [`Throttle::complete`]). So concurrent
//! requests cannot slip more guesses past a limit than it allows while argon2 runs.
//!
//! State lives in memory only: a restart forgets it (locks included).

use std::hash::{BuildHasher, Hash, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hashlink::LruCache;

use crate::auth::Policy;

/// Entries per map. With the per-address limit, filling a map from one address takes
/// days; the per-name ceiling is what bounds an attacker holding many addresses.
pub const MAX_ENTRIES: usize = 1 << 16;

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

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(rate: Rate, now: Instant) -> Bucket {
        Bucket {
            tokens: f64::from(rate.burst),
            at: now,
        }
    }

    fn refill(&mut self, rate: Rate, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        let per = rate.refill.as_secs_f64().max(1e-3);
        self.tokens = (self.tokens + elapsed / per).min(f64::from(rate.burst));
        self.at = now;
    }

    /// Take a token, or say how long until there is one.
    fn take(&mut self, rate: Rate, now: Instant) -> Result<(), Duration> {
        self.refill(rate, now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(rate.refill.mul_f64(1.0 - self.tokens))
        }
    }

    fn give_back(&mut self, rate: Rate) {
        self.tokens = (self.tokens + 1.0).min(f64::from(rate.burst));
    }
}

#[derive(Debug, Clone, Copy)]
struct Pair {
    failures: u32,
    locked_until: Option<Instant>,
    last_failure: Instant,
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

/// An admitted attempt, counted as a failure until [`Throttle::release`] or
/// [`Throttle::complete`] says otherwise.
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    name: Option<u64>,
    addr: Addr,
    took_ceiling: bool,
    /// Consecutive failures of (name, address) with this one.
    pub failures: u32,
    /// Set when this attempt, if it fails, locks the address out of the name: the lock
    /// (already in place, so concurrent attempts wait) and its length.
    pub lock: Option<(Instant, Duration)>,
    /// This attempt took the name's last ceiling token.
    pub ceiling_reached: bool,
}

struct Maps {
    addrs: LruCache<Addr, Bucket>,
    pairs: LruCache<(u64, Addr), Pair>,
    names: LruCache<u64, Bucket>,
}

pub struct Throttle {
    maps: Mutex<Maps>,
    hasher: RandomState,
    policy: Policy,
}

/// The entry for `key`, created by `make` when absent (evicting the least recently used
/// one if the map is full), and marked as recently used.
fn slot<K: Hash + Eq + Copy, V>(
    map: &mut LruCache<K, V>,
    key: K,
    make: impl FnOnce() -> V,
) -> &mut V {
    if map.get_mut(&key).is_none() {
        map.insert(key, make());
    }
    map.get_mut(&key).expect("just inserted")
}

impl Throttle {
    pub fn new(policy: &Policy) -> Throttle {
        Throttle::with_capacity(policy, MAX_ENTRIES)
    }

    pub fn with_capacity(policy: &Policy, entries: usize) -> Throttle {
        Throttle {
            maps: Mutex::new(Maps {
                addrs: LruCache::new(entries),
                pairs: LruCache::new(entries),
                names: LruCache::new(entries),
            }),
            hasher: RandomState::new(),
            policy: policy.clone(),
        }
    }

    fn maps(&self) -> std::sync::MutexGuard<'_, Maps> {
        // Counters only: a panic elsewhere cannot leave them unsafe to use.
        self.maps.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn address_rate(&self) -> Rate {
        self.policy.address_rate
    }

    fn name_rate(&self) -> Rate {
        self.policy.account_rate
    }

    /// Admit an attempt for `name` (None: an attempt that names nobody, such as an unknown
    /// MFA challenge, limited per address only) from `addr`. `known`: the operator has
    /// logged in from `addr` recently, so the name's ceiling does not apply.
    pub fn admit(
        &self,
        name: Option<&str>,
        addr: Addr,
        known: bool,
        now: Instant,
    ) -> Result<Attempt, Refusal> {
        let name = name.map(|n| self.hasher.hash_one(n));
        let (address_rate, name_rate) = (self.address_rate(), self.name_rate());
        let mut m = self.maps();
        slot(&mut m.addrs, addr, || Bucket::full(address_rate, now))
            .take(address_rate, now)
            .map_err(Refusal::Address)?;
        let mut attempt = Attempt {
            name,
            addr,
            took_ceiling: false,
            failures: 0,
            lock: None,
            ceiling_reached: false,
        };
        let Some(name) = name else {
            return Ok(attempt);
        };
        if let Some(p) = m.pairs.get_mut(&(name, addr)) {
            if let Some(until) = p.locked_until.filter(|u| *u > now) {
                return Err(Refusal::Locked(until - now));
            }
            if now.saturating_duration_since(p.last_failure) >= self.policy.failure_memory {
                *p = Pair {
                    failures: 0,
                    locked_until: None,
                    last_failure: now,
                };
            }
        }
        if !known {
            let b = slot(&mut m.names, name, || Bucket::full(name_rate, now));
            b.take(name_rate, now).map_err(Refusal::Ceiling)?;
            attempt.took_ceiling = true;
            attempt.ceiling_reached = b.tokens < 1.0;
        }
        let p = slot(&mut m.pairs, (name, addr), || Pair {
            failures: 0,
            locked_until: None,
            last_failure: now,
        });
        p.failures = p.failures.saturating_add(1);
        p.last_failure = now;
        attempt.failures = p.failures;
        if let Some(delay) = self.policy.lockout_delay(p.failures) {
            let until = now + delay;
            p.locked_until = Some(until);
            attempt.lock = Some((until, delay));
        }
        Ok(attempt)
    }

    /// The attempt was not a failure, but no login completed either (a right password
    /// before the MFA step, a code refused for clock skew): give back what it took.
    pub fn release(&self, a: Attempt) {
        let (address_rate, name_rate) = (self.address_rate(), self.name_rate());
        let mut m = self.maps();
        if let Some(b) = m.addrs.peek_mut(&a.addr) {
            b.give_back(address_rate);
        }
        let Some(name) = a.name else { return };
        if a.took_ceiling
            && let Some(b) = m.names.peek_mut(&name)
        {
            b.give_back(name_rate);
        }
        if let Some(p) = m.pairs.peek_mut(&(name, a.addr)) {
            p.failures = p.failures.saturating_sub(1);
            if a.lock
                .is_some_and(|(until, _)| p.locked_until == Some(until))
            {
                p.locked_until = None;
            }
        }
    }

    /// A login (or step-up) succeeded: give back what the attempt took and forget the
    /// failures of this address for this name.
    pub fn complete(&self, a: Attempt) {
        self.release(a);
        if let Some(name) = a.name {
            self.maps().pairs.remove(&(name, a.addr));
        }
    }

    #[cfg(test)]
    fn sizes(&self) -> (usize, usize, usize) {
        let m = self.maps();
        (m.addrs.len(), m.pairs.len(), m.names.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let t = Throttle::new(&policy());
        let now = Instant::now();
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
        let later = now + Duration::from_secs(3);
        assert_eq!(
            t.admit(Some("x"), v4(1), false, later).unwrap_err(),
            Refusal::Address(Duration::from_secs(3))
        );
        let later = now + Duration::from_secs(6);
        t.admit(Some("x"), v4(1), false, later).unwrap();
        assert!(t.admit(Some("x"), v4(1), false, later).is_err());
    }

    #[test]
    fn five_failures_lock_one_address_out_of_one_name_with_doubling_delays() {
        let t = Throttle::new(&policy());
        let now = Instant::now();
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
        let later = now + Duration::from_secs(31);
        let sixth = t.admit(Some("bob"), v4(1), false, later).unwrap();
        assert_eq!(sixth.lock.map(|l| l.1), Some(Duration::from_secs(60)));
        // A completed login clears the address's failures.
        t.complete(sixth);
        let a = t.admit(Some("bob"), v4(1), false, later).unwrap();
        assert_eq!((a.failures, a.lock), (1, None));
    }

    #[test]
    fn a_released_attempt_is_not_a_failure_and_lifts_the_lock_it_set() {
        let t = Throttle::new(&policy());
        let now = Instant::now();
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
        let t = Throttle::new(&policy());
        let now = Instant::now();
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
        let later = now + Duration::from_secs(60);
        t.admit(Some("owner"), v4(99), false, later).unwrap();
        assert!(t.admit(Some("owner"), v4(98), false, later).is_err());
    }

    #[test]
    fn names_and_addresses_sprayed_past_the_capacity_keep_memory_bounded() {
        let t = Throttle::with_capacity(&policy(), 64);
        let now = Instant::now();
        for i in 0..10_000u32 {
            let addr = Addr::V4(i.to_be_bytes());
            let _ = t.admit(Some(&format!("random-{i}")), addr, false, now);
        }
        let (addrs, pairs, names) = t.sizes();
        assert!(
            addrs <= 65 && pairs <= 65 && names <= 65,
            "{addrs} {pairs} {names}"
        );
    }

    #[test]
    fn failures_are_forgotten_a_day_after_the_last_one() {
        let t = Throttle::new(&policy());
        let now = Instant::now();
        for _ in 0..4 {
            t.admit(Some("bob"), v4(1), true, now).unwrap();
        }
        let later = now + policy().failure_memory;
        let a = t.admit(Some("bob"), v4(1), true, later).unwrap();
        assert_eq!(a.failures, 1);
    }
}
