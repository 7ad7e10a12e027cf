//! Field types that validate themselves while being deserialized, so that an
//! error carries the line and column of the value that is wrong.

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

use super::context::in_context;
use crate::causes;
use crate::pattern::Pattern;

pub(super) struct Digits(pub(super) String);

impl<'de> Deserialize<'de> for Digits {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Digits;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a quoted string of digits, like \"86\" or \"00\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Digits, E> {
                if v.bytes().all(|b| b.is_ascii_digit()) && v.len() <= 4 {
                    Ok(Digits(v.to_string()))
                } else {
                    Err(E::custom(format!("{v:?} must be up to 4 digits")))
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Digits, E> {
                Err(E::custom(format!(
                    "write {v} in quotes (\"{v}\"): YAML drops the leading zeros of numbers"
                )))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Digits, E> {
                self.visit_u64(v.unsigned_abs())
            }
        }
        d.deserialize_any(V)
    }
}

/// A national number length (digits after the trunk prefix).
pub(super) struct NationalLength(pub(super) usize);

impl<'de> Deserialize<'de> for NationalLength {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u64::deserialize(d)?;
        if (4..=14).contains(&n) {
            Ok(NationalLength(n as usize))
        } else {
            Err(de::Error::custom(format!(
                "national number length {n} must be between 4 and 14 digits"
            )))
        }
    }
}

pub(super) struct PatternEntry(pub(super) Pattern);

impl<'de> Deserialize<'de> for PatternEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = PatternEntry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a quoted number or prefix, like \"+8613800138000\" or \"+86170*\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PatternEntry, E> {
                in_context(|ctx| {
                    let pattern = Pattern::parse(v, &ctx.plan)?;
                    if let Some(note) = country_code_read_as_national(v, &pattern, &ctx.plan) {
                        ctx.notes.push(note);
                    }
                    Ok::<_, crate::pattern::PatternError>(pattern)
                })
                .map(PatternEntry)
                .map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PatternEntry, E> {
                Err(E::custom(format!(
                    "write {v} in quotes: YAML reads an unquoted number as an integer and drops its + and leading zeros"
                )))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PatternEntry, E> {
                self.visit_u64(v.unsigned_abs())
            }
        }
        d.deserialize_any(V)
    }
}

/// Deserializes a string and validates it inside the visitor, so that an
/// error carries the position of the value itself.
pub(super) fn validated_str<'de, D, T>(
    d: D,
    expecting: &'static str,
    check: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    struct V<F>(&'static str, F);
    impl<T, F: FnOnce(&str) -> Result<T, String>> Visitor<'_> for V<F> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.0)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            (self.1)(v).map_err(E::custom)
        }
    }
    d.deserialize_str(V(expecting, check))
}

/// A reference to a list defined in `lists:`.
pub(super) struct ListName(pub(super) String);

impl<'de> Deserialize<'de> for ListName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, "a list name", |name| {
            in_context(|ctx| {
                if ctx.lists.contains(name) {
                    Ok(ListName(name.to_string()))
                } else {
                    Err(format!(
                        "unknown list {name:?} (defined lists: {})",
                        join_names(&ctx.lists)
                    ))
                }
            })
        })
    }
}

/// Whether `name` is one word: not empty, no white space or control
/// characters (names of lists, rules, limits, profiles, replies' words).
pub(super) fn is_word(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A list's name where it is defined (`lists:` keys): the runtime list
/// names are reserved.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct DefinedListName(pub(super) String);

impl AsRef<str> for DefinedListName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for DefinedListName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, "a list name", |name| {
            if !is_word(name) {
                Err(format!(
                    "{name:?} cannot be a list name: write it as one word (letters, digits, - or _)"
                ))
            } else if crate::runtime_lists::is_runtime_list(name) {
                Err(format!(
                    "{name} is reserved: it holds the entries added with `callscreen block|allow` and cannot be defined here"
                ))
            } else {
                Ok(DefinedListName(name.to_string()))
            }
        })
    }
}

/// A note for a prefix written as `86170*`: a prefix's length is open, so
/// its digits cannot tell a country code from a national number and are
/// read as national (`+8686170*`), which is rarely what was meant.
fn country_code_read_as_national(
    written: &str,
    pattern: &Pattern,
    plan: &crate::numbers::NumberPlan,
) -> Option<String> {
    let Pattern::Prefix(digits) = pattern else {
        return None;
    };
    let cc = plan.country_code.as_str();
    let bare = written.trim();
    let doubled = format!("{cc}{cc}");
    (!cc.is_empty() && bare.starts_with(cc) && digits.starts_with(&doubled)).then(|| {
        format!(
            "prefix {written:?} is read as a national number, +{digits}*: write \"+{}*\" if {cc} is the country code",
            &digits[cc.len()..]
        )
    })
}

/// A reference to a reply defined in `replies:` (or the built-in one).
pub(super) struct ReplyName(pub(super) String);

impl<'de> Deserialize<'de> for ReplyName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, "a reply name", |name| {
            in_context(|ctx| {
                if ctx.replies.contains(name) {
                    Ok(ReplyName(name.to_string()))
                } else {
                    Err(format!(
                        "unknown reply {name:?} (defined replies: {})",
                        join_names(&ctx.replies)
                    ))
                }
            })
        })
    }
}

/// A rule's name, unique in the file.
pub(super) struct RuleName(pub(super) String);

impl<'de> Deserialize<'de> for RuleName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, "a rule name", |name| {
            if !is_word(name) {
                return Err(format!(
                    "rule name {name:?} must be a non-empty word without spaces"
                ));
            }
            in_context(|ctx| {
                if ctx.rule_names.insert(name.to_string()) {
                    Ok(RuleName(name.to_string()))
                } else {
                    Err(format!("duplicate rule name {name:?}"))
                }
            })
        })
    }
}

/// A FreeSWITCH hangup cause, checked against the known names.
pub(super) struct CauseName(pub(super) &'static str);

impl<'de> Deserialize<'de> for CauseName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, "a hangup cause name", |name| {
            causes::canonical(name).map(CauseName).ok_or_else(|| {
                format!(
                    "unknown hangup cause {name:?} (FreeSWITCH names such as USER_BUSY, CALL_REJECTED, UNALLOCATED_NUMBER)"
                )
            })
        })
    }
}

/// A field that takes one value or a non-empty list of them.
pub(super) struct OneOrMany<T>(pub(super) Vec<T>);

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a name or a list of names")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                let one = T::deserialize(de::value::StrDeserializer::<E>::new(v))?;
                Ok(OneOrMany(vec![one]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut all = Vec::new();
                while let Some(item) = seq.next_element()? {
                    all.push(item);
                }
                if all.is_empty() {
                    // Where a field is a condition, `[]` would not narrow
                    // anything down: `caller_in: []` would match every call.
                    return Err(de::Error::custom(
                        "an empty list: write at least one, or leave the field out",
                    ));
                }
                Ok(OneOrMany(all))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

fn join_names(names: &BTreeSet<String>) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}
