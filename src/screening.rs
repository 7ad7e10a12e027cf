//! What the `callscreen` dialplan application does with a call, decided in
//! pure Rust: the boundary reads the call's facts, asks for a [`CallPlan`],
//! and carries it out on the channel.

use std::time::SystemTime;

use crate::config::{Action, ReplyKind};
use crate::engine::CallFacts;
use crate::ledger::LedgerRecord;
use crate::numbers::printable;
use crate::replies::steps::{steps_for, ChallengeStep, HostStep, VAR_CHALLENGE};
use crate::screen_call::screen_call;
use crate::service::Service;

/// Channel variable holding `allow`, `block` or `error`.
pub const VAR_VERDICT: &str = "callscreen_verdict";
/// Channel variable holding the deciding rule's name (`default` when none).
pub const VAR_RULE: &str = "callscreen_rule";
/// Channel variable holding the reason (`list`, `anonymous`, …).
pub const VAR_REASON: &str = "callscreen_reason";
/// Channel variable holding the reply's name for a blocked call.
pub const VAR_REPLY: &str = "callscreen_reply";
/// Channel variable holding the caller number in E.164 (or its class).
pub const VAR_CALLER: &str = "callscreen_caller";
/// Channel variable holding the profile whose rules decided (`default`: top level).
pub const VAR_PROFILE: &str = "callscreen_profile";
/// Channel variable holding the shadow rule that matched (set only then).
pub const VAR_SHADOW_RULE: &str = "callscreen_shadow_rule";
/// Channel variable holding what the shadow rule would have done (`allow`/`block`).
pub const VAR_SHADOW_VERDICT: &str = "callscreen_shadow_verdict";
/// Channel variable holding the name of the limit that refused the call.
pub const VAR_LIMIT: &str = "callscreen_limit";
/// Channel variable holding the key the limit counted (`1701234`, `+86…`).
pub const VAR_LIMIT_KEY: &str = "callscreen_limit_key";
/// Channel variable: `tripped` (this call went over) or `penalty` (already boxed).
pub const VAR_LIMIT_STATE: &str = "callscreen_limit_state";
/// Channel variable holding the threshold that tripped (`distinct 4/1h`).
pub const VAR_LIMIT_THRESHOLD: &str = "callscreen_limit_threshold";
/// Channel variable holding the count of that threshold, this call included.
pub const VAR_LIMIT_COUNT: &str = "callscreen_limit_count";
/// Channel variable holding every counter of the key (`calls 2/3 per 10m, …`).
pub const VAR_LIMIT_COUNTERS: &str = "callscreen_limit_counters";
/// Channel variable holding when the key's penalty ends (ISO 8601 UTC).
pub const VAR_PENALTY_UNTIL: &str = "callscreen_penalty_until";
/// Channel variable holding which offence of the key this is (1 = first).
pub const VAR_PENALTY_OFFENCE: &str = "callscreen_penalty_offence";
/// Channel variable holding the shadow limit that would have refused the call.
pub const VAR_SHADOW_LIMIT: &str = "callscreen_shadow_limit";
/// Channel variable holding that shadow limit's key.
pub const VAR_SHADOW_LIMIT_KEY: &str = "callscreen_shadow_limit_key";

/// The application's arguments (`<action application="callscreen" data="…"/>`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppArgs {
    /// Only set the variables; never hang up.
    pub advise: bool,
    /// The profile to screen with (`profile=NAME`).
    pub profile: Option<String>,
}

impl AppArgs {
    /// Parses the data string; unknown words are returned so the caller can
    /// log them (they never stop a call from being screened).
    pub fn parse(data: &str) -> (AppArgs, Vec<String>) {
        let mut args = AppArgs::default();
        let mut unknown = Vec::new();
        for word in data.split_whitespace() {
            match word {
                "advise" => args.advise = true,
                w if w.starts_with("profile=") && w.len() > "profile=".len() => {
                    args.profile = Some(w["profile=".len()..].to_string())
                }
                other => unknown.push(other.to_string()),
            }
        }
        (args, unknown)
    }
}

/// Reason set in `callscreen_reason` for a caller let through because it
/// passed a challenge recently.
pub const REASON_REMEMBERED: &str = "remembered";

/// What the channel must get.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallPlan {
    /// Channel variables to set, in order, first.
    pub variables: Vec<(&'static str, String)>,
    /// Then the reply, step by step (empty: the call returns to the dialplan).
    pub steps: Vec<HostStep>,
    /// The cause the reply ends the call with, if it does without asking the
    /// caller anything (for logs and tests; `steps` is what is done).
    pub hangup: Option<&'static str>,
    /// One line for the log.
    pub summary: String,
    /// The ledger line of a call whose reply is a challenge, for the line
    /// recording the challenge's result ([`Service::record_challenge`]).
    pub challenge_evidence: Option<LedgerRecord>,
}

/// Screens a call and says what to do with the channel.
pub fn plan_call(
    service: &Service,
    facts: &CallFacts<'_>,
    args: &AppArgs,
    now: SystemTime,
) -> CallPlan {
    let Some(engine) = service.engine() else {
        service.record_error();
        return CallPlan {
            variables: vec![
                (VAR_VERDICT, "error".to_string()),
                (VAR_REASON, "error".to_string()),
            ],
            steps: Vec::new(),
            hangup: None,
            challenge_evidence: None,
            summary: format!(
                "no config loaded ({}); call let through",
                service.last_error().unwrap_or_default()
            ),
        };
    };
    let facts = &CallFacts {
        profile: args.profile.as_deref().unwrap_or(facts.profile),
        ..*facts
    };
    let started = std::time::Instant::now();
    // A caller who passed a challenge lately is let through, and, like a
    // call an allow rule lets in, neither counts against the limits nor is
    // refused by them.
    let remembered_until = if service.allow_memory.is_empty() {
        None
    } else {
        let plan = &engine.config().numbering;
        plan.classify(facts.caller_number)
            .number()
            .and_then(|number| service.allow_memory.allowed_until(number, now))
    };
    let mut verdict = match remembered_until {
        Some(_) => engine.screen_allowed_caller(facts, now),
        None => screen_call(&engine, facts, now),
    };
    let took = started.elapsed();
    let remembered = remembered_until.filter(|_| verdict.action == Action::Block);
    if remembered.is_some() {
        verdict.action = Action::Allow;
        verdict.reply = None;
    }
    service.record(&verdict);
    service.observe(facts, &verdict, args.advise, now, took);

    let reason = if remembered.is_some() {
        REASON_REMEMBERED
    } else {
        verdict.reason.as_str()
    };
    let mut variables = vec![
        (VAR_VERDICT, verdict.action.as_str().to_string()),
        (VAR_RULE, verdict.rule_name().to_string()),
        (VAR_REASON, reason.to_string()),
        (VAR_CALLER, verdict.caller.to_string()),
    ];
    variables.push((VAR_PROFILE, verdict.profile.to_string()));
    if let Some(shadow) = verdict.shadow {
        variables.push((VAR_SHADOW_RULE, shadow.name.clone()));
        variables.push((VAR_SHADOW_VERDICT, shadow.action.as_str().to_string()));
    }
    if remembered.is_some() {
        variables.push((VAR_CHALLENGE, "remembered".to_string()));
    }
    if let Some(hit) = &verdict.limit {
        limit_variables(hit, &mut variables);
    }
    if let Some(hit) = &verdict.shadow_limit {
        variables.push((VAR_SHADOW_LIMIT, hit.limit.name.clone()));
        variables.push((VAR_SHADOW_LIMIT_KEY, hit.key_text().to_string()));
    }
    let mut steps = Vec::new();
    if let Some(reply) = verdict.reply {
        variables.push((VAR_REPLY, reply.name.clone()));
        if !args.advise {
            let fallback = match &reply.kind {
                ReplyKind::Challenge(c) => Some(engine.pick_reply(c.fallback, now, None)),
                _ => None,
            };
            steps = steps_for(reply, verdict.caller.number(), fallback);
        }
    }
    let hangup = match steps.last() {
        Some(HostStep::Hangup { cause }) => Some(*cause),
        _ => None,
    };
    let challenge_evidence = steps
        .iter()
        .any(|s| matches!(s, HostStep::Challenge(_)))
        .then(|| LedgerRecord::of(facts, &verdict, args.advise, now))
        .flatten();
    let mut notes = String::new();
    if verdict.profile != crate::config::DEFAULT_PROFILE {
        notes.push_str(&format!(", profile {}", verdict.profile));
    } else if !facts.profile.is_empty() && facts.profile != verdict.profile {
        notes.push_str(&format!(
            ", unknown profile {:?}: used default",
            facts.profile
        ));
    }
    if let Some(shadow) = verdict.shadow {
        notes.push_str(&format!(
            ", shadow rule {} would {}",
            shadow.name,
            shadow.action.as_str()
        ));
    }
    let summary = format!(
        "{} caller {} ({}) to {}: rule {}, reason {}{}{}{}{}{}",
        verdict.action.as_str(),
        printable(facts.caller_number),
        verdict.caller,
        printable(facts.destination),
        verdict.rule_name(),
        reason,
        verdict
            .limit
            .map(|h| format!(
                ", limit {} key {} {}{}",
                h.limit.name,
                h.key_text(),
                h.state.as_str(),
                match h.count() {
                    Some(_) => format!(" ({})", h.counters_text()),
                    None => String::new(),
                }
            ))
            .unwrap_or_default(),
        verdict
            .shadow_limit
            .map(|h| format!(", shadow limit {} key {}", h.limit.name, h.key_text()))
            .unwrap_or_default(),
        verdict
            .reply
            .map(|r| format!(", reply {} ({})", r.name, r.kind))
            .unwrap_or_default(),
        notes,
        if args.advise && verdict.action == Action::Block {
            " [advise only]"
        } else {
            ""
        }
    );
    CallPlan {
        variables,
        steps,
        hangup,
        summary,
        challenge_evidence,
    }
}

/// Remembers the caller of a passed challenge as allowed, if the reply says so.
pub fn challenge_passed(service: &Service, challenge: &ChallengeStep, now: SystemTime) {
    if let Some((caller, duration)) = challenge.remember {
        service.allow_memory.remember(caller, now + duration, now);
    }
}

fn limit_variables(hit: &crate::limits::LimitHit<'_>, variables: &mut Vec<(&'static str, String)>) {
    variables.push((VAR_LIMIT, hit.limit.name.clone()));
    variables.push((VAR_LIMIT_KEY, hit.key_text().to_string()));
    variables.push((VAR_LIMIT_STATE, hit.state.as_str().to_string()));
    if let Some(t) = hit.threshold() {
        variables.push((VAR_LIMIT_THRESHOLD, t.to_string()));
    }
    if let Some(count) = hit.count() {
        variables.push((VAR_LIMIT_COUNT, count.to_string()));
        variables.push((VAR_LIMIT_COUNTERS, hit.counters_text()));
    }
    if let Some(p) = hit.penalty {
        variables.push((
            VAR_PENALTY_UNTIL,
            crate::timefmt::iso8601_utc(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::from(p.until)),
            ),
        ));
        variables.push((VAR_PENALTY_OFFENCE, p.offences.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn service(yaml: &str, name: &str) -> (Service, PathBuf) {
        let path = std::env::temp_dir().join(format!(
            "callscreen-plan-{name}-{}.yaml",
            std::process::id()
        ));
        std::fs::write(&path, yaml).unwrap();
        let (s, r) = Service::start(&path);
        r.unwrap();
        (s, path)
    }

    const YAML: &str = "lists:\n  bad: [\"+86170*\"]\nreplies:\n  busy: {kind: reject, cause: USER_BUSY}\nrules:\n  - name: pool\n    caller_in: bad\n    action: block\n    reply: busy\n";

    fn facts(caller: &str) -> CallFacts<'_> {
        CallFacts {
            caller_number: caller,
            destination: "4000",
            ..CallFacts::default()
        }
    }

    #[test]
    fn a_blocked_call_is_hung_up_with_the_reply_cause() {
        let (s, path) = service(YAML, "block");
        let plan = plan_call(
            &s,
            &facts("17012345678"),
            &AppArgs::default(),
            SystemTime::now(),
        );
        assert_eq!(plan.hangup, Some("USER_BUSY"));
        assert!(plan.variables.contains(&(VAR_VERDICT, "block".into())));
        assert!(plan.variables.contains(&(VAR_RULE, "pool".into())));
        assert!(plan.variables.contains(&(VAR_REASON, "list".into())));
        assert!(plan.variables.contains(&(VAR_REPLY, "busy".into())));
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn advise_only_sets_variables() {
        let (s, path) = service(YAML, "advise");
        let (args, unknown) = AppArgs::parse(" advise  bogus ");
        assert_eq!(unknown, vec!["bogus".to_string()]);
        let plan = plan_call(&s, &facts("17012345678"), &args, SystemTime::now());
        assert_eq!(plan.hangup, None);
        assert!(plan.variables.contains(&(VAR_VERDICT, "block".into())));
        assert!(plan.summary.ends_with("[advise only]"), "{}", plan.summary);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn an_allowed_call_is_left_alone() {
        let (s, path) = service(YAML, "allow");
        let plan = plan_call(
            &s,
            &facts("13800138000"),
            &AppArgs::default(),
            SystemTime::now(),
        );
        assert_eq!(plan.hangup, None);
        assert!(plan.variables.contains(&(VAR_VERDICT, "allow".into())));
        assert!(!plan.variables.iter().any(|(k, _)| *k == VAR_REPLY));
        assert_eq!(
            s.stats.allowed.load(std::sync::atomic::Ordering::Relaxed),
            1
        );
        std::fs::remove_file(path).unwrap();
    }

    const CHALLENGE: &str = "lists:\n  bad: [\"+86170*\"]\nreplies:\n  ask:\n    kind: challenge\n    prompt: \"tone_stream://%(200,0,800)\"\n    digits: \"1\"\n    remember: 1h\n    fallback: gone\n  gone: {kind: vacant}\nrules:\n  - name: pool\n    caller_in: bad\n    action: block\n    reply: ask\n";

    #[test]
    fn a_remembered_caller_neither_feeds_nor_meets_the_limits() {
        // Calls from a challenged pool: the redial limit allows one a minute.
        let yaml = format!(
            "{CHALLENGE}limits:\n  - name: redial\n    key: caller\n    calls: 1/1m\n    penalty: 10m\n"
        );
        let (s, path) = service(&yaml, "remembered-limits");
        let now = SystemTime::now();
        let first = plan_call(&s, &facts("17012345678"), &AppArgs::default(), now);
        let [.., HostStep::Challenge(c)] = first.steps.as_slice() else {
            panic!("{:?}", first.steps)
        };
        challenge_passed(&s, c, now);
        // Passed: the next calls are let through, however many, and none of
        // them trips the limit or carries its variables.
        for n in 0..5 {
            let plan = plan_call(&s, &facts("17012345678"), &AppArgs::default(), now);
            assert!(plan.steps.is_empty(), "call {n}: {:?}", plan.steps);
            assert!(
                plan.variables
                    .contains(&(VAR_REASON, REASON_REMEMBERED.into())),
                "call {n}: {:?}",
                plan.variables
            );
            assert!(
                !plan
                    .variables
                    .iter()
                    .any(|(k, _)| k.starts_with("callscreen_limit")),
                "call {n}: {:?}",
                plan.variables
            );
        }
        let boxed = crate::commands::run(&s, Some("json penalty list"));
        assert!(boxed.contains("\"keys\":[]"), "nothing boxed: {boxed}");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_challenge_plans_the_fallback_and_a_pass_is_remembered() {
        let (s, path) = service(CHALLENGE, "challenge");
        let now = SystemTime::now();
        let plan = plan_call(&s, &facts("17012345678"), &AppArgs::default(), now);
        assert_eq!(plan.hangup, None, "a challenge may let the caller through");
        let [HostStep::Execute { app: "answer", .. }, HostStep::Set { .. }, HostStep::Challenge(c)] =
            plan.steps.as_slice()
        else {
            panic!("{:?}", plan.steps)
        };
        assert_eq!(c.expected, "1");
        assert!(c.on_fail.contains(&HostStep::Hangup {
            cause: "UNALLOCATED_NUMBER"
        }));
        assert_eq!(c.remember.unwrap().1, std::time::Duration::from_secs(3600));

        challenge_passed(&s, c, now);
        let plan = plan_call(&s, &facts("17012345678"), &AppArgs::default(), now);
        assert!(plan.steps.is_empty());
        assert!(plan.variables.contains(&(VAR_VERDICT, "allow".into())));
        assert!(plan
            .variables
            .contains(&(VAR_REASON, REASON_REMEMBERED.into())));
        assert!(plan
            .variables
            .contains(&(VAR_CHALLENGE, "remembered".into())));
        // Another number of the same pool is still challenged; the memory outlives a reload.
        assert!(
            !plan_call(&s, &facts("17012345679"), &AppArgs::default(), now)
                .steps
                .is_empty()
        );
        s.reload().unwrap();
        let later = now + std::time::Duration::from_secs(3599);
        assert!(
            plan_call(&s, &facts("17012345678"), &AppArgs::default(), later)
                .steps
                .is_empty()
        );
        let expired = now + std::time::Duration::from_secs(3601);
        assert!(
            !plan_call(&s, &facts("17012345678"), &AppArgs::default(), expired)
                .steps
                .is_empty()
        );
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn without_config_calls_pass_marked_error() {
        let (s, _) = Service::start(std::path::Path::new("/nonexistent/x.yaml"));
        let plan = plan_call(
            &s,
            &facts("17012345678"),
            &AppArgs::default(),
            SystemTime::now(),
        );
        assert_eq!(plan.hangup, None);
        assert_eq!(plan.variables[0], (VAR_VERDICT, "error".into()));
        assert_eq!(s.stats.errors.load(std::sync::atomic::Ordering::Relaxed), 1);
    }
}
