//! The screening engine: a compiled config and the decision for one call.
//!
//! `Engine::screen` is the hot path. It allocates nothing: numbers are
//! normalised on the stack, lists are compiled sets (hash set, ranges, digit
//! trie, one `RegexSet` per list), and the verdict borrows rule and reply
//! from the engine. Conditions are tested cheapest first.

use std::sync::Arc;
use std::time::SystemTime;

use crate::config::limits::{AppliesTo, Limit};
use crate::config::{
    list_closure, Action, CallerClass, Config, Reply, ReplyDefaults, Rule, DEFAULT_PROFILE,
};
use crate::limits::store::LimitStore;
use crate::limits::table::Observation;
use crate::limits::{counters_text, unix_seconds, LevelReport, LimitHit, Limiter};
use crate::number_set::{NumberSet, SetMatch, SetStats};
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
    /// The profile the dialplan asked for (`""`: chosen by destination).
    pub profile: &'a str,
    /// Channel variables the rules test, as `(name, value)`: those named by
    /// [`Engine::variable_names`]; a missing one counts as empty.
    pub variables: &'a [(&'a str, &'a str)],
    /// What else the channel says, for the ledger and events (never matched).
    pub evidence: CallEvidence<'a>,
}

impl<'a> CallFacts<'a> {
    /// The value of a channel variable, `""` when not given.
    pub fn variable(&self, name: &str) -> &'a str {
        self.variables
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v)
    }
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
    /// True for a shadow rule: its match was recorded, not acted on.
    pub shadow: bool,
}

/// How the profile of a call was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileChoice {
    /// The dialplan named it (`profile=NAME`).
    Requested,
    /// The dialplan named none; the number called is one of its destinations.
    Destination,
    /// Neither: the top-level rules.
    Default,
    /// The dialplan named a profile that does not exist: the top-level rules.
    Unknown,
}

/// A profile compiled for lookups; index 0 is the top-level rules.
#[derive(Debug)]
struct CompiledProfile {
    destinations: NumberSet,
    /// Per rule: its own destination patterns, compiled.
    rule_destinations: Vec<NumberSet>,
}

/// A config compiled for lookups.
#[derive(Debug)]
pub struct Engine {
    config: Config,
    /// Per list: its own patterns.
    sets: Vec<NumberSet>,
    /// Per list: the sets it stands for (itself and what it includes).
    closures: Vec<Vec<usize>>,
    /// Per list: how many patterns were written for it.
    written: Vec<usize>,
    profiles: Vec<CompiledProfile>,
    variable_names: Vec<String>,
    /// For each list: the runtime list it stands for, if it is one.
    runtime_slots: Vec<Option<RuntimeList>>,
    /// Entries added at run time; shared with the service, outlives reloads.
    runtime: Arc<RuntimeLists>,
    /// Picks members of reply groups and schedules.
    selector: Selector,
    /// The limits' state (in a store that outlives the engine).
    limiter: Limiter,
}

/// Why a rule did not match (rendered in words only when explaining).
enum Miss {
    Class,
    CallerIn,
    CallerNotIn(usize, usize, SetMatch),
    DestinationIn,
    Destination,
    CallerName,
    Variable(usize),
    Schedule,
}

impl Engine {
    /// Compiles a validated config, with empty runtime lists of its own. The
    /// list patterns move into the compiled sets: in [`Engine::config`],
    /// `List::patterns` is empty.
    pub fn new(config: Config) -> Engine {
        Engine::with_runtime(config, Arc::new(RuntimeLists::new()))
    }

    /// Compiles a validated config whose `runtime-block` / `runtime-allow`
    /// lists are read from `runtime` (the service's store).
    pub fn with_runtime(config: Config, runtime: Arc<RuntimeLists>) -> Engine {
        Engine::build(config, runtime, &LimitStore::new(), Prng::seed_from_time())
    }

    /// Compiles a validated config whose limits keep their state in `store`
    /// (which outlives the engine: counters and penalties survive a reload).
    pub fn with_limit_store(config: Config, store: &LimitStore) -> Engine {
        Engine::build(
            config,
            Arc::new(RuntimeLists::new()),
            store,
            Prng::seed_from_time(),
        )
    }

    /// Compiles a validated config with the service's runtime lists and
    /// limit state, both of which outlive the engine.
    pub fn with_state(config: Config, runtime: Arc<RuntimeLists>, store: &LimitStore) -> Engine {
        Engine::build(config, runtime, store, Prng::seed_from_time())
    }

    /// As [`Engine::with_state`], with the random reply picks following
    /// `seed` when one is given (a module started to match a replay).
    pub fn with_state_and_seed(
        config: Config,
        runtime: Arc<RuntimeLists>,
        store: &LimitStore,
        seed: Option<u64>,
    ) -> Engine {
        let seed = seed.unwrap_or_else(Prng::seed_from_time);
        Engine::build(config, runtime, store, seed)
    }

    /// Compiles a validated config whose random reply picks follow `seed`
    /// (reproducible, for tests and replays).
    pub fn with_seed(config: Config, seed: u64) -> Engine {
        Engine::build(
            config,
            Arc::new(RuntimeLists::new()),
            &LimitStore::new(),
            seed,
        )
    }

    fn build(
        mut config: Config,
        runtime: Arc<RuntimeLists>,
        store: &LimitStore,
        seed: u64,
    ) -> Engine {
        let limiter = store.attach(&config, unix_seconds(SystemTime::now()));
        let runtime_slots = config
            .lists
            .iter()
            .map(|l| RuntimeList::from_name(&l.name))
            .collect();
        let selector = Selector::new(&config.replies, seed);
        let written = config.lists.iter().map(|l| l.patterns.len()).collect();
        let sets = config
            .lists
            .iter_mut()
            .map(|l| NumberSet::build(&std::mem::take(&mut l.patterns)))
            .collect();
        let closures = (0..config.lists.len())
            .map(|i| list_closure(&config.lists, i))
            .collect();
        let compile_rules = |rules: &[Rule]| {
            rules
                .iter()
                .map(|r| NumberSet::build(&r.destination_matches))
                .collect()
        };
        let mut profiles = vec![CompiledProfile {
            destinations: NumberSet::default(),
            rule_destinations: compile_rules(&config.rules),
        }];
        for p in &config.profiles {
            profiles.push(CompiledProfile {
                destinations: NumberSet::build(&p.destinations),
                rule_destinations: compile_rules(&p.rules),
            });
        }
        let mut variable_names: Vec<String> = config
            .rules
            .iter()
            .chain(config.profiles.iter().flat_map(|p| &p.rules))
            .flat_map(|r| r.variables.iter().map(|v| v.name.clone()))
            .collect();
        variable_names.sort();
        variable_names.dedup();
        Engine {
            config,
            sets,
            closures,
            written,
            profiles,
            variable_names,
            runtime_slots,
            runtime,
            selector,
            limiter,
        }
    }

    /// Whether some rule names this runtime list (else its entries do nothing).
    pub fn uses_runtime_list(&self, list: RuntimeList) -> bool {
        self.config
            .rules
            .iter()
            .chain(self.config.profiles.iter().flat_map(|p| &p.rules))
            .any(|r| {
                r.caller_in
                    .iter()
                    .chain(&r.caller_not_in)
                    .chain(&r.destination_in)
                    .any(|&named| {
                        self.closures[named]
                            .iter()
                            .any(|&set| self.runtime_slots[set] == Some(list))
                    })
            })
    }

    /// The config this engine was built from (list patterns moved out).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Number of rules over all profiles.
    pub fn rule_count(&self) -> usize {
        self.config.rules.len()
            + self
                .config
                .profiles
                .iter()
                .map(|p| p.rules.len())
                .sum::<usize>()
    }

    /// Number of distinct entries over all lists.
    pub fn entry_count(&self) -> usize {
        self.sets.iter().map(NumberSet::len).sum()
    }

    /// Patterns as written over all lists (duplicates included).
    pub fn written_entry_count(&self) -> usize {
        self.written.iter().sum()
    }

    /// What each list holds and the memory it takes, by list name.
    pub fn list_stats(&self) -> Vec<(&str, SetStats)> {
        self.config
            .lists
            .iter()
            .zip(&self.sets)
            .map(|(l, s)| (l.name.as_str(), s.stats()))
            .collect()
    }

    /// The channel variables some rule tests: read these, and only these,
    /// from the channel into [`CallFacts::variables`].
    pub fn variable_names(&self) -> &[String] {
        &self.variable_names
    }

    /// Profile names: `default` first, then the named ones in file order.
    pub fn profile_names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(DEFAULT_PROFILE).chain(self.config.profiles.iter().map(|p| p.name.as_str()))
    }

    /// Decides what happens to a call.
    /// Counts the call against the limits.
    pub fn screen(&self, call: &CallFacts<'_>, now: SystemTime) -> Verdict<'_> {
        let mut verdict = self.decide(call, now, None);
        self.apply_limits(&mut verdict, now, true, None);
        verdict
    }

    /// Decides a call from a caller the service lets through anyway (one who
    /// passed a challenge lately): the rules' verdict, with the limits
    /// neither counted nor checked, as for a call an allow rule lets in.
    pub fn screen_allowed_caller(&self, call: &CallFacts<'_>, now: SystemTime) -> Verdict<'_> {
        self.decide(call, now, None)
    }

    /// Decides, and records why each rule matched or not.
    pub fn explain(&self, call: &CallFacts<'_>, now: SystemTime) -> (Verdict<'_>, Vec<TraceStep>) {
        let mut trace = Vec::new();
        let mut verdict = self.decide(call, now, Some(&mut trace));
        // Limits are looked at, not counted: an explanation is not a call.
        self.apply_limits(&mut verdict, now, false, Some(&mut trace));
        (verdict, trace)
    }

    /// Runs the limits over a call the rules did not allow. The first
    /// refusing limit (in config order) decides; every limit counts the call
    /// in its own windows unless it refused it; shadow limits only record.
    /// The verdict is changed in place (it is large, and most calls meet no
    /// limit).
    fn apply_limits<'e>(
        &'e self,
        verdict: &mut Verdict<'e>,
        now: SystemTime,
        live: bool,
        mut trace: Option<&mut Vec<TraceStep>>,
    ) {
        if self.limiter.is_empty() {
            return;
        }
        let allowed_by_rule = verdict.rule.is_some() && verdict.action == Action::Allow;
        if allowed_by_rule && trace.is_none() {
            return;
        }
        let at = now;
        let now = unix_seconds(now);
        let home_cc = self.config.numbering.country_code.as_str();
        let rule = verdict.rule.map(|r| r.name.as_str());
        let mut refused: Option<LimitHit<'e>> = None;
        for (index, limit) in self.config.limits.iter().enumerate() {
            let scope = &limit.scope;
            // Out of scope: the limit neither counts the call nor refuses it,
            // whatever its penalty box holds for the call's key.
            let skip = if allowed_by_rule {
                Some(Skip::AllowRule)
            } else if scope.applies_to == AppliesTo::Unmatched && rule.is_some() {
                Some(Skip::DecidedByRule)
            } else if !scope.covers_profile(verdict.profile) {
                Some(Skip::Profile)
            } else if !scope.destination_in.is_empty()
                && self
                    .in_any(&scope.destination_in, verdict.destination, at)
                    .is_none()
            {
                Some(Skip::Destination)
            } else {
                None
            };
            if let Some(skip) = skip {
                if let Some(t) = trace.as_deref_mut() {
                    let why = self.skip_reason(skip, limit, verdict);
                    t.push(limit_step(limit, false, format!("not applied: {why}")));
                }
                continue;
            }
            // A limit with `scope.rules` counts only the calls those rules
            // decided; the others it applies to meet its penalty box alone.
            let counted = scope.covers_rule(rule);
            let mut levels = trace.is_some().then(Vec::new);
            let hit = self.limiter.check(
                index,
                limit,
                home_cc,
                verdict.caller,
                verdict.destination,
                now,
                live,
                counted,
                levels.as_mut(),
            );
            if let Some(t) = trace.as_deref_mut() {
                let mut detail = describe_levels(limit, levels.as_deref().unwrap_or(&[]));
                if !counted {
                    detail = format!(
                        "penalty box only ({} decided the call; it counts calls decided by {}): {detail}",
                        rule.map_or("no rule".to_string(), |r| format!("rule {r}")),
                        scope.rules.join(", ")
                    );
                }
                t.push(limit_step(limit, hit.is_some(), detail));
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
                let profile = self
                    .config
                    .profiles
                    .iter()
                    .find(|p| p.name == verdict.profile)
                    .map(|p| &p.replies);
                verdict.reply = Some(self.choose_reply(
                    hit.limit.reply,
                    Reason::Limit.as_str(),
                    profile,
                    at,
                    trace,
                ));
                verdict.limit = Some(hit);
            }
        }
    }

    /// Why a limit did not look at a call, for the trace.
    fn skip_reason(&self, skip: Skip, limit: &Limit, verdict: &Verdict<'_>) -> String {
        match skip {
            Skip::AllowRule => "an allow rule let the call through".to_string(),
            Skip::DecidedByRule => format!("rule {} decided the call", verdict.rule_name()),
            Skip::Profile => format!(
                "profile {} is not in its scope (profiles: {})",
                verdict.profile,
                limit.scope.profiles.join(", ")
            ),
            Skip::Destination => format!(
                "destination {} is not in {}",
                verdict.destination,
                self.list_names(&limit.scope.destination_in)
            ),
        }
    }

    /// The limit state these limits count in.
    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    /// Which profile a call gets, and how it was chosen.
    pub fn select_profile(&self, call: &CallFacts<'_>) -> (&str, ProfileChoice) {
        let destination = self.config.numbering.classify(call.destination);
        let (index, how) = self.profile_for(call, destination);
        (self.profile_name(index), how)
    }

    fn profile_for(&self, call: &CallFacts<'_>, destination: Caller) -> (usize, ProfileChoice) {
        if !call.profile.is_empty() {
            return match self
                .config
                .profiles
                .iter()
                .position(|p| p.name == call.profile)
            {
                Some(i) => (i + 1, ProfileChoice::Requested),
                None if call.profile == DEFAULT_PROFILE => (0, ProfileChoice::Requested),
                None => (0, ProfileChoice::Unknown),
            };
        }
        if let Some(number) = destination.number() {
            for (i, p) in self.profiles.iter().enumerate().skip(1) {
                if p.destinations.find(number).is_some() {
                    return (i, ProfileChoice::Destination);
                }
            }
        }
        (0, ProfileChoice::Default)
    }

    fn profile_name(&self, index: usize) -> &str {
        match index {
            0 => DEFAULT_PROFILE,
            i => &self.config.profiles[i - 1].name,
        }
    }

    /// A profile's rules, default action and own default replies (none for
    /// the top-level rules, whose defaults are the config's).
    fn profile_rules(&self, index: usize) -> (&[Rule], Action, Option<&ReplyDefaults>) {
        match index {
            0 => (&self.config.rules, self.config.default_action, None),
            i => {
                let p = &self.config.profiles[i - 1];
                (&p.rules, p.default_action, Some(&p.replies))
            }
        }
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
        let (profile, _) = self.profile_for(call, destination);
        let (rules, default_action, reply_defaults) = self.profile_rules(profile);
        let compiled = &self.profiles[profile];
        let mut shadow = None;

        for (index, rule) in rules.iter().enumerate() {
            let dest_set = &compiled.rule_destinations[index];
            let outcome = self.evaluate(rule, dest_set, call, caller, destination, now);
            if let Some(t) = trace.as_deref_mut() {
                t.push(TraceStep {
                    rule: rule.name.clone(),
                    matched: outcome.is_ok(),
                    detail: match &outcome {
                        Ok(()) => self.why_matched(rule, dest_set, call, caller, destination, now),
                        Err(miss) => self.why_missed(rule, miss, call, caller, destination),
                    },
                    shadow: rule.shadow,
                });
            }
            if outcome.is_err() {
                continue;
            }
            if rule.shadow {
                shadow.get_or_insert(rule);
                continue;
            }
            let reason = reason_of(rule);
            let reply = match rule.action {
                Action::Allow => None,
                Action::Block => Some(self.choose_reply(
                    rule.reply,
                    reason.as_str(),
                    reply_defaults,
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
                profile: self.profile_name(profile),
                shadow,
                limit: None,
                shadow_limit: None,
            };
        }
        let reply = match default_action {
            Action::Allow => None,
            Action::Block => {
                Some(self.choose_reply(None, Reason::Default.as_str(), reply_defaults, now, trace))
            }
        };
        Verdict {
            action: default_action,
            rule: None,
            reason: Reason::Default,
            reply,
            caller,
            destination,
            profile: self.profile_name(profile),
            shadow,
            limit: None,
            shadow_limit: None,
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

    /// The first of `lists` (with what they include) holding the number:
    /// (list named in the rule, list that matched, how).
    fn in_any(
        &self,
        lists: &[usize],
        who: Caller,
        now: SystemTime,
    ) -> Option<(usize, usize, SetMatch)> {
        let number = who.number()?;
        lists.iter().find_map(|&named| {
            self.closures[named].iter().find_map(|&set| {
                match self.runtime_slots[set] {
                    Some(list) => self.runtime.find(list, number, now),
                    None => self.sets[set].find(number),
                }
                .map(|m| (named, set, m))
            })
        })
    }

    fn evaluate(
        &self,
        rule: &Rule,
        dest_set: &NumberSet,
        call: &CallFacts<'_>,
        caller: Caller,
        destination: Caller,
        now: SystemTime,
    ) -> Result<(), Miss> {
        // Cheapest first: the caller's class, the rule's own destinations
        // (a small set), then list lookups, regexes, the clock.
        if let Some(class) = rule.caller_is {
            if class_of(caller) != class {
                return Err(Miss::Class);
            }
        }
        if !rule.destination_matches.is_empty()
            && destination
                .number()
                .and_then(|n| dest_set.find(n))
                .is_none()
        {
            return Err(Miss::Destination);
        }
        if !rule.destination_in.is_empty()
            && self
                .in_any(&rule.destination_in, destination, now)
                .is_none()
        {
            return Err(Miss::DestinationIn);
        }
        if !rule.caller_in.is_empty() && self.in_any(&rule.caller_in, caller, now).is_none() {
            return Err(Miss::CallerIn);
        }
        if let Some((named, set, m)) = self.in_any(&rule.caller_not_in, caller, now) {
            return Err(Miss::CallerNotIn(named, set, m));
        }
        if let Some(name) = &rule.caller_name {
            if !name.is_match(call.caller_name) {
                return Err(Miss::CallerName);
            }
        }
        if let Some(i) = rule
            .variables
            .iter()
            .position(|v| !v.holds(call.variable(&v.name)))
        {
            return Err(Miss::Variable(i));
        }
        if let Some(schedule) = &rule.schedule {
            if !schedule.contains(now) {
                return Err(Miss::Schedule);
            }
        }
        Ok(())
    }

    fn list_names(&self, indexes: &[usize]) -> String {
        indexes
            .iter()
            .map(|&i| self.config.lists[i].name.as_str())
            .collect::<Vec<_>>()
            .join(" or ")
    }

    fn via(&self, named: usize, set: usize) -> String {
        let lists = &self.config.lists;
        if named == set {
            lists[named].name.clone()
        } else {
            format!("{} (included in {})", lists[set].name, lists[named].name)
        }
    }

    fn why_missed(
        &self,
        rule: &Rule,
        miss: &Miss,
        call: &CallFacts<'_>,
        caller: Caller,
        destination: Caller,
    ) -> String {
        match miss {
            Miss::Class => format!(
                "caller is {}, not {}",
                caller.class_name(),
                class_name(rule.caller_is.unwrap_or(CallerClass::Number))
            ),
            Miss::CallerIn => format!(
                "caller {caller} is not in {}",
                self.list_names(&rule.caller_in)
            ),
            Miss::CallerNotIn(named, set, m) => format!(
                "caller {caller} is in {}: {}",
                self.via(*named, *set),
                caller
                    .number()
                    .map(|n| self.sets[*set].describe(n, m))
                    .unwrap_or_default()
            ),
            Miss::DestinationIn => format!(
                "destination {destination} is not in {}",
                self.list_names(&rule.destination_in)
            ),
            Miss::Destination => format!(
                "destination {destination} matches none of {}",
                join_patterns(rule)
            ),
            Miss::CallerName => format!(
                "caller name {:?} does not match /{}/",
                call.caller_name,
                rule.caller_name.as_ref().map_or("", |r| r.as_str())
            ),
            Miss::Variable(i) => {
                let v = &rule.variables[*i];
                format!(
                    "variable {} = {:?} {} /{}/",
                    v.name,
                    call.variable(&v.name),
                    if v.negate {
                        "matches"
                    } else {
                        "does not match"
                    },
                    v.regex.as_str()
                )
            }
            Miss::Schedule => format!(
                "outside schedule {}",
                rule.schedule
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ),
        }
    }

    fn why_matched(
        &self,
        rule: &Rule,
        dest_set: &NumberSet,
        call: &CallFacts<'_>,
        caller: Caller,
        destination: Caller,
        now: SystemTime,
    ) -> String {
        let mut parts = Vec::new();
        if let Some(class) = rule.caller_is {
            parts.push(format!("caller is {}", class_name(class)));
        }
        if let (Some((named, set, m)), Some(n)) =
            (self.in_any(&rule.caller_in, caller, now), caller.number())
        {
            parts.push(match m {
                SetMatch::Exact => format!("caller {caller} is listed in {}", self.via(named, set)),
                _ => format!(
                    "caller {caller} matches {} of {}",
                    self.sets[set].describe(n, &m),
                    self.via(named, set)
                ),
            });
        }
        if !rule.caller_not_in.is_empty() {
            parts.push(format!(
                "caller is not in {}",
                self.list_names(&rule.caller_not_in)
            ));
        }
        if let Some((named, set, _)) = self.in_any(&rule.destination_in, destination, now) {
            parts.push(format!(
                "destination {destination} is in {}",
                self.via(named, set)
            ));
        }
        if let Some((n, m)) = destination
            .number()
            .and_then(|n| dest_set.find(n).map(|m| (n, m)))
        {
            parts.push(format!(
                "destination {destination} matches {}",
                dest_set.describe(n, &m)
            ));
        }
        if let Some(name) = &rule.caller_name {
            parts.push(format!(
                "caller name {:?} matches /{}/",
                call.caller_name,
                name.as_str()
            ));
        }
        for v in &rule.variables {
            parts.push(format!(
                "variable {} = {:?} {} /{}/",
                v.name,
                call.variable(&v.name),
                if v.negate {
                    "does not match"
                } else {
                    "matches"
                },
                v.regex.as_str()
            ));
        }
        if let Some(s) = &rule.schedule {
            parts.push(format!("inside schedule {s}"));
        }
        if parts.is_empty() {
            "no conditions: matches every call".to_string()
        } else {
            parts.join("; ")
        }
    }
}

/// A trace line about the reply chosen.
fn reply_step(detail: String) -> TraceStep {
    TraceStep {
        rule: "reply".to_string(),
        matched: true,
        detail,
        shadow: false,
    }
}

/// Why a limit leaves a call alone.
#[derive(Clone, Copy)]
enum Skip {
    /// An allow rule let the call through.
    AllowRule,
    /// `applies_to: unmatched`, and a rule decided.
    DecidedByRule,
    /// The call's profile is not in `scope.profiles`.
    Profile,
    /// The destination is in none of `scope.destination_in`.
    Destination,
}

/// A trace line about one limit.
fn limit_step(limit: &Limit, matched: bool, detail: String) -> TraceStep {
    TraceStep {
        rule: format!(
            "limit {}{}",
            limit.name,
            if limit.shadow { " (shadow)" } else { "" }
        ),
        matched,
        detail,
        shadow: limit.shadow,
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
            Observation::NotCounted => format!("key {report} is not in the penalty box"),
        });
    }
    parts.join("; ")
}

fn class_of(caller: Caller) -> CallerClass {
    match caller {
        Caller::Number(_) => CallerClass::Number,
        Caller::Anonymous => CallerClass::Anonymous,
        Caller::Malformed => CallerClass::Malformed,
    }
}

fn class_name(class: CallerClass) -> &'static str {
    match class {
        CallerClass::Number => "number",
        CallerClass::Anonymous => "anonymous",
        CallerClass::Malformed => "malformed",
    }
}

fn join_patterns(rule: &Rule) -> String {
    rule.destination_matches
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn reason_of(rule: &Rule) -> Reason {
    match rule.caller_is {
        Some(CallerClass::Anonymous) => Reason::Anonymous,
        Some(CallerClass::Malformed) => Reason::Malformed,
        _ if !rule.caller_in.is_empty()
            || !rule.caller_not_in.is_empty()
            || !rule.destination_in.is_empty()
            || !rule.destination_matches.is_empty() =>
        {
            Reason::List
        }
        _ if rule.schedule.is_some() => Reason::Schedule,
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
        // three rules, then how the reply was chosen
        assert_eq!(trace.len(), 4);
        assert_eq!(trace[3].rule, "reply");
        assert!(
            trace[3].detail.starts_with("busy (named by the rule"),
            "{}",
            trace[3].detail
        );
        assert!(!trace[0].matched);
        assert_eq!(trace[0].detail, "caller +8617112345678 is not in family");
        assert_eq!(trace[1].detail, "caller is number, not anonymous");
        assert!(trace[2].matched);
        assert!(
            trace[2]
                .detail
                .contains("matches prefix +86171* of marketing"),
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

    const RULES: &str = r#"
numbering:
  country_code: "86"
  national_number_lengths: [10, 11]
lists:
  family: ["+8613800138000"]
  pools:
    include: [mvno, known-pool]
  mvno: ["+86170*", "+86171*"]
  known-pool:
    entries: ["+86138001380XX", "+8613900139000..+8613900139999", "/^\\+8616[57]\\d{8}$/"]
replies:
  busy: { kind: reject, cause: USER_BUSY }
rules:
  - name: family
    caller_in: family
    action: allow
  - name: robots
    variables: { sip_user_agent: "(?i)friendly-scanner|sipcli" }
    action: block
  - name: unverified-pools
    caller_in: pools
    variables_not: { sip_verstat: "^TN-Validation-Passed$" }
    action: block
    reply: busy
  - name: try-night-block
    shadow: true
    schedule: { timezone: Asia/Shanghai, days: mon-fri, time: "22:00-07:00" }
    action: block
  - name: named-spammer
    caller_name: "(?i)^(marketing|promo)"
    action: block
profiles:
  courier-line:
    destination: ["025 1234 5678", "4001"]
    rules:
      - name: courier-anything-goes
        caller_is: number
        action: allow
    defaults: { action: block, reply: busy }
  strict:
    rules:
      - name: strict-family
        caller_in: family
        action: allow
    defaults: { action: block }
"#;

    fn rules_engine() -> Engine {
        Engine::new(Config::parse(RULES, Path::new("rules.yaml")).unwrap())
    }

    fn at(civil: &str) -> SystemTime {
        let dt: jiff::civil::DateTime = civil.parse().unwrap();
        let tz = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap();
        SystemTime::from(dt.to_zoned(tz).unwrap().timestamp())
    }

    const NOON: &str = "2025-01-06T12:00"; // a Monday

    #[test]
    fn included_lists_and_every_pattern_kind_meet_the_rule() {
        let e = rules_engine();
        for caller in [
            "017012345678",   // prefix, via mvno
            "+8613800138042", // wildcard
            "013900139500",   // range
            "+8616512345678", // regex
        ] {
            let (v, trace) = e.explain(&call(caller, "4000"), at(NOON));
            assert_eq!(v.rule_name(), "unverified-pools", "{caller}");
            assert!(
                trace[2].detail.contains("(included in pools)"),
                "{}",
                trace[2].detail
            );
        }
        let (_, trace) = e.explain(&call("+8613900139500", "4000"), at(NOON));
        assert!(
            trace[2].detail.starts_with(
                "caller +8613900139500 matches range +8613900139000..+8613900139999 of known-pool"
            ),
            "{}",
            trace[2].detail
        );
        assert_eq!(
            e.screen(&call("+8613800138142", "4000"), at(NOON))
                .rule_name(),
            "default"
        );
    }

    #[test]
    fn a_channel_variable_condition_decides() {
        let e = rules_engine();
        assert_eq!(e.variable_names(), ["sip_user_agent", "sip_verstat"]);
        let verified = [("sip_verstat", "TN-Validation-Passed")];
        let facts = CallFacts {
            variables: &verified,
            ..call("017012345678", "4000")
        };
        // A verified caller from a pool passes; unverified is blocked.
        assert_eq!(e.screen(&facts, at(NOON)).rule_name(), "default");
        assert_eq!(
            e.screen(&call("017012345678", "4000"), at(NOON))
                .rule_name(),
            "unverified-pools"
        );
        let robot = [("sip_user_agent", "friendly-scanner")];
        let facts = CallFacts {
            variables: &robot,
            ..call("+12025550123", "4000")
        };
        let (v, trace) = e.explain(&facts, at(NOON));
        assert_eq!(v.rule_name(), "robots");
        assert_eq!(
            trace[1].detail,
            "variable sip_user_agent = \"friendly-scanner\" matches /(?i)friendly-scanner|sipcli/"
        );
    }

    #[test]
    fn rule_order_decides_family_before_pools() {
        let text = RULES.replace("+8613800138000", "+8617000000001");
        let e = Engine::new(Config::parse(&text, Path::new("r.yaml")).unwrap());
        let v = e.screen(&call("+8617000000001", "4000"), at(NOON));
        assert_eq!((v.rule_name(), v.action), ("family", Action::Allow));
        let v = e.screen(&call("+8617000000002", "4000"), at(NOON));
        assert_eq!(
            (v.rule_name(), v.action),
            ("unverified-pools", Action::Block)
        );
    }

    #[test]
    fn a_shadow_rule_is_recorded_and_the_next_rule_decides() {
        let e = rules_engine();
        let night = at("2025-01-06T23:30");
        let named = CallFacts {
            caller_name: "Promo Center",
            ..call("+12025550123", "4000")
        };
        let (v, trace) = e.explain(&named, night);
        assert_eq!(v.shadow_rule_name(), "try-night-block");
        assert_eq!(v.rule_name(), "named-spammer");
        assert!(trace[3].matched && trace[3].shadow);
        assert!(trace[3]
            .detail
            .contains("inside schedule mon,tue,wed,thu,fri 22:00-07:00 (Asia/Shanghai)"));
        // No later rule: the default decides, the shadow is still recorded.
        let v = e.screen(&call("+12025550123", "4000"), night);
        assert_eq!((v.rule_name(), v.action), ("default", Action::Allow));
        assert_eq!(v.shadow.unwrap().action, Action::Block);
        // Outside the schedule nothing is recorded.
        let v = e.screen(&call("+12025550123", "4000"), at(NOON));
        assert!(v.shadow.is_none());
        // Saturday 03:00 belongs to Friday night; Monday 03:00 to Sunday night.
        assert!(e
            .screen(&call("+12025550123", "4000"), at("2025-01-11T03:00"))
            .shadow
            .is_some());
        assert!(e
            .screen(&call("+12025550123", "4000"), at("2025-01-06T03:00"))
            .shadow
            .is_none());
    }

    #[test]
    fn profiles_are_chosen_by_name_then_destination_then_default() {
        let e = rules_engine();
        // The courier line lets any number through, even a pool...
        let v = e.screen(&call("017012345678", "02512345678"), at(NOON));
        assert_eq!(
            (v.profile, v.rule_name()),
            ("courier-line", "courier-anything-goes")
        );
        assert_eq!(
            e.select_profile(&call("x", "4001")),
            ("courier-line", ProfileChoice::Destination)
        );
        // ...and blocks withheld numbers with its own default.
        let v = e.screen(&call("anonymous", "4001"), at(NOON));
        assert_eq!(
            (v.action, v.rule_name(), v.reply_name()),
            (Action::Block, "default", "busy")
        );
        // The dialplan's choice wins over the destination.
        let strict = CallFacts {
            profile: "strict",
            ..call("+12025550123", "4001")
        };
        let v = e.screen(&strict, at(NOON));
        assert_eq!(
            (v.profile, v.action, v.reply_name()),
            ("strict", Action::Block, "rejected")
        );
        // An unknown name falls back to the top-level rules.
        let unknown = CallFacts {
            profile: "nope",
            ..call("+12025550123", "4001")
        };
        assert_eq!(
            e.select_profile(&unknown),
            ("default", ProfileChoice::Unknown)
        );
        assert_eq!(e.screen(&unknown, at(NOON)).profile, "default");
        assert_eq!(
            e.profile_names().collect::<Vec<_>>(),
            ["default", "courier-line", "strict"]
        );
        assert_eq!(e.rule_count(), 7);
    }

    #[test]
    fn a_blocked_call_gets_the_default_reply_of_its_reason_then_of_its_profile() {
        let yaml = r#"
numbering:
  country_code: "86"
lists:
  pools: ["+86170*"]
replies:
  busy: { kind: reject, cause: USER_BUSY }
  gone: { kind: reject, cause: UNALLOCATED_NUMBER }
  quiet: { kind: reject, cause: NO_ANSWER }
  courier-busy: { kind: reject, cause: USER_BUSY }
defaults:
  reply: busy
  reply_for:
    anonymous: gone
    malformed: gone
    schedule: quiet
rules:
  - { name: withheld, caller_is: anonymous, action: block }
  - { name: junk, caller_is: malformed, action: block }
  - { name: pools, caller_in: pools, action: block }
  - name: night
    schedule: { timezone: Asia/Shanghai, time: "22:00-07:00" }
    action: block
profiles:
  courier:
    destination: ["4001"]
    defaults:
      action: block
      reply_for: { anonymous: courier-busy }
    rules:
      - { name: courier-withheld, caller_is: anonymous, action: block }
      - { name: courier-pools, caller_in: pools, action: block }
"#;
        let e = Engine::new(Config::parse(yaml, Path::new("r.yaml")).unwrap());
        let decided = |caller: &str, dest: &str, when: &str| {
            let v = e.screen(&call(caller, dest), at(when));
            (
                v.rule_name().to_string(),
                v.reason,
                v.reply_name().to_string(),
            )
        };
        let late = "2025-01-06T23:30";
        let got = |rule: &str, reason, reply: &str| (rule.to_string(), reason, reply.to_string());
        assert_eq!(
            decided("anonymous", "4000", NOON),
            got("withheld", Reason::Anonymous, "gone")
        );
        assert_eq!(
            decided("call%me", "4000", NOON),
            got("junk", Reason::Malformed, "gone")
        );
        assert_eq!(
            decided("017012345678", "4000", NOON),
            got("pools", Reason::List, "busy")
        );
        // Quiet hours: a schedule-only rule blocks with the schedule reply.
        assert_eq!(
            decided("+12025550123", "4000", late),
            got("night", Reason::Schedule, "quiet")
        );
        assert_eq!(
            decided("+12025550123", "4000", NOON),
            got("default", Reason::Default, "")
        );
        // A profile's own default for the reason wins; for other reasons
        // the top-level defaults apply.
        assert_eq!(
            decided("anonymous", "4001", NOON),
            got("courier-withheld", Reason::Anonymous, "courier-busy")
        );
        assert_eq!(
            decided("017012345678", "4001", NOON),
            got("courier-pools", Reason::List, "busy")
        );
        assert_eq!(
            decided("+12025550123", "4001", NOON),
            got("default", Reason::Default, "busy")
        );
    }

    #[test]
    fn destination_patterns_in_a_rule() {
        let yaml = "rules:\n  - name: sales-line-withheld\n    destination: [\"+86 25 1234 56XX\"]\n    caller_is: anonymous\n    action: block\n";
        let e = Engine::new(Config::parse(yaml, Path::new("d.yaml")).unwrap());
        assert_eq!(
            e.screen(&call("", "02512345601"), at(NOON)).rule_name(),
            "sales-line-withheld"
        );
        let (v, trace) = e.explain(&call("", "02512340000"), at(NOON));
        assert_eq!(v.rule_name(), "default");
        assert_eq!(
            trace[0].detail,
            "destination +862512340000 matches none of +8625123456XX"
        );
    }
}
