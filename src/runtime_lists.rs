//! Runtime lists: `runtime-block` and `runtime-allow`, filled from fs_cli
//! (`callscreen block|allow <pattern> [ttl] [note]`) instead of the YAML.
//!
//! Rules name them like any list, so a runtime entry wins or loses by rule
//! order. The store lives outside the [`Engine`](crate::engine::Engine) (the
//! service owns it and hands it to every engine it builds), so entries survive
//! a reload; entries with a time to live stop matching when it runs out and
//! are swept away later.
//!
//! Lookups on the call's thread take a read lock for the time of at most
//! 2 × 15 hash probes and allocate nothing; writes (fs_cli) are rare.

use std::collections::HashMap;
use std::fmt;
use std::sync::RwLock;
use std::time::SystemTime;

use crate::number_set::SetMatch;
use crate::numbers::E164;
use crate::pattern::Pattern;

/// Name of the runtime block list, always defined for rules to name.
pub const RUNTIME_BLOCK: &str = "runtime-block";
/// Name of the runtime allow list, always defined for rules to name.
pub const RUNTIME_ALLOW: &str = "runtime-allow";

/// Which runtime list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuntimeList {
    /// `runtime-block`.
    Block,
    /// `runtime-allow`.
    Allow,
}

impl RuntimeList {
    /// Both lists.
    pub const ALL: [RuntimeList; 2] = [RuntimeList::Block, RuntimeList::Allow];

    /// The list's name in rules and output.
    pub fn name(self) -> &'static str {
        match self {
            RuntimeList::Block => RUNTIME_BLOCK,
            RuntimeList::Allow => RUNTIME_ALLOW,
        }
    }

    /// The runtime list with this name, if it is one.
    pub fn from_name(name: &str) -> Option<RuntimeList> {
        RuntimeList::ALL.into_iter().find(|l| l.name() == name)
    }

    fn slot(self) -> usize {
        self as usize
    }
}

impl fmt::Display for RuntimeList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// True for the names reserved for runtime lists.
pub fn is_runtime_list(name: &str) -> bool {
    RuntimeList::from_name(name).is_some()
}

/// One runtime entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeEntry {
    /// The list it is in.
    pub list: RuntimeList,
    /// What it matches.
    pub pattern: Pattern,
    /// When it was added.
    pub added: SystemTime,
    /// When it stops matching (`None`: never).
    pub expires: Option<SystemTime>,
    /// Free text from the administrator.
    pub note: String,
}

impl RuntimeEntry {
    /// Whether the entry still matches at `now`.
    pub fn is_live(&self, now: SystemTime) -> bool {
        self.expires.map_or(true, |at| at > now)
    }
}

/// Why an entry cannot be stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuntimeError {
    /// The pattern has no E.164 form the store can index.
    Unindexable(String),
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuntimeError::Unindexable(p) => write!(
                f,
                "pattern {p} cannot be stored: runtime entries are numbers or prefixes (+86170*); put wildcards, ranges and regexes in a list of the YAML"
            ),
        }
    }
}

impl std::error::Error for RuntimeError {}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    Exact(E164),
    Prefix(E164),
}

impl Key {
    fn of(pattern: &Pattern) -> Result<Key, RuntimeError> {
        match pattern {
            Pattern::Exact(n) => Ok(Key::Exact(*n)),
            Pattern::Prefix(d) => E164::from_digits(d)
                .map(Key::Prefix)
                .ok_or_else(|| RuntimeError::Unindexable(pattern.to_string())),
            // Runtime entries are numbers and prefixes; other kinds belong in
            // the YAML's lists.
            _ => Err(RuntimeError::Unindexable(pattern.to_string())),
        }
    }
}

#[derive(Default, Debug)]
struct Table {
    entries: HashMap<Key, RuntimeEntry>,
    prefixes: usize,
}

/// The two runtime lists, shared by every engine of a service.
#[derive(Default, Debug)]
pub struct RuntimeLists {
    tables: [RwLock<Table>; 2],
}

impl RuntimeLists {
    /// Empty lists.
    pub fn new() -> RuntimeLists {
        RuntimeLists::default()
    }

    fn read(&self, list: RuntimeList) -> std::sync::RwLockReadGuard<'_, Table> {
        self.tables[list.slot()]
            .read()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self, list: RuntimeList) -> std::sync::RwLockWriteGuard<'_, Table> {
        self.tables[list.slot()]
            .write()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// How `number` matches a live entry of `list`, if it does (hot path: no
    /// allocation). Exact entries win over prefixes; among prefixes the
    /// shortest live one is reported, as for YAML lists.
    pub fn find(&self, list: RuntimeList, number: E164, now: SystemTime) -> Option<SetMatch> {
        let table = self.read(list);
        if table.entries.is_empty() {
            return None;
        }
        let live = |key: &Key| table.entries.get(key).is_some_and(|e| e.is_live(now));
        if live(&Key::Exact(number)) {
            return Some(SetMatch::Exact);
        }
        if table.prefixes == 0 {
            return None;
        }
        let digits = number.digits();
        for n in 1..=number.len() {
            let Some(prefix) = E164::from_digits(&digits.as_str()[..n]) else {
                continue;
            };
            if live(&Key::Prefix(prefix)) {
                return Some(SetMatch::Prefix(n));
            }
        }
        None
    }

    /// Adds or replaces an entry; returns the entry it replaced.
    pub fn insert(&self, entry: RuntimeEntry) -> Result<Option<RuntimeEntry>, RuntimeError> {
        let key = Key::of(&entry.pattern)?;
        let mut table = self.write(entry.list);
        let old = table.entries.insert(key, entry);
        if old.is_none() && matches!(key, Key::Prefix(_)) {
            table.prefixes += 1;
        }
        Ok(old)
    }

    /// Removes the entry for `pattern`; returns it if there was one.
    pub fn remove(&self, list: RuntimeList, pattern: &Pattern) -> Option<RuntimeEntry> {
        let key = Key::of(pattern).ok()?;
        let mut table = self.write(list);
        let old = table.entries.remove(&key);
        if old.is_some() && matches!(key, Key::Prefix(_)) {
            table.prefixes -= 1;
        }
        old
    }

    /// The entry for `pattern`, live or not.
    pub fn get(&self, list: RuntimeList, pattern: &Pattern) -> Option<RuntimeEntry> {
        let key = Key::of(pattern).ok()?;
        self.read(list).entries.get(&key).cloned()
    }

    /// Drops entries that expired at or before `now`; returns them.
    pub fn sweep(&self, now: SystemTime) -> Vec<RuntimeEntry> {
        let mut gone = Vec::new();
        for list in RuntimeList::ALL {
            let mut table = self.write(list);
            let expired: Vec<Key> = table
                .entries
                .iter()
                .filter(|(_, e)| !e.is_live(now))
                .map(|(k, _)| *k)
                .collect();
            for key in expired {
                if let Some(e) = table.entries.remove(&key) {
                    if matches!(key, Key::Prefix(_)) {
                        table.prefixes -= 1;
                    }
                    gone.push(e);
                }
            }
        }
        gone
    }

    /// Live entries of `list` (or both), sorted by list then pattern text.
    pub fn entries(&self, list: Option<RuntimeList>, now: SystemTime) -> Vec<RuntimeEntry> {
        let mut all: Vec<RuntimeEntry> = RuntimeList::ALL
            .into_iter()
            .filter(|l| list.map_or(true, |want| want == *l))
            .flat_map(|l| {
                self.read(l)
                    .entries
                    .values()
                    .filter(|e| e.is_live(now))
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .collect();
        all.sort_by_key(|e| (e.list, e.pattern.to_string()));
        all
    }

    /// Number of live entries in `list`.
    pub fn len(&self, list: RuntimeList, now: SystemTime) -> usize {
        self.read(list)
            .entries
            .values()
            .filter(|e| e.is_live(now))
            .count()
    }

    /// Entries held in both lists, expired ones not yet swept included;
    /// costs two lock acquisitions, not a walk over the entries.
    pub fn stored(&self) -> usize {
        RuntimeList::ALL
            .into_iter()
            .map(|l| self.read(l).entries.len())
            .sum()
    }

    /// True when neither list holds an entry (live or expired).
    pub fn is_empty(&self) -> bool {
        RuntimeList::ALL
            .into_iter()
            .all(|l| self.read(l).entries.is_empty())
    }

    /// Removes every entry (used when the state is replayed again).
    pub fn clear(&self) {
        for list in RuntimeList::ALL {
            *self.write(list) = Table::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numbers::NumberPlan;
    use std::time::Duration;

    fn entry(list: RuntimeList, text: &str, ttl: Option<u64>, now: SystemTime) -> RuntimeEntry {
        RuntimeEntry {
            list,
            pattern: Pattern::parse(text, &NumberPlan::default()).unwrap(),
            added: now,
            expires: ttl.map(|s| now + Duration::from_secs(s)),
            note: String::new(),
        }
    }

    fn num(s: &str) -> E164 {
        NumberPlan::default().to_e164(s).unwrap()
    }

    #[test]
    fn stored_counts_what_the_lists_hold_until_it_is_swept() {
        let lists = RuntimeLists::new();
        let now = SystemTime::now();
        lists
            .insert(entry(RuntimeList::Block, "+86170*", Some(10), now))
            .unwrap();
        lists
            .insert(entry(RuntimeList::Allow, "+8613800138000", None, now))
            .unwrap();
        // Replacing an entry does not add one.
        lists
            .insert(entry(RuntimeList::Block, "+86170*", Some(5), now))
            .unwrap();
        assert_eq!(lists.stored(), 2);
        let later = now + Duration::from_secs(6);
        assert_eq!(lists.len(RuntimeList::Block, later), 0);
        assert_eq!(lists.stored(), 2, "expired but not swept yet");
        assert_eq!(lists.sweep(later).len(), 1);
        assert_eq!(lists.stored(), 1);
        let p = Pattern::parse("+8613800138000", &NumberPlan::default()).unwrap();
        lists.remove(RuntimeList::Allow, &p).unwrap();
        assert_eq!(lists.stored(), 0);
    }

    #[test]
    fn exact_and_prefix_entries_match_like_yaml_lists() {
        let lists = RuntimeLists::new();
        let now = SystemTime::now();
        lists
            .insert(entry(RuntimeList::Block, "+86170*", None, now))
            .unwrap();
        lists
            .insert(entry(RuntimeList::Block, "+8613800138000", None, now))
            .unwrap();
        assert_eq!(
            lists.find(RuntimeList::Block, num("17012345678"), now),
            Some(SetMatch::Prefix(5))
        );
        assert_eq!(
            lists.find(RuntimeList::Block, num("13800138000"), now),
            Some(SetMatch::Exact)
        );
        assert_eq!(
            lists.find(RuntimeList::Block, num("13800138001"), now),
            None
        );
        assert_eq!(
            lists.find(RuntimeList::Allow, num("17012345678"), now),
            None
        );
        assert_eq!(lists.len(RuntimeList::Block, now), 2);
    }

    #[test]
    fn entries_expire_by_themselves_and_are_swept() {
        let lists = RuntimeLists::new();
        let now = SystemTime::now();
        lists
            .insert(entry(RuntimeList::Block, "+86170*", Some(60), now))
            .unwrap();
        lists
            .insert(entry(RuntimeList::Block, "+8617*", Some(3600), now))
            .unwrap();
        let later = now + Duration::from_secs(61);
        // The shorter prefix is still live and now decides.
        assert_eq!(
            lists.find(RuntimeList::Block, num("17012345678"), later),
            Some(SetMatch::Prefix(4))
        );
        let gone = lists.sweep(later);
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].pattern.to_string(), "+86170*");
        assert_eq!(lists.entries(None, later).len(), 1);
        let much_later = now + Duration::from_secs(3601);
        assert_eq!(
            lists.find(RuntimeList::Block, num("17012345678"), much_later),
            None
        );
    }

    #[test]
    fn replacing_and_removing_keep_counts_right() {
        let lists = RuntimeLists::new();
        let now = SystemTime::now();
        let e = entry(RuntimeList::Allow, "+86170*", None, now);
        assert!(lists.insert(e.clone()).unwrap().is_none());
        assert!(lists.insert(e.clone()).unwrap().is_some());
        assert_eq!(
            lists.remove(RuntimeList::Allow, &e.pattern),
            Some(e.clone())
        );
        assert_eq!(lists.remove(RuntimeList::Allow, &e.pattern), None);
        assert!(lists.is_empty());
        assert_eq!(
            lists.find(RuntimeList::Allow, num("17012345678"), now),
            None
        );
    }

    #[test]
    fn names_are_reserved() {
        assert!(is_runtime_list("runtime-block"));
        assert!(is_runtime_list("runtime-allow"));
        assert!(!is_runtime_list("family"));
        assert_eq!(
            RuntimeList::from_name("runtime-allow"),
            Some(RuntimeList::Allow)
        );
    }
}
