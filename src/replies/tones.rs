//! Call-progress tones by country, written as FreeSWITCH `tone_stream://`
//! specifications (`%(on_ms,off_ms,freq[,freq])`, segments joined by `;`,
//! `;loops=N` plays the whole cadence N times).
//!
//! Cadences follow ITU-T E.180 Supplement 2 (the national tone plans).

use std::fmt;

/// A national tone plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Country {
    /// China: busy 450 Hz 0.35 s on / 0.35 s off; ringback 450 Hz 1 s / 4 s.
    Cn,
    /// United States / Canada (NANP): busy 480+620 Hz 0.5/0.5; ringback 440+480 Hz 2 s / 4 s.
    Us,
    /// ITU / CEPT Europe: busy 425 Hz 0.5/0.5; ringback 425 Hz 1 s / 4 s.
    Eu,
    /// United Kingdom: busy 400 Hz 0.375/0.375; ringback 400+450 Hz 0.4/0.2/0.4/2.
    Uk,
    /// Germany: busy 425 Hz 0.48/0.48; ringback 425 Hz 1 s / 4 s.
    De,
    /// France: busy 440 Hz 0.5/0.5; ringback 440 Hz 1.5 s / 3.5 s.
    Fr,
    /// Japan: busy 400 Hz 0.5/0.5; ringback 400 Hz 1 s / 2 s.
    Jp,
    /// Australia: busy 425 Hz 0.375/0.375; ringback 425+400 Hz 0.4/0.2/0.4/2.
    Au,
}

/// Every country with its names in the config (the first is canonical).
pub const COUNTRIES: &[(Country, &[&str])] = &[
    (Country::Cn, &["cn", "china"]),
    (Country::Us, &["us", "na", "ca", "nanp"]),
    (Country::Eu, &["eu", "itu", "cept"]),
    (Country::Uk, &["uk", "gb"]),
    (Country::De, &["de"]),
    (Country::Fr, &["fr"]),
    (Country::Jp, &["jp"]),
    (Country::Au, &["au"]),
];

/// One repeating cadence: its tone_stream segments and the length of one cycle.
struct Cadence {
    segments: &'static str,
    cycle_ms: u32,
}

impl Country {
    /// Looks a country up by its config name (case-insensitive).
    pub fn from_name(name: &str) -> Option<Country> {
        COUNTRIES
            .iter()
            .find(|(_, names)| names.iter().any(|n| n.eq_ignore_ascii_case(name.trim())))
            .map(|(c, _)| *c)
    }

    /// The tone plan of a country calling code (`"86"` → China), ITU/Europe
    /// for any other.
    pub fn for_calling_code(code: &str) -> Country {
        match code {
            "86" => Country::Cn,
            "1" => Country::Us,
            "44" => Country::Uk,
            "49" => Country::De,
            "33" => Country::Fr,
            "81" => Country::Jp,
            "61" => Country::Au,
            _ => Country::Eu,
        }
    }

    /// The canonical config name.
    pub fn name(self) -> &'static str {
        COUNTRIES
            .iter()
            .find(|(c, _)| *c == self)
            .map(|(_, names)| names[0])
            .unwrap_or("eu")
    }

    fn busy(self) -> Cadence {
        match self {
            Country::Cn => Cadence {
                segments: "%(350,350,450)",
                cycle_ms: 700,
            },
            Country::Us => Cadence {
                segments: "%(500,500,480,620)",
                cycle_ms: 1000,
            },
            Country::Eu | Country::Fr => Cadence {
                segments: if matches!(self, Country::Fr) {
                    "%(500,500,440)"
                } else {
                    "%(500,500,425)"
                },
                cycle_ms: 1000,
            },
            Country::Uk => Cadence {
                segments: "%(375,375,400)",
                cycle_ms: 750,
            },
            Country::De => Cadence {
                segments: "%(480,480,425)",
                cycle_ms: 960,
            },
            Country::Jp => Cadence {
                segments: "%(500,500,400)",
                cycle_ms: 1000,
            },
            Country::Au => Cadence {
                segments: "%(375,375,425)",
                cycle_ms: 750,
            },
        }
    }

    fn ringback(self) -> Cadence {
        match self {
            Country::Cn => Cadence {
                segments: "%(1000,4000,450)",
                cycle_ms: 5000,
            },
            Country::Us => Cadence {
                segments: "%(2000,4000,440,480)",
                cycle_ms: 6000,
            },
            Country::Eu | Country::De => Cadence {
                segments: "%(1000,4000,425)",
                cycle_ms: 5000,
            },
            Country::Uk => Cadence {
                segments: "%(400,200,400,450);%(400,2000,400,450)",
                cycle_ms: 3000,
            },
            Country::Fr => Cadence {
                segments: "%(1500,3500,440)",
                cycle_ms: 5000,
            },
            Country::Jp => Cadence {
                segments: "%(1000,2000,400)",
                cycle_ms: 3000,
            },
            Country::Au => Cadence {
                segments: "%(400,200,425,400);%(400,2000,425,400)",
                cycle_ms: 3000,
            },
        }
    }

    /// The busy tone for about `seconds` (whole cadences, at least one).
    pub fn busy_tone(self, seconds: u32) -> String {
        self.busy().repeated(seconds)
    }

    /// The ringback tone for about `seconds` (whole cadences, at least one).
    pub fn ringback_tone(self, seconds: u32) -> String {
        self.ringback().repeated(seconds)
    }
}

impl Cadence {
    fn repeated(&self, seconds: u32) -> String {
        let loops = (seconds.saturating_mul(1000))
            .div_ceil(self.cycle_ms)
            .max(1);
        format!("tone_stream://{};loops={loops}", self.segments)
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Special Information Tones of a vacant number (Telcordia GR-1162 "vacant
/// code", VC: 985.2 Hz 380 ms, 1370.6 Hz 276 ms, 1776.7 Hz 380 ms), the
/// sequence auto-dialers detect to drop a number as not in service. (The
/// `sit` of FreeSWITCH's sample vars.xml, 913.8 Hz first, is the intercept
/// sequence.)
pub const SIT_VACANT: &str = "tone_stream://%(380,0,985.2);%(276,0,1370.6);%(380,0,1776.7)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_have_their_national_busy_cadence() {
        assert_eq!(
            Country::Cn.busy_tone(7),
            "tone_stream://%(350,350,450);loops=10"
        );
        assert_eq!(
            Country::Us.busy_tone(8),
            "tone_stream://%(500,500,480,620);loops=8"
        );
        assert_eq!(
            Country::Eu.busy_tone(3),
            "tone_stream://%(500,500,425);loops=3"
        );
        // Never zero loops (which tone_stream would read as "once" anyway).
        assert_eq!(
            Country::Eu.busy_tone(0),
            "tone_stream://%(500,500,425);loops=1"
        );
    }

    #[test]
    fn ringback_covers_the_requested_time() {
        assert_eq!(
            Country::Us.ringback_tone(30),
            "tone_stream://%(2000,4000,440,480);loops=5"
        );
        assert_eq!(
            Country::Cn.ringback_tone(12),
            "tone_stream://%(1000,4000,450);loops=3"
        );
    }

    #[test]
    fn names_and_calling_codes_find_the_plan() {
        assert_eq!(Country::from_name("ITU"), Some(Country::Eu));
        assert_eq!(Country::from_name("china"), Some(Country::Cn));
        assert_eq!(Country::from_name("xx"), None);
        assert_eq!(Country::for_calling_code("86"), Country::Cn);
        assert_eq!(Country::for_calling_code("1"), Country::Us);
        assert_eq!(Country::for_calling_code("351"), Country::Eu);
        assert_eq!(Country::Us.to_string(), "us");
    }
}
