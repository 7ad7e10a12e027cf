//! Rate limits, pool detection and the penalty box.
//!
//! Pure Rust with the time passed in (`now`, unix seconds), so tests control
//! the clock. The pieces:
//!
//! - [`key`]: what a call is counted under (caller, NSN prefix, destination);
//! - [`window`]: `calls: N/W`, an exact sliding log;
//! - [`distinct`]: `distinct: N/W`, exact up to 64 numbers, approximate above;
//! - [`penalty`]: the penalty box header of a key's state;
//! - [`table`]: one limit level's keys, sharded and capped;
//! - [`store`]: all tables, kept by limit name across reloads, saved to disk;
//! - [`persist`]: the state file; [`saver`]: the thread that writes it;
//! - [`notices`]: keys entering and leaving the box, for events.
//!
//! A [`Limiter`] is the limits of one engine (one config), sharing the tables
//! of the [`store::LimitStore`] that outlives it.

pub mod country_codes;
pub mod distinct;
pub mod key;
pub mod layout;
pub mod notices;
pub mod penalty;
pub mod persist;
pub mod saver;
pub mod store;
pub mod table;
pub mod window;

use std::fmt::{self, Write as _};
use std::sync::Arc;

use crate::config::limits::{Limit, Threshold};
use crate::numbers::Caller;
use key::{number_id, track_key, KeyText, TrackKey};
use notices::{ChangeReason, PenaltyNotice, PenaltyWatch};
use penalty::PenaltyState;
use store::Signal;
use table::{Counts, LevelTable, Observation, Undo};

/// Most levels (prefix lengths) one limit may have.
pub const MAX_LEVELS: usize = 8;

/// The tables of one limit, level by level.
#[derive(Debug)]
pub struct CompiledLimit {
    /// One table per level, in the limit's level order.
    pub tables: Vec<Arc<LevelTable>>,
}

/// The limits of one config, bound to their state.
#[derive(Debug, Default)]
pub struct Limiter {
    /// In config order (same index as `Config::limits`).
    pub limits: Vec<CompiledLimit>,
    signal: Option<Arc<Signal>>,
    watch: Option<Arc<PenaltyWatch>>,
}

/// How a limit stopped a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HitState {
    /// This call tripped threshold `threshold` of the level.
    Tripped {
        /// Index into the level's thresholds.
        threshold: usize,
    },
    /// The key was already in the penalty box.
    Penalty,
}

impl HitState {
    /// `tripped` or `penalty`.
    pub fn as_str(self) -> &'static str {
        match self {
            HitState::Tripped { .. } => "tripped",
            HitState::Penalty => "penalty",
        }
    }
}

/// A limit that refused (or, for a shadow limit, would have refused) a call.
#[derive(Clone, Copy, Debug)]
pub struct LimitHit<'e> {
    /// The limit.
    pub limit: &'e Limit,
    /// Index of the level (prefix length) that refused.
    pub level: usize,
    /// The key.
    pub key: TrackKey,
    /// The home country code, for printing the key.
    pub home_cc: &'e str,
    /// Tripped now, or already boxed.
    pub state: HitState,
    /// Counter values of the level, this call included.
    pub counts: Counts,
    /// The penalty the key is serving (`None`: the limit has no penalty time).
    pub penalty: Option<PenaltyState>,
}

impl<'e> LimitHit<'e> {
    /// The key as text (`1701234`, `+8617012345678`, …).
    pub fn key_text(&self) -> KeyText<'e> {
        KeyText {
            kind: self.limit.key,
            key: self.key,
            home_cc: self.home_cc,
        }
    }

    /// The threshold that tripped, if this call tripped one.
    pub fn threshold(&self) -> Option<&'e Threshold> {
        match self.state {
            HitState::Tripped { threshold } => {
                self.limit.levels[self.level].thresholds.get(threshold)
            }
            HitState::Penalty => None,
        }
    }

    /// The count of the threshold that tripped (`None` for a call the
    /// penalty box refused: those are not counted).
    pub fn count(&self) -> Option<u32> {
        match self.state {
            HitState::Tripped { threshold } => Some(self.counts.0[threshold]),
            HitState::Penalty => None,
        }
    }

    /// Every counter of the level: `calls 2/3 per 10m, distinct 5/4 per 1h`
    /// (empty when not counted).
    pub fn counters_text(&self) -> String {
        counters_text(&self.limit.levels[self.level].thresholds, &self.counts)
    }
}

/// Counter values against their thresholds, as text.
pub fn counters_text(thresholds: &[Threshold], counts: &Counts) -> String {
    let mut out = String::new();
    if !counts.is_known() {
        return out;
    }
    for (t, c) in thresholds.iter().zip(counts.0) {
        if !out.is_empty() {
            out.push_str(", ");
        }
        let _ = write!(out, "{} {}/{} per {}", t.kind.as_str(), c, t.max, t.window);
    }
    out
}

/// What a limit made of a call, level by level, for the `check` trace.
#[derive(Clone, Debug)]
pub struct LevelReport {
    /// Prefix digits of the level (0 for keys without a prefix).
    pub digits: u8,
    /// The key as text.
    pub key: String,
    /// What the level saw.
    pub observation: Observation,
}

impl fmt::Display for LevelReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)?;
        if self.digits > 0 {
            write!(f, " ({} digits)", self.digits)?;
        }
        Ok(())
    }
}

impl Limiter {
    /// Limits bound to these tables (see [`store::LimitStore::attach`]);
    /// `signal` wakes the saving thread and `watch` hears of keys entering
    /// the penalty box.
    pub fn new(
        limits: Vec<CompiledLimit>,
        signal: Option<Arc<Signal>>,
        watch: Option<Arc<PenaltyWatch>>,
    ) -> Limiter {
        Limiter {
            limits,
            signal,
            watch,
        }
    }

    /// Whether there are no limits.
    pub fn is_empty(&self) -> bool {
        self.limits.is_empty()
    }

    /// Checks a call against limit `index` and, when `live`, records it.
    /// Levels are checked in order; when one refuses, what the earlier ones
    /// counted is taken back, so a refused call feeds none of its limit's
    /// windows. A call that is not `counted` (its deciding rule is not among
    /// the limit's `scope.rules`) meets only the penalty box of each level.
    /// `report` sees every level (for the trace).
    #[allow(clippy::too_many_arguments)]
    pub fn check<'e>(
        &self,
        index: usize,
        limit: &'e Limit,
        home_cc: &'e str,
        caller: Caller,
        destination: Caller,
        now: u32,
        live: bool,
        counted: bool,
        mut report: Option<&mut Vec<LevelReport>>,
    ) -> Option<LimitHit<'e>> {
        let compiled = self.limits.get(index)?;
        let caller_id = caller.number().map(number_id).unwrap_or(0);
        let mut undo: [Option<(usize, Undo)>; MAX_LEVELS] = [None; MAX_LEVELS];
        for (level_index, (level, table)) in limit.levels.iter().zip(&compiled.tables).enumerate() {
            let key = track_key(
                limit.key,
                level.digits,
                caller,
                destination,
                home_cc.as_bytes(),
            )?;
            let (observation, fed) =
                table.observe(key, caller_id, now, &limit.penalty, live, counted);
            if let Some(r) = report.as_deref_mut() {
                r.push(LevelReport {
                    digits: level.digits,
                    key: KeyText {
                        kind: limit.key,
                        key,
                        home_cc,
                    }
                    .to_string(),
                    observation,
                });
            }
            let hit = |state, counts, penalty| LimitHit {
                limit,
                level: level_index,
                key,
                home_cc,
                state,
                counts,
                penalty,
            };
            let outcome = match observation {
                Observation::Passed(_) | Observation::Untracked | Observation::NotCounted => None,
                Observation::Boxed(p, counts) => Some(hit(HitState::Penalty, counts, Some(p))),
                Observation::Tripped {
                    threshold,
                    penalty,
                    counts,
                } => {
                    if let (true, Some(p)) = (live, penalty) {
                        if let Some(signal) = &self.signal {
                            signal.nudge();
                        }
                        // The shard lock is released: tell the watch.
                        if let Some(watch) = self.watch.as_ref().filter(|w| w.is_enabled()) {
                            watch.push(PenaltyNotice {
                                limit: limit.name.clone(),
                                key: KeyText {
                                    kind: limit.key,
                                    key,
                                    home_cc,
                                }
                                .to_string(),
                                entered: true,
                                reason: ChangeReason::Tripped,
                                penalty: p,
                                shadow: limit.shadow,
                            });
                        }
                    }
                    Some(hit(HitState::Tripped { threshold }, counts, penalty))
                }
            };
            if let Some(hit) = outcome {
                for (earlier, u) in undo.iter().flatten() {
                    compiled.tables[*earlier].undo(u, caller_id, now);
                }
                return Some(hit);
            }
            if let Some(u) = fed {
                if let Some(slot) = undo.get_mut(level_index) {
                    *slot = Some((level_index, u));
                }
            }
        }
        None
    }
}

/// Unix seconds of a time (the limiter's clock), 0 before 1970.
pub fn unix_seconds(t: std::time::SystemTime) -> u32 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs().min(u64::from(u32::MAX)) as u32)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
