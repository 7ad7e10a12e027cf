//! Reading the module's evidence ledger (JSON Lines, one screened call a
//! line) for `callscreen report`. Reading is lenient: unknown keys are
//! ignored, any plain value is taken as text, and a line that cannot be read
//! (a line cut short by a crash, say) is skipped and reported by number
//! rather than stopping the report. Replay's `--out x.jsonl` writes the same
//! keys, so a replay can be reported on as a ledger is.

use std::io::BufRead;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::Outcome;
use crate::numbers::{Caller, NumberPlan, E164};
use crate::timefmt::parse_timestamp;

/// A value of any JSON type, kept as text when it is a plain value.
#[derive(Default, Debug, Clone)]
struct Lenient(Option<String>);

impl<'de> Deserialize<'de> for Lenient {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Lenient;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Lenient, E> {
                Ok(Lenient(Some(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Lenient, E> {
                Ok(Lenient(Some(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Lenient, E> {
                Ok(Lenient(Some(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Lenient, E> {
                Ok(Lenient(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Lenient, E> {
                Ok(Lenient(Some(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Lenient, E> {
                Ok(Lenient(Some(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Lenient, E> {
                Ok(Lenient(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Lenient, E> {
                Ok(Lenient(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Lenient, D::Error> {
                Lenient::deserialize(d)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Lenient, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Lenient, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
        }
        d.deserialize_any(V)
    }
}

impl Lenient {
    fn text(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }
}

/// One ledger line: the keys the report uses (others are ignored).
#[derive(Default, Debug, Deserialize)]
#[serde(default)]
struct LedgerLine {
    time: Lenient,
    caller_number: Lenient,
    caller_name: Lenient,
    /// The module's ledger: the caller normalised.
    caller: Lenient,
    /// A replay's output: the caller normalised.
    caller_normalised: Lenient,
    destination: Lenient,
    destination_number: Lenient,
    profile: Lenient,
    rule: Lenient,
    limit: Lenient,
    reply: Lenient,
    verdict: Lenient,
    outcome: Lenient,
    reason: Lenient,
    shadow: Lenient,
    shadow_rule: Lenient,
    shadow_limit: Lenient,
    line: Lenient,
}

/// One ledger line as read: the call as the summaries see it, and what the
/// complaint tables of [`crate::report`] need besides.
#[derive(Clone, Copy, Debug)]
pub struct LedgerEntry<'a> {
    /// The call.
    pub outcome: Outcome<'a>,
    /// The UTC offset its time was written with, if any.
    pub offset: Option<i32>,
    /// Its time as written.
    pub time_text: &'a str,
    /// The caller name as received.
    pub caller_name: &'a str,
    /// What happened, in the ledger's words (`blocked`, `limited`,
    /// `challenged`, `shadow`, `advised`, `challenge-passed`, …). A
    /// replay's output has no such key: `blocked`, `shadow` or `allowed`
    /// from its verdict.
    pub recorded: &'a str,
}

impl LedgerEntry<'_> {
    /// Whether the line follows up a call already read (a challenge's
    /// result): an outcome of that call, not another call.
    pub fn is_follow_up(&self) -> bool {
        self.recorded.starts_with("challenge-")
    }

    /// Whether the module would have recorded the call: all but allowed
    /// calls no shadow rule or limit matched (a replay's output has those).
    pub fn is_screened(&self) -> bool {
        self.recorded != "allowed"
    }
}

/// A ledger line that was skipped, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// 1-based line number.
    pub line: u64,
    /// What was wrong.
    pub message: String,
}

/// What a ledger held: counts of read and skipped lines.
#[derive(Clone, Debug, Default)]
pub struct LedgerStats {
    /// Lines read as calls (follow-up lines not counted).
    pub calls: u64,
    /// Lines skipped (all counted; the first few kept in `skipped`).
    pub skipped_count: u64,
    /// The first lines skipped.
    pub skipped: Vec<Skipped>,
    /// The UTC offset of the first time written with one.
    pub first_offset: Option<i32>,
}

/// How many skipped lines are kept for the message.
const SKIPPED_KEPT: usize = 10;

/// Normalises a ledger verdict word: `blocked` and `block` are `block`, …
fn verdict_word(text: &str) -> &str {
    match text.to_ascii_lowercase().as_str() {
        "block" | "blocked" | "reject" | "rejected" | "screened" | "limited" | "challenged" => {
            "block"
        }
        "allow" | "allowed" | "pass" | "passed" | "shadow" => "allow",
        "advise" | "advised" => "block",
        _ => text,
    }
}

fn caller_of(normalised: &str, raw: &str, plan: &NumberPlan) -> Caller {
    let n = normalised.trim();
    if let Some(digits) = n.strip_prefix('+') {
        if let Some(e) = E164::from_digits(digits) {
            return Caller::Number(e);
        }
    }
    match n {
        "anonymous" => Caller::Anonymous,
        "malformed" => Caller::Malformed,
        _ => plan.classify(raw),
    }
}

fn first_given<'a>(values: &[&'a Lenient]) -> &'a str {
    values
        .iter()
        .map(|v| v.text())
        .find(|t| !t.is_empty())
        .unwrap_or("")
}

/// Reads a ledger, handing each line to `each` (follow-up lines too: see
/// [`LedgerEntry::is_follow_up`]); `plan` normalises callers whose line has
/// no normalised caller.
pub fn read_ledger<R: BufRead>(
    mut input: R,
    plan: &NumberPlan,
    mut each: impl FnMut(&LedgerEntry<'_>),
) -> std::io::Result<LedgerStats> {
    let mut stats = LedgerStats::default();
    let mut raw = Vec::with_capacity(1024);
    let mut line_no = 0u64;
    let skip = |stats: &mut LedgerStats, line: u64, message: String| {
        stats.skipped_count += 1;
        if stats.skipped.len() < SKIPPED_KEPT {
            stats.skipped.push(Skipped { line, message });
        }
    };
    loop {
        raw.clear();
        if input.read_until(b'\n', &mut raw)? == 0 {
            break;
        }
        line_no += 1;
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let entry: LedgerLine = match serde_json::from_slice(&raw) {
            Ok(e) => e,
            Err(e) => {
                let mut message = e.to_string();
                if let Some(pos) = message.rfind(" at line ") {
                    message.truncate(pos);
                }
                skip(&mut stats, line_no, message);
                continue;
            }
        };
        let stamp = match parse_timestamp(entry.time.text(), 0) {
            Ok(s) => s,
            Err(e) => {
                skip(&mut stats, line_no, e.to_string());
                continue;
            }
        };
        if stats.first_offset.is_none() {
            stats.first_offset = stamp.offset;
        }
        let verdict = if entry.verdict.0.is_some() {
            verdict_word(entry.verdict.text())
        } else {
            verdict_word(entry.outcome.text())
        };
        let shadow = first_given(&[&entry.shadow, &entry.shadow_rule, &entry.shadow_limit]);
        let recorded = match entry.outcome.text() {
            "" if verdict == "block" => "blocked",
            "" if !shadow.is_empty() => "shadow",
            "" => "allowed",
            word => word,
        };
        let outcome = Outcome {
            time: stamp.time,
            caller: caller_of(
                first_given(&[&entry.caller_normalised, &entry.caller]),
                entry.caller_number.text(),
                plan,
            ),
            caller_number: entry.caller_number.text(),
            destination: first_given(&[&entry.destination, &entry.destination_number]),
            profile: entry.profile.text(),
            verdict,
            rule: entry.rule.text(),
            reason: entry.reason.text(),
            reply: entry.reply.text(),
            limit: entry.limit.text(),
            shadow,
            // A replay's output names the call's line in the history.
            line: entry.line.text().parse().unwrap_or(line_no),
        };
        let entry = LedgerEntry {
            outcome,
            offset: stamp.offset,
            time_text: entry.time.text(),
            caller_name: entry.caller_name.text(),
            recorded,
        };
        if !entry.is_follow_up() {
            stats.calls += 1;
        }
        each(&entry);
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_leniently_and_bad_ones_skipped_by_number() {
        let text = concat!(
            "{\"time\":\"2024-05-01T08:00:00+08:00\",\"uuid\":\"u1\",\"caller_number\":\"017012345678\",",
            "\"caller_normalised\":\"+8617012345678\",\"destination\":\"4000\",\"rule\":\"pool\",",
            "\"limit\":\"pool-distinct\",\"key\":\"+861701234\",\"counters\":{\"calls\":3},",
            "\"reply\":\"busy\",\"outcome\":\"blocked\",\"reason\":\"limit\",\"future_key\":[1]}\n",
            "{\"time\":\"2024-05-01T08:01:00+08:00\",\"caller_number\":\"13800138000\",",
            "\"verdict\":\"allow\",\"rule\":\"default\",\"reason\":\"default\",\"shadow\":\"strict\"}\n",
            "{\"time\":\"2024-05-01T08:02:00+08:00\",\"caller_num\n",
            "not json\n",
            "{\"time\":\"later\"}\n",
        );
        let mut seen = Vec::new();
        let stats = read_ledger(text.as_bytes(), &NumberPlan::default(), |e| {
            let o = &e.outcome;
            seen.push((
                o.verdict.to_string(),
                o.caller.to_string(),
                o.limit.to_string(),
                o.shadow.to_string(),
            ))
        })
        .unwrap();
        assert_eq!(stats.calls, 2);
        assert_eq!(stats.first_offset, Some(8 * 3600));
        assert_eq!(
            seen[0],
            (
                "block".into(),
                "+8617012345678".into(),
                "pool-distinct".into(),
                "".into()
            )
        );
        assert_eq!(seen[1].1, "+8613800138000");
        assert_eq!(seen[1].3, "strict");
        assert_eq!(stats.skipped_count, 3);
        let lines: Vec<u64> = stats.skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, vec![3, 4, 5]);
        assert!(stats.skipped[2].message.contains("\"later\""));
    }
}
