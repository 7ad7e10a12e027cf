//! Durable runtime state: runtime list entries and penalty-box entries kept
//! in a [`Journal`] under the state directory, replayed at load and compacted
//! when the journal holds many more records than the live state needs.
//!
//! Every change is appended (and synced) before it is applied in memory, and
//! both happen under one lock, so the journal's order is the memory's order
//! and anything a command acknowledged is back after a crash.
//!
//! Penalties are a hook for the limits code: it stores an opaque JSON value
//! per key with [`StateStore::put_penalty`] / [`StateStore::clear_penalty`]
//! and reads them back after a restart with [`StateStore::penalties`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::journal::{create_dir_durable, DamagedRecord, Journal, JournalError, TornTail};
use crate::numbers::NumberPlan;
use crate::pattern::Pattern;
use crate::runtime_lists::{RuntimeEntry, RuntimeError, RuntimeList, RuntimeLists};
use crate::timefmt::{from_unix_millis, unix_millis};

/// The journal's file name inside the state directory.
pub const JOURNAL_FILE: &str = "state.journal";

/// One journal record (a JSON object).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum StateRecord {
    /// A runtime entry was added or replaced.
    Add {
        /// `runtime-block` or `runtime-allow`.
        list: String,
        /// The pattern in E.164 form (`+86170*`, `+8613800138000`).
        pattern: String,
        /// Unix milliseconds.
        added_ms: i64,
        /// Unix milliseconds, if it expires.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_ms: Option<i64>,
        /// The administrator's note.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
    },
    /// A runtime entry was removed.
    Remove {
        /// The list.
        list: String,
        /// The pattern.
        pattern: String,
    },
    /// A penalty-box entry was set (owner-defined value).
    Penalty {
        /// The limited key (prefix or number).
        key: String,
        /// Whatever the limits code needs to restore it.
        value: serde_json::Value,
    },
    /// A penalty-box entry was lifted.
    PenaltyClear {
        /// The key.
        key: String,
    },
}

impl StateRecord {
    /// The record that adds `entry`.
    pub fn add(entry: &RuntimeEntry) -> StateRecord {
        StateRecord::Add {
            list: entry.list.name().to_string(),
            pattern: entry.pattern.to_string(),
            added_ms: unix_millis(entry.added),
            expires_ms: entry.expires.map(unix_millis),
            note: entry.note.clone(),
        }
    }

    fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// Why the store could not do something.
#[derive(Debug)]
pub enum StoreError {
    /// The journal failed.
    Journal(JournalError),
    /// The state directory could not be made.
    Dir {
        /// The directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The entry cannot be stored.
    Entry(RuntimeError),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Journal(e) => write!(f, "{e}"),
            StoreError::Dir { path, source } => {
                write!(
                    f,
                    "{}: cannot create state directory: {source}",
                    path.display()
                )
            }
            StoreError::Entry(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<JournalError> for StoreError {
    fn from(e: JournalError) -> Self {
        StoreError::Journal(e)
    }
}

/// What was found when the state was loaded.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Runtime entries back in the lists.
    pub entries: usize,
    /// Entries that had expired while the module was down.
    pub expired: usize,
    /// Penalty-box entries restored.
    pub penalties: usize,
    /// Records that could not be understood (skipped, each with why).
    pub skipped: Vec<String>,
    /// A torn last record, if the last run crashed mid-write.
    pub torn: Option<TornTail>,
    /// Damaged records before the last one, skipped (the rest was kept).
    pub damaged: Vec<DamagedRecord>,
    /// Whether the journal was compacted right away.
    pub compacted: bool,
}

struct Inner {
    journal: Journal,
    penalties: BTreeMap<String, serde_json::Value>,
}

/// The durable store of one state directory.
pub struct StateStore {
    dir: PathBuf,
    inner: Mutex<Inner>,
    compact_after: AtomicUsize,
    compactions: AtomicUsize,
}

impl fmt::Debug for StateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateStore")
            .field("dir", &self.dir)
            .finish()
    }
}

impl StateStore {
    /// Opens the journal in `dir` (created if needed), replays it into
    /// `runtime` (which is cleared first), and compacts it if worthwhile.
    pub fn open(
        dir: &Path,
        runtime: &RuntimeLists,
        compact_after: usize,
        now: SystemTime,
    ) -> Result<(StateStore, LoadReport), StoreError> {
        // A new state directory is synced into its parent, so the journal
        // in it cannot vanish with its directory after a crash.
        create_dir_durable(dir).map_err(|source| StoreError::Dir {
            path: dir.to_path_buf(),
            source,
        })?;
        let (journal, replay) = Journal::open(&dir.join(JOURNAL_FILE))?;
        let mut report = LoadReport {
            torn: replay.torn,
            damaged: replay.damaged,
            ..LoadReport::default()
        };
        runtime.clear();
        let mut penalties = BTreeMap::new();
        let plan = NumberPlan::default();
        for (i, bytes) in replay.records.iter().enumerate() {
            let record: StateRecord = match serde_json::from_slice(bytes) {
                Ok(r) => r,
                Err(e) => {
                    report.skipped.push(format!("record {}: {e}", i + 1));
                    continue;
                }
            };
            if let Err(why) = apply(&record, runtime, &mut penalties, &plan) {
                report.skipped.push(format!("record {}: {why}", i + 1));
            }
        }
        report.expired = runtime.sweep(now).len();
        report.entries = runtime.entries(None, now).len();
        report.penalties = penalties.len();
        let store = StateStore {
            dir: dir.to_path_buf(),
            inner: Mutex::new(Inner { journal, penalties }),
            compact_after: AtomicUsize::new(compact_after.max(1)),
            compactions: AtomicUsize::new(0),
        };
        report.compacted = store.compact_if_needed(runtime, now)?;
        Ok((store, report))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Changes the compaction threshold (from a reloaded config).
    pub fn set_compact_after(&self, n: usize) {
        self.compact_after.store(n.max(1), Ordering::Relaxed);
    }

    /// Records in the journal file.
    pub fn journal_records(&self) -> usize {
        self.lock().journal.records()
    }

    /// Size of the journal file.
    pub fn journal_bytes(&self) -> u64 {
        self.lock().journal.bytes()
    }

    /// How many times the journal was compacted since load.
    pub fn compactions(&self) -> usize {
        self.compactions.load(Ordering::Relaxed)
    }

    /// Durably adds `entry` to its runtime list, then to `runtime`.
    pub fn add(
        &self,
        runtime: &RuntimeLists,
        entry: RuntimeEntry,
        now: SystemTime,
    ) -> Result<Option<RuntimeEntry>, StoreError> {
        let mut inner = self.lock();
        // Refuse what the lists cannot index before it reaches the journal.
        if let Pattern::Prefix(d) = &entry.pattern {
            if crate::numbers::E164::from_digits(d).is_none() {
                return Err(StoreError::Entry(RuntimeError::Unindexable(
                    entry.pattern.to_string(),
                )));
            }
        }
        inner.journal.append(&StateRecord::add(&entry).encode())?;
        let old = runtime.insert(entry).map_err(StoreError::Entry)?;
        drop(inner);
        self.compact_if_needed(runtime, now)?;
        Ok(old)
    }

    /// Durably removes the entry for `pattern`; returns it if there was one.
    /// Nothing is written when there is nothing to remove.
    pub fn remove(
        &self,
        runtime: &RuntimeLists,
        list: RuntimeList,
        pattern: &Pattern,
        now: SystemTime,
    ) -> Result<Option<RuntimeEntry>, StoreError> {
        let mut inner = self.lock();
        if runtime.get(list, pattern).is_none() {
            return Ok(None);
        }
        let record = StateRecord::Remove {
            list: list.name().to_string(),
            pattern: pattern.to_string(),
        };
        inner.journal.append(&record.encode())?;
        let old = runtime.remove(list, pattern);
        drop(inner);
        self.compact_if_needed(runtime, now)?;
        Ok(old)
    }

    /// Durably sets a penalty-box entry (hook for the limits code).
    pub fn put_penalty(&self, key: &str, value: serde_json::Value) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let record = StateRecord::Penalty {
            key: key.to_string(),
            value: value.clone(),
        };
        inner.journal.append(&record.encode())?;
        inner.penalties.insert(key.to_string(), value);
        Ok(())
    }

    /// Durably lifts a penalty-box entry.
    pub fn clear_penalty(&self, key: &str) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if !inner.penalties.contains_key(key) {
            return Ok(());
        }
        let record = StateRecord::PenaltyClear {
            key: key.to_string(),
        };
        inner.journal.append(&record.encode())?;
        inner.penalties.remove(key);
        Ok(())
    }

    /// The penalty-box entries as last stored.
    pub fn penalties(&self) -> BTreeMap<String, serde_json::Value> {
        self.lock().penalties.clone()
    }

    /// Whether the journal holds more than `compact_after` records beyond
    /// the state it describes. Decided from counters (records in the file,
    /// entries and penalties held), so every `block`/`allow` can ask cheaply;
    /// entries that expired but are not swept yet still count as held, which
    /// only delays compaction until the next sweep.
    fn compaction_due(&self, inner: &Inner, runtime: &RuntimeLists) -> bool {
        let held = runtime.stored() + inner.penalties.len();
        inner.journal.records() > held + self.compact_after.load(Ordering::Relaxed)
    }

    /// Rewrites the journal with only the live state once it holds more than
    /// `compact_after` records beyond it. Returns whether it did.
    pub fn compact_if_needed(
        &self,
        runtime: &RuntimeLists,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if !self.compaction_due(&inner, runtime) {
            return Ok(false);
        }
        let live = runtime.entries(None, now);
        let mut records: Vec<Vec<u8>> = live.iter().map(|e| StateRecord::add(e).encode()).collect();
        records.extend(inner.penalties.iter().map(|(k, v)| {
            StateRecord::Penalty {
                key: k.clone(),
                value: v.clone(),
            }
            .encode()
        }));
        inner.journal.rewrite(records.iter().map(Vec::as_slice))?;
        self.compactions.fetch_add(1, Ordering::Relaxed);
        Ok(true)
    }
}

fn apply(
    record: &StateRecord,
    runtime: &RuntimeLists,
    penalties: &mut BTreeMap<String, serde_json::Value>,
    plan: &NumberPlan,
) -> Result<(), String> {
    let parse = |list: &str, pattern: &str| -> Result<(RuntimeList, Pattern), String> {
        let list = RuntimeList::from_name(list).ok_or_else(|| format!("unknown list {list:?}"))?;
        // Stored patterns are in E.164 form, so any plan reads them alike.
        let pattern = Pattern::parse(pattern, plan).map_err(|e| e.to_string())?;
        Ok((list, pattern))
    };
    match record {
        StateRecord::Add {
            list,
            pattern,
            added_ms,
            expires_ms,
            note,
        } => {
            let (list, pattern) = parse(list, pattern)?;
            runtime
                .insert(RuntimeEntry {
                    list,
                    pattern,
                    added: from_unix_millis(*added_ms),
                    expires: expires_ms.map(from_unix_millis),
                    note: note.clone(),
                })
                .map_err(|e| e.to_string())?;
        }
        StateRecord::Remove { list, pattern } => {
            let (list, pattern) = parse(list, pattern)?;
            runtime.remove(list, &pattern);
        }
        StateRecord::Penalty { key, value } => {
            penalties.insert(key.clone(), value.clone());
        }
        StateRecord::PenaltyClear { key } => {
            penalties.remove(key);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("callscreen-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn entry(list: RuntimeList, text: &str, ttl: Option<u64>, now: SystemTime) -> RuntimeEntry {
        RuntimeEntry {
            list,
            pattern: Pattern::parse(text, &NumberPlan::default()).unwrap(),
            added: now,
            expires: ttl.map(|s| now + Duration::from_secs(s)),
            note: format!("note for {text}"),
        }
    }

    #[test]
    fn entries_and_penalties_come_back_after_reopening() {
        let dir = temp("reopen");
        let now = SystemTime::now();
        {
            let runtime = RuntimeLists::new();
            let (store, report) = StateStore::open(&dir, &runtime, 1000, now).unwrap();
            assert_eq!(report.entries, 0);
            store
                .add(
                    &runtime,
                    entry(RuntimeList::Block, "+86170*", None, now),
                    now,
                )
                .unwrap();
            store
                .add(
                    &runtime,
                    entry(RuntimeList::Allow, "13800138000", Some(3600), now),
                    now,
                )
                .unwrap();
            store
                .add(
                    &runtime,
                    entry(RuntimeList::Block, "+86171*", None, now),
                    now,
                )
                .unwrap();
            let gone = Pattern::parse("+86171*", &NumberPlan::default()).unwrap();
            assert!(store
                .remove(&runtime, RuntimeList::Block, &gone, now)
                .unwrap()
                .is_some());
            assert!(store
                .remove(&runtime, RuntimeList::Block, &gone, now)
                .unwrap()
                .is_none());
            store
                .put_penalty("+86165", serde_json::json!({"until_ms": 5}))
                .unwrap();
            store
                .put_penalty("+86166", serde_json::json!({"until_ms": 6}))
                .unwrap();
            store.clear_penalty("+86166").unwrap();
            assert_eq!(store.journal_records(), 7);
        }
        let runtime = RuntimeLists::new();
        let (store, report) = StateStore::open(&dir, &runtime, 1000, now).unwrap();
        assert_eq!(report.entries, 2);
        assert_eq!(report.penalties, 1);
        assert!(report.skipped.is_empty() && report.torn.is_none());
        let all = runtime.entries(None, now);
        assert_eq!(all[0].pattern.to_string(), "+86170*");
        assert_eq!(all[0].note, "note for +86170*");
        assert_eq!(all[1].list, RuntimeList::Allow);
        assert_eq!(
            all[1].expires.map(unix_millis),
            Some(unix_millis(now + Duration::from_secs(3600)))
        );
        assert_eq!(
            store.penalties().get("+86165"),
            Some(&serde_json::json!({"until_ms": 5}))
        );
        // Entries that expired while the module was down are gone.
        let later = now + Duration::from_secs(3601);
        let (_, report) = StateStore::open(&dir, &RuntimeLists::new(), 1000, later).unwrap();
        assert_eq!((report.entries, report.expired), (1, 1));
    }

    #[test]
    fn the_journal_is_compacted_when_it_grows() {
        let dir = temp("compact");
        let now = SystemTime::now();
        let runtime = RuntimeLists::new();
        let (store, _) = StateStore::open(&dir, &runtime, 10, now).unwrap();
        for _ in 0..30 {
            store
                .add(
                    &runtime,
                    entry(RuntimeList::Block, "+86170*", None, now),
                    now,
                )
                .unwrap();
        }
        assert!(store.compactions() >= 1);
        assert!(store.journal_records() <= 11, "{}", store.journal_records());
        let again = RuntimeLists::new();
        let (_, report) = StateStore::open(&dir, &again, 10, now).unwrap();
        assert_eq!(report.entries, 1);
    }

    #[test]
    fn compaction_follows_dead_records_not_the_number_of_entries() {
        let dir = temp("compact-dead");
        let now = SystemTime::now();
        let runtime = RuntimeLists::new();
        let (store, _) = StateStore::open(&dir, &runtime, 10, now).unwrap();
        let numbers: Vec<String> = (0..20).map(|i| format!("+8613800138{i:03}")).collect();
        for n in &numbers {
            store
                .add(&runtime, entry(RuntimeList::Block, n, Some(60), now), now)
                .unwrap();
        }
        // Twenty live entries, twenty records: nothing to win.
        assert_eq!((store.compactions(), store.journal_records()), (0, 20));
        for n in &numbers[..10] {
            let p = Pattern::parse(n, &NumberPlan::default()).unwrap();
            store.remove(&runtime, RuntimeList::Block, &p, now).unwrap();
        }
        // The sixth removal makes 26 records for 14 entries (12 dead, more
        // than compact_after): rewritten to 14, then four more removals.
        assert_eq!(store.compactions(), 1);
        assert_eq!(store.journal_records(), 18);
        // Entries that expire are dead records once swept.
        let later = now + Duration::from_secs(61);
        assert!(!store.compact_if_needed(&runtime, later).unwrap());
        assert_eq!(runtime.sweep(later).len(), 10);
        assert!(store.compact_if_needed(&runtime, later).unwrap());
        assert_eq!(store.journal_records(), 0);
    }

    #[test]
    fn a_torn_record_is_skipped_with_a_report_not_a_refusal() {
        let dir = temp("torn");
        let now = SystemTime::now();
        {
            let runtime = RuntimeLists::new();
            let (store, _) = StateStore::open(&dir, &runtime, 1000, now).unwrap();
            store
                .add(
                    &runtime,
                    entry(RuntimeList::Block, "+86170*", None, now),
                    now,
                )
                .unwrap();
            store
                .add(
                    &runtime,
                    entry(RuntimeList::Block, "+86171*", None, now),
                    now,
                )
                .unwrap();
        }
        let path = dir.join(JOURNAL_FILE);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
        let runtime = RuntimeLists::new();
        let (_, report) = StateStore::open(&dir, &runtime, 1000, now).unwrap();
        assert_eq!(report.entries, 1);
        let torn = report.torn.expect("torn tail");
        assert!(torn.to_string().contains("skipped a torn record"), "{torn}");
    }

    #[test]
    fn a_damaged_record_in_the_middle_loses_only_that_entry() {
        let dir = temp("middle");
        let now = SystemTime::now();
        {
            let runtime = RuntimeLists::new();
            let (store, _) = StateStore::open(&dir, &runtime, 1000, now).unwrap();
            for p in ["+86170*", "+86171*", "+86172*", "+86173*"] {
                store
                    .add(&runtime, entry(RuntimeList::Block, p, None, now), now)
                    .unwrap();
            }
        }
        let path = dir.join(JOURNAL_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        // Flip a byte inside the second record's JSON.
        let second = bytes
            .windows(7)
            .position(|w| w == b"+86171*")
            .expect("second record");
        bytes[second + 3] ^= 0x01;
        std::fs::write(&path, &bytes).unwrap();
        let runtime = RuntimeLists::new();
        let (_, report) = StateStore::open(&dir, &runtime, 1000, now).unwrap();
        assert_eq!(report.entries, 3, "{report:?}");
        assert!(report.torn.is_none(), "{report:?}");
        assert_eq!(report.damaged.len(), 1);
        let kept: Vec<String> = runtime
            .entries(None, now)
            .iter()
            .map(|e| e.pattern.to_string())
            .collect();
        assert_eq!(kept, ["+86170*", "+86172*", "+86173*"]);
    }

    #[test]
    fn a_change_whose_sync_fails_is_refused_and_not_replayed() {
        let dir = temp("syncfail");
        let now = SystemTime::now();
        let runtime = RuntimeLists::new();
        let (store, _) = StateStore::open(&dir, &runtime, 1000, now).unwrap();
        store
            .add(
                &runtime,
                entry(RuntimeList::Block, "+86170*", None, now),
                now,
            )
            .unwrap();
        store.lock().journal.fail_syncs(true);
        let err = store
            .add(
                &runtime,
                entry(RuntimeList::Block, "+86171*", None, now),
                now,
            )
            .unwrap_err();
        assert!(err.to_string().contains("cannot sync"), "{err}");
        let refused = Pattern::parse("+86171*", &NumberPlan::default()).unwrap();
        assert!(runtime.get(RuntimeList::Block, &refused).is_none());
        drop(store);
        let again = RuntimeLists::new();
        let (_, report) = StateStore::open(&dir, &again, 1000, now).unwrap();
        assert_eq!(report.entries, 1);
        assert!(again.get(RuntimeList::Block, &refused).is_none());
    }

    #[test]
    fn records_it_does_not_understand_are_skipped_and_named() {
        let dir = temp("unknown");
        std::fs::create_dir_all(&dir).unwrap();
        let (mut j, _) = Journal::open(&dir.join(JOURNAL_FILE)).unwrap();
        j.append(br#"{"op":"add","list":"runtime-nope","pattern":"+86170*","added_ms":0}"#)
            .unwrap();
        j.append(b"not json").unwrap();
        j.append(br#"{"op":"add","list":"runtime-block","pattern":"+86170*","added_ms":0}"#)
            .unwrap();
        drop(j);
        let runtime = RuntimeLists::new();
        let (_, report) = StateStore::open(&dir, &runtime, 1000, SystemTime::now()).unwrap();
        assert_eq!(report.entries, 1);
        assert_eq!(report.skipped.len(), 2);
        assert!(
            report.skipped[0].contains("unknown list"),
            "{:?}",
            report.skipped
        );
    }
}
