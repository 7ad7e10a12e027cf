//! One line of the evidence ledger: what a regulator needs about one call.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::config::{Action, ReplyKind};
use crate::engine::CallFacts;
use crate::limits::LimitHit;
use crate::timefmt::iso8601_utc_millis;
use crate::verdict::Verdict;

/// A limit's counters by threshold (`distinct 3/1h` → 4), when counted.
pub(crate) fn counters_of(hit: &LimitHit<'_>) -> BTreeMap<String, u64> {
    if !hit.counts.is_known() {
        return BTreeMap::new();
    }
    hit.limit.levels[hit.level]
        .thresholds
        .iter()
        .zip(hit.counts.0)
        .map(|(t, c)| (t.to_string(), u64::from(c)))
        .collect()
}

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
    /// A shadow (dry-run) rule or shadow limit matched; the call went on.
    Shadow,
    /// The caller pressed the expected digits of a challenge (a second line
    /// for a call first recorded as `challenged`).
    #[serde(rename = "challenge-passed")]
    ChallengePassed,
    /// The caller did not pass a challenge: wrong or no digits, or hung up.
    #[serde(rename = "challenge-failed")]
    ChallengeFailed,
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
            Outcome::ChallengePassed => "challenge-passed",
            Outcome::ChallengeFailed => "challenge-failed",
        }
    }

    /// Whether the line follows up a call already recorded (a challenge's
    /// result): reports count it as an outcome, not as another call.
    pub fn is_follow_up(self) -> bool {
        matches!(self, Outcome::ChallengePassed | Outcome::ChallengeFailed)
    }
}

/// One ledger line. Empty optional fields are left out of the JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The limit that refused the call, when one did.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub limit: String,
    /// `tripped` (this call went over a threshold) or `penalty` (the key
    /// was already in the penalty box), for the limit or shadow limit.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub limit_state: String,
    /// The key (prefix or number) of the limit, or of the shadow limit when
    /// only a shadow limit matched.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    /// Counter values behind that limit decision, by threshold
    /// (`{"distinct 3/1h": 4}`); empty for a key already in the box.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counters: BTreeMap<String, u64>,
    /// The shadow rule that matched (what it would have done is not done).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub shadow_rule: String,
    /// The shadow limit that would have refused the call.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub shadow_limit: String,
    /// Digits the caller pressed at a challenge (follow-up lines).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub digits: String,
    /// The reply the caller got (or would have got).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reply: String,
    /// What happened.
    pub outcome: Outcome,
}

impl LedgerRecord {
    /// The record of a screened call, or `None` for a call the ledger does
    /// not keep (allowed calls no shadow rule or shadow limit matched).
    pub fn of(
        facts: &CallFacts<'_>,
        verdict: &Verdict<'_>,
        advised: bool,
        now: SystemTime,
    ) -> Option<LedgerRecord> {
        let shadowed = verdict.shadow.is_some() || verdict.shadow_limit.is_some();
        let challenge = verdict
            .reply
            .is_some_and(|r| matches!(r.kind, ReplyKind::Challenge(_)));
        let outcome = match verdict.action {
            Action::Allow if shadowed => Outcome::Shadow,
            Action::Allow => return None,
            Action::Block if advised => Outcome::Advised,
            Action::Block if verdict.limit.is_some() => Outcome::Limited,
            Action::Block if challenge => Outcome::Challenged,
            Action::Block => Outcome::Blocked,
        };
        let e = &facts.evidence;
        let hit = verdict.limit.as_ref().or(verdict.shadow_limit.as_ref());
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
            profile: verdict.profile.to_string(),
            verdict: verdict.action.as_str().to_string(),
            rule: verdict.rule_name().to_string(),
            reason: verdict.reason.as_str().to_string(),
            limit: verdict
                .limit
                .map(|h| h.limit.name.clone())
                .unwrap_or_default(),
            limit_state: hit
                .map(|h| h.state.as_str().to_string())
                .unwrap_or_default(),
            key: hit.map(|h| h.key_text().to_string()).unwrap_or_default(),
            counters: hit.map(counters_of).unwrap_or_default(),
            shadow_rule: verdict.shadow_rule_name().to_string(),
            shadow_limit: verdict
                .shadow_limit
                .map(|h| h.limit.name.clone())
                .unwrap_or_default(),
            digits: String::new(),
            reply: verdict.reply_name().to_string(),
            outcome,
        })
    }

    /// The follow-up line of a challenged call (`self` is its first line):
    /// whether the caller passed, and what was pressed, at `now`.
    pub fn challenge_result(&self, passed: bool, digits: &str, now: SystemTime) -> LedgerRecord {
        LedgerRecord {
            time: iso8601_utc_millis(now),
            digits: digits.to_string(),
            outcome: if passed {
                Outcome::ChallengePassed
            } else {
                Outcome::ChallengeFailed
            },
            ..self.clone()
        }
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

    fn screen_all(engine: &Engine, callers: &[&str], now: SystemTime) -> Vec<LedgerRecord> {
        callers
            .iter()
            .filter_map(|c| {
                let facts = CallFacts {
                    caller_number: c,
                    destination: "4000",
                    ..CallFacts::default()
                };
                let v = engine.screen(&facts, now);
                LedgerRecord::of(&facts, &v, false, now)
            })
            .collect()
    }

    const LIMITS: &str = "numbering:\n  country_code: \"86\"\nlists:\n  watched: [\"+86135*\"]\nreplies:\n  busy: {kind: reject, cause: USER_BUSY}\n  ask: {kind: challenge, prompt: \"tone_stream://%(200,0,800)\", digits: \"1\", fallback: busy}\nrules:\n  - name: strict\n    caller_in: watched\n    action: block\n    shadow: true\n  - name: ask-withheld\n    caller_is: anonymous\n    action: block\n    reply: ask\nlimits:\n  - name: pools\n    key: caller_prefix\n    digits: 7\n    distinct: 2/1h\n    penalty: 1h\n    reply: busy\n  - name: watch\n    key: caller\n    calls: 1/1h\n    shadow: true\n";

    #[test]
    fn limited_shadow_and_challenged_calls_are_recorded_with_their_evidence() {
        let engine = Engine::new(Config::parse(LIMITS, Path::new("t.yaml")).unwrap());
        let now = UNIX_EPOCH + Duration::from_secs(1_714_000_000);
        // Two numbers of a pool pass unrecorded; the third trips the limit,
        // the fourth meets the penalty box.
        let pool = screen_all(
            &engine,
            &[
                "017012340001",
                "017012340002",
                "017012340003",
                "017012340004",
            ],
            now,
        );
        assert_eq!(pool.len(), 2, "allowed calls are not kept: {pool:?}");
        let tripped = &pool[0];
        assert_eq!(tripped.outcome, Outcome::Limited);
        assert_eq!(tripped.profile, "default");
        assert_eq!(tripped.reason, "limit");
        assert_eq!(tripped.limit, "pools");
        assert_eq!(tripped.limit_state, "tripped");
        assert_eq!(tripped.key, "1701234");
        assert_eq!(tripped.counters["distinct 2/1h"], 3);
        assert_eq!(tripped.reply, "busy");
        let boxed = &pool[1];
        assert_eq!(boxed.limit_state, "penalty");
        assert!(boxed.counters.is_empty(), "a boxed call is not counted");
        let v: serde_json::Value = serde_json::from_str(&tripped.to_json()).unwrap();
        assert_eq!(v["outcome"], "limited");
        assert_eq!(v["counters"]["distinct 2/1h"], 3);

        // An allowed call a shadow rule matched; then the same caller again,
        // which the shadow limit would have refused.
        let shadow = screen_all(&engine, &["13512345678", "13512345678"], now);
        assert_eq!(shadow[0].outcome, Outcome::Shadow);
        assert_eq!(shadow[0].verdict, "allow");
        assert_eq!(shadow[0].shadow_rule, "strict");
        assert_eq!(shadow[0].shadow_limit, "");
        assert_eq!(shadow[1].shadow_limit, "watch");
        assert_eq!(shadow[1].limit, "", "a shadow limit refuses nothing");
        assert_eq!(shadow[1].key, "+8613512345678");
        assert_eq!(shadow[1].counters["calls 1/1h"], 2);

        // A challenge, then its result as a second line.
        let asked = screen_all(&engine, &["anonymous"], now);
        assert_eq!(asked[0].outcome, Outcome::Challenged);
        let later = now + Duration::from_secs(9);
        let result = asked[0].challenge_result(false, "7", later);
        assert_eq!(result.outcome, Outcome::ChallengeFailed);
        assert!(result.outcome.is_follow_up());
        assert_eq!(result.rule, "ask-withheld");
        let v: serde_json::Value = serde_json::from_str(&result.to_json()).unwrap();
        assert_eq!(v["outcome"], "challenge-failed");
        assert_eq!(v["digits"], "7");
        assert_eq!(v["time"], "2024-04-24T23:06:49.000Z");
        let back: LedgerRecord = serde_json::from_str(&result.to_json()).unwrap();
        assert_eq!(back, result);
        assert_eq!(
            asked[0].challenge_result(true, "1", later).outcome.as_str(),
            "challenge-passed"
        );
    }
}
