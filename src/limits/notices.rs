//! Keys entering and leaving the penalty box, told to whoever fires the
//! `callscreen::penalty` event, without slowing a call down.
//!
//! A call that trips a limit pushes a notice onto a bounded queue (a
//! non-blocking send, after the table's shard lock is released) and wakes
//! the draining thread; `penalty clear` pushes one per key it lifts. The
//! draining thread (the service's background thread, and `penalty clear`
//! itself) turns queued notices into changes and finds the penalties that
//! ran out: it remembers every key it announced with its end time, so a
//! penalty's end is seen by the first drain after it, however the key's
//! state was dropped meanwhile (evicted, or its limit removed by a reload).
//! Keys restored from the state file at start are remembered without being
//! announced again ([`PenaltyWatch::remember`]).
//!
//! Nothing is queued until [`PenaltyWatch::enable`] (a replay's limiter has
//! nobody listening). When the queue is full, notices are counted as
//! dropped: a dropped entry is not announced, and so neither is its end.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, RwLock};

use super::penalty::PenaltyState;

/// Notices the queue holds before dropping new ones.
pub const QUEUE_SIZE: usize = 4096;

/// Why a key entered or left the box.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeReason {
    /// A call went over a threshold.
    Tripped,
    /// The penalty ran out.
    Expired,
    /// An operator lifted it (`callscreen penalty clear`).
    Cleared,
}

impl ChangeReason {
    /// `tripped`, `expired` or `cleared`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeReason::Tripped => "tripped",
            ChangeReason::Expired => "expired",
            ChangeReason::Cleared => "cleared",
        }
    }
}

/// A key entering or leaving the penalty box.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PenaltyNotice {
    /// The limit's name.
    pub limit: String,
    /// The key as text (`1701234`, `+8617012345678`, …).
    pub key: String,
    /// Whether the key entered (else left) the box.
    pub entered: bool,
    /// Why.
    pub reason: ChangeReason,
    /// The penalty (its end, and which offence it is).
    pub penalty: PenaltyState,
    /// Whether the limit only records (shadow).
    pub shadow: bool,
}

type Waker = Arc<dyn Fn() + Send + Sync>;

struct Drain {
    queue: Receiver<PenaltyNotice>,
    /// Keys announced (or restored) in the box: (limit, key) → penalty, shadow.
    boxed: HashMap<(String, String), (PenaltyState, bool)>,
}

/// The queue of penalty-box changes and what the draining side knows.
pub struct PenaltyWatch {
    enabled: AtomicBool,
    sender: SyncSender<PenaltyNotice>,
    drain: Mutex<Drain>,
    dropped: AtomicU64,
    waker: RwLock<Option<Waker>>,
}

impl std::fmt::Debug for PenaltyWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PenaltyWatch")
            .field("enabled", &self.enabled)
            .field("dropped", &self.dropped)
            .finish_non_exhaustive()
    }
}

impl Default for PenaltyWatch {
    fn default() -> Self {
        PenaltyWatch::with_capacity(QUEUE_SIZE)
    }
}

impl PenaltyWatch {
    /// A watch whose queue holds `capacity` notices; off until enabled.
    pub fn with_capacity(capacity: usize) -> PenaltyWatch {
        let (sender, queue) = sync_channel(capacity);
        PenaltyWatch {
            enabled: AtomicBool::new(false),
            sender,
            drain: Mutex::new(Drain {
                queue,
                boxed: HashMap::new(),
            }),
            dropped: AtomicU64::new(0),
            waker: RwLock::new(None),
        }
    }

    /// Starts queueing notices.
    pub fn enable(&self) {
        self.enabled.store(true, Ordering::Relaxed);
    }

    /// Whether notices are queued.
    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// What to call (from the call's thread; it must not block) when a
    /// notice is queued: wakes the draining thread. `None` removes it.
    pub fn set_waker(&self, waker: Option<Waker>) {
        *self.waker.write().unwrap_or_else(|p| p.into_inner()) = waker;
    }

    /// Notices dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Queues a notice without blocking and wakes the draining thread.
    pub fn push(&self, notice: PenaltyNotice) {
        if !self.is_enabled() {
            return;
        }
        match self.sender.try_send(notice) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        let waker = self.waker.read().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(wake) = waker {
            wake();
        }
    }

    /// Remembers keys already in the box (restored at start) so that their
    /// end is announced, without announcing them as entering.
    pub fn remember(&self, entries: impl IntoIterator<Item = PenaltyNotice>) {
        let mut drain = self.drain.lock().unwrap_or_else(|p| p.into_inner());
        for n in entries {
            drain.boxed.insert((n.limit, n.key), (n.penalty, n.shadow));
        }
    }

    /// Takes the queued notices, in order, and adds a `left` notice for
    /// every remembered penalty that ended by `now` (unix seconds).
    pub fn drain(&self, now: u32) -> Vec<PenaltyNotice> {
        let mut drain = self.drain.lock().unwrap_or_else(|p| p.into_inner());
        let Drain { queue, boxed } = &mut *drain;
        let mut out = Vec::new();
        let left = |limit: String, key: String, penalty, shadow, reason| PenaltyNotice {
            limit,
            key,
            entered: false,
            reason,
            penalty,
            shadow,
        };
        while let Ok(notice) = queue.try_recv() {
            let id = (notice.limit.clone(), notice.key.clone());
            let before = boxed.remove(&id);
            if notice.entered {
                // Trips happen only outside the box: an earlier penalty of
                // the key has ended, and its end comes first.
                if let Some((penalty, shadow)) = before {
                    out.push(left(
                        id.0.clone(),
                        id.1.clone(),
                        penalty,
                        shadow,
                        ChangeReason::Expired,
                    ));
                }
                boxed.insert(id, (notice.penalty, notice.shadow));
            } else if before.is_none() && notice.reason != ChangeReason::Cleared {
                continue;
            }
            out.push(notice);
        }
        let mut ended: Vec<(String, String)> = boxed
            .iter()
            .filter(|(_, (p, _))| p.until <= now)
            .map(|(id, _)| id.clone())
            .collect();
        ended.sort_by_key(|id| (boxed[id].0.until, id.clone()));
        for id in ended {
            if let Some((penalty, shadow)) = boxed.remove(&id) {
                out.push(left(id.0, id.1, penalty, shadow, ChangeReason::Expired));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(key: &str, entered: bool, reason: ChangeReason, until: u32) -> PenaltyNotice {
        PenaltyNotice {
            limit: "pools".into(),
            key: key.into(),
            entered,
            reason,
            penalty: PenaltyState { until, offences: 1 },
            shadow: false,
        }
    }

    fn summary(n: &[PenaltyNotice]) -> Vec<(String, bool, &'static str)> {
        n.iter()
            .map(|n| (n.key.clone(), n.entered, n.reason.as_str()))
            .collect()
    }

    #[test]
    fn nothing_is_queued_until_enabled() {
        let w = PenaltyWatch::default();
        w.push(notice("1701234", true, ChangeReason::Tripped, 100));
        assert!(w.drain(0).is_empty());
        w.enable();
        w.push(notice("1701234", true, ChangeReason::Tripped, 100));
        assert_eq!(w.drain(0).len(), 1);
    }

    #[test]
    fn an_entered_key_is_announced_as_leaving_at_the_first_drain_after_its_end() {
        let w = PenaltyWatch::default();
        w.enable();
        let woken = Arc::new(AtomicU64::new(0));
        let count = Arc::clone(&woken);
        w.set_waker(Some(Arc::new(move || {
            count.fetch_add(1, Ordering::Relaxed);
        })));
        w.push(notice("1701234", true, ChangeReason::Tripped, 100));
        w.push(notice("1705555", true, ChangeReason::Tripped, 50));
        assert_eq!(
            woken.load(Ordering::Relaxed),
            2,
            "each push wakes the drain"
        );
        assert_eq!(
            summary(&w.drain(10)),
            [
                ("1701234".into(), true, "tripped"),
                ("1705555".into(), true, "tripped")
            ]
        );
        assert!(w.drain(49).is_empty(), "nothing ended yet");
        assert_eq!(
            summary(&w.drain(100)),
            [
                ("1705555".into(), false, "expired"),
                ("1701234".into(), false, "expired")
            ],
            "in the order the penalties ended"
        );
        assert!(w.drain(1000).is_empty(), "announced once");
    }

    #[test]
    fn a_new_trip_after_an_unseen_end_announces_the_end_first() {
        let w = PenaltyWatch::default();
        w.enable();
        w.remember([notice("1701234", true, ChangeReason::Tripped, 100)]);
        w.push(notice("1701234", true, ChangeReason::Tripped, 300));
        let n = w.drain(150);
        assert_eq!(
            summary(&n),
            [
                ("1701234".into(), false, "expired"),
                ("1701234".into(), true, "tripped")
            ]
        );
        assert_eq!(n[0].penalty.until, 100);
        assert!(w.drain(299).is_empty());
    }

    #[test]
    fn a_cleared_key_leaves_once() {
        let w = PenaltyWatch::default();
        w.enable();
        w.push(notice("1701234", true, ChangeReason::Tripped, 100));
        w.push(notice("1701234", false, ChangeReason::Cleared, 100));
        assert_eq!(
            summary(&w.drain(10)),
            [
                ("1701234".into(), true, "tripped"),
                ("1701234".into(), false, "cleared")
            ]
        );
        assert!(w.drain(200).is_empty(), "no expiry after a clear");
    }

    #[test]
    fn a_full_queue_drops_and_counts_but_never_blocks() {
        let w = PenaltyWatch::with_capacity(2);
        w.enable();
        for i in 0..5 {
            w.push(notice(&format!("170{i}"), true, ChangeReason::Tripped, 100));
        }
        assert_eq!(w.dropped(), 3);
        assert_eq!(w.drain(0).len(), 2);
    }
}
