//! A small time-window form for replies that differ by schedule:
//! `when: { days: mon-fri, hours: "09:00-18:00", utc_offset: "+08:00" }`.
//!
//! This is deliberately minimal (days of the week, time ranges, a fixed UTC
//! offset) so that reply selection can depend on the time of day now; the
//! full schedules of the rules (time zones, holidays) can later stand behind
//! the same [`When::holds`] question.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Days of the week as bits: Monday is bit 0 … Sunday bit 6.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Days(u8);

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Days {
    /// Every day.
    pub const ALL: Days = Days(0x7f);

    /// Parses `mon-fri`, `sat,sun`, `mon,wed-fri`, `weekdays`, `weekend`, `all`.
    pub fn parse(text: &str) -> Result<Days, String> {
        let mut bits = 0u8;
        for part in text.split(',').map(str::trim) {
            let part = part.to_ascii_lowercase();
            let range = match part.as_str() {
                "all" | "daily" | "every day" => (0, 6),
                "weekdays" => (0, 4),
                "weekend" | "weekends" => (5, 6),
                _ => match part.split_once('-') {
                    Some((a, b)) => (day_index(a)?, day_index(b)?),
                    None => {
                        let d = day_index(&part)?;
                        (d, d)
                    }
                },
            };
            // A range may wrap the week: fri-mon.
            let mut d = range.0;
            loop {
                bits |= 1 << d;
                if d == range.1 {
                    break;
                }
                d = (d + 1) % 7;
            }
        }
        Ok(Days(bits))
    }

    fn contains(self, weekday: u8) -> bool {
        self.0 & (1 << weekday) != 0
    }
}

fn day_index(name: &str) -> Result<u8, String> {
    let name = name.trim();
    DAY_NAMES
        .iter()
        .position(|d| name.get(..3).is_some_and(|p| d.eq_ignore_ascii_case(p)))
        .map(|i| i as u8)
        .ok_or_else(|| {
            format!(
                "unknown day {name:?} (mon, tue, wed, thu, fri, sat, sun, weekdays, weekend, all)"
            )
        })
}

/// A time of day range in minutes, `[from, to)`; `to < from` wraps midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hours {
    from: u16,
    to: u16,
}

impl Hours {
    /// Parses `"09:00-18:00"` or `"22:00-07:00"` (over midnight).
    pub fn parse(text: &str) -> Result<Hours, String> {
        let bad = || format!("hours {text:?} must look like \"09:00-18:00\"");
        let (a, b) = text.split_once('-').ok_or_else(bad)?;
        let minute = |t: &str| -> Result<u16, String> {
            let (h, m) = t.trim().split_once(':').ok_or_else(bad)?;
            let h: u16 = h.parse().map_err(|_| bad())?;
            let m: u16 = m.parse().map_err(|_| bad())?;
            if h > 24 || m > 59 || (h == 24 && m != 0) {
                return Err(bad());
            }
            Ok(h * 60 + m)
        };
        let (from, to) = (minute(a)?, minute(b)?);
        if from == to {
            return Err(format!("hours {text:?} is an empty range"));
        }
        Ok(Hours { from, to })
    }

    fn contains(self, minute: u16) -> bool {
        if self.from < self.to {
            minute >= self.from && minute < self.to
        } else {
            minute >= self.from || minute < self.to
        }
    }
}

/// Parses a UTC offset `"+08:00"`, `"-05:00"`, `"+0530"`, `"UTC"`; in minutes.
pub fn parse_utc_offset(text: &str) -> Result<i16, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("utc") || t == "Z" {
        return Ok(0);
    }
    let bad = || format!("utc_offset {text:?} must look like \"+08:00\" or \"-05:00\"");
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => return Err(bad()),
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let h: i16 = digits[..2].parse().map_err(|_| bad())?;
    let m: i16 = digits[2..].parse().map_err(|_| bad())?;
    if h > 14 || m > 59 {
        return Err(bad());
    }
    Ok(sign * (h * 60 + m))
}

/// A window of time: on these days, during these hours, at this UTC offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct When {
    /// Days it applies on (local to `utc_offset`).
    pub days: Days,
    /// Time ranges (any of them); empty means all day.
    pub hours: Vec<Hours>,
    /// Minutes east of UTC the days and hours are written in.
    pub utc_offset_minutes: i16,
}

impl When {
    /// Whether `now` falls in the window. Allocation-free.
    pub fn holds(&self, now: SystemTime) -> bool {
        let secs = match now.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        };
        let local = secs + i64::from(self.utc_offset_minutes) * 60;
        let days = local.div_euclid(86_400);
        let minute = (local.rem_euclid(86_400) / 60) as u16;
        // 1970-01-01 was a Thursday (index 3 with Monday = 0).
        let weekday = ((days + 3).rem_euclid(7)) as u8;
        if self.hours.is_empty() {
            return self.days.contains(weekday);
        }
        self.hours.iter().any(|h| {
            if h.from < h.to || minute >= h.from {
                // Same-day part of the range: the day is today.
                self.days.contains(weekday) && h.contains(minute)
            } else {
                // After midnight in a range that started yesterday.
                self.days.contains((weekday + 6) % 7) && h.contains(minute)
            }
        })
    }
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days: Vec<&str> = (0..7)
            .filter(|d| self.days.contains(*d))
            .map(|d| DAY_NAMES[d as usize])
            .collect();
        write!(f, "{}", days.join(","))?;
        for h in &self.hours {
            write!(
                f,
                " {:02}:{:02}-{:02}:{:02}",
                h.from / 60,
                h.from % 60,
                h.to / 60,
                h.to % 60
            )?;
        }
        let o = self.utc_offset_minutes;
        write!(
            f,
            " UTC{}{:02}:{:02}",
            if o < 0 { '-' } else { '+' },
            o.abs() / 60,
            o.abs() % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// 2024-01-01 was a Monday.
    fn at(day_of_jan_2024: u64, hour: u64, minute: u64) -> SystemTime {
        let monday = 1_704_067_200u64;
        UNIX_EPOCH
            + Duration::from_secs(
                monday + (day_of_jan_2024 - 1) * 86_400 + hour * 3600 + minute * 60,
            )
    }

    fn when(days: &str, hours: &[&str], offset: &str) -> When {
        When {
            days: Days::parse(days).unwrap(),
            hours: hours.iter().map(|h| Hours::parse(h).unwrap()).collect(),
            utc_offset_minutes: parse_utc_offset(offset).unwrap(),
        }
    }

    #[test]
    fn office_hours_hold_on_weekdays_only() {
        let w = when("mon-fri", &["09:00-18:00"], "UTC");
        assert!(w.holds(at(1, 9, 0)));
        assert!(w.holds(at(5, 17, 59)));
        assert!(!w.holds(at(1, 18, 0)));
        assert!(!w.holds(at(6, 12, 0)), "Saturday");
        assert!(!w.holds(at(1, 8, 59)));
    }

    #[test]
    fn the_offset_moves_the_window() {
        // 09:00 in Beijing is 01:00 UTC.
        let w = when("mon", &["09:00-10:00"], "+08:00");
        assert!(w.holds(at(1, 1, 30)));
        assert!(!w.holds(at(1, 9, 30)));
    }

    #[test]
    fn night_ranges_wrap_midnight_and_belong_to_the_day_they_start() {
        let w = when("fri", &["22:00-07:00"], "UTC");
        assert!(w.holds(at(5, 23, 0)), "Friday night");
        assert!(w.holds(at(6, 6, 59)), "Saturday early morning");
        assert!(
            !w.holds(at(5, 6, 0)),
            "Friday early morning started on Thursday"
        );
    }

    #[test]
    fn bad_forms_are_explained() {
        assert!(Days::parse("mon-fry").unwrap_err().contains("unknown day"));
        assert!(Hours::parse("9-18").unwrap_err().contains("09:00-18:00"));
        assert!(Hours::parse("10:00-10:00").unwrap_err().contains("empty"));
        assert!(parse_utc_offset("8").is_err());
        assert_eq!(parse_utc_offset("-05:30").unwrap(), -330);
        assert_eq!(
            Days::parse("weekend").unwrap(),
            Days::parse("sat-sun").unwrap()
        );
        assert_eq!(
            Days::parse("fri-mon").unwrap(),
            Days::parse("fri,sat,sun,mon").unwrap()
        );
    }
}
