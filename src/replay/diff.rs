//! `callscreen diff`: one history replayed against two configs side by
//! side, each with its own state, to show which calls would change verdict
//! and which rule decided on each side.

use std::io::BufRead;
use std::time::{Duration, Instant};

use super::{outcome_of, Progress, ReplayError, Twin};
use crate::history::TimeOrder;
use crate::summary::Tally;

/// A call whose verdict differs between the two configs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Line in the history.
    pub line: u64,
    /// When the call arrived.
    pub time: std::time::SystemTime,
    /// The UTC offset its time was written with, if any.
    pub offset: Option<i32>,
    /// Caller as received.
    pub caller: String,
    /// Number called.
    pub destination: String,
    /// Old verdict, rule, reason, reply.
    pub old: Side,
    /// New verdict, rule, reason, reply.
    pub new: Side,
}

/// One config's decision on a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Side {
    /// `allow` or `block`.
    pub verdict: String,
    /// The deciding rule.
    pub rule: String,
    /// The reason.
    pub reason: String,
    /// The reply (empty when allowed).
    pub reply: String,
}

/// What a diff found.
#[derive(Clone, Debug, Default)]
pub struct DiffSummary {
    /// Calls replayed.
    pub calls: u64,
    /// Calls whose verdict changed.
    pub changed: u64,
    /// Changed calls by transition: `allow (default) -> block (pool)`.
    pub transitions: Tally,
    /// Calls with the same verdict but another rule or reply.
    pub same_verdict_other_rule: Tally,
    /// The first changed calls.
    pub listed: Vec<Change>,
    /// Wall time.
    pub elapsed: Duration,
}

/// Replays `input` through both twins; keeps the first `list` changes and
/// hands every change to `each` (for `--out`).
pub fn diff(
    old: &mut Twin,
    new: &mut Twin,
    input: &mut TimeOrder<impl BufRead>,
    list: usize,
    progress: &mut Progress,
    each: impl FnMut(&Change) -> std::io::Result<()>,
) -> Result<DiffSummary, ReplayError> {
    let result = diff_calls(old, new, input, list, progress, each);
    // Wiped whether the diff finished or stopped on an error.
    progress.finish();
    result
}

fn diff_calls(
    old: &mut Twin,
    new: &mut Twin,
    input: &mut TimeOrder<impl BufRead>,
    list: usize,
    progress: &mut Progress,
    mut each: impl FnMut(&Change) -> std::io::Result<()>,
) -> Result<DiffSummary, ReplayError> {
    let started = Instant::now();
    let mut d = DiffSummary::default();
    let mut key = String::new();
    while let Some(call) = input.next_call()? {
        d.calls += 1;
        let a = old.screen(call);
        let a = outcome_of(call, &a);
        let b = new.screen(call);
        let b = outcome_of(call, &b);
        key.clear();
        key.push_str(a.verdict);
        key.push_str(" (");
        key.push_str(a.rule);
        key.push_str(") -> ");
        key.push_str(b.verdict);
        key.push_str(" (");
        key.push_str(b.rule);
        key.push(')');
        if a.verdict != b.verdict {
            d.changed += 1;
            d.transitions.add(&key);
            let side = |o: &crate::summary::Outcome<'_>| Side {
                verdict: o.verdict.to_string(),
                rule: o.rule.to_string(),
                reason: o.reason.to_string(),
                reply: o.reply.to_string(),
            };
            let change = Change {
                line: call.line,
                time: call.time,
                offset: call.offset,
                caller: call.caller_number().to_string(),
                destination: call.destination().to_string(),
                old: side(&a),
                new: side(&b),
            };
            each(&change).map_err(ReplayError::Output)?;
            if d.listed.len() < list {
                d.listed.push(change);
            }
        } else if a.rule != b.rule || a.reply != b.reply {
            if a.reply != b.reply {
                key.push_str(" reply ");
                key.push_str(a.reply);
                key.push_str(" -> ");
                key.push_str(b.reply);
            }
            d.same_verdict_other_rule.add(&key);
        }
        progress.tick(d.calls);
    }
    d.elapsed = started.elapsed();
    Ok(d)
}
