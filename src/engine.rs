//! The screening engine: a compiled config and the decision for one call.
//!
//! `Engine::screen` is the hot path. It allocates nothing: numbers are
//! normalised on the stack, lists are hash sets and tries, and the verdict
//! borrows rule and reply from the engine.

use std::time::SystemTime;

use crate::config::limits::{AppliesTo, Limit};
use crate::config::{Action, CallerClass, Config, Reply, Rule};
use crate::limits::store::LimitStore;
use crate::limits::table::Observation;
use crate::limits::{counters_text, unix_seconds, LevelReport, LimitHit, Limiter};
use crate::number_set::{NumberSet, SetMatch};
use crate::numbers::Caller;
use crate::verdict::{Reason, Verdict};

/// What the engine needs to know about a call.
#[derive(Clone, Copy, Debug, Default)]
pub struct CallFacts<'a> {
    /// Caller ID number as received.
    pub caller_number: &'a str,
    /// Caller ID name as received.
    pub caller_name: &'a str,
    /// The number that was called (the DID / virtual number).
    pub destination: &'a str,
    /// Address the call came from.
    pub network_addr: &'a str,
}

/// One line of an explanation: what a rule made of the call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceStep {
    /// The rule.
    pub rule: String,
    /// Whether it matched.
    pub matched: bool,
    /// The condition that decided, in words.
    pub detail: String,
}

/// A config compiled for lookups.
#[derive(Debug)]
pub struct Engine {
    config: Config,
    sets: Vec<NumberSet>,
    limiter: Limiter,
}

impl Engine {
    /// Compiles a validated config, with limit state of its own (empty).
    pub fn new(config: Config) -> Engine {
        Engine::with_limit_store(config, &LimitStore::new())
    }

    /// Compiles a validated config whose limits keep their state in `store`
    /// (which outlives the engine: counters and penalties survive a reload).
    pub fn with_limit_store(config: Config, store: &LimitStore) -> Engine {
        let sets = config
            .lists
            .iter()
            .map(|l| NumberSet::build(&l.patterns))
            .collect();
        let limiter = store.attach(&config, unix_seconds(SystemTime::now()));
        Engine {
            config,
            sets,
            limiter,
        }
    }

    /// The config this engine was built from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Number of rules.
    pub fn rule_count(&self) -> usize {
        self.config.rules.len()
    }

    /// Number of distinct entries over all lists.
    pub fn entry_count(&self) -> usize {
        self.sets.iter().map(NumberSet::len).sum()
    }

    /// Decides what happens to a call, and counts it against the limits.
    pub fn screen(&self, call: &CallFacts<'_>, now: SystemTime) -> Verdict<'_> {
        let verdict = self.decide(call, now, None);
        self.apply_limits(verdict, now, true, None)
    }

    /// Decides, and records why each rule matched or not and what each limit
    /// counted. Only looks: nothing is counted, no key is boxed.
    pub fn explain(&self, call: &CallFacts<'_>, now: SystemTime) -> (Verdict<'_>, Vec<TraceStep>) {
        let mut trace = Vec::new();
        let verdict = self.decide(call, now, Some(&mut trace));
        let verdict = self.apply_limits(verdict, now, false, Some(&mut trace));
        (verdict, trace)
    }

    /// Runs the limits over a call the rules did not allow. The first
    /// refusing limit (in config order) decides; every limit counts the call
    /// in its own windows unless it refused it; shadow limits only record.
    fn apply_limits<'e>(
        &'e self,
        mut verdict: Verdict<'e>,
        now: SystemTime,
        live: bool,
        mut trace: Option<&mut Vec<TraceStep>>,
    ) -> Verdict<'e> {
        if self.limiter.is_empty() {
            return verdict;
        }
        let allowed_by_rule = verdict.rule.is_some() && verdict.action == Action::Allow;
        let now = unix_seconds(now);
        let home_cc = self.config.numbering.country_code.as_str();
        let mut refused: Option<LimitHit<'e>> = None;
        for (index, limit) in self.config.limits.iter().enumerate() {
            let skip = if allowed_by_rule {
                Some("an allow rule let the call through".to_string())
            } else if limit.scope.applies_to == AppliesTo::Unmatched && verdict.rule.is_some() {
                Some(format!("rule {} decided the call", verdict.rule_name()))
            } else if !limit.scope.destination_in.is_empty()
                && self
                    .in_any(&limit.scope.destination_in, verdict.destination)
                    .is_none()
            {
                Some(format!(
                    "destination {} is not in {}",
                    verdict.destination,
                    names(&self.config.lists, &limit.scope.destination_in)
                ))
            } else {
                None
            };
            if let Some(why) = skip {
                if let Some(t) = trace.as_deref_mut() {
                    t.push(limit_step(limit, false, format!("not applied: {why}")));
                }
                continue;
            }
            let mut levels = trace.is_some().then(Vec::new);
            let hit = self.limiter.check(
                index,
                limit,
                home_cc,
                verdict.caller,
                verdict.destination,
                now,
                live,
                levels.as_mut(),
            );
            if let Some(t) = trace.as_deref_mut() {
                t.push(limit_step(
                    limit,
                    hit.is_some(),
                    describe_levels(limit, levels.as_deref().unwrap_or(&[])),
                ));
            }
            let Some(hit) = hit else { continue };
            if limit.shadow {
                verdict.shadow_limit.get_or_insert(hit);
            } else if refused.is_none() {
                refused = Some(hit);
            }
        }
        if let Some(hit) = refused {
            if verdict.action == Action::Allow {
                verdict.action = Action::Block;
                verdict.reason = Reason::Limit;
                verdict.reply =
                    Some(self.reply(hit.limit.reply.unwrap_or(self.config.default_reply)));
                verdict.limit = Some(hit);
            }
        }
        verdict
    }

    /// The limit state these limits count in.
    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    fn decide(
        &self,
        call: &CallFacts<'_>,
        _now: SystemTime,
        mut trace: Option<&mut Vec<TraceStep>>,
    ) -> Verdict<'_> {
        let plan = &self.config.numbering;
        let caller = plan.classify(call.caller_number);
        let destination = plan.classify(call.destination);

        for rule in &self.config.rules {
            let outcome = self.evaluate(rule, caller, destination, trace.is_some());
            if let Some(t) = trace.as_deref_mut() {
                t.push(TraceStep {
                    rule: rule.name.clone(),
                    matched: outcome.matched,
                    detail: outcome.detail,
                });
            }
            if outcome.matched {
                let reply = match rule.action {
                    Action::Allow => None,
                    Action::Block => {
                        Some(self.reply(rule.reply.unwrap_or(self.config.default_reply)))
                    }
                };
                return Verdict {
                    action: rule.action,
                    rule: Some(rule),
                    reason: reason_of(rule),
                    reply,
                    caller,
                    destination,
                    limit: None,
                    shadow_limit: None,
                };
            }
        }
        let action = self.config.default_action;
        Verdict {
            action,
            rule: None,
            reason: Reason::Default,
            reply: (action == Action::Block).then(|| self.reply(self.config.default_reply)),
            caller,
            destination,
            limit: None,
            shadow_limit: None,
        }
    }

    fn reply(&self, index: usize) -> &Reply {
        &self.config.replies[index]
    }

    fn in_any(&self, lists: &[usize], who: Caller) -> Option<(usize, SetMatch)> {
        let number = who.number()?;
        lists
            .iter()
            .find_map(|&i| self.sets[i].find(number).map(|m| (i, m)))
    }

    fn evaluate(&self, rule: &Rule, caller: Caller, destination: Caller, explain: bool) -> Outcome {
        let lists = &self.config.lists;
        let describe = |text: &dyn Fn() -> String| if explain { text() } else { String::new() };

        if let Some(class) = rule.caller_is {
            let actual = match caller {
                Caller::Number(_) => CallerClass::Number,
                Caller::Anonymous => CallerClass::Anonymous,
                Caller::Malformed => CallerClass::Malformed,
            };
            if actual != class {
                return Outcome::fail(describe(&|| {
                    format!("caller is {}, not {:?}", caller.class_name(), class).to_lowercase()
                }));
            }
        }
        if !rule.caller_in.is_empty() && self.in_any(&rule.caller_in, caller).is_none() {
            return Outcome::fail(describe(&|| {
                format!(
                    "caller {caller} is not in {}",
                    names(lists, &rule.caller_in)
                )
            }));
        }
        if let Some((i, _)) = self.in_any(&rule.caller_not_in, caller) {
            return Outcome::fail(describe(&|| {
                format!("caller {caller} is in {}", lists[i].name)
            }));
        }
        if !rule.destination_in.is_empty()
            && self.in_any(&rule.destination_in, destination).is_none()
        {
            return Outcome::fail(describe(&|| {
                format!(
                    "destination {destination} is not in {}",
                    names(lists, &rule.destination_in)
                )
            }));
        }
        Outcome {
            matched: true,
            detail: describe(&|| self.why_matched(rule, caller, destination)),
        }
    }

    fn why_matched(&self, rule: &Rule, caller: Caller, destination: Caller) -> String {
        let lists = &self.config.lists;
        let mut parts = Vec::new();
        if let Some(class) = rule.caller_is {
            parts.push(format!("caller is {class:?}").to_lowercase());
        }
        if let Some((i, m)) = self.in_any(&rule.caller_in, caller) {
            parts.push(match m {
                SetMatch::Exact => format!("caller {caller} is listed in {}", lists[i].name),
                SetMatch::Prefix(n) => format!(
                    "caller {caller} matches prefix +{} of {}",
                    &caller
                        .number()
                        .map(|c| c.digits().as_str().to_string())
                        .unwrap_or_default()[..n],
                    lists[i].name
                ),
            });
        }
        if !rule.caller_not_in.is_empty() {
            parts.push(format!(
                "caller is not in {}",
                names(lists, &rule.caller_not_in)
            ));
        }
        if let Some((i, _)) = self.in_any(&rule.destination_in, destination) {
            parts.push(format!("destination {destination} is in {}", lists[i].name));
        }
        if parts.is_empty() {
            "no conditions: matches every call".to_string()
        } else {
            parts.join("; ")
        }
    }
}

struct Outcome {
    matched: bool,
    detail: String,
}

impl Outcome {
    fn fail(detail: String) -> Outcome {
        Outcome {
            matched: false,
            detail,
        }
    }
}

fn names(lists: &[crate::config::List], indexes: &[usize]) -> String {
    indexes
        .iter()
        .map(|&i| lists[i].name.as_str())
        .collect::<Vec<_>>()
        .join(" or ")
}

fn limit_step(limit: &Limit, matched: bool, detail: String) -> TraceStep {
    TraceStep {
        rule: format!(
            "limit {}{}",
            limit.name,
            if limit.shadow { " (shadow)" } else { "" }
        ),
        matched,
        detail,
    }
}

/// What a limit's levels counted, for the trace.
fn describe_levels(limit: &Limit, levels: &[LevelReport]) -> String {
    if levels.is_empty() {
        return format!("no {} key for this call", limit.key.as_str());
    }
    let mut parts = Vec::new();
    for (report, level) in levels.iter().zip(&limit.levels) {
        let t = &level.thresholds;
        parts.push(match report.observation {
            Observation::Passed(counts) => {
                format!("key {report}: {}", counters_text(t, &counts))
            }
            Observation::Boxed(p, counts) => format!(
                "key {report} is in the penalty box until {} (offence {}): {}",
                crate::timefmt::iso8601_utc(
                    std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::from(p.until))
                ),
                p.offences,
                counters_text(t, &counts)
            ),
            Observation::Tripped {
                threshold,
                penalty,
                counts,
            } => format!(
                "key {report}: {} is over {}{}",
                counters_text(t, &counts),
                t[threshold],
                match penalty {
                    Some(p) => format!(
                        "; penalty until {} (offence {})",
                        crate::timefmt::iso8601_utc(
                            std::time::UNIX_EPOCH
                                + std::time::Duration::from_secs(u64::from(p.until))
                        ),
                        p.offences
                    ),
                    None => String::new(),
                }
            ),
            Observation::Untracked => {
                format!("key {report}: not tracked (the key cap is full of boxed keys)")
            }
        });
    }
    parts.join("; ")
}

fn reason_of(rule: &Rule) -> Reason {
    match rule.caller_is {
        Some(CallerClass::Anonymous) => Reason::Anonymous,
        Some(CallerClass::Malformed) => Reason::Malformed,
        _ if !rule.caller_in.is_empty()
            || !rule.caller_not_in.is_empty()
            || !rule.destination_in.is_empty() =>
        {
            Reason::List
        }
        _ => Reason::Rule,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ReplyKind;
    use std::path::Path;

    const CONFIG: &str = r#"
lists:
  family: ["+8613800138000"]
  marketing: ["+86170*", "+86171*"]
  courier-line: ["+8602512345678"]
replies:
  busy: { kind: reject, cause: USER_BUSY }
rules:
  - name: family
    caller_in: family
    action: allow
  - name: anonymous
    caller_is: anonymous
    action: block
  - name: marketing
    caller_in: marketing
    caller_not_in: family
    action: block
    reply: busy
  - name: courier-only-mobiles
    destination_in: courier-line
    caller_is: malformed
    action: block
"#;

    fn engine() -> Engine {
        Engine::new(Config::parse(CONFIG, Path::new("t.yaml")).unwrap())
    }

    fn call<'a>(caller: &'a str, dest: &'a str) -> CallFacts<'a> {
        CallFacts {
            caller_number: caller,
            destination: dest,
            ..CallFacts::default()
        }
    }

    #[test]
    fn first_matching_rule_decides() {
        let e = engine();
        let v = e.screen(&call("017012345678", "4000"), SystemTime::now());
        assert_eq!(v.action, Action::Block);
        assert_eq!(v.rule_name(), "marketing");
        assert_eq!(v.reason, Reason::List);
        assert_eq!(
            v.reply.unwrap().kind,
            ReplyKind::Reject { cause: "USER_BUSY" }
        );
        assert_eq!(v.caller.to_string(), "+8617012345678");
    }

    #[test]
    fn an_allow_rule_above_wins() {
        let e = engine();
        let v = e.screen(&call("+8613800138000", "4000"), SystemTime::now());
        assert_eq!(v.action, Action::Allow);
        assert_eq!(v.rule_name(), "family");
        assert!(v.reply.is_none());
    }

    #[test]
    fn unmatched_calls_get_the_default() {
        let e = engine();
        let v = e.screen(&call("+12025550123", "4000"), SystemTime::now());
        assert_eq!(v.action, Action::Allow);
        assert_eq!(v.rule_name(), "default");
        assert_eq!(v.reason, Reason::Default);
    }

    #[test]
    fn withheld_and_malformed_callers_are_classified() {
        let e = engine();
        let v = e.screen(&call("anonymous", "4000"), SystemTime::now());
        assert_eq!((v.action, v.reason), (Action::Block, Reason::Anonymous));
        assert_eq!(v.reply.unwrap().name, "rejected");

        let v = e.screen(&call("%s%n<script>", "+8602512345678"), SystemTime::now());
        assert_eq!(v.rule_name(), "courier-only-mobiles");
        let v = e.screen(&call("%s%n<script>", "4000"), SystemTime::now());
        assert_eq!(v.rule_name(), "default");
    }

    #[test]
    fn explain_says_why_each_rule_did_or_did_not_match() {
        let e = engine();
        let (v, trace) = e.explain(&call("017112345678", "4000"), SystemTime::now());
        assert_eq!(v.rule_name(), "marketing");
        assert_eq!(trace.len(), 3);
        assert!(!trace[0].matched);
        assert_eq!(trace[0].detail, "caller +8617112345678 is not in family");
        assert_eq!(trace[1].detail, "caller is number, not anonymous");
        assert!(trace[2].matched);
        assert!(
            trace[2]
                .detail
                .contains("matches prefix +86171 of marketing"),
            "{}",
            trace[2].detail
        );
    }

    #[test]
    fn counts_describe_the_compiled_config() {
        let e = engine();
        assert_eq!(e.rule_count(), 4);
        assert_eq!(e.entry_count(), 4);
    }
}
