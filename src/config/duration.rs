//! Durations written as `30s`, `10m`, `1h`, `2d`, `1w`: parsed and printed.

use std::fmt;

/// A whole number of seconds, as written in the config.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seconds(pub u32);

/// The longest duration the config accepts (a year), so that sums and
/// products of durations stay far from `u32` overflow.
pub const MAX_SECONDS: u32 = 366 * 86_400;

impl Seconds {
    /// Parses `<number><unit>` with unit `s`, `m`, `h`, `d` or `w`; a bare
    /// unit (`h`) means one of it. `0` alone is zero.
    pub fn parse(text: &str) -> Result<Seconds, String> {
        let t = text.trim();
        if t == "0" {
            return Ok(Seconds(0));
        }
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (number, unit) = t.split_at(split);
        let unit_secs: u64 = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            _ => {
                return Err(format!(
                    "{text:?} is not a duration (write a number and a unit: 30s, 10m, 1h, 2d, 1w)"
                ))
            }
        };
        let count: u64 = if number.is_empty() {
            1
        } else {
            number
                .parse()
                .map_err(|_| format!("{text:?} is not a duration"))?
        };
        let secs = count.saturating_mul(unit_secs);
        if secs > u64::from(MAX_SECONDS) {
            return Err(format!("{text:?} is longer than a year"));
        }
        Ok(Seconds(secs as u32))
    }
}

impl fmt::Display for Seconds {
    /// The largest unit that divides the value: `600` → `10m`, `90` → `90s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        if s == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [("w", 7 * 86_400), ("d", 86_400), ("h", 3600), ("m", 60)] {
            if s % size == 0 {
                return write!(f, "{}{unit}", s / size);
            }
        }
        write!(f, "{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_and_print_back() {
        assert_eq!(Seconds::parse("30s"), Ok(Seconds(30)));
        assert_eq!(Seconds::parse("10m"), Ok(Seconds(600)));
        assert_eq!(Seconds::parse("h"), Ok(Seconds(3600)));
        assert_eq!(Seconds::parse("2d"), Ok(Seconds(172_800)));
        assert_eq!(Seconds::parse("0"), Ok(Seconds(0)));
        assert_eq!(Seconds(600).to_string(), "10m");
        assert_eq!(Seconds(90).to_string(), "90s");
        assert_eq!(Seconds(86_400).to_string(), "1d");
        for bad in ["10", "10 minutes", "-1h", "1.5h", "", "m10", "400d"] {
            assert!(Seconds::parse(bad).is_err(), "{bad:?}");
        }
    }
}
