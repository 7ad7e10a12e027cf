//! The key a call is counted under in one level of a limit, packed into two
//! integers (no allocation on the hot path), and its text form as shown by
//! `callscreen penalty list` and set in `callscreen_limit_key`.
//!
//! A caller prefix is taken from the national significant number (NSN): the
//! E.164 digits after the country code. For the home country
//! (`numbering.country_code`) the key is the first N NSN digits
//! (`+86 170 1234 5678`, N=7: `1701234`); a foreign number's country code is
//! found with the ITU country-code table and its key is written
//! `+<country code>-<N NSN digits>` (`+44-2071234`), so home and foreign
//! prefixes never share a key. A number shorter than the prefix is its own key.

use std::fmt;

use super::country_codes::country_code_len;
use crate::config::limits::LimitKey;
use crate::numbers::{Caller, E164};

const VALUE_BITS: u32 = 50;
const LEN_SHIFT: u32 = VALUE_BITS;
const CC_SHIFT: u32 = VALUE_BITS + 4;

/// Where a call is counted: packed digit strings (0 = not part of the key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TrackKey {
    /// The caller's number or prefix.
    pub caller: u64,
    /// The destination number.
    pub destination: u64,
}

/// Packs up to 15 digits with their count and the country-code length.
fn pack(digits: &[u8], cc_len: usize) -> u64 {
    let mut value = 0u64;
    for &d in digits {
        value = value * 10 + u64::from(d - b'0');
    }
    value | (digits.len() as u64) << LEN_SHIFT | (cc_len as u64) << CC_SHIFT
}

/// The identity of a caller number (for distinct counting).
pub fn number_id(number: E164) -> u64 {
    number.value() | (number.len() as u64) << LEN_SHIFT
}

fn country_code_of(digits: &[u8], home_cc: &[u8]) -> usize {
    if !home_cc.is_empty() && digits.starts_with(home_cc) && digits.len() > home_cc.len() {
        home_cc.len()
    } else {
        country_code_len(digits)
    }
}

/// The first `digits` NSN digits of a number, packed.
fn prefix(number: E164, digits: u8, home_cc: &[u8]) -> u64 {
    let buf = number.digits();
    let all = buf.as_bytes();
    let cc = country_code_of(all, home_cc);
    let take = all.len().min(cc + usize::from(digits));
    pack(&all[..take], cc)
}

fn whole(number: E164) -> u64 {
    number_id(number)
}

/// The key of a call for one level of a limit; `None` when the call has no
/// such key (a withheld caller for a caller key, a destination that is not a
/// number for a destination key).
pub fn track_key(
    kind: LimitKey,
    digits: u8,
    caller: Caller,
    destination: Caller,
    home_cc: &[u8],
) -> Option<TrackKey> {
    Some(match kind {
        LimitKey::Caller => TrackKey {
            caller: whole(caller.number()?),
            destination: 0,
        },
        LimitKey::CallerPrefix => TrackKey {
            caller: prefix(caller.number()?, digits, home_cc),
            destination: 0,
        },
        LimitKey::Destination => TrackKey {
            caller: 0,
            destination: whole(destination.number()?),
        },
        LimitKey::CallerPrefixDestination => TrackKey {
            caller: prefix(caller.number()?, digits, home_cc),
            destination: whole(destination.number()?),
        },
    })
}

/// Writes the digits of a packed value.
fn write_digits(f: &mut fmt::Formatter<'_>, packed: u64, from: usize) -> fmt::Result {
    let len = ((packed >> LEN_SHIFT) & 0xf) as usize;
    let mut value = packed & ((1u64 << VALUE_BITS) - 1);
    let mut buf = [b'0'; 16];
    for slot in buf[..len].iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
    f.write_str(std::str::from_utf8(&buf[from.min(len)..len]).unwrap_or(""))
}

/// A key with what is needed to print it.
#[derive(Clone, Copy, Debug)]
pub struct KeyText<'a> {
    /// What the key counts by.
    pub kind: LimitKey,
    /// The key.
    pub key: TrackKey,
    /// The home country code (`numbering.country_code`).
    pub home_cc: &'a str,
}

impl KeyText<'_> {
    fn write_prefix(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let packed = self.key.caller;
        let cc = ((packed >> CC_SHIFT) & 0x3) as usize;
        let len = ((packed >> LEN_SHIFT) & 0xf) as usize;
        let mut buf = [0u8; 16];
        let mut value = packed & ((1u64 << VALUE_BITS) - 1);
        for slot in buf[..len].iter_mut().rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
        let digits = &buf[..len];
        let text = |b: &[u8]| std::str::from_utf8(b).unwrap_or("").to_string();
        if &digits[..cc] == self.home_cc.as_bytes() {
            f.write_str(&text(&digits[cc..]))
        } else {
            write!(f, "+{}-{}", text(&digits[..cc]), text(&digits[cc..]))
        }
    }
}

impl fmt::Display for KeyText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            LimitKey::Caller => {
                f.write_str("+")?;
                write_digits(f, self.key.caller, 0)
            }
            LimitKey::CallerPrefix => self.write_prefix(f),
            LimitKey::Destination => {
                f.write_str("+")?;
                write_digits(f, self.key.destination, 0)
            }
            LimitKey::CallerPrefixDestination => {
                self.write_prefix(f)?;
                f.write_str("@+")?;
                write_digits(f, self.key.destination, 0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numbers::NumberPlan;

    fn key_text(kind: LimitKey, digits: u8, caller: &str, dest: &str) -> String {
        let plan = NumberPlan::default();
        let key = track_key(
            kind,
            digits,
            plan.classify(caller),
            plan.classify(dest),
            b"86",
        )
        .unwrap();
        KeyText {
            kind,
            key,
            home_cc: "86",
        }
        .to_string()
    }

    #[test]
    fn a_home_prefix_is_the_start_of_the_national_number() {
        assert_eq!(
            key_text(LimitKey::CallerPrefix, 7, "+86 170 1234 5678", ""),
            "1701234"
        );
        assert_eq!(
            key_text(LimitKey::CallerPrefix, 5, "017012345678", ""),
            "17012"
        );
        // Foreign numbers keep their country code apart.
        assert_eq!(
            key_text(LimitKey::CallerPrefix, 7, "+12025550123", ""),
            "+1-2025550"
        );
        assert_eq!(
            key_text(LimitKey::CallerPrefix, 4, "+442071234567", ""),
            "+44-2071"
        );
        // A number shorter than the prefix is its own key.
        assert_eq!(key_text(LimitKey::CallerPrefix, 9, "110", ""), "110");
    }

    #[test]
    fn other_keys_print_as_numbers() {
        assert_eq!(
            key_text(LimitKey::Caller, 0, "017012345678", ""),
            "+8617012345678"
        );
        assert_eq!(key_text(LimitKey::Destination, 0, "", "+864000"), "+864000");
        assert_eq!(
            key_text(
                LimitKey::CallerPrefixDestination,
                7,
                "17012345678",
                "+864000"
            ),
            "1701234@+864000"
        );
    }

    #[test]
    fn home_and_foreign_prefixes_with_the_same_digits_differ() {
        let plan = NumberPlan::default();
        let home = track_key(
            LimitKey::CallerPrefix,
            7,
            plan.classify("+8612025550000"),
            Caller::Anonymous,
            b"86",
        );
        let us = track_key(
            LimitKey::CallerPrefix,
            9,
            plan.classify("+12025550000"),
            Caller::Anonymous,
            b"86",
        );
        assert_ne!(home, us);
        assert!(track_key(
            LimitKey::Caller,
            0,
            Caller::Anonymous,
            Caller::Anonymous,
            b"86"
        )
        .is_none());
    }
}
