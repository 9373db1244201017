//! Where the counters of login throttling live (`throttle.rs` has the rules, `auth.rs`
//! the policy): [`ThrottleStore`], which a backend implements, and [`MemoryCounters`],
//! the in-memory store of a backend that is one process.
//!
//! A store only keeps counters and serialises updates; it knows nothing of the rules.
//! [`ThrottleStore::update_counters`] hands the counters an attempt touches to the rules
//! with no other update of any of them in between, on any instance: several instances on
//! one database then count every attempt once, so N instances do not allow N times the
//! guesses. Counters are named by a keyed hash ([`CounterKey`]), never by a username or
//! an address.
//!
//! SQLite keeps them in memory ([`MemoryCounters`]: one process holds the data dir, and a
//! restart forgets them); PostgreSQL in the `login_throttle` table, shared by the
//! instances, which is not part of backups or restores.

use std::sync::Mutex;

use hashlink::LruCache;

use super::Result;

/// Counters [`MemoryCounters`] keeps at most: three per attempt at most, so filling it
/// from one address takes days with the per-address limit; the per-name ceiling is what
/// bounds an attacker holding many addresses.
pub const MAX_COUNTERS: usize = 3 << 16;

/// A counter's name: the first 16 bytes of a keyed BLAKE3 hash of what it counts.
pub type CounterKey = [u8; 16];

/// One counter: a token bucket (a source address, a name's ceiling) uses `tokens` and
/// `at`; a failure pair (a name from an address) `failures`, `locked_until` and `at`.
/// Times are Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Counter {
    pub tokens: f64,
    pub failures: u32,
    pub locked_until: Option<i64>,
    /// The bucket's last refill, or the pair's last failure.
    pub at: i64,
}

/// The counters an update reads and writes, in the order of its keys; `None`: no
/// counter (a fresh one, or one to forget).
pub type Slots = [Option<Counter>];

pub trait ThrottleStore: Send + Sync {
    /// Run `f` on the counters named by `keys` (distinct), with no other update of any of
    /// them in between, on any instance; then keep what `f` left in them. Nothing is kept
    /// if this fails.
    fn update_counters(&self, keys: &[CounterKey], f: &mut dyn FnMut(&mut Slots)) -> Result<()>;
}

/// Counters in a least-recently-used map of bounded size: spraying names or addresses
/// evicts old counters instead of growing memory.
pub struct MemoryCounters {
    map: Mutex<LruCache<CounterKey, Counter>>,
}

impl MemoryCounters {
    pub fn new(capacity: usize) -> MemoryCounters {
        MemoryCounters {
            map: Mutex::new(LruCache::new(capacity)),
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<CounterKey, Counter>> {
        // Counters only: a panic elsewhere cannot leave them unsafe to use.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ThrottleStore for MemoryCounters {
    fn update_counters(&self, keys: &[CounterKey], f: &mut dyn FnMut(&mut Slots)) -> Result<()> {
        let mut map = self.lock();
        let mut slots: Vec<Option<Counter>> = keys.iter().map(|k| map.get(k).copied()).collect();
        f(&mut slots);
        for (key, slot) in keys.iter().zip(slots) {
            match slot {
                Some(c) => {
                    map.insert(*key, c);
                }
                None => {
                    map.remove(key);
                }
            }
        }
        Ok(())
    }
}
