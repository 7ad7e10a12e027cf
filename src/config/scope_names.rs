//! Pass 1 of the config: the profiles and rules a limit's `scope` may name.
//! `limits:` may come before `profiles:` in the file, so the names are
//! gathered first, by a reader that never fails: whatever it does not
//! understand is left for pass 2 to report where it is written.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, EnumAccess, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::profiles::DEFAULT_PROFILE;

/// What a limit's scope needs to know about a rule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct RuleFacts {
    /// The profile it belongs to (`default` for the top-level rules).
    pub(super) profile: String,
    /// `action: allow` (calls it lets through are never counted by limits).
    pub(super) allows: bool,
    /// `shadow: true` (it never decides a call).
    pub(super) shadow: bool,
}

/// Profile and rule names defined in the file.
#[derive(Clone, Debug, Default)]
pub(super) struct ScopeNames {
    /// Profile names in file order, `default` first.
    pub(super) profiles: Vec<String>,
    /// Rules by name.
    pub(super) rules: BTreeMap<String, RuleFacts>,
}

impl ScopeNames {
    /// Gathers the names from pass 1's sketches.
    pub(super) fn from_sketches(rules: RuleSketches, profiles: ProfileSketches) -> ScopeNames {
        let mut names = ScopeNames {
            profiles: vec![DEFAULT_PROFILE.to_string()],
            rules: BTreeMap::new(),
        };
        let mut add = |profile: &str, sketches: Vec<RuleSketch>| {
            for r in sketches {
                if let Some(name) = r.name {
                    names.rules.entry(name).or_insert(RuleFacts {
                        profile: profile.to_string(),
                        allows: r.action.as_deref() == Some("allow"),
                        shadow: r.shadow,
                    });
                }
            }
        };
        add(DEFAULT_PROFILE, rules.0);
        let mut profile_names = Vec::new();
        for (name, p) in profiles.0 {
            add(&name, p.rules.0);
            profile_names.push(name);
        }
        names.profiles.extend(profile_names);
        names
    }
}

/// The name, action and shadow flag of a rule, as far as they are readable.
#[derive(Default)]
pub(super) struct RuleSketch {
    name: Option<String>,
    action: Option<String>,
    shadow: bool,
}

/// A `rules:` list, read leniently.
#[derive(Default)]
pub(super) struct RuleSketches(Vec<RuleSketch>);

/// A profile's rules, read leniently.
#[derive(Default)]
pub(super) struct ProfileSketch {
    rules: RuleSketches,
}

/// The `profiles:` map, read leniently.
#[derive(Default)]
pub(super) struct ProfileSketches(Vec<(String, ProfileSketch)>);

/// Implements the visitor methods for every YAML shape a lenient value
/// does not understand: it is skipped and the value's default is kept.
macro_rules! skip_other_shapes {
    ($($skip:ident)*) => {
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("anything")
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
            IgnoredAny.visit_enum(data)?;
            Ok(Default::default())
        }
        $(skip_other_shapes!(@ $skip);)*
    };
    (@ bool) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
    (@ str) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
    (@ seq) => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Default::default())
        }
    };
    (@ map) => {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Default::default())
        }
    };
}

/// A string if the value is one.
#[derive(Default)]
struct LooseText(Option<String>);

impl<'de> Deserialize<'de> for LooseText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LooseText;
            skip_other_shapes!(bool seq map);
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LooseText, E> {
                Ok(LooseText(Some(v.to_string())))
            }
        }
        d.deserialize_any(V)
    }
}

/// `true` if the value is the boolean true.
#[derive(Default)]
struct LooseFlag(bool);

impl<'de> Deserialize<'de> for LooseFlag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LooseFlag;
            skip_other_shapes!(str seq map);
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<LooseFlag, E> {
                Ok(LooseFlag(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for RuleSketch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RuleSketch;
            skip_other_shapes!(bool str seq);
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RuleSketch, A::Error> {
                let mut rule = RuleSketch::default();
                while let Some(LooseText(key)) = map.next_key()? {
                    match key.as_deref() {
                        Some("name") => rule.name = map.next_value::<LooseText>()?.0,
                        Some("action") => rule.action = map.next_value::<LooseText>()?.0,
                        Some("shadow") => rule.shadow = map.next_value::<LooseFlag>()?.0,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(rule)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for RuleSketches {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RuleSketches;
            skip_other_shapes!(bool str map);
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RuleSketches, A::Error> {
                let mut all = Vec::new();
                while let Some(rule) = seq.next_element::<RuleSketch>()? {
                    all.push(rule);
                }
                Ok(RuleSketches(all))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for ProfileSketch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ProfileSketch;
            skip_other_shapes!(bool str seq);
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ProfileSketch, A::Error> {
                let mut profile = ProfileSketch::default();
                while let Some(LooseText(key)) = map.next_key()? {
                    if key.as_deref() == Some("rules") {
                        profile.rules = map.next_value()?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(profile)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for ProfileSketches {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ProfileSketches;
            skip_other_shapes!(bool str seq);
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ProfileSketches, A::Error> {
                let mut all = Vec::new();
                while let Some(LooseText(key)) = map.next_key()? {
                    let profile: ProfileSketch = map.next_value()?;
                    if let Some(name) = key {
                        if name != DEFAULT_PROFILE && !all.iter().any(|(n, _)| *n == name) {
                            all.push((name, profile));
                        }
                    }
                }
                Ok(ProfileSketches(all))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Outline {
        #[serde(default)]
        rules: RuleSketches,
        #[serde(default)]
        profiles: ProfileSketches,
    }

    fn names(text: &str) -> ScopeNames {
        let o: Outline = serde_yaml::from_str(text).unwrap();
        ScopeNames::from_sketches(o.rules, o.profiles)
    }

    #[test]
    fn rules_and_profiles_are_gathered_with_what_limits_need() {
        let n = names(
            "rules:\n  - { name: a, action: block }\n  - { name: b, action: allow }\n  - { name: c, action: block, shadow: true }\nprofiles:\n  line:\n    rules:\n      - { name: d, action: block }\n",
        );
        assert_eq!(n.profiles, ["default", "line"]);
        assert_eq!(
            n.rules["a"],
            RuleFacts {
                profile: "default".into(),
                allows: false,
                shadow: false
            }
        );
        assert!(n.rules["b"].allows);
        assert!(n.rules["c"].shadow);
        assert_eq!(n.rules["d"].profile, "line");
    }

    #[test]
    fn shapes_it_does_not_understand_are_skipped_not_refused() {
        // Pass 2 reports these where they are written; pass 1 must not.
        for text in [
            "rules: 5\nprofiles: [x]\n",
            "rules:\n  - 7\n  - [a]\n  - { name: [x], action: {a: 1}, shadow: maybe }\n",
            "rules:\n  - { name: a, name: b }\nprofiles:\n  p: 3\n  q: { rules: x }\n  p: {}\n",
            "rules: !tag { name: a }\nprofiles:\n  ? [complex]\n  : { rules: [] }\n",
        ] {
            let o: Result<Outline, _> = serde_yaml::from_str(text);
            assert!(o.is_ok(), "{text}: {:?}", o.err().map(|e| e.to_string()));
        }
    }
}
