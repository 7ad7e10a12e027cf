//! Reading the call times of a history quickly. Consecutive calls of a
//! history are usually seconds apart, so their times are written alike
//! except for the seconds (`2024-05-06T00:01:04+08:00`,
//! `2024-05-06T00:01:17+08:00`): such a time is the previous one plus the
//! difference in seconds, without reading the date, the hour and the zone
//! again. Anything else is read in full by [`parse_timestamp`], and the
//! result is the same either way.

use std::time::Duration;
#[cfg(test)]
use std::time::SystemTime;

use crate::summary::same_bytes;
use crate::timefmt::{parse_timestamp, Stamp, TimeError};

/// Where the seconds are in `YYYY-MM-DDTHH:MM:SS…`.
const SECONDS: std::ops::Range<usize> = 17..19;

/// The last time read in full, to read the next ones from.
#[derive(Clone, Debug, Default)]
pub struct TimeReader {
    /// Its text (trimmed), when it has seconds at [`SECONDS`].
    text: Vec<u8>,
    /// What it was read as.
    stamp: Option<Stamp>,
}

/// The seconds of `b` if it is written `YYYY-MM-DD?HH:MM:SS`, then
/// anything but a digit: a value 0-59 (a leap second is read in full).
fn seconds_of(b: &[u8]) -> Option<u64> {
    if b.len() < SECONDS.end
        || b[4] != b'-'
        || b[7] != b'-'
        || b[13] != b':'
        || b[16] != b':'
        || b.get(SECONDS.end).is_some_and(u8::is_ascii_digit)
    {
        return None;
    }
    let (tens, units) = (b[SECONDS.start], b[SECONDS.start + 1]);
    if !(b'0'..=b'5').contains(&tens) || !units.is_ascii_digit() {
        return None;
    }
    Some(u64::from(tens - b'0') * 10 + u64::from(units - b'0'))
}

impl TimeReader {
    /// Reads `text` as [`parse_timestamp`] does.
    pub fn read(&mut self, text: &str, assumed_offset: i32) -> Result<Stamp, TimeError> {
        let b = text.trim().as_bytes();
        if let (Some(last), Some(now), Some(before)) =
            (self.stamp, seconds_of(b), seconds_of(&self.text))
        {
            if b.len() == self.text.len()
                && same_bytes(&b[..SECONDS.start], &self.text[..SECONDS.start])
                && same_bytes(&b[SECONDS.end..], &self.text[SECONDS.end..])
            {
                let time = if now >= before {
                    last.time + Duration::from_secs(now - before)
                } else {
                    last.time - Duration::from_secs(before - now)
                };
                return Ok(Stamp {
                    time,
                    offset: last.offset,
                });
            }
        }
        let stamp = parse_timestamp(text, assumed_offset)?;
        self.text.clear();
        self.stamp = None;
        if seconds_of(b).is_some() {
            self.text.extend_from_slice(b);
            self.stamp = Some(stamp);
        }
        Ok(stamp)
    }

    /// The time the last call was read as (for tests).
    #[cfg(test)]
    fn last(&self) -> Option<SystemTime> {
        self.stamp.map(|s| s.time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every time reads as parse_timestamp reads it, whether it was taken
    /// from the one before or read in full.
    #[test]
    fn times_read_from_the_previous_one_are_read_right() {
        let texts = [
            "2024-05-06T00:01:04+08:00",
            "2024-05-06T00:01:17+08:00",
            "2024-05-06T00:01:03+08:00",
            "2024-05-06T00:01:59+08:00",
            "2024-05-06T00:01:00+08:00",
            "2024-05-06T00:02:00+08:00",
            "2024-05-06T00:02:00.250Z",
            "2024-05-06T00:02:07.250Z",
            "2024-05-06T00:02:07.500Z",
            "2024-05-06 00:02:08",
            "2024-05-06 00:02:09",
            " 2024-05-06T00:02:09Z ",
            "2024-05-06T00:02:10Z",
            "2024-05-06T00:02:60Z",
            "2024-05-06T00:02:11Z",
            "1714521600",
            "2024-05-06T00:02:12Z",
            "1969-12-31T23:59:58Z",
            "1969-12-31T23:59:59.5Z",
            "1969-12-31T23:59:01.5Z",
            "2024-05-06T00:02:1Z",
            "2024-05-06T00:02:123Z",
            "2024-05-06T00:02:12+0800",
            "2024-05-06T00:02:13+0800",
            "2024-02-29T00:02:13Z",
            "2023-02-29T00:02:14Z",
            "2024-05-06T00:02:1aZ",
            "2024-05-06T00:02",
        ];
        for assumed in [0, 8 * 3600] {
            let mut reader = TimeReader::default();
            for text in texts {
                let fast = reader.read(text, assumed);
                let full = parse_timestamp(text, assumed);
                match (&fast, &full) {
                    (Ok(a), Ok(b)) => {
                        assert_eq!((a.time, a.offset), (b.time, b.offset), "{text:?}")
                    }
                    (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                    _ => panic!("{text:?}: {fast:?} but {full:?}"),
                }
            }
        }
        // And the shortcut is taken: a time differing in its seconds only.
        let mut reader = TimeReader::default();
        reader.read("2024-05-06T00:01:04+08:00", 0).unwrap();
        let before = reader.last();
        reader.read("2024-05-06T00:01:09+08:00", 0).unwrap();
        assert_eq!(
            reader.last(),
            before,
            "read from the one before, not in full"
        );
    }
}
