//! The `replies:` section: what a blocked caller gets, by name.
//!
//! A reply is either something FreeSWITCH does to the call (reject, busy
//! tone, SIT tones, message, transfer, challenge, ringout) or a choice among
//! other replies (a group picked by weight, round-robin or at random; a
//! schedule). Choices are resolved per call by `replies::select`.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::audio::AudioPath;
use super::fields::{validated_str, CauseName, ReplyName};
use crate::replies::tones::Country;
use crate::replies::when::{parse_utc_offset, Days, Hours, When};

/// The reply every config has, used when nothing else is said.
pub const BUILTIN_REPLY: &str = "rejected";

/// The reasons a default reply can be given for (`defaults.reply_for`).
pub const REASON_NAMES: &[&str] = &[
    "list",
    "limit",
    "anonymous",
    "malformed",
    "schedule",
    "rule",
    "default",
];

/// How a group picks one of its members.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pick {
    /// At random, each member as likely as its weight says.
    Weighted,
    /// In turn, in the order written (a member of weight 2 gets two turns).
    RoundRobin,
    /// At random, every member equally likely.
    Random,
}

impl Pick {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Pick::Weighted => "weighted",
            Pick::RoundRobin => "round_robin",
            Pick::Random => "random",
        }
    }
}

/// A member of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Index into `Config::replies`.
    pub reply: usize,
    /// Relative weight (≥ 1).
    pub weight: u32,
}

/// A case of a `schedule` reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// When it applies.
    pub when: When,
    /// Index into `Config::replies`.
    pub reply: usize,
}

/// A challenge: answer, play a prompt, collect digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// What the caller hears (e.g. "press 1 to be connected").
    pub prompt: AudioPath,
    /// Played after a wrong entry, before the next try.
    pub invalid: Option<AudioPath>,
    /// The digits a person must press (0-9).
    pub digits: String,
    /// How many times the prompt is played.
    pub tries: u32,
    /// How long to wait for the digits after each prompt.
    pub timeout: Duration,
    /// How long a caller who passed is let straight through (`None`: not remembered).
    pub remember: Option<Duration>,
    /// What a caller who fails gets (index into `Config::replies`).
    pub fallback: usize,
}

/// Where a transfer goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    /// Dialplan extension (destination number).
    pub extension: String,
    /// Dialplan type (`XML`).
    pub dialplan: String,
    /// Context; `None` keeps the call's current one.
    pub context: Option<String>,
}

/// What a blocked caller gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplyKind {
    /// Hang up before answer with this cause (SIP maps it: USER_BUSY → 486…).
    Reject {
        /// Canonical FreeSWITCH cause name.
        cause: &'static str,
    },
    /// Early media busy tone of a country, then a cause.
    BusyTone {
        /// Whose cadence.
        country: Country,
        /// How long it plays.
        seconds: u32,
        /// Hangup cause afterwards.
        cause: &'static str,
    },
    /// Early media SIT tones, optionally a message, then a cause (UNALLOCATED_NUMBER).
    Vacant {
        /// "The number you have dialled does not exist".
        message: Option<AudioPath>,
        /// Hangup cause afterwards.
        cause: &'static str,
    },
    /// Play a file, then hang up.
    Message {
        /// What is played.
        file: AudioPath,
        /// Answer first (else early media).
        answer: bool,
        /// Hangup cause afterwards.
        cause: &'static str,
    },
    /// Hand the call to voicemail (a dialplan extension).
    Voicemail(Destination),
    /// Hand the call to a dialplan extension.
    Transfer(Destination),
    /// Ask for digits; pass continues the dialplan, fail gets the fallback.
    Challenge(Challenge),
    /// Early media ringback for a while, then a cause.
    Ringout {
        /// Whose ringback cadence.
        country: Country,
        /// How long it rings.
        seconds: u32,
        /// Hangup cause afterwards.
        cause: &'static str,
    },
    /// One of several replies, picked per call.
    Group {
        /// How.
        pick: Pick,
        /// Among which.
        members: Vec<Member>,
    },
    /// A reply that depends on the time.
    Schedule {
        /// The first case whose window holds decides.
        cases: Vec<Case>,
        /// Otherwise this one.
        otherwise: usize,
    },
}

impl ReplyKind {
    /// The kind's config name.
    pub fn name(&self) -> &'static str {
        match self {
            ReplyKind::Reject { .. } => "reject",
            ReplyKind::BusyTone { .. } => "busy_tone",
            ReplyKind::Vacant { .. } => "vacant",
            ReplyKind::Message { .. } => "message",
            ReplyKind::Voicemail(_) => "voicemail",
            ReplyKind::Transfer(_) => "transfer",
            ReplyKind::Challenge(_) => "challenge",
            ReplyKind::Ringout { .. } => "ringout",
            ReplyKind::Group { .. } => "group",
            ReplyKind::Schedule { .. } => "schedule",
        }
    }

    /// Whether this is a choice among replies rather than something done to the call.
    pub fn is_choice(&self) -> bool {
        matches!(self, ReplyKind::Group { .. } | ReplyKind::Schedule { .. })
    }
}

impl fmt::Display for ReplyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyKind::Reject { cause } => write!(f, "reject {cause}"),
            ReplyKind::BusyTone {
                country,
                seconds,
                cause,
            } => write!(f, "busy_tone {country} {seconds}s then {cause}"),
            ReplyKind::Vacant { message, cause } => match message {
                Some(m) => write!(f, "vacant SIT + {} then {cause}", m.written),
                None => write!(f, "vacant SIT then {cause}"),
            },
            ReplyKind::Message {
                file,
                answer,
                cause,
            } => write!(
                f,
                "message {} ({}) then {cause}",
                file.written,
                if *answer { "answered" } else { "early media" }
            ),
            ReplyKind::Voicemail(d) | ReplyKind::Transfer(d) => {
                write!(f, "{} to {} {}", self.name(), d.extension, d.dialplan)?;
                if let Some(c) = &d.context {
                    write!(f, " {c}")?;
                }
                Ok(())
            }
            ReplyKind::Challenge(c) => write!(
                f,
                "challenge press {} ({} tries, {}s)",
                c.digits,
                c.tries,
                c.timeout.as_secs()
            ),
            ReplyKind::Ringout {
                country,
                seconds,
                cause,
            } => write!(f, "ringout {country} {seconds}s then {cause}"),
            ReplyKind::Group { pick, members } => {
                write!(f, "group {} of {}", pick.as_str(), members.len())
            }
            ReplyKind::Schedule { cases, .. } => write!(f, "schedule of {} cases", cases.len()),
        }
    }
}

/// A named reply from the `replies:` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The name rules use.
    pub name: String,
    /// What it does.
    pub kind: ReplyKind,
}

/// Default replies by reason (`defaults.reply_for`), each an index into
/// `Config::replies`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReasonReplies(pub Vec<(&'static str, usize)>);

impl ReasonReplies {
    /// The reply for a reason name (`list`, `anonymous`, …), if one is set.
    /// Allocation-free.
    pub fn get(&self, reason: &str) -> Option<usize> {
        self.0.iter().find(|(r, _)| *r == reason).map(|(_, i)| *i)
    }
}

/// A set of default replies: per reason, then one for everything. Config has
/// one; a profile (destination-specific policy) can carry its own, consulted
/// first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplyDefaults {
    /// Per reason.
    pub by_reason: ReasonReplies,
    /// For any reason.
    pub reply: Option<usize>,
}

// ---- parsing -------------------------------------------------------------

/// A reply as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReplySpec {
    kind: KindName,
    #[serde(default)]
    cause: Option<CauseName>,
    #[serde(default)]
    country: Option<CountryName>,
    #[serde(default)]
    seconds: Option<u32>,
    #[serde(default)]
    file: Option<AudioPath>,
    #[serde(default)]
    answer: Option<bool>,
    #[serde(default)]
    extension: Option<Word>,
    #[serde(default)]
    dialplan: Option<Word>,
    #[serde(default)]
    context: Option<Word>,
    #[serde(default)]
    prompt: Option<AudioPath>,
    #[serde(default)]
    invalid_file: Option<AudioPath>,
    #[serde(default)]
    digits: Option<ExpectedDigits>,
    #[serde(default)]
    tries: Option<u32>,
    #[serde(default)]
    timeout: Option<u32>,
    #[serde(default)]
    remember: Option<DurationText>,
    #[serde(default)]
    fallback: Option<ReplyName>,
    #[serde(default)]
    pick: Option<Pick>,
    #[serde(default)]
    replies: Option<Members>,
    #[serde(default)]
    cases: Option<Vec<CaseSpec>>,
    #[serde(default)]
    otherwise: Option<ReplyName>,
}

#[derive(Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum KindName {
    Reject,
    BusyTone,
    Vacant,
    Message,
    Voicemail,
    Transfer,
    Challenge,
    Ringout,
    Group,
    Schedule,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseSpec {
    when: WhenSpec,
    reply: ReplyName,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WhenSpec {
    #[serde(default)]
    days: Option<DaysField>,
    #[serde(default)]
    hours: Option<HoursField>,
    #[serde(default)]
    utc_offset: Option<OffsetField>,
}

struct CountryName(Country);

impl<'de> Deserialize<'de> for CountryName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, "a country code such as cn, us or eu", |v| {
            Country::from_name(v).map(CountryName).ok_or_else(|| {
                format!("unknown tone country {v:?} (cn, us, eu/itu, uk, de, fr, jp, au)")
            })
        })
    }
}

/// A dialplan word: no spaces.
struct Word(String);

impl<'de> Deserialize<'de> for Word {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Word;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a word without spaces")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Word, E> {
                if !super::fields::is_word(v) {
                    Err(E::custom(format!(
                        "{v:?} must be a non-empty word without spaces"
                    )))
                } else {
                    Ok(Word(v.to_string()))
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Word, E> {
                Ok(Word(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// The digits a challenge expects: quoted, 0-9.
struct ExpectedDigits(String);

impl<'de> Deserialize<'de> for ExpectedDigits {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ExpectedDigits;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("the digits to press, in quotes, like \"1\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ExpectedDigits, E> {
                if !v.is_empty() && v.len() <= 8 && v.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(ExpectedDigits(v.to_string()))
                } else {
                    Err(E::custom(format!("digits {v:?} must be 1 to 8 digits 0-9")))
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ExpectedDigits, E> {
                Err(E::custom(format!(
                    "write the digits in quotes (\"{v}\"): YAML drops leading zeros of numbers"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

/// `30s`, `15m`, `12h`, `7d`.
struct DurationText(Duration);

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, "a duration like 30m, 12h or 7d", |v| {
            parse_duration(v).map(DurationText)
        })
    }
}

/// Parses `30s`, `15m`, `12h`, `7d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let bad = || format!("duration {text:?} must be a number and a unit: 30s, 15m, 12h, 7d");
    let unit = t.chars().last().ok_or_else(bad)?;
    let n: u64 = t[..t.len() - unit.len_utf8()].parse().map_err(|_| bad())?;
    let secs = match unit {
        's' => n,
        'm' => n.saturating_mul(60),
        'h' => n.saturating_mul(3600),
        'd' => n.saturating_mul(86_400),
        _ => return Err(bad()),
    };
    if secs == 0 || secs > 366 * 86_400 {
        return Err(format!("duration {text:?} must be between 1s and 366d"));
    }
    Ok(Duration::from_secs(secs))
}

struct DaysField(Days);

impl<'de> Deserialize<'de> for DaysField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, "days such as mon-fri or sat,sun", |v| {
            Days::parse(v).map(DaysField)
        })
    }
}

struct HoursField(Vec<Hours>);

impl<'de> Deserialize<'de> for HoursField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, "hours such as \"09:00-18:00\"", |v| {
            v.split(',')
                .map(Hours::parse)
                .collect::<Result<Vec<_>, _>>()
                .map(HoursField)
        })
    }
}

struct OffsetField(i16);

impl<'de> Deserialize<'de> for OffsetField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, "a UTC offset such as \"+08:00\"", |v| {
            parse_utc_offset(v).map(OffsetField)
        })
    }
}

/// A group's members: `[busy, vacant]` (equal weights) or `{busy: 3, vacant: 1}`.
struct Members(Vec<(String, u32)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of reply names, or a map of reply name to weight")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Members, A::Error> {
                let mut all = Vec::new();
                while let Some(ReplyName(name)) = seq.next_element()? {
                    all.push((name, 1));
                }
                Ok(Members(all))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut all: Vec<(String, u32)> = Vec::new();
                while let Some(ReplyName(name)) = map.next_key()? {
                    let weight: u32 = map.next_value()?;
                    if weight == 0 || weight > 1000 {
                        return Err(de::Error::custom(format!(
                            "weight of {name:?} must be from 1 to 1000"
                        )));
                    }
                    if all.iter().any(|(n, _)| *n == name) {
                        return Err(de::Error::custom(format!("{name:?} is listed twice")));
                    }
                    all.push((name, weight));
                }
                Ok(Members(all))
            }
        }
        d.deserialize_any(V)
    }
}

/// A reason name in `defaults.reply_for`.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct ReasonName(pub(super) &'static str);

impl<'de> Deserialize<'de> for ReasonName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, "a reason name", |v| {
            REASON_NAMES
                .iter()
                .find(|r| **r == v)
                .map(|r| ReasonName(r))
                .ok_or_else(|| {
                    format!(
                        "unknown reason {v:?} (reasons: {})",
                        REASON_NAMES.join(", ")
                    )
                })
        })
    }
}

/// What the rest of the config tells reply resolution.
pub(super) struct ReplyEnv<'a> {
    /// Tone plan when a reply names no country.
    pub(super) default_country: Country,
    /// Index of a reply by name (names are already validated).
    pub(super) index: &'a dyn Fn(&str) -> usize,
}

/// Turns a written reply into its kind, or says what is wrong with it.
pub(super) fn resolve_kind(spec: ReplySpec, env: &ReplyEnv<'_>) -> Result<ReplyKind, String> {
    use KindName as K;
    let kind = spec.kind;
    // Which optional fields each kind reads; any other one is a mistake.
    let allowed: &[&str] = match kind {
        K::Reject => &["cause"],
        K::BusyTone | K::Ringout => &["cause", "country", "seconds"],
        K::Vacant => &["cause", "file"],
        K::Message => &["cause", "file", "answer"],
        K::Voicemail | K::Transfer => &["extension", "dialplan", "context"],
        K::Challenge => &[
            "prompt",
            "invalid_file",
            "digits",
            "tries",
            "timeout",
            "remember",
            "fallback",
        ],
        K::Group => &["pick", "replies"],
        K::Schedule => &["cases", "otherwise"],
    };
    let present = [
        ("cause", spec.cause.is_some()),
        ("country", spec.country.is_some()),
        ("seconds", spec.seconds.is_some()),
        ("file", spec.file.is_some()),
        ("answer", spec.answer.is_some()),
        ("extension", spec.extension.is_some()),
        ("dialplan", spec.dialplan.is_some()),
        ("context", spec.context.is_some()),
        ("prompt", spec.prompt.is_some()),
        ("invalid_file", spec.invalid_file.is_some()),
        ("digits", spec.digits.is_some()),
        ("tries", spec.tries.is_some()),
        ("timeout", spec.timeout.is_some()),
        ("remember", spec.remember.is_some()),
        ("fallback", spec.fallback.is_some()),
        ("pick", spec.pick.is_some()),
        ("replies", spec.replies.is_some()),
        ("cases", spec.cases.is_some()),
        ("otherwise", spec.otherwise.is_some()),
    ];
    let kind_name = kind_name(kind);
    if let Some((field, _)) = present.iter().find(|(f, set)| *set && !allowed.contains(f)) {
        return Err(format!(
            "`{field}` does not apply to kind {kind_name} (it takes: {})",
            allowed.join(", ")
        ));
    }
    let cause = |default: &'static str| spec.cause.as_ref().map(|c| c.0).unwrap_or(default);
    let country = spec
        .country
        .as_ref()
        .map(|c| c.0)
        .unwrap_or(env.default_country);
    let seconds = |default: u32| -> Result<u32, String> {
        match spec.seconds {
            Some(s) if s == 0 || s > 600 => Err(format!("seconds {s} must be from 1 to 600")),
            Some(s) => Ok(s),
            None => Ok(default),
        }
    };
    Ok(match kind {
        K::Reject => ReplyKind::Reject {
            cause: cause("CALL_REJECTED"),
        },
        K::BusyTone => ReplyKind::BusyTone {
            country,
            seconds: seconds(8)?,
            cause: cause("USER_BUSY"),
        },
        K::Ringout => ReplyKind::Ringout {
            country,
            seconds: seconds(30)?,
            cause: cause("NO_ANSWER"),
        },
        K::Vacant => ReplyKind::Vacant {
            message: spec.file,
            cause: cause("UNALLOCATED_NUMBER"),
        },
        K::Message => ReplyKind::Message {
            file: spec
                .file
                .ok_or("kind message needs `file` (the recording to play)")?,
            answer: spec.answer.unwrap_or(false),
            cause: cause("NORMAL_CLEARING"),
        },
        K::Voicemail | K::Transfer => {
            let destination = Destination {
                extension: spec
                    .extension
                    .ok_or_else(|| format!("kind {kind_name} needs `extension`"))?
                    .0,
                dialplan: spec.dialplan.map(|w| w.0).unwrap_or_else(|| "XML".into()),
                context: spec.context.map(|w| w.0),
            };
            if kind == K::Voicemail {
                ReplyKind::Voicemail(destination)
            } else {
                ReplyKind::Transfer(destination)
            }
        }
        K::Challenge => {
            let tries = spec.tries.unwrap_or(3);
            if !(1..=10).contains(&tries) {
                return Err(format!("tries {tries} must be from 1 to 10"));
            }
            let timeout = spec.timeout.unwrap_or(5);
            if !(1..=60).contains(&timeout) {
                return Err(format!("timeout {timeout} must be from 1 to 60 seconds"));
            }
            ReplyKind::Challenge(Challenge {
                prompt: spec
                    .prompt
                    .ok_or("kind challenge needs `prompt` (what the caller hears)")?,
                invalid: spec.invalid_file,
                digits: spec
                    .digits
                    .ok_or("kind challenge needs `digits` (what a person presses)")?
                    .0,
                tries,
                timeout: Duration::from_secs(u64::from(timeout)),
                remember: spec.remember.map(|d| d.0),
                fallback: (env.index)(
                    spec.fallback
                        .as_ref()
                        .map(|n| n.0.as_str())
                        .unwrap_or(BUILTIN_REPLY),
                ),
            })
        }
        K::Group => {
            let members = spec.replies.ok_or("kind group needs `replies`")?.0;
            if members.is_empty() {
                return Err("a group needs at least one reply".into());
            }
            let pick = spec.pick.unwrap_or(Pick::Random);
            if pick == Pick::Random && members.iter().any(|(_, w)| *w != 1) {
                return Err(
                    "pick random gives every member the same chance; use pick weighted for weights"
                        .into(),
                );
            }
            ReplyKind::Group {
                pick,
                members: members
                    .into_iter()
                    .map(|(name, weight)| Member {
                        reply: (env.index)(&name),
                        weight,
                    })
                    .collect(),
            }
        }
        K::Schedule => {
            let cases = spec
                .cases
                .ok_or("kind schedule needs `cases`")?
                .into_iter()
                .map(|c| Case {
                    when: When {
                        days: c.when.days.map(|d| d.0).unwrap_or(Days::ALL),
                        hours: c.when.hours.map(|h| h.0).unwrap_or_default(),
                        utc_offset_minutes: c.when.utc_offset.map(|o| o.0).unwrap_or(0),
                    },
                    reply: (env.index)(&c.reply.0),
                })
                .collect();
            ReplyKind::Schedule {
                cases,
                otherwise: (env.index)(
                    &spec
                        .otherwise
                        .ok_or("kind schedule needs `otherwise` (the reply outside every case)")?
                        .0,
                ),
            }
        }
    })
}

fn kind_name(kind: KindName) -> &'static str {
    match kind {
        KindName::Reject => "reject",
        KindName::BusyTone => "busy_tone",
        KindName::Vacant => "vacant",
        KindName::Message => "message",
        KindName::Voicemail => "voicemail",
        KindName::Transfer => "transfer",
        KindName::Challenge => "challenge",
        KindName::Ringout => "ringout",
        KindName::Group => "group",
        KindName::Schedule => "schedule",
    }
}

/// Checks the replies as a whole: no group or schedule contains itself, and
/// a challenge's fallback never leads to another challenge. Returns the name
/// of the reply at fault and why.
pub(super) fn check_graph(replies: &[Reply]) -> Result<(), (String, String)> {
    fn children(kind: &ReplyKind) -> Vec<usize> {
        match kind {
            ReplyKind::Group { members, .. } => members.iter().map(|m| m.reply).collect(),
            ReplyKind::Schedule { cases, otherwise } => cases
                .iter()
                .map(|c| c.reply)
                .chain(std::iter::once(*otherwise))
                .collect(),
            _ => Vec::new(),
        }
    }
    // Cycles among choices (depth-first, three colours).
    fn visit(
        i: usize,
        replies: &[Reply],
        state: &mut [u8],
        path: &mut Vec<usize>,
    ) -> Result<(), (String, String)> {
        match state[i] {
            2 => return Ok(()),
            1 => {
                let start = path.iter().position(|&p| p == i).unwrap_or(0);
                let names: Vec<&str> = path[start..]
                    .iter()
                    .chain(std::iter::once(&i))
                    .map(|&p| replies[p].name.as_str())
                    .collect();
                return Err((
                    replies[i].name.clone(),
                    format!(
                        "reply {} contains itself: {}",
                        replies[i].name,
                        names.join(" → ")
                    ),
                ));
            }
            _ => {}
        }
        state[i] = 1;
        path.push(i);
        for c in children(&replies[i].kind) {
            visit(c, replies, state, path)?;
        }
        path.pop();
        state[i] = 2;
        Ok(())
    }
    let mut state = vec![0u8; replies.len()];
    for i in 0..replies.len() {
        visit(i, replies, &mut state, &mut Vec::new())?;
    }
    // A fallback must end the call without asking again.
    for r in replies {
        if let ReplyKind::Challenge(c) = &r.kind {
            let mut stack = vec![c.fallback];
            let mut seen = vec![false; replies.len()];
            while let Some(i) = stack.pop() {
                if std::mem::replace(&mut seen[i], true) {
                    continue;
                }
                if matches!(replies[i].kind, ReplyKind::Challenge(_)) {
                    return Err((
                        r.name.clone(),
                        format!(
                            "the fallback of challenge {} can lead to challenge {}; a fallback must not ask again",
                            r.name, replies[i].name
                        ),
                    ));
                }
                stack.extend(children(&replies[i].kind));
            }
        }
    }
    Ok(())
}

/// Builds the reply list: the built-in `rejected` first, then the file's in
/// order of name. Errors name the reply.
pub(super) fn resolve_all(
    specs: BTreeMap<String, ReplySpec>,
    default_country: Country,
) -> Result<Vec<Reply>, (String, String)> {
    let mut names: Vec<String> = vec![BUILTIN_REPLY.to_string()];
    names.extend(specs.keys().filter(|n| *n != BUILTIN_REPLY).cloned());
    let index = |name: &str| names.iter().position(|n| n == name).unwrap_or(0);
    let env = ReplyEnv {
        default_country,
        index: &index,
    };
    let mut replies: Vec<Reply> = names
        .iter()
        .map(|n| Reply {
            name: n.clone(),
            kind: ReplyKind::Reject {
                cause: "CALL_REJECTED",
            },
        })
        .collect();
    for (name, spec) in specs {
        let kind = resolve_kind(spec, &env).map_err(|m| (name.clone(), m))?;
        replies[index(&name)].kind = kind;
    }
    check_graph(&replies)?;
    Ok(replies)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::{Config, LoadOptions};
    use std::path::Path;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, Path::new("t.yaml")).map_err(|e| e.to_string())
    }

    fn kind_of(c: &Config, name: &str) -> ReplyKind {
        c.replies
            .iter()
            .find(|r| r.name == name)
            .unwrap()
            .kind
            .clone()
    }

    #[test]
    fn every_kind_is_read_with_its_defaults() {
        let c = parse(
            r#"
numbering: { country_code: "1" }
replies:
  no: { kind: reject, cause: call_rejected }
  busy: { kind: busy_tone }
  busy-cn: { kind: busy_tone, country: cn, seconds: 4, cause: USER_BUSY }
  gone: { kind: vacant }
  msg: { kind: message, file: "tone_stream://%(1000,0,440)", answer: true }
  vm: { kind: voicemail, extension: "vm-1000", context: default }
  desk: { kind: transfer, extension: 1000 }
  robot-check:
    kind: challenge
    prompt: "tone_stream://%(200,0,800)"
    digits: "1"
    remember: 30d
    fallback: gone
  ring: { kind: ringout }
"#,
        )
        .unwrap();
        assert_eq!(
            kind_of(&c, "no"),
            ReplyKind::Reject {
                cause: "CALL_REJECTED"
            }
        );
        // The tone plan follows the numbering plan's country (+1: US) unless given.
        assert_eq!(
            kind_of(&c, "busy"),
            ReplyKind::BusyTone {
                country: Country::Us,
                seconds: 8,
                cause: "USER_BUSY"
            }
        );
        assert_eq!(
            kind_of(&c, "busy-cn"),
            ReplyKind::BusyTone {
                country: Country::Cn,
                seconds: 4,
                cause: "USER_BUSY"
            }
        );
        assert_eq!(
            kind_of(&c, "gone"),
            ReplyKind::Vacant {
                message: None,
                cause: "UNALLOCATED_NUMBER"
            }
        );
        assert!(matches!(
            kind_of(&c, "msg"),
            ReplyKind::Message {
                answer: true,
                cause: "NORMAL_CLEARING",
                ..
            }
        ));
        assert_eq!(
            kind_of(&c, "vm"),
            ReplyKind::Voicemail(Destination {
                extension: "vm-1000".into(),
                dialplan: "XML".into(),
                context: Some("default".into())
            })
        );
        assert!(matches!(kind_of(&c, "desk"), ReplyKind::Transfer(d) if d.extension == "1000"));
        let ReplyKind::Challenge(ch) = kind_of(&c, "robot-check") else {
            panic!()
        };
        assert_eq!(
            (ch.digits.as_str(), ch.tries, ch.timeout.as_secs()),
            ("1", 3, 5)
        );
        assert_eq!(ch.remember, Some(Duration::from_secs(30 * 86_400)));
        assert_eq!(c.replies[ch.fallback].name, "gone");
        assert_eq!(
            kind_of(&c, "ring"),
            ReplyKind::Ringout {
                country: Country::Us,
                seconds: 30,
                cause: "NO_ANSWER"
            }
        );
    }

    #[test]
    fn mistakes_in_a_reply_are_reported_at_the_reply() {
        let err = parse("replies:\n  b:\n    kind: busy_tone\n    file: \"tone_stream://x\"\n")
            .unwrap_err();
        assert!(
            err.starts_with("t.yaml:2:3: replies.b: `file` does not apply to kind busy_tone"),
            "{err}"
        );
        let err = parse("replies:\n  c: {kind: challenge, digits: \"1\"}\n").unwrap_err();
        assert!(
            err.starts_with("t.yaml:2:3: replies.c: kind challenge needs `prompt`"),
            "{err}"
        );
        let err = parse("replies:\n  c: {kind: busy_tone, country: mars}\n").unwrap_err();
        assert!(err.starts_with("t.yaml:2:"), "{err}");
        assert!(err.contains("unknown tone country \"mars\""), "{err}");
        let err =
            parse("replies:\n  c: {kind: challenge, prompt: \"tone_stream://x\", digits: 1}\n")
                .unwrap_err();
        assert!(err.contains("in quotes"), "{err}");
        let err = parse("replies:\n  g: {kind: group, pick: random, replies: {rejected: 2}}\n")
            .unwrap_err();
        assert!(err.contains("use pick weighted"), "{err}");
        let err = parse("replies:\n  g: {kind: group, replies: [nope]}\n").unwrap_err();
        assert!(err.starts_with("t.yaml:2:"), "{err}");
        assert!(err.contains("unknown reply \"nope\""), "{err}");
        let err = parse("defaults:\n  reply_for: {lists: rejected}\n").unwrap_err();
        assert!(err.contains("unknown reason \"lists\""), "{err}");
    }

    #[test]
    fn groups_cannot_contain_themselves_and_fallbacks_cannot_ask_again() {
        let err = parse(
            "replies:\n  a: {kind: group, replies: [b]}\n  b: {kind: group, replies: [rejected, a]}\n",
        )
        .unwrap_err();
        assert!(err.contains("contains itself: a → b → a"), "{err}");
        let err = parse(
            "replies:\n  ask: {kind: challenge, prompt: \"tone_stream://x\", digits: \"1\", fallback: mix}\n  mix: {kind: group, replies: [rejected, ask]}\n",
        )
        .unwrap_err();
        assert!(
            err.starts_with(
                "t.yaml:2:3: replies.ask: the fallback of challenge ask can lead to challenge ask"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_missing_audio_file_is_an_error_at_its_line() {
        let dir = std::env::temp_dir().join(format!("callscreen-replies-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("gone.wav"), b"RIFF").unwrap();
        let mut options = LoadOptions {
            strict: true,
            ..LoadOptions::default()
        };
        options
            .vars
            .insert("sounds_dir".into(), dir.display().to_string());
        let text = "replies:\n  m:\n    kind: vacant\n    file: $${sounds_dir}/gone.wav\n  n:\n    kind: message\n    file: $${sounds_dir}/missing.wav\n";
        let err = Config::parse_with(text, Path::new("t.yaml"), &options)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("t.yaml:7:11: "), "{err}");
        assert!(
            err.contains("missing.wav not found (written as \"$${sounds_dir}/missing.wav\")"),
            "{err}"
        );
        std::fs::write(dir.join("missing.wav"), b"RIFF").unwrap();
        let c = Config::parse_with(text, Path::new("t.yaml"), &options).unwrap();
        let ReplyKind::Vacant {
            message: Some(m), ..
        } = kind_of(&c, "m")
        else {
            panic!()
        };
        assert_eq!(m.expanded, format!("{}/gone.wav", dir.display()));
        // Offline without the variable: loaded, with a note.
        let c = Config::parse(text, Path::new("t.yaml")).unwrap();
        assert_eq!(c.notes.len(), 2, "{:?}", c.notes);
        assert!(c.notes[0].contains("not checked"), "{:?}", c.notes);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn durations_have_units() {
        assert_eq!(parse_duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(604_800));
        assert!(parse_duration("7").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("é").is_err());
    }

    #[test]
    fn replies_are_located_under_their_section() {
        let text = "rules:\n  - name: busy\nreplies:\n  other: {}\n  busy:\n    kind: x\n";
        assert_eq!(
            crate::config::key_position(text, "replies", "busy"),
            Some((5, 3))
        );
        assert_eq!(crate::config::key_position(text, "replies", "nope"), None);
    }
}
