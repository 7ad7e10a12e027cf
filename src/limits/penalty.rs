//! The penalty box of one key: the header slots of its state.
//!
//! A key that trips a threshold is blocked until `box_until`; the offence is
//! remembered until `remember_until` (release + `remember`), and a trip
//! before then is a repeat offence with a longer penalty (`repeat_factor`,
//! up to `max_penalty`). Entries expire by themselves: a key whose box and
//! memory have run out and whose windows are empty is idle and evicted.

use crate::config::limits::Penalty;

/// Last call seen (unix seconds).
pub const LAST_SEEN: usize = 0;
/// Blocked until (unix seconds; 0 or past: not blocked).
pub const BOX_UNTIL: usize = 1;
/// Offences remembered.
pub const OFFENCES: usize = 2;
/// Offences forgotten after (unix seconds).
pub const REMEMBER_UNTIL: usize = 3;
/// Header slots before the counters.
pub const HEADER: usize = 4;

/// A key's penalty as seen at some moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PenaltyState {
    /// Blocked until (unix seconds).
    pub until: u32,
    /// Which offence this is (1 = first).
    pub offences: u32,
}

/// The active penalty of a state, if the key is in the box at `now`.
pub fn active(state: &[u32], now: u32) -> Option<PenaltyState> {
    (state[BOX_UNTIL] > now).then(|| PenaltyState {
        until: state[BOX_UNTIL],
        offences: state[OFFENCES],
    })
}

/// Records an offence at `now` and boxes the key for its penalty.
pub fn offend(state: &mut [u32], penalty: &Penalty, now: u32) -> PenaltyState {
    if state[REMEMBER_UNTIL] <= now {
        state[OFFENCES] = 0;
    }
    let offences = state[OFFENCES].saturating_add(1);
    let until = now.saturating_add(penalty.duration(offences));
    state[OFFENCES] = offences;
    state[BOX_UNTIL] = until;
    state[REMEMBER_UNTIL] = until.saturating_add(penalty.remember.0);
    PenaltyState { until, offences }
}

/// The offences remembered of a key released from the box (`None` when it
/// is boxed at `now` or remembers none).
pub fn remembered(state: &[u32], now: u32) -> Option<u32> {
    (state[BOX_UNTIL] <= now && state[REMEMBER_UNTIL] > now && state[OFFENCES] > 0)
        .then_some(state[OFFENCES])
}

/// Forgets the offences of a released key: its next trip is a first offence.
pub fn forget(state: &mut [u32]) {
    state[OFFENCES] = 0;
    state[REMEMBER_UNTIL] = 0;
}

/// Whether nothing about the key matters any more at `now`: not boxed, no
/// offence remembered, no counted call within `max_window`.
pub fn idle(state: &[u32], now: u32, max_window: u32) -> bool {
    state[BOX_UNTIL] <= now
        && state[REMEMBER_UNTIL] <= now
        && state[LAST_SEEN].saturating_add(max_window) <= now
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::duration::Seconds;

    const T: u32 = 1_700_000_000;

    fn penalty() -> Penalty {
        Penalty {
            base: Seconds(600),
            repeat_factor: 2.0,
            max: Seconds(1800),
            remember: Seconds(3600),
        }
    }

    #[test]
    fn repeat_offences_after_release_escalate_up_to_the_ceiling() {
        let mut s = [0u32; HEADER];
        let p = penalty();
        assert_eq!(
            offend(&mut s, &p, T),
            PenaltyState {
                until: T + 600,
                offences: 1
            }
        );
        assert!(active(&s, T + 599).is_some());
        assert!(active(&s, T + 600).is_none(), "the box expires by itself");
        assert_eq!(offend(&mut s, &p, T + 700).until, T + 700 + 1200);
        assert_eq!(offend(&mut s, &p, T + 2000).until, T + 2000 + 1800);
        assert_eq!(offend(&mut s, &p, T + 4000).until, T + 4000 + 1800);
        // Forgotten after `remember` past the release: a first offence again.
        let released = T + 4000 + 1800;
        assert!(!idle(&s, released + 3599, 0));
        assert!(idle(&s, released + 3600, 0));
        assert_eq!(offend(&mut s, &p, released + 3600).offences, 1);
    }
}
