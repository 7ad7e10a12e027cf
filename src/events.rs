//! ESL events the module fires, as pure data: subclass names and header
//! lists. The boundary (src/fs/events.rs) turns them into FreeSWITCH
//! `CUSTOM` events; ESL clients subscribe with
//! `event plain CUSTOM callscreen::verdict callscreen::penalty`.

use std::time::{Duration, SystemTime};

use crate::engine::CallFacts;
use crate::timefmt::iso8601_utc_millis;
use crate::verdict::Verdict;

/// Fired for every screened call.
pub const VERDICT_SUBCLASS: &str = "callscreen::verdict";
/// Fired when a key enters or leaves the penalty box.
pub const PENALTY_SUBCLASS: &str = "callscreen::penalty";

/// Where events go: FreeSWITCH's event system in the module, a recorder in tests.
pub trait EventSink: Send + Sync {
    /// Fires a `CUSTOM` event of `subclass` with these headers, in order.
    fn fire(&self, subclass: &'static str, headers: &[(&'static str, String)]);
}

/// The headers of a `callscreen::verdict` event.
pub fn verdict_headers(
    facts: &CallFacts<'_>,
    verdict: &Verdict<'_>,
    outcome: &str,
    advised: bool,
    decision: Duration,
) -> Vec<(&'static str, String)> {
    let e = &facts.evidence;
    let mut h = Vec::with_capacity(16);
    if !e.uuid.is_empty() {
        // The standard name, so `filter Unique-ID <uuid>` works in ESL.
        h.push(("Unique-ID", e.uuid.to_string()));
    }
    h.push(("Callscreen-Verdict", verdict.action.as_str().to_string()));
    h.push(("Callscreen-Outcome", outcome.to_string()));
    h.push(("Callscreen-Rule", verdict.rule_name().to_string()));
    h.push(("Callscreen-Reason", verdict.reason.as_str().to_string()));
    h.push(("Callscreen-Reply", verdict.reply_name().to_string()));
    h.push(("Callscreen-Advise", advised.to_string()));
    h.push(("Callscreen-Caller", verdict.caller.to_string()));
    h.push(("Callscreen-Caller-Number", facts.caller_number.to_string()));
    h.push(("Callscreen-Caller-Name", facts.caller_name.to_string()));
    h.push(("Callscreen-Destination", verdict.destination.to_string()));
    h.push((
        "Callscreen-Destination-Number",
        facts.destination.to_string(),
    ));
    for (name, value) in [
        ("Callscreen-Network-Addr", facts.network_addr),
        ("Callscreen-SIP-Call-ID", e.sip_call_id),
        ("Callscreen-User-Agent", e.user_agent),
        ("Callscreen-P-Asserted-Identity", e.p_asserted_identity),
        ("Callscreen-Verstat", e.verstat),
    ] {
        if !value.is_empty() {
            h.push((name, value.to_string()));
        }
    }
    h.push(("Callscreen-Decision-Usec", decision.as_micros().to_string()));
    h
}

/// A key entering or leaving the penalty box (hook for the limits code).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PenaltyChange {
    /// The key (a prefix or a number).
    pub key: String,
    /// True when it enters the box, false when it leaves.
    pub entered: bool,
    /// The limit that put it there.
    pub limit: String,
    /// Until when it stays (entering only).
    pub until: Option<SystemTime>,
    /// How many times it has been boxed (longer on repeat).
    pub strikes: u32,
}

/// The headers of a `callscreen::penalty` event.
pub fn penalty_headers(change: &PenaltyChange) -> Vec<(&'static str, String)> {
    let mut h = vec![
        ("Callscreen-Penalty-Key", change.key.clone()),
        (
            "Callscreen-Penalty-Action",
            if change.entered { "enter" } else { "leave" }.to_string(),
        ),
        ("Callscreen-Limit", change.limit.clone()),
        ("Callscreen-Penalty-Strikes", change.strikes.to_string()),
    ];
    if let Some(until) = change.until {
        h.push(("Callscreen-Penalty-Until", iso8601_utc_millis(until)));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::engine::{CallEvidence, Engine};
    use std::path::Path;

    #[test]
    fn verdict_headers_carry_the_decision_and_the_evidence() {
        let engine = Engine::new(
            Config::parse(
                "lists:\n  bad: [\"+86170*\"]\nrules:\n  - name: pool\n    caller_in: bad\n    action: block\n",
                Path::new("t.yaml"),
            )
            .unwrap(),
        );
        let facts = CallFacts {
            caller_number: "017012345678",
            caller_name: "Dialer",
            destination: "4000",
            network_addr: "192.0.2.7",
            ..CallFacts::default()
        };
        let facts = CallFacts {
            evidence: CallEvidence {
                uuid: "u-1",
                sip_call_id: "abc@host",
                ..CallEvidence::default()
            },
            ..facts
        };
        let v = engine.screen(&facts, SystemTime::now());
        let h = verdict_headers(&facts, &v, "blocked", false, Duration::from_micros(3));
        let get = |name: &str| h.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str());
        assert_eq!(get("Unique-ID"), Some("u-1"));
        assert_eq!(get("Callscreen-Verdict"), Some("block"));
        assert_eq!(get("Callscreen-Outcome"), Some("blocked"));
        assert_eq!(get("Callscreen-Rule"), Some("pool"));
        assert_eq!(get("Callscreen-Reason"), Some("list"));
        assert_eq!(get("Callscreen-Reply"), Some("rejected"));
        assert_eq!(get("Callscreen-Caller"), Some("+8617012345678"));
        assert_eq!(get("Callscreen-Caller-Number"), Some("017012345678"));
        assert_eq!(get("Callscreen-SIP-Call-ID"), Some("abc@host"));
        assert_eq!(
            get("Callscreen-User-Agent"),
            None,
            "absent headers are left out"
        );
        assert_eq!(get("Callscreen-Decision-Usec"), Some("3"));
    }

    #[test]
    fn penalty_headers_say_enter_or_leave() {
        let h = penalty_headers(&PenaltyChange {
            key: "+86170".into(),
            entered: false,
            limit: "pool".into(),
            until: None,
            strikes: 2,
        });
        assert!(h.contains(&("Callscreen-Penalty-Action", "leave".to_string())));
        assert!(h.contains(&("Callscreen-Penalty-Strikes", "2".to_string())));
    }
}
