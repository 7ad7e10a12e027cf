//! A compiled set of patterns, built once per config for fast lookups:
//! exact numbers in a hash set of integers, prefixes in a digit trie.

use std::collections::HashSet;

use crate::numbers::E164;
use crate::pattern::Pattern;

/// Which pattern of a set matched a number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetMatch {
    /// The number itself is in the set.
    Exact,
    /// A prefix of this many digits matched.
    Prefix(usize),
}

/// Patterns compiled for lookup.
#[derive(Default, Debug)]
pub struct NumberSet {
    exact: HashSet<E164>,
    prefixes: PrefixTrie,
}

impl NumberSet {
    /// Compiles patterns into a set.
    pub fn build<'a>(patterns: impl IntoIterator<Item = &'a Pattern>) -> NumberSet {
        let mut set = NumberSet::default();
        for p in patterns {
            set.insert(p);
        }
        set
    }

    /// Adds one pattern.
    pub fn insert(&mut self, pattern: &Pattern) {
        match pattern {
            Pattern::Exact(n) => {
                self.exact.insert(*n);
            }
            Pattern::Prefix(digits) => self.prefixes.insert(digits.as_bytes()),
        }
    }

    /// How the number matches the set, if it does. Exact entries win over
    /// prefixes; among prefixes the shortest matching one is reported.
    pub fn find(&self, number: E164) -> Option<SetMatch> {
        if self.exact.contains(&number) {
            return Some(SetMatch::Exact);
        }
        self.prefixes
            .shortest_match(number.digits().as_bytes())
            .map(SetMatch::Prefix)
    }

    /// Number of entries (exact numbers plus prefixes).
    pub fn len(&self) -> usize {
        self.exact.len() + self.prefixes.count
    }

    /// True when the set has no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A trie over decimal digits; node 0 is the root.
#[derive(Debug)]
struct PrefixTrie {
    nodes: Vec<TrieNode>,
    count: usize,
}

#[derive(Debug, Clone, Copy, Default)]
struct TrieNode {
    children: [u32; 10],
    terminal: bool,
}

impl Default for PrefixTrie {
    fn default() -> Self {
        PrefixTrie {
            nodes: vec![TrieNode::default()],
            count: 0,
        }
    }
}

impl PrefixTrie {
    fn insert(&mut self, digits: &[u8]) {
        let mut at = 0usize;
        for &d in digits {
            let slot = usize::from(d - b'0');
            let next = self.nodes[at].children[slot];
            at = if next == 0 {
                self.nodes.push(TrieNode::default());
                let id = self.nodes.len() - 1;
                self.nodes[at].children[slot] = id as u32;
                id
            } else {
                next as usize
            };
        }
        if !self.nodes[at].terminal {
            self.nodes[at].terminal = true;
            self.count += 1;
        }
    }

    fn shortest_match(&self, digits: &[u8]) -> Option<usize> {
        let mut at = 0usize;
        for (i, &d) in digits.iter().enumerate() {
            let next = self.nodes[at].children[usize::from(d - b'0')];
            if next == 0 {
                return None;
            }
            at = next as usize;
            if self.nodes[at].terminal {
                return Some(i + 1);
            }
        }
        None
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

    #[test]
    fn exact_numbers_match_only_themselves() {
        let s = set(&["+8613800138000"]);
        assert_eq!(s.find(num("013800138000")), Some(SetMatch::Exact));
        assert_eq!(s.find(num("013800138001")), None);
        assert_eq!(s.find(num("+861380013800")), None);
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
    fn duplicate_entries_count_once() {
        let s = set(&["+86170*", "0170*", "13800138000", "+8613800138000"]);
        assert_eq!(s.len(), 2);
    }
}
