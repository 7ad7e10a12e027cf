//! A rule as written in the YAML (`rules:` and each profile's `rules:`), its
//! conditions validated where they are written.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::fields::{validated_str, ListName, OneOrMany, PatternEntry, ReplyName, RuleName};
use super::{Action, CallerClass, Rule};
use crate::conditions::{valid_variable_name, TextRegex, VariableTest};
use crate::schedule::{self, DateRange, Schedule};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleSpec {
    name: RuleName,
    #[serde(default)]
    caller_in: OneOrMany<ListName>,
    #[serde(default)]
    caller_not_in: OneOrMany<ListName>,
    #[serde(default)]
    destination_in: OneOrMany<ListName>,
    #[serde(default)]
    destination: OneOrMany<PatternEntry>,
    #[serde(default)]
    caller_is: Option<CallerClass>,
    #[serde(default)]
    caller_name: Option<RegexText>,
    #[serde(default)]
    variables: VariableTests,
    #[serde(default)]
    variables_not: VariableTests,
    #[serde(default)]
    schedule: Option<ScheduleSpec>,
    action: Action,
    #[serde(default)]
    reply: Option<ReplyName>,
    #[serde(default)]
    shadow: bool,
}

impl RuleSpec {
    /// The rule, with list and reply names turned into indexes.
    pub(super) fn resolve(
        self,
        list_index: &dyn Fn(&str) -> usize,
        reply_index: &dyn Fn(&str) -> usize,
    ) -> Rule {
        let lists = |names: OneOrMany<ListName>| -> Vec<usize> {
            names.0.iter().map(|l| list_index(&l.0)).collect()
        };
        let mut variables: Vec<VariableTest> = self.variables.into_tests(false);
        variables.extend(self.variables_not.into_tests(true));
        Rule {
            name: self.name.0,
            caller_in: lists(self.caller_in),
            caller_not_in: lists(self.caller_not_in),
            destination_in: lists(self.destination_in),
            destination_matches: self.destination.0.into_iter().map(|p| p.0).collect(),
            caller_is: self.caller_is,
            caller_name: self.caller_name.map(|r| r.0),
            variables,
            schedule: self.schedule.map(ScheduleSpec::into_schedule),
            action: self.action,
            reply: self.reply.map(|n| reply_index(&n.0)),
            shadow: self.shadow,
        }
    }
}

/// A regex, compiled where it is written.
struct RegexText(TextRegex);

impl<'de> Deserialize<'de> for RegexText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, "a quoted regex", |source| {
            TextRegex::new(source).map(RegexText)
        })
    }
}

/// `variables:` / `variables_not:`: channel variable names to regexes.
#[derive(Default)]
struct VariableTests(Vec<(String, TextRegex)>);

impl VariableTests {
    fn into_tests(self, negate: bool) -> Vec<VariableTest> {
        self.0
            .into_iter()
            .map(|(name, regex)| VariableTest {
                name,
                regex,
                negate,
            })
            .collect()
    }
}

impl<'de> Deserialize<'de> for VariableTests {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = VariableTests;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of channel variable names to regexes")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<VariableTests, A::Error> {
                let mut tests = Vec::new();
                while let Some(name) = map.next_key::<VariableName>()? {
                    let RegexText(regex) = map.next_value()?;
                    tests.push((name.0, regex));
                }
                Ok(VariableTests(tests))
            }
        }
        d.deserialize_map(V)
    }
}

struct VariableName(String);

impl<'de> Deserialize<'de> for VariableName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, "a channel variable name", |name| {
            if valid_variable_name(name) {
                Ok(VariableName(name.to_string()))
            } else {
                Err(format!(
                    "{name:?} is not a channel variable name (letters, digits, _ - .)"
                ))
            }
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleSpec {
    #[serde(default)]
    timezone: Option<Zone>,
    #[serde(default)]
    days: OneOrMany<Days>,
    #[serde(default)]
    time: OneOrMany<TimeRange>,
    #[serde(default)]
    dates: OneOrMany<Dates>,
}

impl ScheduleSpec {
    fn into_schedule(self) -> Schedule {
        let (zone, zone_name) = match self.timezone {
            Some(z) => (z.0, z.1),
            None => (jiff::tz::TimeZone::system(), "local".to_string()),
        };
        Schedule {
            zone,
            zone_name,
            days: self.days.0.iter().fold(0, |all, d| all | d.0),
            times: self.time.0.into_iter().map(|t| t.0).collect(),
            dates: self.dates.0.into_iter().map(|d| d.0).collect(),
        }
    }
}

struct Zone(jiff::tz::TimeZone, String);

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, "a time zone name", |name| {
            schedule::parse_zone(name)
                .map(|z| Zone(z, name.to_string()))
                .map_err(|e| e.to_string())
        })
    }
}

struct Days(u8);

impl<'de> Deserialize<'de> for Days {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, "a day or day range", |text| {
            schedule::parse_days(text)
                .map(Days)
                .map_err(|e| e.to_string())
        })
    }
}

struct TimeRange((u32, u32));

impl<'de> Deserialize<'de> for TimeRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, "a time range like 22:00-07:00", |text| {
            schedule::parse_time_range(text)
                .map(TimeRange)
                .map_err(|e| e.to_string())
        })
    }
}

struct Dates(DateRange);

impl<'de> Deserialize<'de> for Dates {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, "a quoted date or date range", |text| {
            schedule::parse_date_range(text)
                .map(Dates)
                .map_err(|e| e.to_string())
        })
    }
}

/// A mapping read in file order (serde's maps would sort it); keys validate
/// themselves (so errors carry their position) and must be unique.
pub(super) struct Ordered<K, T>(pub(super) Vec<(K, T)>);

impl<K, T> Default for Ordered<K, T> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<'de, K: Deserialize<'de> + AsRef<str>, T: Deserialize<'de>> Deserialize<'de>
    for Ordered<K, T>
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<K, T>(std::marker::PhantomData<(K, T)>);
        impl<'de, K: Deserialize<'de> + AsRef<str>, T: Deserialize<'de>> Visitor<'de> for V<K, T> {
            type Value = Ordered<K, T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut seen = BTreeMap::new();
                let mut all = Vec::new();
                while let Some(key) = map.next_key::<K>()? {
                    if seen.insert(key.as_ref().to_string(), ()).is_some() {
                        return Err(de::Error::custom(format!(
                            "{:?} is defined twice",
                            key.as_ref()
                        )));
                    }
                    let value = map.next_value()?;
                    all.push((key, value));
                }
                Ok(Ordered(all))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Action, Config};
    use std::path::Path;

    fn error_of(text: &str) -> String {
        Config::parse(text, Path::new("r.yaml"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn every_condition_is_read() {
        let text = r#"
lists:
  pools: ["+86170*"]
rules:
  - name: r
    caller_in: pools
    destination: ["4000", "+86 25 1234 56XX"]
    caller_name: "(?i)promo"
    variables: { sip_user_agent: "scanner", sip_h_P-Asserted-Identity: "^$" }
    variables_not: { sip_verstat: "Passed" }
    schedule:
      timezone: Asia/Shanghai
      days: [mon-fri, sun]
      time: ["22:00-07:00", "12:00-13:30"]
      dates: "12-24..01-02"
    action: block
    shadow: true
"#;
        let c = Config::parse(text, Path::new("r.yaml")).unwrap();
        let r = &c.rules[0];
        assert_eq!(r.destination_matches.len(), 2);
        assert_eq!(r.caller_name.as_ref().unwrap().as_str(), "(?i)promo");
        let vars: Vec<(&str, bool)> = r
            .variables
            .iter()
            .map(|v| (v.name.as_str(), v.negate))
            .collect();
        assert_eq!(
            vars,
            [
                ("sip_user_agent", false),
                ("sip_h_P-Asserted-Identity", false),
                ("sip_verstat", true)
            ]
        );
        let s = r.schedule.as_ref().unwrap();
        assert_eq!(s.days, 0b101_1111);
        assert_eq!(s.times, [(79_200, 25_200), (43_200, 48_600)]);
        assert_eq!(s.zone_name, "Asia/Shanghai");
        assert!(r.shadow);
        assert_eq!(r.action, Action::Block);
    }

    #[test]
    fn condition_mistakes_are_reported_where_written() {
        let err = error_of("rules:\n  - name: r\n    caller_name: \"(promo\"\n    action: block\n");
        assert!(err.starts_with("r.yaml:3:18: "), "{err}");
        assert!(err.contains("regex \"(promo\""), "{err}");

        let err = error_of(
            "rules:\n  - name: r\n    variables: { \"bad name\": x }\n    action: block\n",
        );
        assert!(err.starts_with("r.yaml:3:18: "), "{err}");
        assert!(err.contains("not a channel variable name"), "{err}");

        let err = error_of(
            "rules:\n  - name: r\n    schedule: { timezone: Mars/Base }\n    action: block\n",
        );
        assert!(err.starts_with("r.yaml:3:27: "), "{err}");
        assert!(err.contains("unknown time zone \"Mars/Base\""), "{err}");

        let err = error_of(
            "rules:\n  - name: r\n    schedule:\n      days: [mon, funday]\n    action: block\n",
        );
        assert!(err.starts_with("r.yaml:4:19: "), "{err}");

        let err = error_of(
            "rules:\n  - name: r\n    schedule:\n      time: \"25:00-07:00\"\n    action: block\n",
        );
        assert!(err.starts_with("r.yaml:4:13: "), "{err}");
        assert!(err.contains("the start is not a time"), "{err}");

        let err = error_of("rules:\n  - name: r\n    schedule:\n      dates: [\"2025-02-30\"]\n    action: block\n");
        assert!(err.starts_with("r.yaml:4:15: "), "{err}");

        let err = error_of("rules:\n  - name: r\n    destination: \"+86*1\"\n    action: block\n");
        assert!(err.starts_with("r.yaml:3:18: "), "{err}");

        let err =
            error_of("rules:\n  - name: r\n    schedule: { weekdays: x }\n    action: block\n");
        assert!(err.contains("unknown field `weekdays`"), "{err}");
    }

    #[test]
    fn profiles_are_read_in_file_order_with_their_defaults() {
        let text = r#"
replies:
  busy: { kind: reject, cause: USER_BUSY }
defaults: { action: allow, reply: busy }
profiles:
  zeta:
    destination: "4000"
    rules:
      - { name: z1, caller_is: anonymous, action: block }
  alpha:
    defaults: { action: block }
"#;
        let c = Config::parse(text, Path::new("p.yaml")).unwrap();
        let names: Vec<&str> = c.profiles.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["zeta", "alpha"]);
        assert_eq!(c.profiles[0].default_action, Action::Allow);
        assert_eq!(c.profiles[1].default_action, Action::Block);
        // A profile without its own reply uses the top-level default reply.
        assert_eq!(c.replies[c.profiles[1].default_reply].name, "busy");
        assert_eq!(c.profiles[0].rules[0].name, "z1");
    }

    #[test]
    fn profile_mistakes_are_reported_where_written() {
        let err = error_of("profiles:\n  default:\n    rules: []\n");
        assert!(err.starts_with("r.yaml:2:3: "), "{err}");
        assert!(err.contains("reserved"), "{err}");
        let err = error_of("profiles:\n  a:\n    rules: []\n  a:\n    rules: []\n");
        assert!(err.contains("\"a\" is defined twice"), "{err}");
        // Rule names are unique across profiles.
        let err = error_of("rules:\n  - { name: r, action: allow }\nprofiles:\n  p:\n    rules:\n      - { name: r, action: block }\n");
        assert!(err.contains("duplicate rule name \"r\""), "{err}");
        let err = error_of(
            "profiles:\n  p:\n    rules:\n      - { name: r, action: block, caller_in: nope }\n",
        );
        assert!(err.contains("unknown list \"nope\""), "{err}");
    }

    #[test]
    fn a_name_defined_twice_is_an_error_not_a_replacement() {
        // A second `family` would silently empty the allowlist.
        let err =
            error_of("lists:\n  family: [\"+8613800138000\"]\n  family: [\"+8613900139000\"]\n");
        assert!(
            err.starts_with("r.yaml:2:3: lists: \"family\" is defined twice"),
            "{err}"
        );
        let err = error_of("replies:\n  a: { kind: reject, cause: USER_BUSY }\n  a: { kind: reject, cause: CALL_REJECTED }\n");
        assert!(err.contains("replies: \"a\" is defined twice"), "{err}");
        let err = error_of("lists:\n  \"a b\": [\"+8613800138000\"]\n");
        assert!(err.contains("cannot be a list name"), "{err}");
    }

    #[test]
    fn an_empty_condition_is_an_error_not_a_match_for_every_call() {
        for field in [
            "caller_in",
            "caller_not_in",
            "destination_in",
            "destination",
        ] {
            let err = error_of(&format!(
                "lists:\n  l: [\"+86170*\"]\nrules:\n  - name: r\n    {field}: []\n    action: block\n"
            ));
            assert!(
                err.starts_with("r.yaml:5:") && err.contains("an empty list"),
                "{field}: {err}"
            );
        }
    }
}
