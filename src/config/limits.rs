//! The `limits:` section (rate limits, pool detection, penalty box) and the
//! `limiter:` settings, parsed and validated into the model the limiter in
//! [`crate::limits`] runs.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::context::in_context;
use super::duration::Seconds;
use super::fields::{validated_str, ListName, OneOrMany, ReplyName};

/// Most calls a `calls:` threshold may allow per window: each allowed call is
/// one remembered timestamp (4 bytes) per tracked key.
pub const MAX_CALLS: u32 = 1000;
/// Most distinct numbers a `distinct:` threshold may allow per window.
pub const MAX_DISTINCT: u32 = 1000;
/// Up to this many distinct numbers per window are counted exactly (each is
/// remembered: 12 bytes per tracked key); above it, approximately (see
/// [`crate::limits`]).
pub const EXACT_DISTINCT: u32 = 64;
/// Default hard cap on keys tracked per limit level.
pub const DEFAULT_MAX_KEYS: usize = 100_000;
/// Largest accepted `max_keys`.
pub const MAX_MAX_KEYS: usize = 50_000_000;

/// What a limit counts calls by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKey {
    /// The caller's number (E.164).
    Caller,
    /// The first N digits of the caller's national significant number.
    CallerPrefix,
    /// The number called (the DID).
    Destination,
    /// Caller prefix and destination together.
    CallerPrefixDestination,
}

impl LimitKey {
    /// The name used in the config and in output.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKey::Caller => "caller",
            LimitKey::CallerPrefix => "caller_prefix",
            LimitKey::Destination => "destination",
            LimitKey::CallerPrefixDestination => "caller_prefix_destination",
        }
    }

    /// Whether the key takes a number of prefix digits.
    pub fn uses_prefix(self) -> bool {
        matches!(
            self,
            LimitKey::CallerPrefix | LimitKey::CallerPrefixDestination
        )
    }

    fn from_u8(v: u8) -> Option<LimitKey> {
        [
            LimitKey::Caller,
            LimitKey::CallerPrefix,
            LimitKey::Destination,
            LimitKey::CallerPrefixDestination,
        ]
        .get(usize::from(v))
        .copied()
    }

    /// A stable code for the state file.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The key kind of a state-file code.
    pub fn from_code(code: u8) -> Option<LimitKey> {
        LimitKey::from_u8(code)
    }
}

/// What a threshold counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ThresholdKind {
    /// Calls per sliding window.
    Calls,
    /// Distinct caller numbers per sliding window (pool detection).
    Distinct,
}

impl ThresholdKind {
    /// `calls` or `distinct`.
    pub fn as_str(self) -> &'static str {
        match self {
            ThresholdKind::Calls => "calls",
            ThresholdKind::Distinct => "distinct",
        }
    }
}

/// `calls: 3/10m`: at most `max` per sliding `window`; the next one trips.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Threshold {
    /// Calls or distinct numbers.
    pub kind: ThresholdKind,
    /// How many are allowed within the window.
    pub max: u32,
    /// The window length.
    pub window: Seconds,
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.kind.as_str(), self.max, self.window)
    }
}

/// One key length of a limit (a caller-prefix limit may have several: 7, 6
/// and 5 digits, each with its own thresholds).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LimitLevel {
    /// Prefix digits (0 for keys without a prefix).
    pub digits: u8,
    /// Thresholds; any one tripping trips the level.
    pub thresholds: Vec<Threshold>,
}

/// Which calls a limit looks at (besides never looking at calls an allow
/// rule let through).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppliesTo {
    /// Every call no allow rule let through, including calls a block rule
    /// stopped (they count; the rule's reply stands).
    NotAllowed,
    /// Only calls no rule matched (decided by `defaults`).
    Unmatched,
}

impl AppliesTo {
    /// The name used in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            AppliesTo::NotAllowed => "not_allowed",
            AppliesTo::Unmatched => "unmatched",
        }
    }
}

/// Where a limit applies. All conditions written must hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitScope {
    /// Only calls to a destination in one of these lists (empty: any).
    pub destination_in: Vec<usize>,
    /// Which calls count.
    pub applies_to: AppliesTo,
    /// Only calls screened under one of these profiles (`default`: the
    /// top-level rules; empty: every profile).
    pub profiles: Vec<String>,
    /// Counted calls: only those one of these rules decided (empty: every
    /// call the limit applies to). The limit's other calls — decided by
    /// another rule or by the defaults — are not counted, but are refused
    /// while their key is in the penalty box: three calls the blocklist rule
    /// stopped from one prefix can box the prefix for its unlisted neighbours.
    pub rules: Vec<String>,
}

impl LimitScope {
    /// Whether the limit looks at calls screened under `profile`.
    pub fn covers_profile(&self, profile: &str) -> bool {
        self.profiles.is_empty() || self.profiles.iter().any(|p| p == profile)
    }

    /// Whether the limit counts calls decided by `rule` (`None`: by the
    /// defaults).
    pub fn covers_rule(&self, rule: Option<&str>) -> bool {
        self.rules.is_empty() || rule.is_some_and(|r| self.rules.iter().any(|n| n == r))
    }
}

/// How long a tripped key stays blocked.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Penalty {
    /// First offence (0: no box, only the call over the threshold is refused).
    pub base: Seconds,
    /// Each repeat offence multiplies the previous penalty by this.
    pub repeat_factor: f64,
    /// Ceiling of an escalated penalty.
    pub max: Seconds,
    /// After a release, offences are remembered this long; a trip within it
    /// is a repeat offence.
    pub remember: Seconds,
}

impl Penalty {
    /// Seconds in the box for the `offence`-th offence (1-based).
    pub fn duration(&self, offence: u32) -> u32 {
        let exponent = offence.saturating_sub(1).min(64) as i32;
        let secs = f64::from(self.base.0) * self.repeat_factor.powi(exponent);
        if secs >= f64::from(self.max.0) {
            self.max.0
        } else {
            secs as u32
        }
    }
}

/// One limit from the `limits:` section.
#[derive(Clone, Debug, PartialEq)]
pub struct Limit {
    /// Unique name, reported in `callscreen_limit`.
    pub name: String,
    /// What calls are counted by.
    pub key: LimitKey,
    /// One level per key length (one level for keys without a prefix).
    pub levels: Vec<LimitLevel>,
    /// The penalty box.
    pub penalty: Penalty,
    /// Reply for a refused call (index into `Config::replies`; `None`: the default reply).
    pub reply: Option<usize>,
    /// Which calls it looks at.
    pub scope: LimitScope,
    /// Record and report, never refuse a call.
    pub shadow: bool,
    /// Hard cap on keys tracked per level.
    pub max_keys: usize,
}

/// The `limiter:` section: settings for all limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimiterSettings {
    /// Default `max_keys` of a limit.
    pub max_keys: usize,
    /// How often changed counters are written to the state file.
    pub save_interval: Seconds,
}

impl Default for LimiterSettings {
    fn default() -> Self {
        LimiterSettings {
            max_keys: DEFAULT_MAX_KEYS,
            save_interval: Seconds(10),
        }
    }
}

// ---- YAML --------------------------------------------------------------

/// `limiter:` as written.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LimiterSpec {
    #[serde(default)]
    max_keys: Option<MaxKeys>,
    #[serde(default)]
    save_interval: Option<Duration>,
}

impl LimiterSpec {
    pub(super) fn resolve(self) -> LimiterSettings {
        let d = LimiterSettings::default();
        LimiterSettings {
            max_keys: self.max_keys.map(|m| m.0).unwrap_or(d.max_keys),
            save_interval: self.save_interval.map(|s| s.0).unwrap_or(d.save_interval),
        }
    }
}

struct Duration(Seconds);

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, "a duration such as 30s, 10m, 1h or 2d", |t| {
            Seconds::parse(t).map(Duration)
        })
    }
}

struct MaxKeys(usize);

impl<'de> Deserialize<'de> for MaxKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u64::deserialize(d)?;
        if n == 0 || n > MAX_MAX_KEYS as u64 {
            return Err(de::Error::custom(format!(
                "max_keys must be between 1 and {MAX_MAX_KEYS}"
            )));
        }
        Ok(MaxKeys(n as usize))
    }
}

struct ThresholdText {
    max: u32,
    window: Seconds,
}

impl<'de> Deserialize<'de> for ThresholdText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, "a threshold such as 3/10m", |t| {
            let bad =
                || format!("{t:?} is not a threshold (write count/window, like 3/10m or 4/1h)");
            let (count, window) = t.split_once('/').ok_or_else(bad)?;
            let max: u32 = count.trim().parse().map_err(|_| bad())?;
            let window = Seconds::parse(window)?;
            if max == 0 {
                return Err(format!("{t:?}: the count must be at least 1"));
            }
            if window.0 == 0 {
                return Err(format!("{t:?}: the window must be at least 1s"));
            }
            Ok(ThresholdText { max, window })
        })
    }
}

/// A limit's name, unique among limits.
struct LimitName(String);

impl<'de> Deserialize<'de> for LimitName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, "a limit name", |name| {
            if !super::fields::is_word(name) {
                return Err(format!(
                    "limit name {name:?} must be a non-empty word without spaces"
                ));
            }
            in_context(|ctx| {
                if ctx.limit_names.insert(name.to_string()) {
                    Ok(LimitName(name.to_string()))
                } else {
                    Err(format!("duplicate limit name {name:?}"))
                }
            })
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelSpec {
    digits: u8,
    #[serde(default)]
    calls: OneOrMany<ThresholdText>,
    #[serde(default)]
    distinct: OneOrMany<ThresholdText>,
}

/// A profile named in a limit's scope.
struct ScopeProfile(String);

impl<'de> Deserialize<'de> for ScopeProfile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, "a profile name", |name| {
            in_context(|ctx| {
                let known = &ctx.scope_names.profiles;
                if known.iter().any(|p| p == name) {
                    Ok(ScopeProfile(name.to_string()))
                } else {
                    Err(format!(
                        "unknown profile {name:?} (profiles: {})",
                        known.join(", ")
                    ))
                }
            })
        })
    }
}

/// A rule named in a limit's scope: one that can decide a call the limit
/// may count (not an allow rule, not a shadow rule).
struct ScopeRule {
    name: String,
    profile: String,
}

impl<'de> Deserialize<'de> for ScopeRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, "a rule name", |name| {
            in_context(|ctx| {
                match ctx.scope_names.rules.get(name) {
                None => Err(format!(
                    "unknown rule {name:?} (rules that block: {})",
                    ctx.scope_names
                        .rules
                        .iter()
                        .filter(|(_, r)| !r.allows && !r.shadow)
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                Some(r) if r.allows => Err(format!(
                    "rule {name:?} allows calls, and limits never count a call an allow rule let through"
                )),
                Some(r) if r.shadow => Err(format!(
                    "rule {name:?} is a shadow rule: it never decides a call"
                )),
                Some(r) => Ok(ScopeRule {
                    name: name.to_string(),
                    profile: r.profile.clone(),
                }),
            }
            })
        })
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopeSpec {
    #[serde(default)]
    destination_in: OneOrMany<ListName>,
    #[serde(default)]
    applies_to: Option<AppliesTo>,
    #[serde(default)]
    profiles: OneOrMany<ScopeProfile>,
    #[serde(default)]
    rules: OneOrMany<ScopeRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimitSpec {
    name: LimitName,
    key: LimitKey,
    #[serde(default)]
    digits: Option<u8>,
    #[serde(default)]
    levels: Vec<LevelSpec>,
    #[serde(default)]
    calls: OneOrMany<ThresholdText>,
    #[serde(default)]
    distinct: OneOrMany<ThresholdText>,
    #[serde(default)]
    penalty: Option<Duration>,
    #[serde(default)]
    repeat_factor: Option<f64>,
    #[serde(default)]
    max_penalty: Option<Duration>,
    #[serde(default)]
    remember: Option<Duration>,
    #[serde(default)]
    reply: Option<ReplyName>,
    #[serde(default)]
    scope: Option<ScopeSpec>,
    #[serde(default)]
    shadow: bool,
    #[serde(default)]
    max_keys: Option<MaxKeys>,
}

/// One entry of `limits:`, checked as a whole (errors point at the entry).
pub(super) struct LimitSpec {
    limit: Limit,
    reply: Option<String>,
    destination_in: Vec<String>,
    max_keys: Option<usize>,
}

impl<'de> Deserialize<'de> for LimitSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LimitSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a limit: name, key, thresholds, penalty, reply")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<LimitSpec, A::Error> {
                let raw = RawLimitSpec::deserialize(de::value::MapAccessDeserializer::new(map))?;
                raw.check().map_err(de::Error::custom)
            }
        }
        d.deserialize_map(V)
    }
}

fn thresholds(
    calls: OneOrMany<ThresholdText>,
    distinct: OneOrMany<ThresholdText>,
) -> Vec<Threshold> {
    let mut all: Vec<Threshold> = Vec::new();
    for (kind, list) in [
        (ThresholdKind::Calls, calls.0),
        (ThresholdKind::Distinct, distinct.0),
    ] {
        for t in list {
            all.push(Threshold {
                kind,
                max: t.max,
                window: t.window,
            });
        }
    }
    all
}

impl RawLimitSpec {
    fn check(self) -> Result<LimitSpec, String> {
        let name = self.name.0;
        let err = |m: String| format!("limit {name:?}: {m}");
        let top = thresholds(self.calls, self.distinct);
        let mut levels = Vec::new();
        if self.key.uses_prefix() {
            if self.digits.is_some() && !self.levels.is_empty() {
                return Err(err("give either digits or levels, not both".into()));
            }
            if let Some(digits) = self.digits {
                levels.push(LimitLevel {
                    digits,
                    thresholds: top.clone(),
                });
            } else if self.levels.is_empty() {
                return Err(err(format!(
                    "key {} needs digits (e.g. digits: 7) or levels",
                    self.key.as_str()
                )));
            }
            for level in self.levels {
                let own = thresholds(level.calls, level.distinct);
                levels.push(LimitLevel {
                    digits: level.digits,
                    thresholds: if own.is_empty() { top.clone() } else { own },
                });
            }
        } else {
            if self.digits.is_some() || !self.levels.is_empty() {
                return Err(err(format!(
                    "key {} takes no digits or levels (they belong to caller_prefix keys)",
                    self.key.as_str()
                )));
            }
            levels.push(LimitLevel {
                digits: 0,
                thresholds: top,
            });
        }
        if levels.len() > crate::limits::MAX_LEVELS {
            return Err(err(format!("at most {} levels", crate::limits::MAX_LEVELS)));
        }
        let mut seen = Vec::new();
        for level in &levels {
            if level.thresholds.len() > crate::limits::layout::MAX_THRESHOLDS {
                return Err(err(format!(
                    "at most {} thresholds per level",
                    crate::limits::layout::MAX_THRESHOLDS
                )));
            }
            if self.key.uses_prefix() && !(1..=15).contains(&level.digits) {
                return Err(err(format!(
                    "digits {} must be between 1 and 15",
                    level.digits
                )));
            }
            if seen.contains(&level.digits) {
                return Err(err(format!("digits {} given twice", level.digits)));
            }
            seen.push(level.digits);
            if level.thresholds.is_empty() {
                return Err(err(
                    "needs at least one threshold (calls: 3/10m or distinct: 4/1h)".into(),
                ));
            }
            for t in &level.thresholds {
                let (most, what) = match t.kind {
                    ThresholdKind::Calls => (MAX_CALLS, "calls"),
                    ThresholdKind::Distinct => (MAX_DISTINCT, "distinct"),
                };
                if t.max > most {
                    return Err(err(format!("{what} allows at most {most} per window")));
                }
                if t.kind == ThresholdKind::Distinct && matches!(self.key, LimitKey::Caller) {
                    return Err(err(
                        "distinct counts caller numbers, so it needs a prefix or destination key"
                            .into(),
                    ));
                }
            }
        }
        let base = self.penalty.map(|p| p.0).unwrap_or(Seconds(3600));
        let max = self
            .max_penalty
            .map(|p| p.0)
            .unwrap_or(Seconds(base.0.max(86_400)));
        if max < base {
            return Err(err(format!(
                "max_penalty {max} is shorter than penalty {base}"
            )));
        }
        let repeat_factor = self.repeat_factor.unwrap_or(2.0);
        if !(1.0..=100.0).contains(&repeat_factor) {
            return Err(err("repeat_factor must be between 1 and 100".into()));
        }
        let scope = self.scope.unwrap_or_default();
        let profiles: Vec<String> = scope.profiles.0.into_iter().map(|p| p.0).collect();
        if !scope.rules.0.is_empty() && scope.applies_to == Some(AppliesTo::Unmatched) {
            return Err(err(
                "scope.rules and applies_to: unmatched exclude each other (unmatched leaves out every call a rule decided, so nothing would be counted)"
                    .into(),
            ));
        }
        if let Some(r) = scope
            .rules
            .0
            .iter()
            .find(|r| !profiles.is_empty() && !profiles.contains(&r.profile))
        {
            return Err(err(format!(
                "rule {:?} belongs to profile {:?}, which scope.profiles leaves out",
                r.name, r.profile
            )));
        }
        Ok(LimitSpec {
            limit: Limit {
                name: name.clone(),
                key: self.key,
                levels,
                penalty: Penalty {
                    base,
                    repeat_factor,
                    max,
                    remember: self.remember.map(|r| r.0).unwrap_or(Seconds(7 * 86_400)),
                },
                reply: None,
                scope: LimitScope {
                    destination_in: Vec::new(),
                    applies_to: scope.applies_to.unwrap_or(AppliesTo::NotAllowed),
                    profiles,
                    rules: scope.rules.0.into_iter().map(|r| r.name).collect(),
                },
                shadow: self.shadow,
                max_keys: 0,
            },
            reply: self.reply.map(|r| r.0),
            destination_in: scope.destination_in.0.into_iter().map(|l| l.0).collect(),
            max_keys: self.max_keys.map(|m| m.0),
        })
    }
}

/// Turns the parsed limits into the model, names resolved to indexes.
pub(super) fn resolve(
    specs: Vec<LimitSpec>,
    settings: &LimiterSettings,
    list_index: impl Fn(&str) -> usize,
    reply_index: impl Fn(&str) -> usize,
) -> Vec<Limit> {
    specs
        .into_iter()
        .map(|spec| {
            let mut limit = spec.limit;
            limit.reply = spec.reply.as_deref().map(&reply_index);
            limit.scope.destination_in =
                spec.destination_in.iter().map(|l| list_index(l)).collect();
            limit.max_keys = spec.max_keys.unwrap_or(settings.max_keys);
            limit
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigError};
    use std::path::Path;

    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("t.yaml"))
    }

    #[test]
    fn a_pool_limit_with_levels_is_read_in_full() {
        let c = parse(
            r#"
lists:
  dids: ["+864000"]
replies:
  busy: { kind: reject, cause: USER_BUSY }
limiter:
  max_keys: 5000
  save_interval: 5s
limits:
  - name: pools
    key: caller_prefix
    distinct: 4/1h
    levels:
      - { digits: 7 }
      - { digits: 6, distinct: 10/1h, calls: [20/10m, 50/1d] }
    penalty: 30m
    repeat_factor: 3
    max_penalty: 1d
    reply: busy
    scope: { destination_in: dids, applies_to: unmatched }
  - name: hammer
    key: caller
    calls: 3/10m
    shadow: true
    max_keys: 10
"#,
        )
        .unwrap();
        assert_eq!(c.limiter.save_interval, Seconds(5));
        let pools = &c.limits[0];
        assert_eq!(pools.key, LimitKey::CallerPrefix);
        assert_eq!(pools.levels.len(), 2);
        assert_eq!(pools.levels[0].digits, 7);
        assert_eq!(pools.levels[0].thresholds[0].to_string(), "distinct 4/1h");
        let six: Vec<String> = pools.levels[1]
            .thresholds
            .iter()
            .map(|t| t.to_string())
            .collect();
        assert_eq!(six, ["calls 20/10m", "calls 50/1d", "distinct 10/1h"]);
        assert_eq!(pools.penalty.duration(1), 1800);
        assert_eq!(pools.penalty.duration(2), 5400);
        assert_eq!(pools.penalty.duration(9), 86_400);
        assert_eq!(c.replies[pools.reply.unwrap()].name, "busy");
        assert_eq!(pools.scope.destination_in, vec![0]);
        assert_eq!(pools.scope.applies_to, AppliesTo::Unmatched);
        assert_eq!(pools.max_keys, 5000);
        let hammer = &c.limits[1];
        assert!(hammer.shadow);
        assert_eq!(hammer.levels[0].digits, 0);
        assert_eq!(hammer.max_keys, 10);
        assert_eq!(hammer.scope.applies_to, AppliesTo::NotAllowed);
        assert_eq!(hammer.reply, None);
    }

    fn error_of(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn mistakes_are_reported_where_they_are_written() {
        let err = error_of("limits:\n  - name: a\n    key: caller\n    calls: 3/10x\n");
        assert!(err.starts_with("t.yaml:4:12: "), "{err}");
        assert!(err.contains("not a duration"), "{err}");
        let err = error_of("limits:\n  - name: a\n    key: caller\n    calls: three\n");
        assert!(err.contains("not a threshold"), "{err}");
        let err = error_of("limits:\n  - name: a\n    key: callr\n    calls: 3/m\n");
        assert!(err.starts_with("t.yaml:3:10: "), "{err}");
        let err = error_of(
            "limits:\n  - name: a\n    key: caller\n    calls: 3/m\n  - name: a\n    key: caller\n    calls: 3/m\n",
        );
        assert!(err.starts_with("t.yaml:5:11: "), "{err}");
        assert!(err.contains("duplicate limit name"), "{err}");
        let err =
            error_of("limits:\n  - name: a\n    key: caller\n    calls: 3/m\n    reply: nope\n");
        assert!(err.contains("unknown reply \"nope\""), "{err}");
    }

    const SCOPED: &str = r#"
rules:
  - { name: friends, caller_in: runtime-allow, action: allow }
  - { name: marketing, caller_in: runtime-block, action: block }
  - { name: trial, caller_in: runtime-block, action: block, shadow: true }
limits:
  - name: pools
    key: caller_prefix
    digits: 7
    distinct: 4/1h
    scope:
      profiles: PROFILES
      rules: RULES
profiles:
  courier-line:
    destination: ["+864000"]
    rules:
      - { name: courier-withheld, caller_is: anonymous, action: block }
"#;

    fn scoped(profiles: &str, rules: &str) -> Result<Config, ConfigError> {
        parse(&SCOPED.replace("PROFILES", profiles).replace("RULES", rules))
    }

    #[test]
    fn a_limit_may_be_scoped_to_profiles_and_rules_defined_later_in_the_file() {
        let c = scoped("[default, courier-line]", "[marketing, courier-withheld]").unwrap();
        let scope = &c.limits[0].scope;
        assert_eq!(scope.profiles, ["default", "courier-line"]);
        assert_eq!(scope.rules, ["marketing", "courier-withheld"]);
        assert!(scope.covers_profile("courier-line"));
        assert!(scope.covers_rule(Some("marketing")));
        assert!(!scope.covers_rule(Some("friends")));
        assert!(!scope.covers_rule(None), "a default decision has no rule");
        let c = scoped("default", "marketing").unwrap();
        assert!(!c.limits[0].scope.covers_profile("courier-line"));
        // Without a scope: every profile, any rule or none.
        let c = parse("limits:\n  - { name: a, key: caller, calls: 3/m }\n").unwrap();
        assert!(c.limits[0].scope.covers_profile("anything"));
        assert!(c.limits[0].scope.covers_rule(None));
    }

    #[test]
    fn unknown_or_useless_scope_names_are_reported_where_they_are_written() {
        let err = scoped("[default, courier]", "marketing")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("t.yaml:12:27: "), "{err}");
        assert!(err.contains("unknown profile \"courier\""), "{err}");
        assert!(err.contains("default, courier-line"), "{err}");
        let err = scoped("default", "[marketing, marketting]")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("t.yaml:13:26: "), "{err}");
        assert!(err.contains("unknown rule \"marketting\""), "{err}");
        let err = scoped("default", "friends").unwrap_err().to_string();
        assert!(err.starts_with("t.yaml:13:14: "), "{err}");
        assert!(err.contains("allows calls"), "{err}");
        let err = scoped("default", "trial").unwrap_err().to_string();
        assert!(err.contains("shadow rule"), "{err}");
        let err = scoped("default", "courier-withheld")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("t.yaml:7:"), "{err}");
        assert!(
            err.contains("belongs to profile \"courier-line\", which scope.profiles leaves out"),
            "{err}"
        );
        let err = error_of(
            "rules:\n  - { name: r, caller_in: runtime-block, action: block }\nlimits:\n  - name: a\n    key: caller\n    calls: 3/m\n    scope: { rules: r, applies_to: unmatched }\n",
        );
        assert!(err.contains("exclude each other"), "{err}");
    }

    #[test]
    fn inconsistent_limits_name_the_limit() {
        for (text, want) in [
            ("key: caller_prefix\n    distinct: 4/h", "needs digits"),
            (
                "key: caller\n    digits: 7\n    calls: 3/m",
                "takes no digits",
            ),
            (
                "key: caller\n    distinct: 4/h",
                "needs a prefix or destination key",
            ),
            ("key: destination", "at least one threshold"),
            (
                "key: caller_prefix\n    digits: 20\n    calls: 3/m",
                "between 1 and 15",
            ),
            ("key: caller\n    calls: 5000/m", "at most 1000"),
            (
                "key: caller\n    calls: 3/m\n    penalty: 2h\n    max_penalty: 1h",
                "shorter than penalty",
            ),
        ] {
            let err = error_of(&format!("limits:\n  - name: x\n    {text}\n"));
            assert!(err.starts_with("t.yaml:2:"), "{err}");
            assert!(err.contains(want), "{text}: {err}");
        }
        let err = error_of("limits:\n  - name: x\n    key: caller\n    calls: 0/m\n");
        assert!(err.starts_with("t.yaml:4:12: "), "{err}");
        assert!(err.contains("at least 1"), "{err}");
    }
}
