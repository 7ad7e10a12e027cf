//! Rule conditions on text: a regex on the caller's name or on a channel
//! variable. The text is always data: it is matched, never compiled.

use std::fmt;

use regex::{Regex, RegexBuilder};

use crate::pattern::REGEX_SIZE_LIMIT;

/// A compiled regex that compares by its source (so rules can be compared).
#[derive(Clone)]
pub struct TextRegex(Regex);

impl TextRegex {
    /// Compiles a regex, with a size limit so a config cannot exhaust memory.
    pub fn new(source: &str) -> Result<TextRegex, String> {
        RegexBuilder::new(source)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map(TextRegex)
            .map_err(|e| format!("regex {source:?}: {e}"))
    }

    /// Whether the regex matches anywhere in `text` (anchor with `^…$`).
    pub fn is_match(&self, text: &str) -> bool {
        self.0.is_match(text)
    }

    /// The source as written.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl PartialEq for TextRegex {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for TextRegex {}

impl fmt::Debug for TextRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}/", self.as_str())
    }
}

/// A test of one channel variable: its value (empty when unset) must match
/// the regex, or, for a negated test, must not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariableTest {
    /// The channel variable's name (`sip_user_agent`).
    pub name: String,
    /// The regex its value is matched with.
    pub regex: TextRegex,
    /// True for `variables_not`: the value must not match.
    pub negate: bool,
}

impl VariableTest {
    /// Whether the value (`""` for an unset variable) passes the test.
    pub fn holds(&self, value: &str) -> bool {
        self.regex.is_match(value) != self.negate
    }
}

/// Whether a name can be a FreeSWITCH channel variable name.
pub fn valid_variable_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unset_variable_is_empty_text() {
        let robot = VariableTest {
            name: "sip_user_agent".into(),
            regex: TextRegex::new("(?i)friendly-scanner|sipvicious").unwrap(),
            negate: false,
        };
        assert!(robot.holds("friendly-scanner 1.0"));
        assert!(!robot.holds(""));
        let unverified = VariableTest {
            name: "sip_verstat".into(),
            regex: TextRegex::new("^TN-Validation-Passed$").unwrap(),
            negate: true,
        };
        assert!(unverified.holds(""));
        assert!(unverified.holds("TN-Validation-Failed"));
        assert!(!unverified.holds("TN-Validation-Passed"));
    }

    #[test]
    fn hostile_text_is_only_matched() {
        let r = TextRegex::new("^Robo").unwrap();
        for text in [
            "(.*)+$",
            "\u{0}Robo",
            "%s%n",
            "\\",
            "[",
            &"a".repeat(10_000),
        ] {
            assert!(!r.is_match(text));
        }
        assert!(TextRegex::new("(unclosed")
            .unwrap_err()
            .contains("regex \"(unclosed\""));
        assert!(TextRegex::new(r"\w{1000}\w{1000}\w{1000}").is_err());
    }

    #[test]
    fn variable_names_are_checked() {
        assert!(valid_variable_name("sip_h_P-Asserted-Identity"));
        assert!(valid_variable_name("sip_user_agent"));
        assert!(!valid_variable_name(""));
        assert!(!valid_variable_name("a b"));
        assert!(!valid_variable_name("${x}"));
    }
}
