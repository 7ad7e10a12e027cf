//! ISO 8601 timestamps without a date library: formatting for output, and
//! reading the timestamps of call histories and ledgers (RFC 3339 with an
//! offset, or epoch seconds). A date crate would bring time zones databases
//! and more than we need: histories carry offsets, and the arithmetic is a
//! few lines of well-known civil-calendar algorithms.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Formats a time as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn iso8601_utc(t: SystemTime) -> String {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Formats a time as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, milliseconds), the
/// form the evidence ledger uses.
pub fn iso8601_utc_millis(t: SystemTime) -> String {
    let ms = unix_millis(t);
    let secs = ms.div_euclid(1000);
    let base = iso8601_utc(UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0) as u64));
    format!("{}.{:03}Z", &base[..base.len() - 1], ms.rem_euclid(1000))
}

/// Milliseconds since the Unix epoch (negative before it).
pub fn unix_millis(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

/// The time `ms` milliseconds after the Unix epoch (clamped at the epoch).
pub fn from_unix_millis(ms: i64) -> SystemTime {
    UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64)
}

/// A timestamp that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeError(pub String);

impl std::fmt::Display for TimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot read time {:?}: expected ISO 8601 / RFC 3339 \
             (2024-05-01T08:30:00+08:00) or epoch seconds",
            self.0
        )
    }
}

impl std::error::Error for TimeError {}

/// A point in time read from text, with the UTC offset it was written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// The instant.
    pub time: SystemTime,
    /// Seconds east of UTC the text was written in; `None` for epoch numbers
    /// and for local times given without a zone.
    pub offset: Option<i32>,
}

/// Reads a timestamp: ISO 8601 / RFC 3339 (`2024-05-01T08:30:00+08:00`,
/// `…Z`, `…+0800`, fractions of a second, a space instead of `T`) or a
/// number of seconds since 1970 (with a fraction; values past the year 5000
/// are taken as milliseconds, then microseconds, as FreeSWITCH's
/// `start_uepoch`). A date-time without a zone is taken to be at
/// `assumed_offset` seconds east of UTC.
pub fn parse_timestamp(text: &str, assumed_offset: i32) -> Result<Stamp, TimeError> {
    let t = text.trim();
    let err = || TimeError(text.to_string());
    let b = t.as_bytes();
    if b.is_empty() {
        return Err(err());
    }
    if b.len() >= 10 && b[4] == b'-' {
        return parse_iso(b, assumed_offset).ok_or_else(err);
    }
    parse_epoch(b).ok_or_else(err)
}

fn parse_epoch(b: &[u8]) -> Option<Stamp> {
    let (int, frac) = match b.iter().position(|&c| c == b'.') {
        Some(p) => (&b[..p], &b[p + 1..]),
        None => (b, &b[..0]),
    };
    if int.is_empty() || int.len() > 19 {
        return None;
    }
    let whole = digits_value(int)?;
    let mut nanos = 0u64;
    let mut scale = 100_000_000u64;
    for &c in frac {
        if !c.is_ascii_digit() {
            return None;
        }
        nanos += u64::from(c - b'0') * scale;
        scale /= 10;
    }
    // Seconds until year 5000 (9.5e10); beyond that, finer units.
    let d = if whole < 100_000_000_000 {
        Duration::new(whole, nanos as u32)
    } else if whole < 100_000_000_000_000 {
        Duration::from_millis(whole)
    } else {
        Duration::from_micros(whole)
    };
    Some(Stamp {
        time: UNIX_EPOCH + d,
        offset: None,
    })
}

fn digits_value(b: &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(v)
}

fn two(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 2)?;
    Some(digits_value(s)? as u32)
}

fn parse_iso(b: &[u8], assumed_offset: i32) -> Option<Stamp> {
    let year = digits_value(&b[..4])? as i64;
    if b[7] != b'-' {
        return None;
    }
    let month = two(b, 5)?;
    let day = two(b, 8)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut secs_of_day = 0u32;
    let mut nanos = 0u32;
    let mut i = 10;
    if i < b.len() {
        if b[i] != b'T' && b[i] != b't' && b[i] != b' ' {
            return None;
        }
        let hour = two(b, 11)?;
        if b.get(13) != Some(&b':') {
            return None;
        }
        let minute = two(b, 14)?;
        i = 16;
        let mut second = 0;
        if b.get(16) == Some(&b':') {
            second = two(b, 17)?;
            i = 19;
        }
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        secs_of_day = hour * 3600 + minute * 60 + second.min(59);
        if matches!(b.get(i), Some(b'.') | Some(b',')) {
            i += 1;
            let start = i;
            let mut scale = 100_000_000u32;
            while i < b.len() && b[i].is_ascii_digit() {
                nanos += u32::from(b[i] - b'0') * scale;
                scale /= 10;
                i += 1;
            }
            if i == start {
                return None;
            }
        }
    }
    let offset = match b.get(i) {
        None => None,
        Some(b'Z') | Some(b'z') if i + 1 == b.len() => Some(0),
        Some(&sign @ (b'+' | b'-')) => {
            let rest = &b[i + 1..];
            let (h, m) = match rest.len() {
                2 => (two(rest, 0)?, 0),
                4 => (two(rest, 0)?, two(rest, 2)?),
                5 if rest[2] == b':' => (two(rest, 0)?, two(rest, 3)?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let s = (h * 3600 + m * 60) as i32;
            Some(if sign == b'-' { -s } else { s })
        }
        _ => return None,
    };
    let local = days_from_civil(year, month, day) * 86_400 + i64::from(secs_of_day);
    let utc = local - i64::from(offset.unwrap_or(assumed_offset));
    let time = if utc >= 0 {
        UNIX_EPOCH + Duration::new(utc as u64, nanos)
    } else {
        UNIX_EPOCH - Duration::from_secs(utc.unsigned_abs())
            + Duration::from_nanos(u64::from(nanos))
    };
    Some(Stamp { time, offset })
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// (year, month, day) to days since 1970-01-01, proleptic Gregorian.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The UTC calendar day of a time, as `YYYY-MM-DD`.
pub fn utc_date(t: SystemTime) -> String {
    iso8601_utc(t)[..10].to_string()
}

/// Parses `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM[:SS[.fff]]` with
/// `Z` or a `±HH:MM` offset (no zone means UTC).
pub fn parse_iso8601(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    let b = text.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, mo as u32, d as u32) * 86_400;
    let mut millis = 0i64;
    let mut rest = &text[10..];
    if let Some(time) = rest.strip_prefix(['T', ' ']) {
        let tb = time.as_bytes();
        if tb.len() < 5 || tb[2] != b':' {
            return None;
        }
        let h: i64 = time.get(0..2)?.parse().ok()?;
        let mi: i64 = time.get(3..5)?.parse().ok()?;
        let mut at = 5;
        let mut s = 0i64;
        if tb.get(5) == Some(&b':') {
            s = time.get(6..8)?.parse().ok()?;
            at = 8;
            if tb.get(8) == Some(&b'.') {
                let frac: String = time[9..].chars().take_while(char::is_ascii_digit).collect();
                at = 9 + frac.len();
                let padded = format!("{frac:0<3}");
                millis = padded.get(..3)?.parse().ok()?;
            }
        }
        if h > 23 || mi > 59 || s > 60 {
            return None;
        }
        secs += h * 3600 + mi * 60 + s;
        rest = &time[at..];
    }
    match rest {
        "" | "Z" | "z" => {}
        zone => {
            let sign = match zone.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let zone = zone[1..].replace(':', "");
            if zone.len() != 4 {
                return None;
            }
            let h: i64 = zone[..2].parse().ok()?;
            let m: i64 = zone[2..].parse().ok()?;
            secs -= sign * (h * 3600 + m * 60);
        }
    }
    Some(from_unix_millis(secs * 1000 + millis))
}

/// Seconds since 1970 (negative before), whole seconds.
pub fn epoch_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64) - i64::from(e.duration().subsec_nanos() > 0),
    }
}

/// Formats a time as RFC 3339 at a given offset (seconds east of UTC):
/// `2024-05-01T08:30:00+08:00`, or `…Z` at offset 0.
pub fn rfc3339_at(t: SystemTime, offset: i32) -> String {
    let mut out = String::with_capacity(25);
    write_rfc3339_at(&mut out, t, offset);
    out
}

/// Appends [`rfc3339_at`]'s text to `out` (no allocation when it has room).
pub fn write_rfc3339_at(out: &mut String, t: SystemTime, offset: i32) {
    use std::fmt::Write as _;
    let local = epoch_seconds(t) + i64::from(offset);
    let (y, mo, d) = civil_from_days(local.div_euclid(86_400));
    let rem = local.rem_euclid(86_400);
    let _ = write!(
        out,
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    if offset == 0 {
        out.push('Z');
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let a = offset.unsigned_abs();
        let _ = write!(out, "{sign}{:02}:{:02}", a / 3600, a % 3600 / 60);
    }
}

/// Reads a UTC offset written `+08:00`, `-0500`, `+8`, `Z` or `UTC`, in
/// seconds east of UTC.
pub fn parse_offset(text: &str) -> Option<i32> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("z") || t.eq_ignore_ascii_case("utc") {
        return Some(0);
    }
    let (sign, rest) = match t.as_bytes().first()? {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        _ => return None,
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let h: i32 = h.parse().ok()?;
    let m: i32 = m.parse().ok()?;
    if !(0..=23).contains(&h) || !(0..=59).contains(&m) {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn known_instants_format_correctly() {
        assert_eq!(iso8601_utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_709_251_199); // leap year end of Feb
        assert_eq!(iso8601_utc(t), "2024-02-29T23:59:59Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_796_342_400);
        assert_eq!(iso8601_utc(t), "2026-12-04T00:00:00Z");
    }

    #[test]
    fn millis_dates_and_parsing_agree() {
        let t = UNIX_EPOCH + Duration::from_millis(1_709_251_199_042);
        assert_eq!(iso8601_utc_millis(t), "2024-02-29T23:59:59.042Z");
        assert_eq!(utc_date(t), "2024-02-29");
        assert_eq!(parse_iso8601("2024-02-29T23:59:59.042Z"), Some(t));
        assert_eq!(
            parse_iso8601("2024-03-01T07:59:59.042+08:00"),
            Some(t),
            "an offset is applied"
        );
        assert_eq!(
            parse_iso8601("2024-02-29"),
            Some(UNIX_EPOCH + Duration::from_secs(1_709_164_800))
        );
        for bad in ["", "2024", "2024-13-01", "2024-02-29X", "yesterday"] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
        for days in [-1000i64, 0, 19_782, 60_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    fn secs(text: &str) -> i64 {
        epoch_seconds(parse_timestamp(text, 0).unwrap().time)
    }

    #[test]
    fn rfc3339_with_offsets_reads_the_same_instant() {
        assert_eq!(secs("2024-02-29T23:59:59Z"), 1_709_251_199);
        assert_eq!(secs("2024-03-01T07:59:59+08:00"), 1_709_251_199);
        assert_eq!(secs("2024-03-01T07:59:59+0800"), 1_709_251_199);
        assert_eq!(secs("2024-02-29T18:59:59-05"), 1_709_251_199);
        assert_eq!(secs("2024-02-29 23:59:59.750Z"), 1_709_251_199);
        assert_eq!(secs("1970-01-01T00:00Z"), 0);
        let s = parse_timestamp("2024-03-01T07:59:59+08:00", 0).unwrap();
        assert_eq!(s.offset, Some(8 * 3600));
    }

    #[test]
    fn a_local_time_without_zone_uses_the_assumed_offset() {
        let s = parse_timestamp("2024-03-01 07:59:59", 8 * 3600).unwrap();
        assert_eq!(epoch_seconds(s.time), 1_709_251_199);
        assert_eq!(s.offset, None);
    }

    #[test]
    fn epoch_numbers_in_seconds_millis_and_micros() {
        assert_eq!(secs("1709251199"), 1_709_251_199);
        assert_eq!(secs("1709251199.5"), 1_709_251_199);
        assert_eq!(secs("1709251199000"), 1_709_251_199);
        assert_eq!(secs("1709251199000000"), 1_709_251_199);
    }

    #[test]
    fn nonsense_is_refused() {
        for bad in [
            "",
            "yesterday",
            "2024-02-30T00:00:00Z",
            "2024-13-01",
            "2024-01-01T25:00:00Z",
            "2024-01-01T10:00:00+8:00x",
            "12a4",
            "2024-01-01X10:00",
        ] {
            assert!(parse_timestamp(bad, 0).is_err(), "{bad:?} was accepted");
        }
        let err = parse_timestamp("yesterday", 0).unwrap_err().to_string();
        assert!(err.contains("\"yesterday\""), "{err}");
    }

    #[test]
    fn rfc3339_output_round_trips() {
        let t = parse_timestamp("2024-05-01T08:30:00+08:00", 0)
            .unwrap()
            .time;
        assert_eq!(rfc3339_at(t, 8 * 3600), "2024-05-01T08:30:00+08:00");
        assert_eq!(rfc3339_at(t, 0), "2024-05-01T00:30:00Z");
        assert_eq!(rfc3339_at(t, -5 * 3600 - 1800), "2024-04-30T19:00:00-05:30");
        assert_eq!(parse_offset("+08:00"), Some(28_800));
        assert_eq!(parse_offset("-0530"), Some(-19_800));
        assert_eq!(parse_offset("UTC"), Some(0));
        assert_eq!(parse_offset("8"), None);
    }
}
