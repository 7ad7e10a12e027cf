//! Number patterns as written in lists: what each entry means.
//!
//! Accepted forms (more kinds slot in as new variants):
//! - an exact number in any form a caller ID can take: `+8613800138000`,
//!   `008613800138000`, `013800138000`;
//! - a prefix, a number followed by `*`: `+86170*` matches every number
//!   starting with +86 170.

use std::fmt;

use crate::numbers::{NumberError, NumberPlan, E164};

/// One entry of a list, normalised with the user's numbering plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// Exactly this number.
    Exact(E164),
    /// Every number whose E.164 digits start with these digits.
    Prefix(String),
}

/// Why a list entry is not a valid pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PatternError {
    /// The number part is not a number.
    Number { text: String, why: NumberError },
    /// A `*` anywhere but at the end.
    MisplacedStar(String),
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
        }
    }
}

impl std::error::Error for PatternError {}

impl Pattern {
    /// Parses one list entry.
    pub fn parse(text: &str, plan: &NumberPlan) -> Result<Pattern, PatternError> {
        let text = text.trim();
        let number_error = |why| PatternError::Number {
            text: text.to_string(),
            why,
        };
        match text.find('*') {
            Some(pos) if pos + 1 == text.len() => {
                let digits = plan.prefix_digits(&text[..pos]).map_err(number_error)?;
                Ok(Pattern::Prefix(digits))
            }
            Some(_) => Err(PatternError::MisplacedStar(text.to_string())),
            None => plan.to_e164(text).map(Pattern::Exact).map_err(number_error),
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pattern::Exact(n) => write!(f, "{n}"),
            Pattern::Prefix(d) => write!(f, "+{d}*"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_prefix_entries_are_normalised() {
        let plan = NumberPlan::default();
        assert_eq!(
            Pattern::parse("013800138000", &plan).unwrap().to_string(),
            "+8613800138000"
        );
        assert_eq!(
            Pattern::parse("0170*", &plan).unwrap(),
            Pattern::Prefix("86170".into())
        );
        assert_eq!(
            Pattern::parse("+1 202*", &plan).unwrap(),
            Pattern::Prefix("1202".into())
        );
    }

    #[test]
    fn bad_entries_say_what_is_wrong() {
        let plan = NumberPlan::default();
        let err = Pattern::parse("+86*170", &plan).unwrap_err();
        assert!(
            err.to_string().contains("'*' may only end a prefix"),
            "{err}"
        );
        let err = Pattern::parse("call-me", &plan).unwrap_err();
        assert!(err.to_string().contains("is not a digit"), "{err}");
    }
}
