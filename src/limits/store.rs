//! All limit state of a running module, kept by limit name so that it
//! survives `callscreen reload` (the engine is rebuilt, the counters and the
//! penalty box are not) and, through [`persist`](super::persist), a restart.
//!
//! On reload a limit level whose key and thresholds are unchanged keeps its
//! very table, so calls still running on the old engine and calls on the new
//! one count in the same place; a level whose thresholds changed starts new
//! counters but keeps its penalties and remembered offences. A removed limit
//! loses its state; so does state read from the file for a limit level the
//! first config attached after a restart does not have. Calls never take
//! the store's lock: only reloads, the saving thread and the fs_cli
//! commands do.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::key::KeyText;
use super::layout::Layout;
use super::notices::{ChangeReason, PenaltyNotice, PenaltyWatch};
use super::penalty::PenaltyState;
use super::persist::{self, SavedTable};
use super::table::LevelTable;
use super::{CompiledLimit, Limiter};
use crate::config::limits::LimitKey;
use crate::config::Config;

/// Wakes the saving thread early (a new penalty should reach the disk soon).
#[derive(Debug, Default)]
pub struct Signal {
    urgent: AtomicBool,
    stop: Mutex<bool>,
    wake: Condvar,
}

impl Signal {
    /// Asks for a save soon. Only the first nudge after a save takes the
    /// signal's lock (for an instant, so the wake-up cannot fall between the
    /// saving thread's check and its wait); the others are one atomic swap.
    pub fn nudge(&self) {
        if !self.urgent.swap(true, Ordering::AcqRel) {
            drop(self.stop.lock().unwrap_or_else(|p| p.into_inner()));
            self.wake.notify_one();
        }
    }

    /// Waits `timeout` or until a stop, whatever the nudges; whether to stop.
    pub fn pause(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let mut stop = self.stop.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if *stop {
                return true;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            stop = self
                .wake
                .wait_timeout(stop, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Waits up to `timeout` for a nudge or a stop; whether to stop.
    pub fn wait(&self, timeout: Duration) -> bool {
        let stop = self.stop.lock().unwrap_or_else(|p| p.into_inner());
        if *stop {
            return true;
        }
        if self.urgent.swap(false, Ordering::AcqRel) {
            return false;
        }
        let (stop, _) = self
            .wake
            .wait_timeout(stop, timeout)
            .unwrap_or_else(|p| p.into_inner());
        self.urgent.store(false, Ordering::Release);
        *stop
    }

    /// Tells the saving thread to finish.
    pub fn stop(&self) {
        *self.stop.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.wake.notify_all();
    }
}

/// One level's table and whose it is.
#[derive(Clone, Debug)]
pub struct NamedTable {
    /// The limit's name.
    pub limit: String,
    /// Whether the limit is a shadow limit.
    pub shadow: bool,
    /// The table.
    pub table: Arc<LevelTable>,
}

#[derive(Debug, Default)]
struct Inner {
    attached: Vec<NamedTable>,
    restored: Vec<NamedTable>,
    home_cc: String,
    structure_changed: bool,
}

/// A key in the penalty box, for `callscreen penalty list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PenaltyEntry {
    /// The limit.
    pub limit: String,
    /// The key as text.
    pub key: String,
    /// Prefix digits of the level (0: no prefix).
    pub digits: u8,
    /// The penalty.
    pub penalty: PenaltyState,
    /// Whether the limit only records (shadow).
    pub shadow: bool,
}

/// One table's figures for `callscreen status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableReport {
    /// The limit.
    pub limit: String,
    /// What it counts by.
    pub kind: LimitKey,
    /// Prefix digits (0: no prefix).
    pub digits: u8,
    /// Keys tracked.
    pub keys: usize,
    /// The cap.
    pub max_keys: usize,
    /// Keys in the penalty box.
    pub penalties: usize,
    /// Trips since the table was created.
    pub trips: u64,
    /// Calls refused by the box.
    pub boxed: u64,
    /// Idle keys evicted.
    pub evicted_idle: u64,
    /// Active keys evicted at the cap.
    pub evicted_full: u64,
    /// New keys not tracked (cap full of boxed keys).
    pub dropped: u64,
    /// Bytes of state per key (index, key and spare capacity take about 75
    /// more).
    pub stride_bytes: usize,
}

/// What `penalty clear` did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cleared {
    /// Keys taken out of the box (their offences and counters forgotten).
    pub lifted: usize,
    /// Keys already released whose remembered offences were forgotten.
    pub forgotten: usize,
}

impl Cleared {
    /// Whether nothing was cleared.
    pub fn is_empty(&self) -> bool {
        self.lifted == 0 && self.forgotten == 0
    }
}

/// How saving went, for `status`.
#[derive(Debug, Default)]
pub struct SaveStats {
    /// Snapshots written.
    pub saves: AtomicU64,
    /// Snapshots that failed.
    pub failures: AtomicU64,
    /// Unix time of the last good save.
    pub last_save: AtomicU64,
    /// The last failure.
    pub last_error: Mutex<Option<String>>,
}

/// The limit state of a running module.
#[derive(Debug, Default)]
pub struct LimitStore {
    inner: Mutex<Inner>,
    /// Wakes the saving thread.
    pub signal: Arc<Signal>,
    /// How saving went.
    pub save_stats: SaveStats,
    /// Keys entering and leaving the penalty box (off until enabled).
    pub watch: Arc<PenaltyWatch>,
    /// One save at a time: the saving thread and an operator's command share
    /// the temporary file, and a later snapshot must not be overwritten by an
    /// earlier one.
    saving: Mutex<()>,
}

impl LimitStore {
    /// An empty store.
    pub fn new() -> LimitStore {
        LimitStore::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Binds a config's limits to their state: tables are reused, migrated
    /// or created (see the module doc). Called on load and reload.
    pub fn attach(&self, config: &Config, now: u32) -> Limiter {
        let mut inner = self.lock();
        let mut attached = Vec::new();
        let mut compiled = Vec::new();
        for limit in &config.limits {
            let mut tables = Vec::new();
            for level in &limit.levels {
                let layout = Layout::new(limit.key, level.digits, &level.thresholds);
                let same_place = |t: &&NamedTable| {
                    t.limit == limit.name
                        && t.table.layout().digits == level.digits
                        && t.table.layout().kind == limit.key
                };
                let old = inner.attached.iter().find(same_place).cloned();
                let table = match old {
                    Some(old)
                        if *old.table.layout() == layout
                            && old.table.max_keys() == limit.max_keys =>
                    {
                        old.table
                    }
                    _ => {
                        let table = Arc::new(LevelTable::new(layout, limit.max_keys));
                        if let Some(old) = old {
                            table.adopt_table(&old.table, now);
                        }
                        if let Some(at) = inner.restored.iter().position(|t| same_place(&t)) {
                            let saved = inner.restored.swap_remove(at);
                            table.adopt_table(&saved.table, now);
                        }
                        inner.structure_changed = true;
                        table
                    }
                };
                attached.push(NamedTable {
                    limit: limit.name.clone(),
                    shadow: limit.shadow,
                    table: Arc::clone(&table),
                });
                tables.push(table);
            }
            compiled.push(CompiledLimit { tables });
        }
        if attached.len() != inner.attached.len() {
            inner.structure_changed = true;
        }
        // Restored state this config has no level for (a limit renamed or
        // removed while the module was down, a level dropped) goes, as a
        // removed limit's state goes on reload; else it would be saved
        // again at every save, forever.
        if !inner.restored.is_empty() {
            inner.restored.clear();
            inner.structure_changed = true;
        }
        inner.attached = attached;
        inner.home_cc = config.numbering.country_code.clone();
        Limiter::new(
            compiled,
            Some(Arc::clone(&self.signal)),
            Some(Arc::clone(&self.watch)),
        )
    }

    /// Keys in the penalty box at `now`, limit by limit (`only`: one limit).
    pub fn penalties(&self, now: u32, only: Option<&str>) -> Vec<PenaltyEntry> {
        let inner = self.lock();
        let mut out = Vec::new();
        for t in &inner.attached {
            if only.is_some_and(|name| name != t.limit) {
                continue;
            }
            let layout = t.table.layout();
            for (key, penalty) in t.table.penalties(now) {
                out.push(PenaltyEntry {
                    limit: t.limit.clone(),
                    key: KeyText {
                        kind: layout.kind,
                        key,
                        home_cc: &inner.home_cc,
                    }
                    .to_string(),
                    digits: layout.digits,
                    penalty,
                    shadow: t.shadow,
                });
            }
        }
        out.sort_by(|a, b| (&a.limit, a.digits, &a.key).cmp(&(&b.limit, b.digits, &b.key)));
        out
    }

    /// Lifts the penalties of keys written `key` (or of every key for
    /// `None`), forgetting their offences and counters, and forgets the
    /// remembered offences of such keys already released (their counters
    /// stay), so their next trip is a first offence.
    pub fn clear(&self, key: Option<&str>, now: u32) -> Cleared {
        let inner = self.lock();
        let mut cleared = Cleared::default();
        let text_of = |kind, k| {
            KeyText {
                kind,
                key: k,
                home_cc: &inner.home_cc,
            }
            .to_string()
        };
        for t in &inner.attached {
            let layout = t.table.layout();
            for (k, _) in t.table.remembered(now) {
                if key.map_or(true, |want| want == text_of(layout.kind, k))
                    && t.table.forget_offences(&k, now)
                {
                    cleared.forgotten += 1;
                }
            }
            for (k, penalty) in t.table.penalties(now) {
                let text = text_of(layout.kind, k);
                if key.map_or(true, |want| want == text) && t.table.remove(&k) {
                    cleared.lifted += 1;
                    self.watch.push(PenaltyNotice {
                        limit: t.limit.clone(),
                        key: text,
                        entered: false,
                        reason: ChangeReason::Cleared,
                        penalty,
                        shadow: t.shadow,
                    });
                }
            }
        }
        cleared
    }

    /// Figures per table.
    pub fn report(&self, now: u32) -> Vec<TableReport> {
        let inner = self.lock();
        inner
            .attached
            .iter()
            .map(|t| {
                let s = t.table.stats();
                let layout = t.table.layout();
                TableReport {
                    limit: t.limit.clone(),
                    kind: layout.kind,
                    digits: layout.digits,
                    keys: t.table.len(),
                    max_keys: t.table.max_keys(),
                    penalties: t.table.penalties(now).len(),
                    trips: s.trips,
                    boxed: s.boxed,
                    evicted_idle: s.evicted_idle,
                    evicted_full: s.evicted_full,
                    dropped: s.dropped,
                    stride_bytes: layout.stride * 4,
                }
            })
            .collect()
    }

    /// Drops idle keys everywhere; how many.
    pub fn sweep(&self, now: u32) -> usize {
        let tables: Vec<Arc<LevelTable>> = self
            .lock()
            .attached
            .iter()
            .map(|t| Arc::clone(&t.table))
            .collect();
        tables.iter().map(|t| t.sweep(now)).sum()
    }

    /// Writes the state file if anything changed since the last save (or
    /// when `force`); whether it wrote.
    pub fn save(&self, path: &Path, force: bool) -> std::io::Result<bool> {
        let _one_at_a_time = self.saving.lock().unwrap_or_else(|p| p.into_inner());
        let (tables, structure_changed) = {
            let mut inner = self.lock();
            let tables: Vec<NamedTable> = inner
                .attached
                .iter()
                .chain(&inner.restored)
                .cloned()
                .collect();
            (tables, std::mem::take(&mut inner.structure_changed))
        };
        if !structure_changed && !force && !tables.iter().any(|t| t.table.is_dirty()) {
            return Ok(false);
        }
        let mut changed = structure_changed || force;
        let mut saved = Vec::with_capacity(tables.len());
        for t in &tables {
            let (keys, slots, dirty) = t.table.snapshot();
            changed |= dirty;
            saved.push(SavedTable {
                limit: t.limit.clone(),
                shadow: t.shadow,
                layout: t.table.layout().clone(),
                max_keys: t.table.max_keys(),
                keys,
                slots,
            });
        }
        if !changed {
            return Ok(false);
        }
        let result = persist::write_atomically(path, &persist::encode(&saved));
        match &result {
            Ok(()) => {
                self.save_stats.saves.fetch_add(1, Ordering::Relaxed);
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                self.save_stats.last_save.store(now, Ordering::Relaxed);
            }
            Err(err) => {
                self.lock().structure_changed = true;
                self.save_stats.failures.fetch_add(1, Ordering::Relaxed);
                *self
                    .save_stats
                    .last_error
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(err.to_string());
            }
        }
        result.map(|()| true)
    }

    /// Reads a state file written by [`save`](Self::save); its tables wait
    /// for the next [`attach`](Self::attach), which takes over those of its
    /// limit levels (same limit name, key and digits) and drops the rest.
    /// Until then they are saved as they were (a config that fails to load
    /// loses nothing). Returns how many keys were read (0 when there is no
    /// file).
    pub fn restore(&self, path: &Path, now: u32) -> Result<usize, String> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(format!("{}: cannot read: {e}", path.display())),
        };
        let saved = persist::decode(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut keys = 0;
        let mut inner = self.lock();
        for s in saved {
            let table = LevelTable::new(s.layout.clone(), s.max_keys.max(s.keys.len()));
            table.adopt(&s.layout, &s.keys, &s.slots, now);
            keys += table.len();
            inner.restored.push(NamedTable {
                limit: s.limit,
                shadow: s.shadow,
                table: Arc::new(table),
            });
        }
        Ok(keys)
    }
}

/// The penalty box as `callscreen list penalty` (the operations side) sees it.
impl crate::ops::PenaltyBox for LimitStore {
    fn penalties(&self, now: std::time::SystemTime) -> Vec<crate::ops::PenaltyEntry> {
        LimitStore::penalties(self, super::unix_seconds(now), None)
            .into_iter()
            .map(|e| crate::ops::PenaltyEntry {
                key: e.key,
                limit: e.limit,
                until: std::time::UNIX_EPOCH
                    + std::time::Duration::from_secs(u64::from(e.penalty.until)),
                strikes: e.penalty.offences,
            })
            .collect()
    }
}
