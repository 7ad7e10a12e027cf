//! Schedules: when a rule applies (quiet hours, office hours, holidays), in a
//! named IANA time zone.
//!
//! A schedule holds when its days, its dates and one of its time ranges all
//! hold (a part left out always holds). A time range may cross midnight
//! (`22:00-07:00`): its early-morning part belongs to the day it started, so
//! `days: [fri]` with `22:00-07:00` covers Friday night until Saturday 07:00,
//! and not Friday before 07:00.

use std::fmt;
use std::time::SystemTime;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// Seconds in a day; a range may end at `24:00`.
const DAY: u32 = 86_400;

/// A validated schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// The zone the times and dates are read in.
    pub zone: TimeZone,
    /// The zone's name as written (`local` for the host's zone).
    pub zone_name: String,
    /// Bit 0 Monday … bit 6 Sunday; 0: every day.
    pub days: u8,
    /// Time ranges in seconds of the day, `[start, end)`; start > end crosses midnight.
    pub times: Vec<(u32, u32)>,
    /// Date ranges, both ends included; empty: every date.
    pub dates: Vec<DateRange>,
}

/// A range of dates: absolute (`2025-10-01..2025-10-07`) or every year (`12-24..01-02`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateRange {
    /// From one date to another, both included.
    Absolute(Date, Date),
    /// Every year from (month, day) to (month, day), both included; may wrap the new year.
    Yearly((i8, i8), (i8, i8)),
}

impl DateRange {
    fn contains(&self, date: Date) -> bool {
        match *self {
            DateRange::Absolute(from, to) => from <= date && date <= to,
            DateRange::Yearly(from, to) => {
                let md = (date.month(), date.day());
                if from <= to {
                    from <= md && md <= to
                } else {
                    md >= from || md <= to
                }
            }
        }
    }
}

/// Why a schedule's text is not valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleError(pub String);

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ScheduleError {}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const FULL_DAY_NAMES: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn day_index(word: &str) -> Option<u8> {
    let w = word.trim().to_ascii_lowercase();
    (0..7u8).find(|&i| DAY_NAMES[i as usize] == w || FULL_DAY_NAMES[i as usize] == w)
}

/// Reads a time zone name: an IANA name (`Asia/Shanghai`), `UTC`, or `local`
/// (the zone of the host FreeSWITCH runs on).
pub fn parse_zone(name: &str) -> Result<TimeZone, ScheduleError> {
    if name.eq_ignore_ascii_case("local") {
        return Ok(TimeZone::system());
    }
    TimeZone::get(name).map_err(|e| {
        ScheduleError(format!(
            "unknown time zone {name:?} (an IANA name such as Asia/Shanghai, Europe/Paris, UTC, or local): {e}"
        ))
    })
}

/// Reads days: `mon`, `monday`, a range `mon-fri` (may wrap: `fri-mon`),
/// `weekdays` or `weekend`. Returns the bits (bit 0 Monday).
pub fn parse_days(text: &str) -> Result<u8, ScheduleError> {
    let word = text.trim().to_ascii_lowercase();
    match word.as_str() {
        "weekdays" => return Ok(0b001_1111),
        "weekend" | "weekends" => return Ok(0b110_0000),
        "every-day" | "daily" => return Ok(0b111_1111),
        _ => {}
    }
    let bad = || {
        ScheduleError(format!(
            "{text:?} is not a day: write mon … sun, monday … sunday, a range like mon-fri, weekdays or weekend"
        ))
    };
    match word.split_once('-') {
        None => day_index(&word).map(|d| 1 << d).ok_or_else(bad),
        Some((from, to)) => {
            let (from, to) = (
                day_index(from).ok_or_else(bad)?,
                day_index(to).ok_or_else(bad)?,
            );
            let mut bits = 0u8;
            let mut d = from;
            loop {
                bits |= 1 << d;
                if d == to {
                    break;
                }
                d = (d + 1) % 7;
            }
            Ok(bits)
        }
    }
}

fn parse_clock(text: &str, allow_24: bool) -> Option<u32> {
    let mut parts = text.trim().split(':');
    let h: u32 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let s: u32 = match parts.next() {
        Some(s) => s.parse().ok()?,
        None => 0,
    };
    if parts.next().is_some() || h > 24 || m > 59 || s > 59 {
        return None;
    }
    let secs = h * 3600 + m * 60 + s;
    (secs < DAY || (allow_24 && secs == DAY)).then_some(secs)
}

/// Reads a time range `HH:MM-HH:MM` (seconds optional, `24:00` allowed as an
/// end); a range whose end is before its start crosses midnight.
pub fn parse_time_range(text: &str) -> Result<(u32, u32), ScheduleError> {
    let bad = |why: &str| ScheduleError(format!("time range {text:?}: {why}"));
    let (from, to) = text
        .split_once('-')
        .ok_or_else(|| bad("write it as HH:MM-HH:MM, like 22:00-07:00"))?;
    let start = parse_clock(from, false).ok_or_else(|| bad("the start is not a time HH:MM"))?;
    let end =
        parse_clock(to, true).ok_or_else(|| bad("the end is not a time HH:MM (24:00 allowed)"))?;
    if start == end {
        return Err(bad(
            "start and end are the same: leave time out for the whole day",
        ));
    }
    Ok((start, end))
}

fn parse_month_day(text: &str) -> Option<(i8, i8)> {
    let (m, d) = text.trim().split_once('-')?;
    let (m, d): (i8, i8) = (m.parse().ok()?, d.parse().ok()?);
    // 2024 is a leap year: 02-29 is a valid yearly date.
    Date::new(2024, m, d).ok()?;
    Some((m, d))
}

/// Reads a date or a date range: `2025-10-01`, `2025-10-01..2025-10-07`,
/// `12-25` (every year), `12-24..01-02` (every year, across the new year).
pub fn parse_date_range(text: &str) -> Result<DateRange, ScheduleError> {
    let bad = || {
        ScheduleError(format!(
            "{text:?} is not a date or date range: write 2025-10-01, 2025-10-01..2025-10-07, 12-25 or 12-24..01-02"
        ))
    };
    let (from, to) = text.split_once("..").unwrap_or((text, text));
    let absolute = |s: &str| s.trim().parse::<Date>().ok();
    match (absolute(from), absolute(to)) {
        (Some(a), Some(b)) if a <= b => return Ok(DateRange::Absolute(a, b)),
        (Some(_), Some(_)) => {
            return Err(ScheduleError(format!(
                "date range {text:?}: the first date is after the second"
            )))
        }
        _ => {}
    }
    match (parse_month_day(from), parse_month_day(to)) {
        (Some(a), Some(b)) => Ok(DateRange::Yearly(a, b)),
        _ => Err(bad()),
    }
}

impl Schedule {
    /// Whether `now` falls in the schedule.
    pub fn contains(&self, now: SystemTime) -> bool {
        let Ok(ts) = Timestamp::try_from(now) else {
            return false;
        };
        let local = self.zone.to_datetime(ts);
        let secs = local.hour() as u32 * 3600 + local.minute() as u32 * 60 + local.second() as u32;
        let today = local.date();
        if self.times.is_empty() {
            return self.day_holds(today);
        }
        self.times.iter().any(|&(start, end)| {
            if start < end {
                start <= secs && secs < end && self.day_holds(today)
            } else {
                (secs >= start && self.day_holds(today))
                    || (secs < end && today.yesterday().is_ok_and(|y| self.day_holds(y)))
            }
        })
    }

    fn day_holds(&self, date: Date) -> bool {
        let weekday = date.weekday().to_monday_zero_offset();
        (self.days == 0 || self.days & (1 << weekday) != 0)
            && (self.dates.is_empty() || self.dates.iter().any(|r| r.contains(date)))
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.days != 0 {
            let days: Vec<&str> = (0..7)
                .filter(|d| self.days & (1 << d) != 0)
                .map(|d| DAY_NAMES[d])
                .collect();
            parts.push(days.join(","));
        }
        for &(start, end) in &self.times {
            let clock = |s: u32| format!("{:02}:{:02}", s / 3600, s % 3600 / 60);
            parts.push(format!("{}-{}", clock(start), clock(end)));
        }
        for range in &self.dates {
            parts.push(match range {
                DateRange::Absolute(a, b) if a == b => a.to_string(),
                DateRange::Absolute(a, b) => format!("{a}..{b}"),
                DateRange::Yearly(a, b) if a == b => format!("{:02}-{:02}", a.0, a.1),
                DateRange::Yearly(a, b) => {
                    format!("{:02}-{:02}..{:02}-{:02}", a.0, a.1, b.0, b.1)
                }
            });
        }
        if parts.is_empty() {
            parts.push("always".into());
        }
        write!(f, "{} ({})", parts.join(" "), self.zone_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(zone: &str, days: &[&str], times: &[&str], dates: &[&str]) -> Schedule {
        Schedule {
            zone: parse_zone(zone).unwrap(),
            zone_name: zone.to_string(),
            days: days
                .iter()
                .map(|d| parse_days(d).unwrap())
                .fold(0, |a, b| a | b),
            times: times.iter().map(|t| parse_time_range(t).unwrap()).collect(),
            dates: dates.iter().map(|d| parse_date_range(d).unwrap()).collect(),
        }
    }

    /// An instant given as a civil time in a zone.
    fn at(civil: &str, zone: &str) -> SystemTime {
        let dt: jiff::civil::DateTime = civil.parse().unwrap();
        SystemTime::from(
            dt.to_zoned(TimeZone::get(zone).unwrap())
                .unwrap()
                .timestamp(),
        )
    }

    #[test]
    fn quiet_hours_cross_midnight_and_belong_to_the_evening_they_start() {
        // Weeknight quiet hours: Monday to Friday nights, 22:00 to 07:00.
        let s = schedule("Asia/Shanghai", &["mon-fri"], &["22:00-07:00"], &[]);
        let z = "Asia/Shanghai";
        assert!(s.contains(at("2025-01-06T22:00", z))); // Monday 22:00
        assert!(s.contains(at("2025-01-07T03:00", z))); // Tuesday early morning: Monday night
        assert!(!s.contains(at("2025-01-07T07:00", z))); // end is excluded
        assert!(!s.contains(at("2025-01-07T12:00", z)));
        assert!(s.contains(at("2025-01-11T06:59", z))); // Saturday morning: Friday night
        assert!(!s.contains(at("2025-01-11T23:00", z))); // Saturday night is not listed
        assert!(!s.contains(at("2025-01-06T03:00", z))); // Monday morning: Sunday night
    }

    #[test]
    fn the_same_instant_is_judged_in_the_schedule_zone() {
        let shanghai = schedule("Asia/Shanghai", &[], &["09:00-18:00"], &[]);
        let new_york = schedule("America/New_York", &[], &["09:00-18:00"], &[]);
        // 2025-01-06 10:00 in Shanghai is 2025-01-05 21:00 in New York.
        let t = at("2025-01-06T10:00", "Asia/Shanghai");
        assert!(shanghai.contains(t));
        assert!(!new_york.contains(t));
        let utc = schedule("UTC", &[], &["02:00-02:30"], &[]);
        assert!(utc.contains(t));
    }

    #[test]
    fn daylight_saving_time_follows_the_zone() {
        // Paris office hours; 08:30 UTC is 09:30 in winter (CET) but 10:30 in
        // summer (CEST).
        let s = schedule("Europe/Paris", &[], &["09:00-10:00"], &[]);
        assert!(s.contains(at("2025-01-15T08:30", "UTC")));
        assert!(!s.contains(at("2025-07-15T08:30", "UTC")));
        assert!(s.contains(at("2025-07-15T07:30", "UTC")));
    }

    #[test]
    fn dates_absolute_yearly_and_across_new_year() {
        let holidays = schedule(
            "Asia/Shanghai",
            &[],
            &[],
            &["2025-10-01..2025-10-07", "12-24..01-02", "02-29"],
        );
        let z = "Asia/Shanghai";
        assert!(holidays.contains(at("2025-10-03T12:00", z)));
        assert!(!holidays.contains(at("2025-10-08T00:00", z)));
        assert!(holidays.contains(at("2030-12-31T12:00", z)));
        assert!(holidays.contains(at("2031-01-02T23:59", z)));
        assert!(!holidays.contains(at("2031-01-03T00:00", z)));
        assert!(holidays.contains(at("2028-02-29T08:00", z)));
        // A night range on a listed date runs into the next morning.
        let new_years_eve = schedule(z, &[], &["20:00-06:00"], &["12-31"]);
        assert!(new_years_eve.contains(at("2025-01-01T05:00", z)));
        assert!(!new_years_eve.contains(at("2025-01-01T21:00", z)));
    }

    #[test]
    fn day_words_and_ranges() {
        assert_eq!(parse_days("mon-fri").unwrap(), 0b001_1111);
        assert_eq!(parse_days("Saturday").unwrap(), 0b010_0000);
        assert_eq!(parse_days("fri-mon").unwrap(), 0b111_0001);
        assert_eq!(parse_days("weekend").unwrap(), 0b110_0000);
        let err = parse_days("funday").unwrap_err().to_string();
        assert!(err.contains("is not a day"), "{err}");
    }

    #[test]
    fn bad_times_dates_and_zones_are_refused() {
        for bad in [
            "22:00",
            "25:00-07:00",
            "22:60-07:00",
            "08:00-08:00",
            "x-y",
            "24:00-01:00",
            "1193047:00-07:00",
            "07:00-4294967295:00",
        ] {
            assert!(parse_time_range(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_time_range("18:00-24:00").unwrap(), (64_800, 86_400));
        for bad in [
            "2025-13-01",
            "2025-02-30",
            "02-30",
            "2025-10-07..2025-10-01",
            "tomorrow",
        ] {
            assert!(parse_date_range(bad).is_err(), "{bad}");
        }
        let err = parse_zone("Mars/Olympus").unwrap_err().to_string();
        assert!(err.contains("unknown time zone \"Mars/Olympus\""), "{err}");
        assert!(parse_zone("local").is_ok());
    }

    #[test]
    fn display_names_the_parts_and_zone() {
        let s = schedule("Asia/Shanghai", &["mon-fri"], &["22:00-07:00"], &["12-25"]);
        assert_eq!(
            s.to_string(),
            "mon,tue,wed,thu,fri 22:00-07:00 12-25 (Asia/Shanghai)"
        );
    }
}
