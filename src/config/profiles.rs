//! The `profiles:` section: named rule sets. The dialplan picks one with
//! `callscreen profile=NAME`; without it, the first profile whose
//! `destination` patterns match the number called applies, else the
//! top-level rules (the profile named `default`).

use serde::Deserialize;

use super::fields::{validated_str, OneOrMany, PatternEntry};
use super::rules::RuleSpec;
use super::{Action, DefaultsSpec, Profile, ReasonReplies, ReplyDefaults};

/// The name of the top-level rules as a profile.
pub const DEFAULT_PROFILE: &str = "default";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProfileSpec {
    #[serde(default)]
    destination: OneOrMany<PatternEntry>,
    #[serde(default)]
    rules: Vec<RuleSpec>,
    #[serde(default)]
    defaults: Option<DefaultsSpec>,
}

impl ProfileSpec {
    pub(super) fn resolve(
        self,
        name: String,
        fallback: (Action, usize),
        list_index: &dyn Fn(&str) -> usize,
        reply_index: &dyn Fn(&str) -> usize,
    ) -> Profile {
        let (default_action, default_reply, replies) = match self.defaults {
            Some(d) => {
                let own = d.reply.map(|r| reply_index(&r.0));
                let by_reason = ReasonReplies(
                    d.reply_for
                        .iter()
                        .map(|(reason, reply)| (reason.0, reply_index(&reply.0)))
                        .collect(),
                );
                (
                    d.action,
                    own.unwrap_or(fallback.1),
                    ReplyDefaults {
                        by_reason,
                        reply: own,
                    },
                )
            }
            None => (fallback.0, fallback.1, ReplyDefaults::default()),
        };
        Profile {
            name,
            destinations: self.destination.0.into_iter().map(|p| p.0).collect(),
            rules: self
                .rules
                .into_iter()
                .map(|r| r.resolve(list_index, reply_index))
                .collect(),
            default_action,
            default_reply,
            replies,
        }
    }
}

/// A profile's name: a word, not the reserved `default`.
pub(super) struct ProfileName(pub(super) String);

impl AsRef<str> for ProfileName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for ProfileName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, "a profile name", |name| {
            if name == DEFAULT_PROFILE {
                Err(format!(
                    "profile name {DEFAULT_PROFILE:?} is reserved for the top-level rules"
                ))
            } else if !super::fields::is_word(name) || name.contains('=') {
                Err(format!(
                    "profile name {name:?} must be a non-empty word without spaces or '='"
                ))
            } else {
                Ok(ProfileName(name.to_string()))
            }
        })
    }
}
