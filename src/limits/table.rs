//! The state of one limit level: keys and their counters, sharded so calls
//! on different threads rarely meet on a lock, bounded by a hard cap.
//!
//! Each shard is a mutex over a hash index into flat vectors (keys, and
//! `stride` u32 slots per key), locked for the few hundred nanoseconds one
//! call's check-and-update takes. Memory per tracked key is the index entry,
//! the key (16 bytes), 4 bytes per slot and the vectors' spare capacity:
//! about 75 + 4 × stride bytes (measured by `cargo bench --bench limits`).
//!
//! Eviction: every new key looks at two keys past a moving cursor and drops
//! those that are idle (empty windows, no penalty, no remembered offence);
//! the saving thread sweeps all keys each interval. When a shard is at its
//! share of the cap, a new key takes the place of an idle key or, failing
//! that, of the least recently seen of eight sampled keys that is not in the
//! penalty box; if all eight are boxed the new key is not tracked (counted as
//! dropped). The cap therefore holds even when every call comes from a new
//! random number, and boxed keys are the last to go.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Mutex, MutexGuard};

use super::distinct::{self, mix};
use super::key::TrackKey;
use super::layout::{Layout, MAX_THRESHOLDS};
use super::penalty::{self, PenaltyState};
use super::window;
use crate::config::limits::{Penalty, ThresholdKind};

/// Counter values of one level for one call (this call included), in
/// threshold order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts(pub [u32; MAX_THRESHOLDS]);

impl Counts {
    /// Not counted: a call refused by the penalty box is not checked against
    /// the thresholds (the box decides; the flood of a boxed key costs least).
    pub const UNKNOWN: Counts = Counts([u32::MAX; MAX_THRESHOLDS]);

    /// Whether the values were counted.
    pub fn is_known(&self) -> bool {
        *self != Counts::UNKNOWN
    }
}

/// What a level made of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Observation {
    /// Within every threshold (counted, unless only peeking).
    Passed(Counts),
    /// The key is in the penalty box; nothing was counted.
    Boxed(PenaltyState, Counts),
    /// Threshold `threshold` tripped with this call; nothing was counted;
    /// the key went into the box (`None`: the limit has no penalty time).
    Tripped {
        /// Index of the threshold that tripped.
        threshold: usize,
        /// The new penalty.
        penalty: Option<PenaltyState>,
        /// Counter values.
        counts: Counts,
    },
    /// The table is full of keys in the penalty box: not tracked.
    Untracked,
    /// Only the penalty box was asked (the call is not one the limit
    /// counts), and the key is not in it.
    NotCounted,
}

/// How to take back a counted call (see [`LevelTable::undo`]).
#[derive(Clone, Copy, Debug)]
pub struct Undo {
    key: TrackKey,
    last_seen: u32,
    distinct_previous: [u32; MAX_THRESHOLDS],
}

/// Counters of a table since it was created. Kept per shard under the
/// shard's lock (a shared atomic would make every call on every thread touch
/// one cache line) and summed when asked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableStats {
    /// Trips (calls that put a key in the box or were over a threshold).
    pub trips: u64,
    /// Calls refused because their key was in the box.
    pub boxed: u64,
    /// Idle keys dropped.
    pub evicted_idle: u64,
    /// Active keys dropped to make room at the cap.
    pub evicted_full: u64,
    /// New keys not tracked because the cap was full of boxed keys.
    pub dropped: u64,
}

impl TableStats {
    fn add(&mut self, o: &TableStats) {
        self.trips += o.trips;
        self.boxed += o.boxed;
        self.evicted_idle += o.evicted_idle;
        self.evicted_full += o.evicted_full;
        self.dropped += o.dropped;
    }
}

/// Seeded hashing of keys (callers choose their numbers; a fixed hash would
/// let them aim at one bucket).
#[derive(Clone, Copy, Debug)]
struct KeyHash(u64);

struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = mix(self.0 ^ u64::from(*b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = mix(self.0 ^ n);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl BuildHasher for KeyHash {
    type Hasher = KeyHasher;
    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(self.0)
    }
}

fn random_seed() -> u64 {
    // RandomState is seeded from the OS once per process, then varied.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x6361_6c6c_7363_7265);
    h.finish()
}

struct ShardData {
    stats: TableStats,
    index: HashMap<TrackKey, u32, KeyHash>,
    keys: Vec<TrackKey>,
    slots: Vec<u32>,
    cap: usize,
    cursor: usize,
    dirty: bool,
}

/// One shard, alone on its cache lines.
#[repr(align(128))]
struct Shard(Mutex<ShardData>);

/// The keys and counters of one limit level.
pub struct LevelTable {
    layout: Layout,
    shards: Box<[Shard]>,
    hash: KeyHash,
    max_keys: usize,
}

impl std::fmt::Debug for LevelTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LevelTable")
            .field("layout", &self.layout)
            .field("max_keys", &self.max_keys)
            .finish_non_exhaustive()
    }
}

/// Keys each sample looks at when a full shard needs room.
const SAMPLE: usize = 8;

impl LevelTable {
    /// An empty table holding at most `max_keys` keys.
    pub fn new(layout: Layout, max_keys: usize) -> LevelTable {
        let max_keys = max_keys.max(1);
        let shard_count = (max_keys / 256).next_power_of_two().clamp(1, 64);
        let hash = KeyHash(random_seed());
        let shards = (0..shard_count)
            .map(|i| {
                let cap = max_keys / shard_count + usize::from(i < max_keys % shard_count);
                Shard(Mutex::new(ShardData {
                    stats: TableStats::default(),
                    index: HashMap::with_hasher(hash),
                    keys: Vec::new(),
                    slots: Vec::new(),
                    cap,
                    cursor: 0,
                    dirty: false,
                }))
            })
            .collect();
        LevelTable {
            layout,
            shards,
            hash,
            max_keys,
        }
    }

    /// The layout of its keys' state.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The hard cap on keys.
    pub fn max_keys(&self) -> usize {
        self.max_keys
    }

    fn shard(&self, key: &TrackKey) -> MutexGuard<'_, ShardData> {
        let i = (self.hash.hash_one(key) >> 40) as usize & (self.shards.len() - 1);
        self.shards[i].0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock(&self, i: usize) -> MutexGuard<'_, ShardData> {
        self.shards[i].0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Checks a call against the level's thresholds and penalty box and, when
    /// `live`, records it: counted if it passes, the key boxed if it trips.
    /// A call that is not `counted` meets the penalty box only: refused if
    /// its key is boxed, else neither counted nor tracked.
    /// `caller_id` identifies the caller number for distinct counting.
    pub fn observe(
        &self,
        key: TrackKey,
        caller_id: u64,
        now: u32,
        penalty: &Penalty,
        live: bool,
        counted: bool,
    ) -> (Observation, Option<Undo>) {
        let layout = &self.layout;
        let stride = layout.stride;
        let mut shard = self.shard(&key);
        if !counted {
            let Some(&at) = shard.index.get(&key) else {
                return (Observation::NotCounted, None);
            };
            let at = at as usize;
            let Some(p) = penalty::active(&shard.slots[at * stride..(at + 1) * stride], now) else {
                return (Observation::NotCounted, None);
            };
            if live {
                shard.stats.boxed += 1;
            }
            return (Observation::Boxed(p, Counts::UNKNOWN), None);
        }
        let at = match shard.index.get(&key) {
            Some(&i) => i as usize,
            None if !live => {
                let mut counts = Counts::default();
                counts.0[..layout.thresholds.len()].fill(1);
                return (Observation::Passed(counts), None);
            }
            None => match shard.insert(key, layout, now) {
                Some(i) => i,
                None => {
                    shard.stats.dropped += 1;
                    return (Observation::Untracked, None);
                }
            },
        };
        let data = &mut *shard;
        let state = &mut data.slots[at * stride..(at + 1) * stride];
        let boxed = penalty::active(state, now);
        if let (Some(boxed), true) = (boxed, live) {
            data.stats.boxed += 1;
            return (Observation::Boxed(boxed, Counts::UNKNOWN), None);
        }

        // Count first, change nothing yet.
        let mut counts = Counts::default();
        let mut tripped = None;
        for (i, t) in layout.thresholds.iter().enumerate() {
            let slots = &state[layout.range(i)];
            let (count, over) = match t.kind {
                ThresholdKind::Calls => {
                    let c = window::in_window(slots, now, t.window.0) + 1;
                    (c, c > t.max)
                }
                ThresholdKind::Distinct => {
                    let p = distinct::probe(slots, t.max, caller_id, now, t.window.0);
                    (p.count, p.new && p.count > t.max)
                }
            };
            counts.0[i] = count;
            if over && tripped.is_none() {
                tripped = Some(i);
            }
        }
        if let Some(boxed) = boxed {
            return (Observation::Boxed(boxed, counts), None);
        }
        if let Some(threshold) = tripped {
            let penalty = if live {
                data.stats.trips += 1;
                data.dirty = true;
                let state = &mut data.slots[at * stride..(at + 1) * stride];
                let p = penalty::offend(state, penalty, now);
                (p.until > now).then_some(p)
            } else {
                let mut preview = [0u32; penalty::HEADER];
                preview.copy_from_slice(&state[..penalty::HEADER]);
                let p = penalty::offend(&mut preview, penalty, now);
                (p.until > now).then_some(p)
            };
            return (
                Observation::Tripped {
                    threshold,
                    penalty,
                    counts,
                },
                None,
            );
        }
        if !live {
            return (Observation::Passed(counts), None);
        }
        let mut undo = Undo {
            key,
            last_seen: state[penalty::LAST_SEEN],
            distinct_previous: [0; MAX_THRESHOLDS],
        };
        for (i, t) in layout.thresholds.iter().enumerate() {
            let slots = &mut state[layout.range(i)];
            match t.kind {
                ThresholdKind::Calls => window::record(slots, now),
                ThresholdKind::Distinct => {
                    undo.distinct_previous[i] =
                        distinct::record(slots, t.max, caller_id, now, t.window.0);
                }
            }
        }
        state[penalty::LAST_SEEN] = now;
        data.dirty = true;
        (Observation::Passed(counts), Some(undo))
    }

    /// Takes back a call counted by [`observe`](Self::observe) (when a
    /// later level of the same limit refused it).
    pub fn undo(&self, undo: &Undo, caller_id: u64, now: u32) {
        let layout = &self.layout;
        let mut shard = self.shard(&undo.key);
        let Some(&at) = shard.index.get(&undo.key) else {
            return;
        };
        let at = at as usize;
        let state = &mut shard.slots[at * layout.stride..(at + 1) * layout.stride];
        for (i, t) in layout.thresholds.iter().enumerate() {
            let slots = &mut state[layout.range(i)];
            match t.kind {
                ThresholdKind::Calls => window::unrecord(slots, now),
                ThresholdKind::Distinct => {
                    distinct::unrecord(slots, t.max, caller_id, undo.distinct_previous[i])
                }
            }
        }
        state[penalty::LAST_SEEN] = undo.last_seen;
    }

    /// Counters summed over the shards.
    pub fn stats(&self) -> TableStats {
        let mut total = TableStats::default();
        for i in 0..self.shards.len() {
            total.add(&self.lock(i).stats);
        }
        total
    }

    /// Keys tracked now.
    pub fn len(&self) -> usize {
        (0..self.shards.len())
            .map(|i| self.lock(i).keys.len())
            .sum()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every idle key; returns how many.
    pub fn sweep(&self, now: u32) -> usize {
        let mut dropped = 0;
        for i in 0..self.shards.len() {
            let mut shard = self.lock(i);
            let mut at = 0;
            while at < shard.keys.len() {
                if shard.is_idle(at, &self.layout, now) {
                    shard.swap_remove(at, self.layout.stride);
                    shard.stats.evicted_idle += 1;
                    dropped += 1;
                } else {
                    at += 1;
                }
            }
        }
        dropped
    }

    /// Keys in the penalty box at `now`, with their penalty.
    pub fn penalties(&self, now: u32) -> Vec<(TrackKey, PenaltyState)> {
        let stride = self.layout.stride;
        let mut out = Vec::new();
        for i in 0..self.shards.len() {
            let shard = self.lock(i);
            for (at, key) in shard.keys.iter().enumerate() {
                if let Some(p) = penalty::active(&shard.slots[at * stride..(at + 1) * stride], now)
                {
                    out.push((*key, p));
                }
            }
        }
        out
    }

    /// Keys out of the box that still remember offences at `now`, with how
    /// many.
    pub fn remembered(&self, now: u32) -> Vec<(TrackKey, u32)> {
        let stride = self.layout.stride;
        let mut out = Vec::new();
        for i in 0..self.shards.len() {
            let shard = self.lock(i);
            for (at, key) in shard.keys.iter().enumerate() {
                let state = &shard.slots[at * stride..(at + 1) * stride];
                if let Some(offences) = penalty::remembered(state, now) {
                    out.push((*key, offences));
                }
            }
        }
        out
    }

    /// Forgets the remembered offences of a key out of the box (its counters
    /// stay); whether it had any.
    pub fn forget_offences(&self, key: &TrackKey, now: u32) -> bool {
        let stride = self.layout.stride;
        let mut shard = self.shard(key);
        let Some(&at) = shard.index.get(key) else {
            return false;
        };
        let at = at as usize;
        let state = &mut shard.slots[at * stride..(at + 1) * stride];
        if penalty::remembered(state, now).is_none() {
            return false;
        }
        penalty::forget(state);
        shard.dirty = true;
        true
    }

    /// Forgets a key entirely (penalty, offences and counters); whether it was tracked.
    pub fn remove(&self, key: &TrackKey) -> bool {
        let mut shard = self.shard(key);
        match shard.index.get(key) {
            Some(&at) => {
                shard.swap_remove(at as usize, self.layout.stride);
                shard.dirty = true;
                true
            }
            None => false,
        }
    }

    /// Whether anything changed since the last [`snapshot`](Self::snapshot)
    /// (cheap: no state is copied).
    pub fn is_dirty(&self) -> bool {
        (0..self.shards.len()).any(|i| self.lock(i).dirty)
    }

    /// Copies every key and its state; `changed` says whether anything
    /// changed since the last snapshot.
    pub fn snapshot(&self) -> (Vec<TrackKey>, Vec<u32>, bool) {
        let mut keys = Vec::new();
        let mut slots = Vec::new();
        let mut changed = false;
        for i in 0..self.shards.len() {
            let mut shard = self.lock(i);
            keys.extend_from_slice(&shard.keys);
            slots.extend_from_slice(&shard.slots);
            changed |= std::mem::take(&mut shard.dirty);
        }
        (keys, slots, changed)
    }

    /// Takes over state laid out as `from`: all of it when the counters are
    /// in the same places, else only penalties and remembered offences.
    /// Keys beyond the cap are left out.
    pub fn adopt(&self, from: &Layout, keys: &[TrackKey], slots: &[u32], now: u32) {
        let same = self.layout.same_counters(from);
        for (at, key) in keys.iter().enumerate() {
            let Some(state) = slots.get(at * from.stride..(at + 1) * from.stride) else {
                break;
            };
            let keep_header =
                state[penalty::BOX_UNTIL] > now || state[penalty::REMEMBER_UNTIL] > now;
            if !same && !keep_header {
                continue;
            }
            let mut shard = self.shard(key);
            let Some(i) = shard.insert(*key, &self.layout, now) else {
                continue;
            };
            let stride = self.layout.stride;
            let target = &mut shard.slots[i * stride..(i + 1) * stride];
            if same {
                target.copy_from_slice(state);
            } else {
                target[..penalty::HEADER].copy_from_slice(&state[..penalty::HEADER]);
            }
            shard.dirty = true;
        }
    }

    /// Copies the state of another table into this one (see [`adopt`](Self::adopt)).
    pub fn adopt_table(&self, other: &LevelTable, now: u32) {
        let (keys, slots, _) = other.snapshot();
        self.adopt(other.layout(), &keys, &slots, now);
    }
}

impl ShardData {
    fn is_idle(&self, at: usize, layout: &Layout, now: u32) -> bool {
        let s = layout.stride;
        penalty::idle(&self.slots[at * s..(at + 1) * s], now, layout.max_window)
    }

    fn swap_remove(&mut self, at: usize, stride: usize) {
        let key = self.keys[at];
        self.index.remove(&key);
        let last = self.keys.len() - 1;
        if at != last {
            let moved = self.keys[last];
            self.keys[at] = moved;
            self.slots
                .copy_within(last * stride..(last + 1) * stride, at * stride);
            self.index.insert(moved, at as u32);
        }
        self.keys.pop();
        self.slots.truncate(last * stride);
    }

    /// Adds a key with empty state, making room when at the cap; its index,
    /// or `None` when every sampled key is in the penalty box.
    fn insert(&mut self, key: TrackKey, layout: &Layout, now: u32) -> Option<usize> {
        if let Some(&i) = self.index.get(&key) {
            return Some(i as usize);
        }
        // Opportunistic: two keys past the cursor, dropped if idle.
        for _ in 0..2 {
            if self.keys.is_empty() {
                break;
            }
            let at = self.cursor % self.keys.len();
            if self.is_idle(at, layout, now) {
                self.swap_remove(at, layout.stride);
                self.stats.evicted_idle += 1;
            } else {
                self.cursor = at + 1;
            }
        }
        if self.keys.len() >= self.cap && !self.make_room(layout, now) {
            return None;
        }
        let at = self.keys.len();
        self.keys.push(key);
        self.slots.resize(self.slots.len() + layout.stride, 0);
        self.index.insert(key, at as u32);
        self.dirty = true;
        Some(at)
    }

    fn make_room(&mut self, layout: &Layout, now: u32) -> bool {
        let len = self.keys.len();
        if len == 0 {
            return false;
        }
        let stride = layout.stride;
        let mut victim: Option<(usize, u32)> = None;
        for step in 0..SAMPLE.min(len) {
            let at = (self.cursor + step) % len;
            let state = &self.slots[at * stride..(at + 1) * stride];
            if penalty::idle(state, now, layout.max_window) {
                self.cursor = at + 1;
                self.swap_remove(at, stride);
                self.stats.evicted_idle += 1;
                return true;
            }
            if penalty::active(state, now).is_none()
                && victim.map_or(true, |(_, seen)| state[penalty::LAST_SEEN] < seen)
            {
                victim = Some((at, state[penalty::LAST_SEEN]));
            }
        }
        self.cursor = (self.cursor + SAMPLE) % len;
        match victim {
            Some((at, _)) => {
                self.swap_remove(at, stride);
                self.stats.evicted_full += 1;
                true
            }
            None => false,
        }
    }
}
