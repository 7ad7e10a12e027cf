//! A reply as the list of things FreeSWITCH is asked to do on the call: set
//! a variable, run one of its applications, hang up with a cause, or run a
//! digit collection whose result decides what comes next.

use std::fmt;
use std::time::Duration;

use super::tones::SIT_VACANT;
use crate::config::{Destination, Reply, ReplyKind};
use crate::numbers::E164;

/// Channel variable play_and_get_digits stores a challenge's digits in.
pub const VAR_DIGITS: &str = "callscreen_digits";
/// Where FreeSWITCH's play_and_get_digits puts digits that did not match.
pub const VAR_DIGITS_INVALID: &str = "callscreen_digits_invalid";
/// Channel variable set to `passed` or `failed` after a challenge
/// (`remembered` when an earlier pass let the caller straight through).
pub const VAR_CHALLENGE: &str = "callscreen_challenge";
/// Channel variable holding the allow/block verdict (set again when a challenge is passed).
const VAR_VERDICT: &str = "callscreen_verdict";
/// Channel variable naming the fallback reply a failed challenge led to.
pub const VAR_FALLBACK: &str = "callscreen_fallback";

/// Played between tries when nothing better is configured.
const DEFAULT_INVALID: &str = "silence_stream://250";

/// One thing done to the call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostStep {
    /// Set a channel variable.
    Set {
        /// Variable name.
        name: &'static str,
        /// Value (empty unsets it).
        value: String,
    },
    /// Run a FreeSWITCH application (`pre_answer`, `playback`, `transfer`, …).
    Execute {
        /// Application name.
        app: &'static str,
        /// Its argument.
        arg: String,
    },
    /// Hang up with this cause.
    Hangup {
        /// FreeSWITCH cause name.
        cause: &'static str,
    },
    /// Collect digits, then go on with the pass or the fail steps.
    Challenge(Box<ChallengeStep>),
}

/// A digit collection and what follows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChallengeStep {
    /// Argument of `play_and_get_digits`.
    pub arg: String,
    /// The digits a person presses.
    pub expected: String,
    /// Who to remember as allowed, and for how long, on a pass.
    pub remember: Option<(E164, Duration)>,
    /// After a pass (the call then returns to the dialplan).
    pub on_pass: Vec<HostStep>,
    /// After a failure: the fallback reply.
    pub on_fail: Vec<HostStep>,
}

impl ChallengeStep {
    /// The application a challenge runs.
    pub const APP: &'static str = "play_and_get_digits";
}

impl fmt::Display for HostStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostStep::Set { name, value } => write!(f, "set {name}={value}"),
            HostStep::Execute { app, arg } if arg.is_empty() => write!(f, "{app}"),
            HostStep::Execute { app, arg } => write!(f, "{app} {arg}"),
            HostStep::Hangup { cause } => write!(f, "hangup {cause}"),
            HostStep::Challenge(c) => write!(f, "{} {}", ChallengeStep::APP, c.arg),
        }
    }
}

/// Whether the digits collected are the ones expected. `None` (nothing
/// valid pressed) fails.
pub fn judge(collected: Option<&str>, expected: &str) -> bool {
    collected.map(str::trim) == Some(expected)
}

fn exec(app: &'static str, arg: impl Into<String>) -> HostStep {
    HostStep::Execute {
        app,
        arg: arg.into(),
    }
}

fn transfer_arg(d: &Destination) -> String {
    match &d.context {
        Some(c) => format!("{} {} {c}", d.extension, d.dialplan),
        None => format!("{} {}", d.extension, d.dialplan),
    }
}

/// The steps of a reply that acts on the call (groups and schedules must
/// have been resolved). `caller` is remembered when a challenge is passed;
/// `fallback` is the (resolved) reply a failed challenge gets.
pub fn steps_for(reply: &Reply, caller: Option<E164>, fallback: Option<&Reply>) -> Vec<HostStep> {
    match &reply.kind {
        ReplyKind::Reject { cause } => vec![HostStep::Hangup { cause }],
        ReplyKind::BusyTone {
            country,
            seconds,
            cause,
        } => vec![
            exec("pre_answer", ""),
            exec("playback", country.busy_tone(*seconds)),
            HostStep::Hangup { cause },
        ],
        ReplyKind::Ringout {
            country,
            seconds,
            cause,
        } => vec![
            exec("pre_answer", ""),
            exec("playback", country.ringback_tone(*seconds)),
            HostStep::Hangup { cause },
        ],
        ReplyKind::Vacant { message, cause } => {
            let mut steps = vec![exec("pre_answer", ""), exec("playback", SIT_VACANT)];
            if let Some(m) = message {
                steps.push(exec("playback", m.expanded.clone()));
            }
            steps.push(HostStep::Hangup { cause });
            steps
        }
        ReplyKind::Message {
            file,
            answer,
            cause,
        } => vec![
            exec(if *answer { "answer" } else { "pre_answer" }, ""),
            exec("playback", file.expanded.clone()),
            HostStep::Hangup { cause },
        ],
        ReplyKind::Voicemail(d) | ReplyKind::Transfer(d) => vec![exec("transfer", transfer_arg(d))],
        ReplyKind::Challenge(c) => {
            let n = c.digits.len();
            let timeout_ms = c.timeout.as_millis();
            let invalid = c
                .invalid
                .as_ref()
                .map(|p| p.expanded.as_str())
                .unwrap_or(DEFAULT_INVALID);
            // min max tries timeout terminators prompt invalid var regex digit_timeout
            let arg = format!(
                "{n} {n} {} {timeout_ms} # {} {invalid} {VAR_DIGITS} ^{}$ {timeout_ms}",
                c.tries, c.prompt.expanded, c.digits
            );
            let mut on_fail = vec![HostStep::Set {
                name: VAR_CHALLENGE,
                value: "failed".into(),
            }];
            if let Some(f) = fallback {
                on_fail.push(HostStep::Set {
                    name: VAR_FALLBACK,
                    value: f.name.clone(),
                });
                on_fail.extend(steps_for(f, None, None));
            }
            vec![
                exec("answer", ""),
                HostStep::Set {
                    name: VAR_DIGITS,
                    value: String::new(),
                },
                HostStep::Challenge(Box::new(ChallengeStep {
                    arg,
                    expected: c.digits.clone(),
                    remember: caller.zip(c.remember),
                    on_pass: vec![
                        HostStep::Set {
                            name: VAR_CHALLENGE,
                            value: "passed".into(),
                        },
                        HostStep::Set {
                            name: VAR_VERDICT,
                            value: "allow".into(),
                        },
                    ],
                    on_fail,
                })),
            ]
        }
        // Choices never reach here once resolved; acting safely anyway.
        ReplyKind::Group { .. } | ReplyKind::Schedule { .. } => vec![HostStep::Hangup {
            cause: "CALL_REJECTED",
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_right_digits_pass_and_anything_else_fails() {
        assert!(judge(Some("1"), "1"));
        assert!(judge(Some(" 42 "), "42"));
        assert!(!judge(Some("2"), "1"));
        assert!(!judge(Some(""), "1"));
        assert!(!judge(None, "1"));
        assert!(!judge(Some("11"), "1"));
    }
}
