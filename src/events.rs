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
    let mut h = Vec::with_capacity(24);
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
    h.push(("Callscreen-Profile", verdict.profile.to_string()));
    if let Some(hit) = &verdict.limit {
        h.push(("Callscreen-Limit", hit.limit.name.clone()));
    }
    if let Some(shadow) = verdict.shadow {
        h.push(("Callscreen-Shadow-Rule", shadow.name.clone()));
    }
    if let Some(hit) = &verdict.shadow_limit {
        h.push(("Callscreen-Shadow-Limit", hit.limit.name.clone()));
    }
    // The key and counters of the limit, else of the shadow limit.
    if let Some(hit) = verdict.limit.as_ref().or(verdict.shadow_limit.as_ref()) {
        h.push(("Callscreen-Limit-Key", hit.key_text().to_string()));
        h.push(("Callscreen-Limit-State", hit.state.as_str().to_string()));
        let counters = hit.counters_text();
        if !counters.is_empty() {
            h.push(("Callscreen-Limit-Counters", counters));
        }
    }
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
    /// Why: `tripped` (entering), `expired` or `cleared` (leaving).
    pub reason: &'static str,
    /// Whether the limit is a shadow limit (its box refuses nothing).
    pub shadow: bool,
}

/// The headers of a `callscreen::penalty` event.
pub fn penalty_headers(change: &PenaltyChange) -> Vec<(&'static str, String)> {
    let mut h = vec![
        ("Callscreen-Penalty-Key", change.key.clone()),
        (
            "Callscreen-Penalty-Action",
            if change.entered { "enter" } else { "leave" }.to_string(),
        ),
        ("Callscreen-Penalty-Reason", change.reason.to_string()),
        ("Callscreen-Limit", change.limit.clone()),
        ("Callscreen-Limit-Shadow", change.shadow.to_string()),
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
    fn verdict_headers_name_the_profile_limit_and_shadow_matches() {
        let engine = Engine::new(
            Config::parse(
                "numbering:\n  country_code: \"86\"\nlists:\n  watched: [\"+86170*\"]\nrules:\n  - name: strict\n    caller_in: watched\n    action: block\n    shadow: true\nlimits:\n  - name: pools\n    key: caller_prefix\n    digits: 7\n    distinct: 1/1h\n  - name: watch\n    key: caller_prefix\n    digits: 6\n    calls: 1/1h\n    shadow: true\n",
                Path::new("t.yaml"),
            )
            .unwrap(),
        );
        let now = SystemTime::now();
        let call = |caller| CallFacts {
            caller_number: caller,
            destination: "4000",
            ..CallFacts::default()
        };
        let first = call("017012340001");
        let v = engine.screen(&first, now);
        let h = verdict_headers(&first, &v, "shadow", false, Duration::ZERO);
        let get = |h: &[(&str, String)], name: &str| {
            h.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone())
        };
        assert_eq!(get(&h, "Callscreen-Profile").as_deref(), Some("default"));
        assert_eq!(get(&h, "Callscreen-Shadow-Rule").as_deref(), Some("strict"));
        assert_eq!(get(&h, "Callscreen-Limit"), None);
        let second = call("017012340002");
        let v = engine.screen(&second, now);
        let h = verdict_headers(&second, &v, "limited", false, Duration::ZERO);
        assert_eq!(get(&h, "Callscreen-Limit").as_deref(), Some("pools"));
        assert_eq!(get(&h, "Callscreen-Limit-Key").as_deref(), Some("1701234"));
        assert_eq!(
            get(&h, "Callscreen-Limit-State").as_deref(),
            Some("tripped")
        );
        assert_eq!(
            get(&h, "Callscreen-Limit-Counters").as_deref(),
            Some("distinct 2/1 per 1h")
        );
        assert_eq!(get(&h, "Callscreen-Shadow-Limit").as_deref(), Some("watch"));
    }

    #[test]
    fn penalty_headers_say_enter_or_leave() {
        let h = penalty_headers(&PenaltyChange {
            key: "+86170".into(),
            entered: false,
            limit: "pool".into(),
            until: None,
            strikes: 2,
            reason: "cleared",
            shadow: false,
        });
        assert!(h.contains(&("Callscreen-Penalty-Action", "leave".to_string())));
        assert!(h.contains(&("Callscreen-Penalty-Strikes", "2".to_string())));
        assert!(h.contains(&("Callscreen-Penalty-Reason", "cleared".to_string())));
        assert!(!h.iter().any(|(n, _)| *n == "Callscreen-Penalty-Until"));
    }
}
