//! `calls: N/W`: an exact sliding window kept as a log of the last N counted
//! calls' timestamps (seconds), so there is no burst at a window edge as a
//! fixed window would allow: a call is refused when N calls already fall in
//! the W seconds before it, whenever they came.
//!
//! The log is N slots (0 = empty) in no particular order: the oldest slot is
//! replaced by the newest call, which keeps the N most recent calls.

/// Calls of the log within `(now - window, now]`.
pub fn in_window(log: &[u32], now: u32, window: u32) -> u32 {
    let start = now.saturating_sub(window);
    log.iter().filter(|&&t| t != 0 && t > start).count() as u32
}

/// Records a call at `now` (replacing the oldest).
pub fn record(log: &mut [u32], now: u32) {
    if let Some(oldest) = log.iter_mut().min() {
        *oldest = now;
    }
}

/// Takes back a call recorded at `now` (its slot becomes empty; what it
/// replaced had left the window, so nothing is lost).
pub fn unrecord(log: &mut [u32], now: u32) {
    if let Some(slot) = log.iter_mut().rev().find(|t| **t == now) {
        *slot = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u32 = 1_700_000_000;

    #[test]
    fn the_window_slides_to_the_second() {
        let mut log = [0u32; 3];
        for t in [T, T + 100, T + 200] {
            assert!(in_window(&log, t, 600) < 3);
            record(&mut log, t);
        }
        // Three calls in the ten minutes before T+599: a fourth is over.
        assert_eq!(in_window(&log, T + 599, 600), 3);
        // At T+600 the first call has left the window.
        assert_eq!(in_window(&log, T + 600, 600), 2);
        record(&mut log, T + 600);
        assert_eq!(in_window(&log, T + 650, 600), 3);
        // No burst at an edge: a fixed 10-minute bucket starting at T+600
        // would allow three more calls right away; the sliding window does not.
        assert_eq!(in_window(&log, T + 601, 600), 3);
        assert_eq!(in_window(&log, T + 700, 600), 2);
    }

    #[test]
    fn an_unrecorded_call_leaves_no_trace() {
        let mut log = [0u32; 2];
        record(&mut log, T);
        record(&mut log, T + 5);
        unrecord(&mut log, T + 5);
        assert_eq!(in_window(&log, T + 10, 600), 1);
    }
}
