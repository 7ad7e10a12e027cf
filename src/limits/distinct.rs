//! `distinct: N/W`: how many different caller numbers a key saw in the last W
//! seconds (a rotating pool shows up as many numbers under one prefix).
//!
//! Exact up to [`EXACT_DISTINCT`] numbers per window: the numbers themselves
//! are kept (12 bytes each: number, last call). Above that, approximate:
//! linear counting over [`BITS`]-bit bitmaps in [`SUBWINDOWS`] sub-windows of
//! W/8 each (544 bytes per key); the count is within a few percent up to 1000
//! numbers and the window edge is precise to an eighth of the window.

use crate::config::limits::EXACT_DISTINCT;

/// Sub-windows of an approximate counter.
pub const SUBWINDOWS: usize = 8;
/// Bits per sub-window bitmap.
pub const BITS: usize = 512;
const WORDS: usize = BITS / 32;
const SUB_STRIDE: usize = 1 + WORDS;

/// Slots (u32) a counter of at most `max` numbers takes.
pub fn slots(max: u32) -> usize {
    if max <= EXACT_DISTINCT {
        3 * max as usize
    } else {
        SUBWINDOWS * SUB_STRIDE
    }
}

/// What counting a number would give.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    /// Distinct numbers in the window, this one included.
    pub count: u32,
    /// Whether this number is not yet in the window.
    pub new: bool,
}

/// Counts without changing anything.
pub fn probe(slots: &[u32], max: u32, id: u64, now: u32, window: u32) -> Probe {
    if max <= EXACT_DISTINCT {
        exact_probe(slots, id, now, window)
    } else {
        approx_probe(slots, id, now, window)
    }
}

/// Records a call from `id`; returns what to give [`unrecord`] to take it back.
pub fn record(slots: &mut [u32], max: u32, id: u64, now: u32, window: u32) -> u32 {
    if max <= EXACT_DISTINCT {
        exact_record(slots, id, now, window)
    } else {
        approx_record(slots, id, now, window)
    }
}

/// Takes back a [`record`] whose answer was `previous`, leaving the counter
/// as it was before: an exact counter gets the number's previous time back;
/// an approximate one clears the bit the call set, if it set one.
pub fn unrecord(slots: &mut [u32], max: u32, id: u64, previous: u32) {
    if max <= EXACT_DISTINCT {
        for e in slots.chunks_exact_mut(3) {
            if entry_id(e) == id {
                e[2] = previous;
                return;
            }
        }
    } else {
        approx_unrecord(slots, id, previous);
    }
}

fn entry_id(e: &[u32]) -> u64 {
    u64::from(e[0]) | u64::from(e[1]) << 32
}

fn exact_probe(slots: &[u32], id: u64, now: u32, window: u32) -> Probe {
    let start = now.saturating_sub(window);
    let mut live = 0;
    let mut new = true;
    for e in slots.chunks_exact(3) {
        if e[2] != 0 && e[2] > start {
            live += 1;
            if entry_id(e) == id {
                new = false;
            }
        }
    }
    Probe {
        count: if new { live + 1 } else { live },
        new,
    }
}

fn exact_record(slots: &mut [u32], id: u64, now: u32, window: u32) -> u32 {
    let _ = window;
    // The number's own entry, else the entry seen longest ago (empty or out
    // of the window when the caller checked the threshold first).
    let mut target = None;
    let mut oldest = u32::MAX;
    for (i, e) in slots.chunks_exact(3).enumerate() {
        if entry_id(e) == id && e[2] != 0 {
            target = Some(i);
            break;
        }
        if e[2] < oldest {
            oldest = e[2];
            target = Some(i);
        }
    }
    let Some(i) = target else { return 0 };
    let e = &mut slots[3 * i..3 * i + 3];
    let previous = if entry_id(e) == id { e[2] } else { 0 };
    e[0] = id as u32;
    e[1] = (id >> 32) as u32;
    e[2] = now;
    previous
}

fn sub_len(window: u32) -> u32 {
    window.div_ceil(SUBWINDOWS as u32).max(1)
}

fn bit_of(id: u64) -> (usize, u32) {
    let h = mix(id);
    let bit = (h % BITS as u64) as usize;
    (bit / 32, 1u32 << (bit % 32))
}

/// A 64-bit finaliser (splitmix64) spreading numbers over the bitmap.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The union of the bitmaps of the sub-windows that cover the window.
fn union(slots: &[u32], now: u32, window: u32) -> [u32; WORDS] {
    let current = now / sub_len(window);
    let first = current.saturating_sub(SUBWINDOWS as u32 - 1);
    let mut all = [0u32; WORDS];
    for sub in slots.chunks_exact(SUB_STRIDE) {
        // Sub-window numbers are stored plus one, so 0 means never used.
        let epoch = sub[0];
        if epoch > first && epoch - 1 <= current {
            for (a, w) in all.iter_mut().zip(&sub[1..]) {
                *a |= w;
            }
        }
    }
    all
}

fn estimate(bits: &[u32; WORDS]) -> u32 {
    let zeros: u32 = bits.iter().map(|w| w.count_zeros()).sum();
    if zeros == 0 {
        return u32::MAX / 2;
    }
    let m = BITS as f64;
    (-m * (f64::from(zeros) / m).ln()).round() as u32
}

fn approx_probe(slots: &[u32], id: u64, now: u32, window: u32) -> Probe {
    let bits = union(slots, now, window);
    let (word, mask) = bit_of(id);
    let count = estimate(&bits);
    if bits[word] & mask != 0 {
        Probe { count, new: false }
    } else {
        Probe {
            count: count + 1,
            new: true,
        }
    }
}

/// Sets the number's bit in the current sub-window. Returns the sub-window's
/// stored epoch when this call set the bit (what [`approx_unrecord`] clears),
/// 0 when it was already set (nothing to take back).
fn approx_record(slots: &mut [u32], id: u64, now: u32, window: u32) -> u32 {
    let current = now / sub_len(window);
    let epoch = current.saturating_add(1);
    let index = current as usize % SUBWINDOWS;
    let sub = &mut slots[index * SUB_STRIDE..(index + 1) * SUB_STRIDE];
    if sub[0] != epoch {
        // What it held is at least eight sub-windows old: out of any window.
        sub.fill(0);
        sub[0] = epoch;
    }
    let (word, mask) = bit_of(id);
    if sub[1 + word] & mask != 0 {
        return 0;
    }
    sub[1 + word] |= mask;
    epoch
}

/// Clears the bit an [`approx_record`] set in sub-window `epoch` (unless
/// that sub-window has since been reused for a later one).
fn approx_unrecord(slots: &mut [u32], id: u64, epoch: u32) {
    if epoch == 0 {
        return;
    }
    let index = (epoch - 1) as usize % SUBWINDOWS;
    let sub = &mut slots[index * SUB_STRIDE..(index + 1) * SUB_STRIDE];
    if sub[0] == epoch {
        let (word, mask) = bit_of(id);
        sub[1 + word] &= !mask;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u32 = 1_700_000_000;

    fn count(slots: &mut [u32], max: u32, ids: impl Iterator<Item = u64>, now: u32) {
        for id in ids {
            record(slots, max, id, now, 3600);
        }
    }

    #[test]
    fn exact_counting_sees_each_number_once_per_window() {
        let max = 4;
        let mut s = vec![0u32; slots(max)];
        for (i, id) in [10u64, 11, 10, 12, 11].into_iter().enumerate() {
            record(&mut s, max, id, T + i as u32, 3600);
        }
        assert_eq!(
            probe(&s, max, 10, T + 10, 3600),
            Probe {
                count: 3,
                new: false
            }
        );
        assert_eq!(
            probe(&s, max, 13, T + 10, 3600),
            Probe {
                count: 4,
                new: true
            }
        );
        record(&mut s, max, 13, T + 10, 3600);
        // A fifth number would be over 4.
        assert_eq!(probe(&s, max, 14, T + 11, 3600).count, 5);
        // Numbers leave the window one by one: 10 was last seen at T+2.
        assert_eq!(probe(&s, max, 14, T + 3602, 3600).count, 4);
        // A number that called again stays: 11 was last seen at T+4.
        assert_eq!(
            probe(&s, max, 11, T + 3603, 3600),
            Probe {
                count: 2,
                new: false
            }
        );
    }

    #[test]
    fn an_unrecorded_number_is_forgotten_and_a_refreshed_one_restored() {
        let max = 3;
        let mut s = vec![0u32; slots(max)];
        record(&mut s, max, 1, T, 3600);
        let prev = record(&mut s, max, 2, T + 1, 3600);
        unrecord(&mut s, max, 2, prev);
        assert_eq!(probe(&s, max, 3, T + 2, 3600).count, 2);
        let prev = record(&mut s, max, 1, T + 3000, 3600);
        assert_eq!(prev, T);
        unrecord(&mut s, max, 1, prev);
        assert_eq!(probe(&s, max, 3, T + 3600, 3600).count, 1);
    }

    #[test]
    fn an_approximate_counter_takes_a_call_back_exactly() {
        let max = 100;
        let mut s = vec![0u32; slots(max)];
        count(&mut s, max, (0..70u64).map(|i| 8_617_012_340_000 + i), T);
        let before = s.clone();
        // A new number, then taken back: the counter is as it was.
        let token = record(&mut s, max, 8_617_012_349_999, T + 5, 3600);
        assert_ne!(token, 0);
        assert!(probe(&s, max, 1, T + 6, 3600).count > probe(&before, max, 1, T + 6, 3600).count);
        unrecord(&mut s, max, 8_617_012_349_999, token);
        assert_eq!(s, before);
        // A number already in this sub-window: nothing to take back, and
        // taking back leaves the earlier call counted.
        let token = record(&mut s, max, 8_617_012_340_003, T + 5, 3600);
        assert_eq!(token, 0);
        unrecord(&mut s, max, 8_617_012_340_003, token);
        assert_eq!(
            probe(&s, max, 8_617_012_340_003, T + 6, 3600),
            probe(&before, max, 8_617_012_340_003, T + 6, 3600)
        );
        // Seen in an earlier sub-window only: the call sets its bit in the
        // current one, and taking it back clears that bit alone.
        let later = T + 3600 / 8 + 1;
        let snapshot = s.clone();
        let token = record(&mut s, max, 8_617_012_340_003, later, 3600);
        assert_ne!(token, 0);
        unrecord(&mut s, max, 8_617_012_340_003, token);
        let c = |slots: &[u32]| probe(slots, max, 1, later, 3600);
        assert_eq!(c(&s), c(&snapshot));
    }

    #[test]
    fn large_sets_are_counted_within_a_few_percent() {
        let max = 1000;
        let mut s = vec![0u32; slots(max)];
        assert_eq!(s.len() * 4, 544);
        count(
            &mut s,
            max,
            (0..300u64).map(|i| 8_613_800_000_000 + i * 7),
            T,
        );
        let c = probe(&s, max, 1, T + 1, 3600).count;
        assert!((285..=315).contains(&c), "300 numbers counted as {c}");
        // Repeats add nothing.
        count(
            &mut s,
            max,
            (0..300u64).map(|i| 8_613_800_000_000 + i * 7),
            T + 2,
        );
        let again = probe(&s, max, 1, T + 3, 3600).count;
        assert_eq!(again, c);
        // After the window they are gone.
        assert!(probe(&s, max, 1, T + 3600 + 451, 3600).count <= 1);
    }
}
