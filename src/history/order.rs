//! Time order for a replay. A history is replayed in the order of its calls'
//! times, because rate limits and penalties depend on it. Files are usually
//! sorted, but not always exactly (a CDR is written when a call ends, not
//! when it starts), so the reader sorts within a bounded window: it holds up
//! to `window` calls and always hands on the earliest. A call earlier than
//! one already handed on (disorder wider than the window) stops the replay
//! with both line numbers: sort the file, or widen the window. Memory stays
//! bounded by the window whatever the file's size.

use std::collections::VecDeque;
use std::io::BufRead;
use std::time::SystemTime;

use super::{CallRecord, HistoryError, HistoryReader};
use crate::timefmt::rfc3339_at;

/// The default reorder window, in calls.
pub const DEFAULT_WINDOW: usize = 10_000;

/// A history read in time order, within a bounded window.
pub struct TimeOrder<R: BufRead> {
    reader: HistoryReader<R>,
    source_name: String,
    window: usize,
    /// The records, reused from call to call (at most `window` + 2); the
    /// queues below hold their places, so a record is never moved.
    slots: Vec<CallRecord>,
    /// Calls read and not yet handed on, sorted by time (then file order).
    /// A sorted file only ever appends at the back and takes from the front.
    pending: VecDeque<usize>,
    /// Records to fill again (their buffers are kept).
    free: Vec<usize>,
    handed: Option<usize>,
    last: Option<(SystemTime, u64)>,
    latest_read: Option<SystemTime>,
    out_of_order: u64,
    end: bool,
}

impl<R: BufRead> TimeOrder<R> {
    /// Orders `reader`'s calls, holding at most `window` calls back.
    pub fn new(reader: HistoryReader<R>, source_name: &str, window: usize) -> Self {
        TimeOrder {
            reader,
            source_name: source_name.to_string(),
            window,
            slots: Vec::new(),
            pending: VecDeque::new(),
            free: Vec::new(),
            handed: None,
            last: None,
            latest_read: None,
            out_of_order: 0,
            end: false,
        }
    }

    /// Calls that came earlier in the file than a call before them and were
    /// put back in order by the window.
    pub fn reordered(&self) -> u64 {
        self.out_of_order
    }

    /// The next call in time order, or `None` at the end.
    pub fn next_call(&mut self) -> Result<Option<&CallRecord>, HistoryError> {
        if let Some(slot) = self.handed.take() {
            self.free.push(slot);
        }
        while !self.end && self.pending.len() <= self.window {
            let slot = self.free.pop().unwrap_or_else(|| {
                self.slots.push(CallRecord::default());
                self.slots.len() - 1
            });
            if !self.reader.read_into(&mut self.slots[slot])? {
                self.free.push(slot);
                self.end = true;
                break;
            }
            let time = self.slots[slot].time;
            match self.latest_read {
                Some(latest) if time < latest => self.out_of_order += 1,
                _ => self.latest_read = Some(time),
            }
            match self.pending.back() {
                Some(&back) if self.slots[back].time > time => {
                    let slots = &self.slots;
                    let at = self.pending.partition_point(|&i| slots[i].time <= time);
                    self.pending.insert(at, slot);
                }
                _ => self.pending.push_back(slot),
            }
        }
        let Some(slot) = self.pending.pop_front() else {
            return Ok(None);
        };
        let rec = &self.slots[slot];
        if let Some((last_time, last_line)) = self.last {
            if rec.time < last_time {
                return Err(HistoryError::Line {
                    source_name: self.source_name.clone(),
                    line: rec.line,
                    message: format!(
                        "the history is not in time order: this call ({}) is earlier than \
                         the call on line {last_line} ({}), more than the reorder window of \
                         {} calls back; sort the file by time or raise --window",
                        rfc3339_at(rec.time, 0),
                        rfc3339_at(last_time, 0),
                        self.window
                    ),
                });
            }
        }
        self.last = Some((rec.time, rec.line));
        self.handed = Some(slot);
        Ok(Some(&self.slots[slot]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Format, ReadOptions};

    fn lines(window: usize, times: &[u64]) -> Result<Vec<u64>, HistoryError> {
        let mut text = String::from("time,caller,destination\n");
        for t in times {
            text.push_str(&format!("{t},1,4000\n"));
        }
        let reader = HistoryReader::new(
            Format::Csv,
            text.as_bytes(),
            "h.csv",
            ReadOptions::default(),
        );
        let mut order = TimeOrder::new(reader, "h.csv", window);
        let mut out = Vec::new();
        while let Some(c) = order.next_call()? {
            out.push(c.line);
        }
        Ok(out)
    }

    #[test]
    fn sorted_input_passes_as_it_is() {
        assert_eq!(lines(0, &[1, 2, 2, 3]).unwrap(), vec![2, 3, 4, 5]);
    }

    #[test]
    fn small_disorder_is_sorted_within_the_window() {
        // Times 10, 30, 20, 40: the call on line 4 goes before line 3.
        assert_eq!(lines(2, &[10, 30, 20, 40]).unwrap(), vec![2, 4, 3, 5]);
    }

    #[test]
    fn disorder_beyond_the_window_names_both_lines() {
        let err = lines(1, &[10, 20, 30, 40, 5]).unwrap_err().to_string();
        assert!(
            err.starts_with("h.csv:6: the history is not in time order"),
            "{err}"
        );
        assert!(
            err.contains("the call on line 4 (1970-01-01T00:00:30Z)"),
            "{err}"
        );
        let err = lines(0, &[10, 5]).unwrap_err().to_string();
        assert!(err.starts_with("h.csv:3: "), "{err}");
    }
}
