//! Inclusive ranges of numbers, sorted and merged for a binary search.

/// Ranges of E.164 values. Both ends of a range have the same number of
/// digits, so every value between them is a number of that length.
#[derive(Debug, Default)]
pub(super) struct RangeSet {
    /// Sorted by start, not overlapping once [`RangeSet::seal`] ran.
    ranges: Vec<(u64, u64)>,
    sealed: bool,
}

impl RangeSet {
    pub(super) fn insert(&mut self, low: u64, high: u64) {
        self.ranges.push((low, high));
        self.sealed = false;
    }

    /// Sorts and merges; lookups need it.
    pub(super) fn seal(&mut self) {
        self.ranges.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(self.ranges.len());
        for &(low, high) in &self.ranges {
            match merged.last_mut() {
                Some(last) if low <= last.1.saturating_add(1) => last.1 = last.1.max(high),
                _ => merged.push((low, high)),
            }
        }
        merged.shrink_to_fit();
        self.ranges = merged;
        self.sealed = true;
    }

    /// The (merged) range holding `value`.
    pub(super) fn find(&self, value: u64) -> Option<(u64, u64)> {
        debug_assert!(self.sealed || self.ranges.is_empty());
        let after = self.ranges.partition_point(|r| r.0 <= value);
        let candidate = *self.ranges.get(after.checked_sub(1)?)?;
        (value <= candidate.1).then_some(candidate)
    }

    pub(super) fn len(&self) -> usize {
        self.ranges.len()
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.ranges.capacity() * std::mem::size_of::<(u64, u64)>()
    }
}
