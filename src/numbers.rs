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
    /// How many digits a national (significant) number has, without the
    /// trunk prefix (`[10, 11]` in China). Known lengths let digits written
    /// without `+` or `00` be read without guessing: `8613800138000` has 13
    /// digits, too many for a national number, but 86 + 11 digits is an
    /// international one. Empty: every such number is taken as national.
    pub national_number_lengths: Vec<usize>,
    /// Area code (without trunk prefix) put in front of local numbers, those
    /// that are a national length once it is added (`10` for Beijing).
    /// Empty: local numbers are not recognised.
    pub area_code: String,
}

impl Default for NumberPlan {
    fn default() -> Self {
        NumberPlan {
            country_code: "86".into(),
            national_prefix: "0".into(),
            international_prefix: "00".into(),
            national_number_lengths: vec![10, 11],
            area_code: String::new(),
        }
    }
}

/// How the digits of a number written without `+` become E.164 digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shape {
    /// Leading digits to drop (an international or trunk prefix).
    pub(crate) skip: usize,
    /// Put the home country code in front.
    pub(crate) country: bool,
    /// Put the home area code in front (after the country code).
    pub(crate) area: bool,
    /// Digits to drop further in, as `(start, len)`: a trunk prefix written
    /// after the home country code (`+86 (0)170…`).
    pub(crate) cut: Option<(usize, usize)>,
}

impl Shape {
    /// The digits that stay, in order: `digits` without the leading prefix
    /// and without the cut (the second part is empty when nothing is cut).
    pub(crate) fn kept<'d, T>(&self, digits: &'d [T]) -> (&'d [T], &'d [T]) {
        match self.cut {
            Some((start, len)) => (&digits[self.skip..start], &digits[start + len..]),
            None => (&digits[self.skip..], &[]),
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
    /// Classifies a caller ID given as raw bytes (as a C host hands it over):
    /// bytes that are not UTF-8 make it malformed.
    pub fn classify_bytes(&self, raw: &[u8]) -> Caller {
        match std::str::from_utf8(raw) {
            Ok(text) => self.classify(text),
            Err(_) => Caller::Malformed,
        }
    }

    /// Decides how digits written without `+` become E.164. `head` holds the
    /// leading literal digits (all of them for a number, fewer for a pattern
    /// with wildcards), `total` the full digit count when it is known.
    pub(crate) fn shape(&self, head: &[u8], total: Option<usize>, plus: bool) -> Shape {
        let national = |skip, area| Shape {
            skip,
            country: true,
            area,
            cut: None,
        };
        if plus {
            return self.international(head, total, 0);
        }
        let intl = self.international_prefix.as_bytes();
        if !intl.is_empty() && begins_with(head, intl) {
            return self.international(head, total, intl.len());
        }
        let trunk = self.national_prefix.as_bytes();
        if !trunk.is_empty() && begins_with(head, trunk) {
            return national(trunk.len(), false);
        }
        let lengths = &self.national_number_lengths;
        let (Some(total), false) = (total, lengths.is_empty()) else {
            return national(0, false);
        };
        if lengths.contains(&total) {
            return national(0, false);
        }
        let cc = self.country_code.as_bytes();
        if !cc.is_empty() && begins_with(head, cc) {
            let intl = self.international(head, Some(total), 0);
            if intl.cut.is_some() || lengths.contains(&(total - cc.len())) {
                return intl;
            }
        }
        if !self.area_code.is_empty() && lengths.contains(&(total + self.area_code.len())) {
            return national(0, true);
        }
        national(0, false)
    }

    /// The shape of international digits that start after `skip` prefix
    /// digits. A trunk prefix right after the home country code is the
    /// written `+86 (0)170…` form: with a trunk prefix in the plan, the home
    /// country's national numbers never start with it, so it is dropped
    /// (when the length left is a national one, where lengths are known).
    fn international(&self, head: &[u8], total: Option<usize>, skip: usize) -> Shape {
        let keep = Shape {
            skip,
            country: false,
            area: false,
            cut: None,
        };
        let cc = self.country_code.as_bytes();
        let trunk = self.national_prefix.as_bytes();
        if cc.is_empty() || trunk.is_empty() {
            return keep;
        }
        let rest = &head[skip.min(head.len())..];
        if !begins_with(rest, cc) || !begins_with(&rest[cc.len()..], trunk) {
            return keep;
        }
        let dropped = skip + cc.len() + trunk.len();
        let lengths = &self.national_number_lengths;
        let national_left =
            lengths.is_empty() || total.map_or(true, |t| lengths.contains(&(t - dropped)));
        if !national_left {
            return keep;
        }
        Shape {
            cut: Some((skip + cc.len(), trunk.len())),
            ..keep
        }
    }

    /// Classifies a caller ID as received: a number (in E.164), anonymous or
    /// malformed. Never fails and never allocates.
    pub fn classify(&self, raw: &str) -> Caller {
        let text = trim_caller_id(raw);
        if text.is_empty() {
            return Caller::Anonymous;
        }
        if text.len() > MAX_INPUT {
            return Caller::Malformed;
        }
        // The common case, a bare number (`+8613800138000`, `013800138000`),
        // skips URI and separator handling.
        let (plus, bare) = match text.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if !bare.is_empty() && bare.len() <= MAX_INPUT && bare.bytes().all(|b| b.is_ascii_digit()) {
            return match self.assemble(bare.as_bytes(), plus) {
                Ok(n) => Caller::Number(n),
                Err(_) => Caller::Malformed,
            };
        }
        let user = uri_user_part(text);
        if user.is_empty() || is_anonymous_word(user) {
            return Caller::Anonymous;
        }
        let (encoded_plus, user) = percent_plus(user);
        let result = if encoded_plus {
            if user.starts_with('+') {
                return Caller::Malformed;
            }
            self.to_e164_plus(user)
        } else {
            self.to_e164(user)
        };
        match result {
            Ok(n) => Caller::Number(n),
            Err(_) => Caller::Malformed,
        }
    }

    /// Reads a number written in any accepted form as E.164, with the reason
    /// when it cannot.
    pub fn to_e164(&self, text: &str) -> Result<E164, NumberError> {
        self.read_number(text, false)
    }

    /// Like [`NumberPlan::to_e164`] for text known to follow a `+`.
    fn to_e164_plus(&self, text: &str) -> Result<E164, NumberError> {
        self.read_number(text, true)
    }

    fn read_number(&self, text: &str, mut plus: bool) -> Result<E164, NumberError> {
        let mut digits = [0u8; 40];
        let mut n = 0usize;
        for (i, c) in text.trim().char_indices() {
            match c {
                '0'..='9' => {
                    if n == digits.len() {
                        return Err(NumberError::TooLong);
                    }
                    digits[n] = c as u8;
                    n += 1;
                }
                '+' if i == 0 && !plus => plus = true,
                ' ' | '-' | '.' | '(' | ')' | '\t' => {}
                other => return Err(NumberError::NotADigit(other)),
            }
        }
        if n == 0 {
            return Err(NumberError::Empty);
        }
        self.assemble(&digits[..n], plus)
    }

    /// Turns the digits of a number into E.164, following the plan. The
    /// value is folded straight from the parts (country code, area code, the
    /// digits kept), with no intermediate text: this runs twice per call.
    /// `digits` are ASCII digits.
    fn assemble(&self, digits: &[u8], plus: bool) -> Result<E164, NumberError> {
        if digits.len() < MIN_DIGITS {
            return Err(NumberError::TooShort);
        }
        let shape = self.shape(digits, Some(digits.len()), plus);
        let country: &[u8] = if shape.country {
            self.country_code.as_bytes()
        } else {
            b""
        };
        let area: &[u8] = if shape.area {
            self.area_code.as_bytes()
        } else {
            b""
        };
        let (kept, after_cut) = shape.kept(digits);
        let len = country.len() + area.len() + kept.len() + after_cut.len();
        if len > MAX_E164_DIGITS {
            return Err(NumberError::TooLong);
        }
        if len < MIN_DIGITS {
            return Err(NumberError::TooShort);
        }
        let first = country.first().or(area.first()).or(kept.first());
        if first == Some(&b'0') {
            return Err(NumberError::LeadingZero);
        }
        // Only a plan built by hand with a non-digit code fails here; the
        // number's own digits were checked by the caller.
        let code = fold_digits(0, country)
            .and_then(|v| fold_digits(v, area))
            .ok_or(NumberError::Empty)?;
        let value = fold_checked_digits(fold_checked_digits(code, kept), after_cut);
        Ok(E164 {
            value,
            len: len as u8,
        })
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
        // The length of a prefix's numbers is open, so the plan's lengths
        // cannot tell 86… from a national number: write prefixes with + or 0.
        let shape = self.shape(digits.as_bytes(), None, plus);
        let mut full = String::new();
        if shape.country {
            full.push_str(&self.country_code);
        }
        if shape.area {
            full.push_str(&self.area_code);
        }
        let (kept, after_cut) = shape.kept(digits.as_bytes());
        for part in [kept, after_cut] {
            full.extend(part.iter().map(|&b| char::from(b)));
        }
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

/// A caller ID as received, safe to put on one line of a log or an fs_cli
/// answer: control characters (a newline that would forge a line of its own)
/// are escaped as `\n`, `\u{1b}`, …; anything else is shown as it is.
pub fn printable(raw: &str) -> std::borrow::Cow<'_, str> {
    if raw.chars().any(char::is_control) {
        std::borrow::Cow::Owned(raw.escape_debug().to_string())
    } else {
        std::borrow::Cow::Borrowed(raw)
    }
}

/// Whether `text` starts with `prefix`: the plan's prefixes are one to three
/// digits, compared in place rather than through a `memcmp` call.
#[inline]
fn begins_with(text: &[u8], prefix: &[u8]) -> bool {
    text.len() >= prefix.len() && text.iter().zip(prefix).all(|(a, b)| a == b)
}

/// `value` followed by the decimal `digits`, which are ASCII digits.
#[inline]
fn fold_checked_digits(value: u64, digits: &[u8]) -> u64 {
    digits
        .iter()
        .fold(value, |v, &b| v * 10 + u64::from(b.wrapping_sub(b'0')))
}

/// `value` followed by the decimal `digits`; `None` if one is not a digit.
fn fold_digits(mut value: u64, digits: &[u8]) -> Option<u64> {
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        value = value * 10 + u64::from(d);
    }
    Some(value)
}

/// `raw` without leading and trailing white space (Unicode's, as
/// `str::trim`), with no scan at all in the usual case of text that starts
/// and ends with a visible ASCII character.
fn trim_caller_id(raw: &str) -> &str {
    match (raw.as_bytes().first(), raw.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => raw,
        _ => raw.trim(),
    }
}

/// The user part of a `sip:`/`sips:`/`tel:` URI (or the text itself), without
/// URI parameters.
fn uri_user_part(text: &str) -> &str {
    let mut rest = text;
    // `"Name" <sip:…>` or `<sip:…>`: the URI is between the angle brackets.
    if let (Some(open), true) = (rest.rfind('<'), rest.ends_with('>')) {
        rest = &rest[open + 1..rest.len() - 1];
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

/// `%2B` is how some carriers write the `+` of a SIP URI's user part.
fn percent_plus(user: &str) -> (bool, &str) {
    match user.get(..3) {
        Some(head) if head.eq_ignore_ascii_case("%2b") => (true, &user[3..]),
        _ => (false, user),
    }
}

fn is_anonymous_word(user: &str) -> bool {
    ANONYMOUS_WORDS.iter().any(|w| user.eq_ignore_ascii_case(w))
}

#[cfg(test)]
pub(crate) mod tests {
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
            national_number_lengths: vec![10],
            area_code: String::new(),
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

    #[test]
    fn a_caller_id_is_shown_on_one_line() {
        assert_eq!(printable("+8613800138000"), "+8613800138000");
        assert_eq!(printable("Zoë 李"), "Zoë 李");
        assert_eq!(printable("1\n+OK allow"), "1\\n+OK allow");
        assert_eq!(printable("a\u{1b}[2J"), "a\\u{1b}[2J");
    }

    #[test]
    fn a_trunk_prefix_written_after_the_home_country_code_is_dropped() {
        let plan = cn();
        let want = e164("+8617012345678");
        for form in [
            "+86 (0)170 1234 5678",
            "+86017012345678",
            "0086017012345678",
            "86017012345678",
            "sip:+86017012345678@carrier.example",
        ] {
            assert_eq!(plan.classify(form), want, "form {form:?}");
        }
        // Patterns meet the same numbers.
        assert_eq!(plan.prefix_digits("+86(0)170").unwrap(), "86170");
        // Only the home country's trunk prefix, and only where the length
        // left is a national one: a 0 that is part of a foreign number stays.
        assert_eq!(plan.classify("+390612345678"), e164("+390612345678"));
        assert_eq!(plan.classify("+8601234"), e164("+8601234"));
        // A plan without a trunk prefix (as in Italy) keeps every 0.
        let it = NumberPlan {
            country_code: "39".into(),
            national_prefix: String::new(),
            international_prefix: "00".into(),
            national_number_lengths: vec![],
            area_code: String::new(),
        };
        assert_eq!(it.classify("+39 06 1234 5678"), e164("+390612345678"));
        assert_eq!(it.classify("06 1234 5678"), e164("+390612345678"));
    }

    #[test]
    fn the_country_code_without_plus_is_recognised_where_unambiguous() {
        let plan = cn();
        // 13 digits cannot be a national number, 86 + 11 digits can.
        assert_eq!(plan.classify("8613800138000"), e164("+8613800138000"));
        assert_eq!(plan.classify("86 138 0013 8000"), e164("+8613800138000"));
        assert_eq!(plan.classify("861012345678"), e164("+861012345678"));
        // 11 digits starting with 86 are a national number.
        assert_eq!(plan.classify("86123456789"), e164("+8686123456789"));
        // Without known lengths nothing is guessed: the digits are national.
        let no_lengths = NumberPlan {
            national_number_lengths: vec![],
            ..cn()
        };
        assert_eq!(
            no_lengths.classify("8613800138000").to_string(),
            "+868613800138000"
        );
    }

    #[test]
    fn local_numbers_get_the_home_area_code() {
        let beijing = NumberPlan {
            area_code: "10".into(),
            ..cn()
        };
        assert_eq!(beijing.classify("12345678"), e164("+861012345678"));
        assert_eq!(beijing.classify("8765-4321"), e164("+861087654321"));
        // Numbers already national or international are left alone.
        assert_eq!(beijing.classify("02512345678"), e164("+862512345678"));
        assert_eq!(beijing.classify("13800138000"), e164("+8613800138000"));
        // Without an area code a local number is only given the country code.
        assert_eq!(cn().classify("12345678"), e164("+8612345678"));
    }

    #[test]
    fn uri_forms_display_names_and_encoded_plus_are_read() {
        let plan = cn();
        let want = e164("+8613800138000");
        for form in [
            "\"Zhang San\" <sip:+8613800138000@192.0.2.1:5060;transport=udp>",
            "Zhang <sips:013800138000@carrier.example>",
            "sip:%2B8613800138000@carrier.example",
            "SIP:%2b8613800138000@carrier.example;user=phone",
            "tel:+86-138-0013-8000;phone-context=+86",
            "TEL:013800138000",
        ] {
            assert_eq!(plan.classify(form), want, "form {form:?}");
        }
        assert_eq!(plan.classify("sip:%2B+8613800138000@x"), Caller::Malformed);
        assert_eq!(
            plan.classify("\"x\" <sip:anonymous@anonymous.invalid>"),
            Caller::Anonymous
        );
        assert_eq!(plan.classify("<>"), Caller::Anonymous);
        assert_eq!(plan.classify("sip:@host"), Caller::Anonymous);
    }

    #[test]
    fn hostile_caller_ids_are_data() {
        let plan = cn();
        assert_eq!(plan.classify_bytes(b"+86\xff\xfe170"), Caller::Malformed);
        assert_eq!(plan.classify_bytes(b"\xc3"), Caller::Malformed);
        assert_eq!(
            plan.classify_bytes(b"+8613800138000"),
            e164("+8613800138000")
        );
        assert_eq!(plan.classify_bytes(b"138\x000138000"), Caller::Malformed);
        assert_eq!(plan.classify("\u{0}"), Caller::Malformed);
        for meta in [
            "^.*$",
            "(1|2)+",
            "[0-9]{11}",
            "\\d+",
            "+86170*",
            "170?",
            "$1",
            "${caller}",
        ] {
            assert_eq!(plan.classify(meta), Caller::Malformed, "{meta:?}");
        }
        let huge_digits = "1".repeat(10_240);
        assert_eq!(plan.classify(&huge_digits), Caller::Malformed);
        let huge_sip = format!("sip:{}@host", "9".repeat(10_240));
        assert_eq!(plan.classify(&huge_sip), Caller::Malformed);
        let huge_spaces = format!("{}13800138000", " ".repeat(10_240));
        assert_eq!(plan.classify(&huge_spaces), e164("+8613800138000"));
        let huge_separators = format!("138{}00138000", "-".repeat(10_240));
        assert_eq!(plan.classify(&huge_separators), Caller::Malformed);
    }

    /// A small deterministic generator for property tests (xorshift64*).
    pub(crate) struct Gen(pub(crate) u64);

    impl Gen {
        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        pub(crate) fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    fn property_every_form_of_a_random_mobile_number_meets_the_same_e164() {
        let plan = cn();
        let mut g = Gen(0x9E37_79B9_7F4A_7C15);
        for _ in 0..2_000 {
            let national = format!("1{}{:09}", 3 + g.below(7), g.below(1_000_000_000));
            let want = e164(&format!("+86{national}"));
            let spaced = format!("{} {} {}", &national[..3], &national[3..7], &national[7..]);
            let forms = [
                format!("+86{national}"),
                format!("0086{national}"),
                format!("0{national}"),
                national.clone(),
                format!("86{national}"),
                format!("+86 {spaced}"),
                format!(
                    "(0{}) {}-{}",
                    &national[..3],
                    &national[3..7],
                    &national[7..]
                ),
                format!("tel:+86-{national}"),
                format!("sip:%2B86{national}@gw.example;user=phone"),
                format!("\"caller\" <sip:0{national}@gw.example>"),
            ];
            for form in &forms {
                assert_eq!(plan.classify(form), want, "form {form:?}");
            }
            // The E.164 text is itself a form that reads back to the number.
            assert_eq!(plan.classify(&want.to_string()), want);
        }
    }

    #[test]
    fn property_random_bytes_never_panic_and_numbers_are_valid_e164() {
        let plan = cn();
        let mut g = Gen(0xDEAD_BEEF_CAFE_F00D);
        let alphabet = b"0123456789+-.() \t;@<>:%2Bsiptel\x00\xff\xc3*?[]^$\\|{}anonymous";
        for _ in 0..20_000 {
            let len = g.below(40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| alphabet[g.below(alphabet.len() as u64) as usize])
                .collect();
            if let Caller::Number(n) = plan.classify_bytes(&bytes) {
                let digits = n.digits();
                assert!((MIN_DIGITS..=MAX_E164_DIGITS).contains(&digits.as_str().len()));
                assert!(!digits.as_str().starts_with('0'));
                assert!(bytes.iter().any(u8::is_ascii_digit), "{bytes:?}");
            }
        }
    }
}
