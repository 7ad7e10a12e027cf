//! A small, seedable, lock-free pseudo-random generator for picking replies
//! (SplitMix64 over an atomic counter). Not for secrets: it only has to keep
//! a dialer from learning a pattern, and to be reproducible in tests.

use std::sync::atomic::{AtomicU64, Ordering};

const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64 whose state any thread may advance without a lock.
#[derive(Debug)]
pub struct Prng {
    state: AtomicU64,
}

impl Prng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Prng {
        Prng {
            state: AtomicU64::new(seed),
        }
    }

    /// A seed that differs between runs (time and an address).
    pub fn seed_from_time() -> u64 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let local = 0u8;
        nanos ^ (&local as *const u8 as u64).rotate_left(32)
    }

    /// The next 64 random bits.
    pub fn next_u64(&self) -> u64 {
        let mut z = self
            .state
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0), by multiply-shift (no modulo bias worth
    /// speaking of for the small `n` of reply groups).
    pub fn below(&self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        let a = Prng::new(42);
        let b = Prng::new(42);
        let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs[0], xs[1]);
        assert_ne!(Prng::new(43).next_u64(), xs[0]);
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let p = Prng::new(7);
        let mut seen = [0u32; 5];
        for _ in 0..5000 {
            seen[p.below(5) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| (800..1200).contains(&c)), "{seen:?}");
    }
}
