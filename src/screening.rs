//! What the `callscreen` dialplan application does with a call, decided in
//! pure Rust: the boundary reads the call's facts, asks for a [`CallPlan`],
//! and carries it out on the channel.

use std::time::SystemTime;

use crate::config::{Action, ReplyKind};
use crate::engine::CallFacts;
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

/// The application's arguments (`<action application="callscreen" data="…"/>`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppArgs {
    /// Only set the variables; never hang up.
    pub advise: bool,
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
                other => unknown.push(other.to_string()),
            }
        }
        (args, unknown)
    }
}

/// What the channel must get.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallPlan {
    /// Channel variables to set, in order.
    pub variables: Vec<(&'static str, String)>,
    /// Hang up with this FreeSWITCH cause name.
    pub hangup: Option<&'static str>,
    /// One line for the log.
    pub summary: String,
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
            hangup: None,
            summary: format!(
                "no config loaded ({}); call let through",
                service.last_error().unwrap_or_default()
            ),
        };
    };
    let verdict = screen_call(&engine, facts, now);
    service.record(&verdict);

    let mut variables = vec![
        (VAR_VERDICT, verdict.action.as_str().to_string()),
        (VAR_RULE, verdict.rule_name().to_string()),
        (VAR_REASON, verdict.reason.as_str().to_string()),
        (VAR_CALLER, verdict.caller.to_string()),
    ];
    let mut hangup = None;
    if let Some(reply) = verdict.reply {
        variables.push((VAR_REPLY, reply.name.clone()));
        if !args.advise {
            match reply.kind {
                ReplyKind::Reject { cause } => hangup = Some(cause),
            }
        }
    }
    let summary = format!(
        "{} caller {} ({}) to {}: rule {}, reason {}{}{}",
        verdict.action.as_str(),
        facts.caller_number,
        verdict.caller,
        facts.destination,
        verdict.rule_name(),
        verdict.reason,
        verdict
            .reply
            .map(|r| format!(", reply {} ({})", r.name, r.kind))
            .unwrap_or_default(),
        if args.advise && verdict.action == Action::Block {
            " [advise only]"
        } else {
            ""
        }
    );
    CallPlan {
        variables,
        hangup,
        summary,
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
