//! Where each counter of a limit level lives in a key's state: a fixed number
//! of `u32` slots per key (penalty header, then one block per threshold), so
//! a shard keeps all its keys' state in one flat vector.

use super::{distinct, penalty};
use crate::config::limits::{LimitKey, Threshold, ThresholdKind};

/// Most thresholds one level may have.
pub const MAX_THRESHOLDS: usize = 8;

/// The state layout of one limit level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// What the level counts by.
    pub kind: LimitKey,
    /// Prefix digits (0 for keys without a prefix).
    pub digits: u8,
    /// The thresholds, in order.
    pub thresholds: Vec<Threshold>,
    offsets: Vec<usize>,
    /// Slots per key.
    pub stride: usize,
    /// The longest window: a key untouched for this long has empty windows.
    pub max_window: u32,
}

impl Layout {
    /// Lays out the counters of these thresholds (at most [`MAX_THRESHOLDS`]).
    pub fn new(kind: LimitKey, digits: u8, thresholds: &[Threshold]) -> Layout {
        let thresholds: Vec<Threshold> = thresholds.iter().take(MAX_THRESHOLDS).copied().collect();
        let mut offsets = Vec::with_capacity(thresholds.len());
        let mut at = penalty::HEADER;
        for t in &thresholds {
            offsets.push(at);
            at += match t.kind {
                ThresholdKind::Calls => t.max as usize,
                ThresholdKind::Distinct => distinct::slots(t.max),
            };
        }
        Layout {
            kind,
            digits,
            max_window: thresholds.iter().map(|t| t.window.0).max().unwrap_or(0),
            thresholds,
            offsets,
            stride: at,
        }
    }

    /// The slots of threshold `i` within a key's state.
    pub fn range(&self, i: usize) -> std::ops::Range<usize> {
        let start = self.offsets[i];
        let end = self.offsets.get(i + 1).copied().unwrap_or(self.stride);
        start..end
    }

    /// Whether another layout keeps counters in the same places.
    pub fn same_counters(&self, other: &Layout) -> bool {
        self.kind == other.kind
            && self.digits == other.digits
            && self.thresholds == other.thresholds
    }
}
