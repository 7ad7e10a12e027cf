//! The engine's decision for one call.

use std::fmt;

use crate::config::{Action, Reply, Rule};
use crate::limits::LimitHit;
use crate::numbers::Caller;

/// Why a call got its verdict; set in `callscreen_reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// A list condition (caller or destination in a list) matched.
    List,
    /// The caller withheld its number.
    Anonymous,
    /// The caller ID is not a telephone number.
    Malformed,
    /// A rule whose conditions are a schedule (quiet hours), without list
    /// or class conditions, matched.
    Schedule,
    /// A rule without list, class or schedule conditions matched.
    Rule,
    /// No rule matched; the default action applied.
    Default,
    /// The config could not be loaded; the call was let through.
    Error,
    /// A rate limit or its penalty box refused the call.
    Limit,
}

impl Reason {
    /// The name used in channel variables and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::List => "list",
            Reason::Anonymous => "anonymous",
            Reason::Malformed => "malformed",
            Reason::Schedule => "schedule",
            Reason::Rule => "rule",
            Reason::Default => "default",
            Reason::Error => "error",
            Reason::Limit => "limit",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The decision for one call; borrows rule and reply from the engine.
#[derive(Clone, Copy, Debug)]
pub struct Verdict<'e> {
    /// Allow or block.
    pub action: Action,
    /// The rule that decided (`None`: the default applied).
    pub rule: Option<&'e Rule>,
    /// Why.
    pub reason: Reason,
    /// What a blocked caller gets (`None` for an allowed call).
    pub reply: Option<&'e Reply>,
    /// The caller, normalised.
    pub caller: Caller,
    /// The destination, normalised.
    pub destination: Caller,
    /// The profile whose rules decided (`default`: the top-level rules).
    pub profile: &'e str,
    /// The first shadow rule that matched before the decision: what it would
    /// have done is recorded, not done.
    pub shadow: Option<&'e Rule>,
    /// The limit that refused the call (reason `limit`).
    pub limit: Option<LimitHit<'e>>,
    /// A shadow limit that would have refused it (recorded, not acted on).
    pub shadow_limit: Option<LimitHit<'e>>,
}

impl Verdict<'_> {
    /// The deciding rule's name, or `default`.
    pub fn rule_name(&self) -> &str {
        self.rule.map(|r| r.name.as_str()).unwrap_or("default")
    }

    /// The reply's name, or empty for an allowed call.
    pub fn reply_name(&self) -> &str {
        self.reply.map(|r| r.name.as_str()).unwrap_or("")
    }

    /// The shadow rule's name, or empty when no shadow rule matched.
    pub fn shadow_rule_name(&self) -> &str {
        self.shadow.map(|r| r.name.as_str()).unwrap_or("")
    }
}
