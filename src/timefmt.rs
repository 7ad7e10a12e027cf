//! ISO 8601 timestamps without a date library.

use std::time::{SystemTime, UNIX_EPOCH};

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
}
