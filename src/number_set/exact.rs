//! Exact numbers: an open-addressing table of the numbers' integer values.
//!
//! An E.164 number never starts with 0, so its digits as an integer identify
//! it, and that integer is never 0, which marks an empty slot. The table is
//! one flat array of 8-byte values, probed linearly from the slot the hash
//! picks. A lookup reads one cache line in nearly every case, where a std
//! hash set reads a group of control bytes and then the bucket, two memory
//! reads one after the other; with a million numbers neither is in cache, so
//! that second read is most of a call's time. Sealed at most two thirds
//! full, the table takes 12 bytes per number.

/// Marks a slot that holds no number.
const EMPTY: u64 = 0;

/// A set of E.164 numbers by value.
#[derive(Debug, Default)]
pub(super) struct ExactSet {
    slots: Box<[u64]>,
    len: usize,
}

impl ExactSet {
    /// An empty set with room for `n` numbers before it grows.
    pub(super) fn with_capacity(n: usize) -> ExactSet {
        ExactSet {
            slots: vec![EMPTY; slots_for(n, GROW_AT)].into_boxed_slice(),
            len: 0,
        }
    }

    /// Adds a number (its value; 0 is not a number and is ignored).
    pub(super) fn insert(&mut self, value: u64) {
        if value == EMPTY {
            return;
        }
        if (self.len + 1) as f64 > self.slots.len() as f64 * GROW_AT {
            self.rebuild(slots_for((self.len + 1) * 2, GROW_AT));
        }
        if place(&mut self.slots, value) {
            self.len += 1;
        }
    }

    /// Whether the number is in the set.
    #[inline]
    pub(super) fn contains(&self, value: u64) -> bool {
        let n = self.slots.len();
        if n == 0 {
            return false;
        }
        let mut i = home(value, n);
        loop {
            match self.slots[i] {
                EMPTY => return false,
                v if v == value => return true,
                _ => i = if i + 1 == n { 0 } else { i + 1 },
            }
        }
    }

    /// How many distinct numbers the set holds.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Rebuilds the table at the sealed load (two thirds full at most),
    /// smaller or larger than it was filled at, so misses stay short.
    pub(super) fn seal(&mut self) {
        let want = slots_for(self.len, SEALED_LOAD);
        if want != self.slots.len() {
            self.rebuild(want);
        }
    }

    /// Heap bytes held by the table.
    pub(super) fn heap_bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<u64>()
    }

    fn rebuild(&mut self, slots: usize) {
        let mut table = vec![EMPTY; slots].into_boxed_slice();
        for &v in self.slots.iter().filter(|&&v| v != EMPTY) {
            place(&mut table, v);
        }
        self.slots = table;
    }
}

/// A table grows (doubling) once it would be fuller than this.
const GROW_AT: f64 = 0.8;

/// How full a sealed table is at most: a miss probes about five slots.
const SEALED_LOAD: f64 = 2.0 / 3.0;

/// Slots for `n` numbers at `load` (at least one empty slot, so a probe
/// always ends).
fn slots_for(n: usize, load: f64) -> usize {
    if n == 0 {
        return 0;
    }
    ((n as f64 / load).ceil() as usize).max(n + 1)
}

/// Puts `value` into `table` unless it is there; true if it was added.
fn place(table: &mut [u64], value: u64) -> bool {
    let n = table.len();
    let mut i = home(value, n);
    loop {
        match table[i] {
            EMPTY => {
                table[i] = value;
                return true;
            }
            v if v == value => return false,
            _ => i = if i + 1 == n { 0 } else { i + 1 },
        }
    }
}

/// The slot a value's probe starts at: its hash scaled to the table's size
/// (multiply and keep the high word, so any size works, not only powers of
/// two).
#[inline]
fn home(value: u64, slots: usize) -> usize {
    ((u128::from(mix(value)) * slots as u128) >> 64) as usize
}

/// Spreads a number's value over all 64 bits (the splitmix64 finaliser).
/// The keys come from the config, not from callers, so a keyed hash buys
/// nothing here and costs time on every call.
#[inline]
fn mix(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn holds_what_was_added_and_nothing_else() {
        let mut set = ExactSet::with_capacity(0);
        assert!(!set.contains(8613800138000));
        let mut reference = HashSet::new();
        let mut x = 1u64;
        for _ in 0..50_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = 8613000000000 + (x >> 24) % 1_000_000_000;
            set.insert(v);
            reference.insert(v);
        }
        set.seal();
        assert_eq!(set.len(), reference.len());
        for &v in &reference {
            assert!(set.contains(v), "{v}");
        }
        let mut misses = 0;
        for v in 8613000000000..8613000200000u64 {
            assert_eq!(set.contains(v), reference.contains(&v), "{v}");
            misses += usize::from(!reference.contains(&v));
        }
        assert!(misses > 0);
    }

    #[test]
    fn duplicates_count_once_and_zero_is_never_a_number() {
        let mut set = ExactSet::with_capacity(4);
        for v in [12025550123, 12025550123, 8613800138000, 0] {
            set.insert(v);
        }
        assert_eq!(set.len(), 2);
        assert!(!set.contains(0));
        assert!(set.contains(12025550123) && set.contains(8613800138000));
    }

    #[test]
    fn a_sealed_table_is_two_thirds_full_at_most() {
        let mut set = ExactSet::with_capacity(10);
        for v in 1..=30_000u64 {
            set.insert(v * 7919);
        }
        set.seal();
        // 8 bytes a slot, 3 slots for 2 numbers: 12 bytes a number.
        assert!(set.heap_bytes() <= 30_000 * 12 + 16, "{}", set.heap_bytes());
        assert!(set.heap_bytes() >= 30_000 * 12, "{}", set.heap_bytes());
        assert!((1..=30_000u64).all(|v| set.contains(v * 7919)));
        // Neighbours of every number are misses, each probe ends.
        assert!((1..=30_000u64).all(|v| !set.contains(v * 7919 + 1)));
    }

    #[test]
    fn a_full_wrap_around_the_table_still_finds_numbers() {
        // A table with one free slot: every probe may wrap past the end.
        let mut table = vec![EMPTY; 5];
        for v in [3, 5, 7, 11] {
            assert!(place(&mut table, v));
        }
        let set = ExactSet {
            slots: table.into_boxed_slice(),
            len: 4,
        };
        for v in [3, 5, 7, 11] {
            assert!(set.contains(v));
        }
        assert!(!set.contains(13));
    }
}
