//! Caller and destination numbers: normalisation to E.164 and classification.
//!
//! Caller IDs arrive in many shapes (`+8617012345678`, `008617012345678`,
//! `017012345678`, `sip:+86170...@host;user=phone`, `(010) 1234-5678`, or
//! `anonymous`). Every one of them, and every pattern in the config, goes
//! through [`NumberPlan::classify`], so that the same subscriber meets the same
//! rule whatever form it came in.

use std::fmt;

/// The longest E.164 number: 15 digits after the `+`.
pub const MAX_E164_DIGITS: usize = 15;

/// The shortest digit string still treated as a number (service numbers such as `110`).
pub const MIN_DIGITS: usize = 3;

/// Caller IDs that mean "no number given" (compared case-insensitively).
const ANONYMOUS_WORDS: &[&str] = &[
    "anonymous",
    "unknown",
    "restricted",
    "private",
    "unavailable",
    "withheld",
    "blocked",
];

/// An E.164 number held as its digits in a `u64` (E.164 numbers never start
/// with 0, so the value alone identifies the digit string).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct E164 {
    value: u64,
    len: u8,
}

impl E164 {
    /// Builds a number from its digits (without `+`); `None` if they are not
    /// 1..=15 ASCII digits starting with a non-zero digit.
    pub fn from_digits(digits: &str) -> Option<E164> {
        let bytes = digits.as_bytes();
        if bytes.is_empty() || bytes.len() > MAX_E164_DIGITS || bytes[0] == b'0' {
            return None;
        }
        let mut value = 0u64;
        for &b in bytes {
            if !b.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u64::from(b - b'0');
        }
        Some(E164 {
            value,
            len: bytes.len() as u8,
        })
    }

    /// The digits as an integer.
    pub fn value(self) -> u64 {
        self.value
    }

    /// How many digits the number has.
    pub fn len(self) -> usize {
        usize::from(self.len)
    }

    /// Always false: a valid number has at least one digit.
    pub fn is_empty(self) -> bool {
        self.len == 0
    }

    /// The digits, most significant first, into a fixed buffer (no allocation).
    pub fn digits(self) -> DigitBuf {
        let mut buf = [0u8; MAX_E164_DIGITS];
        let mut v = self.value;
        for slot in buf[..self.len()].iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        DigitBuf { buf, len: self.len }
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "+{}", self.digits().as_str())
    }
}

impl fmt::Debug for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The digits of an [`E164`] on the stack.
#[derive(Clone, Copy)]
pub struct DigitBuf {
    buf: [u8; MAX_E164_DIGITS],
    len: u8,
}

impl DigitBuf {
    /// The digits as text.
    pub fn as_str(&self) -> &str {
        // The buffer only ever holds ASCII digits.
        std::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or("")
    }

    /// The digits as bytes (`b'0'..=b'9'`).
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }
}

/// What a caller ID turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// A number, normalised to E.164.
    Number(E164),
    /// No number: empty, `anonymous`, `restricted`, `private`, …
    Anonymous,
    /// Something that is not a telephone number at all.
    Malformed,
}

impl Caller {
    /// `number`, `anonymous` or `malformed`.
    pub fn class_name(self) -> &'static str {
        match self {
            Caller::Number(_) => "number",
            Caller::Anonymous => "anonymous",
            Caller::Malformed => "malformed",
        }
    }

    /// The number, if there is one.
    pub fn number(self) -> Option<E164> {
        match self {
            Caller::Number(n) => Some(n),
            _ => None,
        }
    }
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Caller::Number(n) => write!(f, "{n}"),
            Caller::Anonymous => f.write_str("anonymous"),
            Caller::Malformed => f.write_str("malformed"),
        }
    }
}

/// The user's numbering plan: how national and international numbers are
/// written where the user lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberPlan {
    /// Home country calling code, digits only (`86` for China).
    pub country_code: String,
    /// Trunk prefix of national numbers (`0`), may be empty.
    pub national_prefix: String,
    /// Prefix dialled before a country code (`00`), may be empty.
    pub international_prefix: String,
}

impl Default for NumberPlan {
    fn default() -> Self {
        NumberPlan {
            country_code: "86".into(),
            national_prefix: "0".into(),
            international_prefix: "00".into(),
        }
    }
}

/// Why a text could not be read as a number (used for config patterns).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NumberError {
    /// Empty after removing separators.
    Empty,
    /// A character that is neither a digit nor a separator.
    NotADigit(char),
    /// More than 15 digits once in E.164 form.
    TooLong,
    /// Fewer than [`MIN_DIGITS`] digits.
    TooShort,
    /// A country code cannot start with 0.
    LeadingZero,
}

impl fmt::Display for NumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NumberError::Empty => f.write_str("no digits"),
            NumberError::NotADigit(c) => write!(f, "{c:?} is not a digit"),
            NumberError::TooLong => write!(f, "more than {MAX_E164_DIGITS} digits in E.164 form"),
            NumberError::TooShort => write!(f, "fewer than {MIN_DIGITS} digits"),
            NumberError::LeadingZero => f.write_str("a country code cannot start with 0"),
        }
    }
}

impl std::error::Error for NumberError {}

/// Longest caller ID we look at; anything longer is malformed without parsing.
const MAX_INPUT: usize = 256;

impl NumberPlan {
    /// Classifies a caller ID as received: a number (in E.164), anonymous or
    /// malformed. Never fails and never allocates.
    pub fn classify(&self, raw: &str) -> Caller {
        let text = raw.trim();
        if text.is_empty() {
            return Caller::Anonymous;
        }
        if text.len() > MAX_INPUT {
            return Caller::Malformed;
        }
        let user = uri_user_part(text);
        if user.is_empty() || is_anonymous_word(user) {
            return Caller::Anonymous;
        }
        match self.to_e164(user) {
            Ok(n) => Caller::Number(n),
            Err(_) => Caller::Malformed,
        }
    }

    /// Reads a number written in any accepted form as E.164, with the reason
    /// when it cannot.
    pub fn to_e164(&self, text: &str) -> Result<E164, NumberError> {
        let mut digits = [0u8; 40];
        let mut n = 0usize;
        let mut plus = false;
        for (i, c) in text.trim().char_indices() {
            match c {
                '0'..='9' => {
                    if n == digits.len() {
                        return Err(NumberError::TooLong);
                    }
                    digits[n] = c as u8;
                    n += 1;
                }
                '+' if i == 0 => plus = true,
                ' ' | '-' | '.' | '(' | ')' | '\t' => {}
                other => return Err(NumberError::NotADigit(other)),
            }
        }
        if n == 0 {
            return Err(NumberError::Empty);
        }
        let digits = std::str::from_utf8(&digits[..n]).map_err(|_| NumberError::Empty)?;
        self.assemble(digits, plus)
    }

    /// Turns the digits of a number into E.164 digits, following the plan.
    fn assemble(&self, digits: &str, plus: bool) -> Result<E164, NumberError> {
        if digits.len() < MIN_DIGITS {
            return Err(NumberError::TooShort);
        }
        let mut buf = [0u8; 48];
        let full: &str = if plus {
            digits
        } else if !self.international_prefix.is_empty()
            && digits.starts_with(self.international_prefix.as_str())
        {
            &digits[self.international_prefix.len()..]
        } else {
            let national = if !self.national_prefix.is_empty()
                && digits.starts_with(self.national_prefix.as_str())
            {
                &digits[self.national_prefix.len()..]
            } else {
                digits
            };
            let cc = self.country_code.as_bytes();
            let total = cc.len() + national.len();
            if total > buf.len() {
                return Err(NumberError::TooLong);
            }
            buf[..cc.len()].copy_from_slice(cc);
            buf[cc.len()..total].copy_from_slice(national.as_bytes());
            std::str::from_utf8(&buf[..total]).map_err(|_| NumberError::Empty)?
        };
        if full.len() > MAX_E164_DIGITS {
            return Err(NumberError::TooLong);
        }
        if full.len() < MIN_DIGITS {
            return Err(NumberError::TooShort);
        }
        if full.starts_with('0') {
            return Err(NumberError::LeadingZero);
        }
        E164::from_digits(full).ok_or(NumberError::Empty)
    }

    /// Normalises the digits before a `*` of a prefix pattern; the result is
    /// the E.164 digit string the prefix stands for.
    pub fn prefix_digits(&self, text: &str) -> Result<String, NumberError> {
        let mut digits = String::new();
        let mut plus = false;
        for (i, c) in text.trim().char_indices() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if i == 0 => plus = true,
                ' ' | '-' | '.' | '(' | ')' => {}
                other => return Err(NumberError::NotADigit(other)),
            }
        }
        if digits.is_empty() {
            return Err(NumberError::Empty);
        }
        let full = if plus {
            digits
        } else if !self.international_prefix.is_empty()
            && digits.starts_with(&self.international_prefix)
        {
            digits[self.international_prefix.len()..].to_string()
        } else if !self.national_prefix.is_empty() && digits.starts_with(&self.national_prefix) {
            format!(
                "{}{}",
                self.country_code,
                &digits[self.national_prefix.len()..]
            )
        } else {
            format!("{}{}", self.country_code, digits)
        };
        if full.is_empty() {
            return Err(NumberError::Empty);
        }
        if full.len() > MAX_E164_DIGITS {
            return Err(NumberError::TooLong);
        }
        if full.starts_with('0') {
            return Err(NumberError::LeadingZero);
        }
        Ok(full)
    }
}

/// The user part of a `sip:`/`sips:`/`tel:` URI (or the text itself), without
/// URI parameters.
fn uri_user_part(text: &str) -> &str {
    let mut rest = text;
    if let Some(inner) = rest.strip_prefix('<').and_then(|r| r.strip_suffix('>')) {
        rest = inner;
    }
    for scheme in ["sips:", "sip:", "tel:"] {
        if rest
            .get(..scheme.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
        {
            rest = &rest[scheme.len()..];
            break;
        }
    }
    let end = rest.find(['@', ';']).unwrap_or(rest.len());
    rest[..end].trim()
}

fn is_anonymous_word(user: &str) -> bool {
    ANONYMOUS_WORDS.iter().any(|w| user.eq_ignore_ascii_case(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cn() -> NumberPlan {
        NumberPlan::default()
    }

    fn e164(s: &str) -> Caller {
        Caller::Number(E164::from_digits(s.trim_start_matches('+')).unwrap())
    }

    #[test]
    fn every_written_form_of_one_number_is_the_same_e164() {
        let plan = cn();
        let want = e164("+8617012345678");
        for form in [
            "+8617012345678",
            "008617012345678",
            "017012345678",
            "17012345678",
            "+86 170 1234 5678",
            "+86-170-1234-5678",
            "(0170) 1234.5678",
            "sip:+8617012345678@10.0.0.1;user=phone",
            "<sip:017012345678@carrier.example>",
            "tel:+86-170-1234-5678",
            "  +8617012345678  ",
        ] {
            assert_eq!(plan.classify(form), want, "form {form:?}");
        }
    }

    #[test]
    fn foreign_numbers_keep_their_country_code() {
        let plan = cn();
        assert_eq!(plan.classify("+12025550123"), e164("+12025550123"));
        assert_eq!(plan.classify("0012025550123"), e164("+12025550123"));
    }

    #[test]
    fn another_plan_uses_its_own_prefixes() {
        let us = NumberPlan {
            country_code: "1".into(),
            national_prefix: "1".into(),
            international_prefix: "011".into(),
        };
        assert_eq!(us.classify("2025550123"), e164("+12025550123"));
        assert_eq!(us.classify("12025550123"), e164("+12025550123"));
        assert_eq!(us.classify("01144201234567"), e164("+44201234567"));
    }

    #[test]
    fn withheld_numbers_are_anonymous() {
        let plan = cn();
        for raw in [
            "",
            "   ",
            "anonymous",
            "Anonymous",
            "UNKNOWN",
            "restricted",
            "private",
            "sip:anonymous@anonymous.invalid",
        ] {
            assert_eq!(plan.classify(raw), Caller::Anonymous, "{raw:?}");
        }
    }

    #[test]
    fn text_that_is_not_a_number_is_malformed() {
        let plan = cn();
        for raw in [
            "hello",
            "+86abc",
            "12",
            "+0123456",
            "1234567890123456789",
            "%s%s%n",
            ".*",
            "170\u{0}123",
            "１７０１２３４５６７８", // full-width digits are not ASCII digits
        ] {
            assert_eq!(plan.classify(raw), Caller::Malformed, "{raw:?}");
        }
        let huge = "1".repeat(10_000);
        assert_eq!(plan.classify(&huge), Caller::Malformed);
    }

    #[test]
    fn e164_round_trips_through_text() {
        let n = E164::from_digits("8613800138000").unwrap();
        assert_eq!(n.to_string(), "+8613800138000");
        assert_eq!(n.len(), 13);
        assert!(E164::from_digits("0123").is_none());
        assert!(E164::from_digits("1234567890123456").is_none());
    }

    #[test]
    fn prefixes_are_normalised_like_numbers() {
        let plan = cn();
        assert_eq!(plan.prefix_digits("+86170").unwrap(), "86170");
        assert_eq!(plan.prefix_digits("0086170").unwrap(), "86170");
        assert_eq!(plan.prefix_digits("0170").unwrap(), "86170");
        assert_eq!(plan.prefix_digits("170").unwrap(), "86170");
        assert_eq!(plan.prefix_digits("+1").unwrap(), "1");
        assert!(plan.prefix_digits("+86x").is_err());
        assert_eq!(plan.prefix_digits("").unwrap_err(), NumberError::Empty);
    }
}
