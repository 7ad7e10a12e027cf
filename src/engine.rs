//! The screening engine: a compiled config and the decision for one call.
//!
//! `Engine::screen` is the hot path. It allocates nothing: numbers are
//! normalised on the stack, lists are hash sets and tries, and the verdict
//! borrows rule and reply from the engine.

use std::sync::Arc;
use std::time::SystemTime;

use crate::config::{Action, CallerClass, Config, Reply, ReplyDefaults, Rule};
use crate::number_set::{NumberSet, SetMatch};
use crate::numbers::Caller;
use crate::replies::prng::Prng;
use crate::replies::select::Selector;
use crate::runtime_lists::{RuntimeList, RuntimeLists};
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
    /// Evidence about the call that the engine does not decide on but the
    /// ledger and events record (call UUID, SIP headers).
    pub evidence: CallEvidence<'a>,
}

/// What the channel says about a call besides the numbers: recorded in the
/// ledger and the `callscreen::verdict` event, never matched by rules.
#[derive(Clone, Copy, Debug, Default)]
pub struct CallEvidence<'a> {
    /// The call's UUID.
    pub uuid: &'a str,
    /// SIP Call-ID (`sip_call_id`).
    pub sip_call_id: &'a str,
    /// SIP User-Agent (`sip_user_agent`).
    pub user_agent: &'a str,
    /// P-Asserted-Identity, when present.
    pub p_asserted_identity: &'a str,
    /// STIR/SHAKEN verification status (`sip_verstat`), when present.
    pub verstat: &'a str,
    /// The SIP profile (or endpoint) the call came in on.
    pub sip_profile: &'a str,
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
    /// For each list: the runtime list it stands for, if it is one.
    runtime_slots: Vec<Option<RuntimeList>>,
    /// Entries added at run time; shared with the service, outlives reloads.
    runtime: Arc<RuntimeLists>,
    selector: Selector,
}

impl Engine {
    /// Compiles a validated config, with empty runtime lists of its own.
    pub fn new(config: Config) -> Engine {
        Engine::with_runtime(config, Arc::new(RuntimeLists::new()))
    }

    /// Compiles a validated config whose `runtime-block` / `runtime-allow`
    /// lists are read from `runtime` (the service's store).
    pub fn with_runtime(config: Config, runtime: Arc<RuntimeLists>) -> Engine {
        Engine::build(config, runtime, Prng::seed_from_time())
    }

    /// Compiles a validated config whose random reply picks follow `seed`
    /// (reproducible, for tests and replays).
    pub fn with_seed(config: Config, seed: u64) -> Engine {
        Engine::build(config, Arc::new(RuntimeLists::new()), seed)
    }

    fn build(config: Config, runtime: Arc<RuntimeLists>, seed: u64) -> Engine {
        let sets = config
            .lists
            .iter()
            .map(|l| NumberSet::build(&l.patterns))
            .collect();
        let runtime_slots = config
            .lists
            .iter()
            .map(|l| RuntimeList::from_name(&l.name))
            .collect();
        let selector = Selector::new(&config.replies, seed);
        Engine {
            config,
            sets,
            runtime_slots,
            runtime,
            selector,
        }
    }

    /// Whether some rule names this runtime list (else its entries do nothing).
    pub fn uses_runtime_list(&self, list: RuntimeList) -> bool {
        self.config.rules.iter().any(|r| {
            r.caller_in
                .iter()
                .chain(&r.caller_not_in)
                .chain(&r.destination_in)
                .any(|&i| self.runtime_slots[i] == Some(list))
        })
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

    /// Decides what happens to a call.
    pub fn screen(&self, call: &CallFacts<'_>, now: SystemTime) -> Verdict<'_> {
        self.decide(call, now, None)
    }

    /// Decides, and records why each rule matched or not.
    pub fn explain(&self, call: &CallFacts<'_>, now: SystemTime) -> (Verdict<'_>, Vec<TraceStep>) {
        let mut trace = Vec::new();
        let verdict = self.decide(call, now, Some(&mut trace));
        (verdict, trace)
    }

    fn decide(
        &self,
        call: &CallFacts<'_>,
        now: SystemTime,
        mut trace: Option<&mut Vec<TraceStep>>,
    ) -> Verdict<'_> {
        let plan = &self.config.numbering;
        let caller = plan.classify(call.caller_number);
        let destination = plan.classify(call.destination);

        for rule in &self.config.rules {
            let outcome = self.evaluate(rule, caller, destination, now, trace.is_some());
            if let Some(t) = trace.as_deref_mut() {
                t.push(TraceStep {
                    rule: rule.name.clone(),
                    matched: outcome.matched,
                    detail: outcome.detail,
                });
            }
            if outcome.matched {
                let reason = reason_of(rule);
                let reply = match rule.action {
                    Action::Allow => None,
                    Action::Block => Some(self.choose_reply(
                        rule.reply,
                        reason.as_str(),
                        None,
                        now,
                        trace.as_deref_mut(),
                    )),
                };
                return Verdict {
                    action: rule.action,
                    rule: Some(rule),
                    reason,
                    reply,
                    caller,
                    destination,
                };
            }
        }
        let action = self.config.default_action;
        let reply = match action {
            Action::Allow => None,
            Action::Block => {
                Some(self.choose_reply(None, Reason::Default.as_str(), None, now, trace))
            }
        };
        Verdict {
            action,
            rule: None,
            reason: Reason::Default,
            reply,
            caller,
            destination,
        }
    }

    /// The index of a reply by name (for rules, limits and profiles that
    /// name one).
    pub fn reply_index(&self, name: &str) -> Option<usize> {
        self.config.replies.iter().position(|r| r.name == name)
    }

    /// Resolves reply `index` (a group or schedule is resolved to one of its
    /// members, by weight, turn, chance or time) to the reply that acts on
    /// the call. Each choice is added to `trace`.
    pub fn pick_reply(
        &self,
        index: usize,
        now: SystemTime,
        trace: Option<&mut Vec<TraceStep>>,
    ) -> &Reply {
        let replies = &self.config.replies;
        let index = index.min(replies.len() - 1);
        match trace {
            None => &replies[self.selector.pick(replies, index, now, None)],
            Some(t) => {
                let mut lines = Vec::new();
                let chosen = self.selector.pick(replies, index, now, Some(&mut lines));
                t.extend(lines.into_iter().map(reply_step));
                &replies[chosen]
            }
        }
    }

    /// The reply a blocked call gets. The first that is set wins: the reply
    /// `named` (by the rule or limit that blocked), the profile's default for
    /// the reason, the profile's default, the config's default for the reason
    /// (`defaults.reply_for`), the config's default (`defaults.reply`). Then
    /// choices are resolved with [`Engine::pick_reply`]. Allocation-free
    /// without a trace.
    pub fn choose_reply(
        &self,
        named: Option<usize>,
        reason: &str,
        profile: Option<&ReplyDefaults>,
        now: SystemTime,
        mut trace: Option<&mut Vec<TraceStep>>,
    ) -> &Reply {
        let c = &self.config;
        let (index, source) = if let Some(i) = named {
            (i, "named by the rule")
        } else if let Some(i) = profile.and_then(|p| p.by_reason.get(reason)) {
            (i, "the profile's default for the reason")
        } else if let Some(i) = profile.and_then(|p| p.reply) {
            (i, "the profile's default")
        } else if let Some(i) = c.reply_by_reason.get(reason) {
            (i, "defaults.reply_for")
        } else {
            (c.default_reply, "defaults.reply")
        };
        if let Some(t) = trace.as_deref_mut() {
            t.push(reply_step(format!(
                "{} ({source}, reason {reason})",
                c.replies[index].name
            )));
        }
        self.pick_reply(index, now, trace)
    }

    fn in_any(&self, lists: &[usize], who: Caller, now: SystemTime) -> Option<(usize, SetMatch)> {
        let number = who.number()?;
        lists.iter().find_map(|&i| {
            match self.runtime_slots[i] {
                Some(list) => self.runtime.find(list, number, now),
                None => self.sets[i].find(number),
            }
            .map(|m| (i, m))
        })
    }

    fn evaluate(
        &self,
        rule: &Rule,
        caller: Caller,
        destination: Caller,
        now: SystemTime,
        explain: bool,
    ) -> Outcome {
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
        if !rule.caller_in.is_empty() && self.in_any(&rule.caller_in, caller, now).is_none() {
            return Outcome::fail(describe(&|| {
                format!(
                    "caller {caller} is not in {}",
                    names(lists, &rule.caller_in)
                )
            }));
        }
        if let Some((i, _)) = self.in_any(&rule.caller_not_in, caller, now) {
            return Outcome::fail(describe(&|| {
                format!("caller {caller} is in {}", lists[i].name)
            }));
        }
        if !rule.destination_in.is_empty()
            && self
                .in_any(&rule.destination_in, destination, now)
                .is_none()
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
            detail: describe(&|| self.why_matched(rule, caller, destination, now)),
        }
    }

    fn why_matched(
        &self,
        rule: &Rule,
        caller: Caller,
        destination: Caller,
        now: SystemTime,
    ) -> String {
        let lists = &self.config.lists;
        let mut parts = Vec::new();
        if let Some(class) = rule.caller_is {
            parts.push(format!("caller is {class:?}").to_lowercase());
        }
        if let Some((i, m)) = self.in_any(&rule.caller_in, caller, now) {
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
        if let Some((i, _)) = self.in_any(&rule.destination_in, destination, now) {
            parts.push(format!("destination {destination} is in {}", lists[i].name));
        }
        if parts.is_empty() {
            "no conditions: matches every call".to_string()
        } else {
            parts.join("; ")
        }
    }
}

/// A trace line about the reply (rule `reply`).
fn reply_step(detail: String) -> TraceStep {
    TraceStep {
        rule: "reply".to_string(),
        matched: true,
        detail,
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
        assert_eq!(trace.len(), 4);
        assert_eq!(trace[3].rule, "reply");
        assert_eq!(trace[3].detail, "busy (named by the rule, reason list)");
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

    const DEFAULTS: &str = r#"
lists:
  pool: ["+86170*"]
  named: ["+86171*"]
replies:
  busy: { kind: busy_tone }
  vacant: { kind: vacant }
  ring: { kind: ringout, seconds: 20 }
  mix: { kind: group, pick: round_robin, replies: [busy, ring] }
rules:
  - name: named
    caller_in: named
    action: block
    reply: vacant
  - name: pool
    caller_in: pool
    action: block
  - name: anonymous
    caller_is: anonymous
    action: block
  - name: malformed
    caller_is: malformed
    action: block
defaults:
  action: block
  reply: ring
  reply_for:
    list: mix
    anonymous: vacant
"#;

    #[test]
    fn replies_come_from_the_rule_then_the_reason_then_the_default() {
        let e = Engine::with_seed(Config::parse(DEFAULTS, Path::new("t.yaml")).unwrap(), 1);
        let now = SystemTime::now();
        let reply = |caller: &str| {
            e.screen(&call(caller, "4000"), now)
                .reply
                .unwrap()
                .name
                .clone()
        };
        // Named by the rule.
        assert_eq!(reply("+8617100000000"), "vacant");
        // Reason list → the group mix, in turn.
        assert_eq!(reply("+8617000000000"), "busy");
        assert_eq!(reply("+8617000000001"), "ring");
        assert_eq!(reply("+8617000000002"), "busy");
        // Reason anonymous has its own; malformed falls to defaults.reply.
        assert_eq!(reply("anonymous"), "vacant");
        assert_eq!(reply("%%%"), "ring");
        // The default action (reason default) uses defaults.reply too.
        assert_eq!(reply("+12025550123"), "ring");

        let (_, trace) = e.explain(&call("+8617000000003", "4000"), now);
        let lines: Vec<&str> = trace
            .iter()
            .filter(|t| t.rule == "reply")
            .map(|t| t.detail.as_str())
            .collect();
        assert_eq!(
            lines,
            [
                "mix (defaults.reply_for, reason list)",
                "group mix (round_robin of busy, ring): turn 2 of 2: ring"
            ]
        );
    }

    #[test]
    fn a_profile_default_comes_before_the_config_defaults() {
        let e = Engine::with_seed(Config::parse(DEFAULTS, Path::new("t.yaml")).unwrap(), 1);
        let now = SystemTime::now();
        let busy = e.reply_index("busy").unwrap();
        let vacant = e.reply_index("vacant").unwrap();
        let profile = ReplyDefaults {
            by_reason: crate::config::ReasonReplies(vec![("limit", vacant)]),
            reply: Some(busy),
        };
        let pick = |named, reason| {
            e.choose_reply(named, reason, Some(&profile), now, None)
                .name
                .clone()
        };
        assert_eq!(pick(None, "limit"), "vacant");
        assert_eq!(pick(None, "anonymous"), "busy");
        assert_eq!(pick(Some(e.reply_index("ring").unwrap()), "limit"), "ring");
        // Without a profile, a limit falls back to the config's defaults.
        assert_eq!(e.choose_reply(None, "limit", None, now, None).name, "ring");
    }

    #[test]
    fn counts_describe_the_compiled_config() {
        let e = engine();
        assert_eq!(e.rule_count(), 4);
        assert_eq!(e.entry_count(), 4);
    }

    #[test]
    fn runtime_entries_win_or_lose_by_rule_order() {
        use crate::pattern::Pattern;
        use crate::runtime_lists::RuntimeEntry;
        use std::time::Duration;
        let yaml = "lists:\n  family: [\"+8613800138000\"]\nrules:\n  - name: family\n    caller_in: family\n    action: allow\n  - name: blocked-at-runtime\n    caller_in: runtime-block\n    action: block\n  - name: allowed-at-runtime\n    caller_in: runtime-allow\n    action: allow\n";
        let runtime = Arc::new(RuntimeLists::new());
        let e = Engine::with_runtime(
            Config::parse(yaml, Path::new("t.yaml")).unwrap(),
            runtime.clone(),
        );
        let now = SystemTime::now();
        let plan = crate::numbers::NumberPlan::default();
        for (list, text) in [
            (RuntimeList::Block, "+86138*"),
            (RuntimeList::Allow, "+8613900139000"),
            (RuntimeList::Block, "+8613900139000"),
        ] {
            runtime
                .insert(RuntimeEntry {
                    list,
                    pattern: Pattern::parse(text, &plan).unwrap(),
                    added: now,
                    expires: Some(now + Duration::from_secs(60)),
                    note: String::new(),
                })
                .unwrap();
        }
        // family is above the runtime block list: it wins.
        assert_eq!(
            e.screen(&call("13800138000", ""), now).rule_name(),
            "family"
        );
        let v = e.screen(&call("13800138001", ""), now);
        assert_eq!(
            (v.action, v.rule_name()),
            (Action::Block, "blocked-at-runtime")
        );
        // runtime-block comes before runtime-allow in this file.
        assert_eq!(
            e.screen(&call("13900139000", ""), now).rule_name(),
            "blocked-at-runtime"
        );
        let (_, trace) = e.explain(&call("13800138001", ""), now);
        assert!(
            trace[1]
                .detail
                .contains("matches prefix +86138 of runtime-block"),
            "{}",
            trace[1].detail
        );
        // Expired entries stop matching without anyone removing them.
        let later = now + Duration::from_secs(61);
        assert_eq!(
            e.screen(&call("13800138001", ""), later).rule_name(),
            "default"
        );
        assert!(e.uses_runtime_list(RuntimeList::Allow));
        assert!(!engine().uses_runtime_list(RuntimeList::Block));
    }
}
