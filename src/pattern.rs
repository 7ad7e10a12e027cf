//! Number patterns as written in lists: what each entry means.
//!
//! Every entry is normalised with the user's numbering plan, exactly as a
//! caller ID is, so `+8617012345678`, `008617012345678` and `017012345678`
//! meet the same rule. The kinds:
//!
//! | written                           | kind     | matches                                        |
//! |-----------------------------------|----------|------------------------------------------------|
//! | `+8613800138000`, `013800138000`  | exact    | that number                                    |
//! | `+86170*`, `0170*`                | prefix   | every number starting with +86 170             |
//! | `+86138001380XX`                  | wildcard | the same length, `X` any digit                 |
//! | `+86 138 [0-4]N Z*`               | wildcard | classes, open-ended with a final `*`           |
//! | `+8613800138000..+8613800138999`  | range    | every number between the two, both included    |
//! | `/^\+86(170|171)\d{8}$/`          | regex    | the normalised number (`+86…`) as text         |
//!
//! Wildcard classes follow the dialplan convention: `X` is any digit, `Z` is
//! 1-9, `N` is 2-9, `[…]` lists digits and digit ranges (`[137]`, `[1-5]`,
//! `[0-35-9]`). Separators (space, `-`, `.`, `(`, `)`) are ignored outside
//! brackets.

use std::fmt;

use crate::numbers::{NumberError, NumberPlan, E164, MAX_E164_DIGITS, MIN_DIGITS};

/// All ten digits as a class.
pub const ANY_DIGIT: u16 = 0x3FF;

/// One entry of a list, normalised with the user's numbering plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// Exactly this number.
    Exact(E164),
    /// Every number whose E.164 digits start with these digits.
    Prefix(String),
    /// Digit classes, position by position.
    Wildcard(DigitPattern),
    /// Every number from the first to the second, both included (same length).
    Range(E164, E164),
    /// A regular expression matched against the normalised number (`+…`).
    Regex(String),
}

/// The E.164 digit positions of a wildcard pattern, each a set of digits
/// (bit `d` set: digit `d` allowed).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DigitPattern {
    /// One class per position.
    pub classes: Vec<u16>,
    /// True when a final `*` lets any digits follow.
    pub open_ended: bool,
}

impl DigitPattern {
    /// Whether every position is a single digit.
    pub fn is_literal(&self) -> bool {
        self.classes.iter().all(|c| c.count_ones() == 1)
    }
}

/// Why a list entry is not a valid pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PatternError {
    /// The number part is not a number.
    Number {
        /// The entry.
        text: String,
        /// What is wrong with it.
        why: NumberError,
    },
    /// A `*` anywhere but at the end.
    MisplacedStar(String),
    /// A `[` class that is not closed, empty, or holds something else than digits.
    BadClass(String),
    /// A wildcard pattern that does not start with a digit once normalised.
    WildcardStart(String),
    /// The two ends of a range differ in length or are in the wrong order.
    BadRange {
        /// The entry.
        text: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A regex that does not compile.
    Regex {
        /// The entry.
        text: String,
        /// The regex library's message.
        why: String,
    },
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatternError::Number { text, why } => {
                write!(f, "pattern {text:?} is not a number: {why}")
            }
            PatternError::MisplacedStar(text) => write!(
                f,
                "pattern {text:?}: '*' may only end a prefix (as in +86170*)"
            ),
            PatternError::BadClass(text) => write!(
                f,
                "pattern {text:?}: a digit class is written [0-9], [137] or [1-35-9]"
            ),
            PatternError::WildcardStart(text) => write!(
                f,
                "pattern {text:?}: the country code of a wildcard pattern must be written out (as in +86138XXXX1234)"
            ),
            PatternError::BadRange { text, why } => write!(f, "range {text:?}: {why}"),
            PatternError::Regex { text, why } => write!(f, "regex {text:?}: {why}"),
        }
    }
}

impl std::error::Error for PatternError {}

/// Longest regex source accepted in a list (a guard against pasted garbage).
const MAX_REGEX_LEN: usize = 1024;

/// Compiled size limit of one regex (the `regex` crate's own default is 10 MiB).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl Pattern {
    /// Parses one list entry.
    pub fn parse(text: &str, plan: &NumberPlan) -> Result<Pattern, PatternError> {
        let text = text.trim();
        if let Some(source) = text
            .strip_prefix('/')
            .and_then(|rest| rest.strip_suffix('/'))
        {
            return parse_regex(text, source);
        }
        if let Some((from, to)) = text.split_once("..") {
            return parse_range(text, from, to, plan);
        }
        let number_error = |why| PatternError::Number {
            text: text.to_string(),
            why,
        };
        let (plus, classes, star) = tokenize(text)?;
        if classes.is_empty() {
            return Err(number_error(NumberError::Empty));
        }
        let literal = classes.iter().all(|c| c.count_ones() == 1);
        if literal && !star {
            return plan.to_e164(text).map(Pattern::Exact).map_err(number_error);
        }
        if literal {
            let body = text.strip_suffix('*').unwrap_or(text);
            let digits = plan.prefix_digits(body).map_err(number_error)?;
            return Ok(Pattern::Prefix(digits));
        }
        let classes = normalise_classes(plan, plus, &classes, star).map_err(|e| match e {
            Normalise::Number(why) => number_error(why),
            Normalise::Start => PatternError::WildcardStart(text.to_string()),
        })?;
        Ok(Pattern::Wildcard(DigitPattern {
            classes,
            open_ended: star,
        }))
    }
}

fn parse_regex(text: &str, source: &str) -> Result<Pattern, PatternError> {
    let error = |why: String| PatternError::Regex {
        text: text.to_string(),
        why,
    };
    if source.is_empty() {
        return Err(error("empty regex".into()));
    }
    if source.len() > MAX_REGEX_LEN {
        return Err(error(format!("longer than {MAX_REGEX_LEN} characters")));
    }
    // Compiled as the set compiles it: the text is ASCII ("+" and digits), so
    // Unicode classes buy nothing and make the automata much larger.
    regex::bytes::RegexBuilder::new(source)
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| error(e.to_string()))?;
    Ok(Pattern::Regex(source.to_string()))
}

fn parse_range(
    text: &str,
    from: &str,
    to: &str,
    plan: &NumberPlan,
) -> Result<Pattern, PatternError> {
    let end = |side: &str| {
        plan.to_e164(side).map_err(|why| PatternError::Number {
            text: side.trim().to_string(),
            why,
        })
    };
    let (low, high) = (end(from)?, end(to)?);
    let bad = |why| PatternError::BadRange {
        text: text.to_string(),
        why,
    };
    if low.len() != high.len() {
        return Err(bad("both ends must have the same number of digits"));
    }
    if low > high {
        return Err(bad("the first number must not be greater than the second"));
    }
    Ok(Pattern::Range(low, high))
}

/// Splits wildcard text into an optional `+`, digit classes and a final `*`.
fn tokenize(text: &str) -> Result<(bool, Vec<u16>, bool), PatternError> {
    let mut classes = Vec::new();
    let mut plus = false;
    let mut star = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if star {
            return Err(PatternError::MisplacedStar(text.to_string()));
        }
        match c {
            '0'..='9' => classes.push(1u16 << (c as u8 - b'0')),
            'X' | 'x' => classes.push(ANY_DIGIT),
            'Z' | 'z' => classes.push(ANY_DIGIT & !1),
            'N' | 'n' => classes.push(ANY_DIGIT & !3),
            '[' => {
                let mut class = 0u16;
                let mut prev: Option<u8> = None;
                let mut closed = false;
                while let Some((_, c)) = chars.next() {
                    match c {
                        ']' => {
                            closed = true;
                            break;
                        }
                        '0'..='9' => {
                            let d = c as u8 - b'0';
                            class |= 1 << d;
                            prev = Some(d);
                        }
                        '-' => {
                            let (Some(low), Some((_, hi @ '0'..='9'))) = (prev, chars.next())
                            else {
                                return Err(PatternError::BadClass(text.to_string()));
                            };
                            let high = hi as u8 - b'0';
                            if high < low {
                                return Err(PatternError::BadClass(text.to_string()));
                            }
                            for d in low..=high {
                                class |= 1 << d;
                            }
                            prev = None;
                        }
                        _ => return Err(PatternError::BadClass(text.to_string())),
                    }
                }
                if !closed || class == 0 {
                    return Err(PatternError::BadClass(text.to_string()));
                }
                classes.push(class);
            }
            '+' if i == 0 => plus = true,
            '*' => star = true,
            ' ' | '-' | '.' | '(' | ')' | '\t' => {}
            other => {
                return Err(PatternError::Number {
                    text: text.to_string(),
                    why: NumberError::NotADigit(other),
                })
            }
        }
    }
    Ok((plus, classes, star))
}

enum Normalise {
    Number(NumberError),
    Start,
}

/// Applies the numbering plan to digit classes: the leading literal digits
/// decide (as they would for a number) which prefixes are dropped or added.
fn normalise_classes(
    plan: &NumberPlan,
    plus: bool,
    classes: &[u16],
    open_ended: bool,
) -> Result<Vec<u16>, Normalise> {
    let head: Vec<u8> = classes
        .iter()
        .take_while(|c| c.count_ones() == 1)
        .map(|c| b'0' + c.trailing_zeros() as u8)
        .collect();
    let total = (!open_ended).then_some(classes.len());
    let shape = plan.shape(&head, total, plus);
    let literal = |digits: &str| {
        digits
            .bytes()
            .map(|b| 1u16 << (b - b'0'))
            .collect::<Vec<_>>()
    };
    let mut out = Vec::with_capacity(classes.len() + 4);
    if shape.country {
        out.extend(literal(&plan.country_code));
    }
    if shape.area {
        out.extend(literal(&plan.area_code));
    }
    let (kept, after_cut) = shape.kept(classes);
    out.extend_from_slice(kept);
    out.extend_from_slice(after_cut);
    if out.len() > MAX_E164_DIGITS {
        return Err(Normalise::Number(NumberError::TooLong));
    }
    if !open_ended && out.len() < MIN_DIGITS {
        return Err(Normalise::Number(NumberError::TooShort));
    }
    match out.first() {
        Some(&first) if first.count_ones() == 1 && first != 1 => Ok(out),
        Some(&1) => Err(Normalise::Number(NumberError::LeadingZero)),
        _ => Err(Normalise::Start),
    }
}

/// Writes one digit class the way it is written in a pattern.
pub fn write_class(f: &mut impl fmt::Write, class: u16) -> fmt::Result {
    match class {
        ANY_DIGIT => f.write_char('X'),
        0x3FE => f.write_char('Z'),
        0x3FC => f.write_char('N'),
        c if c.count_ones() == 1 => f.write_char((b'0' + c.trailing_zeros() as u8) as char),
        c => {
            f.write_char('[')?;
            for d in 0..10u8 {
                if c & (1 << d) != 0 {
                    f.write_char((b'0' + d) as char)?;
                }
            }
            f.write_char(']')
        }
    }
}

impl fmt::Display for DigitPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("+")?;
        for &c in &self.classes {
            write_class(f, c)?;
        }
        if self.open_ended {
            f.write_str("*")?;
        }
        Ok(())
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pattern::Exact(n) => write!(f, "{n}"),
            Pattern::Prefix(d) => write!(f, "+{d}*"),
            Pattern::Wildcard(w) => write!(f, "{w}"),
            Pattern::Range(low, high) => write!(f, "{low}..{high}"),
            Pattern::Regex(source) => write!(f, "/{source}/"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Pattern, PatternError> {
        Pattern::parse(text, &NumberPlan::default())
    }

    fn shown(text: &str) -> String {
        parse(text).unwrap().to_string()
    }

    #[test]
    fn exact_and_prefix_entries_are_normalised() {
        assert_eq!(shown("013800138000"), "+8613800138000");
        assert_eq!(shown("8613800138000"), "+8613800138000");
        assert_eq!(parse("0170*").unwrap(), Pattern::Prefix("86170".into()));
        assert_eq!(parse("+1 202*").unwrap(), Pattern::Prefix("1202".into()));
    }

    #[test]
    fn wildcards_are_normalised_and_keep_their_classes() {
        assert_eq!(shown("+86138001380XX"), "+86138001380XX");
        assert_eq!(shown("0138 0013 80xx"), "+86138001380XX");
        assert_eq!(shown("00861380013[0-4]NZ"), "+861380013[01234]NZ");
        assert_eq!(shown("+86 170 XXXX*"), "+86170XXXX*");
        assert_eq!(shown("138[137]XXXXXXX"), "+86138[137]XXXXXXX");
        let Pattern::Wildcard(w) = parse("+86138001380X[5-9]").unwrap() else {
            panic!("not a wildcard");
        };
        assert_eq!(w.classes.len(), 13);
        assert_eq!(w.classes[12], 0b11_1110_0000);
        assert!(!w.open_ended);
    }

    #[test]
    fn ranges_are_normalised_and_checked() {
        assert_eq!(
            shown("013800138000..013800138999"),
            "+8613800138000..+8613800138999"
        );
        assert_eq!(
            shown("+8613800138000 .. 008613800138000"),
            "+8613800138000..+8613800138000"
        );
        let err = parse("+8613800138999..+8613800138000")
            .unwrap_err()
            .to_string();
        assert!(err.contains("must not be greater"), "{err}");
        let err = parse("+8613800138000..+861380013800")
            .unwrap_err()
            .to_string();
        assert!(err.contains("same number of digits"), "{err}");
        let err = parse("+86138..abc").unwrap_err().to_string();
        assert!(err.contains("is not a digit"), "{err}");
    }

    #[test]
    fn regexes_are_checked_when_read() {
        assert_eq!(
            parse(r"/^\+86170\d{8}$/").unwrap(),
            Pattern::Regex(r"^\+86170\d{8}$".into())
        );
        let err = parse("/^(+86/").unwrap_err().to_string();
        assert!(err.starts_with("regex \"/^(+86/\": "), "{err}");
        assert!(parse("//").unwrap_err().to_string().contains("empty regex"));
        let long = format!("/{}/", "1".repeat(2000));
        assert!(parse(&long)
            .unwrap_err()
            .to_string()
            .contains("longer than"));
        // A regex too big once compiled is refused, not built.
        assert!(parse(r"/((\d{100}){100}){10}/").is_err());
    }

    #[test]
    fn bad_entries_say_what_is_wrong() {
        let err = parse("+86*170").unwrap_err();
        assert!(
            err.to_string().contains("'*' may only end a prefix"),
            "{err}"
        );
        let err = parse("call-me").unwrap_err();
        assert!(err.to_string().contains("is not a digit"), "{err}");
        for bad in [
            "+86[1-",
            "+86[]12345678",
            "+86[a]1234",
            "+86[5-1]123",
            "+86[-3]1",
        ] {
            let err = parse(bad).unwrap_err().to_string();
            assert!(err.contains("a digit class is written"), "{bad}: {err}");
        }
        let err = parse("+X86123").unwrap_err().to_string();
        assert!(err.contains("country code of a wildcard"), "{err}");
        let err = parse("+0X86123").unwrap_err().to_string();
        assert!(err.contains("cannot start with 0"), "{err}");
        let err = parse("+86138XXXXXXXXXXXX").unwrap_err().to_string();
        assert!(err.contains("more than 15 digits"), "{err}");
        assert!(parse("").is_err());
        assert!(parse("*").is_err());
    }

    #[test]
    fn regex_metacharacters_outside_slashes_are_not_patterns() {
        for text in ["^\\+86.*$", "(170|171)*", "170?", "\\d{11}"] {
            assert!(parse(text).is_err(), "{text}");
        }
    }
}
