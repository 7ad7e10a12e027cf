//! Prefixes and wildcard patterns in one trie over decimal digits. Single
//! digits are array edges; digit classes (`X`, `[1-5]`) are extra edges a
//! lookup also follows, so a lookup visits at most the trie's own branches.

use crate::numbers::MAX_E164_DIGITS;

const NONE: u32 = 0;

#[derive(Debug, Clone, Copy, Default)]
struct Node {
    /// Child per literal digit (0: none; node 0 is the root, never a child).
    children: [u32; 10],
    /// 1 + index into `class_edges` (0: no class edges).
    classes: u32,
    /// A pattern ends here and lets any digits follow (a prefix, `…*`).
    open_end: bool,
    /// A pattern ends here and the number must end too (a wildcard).
    exact_end: bool,
}

/// The path a lookup took to a matching pattern: the pattern itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TriePath {
    classes: [u16; MAX_E164_DIGITS],
    len: u8,
    open: bool,
}

impl TriePath {
    /// The digit classes of the matching pattern.
    pub fn classes(&self) -> &[u16] {
        &self.classes[..usize::from(self.len)]
    }

    /// Whether the matching pattern ends with `*`.
    pub fn open_ended(&self) -> bool {
        self.open
    }

    /// Whether every position is one digit (a plain prefix or number).
    pub fn is_literal(&self) -> bool {
        self.classes().iter().all(|c| c.count_ones() == 1)
    }
}

/// The trie; node 0 is the root.
#[derive(Debug)]
pub(super) struct DigitTrie {
    nodes: Vec<Node>,
    class_edges: Vec<Vec<(u16, u32)>>,
    patterns: usize,
}

impl Default for DigitTrie {
    fn default() -> Self {
        DigitTrie {
            nodes: vec![Node::default()],
            class_edges: Vec::new(),
            patterns: 0,
        }
    }
}

impl DigitTrie {
    /// Adds a pattern: one class per position, open-ended or not.
    pub(super) fn insert(&mut self, classes: &[u16], open_ended: bool) {
        let mut at = 0usize;
        for &class in classes {
            at = if class.count_ones() == 1 {
                let slot = class.trailing_zeros() as usize;
                match self.nodes[at].children[slot] {
                    NONE => {
                        let id = self.push();
                        self.nodes[at].children[slot] = id;
                        id as usize
                    }
                    next => next as usize,
                }
            } else {
                self.class_child(at, class)
            };
        }
        let node = &mut self.nodes[at];
        let flag = if open_ended {
            &mut node.open_end
        } else {
            &mut node.exact_end
        };
        if !*flag {
            *flag = true;
            self.patterns += 1;
        }
    }

    fn push(&mut self) -> u32 {
        self.nodes.push(Node::default());
        (self.nodes.len() - 1) as u32
    }

    fn class_child(&mut self, at: usize, class: u16) -> usize {
        if self.nodes[at].classes == 0 {
            self.class_edges.push(Vec::new());
            self.nodes[at].classes = self.class_edges.len() as u32;
        }
        let list = self.nodes[at].classes as usize - 1;
        if let Some(&(_, child)) = self.class_edges[list].iter().find(|(c, _)| *c == class) {
            return child as usize;
        }
        let id = self.push();
        self.class_edges[list].push((class, id));
        id as usize
    }

    /// Number of distinct patterns.
    pub(super) fn len(&self) -> usize {
        self.patterns
    }

    pub(super) fn shrink_to_fit(&mut self) {
        self.nodes.shrink_to_fit();
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self
                .class_edges
                .iter()
                .map(|l| l.capacity() * std::mem::size_of::<(u16, u32)>())
                .sum::<usize>()
    }

    /// A pattern matching these digits, if any: the shortest prefix along
    /// literal digits is tried first.
    pub(super) fn find(&self, digits: &[u8]) -> Option<TriePath> {
        if self.patterns == 0 {
            return None;
        }
        let mut path = TriePath {
            classes: [0; MAX_E164_DIGITS],
            len: 0,
            open: false,
        };
        self.walk(0, digits, 0, &mut path).then_some(path)
    }

    fn walk(&self, at: usize, digits: &[u8], depth: usize, path: &mut TriePath) -> bool {
        let node = &self.nodes[at];
        if depth > 0 && node.open_end {
            path.len = depth as u8;
            path.open = true;
            return true;
        }
        let Some(&d) = digits.get(depth) else {
            if node.exact_end {
                path.len = depth as u8;
                path.open = false;
                return true;
            }
            return false;
        };
        if depth >= MAX_E164_DIGITS {
            return false;
        }
        let digit = usize::from(d.wrapping_sub(b'0'));
        if digit > 9 {
            return false;
        }
        let child = node.children[digit];
        if child != NONE {
            path.classes[depth] = 1 << digit;
            if self.walk(child as usize, digits, depth + 1, path) {
                return true;
            }
        }
        if node.classes != 0 {
            for &(class, child) in &self.class_edges[node.classes as usize - 1] {
                if class & (1 << digit) != 0 {
                    path.classes[depth] = class;
                    if self.walk(child as usize, digits, depth + 1, path) {
                        return true;
                    }
                }
            }
        }
        false
    }
}
