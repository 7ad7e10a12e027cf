//! Callers who passed a challenge, let straight through until their time is
//! up. In memory only (a restart forgets them), bounded, sharded so that
//! concurrent calls rarely meet on a lock; it lives in the `Service`, so a
//! config reload keeps it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use crate::numbers::E164;

const SHARDS: usize = 16;

/// Callers remembered as allowed, each with an expiry.
#[derive(Debug)]
pub struct AllowMemory {
    shards: Vec<Mutex<HashMap<E164, SystemTime>>>,
    per_shard: usize,
}

impl Default for AllowMemory {
    fn default() -> Self {
        AllowMemory::with_capacity(100_000)
    }
}

impl AllowMemory {
    /// Room for about `capacity` callers; beyond it, expired ones are dropped
    /// first, then the one closest to expiry.
    pub fn with_capacity(capacity: usize) -> AllowMemory {
        AllowMemory {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
        }
    }

    fn shard(&self, caller: E164) -> std::sync::MutexGuard<'_, HashMap<E164, SystemTime>> {
        let i = (caller.value() as usize ^ caller.len()) % SHARDS;
        self.shards[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remembers `caller` as allowed until `until` (a later expiry wins).
    pub fn remember(&self, caller: E164, until: SystemTime, now: SystemTime) {
        let mut shard = self.shard(caller);
        if shard.len() >= self.per_shard && !shard.contains_key(&caller) {
            shard.retain(|_, t| *t > now);
            if shard.len() >= self.per_shard {
                if let Some(soonest) = shard.iter().min_by_key(|(_, t)| **t).map(|(k, _)| *k) {
                    shard.remove(&soonest);
                }
            }
        }
        let entry = shard.entry(caller).or_insert(until);
        if *entry < until {
            *entry = until;
        }
    }

    /// Until when `caller` is allowed, if it is at `now`.
    pub fn allowed_until(&self, caller: E164, now: SystemTime) -> Option<SystemTime> {
        let mut shard = self.shard(caller);
        match shard.get(&caller) {
            Some(t) if *t > now => Some(*t),
            Some(_) => {
                shard.remove(&caller);
                None
            }
            None => None,
        }
    }

    /// Callers currently remembered (including expired ones not yet dropped).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }

    /// Whether nobody is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn n(digits: &str) -> E164 {
        E164::from_digits(digits).unwrap()
    }

    #[test]
    fn a_remembered_caller_is_allowed_until_expiry() {
        let m = AllowMemory::default();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let until = t0 + Duration::from_secs(3600);
        m.remember(n("8613800138000"), until, t0);
        assert_eq!(m.allowed_until(n("8613800138000"), t0), Some(until));
        assert_eq!(m.allowed_until(n("8613800138001"), t0), None);
        assert_eq!(m.allowed_until(n("8613800138000"), until), None);
        assert!(m.is_empty(), "an expired caller is dropped when met");
    }

    #[test]
    fn memory_is_bounded() {
        let m = AllowMemory::with_capacity(32);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        for i in 0..1000u64 {
            m.remember(
                n(&format!("86138{i:08}")),
                t0 + Duration::from_secs(60 + i),
                t0,
            );
        }
        assert!(m.len() <= 32, "{}", m.len());
        // The latest are kept.
        assert!(m.allowed_until(n("8613800000999"), t0).is_some());
    }
}
