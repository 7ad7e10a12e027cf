//! A compiled set of patterns, built once per config for fast lookups:
//! exact numbers in a hash set of integers, ranges sorted for a binary
//! search, prefixes and wildcards in one digit trie, and all regexes of the
//! set in one `RegexSet`. A lookup tries them in that order, cheapest first.

mod digit_trie;
mod exact;
mod ranges;

use std::fmt;

use regex::bytes::{RegexSet, RegexSetBuilder};

use crate::numbers::{E164, MAX_E164_DIGITS};
use crate::pattern::{write_class, Pattern, REGEX_SIZE_LIMIT};
use digit_trie::DigitTrie;
pub use digit_trie::TriePath;
use exact::ExactSet;
use ranges::RangeSet;

/// Which pattern of a set matched a number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetMatch {
    /// The number itself is in the set.
    Exact,
    /// A prefix of this many digits matched.
    Prefix(usize),
    /// A wildcard pattern matched (the pattern, as the trie holds it).
    Wildcard(TriePath),
    /// The number lies in this range (merged with overlapping ones).
    Range(u64, u64),
    /// The regex with this index in the set matched.
    Regex(usize),
}

/// Patterns compiled for lookup.
#[derive(Default)]
pub struct NumberSet {
    exact: ExactSet,
    ranges: RangeSet,
    trie: DigitTrie,
    regex_sources: Vec<String>,
    regexes: Option<RegexSet>,
}

impl fmt::Debug for NumberSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NumberSet")
            .field("exact", &self.exact.len())
            .field("ranges", &self.ranges.len())
            .field("trie_patterns", &self.trie.len())
            .field("regexes", &self.regex_sources.len())
            .finish()
    }
}

/// What a set is made of, for status output and memory figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetStats {
    /// Distinct exact numbers.
    pub exact: usize,
    /// Ranges after merging.
    pub ranges: usize,
    /// Distinct prefixes and wildcard patterns.
    pub trie_patterns: usize,
    /// Regexes.
    pub regexes: usize,
    /// Heap bytes of the exact-number table.
    pub exact_bytes: usize,
    /// Heap bytes of ranges and trie (regexes not counted).
    pub other_bytes: usize,
}

impl NumberSet {
    /// Compiles patterns into a set. Regexes are compiled together once.
    pub fn build<'a>(patterns: impl IntoIterator<Item = &'a Pattern>) -> NumberSet {
        let patterns = patterns.into_iter();
        let mut set = NumberSet {
            exact: ExactSet::with_capacity(patterns.size_hint().0),
            ..NumberSet::default()
        };
        for p in patterns {
            set.add(p);
        }
        set.seal();
        set
    }

    /// Adds one pattern (a regex recompiles the set's regexes: for runtime
    /// additions, not for building from a config).
    pub fn insert(&mut self, pattern: &Pattern) {
        self.add(pattern);
        self.seal();
    }

    fn add(&mut self, pattern: &Pattern) {
        match pattern {
            Pattern::Exact(n) => self.exact.insert(n.value()),
            Pattern::Prefix(digits) => {
                let classes: Vec<u16> = digits.bytes().map(|b| 1 << (b - b'0')).collect();
                self.trie.insert(&classes, true);
            }
            Pattern::Wildcard(w) => self.trie.insert(&w.classes, w.open_ended),
            Pattern::Range(low, high) => self.ranges.insert(low.value(), high.value()),
            Pattern::Regex(source) => {
                if !self.regex_sources.contains(source) {
                    self.regex_sources.push(source.clone());
                    self.regexes = None;
                }
            }
        }
    }

    fn seal(&mut self) {
        self.exact.seal();
        self.ranges.seal();
        self.trie.shrink_to_fit();
        if self.regexes.is_none() && !self.regex_sources.is_empty() {
            // Each source compiled on its own, with these options, when the
            // config was read: only the size limit can refuse the set, and a
            // set the sum of their sizes allows is then built without one,
            // so no regex is ever left out.
            let build = |size_limit: usize| {
                RegexSetBuilder::new(&self.regex_sources)
                    .unicode(false)
                    .size_limit(size_limit)
                    .dfa_size_limit(8 << 20)
                    .build()
            };
            self.regexes = build(REGEX_SIZE_LIMIT.saturating_mul(self.regex_sources.len()))
                .or_else(|_| build(usize::MAX))
                .ok();
        }
    }

    /// How the number matches the set, if it does. Exact entries win, then
    /// ranges, then prefixes and wildcards, then regexes.
    pub fn find(&self, number: E164) -> Option<SetMatch> {
        if self.exact.contains(number.value()) {
            return Some(SetMatch::Exact);
        }
        if let Some((low, high)) = self.ranges.find(number.value()) {
            return Some(SetMatch::Range(low, high));
        }
        if self.trie.len() == 0 && self.regexes.is_none() {
            return None;
        }
        let digits = number.digits();
        if let Some(path) = self.trie.find(digits.as_bytes()) {
            return Some(if path.is_literal() && path.open_ended() {
                SetMatch::Prefix(path.classes().len())
            } else {
                SetMatch::Wildcard(path)
            });
        }
        let regexes = self.regexes.as_ref()?;
        let mut text = [0u8; MAX_E164_DIGITS + 1];
        text[0] = b'+';
        let len = digits.as_bytes().len();
        text[1..=len].copy_from_slice(digits.as_bytes());
        let text = &text[..=len];
        if !regexes.is_match(text) {
            return None;
        }
        regexes.matches(text).iter().next().map(SetMatch::Regex)
    }

    /// The source of the regex a [`SetMatch::Regex`] names.
    pub fn regex_source(&self, index: usize) -> &str {
        self.regex_sources.get(index).map_or("", String::as_str)
    }

    /// Number of entries (distinct numbers, ranges, prefixes/wildcards, regexes).
    pub fn len(&self) -> usize {
        self.exact.len() + self.ranges.len() + self.trie.len() + self.regex_sources.len()
    }

    /// True when the set has no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What the set holds and how much memory it takes.
    pub fn stats(&self) -> SetStats {
        SetStats {
            exact: self.exact.len(),
            ranges: self.ranges.len(),
            trie_patterns: self.trie.len(),
            regexes: self.regex_sources.len(),
            exact_bytes: self.exact.heap_bytes(),
            other_bytes: self.ranges.heap_bytes() + self.trie.heap_bytes(),
        }
    }

    /// Describes a match in words, for explanations.
    pub fn describe(&self, number: E164, found: &SetMatch) -> String {
        match found {
            SetMatch::Exact => format!("number {number}"),
            SetMatch::Prefix(n) => format!("prefix +{}*", &number.digits().as_str()[..*n]),
            SetMatch::Wildcard(path) => {
                let mut text = String::from("pattern +");
                for &c in path.classes() {
                    let _ = write_class(&mut text, c);
                }
                if path.open_ended() {
                    text.push('*');
                }
                text
            }
            SetMatch::Range(low, high) => format!("range +{low}..+{high}"),
            SetMatch::Regex(i) => format!("regex /{}/", self.regex_source(*i)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numbers::NumberPlan;

    fn set(entries: &[&str]) -> NumberSet {
        let plan = NumberPlan::default();
        let patterns: Vec<Pattern> = entries
            .iter()
            .map(|e| Pattern::parse(e, &plan).unwrap())
            .collect();
        NumberSet::build(&patterns)
    }

    fn num(s: &str) -> E164 {
        NumberPlan::default().to_e164(s).unwrap()
    }

    fn described(s: &NumberSet, n: &str) -> Option<String> {
        let n = num(n);
        s.find(n).map(|m| s.describe(n, &m))
    }

    #[test]
    fn exact_numbers_match_only_themselves() {
        let s = set(&["+8613800138000"]);
        assert_eq!(s.find(num("013800138000")), Some(SetMatch::Exact));
        assert_eq!(s.find(num("013800138001")), None);
        assert_eq!(s.find(num("+861380013800")), None);
        assert_eq!(s.find(num("+86138001380000")), None);
    }

    #[test]
    fn prefixes_match_every_number_below_them() {
        let s = set(&["+86170*", "+8616*"]);
        assert_eq!(s.find(num("17012345678")), Some(SetMatch::Prefix(5)));
        assert_eq!(s.find(num("16512345678")), Some(SetMatch::Prefix(4)));
        assert_eq!(s.find(num("17112345678")), None);
        assert_eq!(s.find(num("+12025550123")), None);
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn wildcards_match_by_position_and_length() {
        let s = set(&["+86138001380XX", "+86139[0-4]N*"]);
        assert_eq!(
            described(&s, "+8613800138042").as_deref(),
            Some("pattern +86138001380XX")
        );
        assert_eq!(s.find(num("+8613800138142")), None);
        // Fixed length: one digit more or less is no match.
        assert_eq!(s.find(num("+861380013804")), None);
        assert_eq!(s.find(num("+86138001380421")), None);
        assert_eq!(
            described(&s, "+8613942123456").as_deref(),
            Some("pattern +86139[01234]N*")
        );
        assert_eq!(s.find(num("+8613951123456")), None);
        assert_eq!(s.find(num("+8613941123456")), None);
    }

    #[test]
    fn ranges_include_both_ends_and_merge() {
        let s = set(&[
            "+8613800138000..+8613800138099",
            "+8613800138050..+8613800138199",
            "+8613800139000..+8613800139000",
        ]);
        for hit in [
            "+8613800138000",
            "+8613800138100",
            "+8613800138199",
            "+8613800139000",
        ] {
            assert!(s.find(num(hit)).is_some(), "{hit}");
        }
        for miss in [
            "+8613800137999",
            "+8613800138200",
            "+8613800138999",
            "+8613800139001",
        ] {
            assert!(s.find(num(miss)).is_none(), "{miss}");
        }
        assert_eq!(
            described(&s, "+8613800138150").as_deref(),
            Some("range +8613800138000..+8613800138199")
        );
    }

    #[test]
    fn regexes_see_the_normalised_number_with_plus() {
        let s = set(&[r"/^\+86170\d{8}$/", r"/9999$/"]);
        assert_eq!(
            described(&s, "017012345678").as_deref(),
            Some(r"regex /^\+86170\d{8}$/")
        );
        assert_eq!(
            described(&s, "+12025559999").as_deref(),
            Some("regex /9999$/")
        );
        assert_eq!(s.find(num("+8617112345678")), None);
    }

    #[test]
    fn exact_entries_win_then_ranges_then_prefixes() {
        let s = set(&[
            "+86170*",
            "+8617012345678",
            "+8617012345600..+8617012345699",
        ]);
        assert_eq!(s.find(num("+8617012345678")), Some(SetMatch::Exact));
        assert!(matches!(
            s.find(num("+8617012345677")),
            Some(SetMatch::Range(..))
        ));
        assert_eq!(s.find(num("+8617012345777")), Some(SetMatch::Prefix(5)));
    }

    #[test]
    fn duplicate_entries_count_once() {
        let s = set(&[
            "+86170*",
            "0170*",
            "13800138000",
            "+8613800138000",
            "/1/",
            "/1/",
        ]);
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn runtime_inserts_take_effect() {
        let mut s = set(&[]);
        assert!(s.is_empty());
        s.insert(&Pattern::Regex("^\\+1".into()));
        s.insert(&Pattern::Prefix("44".into()));
        assert_eq!(s.find(num("+12025550123")), Some(SetMatch::Regex(0)));
        assert_eq!(s.find(num("+442012345678")), Some(SetMatch::Prefix(2)));
    }

    #[test]
    fn property_a_set_agrees_with_a_plain_scan_of_its_patterns() {
        use crate::numbers::tests::Gen;
        let mut g = Gen(0x1234_5678_9ABC_DEF1);
        let plan = NumberPlan::default();
        let mut texts = Vec::new();
        for _ in 0..300 {
            let base = format!("+86{}{:09}", 13 + g.below(6), g.below(1_000_000_000));
            texts.push(match g.below(4) {
                0 => base.clone(),
                1 => format!("{}*", &base[..5 + g.below(6) as usize]),
                2 => format!("{}XX", &base[..base.len() - 2]),
                _ => {
                    let low: u64 = base[1..].parse().unwrap();
                    format!("{base}..+{}", low + g.below(500))
                }
            });
        }
        let patterns: Vec<Pattern> = texts
            .iter()
            .map(|t| Pattern::parse(t, &plan).unwrap())
            .collect();
        let s = NumberSet::build(&patterns);
        let scan = |n: E164| {
            let d = n.digits();
            let d = d.as_str();
            patterns.iter().any(|p| match p {
                Pattern::Exact(e) => *e == n,
                Pattern::Prefix(pre) => d.starts_with(pre.as_str()),
                Pattern::Wildcard(w) => {
                    (if w.open_ended {
                        d.len() >= w.classes.len()
                    } else {
                        d.len() == w.classes.len()
                    }) && w
                        .classes
                        .iter()
                        .zip(d.bytes())
                        .all(|(c, b)| c & (1 << (b - b'0')) != 0)
                }
                Pattern::Range(lo, hi) => *lo <= n && n <= *hi,
                Pattern::Regex(_) => unreachable!(),
            })
        };
        for i in 0..20_000 {
            let n = if i % 2 == 0 {
                // Near a listed pattern: a hit or a near miss.
                let t = &texts[g.below(texts.len() as u64) as usize];
                let digits: String = t.chars().filter(char::is_ascii_digit).take(13).collect();
                let v: u64 = digits.parse::<u64>().unwrap() + g.below(3);
                E164::from_digits(&v.to_string()).unwrap()
            } else {
                num(&format!(
                    "+86{}{:09}",
                    13 + g.below(6),
                    g.below(1_000_000_000)
                ))
            };
            assert_eq!(s.find(n).is_some(), scan(n), "{n}");
        }
    }
}
