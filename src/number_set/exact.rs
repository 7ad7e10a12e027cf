//! Exact numbers: a hash set of the numbers' integer values.
//!
//! An E.164 number never starts with 0, so its digits as an integer identify
//! it; the set holds 8-byte keys (about 18 bytes per entry with the table's
//! spare room) instead of strings.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// A set of E.164 numbers by value.
#[derive(Debug, Default)]
pub(super) struct ExactSet {
    values: HashSet<u64, BuildHasherDefault<NumberHasher>>,
}

impl ExactSet {
    pub(super) fn with_capacity(n: usize) -> ExactSet {
        ExactSet {
            values: HashSet::with_capacity_and_hasher(n, Default::default()),
        }
    }

    pub(super) fn insert(&mut self, value: u64) {
        self.values.insert(value);
    }

    pub(super) fn contains(&self, value: u64) -> bool {
        self.values.contains(&value)
    }

    pub(super) fn len(&self) -> usize {
        self.values.len()
    }

    pub(super) fn shrink_to_fit(&mut self) {
        self.values.shrink_to_fit();
    }

    /// Heap bytes held by the table (buckets plus control bytes).
    pub(super) fn heap_bytes(&self) -> usize {
        let buckets = if self.values.capacity() == 0 {
            0
        } else {
            (self.values.capacity() * 8 / 7).next_power_of_two()
        };
        buckets * (std::mem::size_of::<u64>() + 1)
    }
}

/// Mixes a number's value into a well-spread hash (the splitmix64 finaliser).
/// The keys come from the config, not from callers, so a keyed hash buys
/// nothing here and costs time on every call.
#[derive(Default)]
pub(super) struct NumberHasher(u64);

impl Hasher for NumberHasher {
    fn finish(&self) -> u64 {
        let mut z = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}
