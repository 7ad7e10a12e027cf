//! The most frequent keys of a stream in bounded memory: exact while the
//! stream has fewer distinct keys than the capacity, otherwise an upper
//! bound on each count with its possible error (the Space-Saving idea,
//! pruned in batches so that each key costs O(1) amortised).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::numbers::E164;

/// A multiply-rotate hasher for the small integer keys counted here (the
/// default SipHash is several times slower on them; a counter in an
/// offline tool has no need for its flooding resistance, and memory is
/// bounded whatever the keys).
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

const SEED: u64 = 0x517c_c1b7_2722_0a95;

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(SEED);
        }
    }
    fn write_u8(&mut self, n: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(n)).wrapping_mul(SEED);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(SEED);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// A key a [`TopK`] counts: held as a `u64` (8 bytes a key, so that the
/// table of a long replay stays small enough for the processor's caches).
pub trait Key: Copy + Ord {
    /// The key as a `u64`; distinct keys give distinct values.
    fn pack(self) -> u64;
    /// The key back (`None` only for a value no key packs to).
    fn unpack(value: u64) -> Option<Self>;
}

impl Key for u64 {
    fn pack(self) -> u64 {
        self
    }
    fn unpack(value: u64) -> Option<u64> {
        Some(value)
    }
}

/// An E.164 number is its value: it never starts with 0, so the value
/// gives the digits.
impl Key for E164 {
    fn pack(self) -> u64 {
        self.value()
    }
    fn unpack(value: u64) -> Option<E164> {
        E164::from_digits(&value.to_string())
    }
}

/// Counts keys, keeping at most twice `capacity` of them.
#[derive(Clone, Debug)]
pub struct TopK<K: Key> {
    /// Count of each key kept.
    counts: FastMap<u64, u64>,
    /// How much a key's count may be too high, for the keys first counted
    /// after some were dropped (none while the counts are exact).
    errors: FastMap<u64, u64>,
    capacity: usize,
    /// The largest count ever dropped: how many times a newly seen key may
    /// already have been seen.
    floor: u64,
    key: std::marker::PhantomData<K>,
}

/// One of the most frequent keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ranked<K> {
    /// The key.
    pub key: K,
    /// Its count (exact when `error` is 0, otherwise at most this).
    pub count: u64,
    /// How much `count` may exceed the true count.
    pub error: u64,
}

impl<K: Key> TopK<K> {
    /// Keeps the `capacity` most frequent keys (at least 16).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(16);
        TopK {
            counts: FastMap::default(),
            errors: FastMap::default(),
            capacity,
            floor: 0,
            key: std::marker::PhantomData,
        }
    }

    /// Counts one occurrence.
    pub fn add(&mut self, key: K) {
        let key = key.pack();
        if let Some(c) = self.counts.get_mut(&key) {
            *c += 1;
            return;
        }
        if self.counts.len() >= self.capacity * 2 {
            self.prune();
        }
        self.counts.insert(key, self.floor + 1);
        if self.floor > 0 {
            self.errors.insert(key, self.floor);
        }
    }

    fn prune(&mut self) {
        let mut all: Vec<u64> = self.counts.values().copied().collect();
        let cut = all.len() - self.capacity;
        all.select_nth_unstable(cut);
        let threshold = all[cut];
        // Drop everything below the threshold, then ties until at capacity.
        let mut excess = self.counts.len() - self.capacity;
        let mut dropped_max = self.floor;
        self.counts.retain(|_, c| {
            if excess > 0 && *c <= threshold {
                excess -= 1;
                dropped_max = dropped_max.max(*c);
                false
            } else {
                true
            }
        });
        let counts = &self.counts;
        self.errors.retain(|k, _| counts.contains_key(k));
        self.floor = dropped_max;
    }

    /// Whether every count is exact (no key was ever dropped).
    pub fn exact(&self) -> bool {
        self.floor == 0
    }

    /// The `n` most frequent keys, most frequent first (ties by key).
    pub fn top(&self, n: usize) -> Vec<Ranked<K>> {
        let mut all: Vec<Ranked<K>> = self
            .counts
            .iter()
            .filter_map(|(&k, &count)| {
                Some(Ranked {
                    key: K::unpack(k)?,
                    count,
                    error: self.errors.get(&k).copied().unwrap_or(0),
                })
            })
            .collect();
        let order = |a: &Ranked<K>, b: &Ranked<K>| b.count.cmp(&a.count).then(a.key.cmp(&b.key));
        // Only the first `n` need sorting.
        if n < all.len() {
            all.select_nth_unstable_by(n, order);
            all.truncate(n);
        }
        all.sort_by(order);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_exact_below_capacity() {
        let mut t = TopK::new(16);
        for k in [3, 1, 3, 2, 3, 1] {
            t.add(k);
        }
        assert!(t.exact());
        let top = t.top(2);
        assert_eq!((top[0].key, top[0].count), (3, 3));
        assert_eq!((top[1].key, top[1].count), (1, 2));
    }

    #[test]
    fn heavy_keys_survive_a_flood_of_rare_ones() {
        // Space-Saving keeps every key seen more than about N / capacity times.
        let mut t = TopK::new(100);
        for i in 0..100_000u64 {
            t.add(1_000_000 + i); // seen once each
            if i % 10 == 0 {
                t.add(7); // 10,000 times
            }
            if i % 50 == 0 {
                t.add(8); // 2,000 times
            }
        }
        assert!(!t.exact());
        assert!(t.counts.len() <= 200, "memory stays bounded");
        let top = t.top(2);
        assert_eq!(top[0].key, 7);
        assert!(top[0].count >= 10_000 && top[0].count - top[0].error <= 10_000);
        assert_eq!(top[1].key, 8);
        assert!(top[1].count >= 2_000 && top[1].count - top[1].error <= 2_000);
    }

    #[test]
    fn the_top_n_are_the_first_n_of_the_whole_ranking() {
        let mut t = TopK::new(1000);
        for i in 0..5000u64 {
            t.add((i * 7919) % 613 % (1 + i % 37));
        }
        let all = t.top(usize::MAX);
        for n in [0, 1, 2, 5, 10, 36, all.len(), all.len() + 3] {
            assert_eq!(t.top(n), all[..n.min(all.len())], "top {n}");
        }
    }
}
