//! One line of the evidence ledger: what a regulator needs about one call.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::engine::CallFacts;
use crate::timefmt::iso8601_utc_millis;
use crate::verdict::Verdict;

/// What happened to a recorded call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A rule blocked it and the reply was carried out.
    #[default]
    Blocked,
    /// A rule would have blocked it; `advise` mode only set the variables.
    Advised,
    /// A rate limit or the penalty box stopped it.
    Limited,
    /// The caller was challenged (press 1 …).
    Challenged,
    /// A shadow (dry-run) rule matched; the call went on.
    Shadow,
}

impl Outcome {
    /// The word used in the ledger, events and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Blocked => "blocked",
            Outcome::Advised => "advised",
            Outcome::Limited => "limited",
            Outcome::Challenged => "challenged",
            Outcome::Shadow => "shadow",
        }
    }
}

/// One ledger line. Empty optional fields are left out of the JSON.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LedgerRecord {
    /// When the call was screened, ISO 8601 UTC with milliseconds.
    pub time: String,
    /// The call's UUID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uuid: String,
    /// Caller ID number exactly as received.
    pub caller_number: String,
    /// Caller ID name exactly as received.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub caller_name: String,
    /// The caller normalised: E.164, or `anonymous` / `malformed`.
    pub caller: String,
    /// The number called, as received.
    pub destination_number: String,
    /// The number called, normalised.
    pub destination: String,
    /// Network address the call came from.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub network_addr: String,
    /// SIP Call-ID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sip_call_id: String,
    /// SIP User-Agent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user_agent: String,
    /// P-Asserted-Identity.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub p_asserted_identity: String,
    /// STIR/SHAKEN verification status.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub verstat: String,
    /// SIP profile the call came in on.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sip_profile: String,
    /// Screening profile (per-destination policy), when one applied.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub profile: String,
    /// `allow` or `block`.
    pub verdict: String,
    /// The deciding rule (`default` when none).
    pub rule: String,
    /// Why (`list`, `anonymous`, `limit`, …).
    pub reason: String,
    /// The limit that tripped, when one did.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub limit: String,
    /// The limited key (prefix or number), when a limit tripped.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    /// Counter values behind a limit decision.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counters: BTreeMap<String, u64>,
    /// The reply the caller got (or would have got).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reply: String,
    /// What happened.
    pub outcome: Outcome,
}

impl LedgerRecord {
    /// The record of a screened call, or `None` for a call the ledger does
    /// not keep (allowed calls).
    pub fn of(
        facts: &CallFacts<'_>,
        verdict: &Verdict<'_>,
        advised: bool,
        now: SystemTime,
    ) -> Option<LedgerRecord> {
        let outcome = match verdict.action {
            crate::config::Action::Allow => return None,
            crate::config::Action::Block if advised => Outcome::Advised,
            crate::config::Action::Block => Outcome::Blocked,
        };
        let e = &facts.evidence;
        Some(LedgerRecord {
            time: iso8601_utc_millis(now),
            uuid: e.uuid.to_string(),
            caller_number: facts.caller_number.to_string(),
            caller_name: facts.caller_name.to_string(),
            caller: verdict.caller.to_string(),
            destination_number: facts.destination.to_string(),
            destination: verdict.destination.to_string(),
            network_addr: facts.network_addr.to_string(),
            sip_call_id: e.sip_call_id.to_string(),
            user_agent: e.user_agent.to_string(),
            p_asserted_identity: e.p_asserted_identity.to_string(),
            verstat: e.verstat.to_string(),
            sip_profile: e.sip_profile.to_string(),
            profile: String::new(),
            verdict: verdict.action.as_str().to_string(),
            rule: verdict.rule_name().to_string(),
            reason: verdict.reason.as_str().to_string(),
            limit: String::new(),
            key: String::new(),
            counters: BTreeMap::new(),
            reply: verdict.reply_name().to_string(),
            outcome,
        })
    }

    /// The JSON line (without the newline).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::engine::{CallEvidence, Engine};
    use std::path::Path;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn a_blocked_call_becomes_one_json_line_with_every_field() {
        let engine = Engine::new(
            Config::parse(
                "lists:\n  bad: [\"+86170*\"]\nrules:\n  - name: pool\n    caller_in: bad\n    action: block\n",
                Path::new("t.yaml"),
            )
            .unwrap(),
        );
        let facts = CallFacts {
            caller_number: "017012345678",
            caller_name: "Robo \"Dialer\"\n%s",
            destination: "4000",
            network_addr: "192.0.2.7",
            ..CallFacts::default()
        };
        let facts = CallFacts {
            evidence: CallEvidence {
                uuid: "u-1",
                sip_call_id: "abc@host",
                user_agent: "Dialer/1.0",
                p_asserted_identity: "<sip:+8617012345678@carrier>",
                verstat: "TN-Validation-Passed",
                sip_profile: "external",
            },
            ..facts
        };
        let now = UNIX_EPOCH + Duration::from_millis(1_709_251_199_042);
        let verdict = engine.screen(&facts, now);
        let record = LedgerRecord::of(&facts, &verdict, false, now).unwrap();
        let line = record.to_json();
        assert!(!line.contains('\n'), "{line}");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["time"], "2024-02-29T23:59:59.042Z");
        assert_eq!(v["uuid"], "u-1");
        assert_eq!(v["caller_number"], "017012345678");
        assert_eq!(v["caller_name"], "Robo \"Dialer\"\n%s");
        assert_eq!(v["caller"], "+8617012345678");
        assert_eq!(v["destination_number"], "4000");
        assert_eq!(v["network_addr"], "192.0.2.7");
        assert_eq!(v["sip_call_id"], "abc@host");
        assert_eq!(v["user_agent"], "Dialer/1.0");
        assert_eq!(v["p_asserted_identity"], "<sip:+8617012345678@carrier>");
        assert_eq!(v["verstat"], "TN-Validation-Passed");
        assert_eq!(v["rule"], "pool");
        assert_eq!(v["reason"], "list");
        assert_eq!(v["reply"], "rejected");
        assert_eq!(v["outcome"], "blocked");
        assert!(
            v.get("limit").is_none(),
            "empty fields are left out: {line}"
        );
        let back: LedgerRecord = serde_json::from_str(&line).unwrap();
        assert_eq!(back, record);

        let advised = LedgerRecord::of(&facts, &verdict, true, now).unwrap();
        assert_eq!(advised.outcome, Outcome::Advised);
        let allowed = engine.screen(
            &CallFacts {
                caller_number: "13800138000",
                ..facts
            },
            now,
        );
        assert!(LedgerRecord::of(&facts, &allowed, false, now).is_none());
    }
}
