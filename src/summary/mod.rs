//! Summaries of screened calls, for a replay (`callscreen replay`) and for
//! the module's evidence ledger (`callscreen report`) alike: calls by
//! verdict, reason, rule, limit and reply, the most blocked prefixes and
//! callers, the allowed calls a shadow rule would have blocked, and blocked
//! calls over time for the charts. Memory is bounded: counts by name are as
//! many as the config has names, heavy hitters are kept in a [`TopK`], and
//! time buckets are one per hour of the period.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::numbers::{Caller, E164};
use crate::timefmt::epoch_seconds;

pub mod cells;
pub mod html;
pub mod ledger;
pub mod text;
pub mod topk;

pub use topk::{Ranked, TopK};

/// One screened call as the summaries see it, whether replayed or read
/// from the ledger.
#[derive(Clone, Copy, Debug)]
pub struct Outcome<'a> {
    /// When the call arrived.
    pub time: SystemTime,
    /// The caller, normalised.
    pub caller: Caller,
    /// The caller ID as received.
    pub caller_number: &'a str,
    /// The number called.
    pub destination: &'a str,
    /// The screening profile whose rules decided (`default`: the top-level
    /// rules), as the engine chose it.
    pub profile: &'a str,
    /// `allow`, `block` or `error`.
    pub verdict: &'a str,
    /// The deciding rule (`default` when none).
    pub rule: &'a str,
    /// Why.
    pub reason: &'a str,
    /// The reply a blocked caller got; empty when allowed.
    pub reply: &'a str,
    /// The rate or pool limit that tripped; empty when none.
    pub limit: &'a str,
    /// For an allowed call, the shadow rule that would have blocked it;
    /// empty when none.
    pub shadow: &'a str,
    /// Where the call is in its file (line), for listings.
    pub line: u64,
}

/// How a caller number is cut to the prefix the summaries count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrefixRule {
    /// Drop this many trailing digits (4: the block of 10,000 numbers
    /// operators allocate and pools rotate through).
    DropLast(usize),
    /// Keep this many leading E.164 digits (country code included).
    Keep(usize),
}

impl Default for PrefixRule {
    fn default() -> Self {
        PrefixRule::DropLast(4)
    }
}

/// The leading digits of an E.164 number: what the summaries count blocked
/// callers by. Held as a number, as [`E164`] is (a prefix of an E.164
/// number never starts with 0), and ordered as the [`E164`] of its digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    value: u64,
    len: u8,
}

impl Prefix {
    /// How many digits the prefix has.
    pub fn len(self) -> usize {
        usize::from(self.len)
    }

    /// Always false: a prefix has at least one digit.
    pub fn is_empty(self) -> bool {
        self.len == 0
    }
}

/// A prefix is its value: it never starts with 0, so the value gives the
/// digits.
impl topk::Key for Prefix {
    fn pack(self) -> u64 {
        self.value
    }
    fn unpack(value: u64) -> Option<Prefix> {
        let len = value.checked_ilog10()? + 1;
        Some(Prefix {
            value,
            len: len as u8,
        })
    }
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "+{}", self.value)
    }
}

impl PrefixRule {
    /// The prefix of a number.
    pub fn prefix(self, number: E164) -> Prefix {
        let len = number.len();
        let keep = match self {
            PrefixRule::DropLast(n) => len.saturating_sub(n).max(1),
            PrefixRule::Keep(n) => n.clamp(1, len),
        };
        Prefix {
            value: number.value() / 10u64.pow((len - keep) as u32),
            len: keep as u8,
        }
    }

    /// Says how prefixes are cut, for headings.
    pub fn describe(self) -> String {
        match self {
            PrefixRule::DropLast(n) => format!("the number without its last {n} digits"),
            PrefixRule::Keep(n) => format!("the first {n} digits of the number in E.164"),
        }
    }
}

/// Whether two byte strings are equal, compared eight bytes at a time in
/// place: the short names and times compared for every call cost no call to
/// `memcmp`.
#[inline]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    fn word(s: &[u8], at: usize) -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[at..at + 8]);
        u64::from_ne_bytes(w)
    }
    fn half(s: &[u8], at: usize) -> u32 {
        let mut w = [0u8; 4];
        w.copy_from_slice(&s[at..at + 4]);
        u32::from_ne_bytes(w)
    }
    let n = a.len();
    if n >= 8 {
        let mut at = 0;
        while at + 8 < n {
            if word(a, at) != word(b, at) {
                return false;
            }
            at += 8;
        }
        // The last eight bytes, overlapping the word before if need be.
        word(a, n - 8) == word(b, n - 8)
    } else if n >= 4 {
        half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4)
    } else {
        a.iter().zip(b).all(|(x, y)| x == y)
    }
}

/// Counts by name, in first-seen order; made for the few names of a config.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    entries: Vec<(String, u64)>,
    last: usize,
}

impl Tally {
    /// Counts one `name`.
    pub fn add(&mut self, name: &str) {
        self.add_n(name, 1);
    }

    /// Counts `n` times `name`.
    pub fn add_n(&mut self, name: &str, n: u64) {
        let i = self.index_of(name);
        self.entries[i].1 += n;
    }

    /// The count of `name`.
    pub fn get(&self, name: &str) -> u64 {
        self.entries
            .iter()
            .find(|e| e.0 == name)
            .map(|e| e.1)
            .unwrap_or(0)
    }

    /// Names and counts, largest first (ties by name).
    pub fn sorted(&self) -> Vec<(&str, u64)> {
        let mut v: Vec<(&str, u64)> = self.entries.iter().map(|(n, c)| (n.as_str(), *c)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v
    }

    /// Sum of all counts.
    pub fn total(&self) -> u64 {
        self.entries.iter().map(|e| e.1).sum()
    }

    /// Index of `name`, added with a zero count if new. The name counted
    /// last is tried first: calls in a row are often alike.
    fn index_of(&mut self, name: &str) -> usize {
        let same = |e: &(String, u64)| same_bytes(e.0.as_bytes(), name.as_bytes());
        if self.entries.get(self.last).is_some_and(same) {
            return self.last;
        }
        self.last = match self.entries.iter().position(same) {
            Some(i) => i,
            None => {
                self.entries.push((name.to_string(), 0));
                self.entries.len() - 1
            }
        };
        self.last
    }

    /// Names in first-seen order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.0.as_str())
    }
}

/// Counts per time bucket, split by series (reasons, limits).
#[derive(Clone, Debug, Default)]
pub struct Buckets {
    /// Series names, in first-seen order.
    pub series: Tally,
    /// Bucket start (seconds since 1970, local time) → count per series.
    pub counts: BTreeMap<i64, Vec<u64>>,
}

impl Buckets {
    fn add(&mut self, bucket: i64, series: &str) {
        let i = self.series.index_of(series);
        self.series.entries[i].1 += 1;
        // Calls come in time order: mostly into the latest bucket.
        let row = match self.counts.last_entry() {
            Some(last) if *last.key() == bucket => last.into_mut(),
            _ => self.counts.entry(bucket).or_default(),
        };
        if row.len() <= i {
            row.resize(i + 1, 0);
        }
        row[i] += 1;
    }
}

/// An allowed call that a shadow rule would have blocked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShadowExample {
    /// When.
    pub time: SystemTime,
    /// The caller as received.
    pub caller: String,
    /// The number called.
    pub destination: String,
    /// The shadow rule.
    pub shadow: String,
    /// The rule that let the call through.
    pub rule: String,
    /// Line in the input.
    pub line: u64,
}

/// How many shadow examples a summary keeps.
pub const SHADOW_EXAMPLES: usize = 20;

/// Everything the summaries show, built one call at a time.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Calls seen.
    pub calls: u64,
    /// Earliest and latest call time.
    pub span: Option<(SystemTime, SystemTime)>,
    /// By verdict (`allow`, `block`, `error`).
    pub by_verdict: Tally,
    /// By reason.
    pub by_reason: Tally,
    /// By deciding rule.
    pub by_rule: Tally,
    /// Blocked calls by limit (only calls a limit decided).
    pub by_limit: Tally,
    /// Blocked calls by reply.
    pub by_reply: Tally,
    /// Blocked callers by prefix.
    pub blocked_prefixes: TopK<Prefix>,
    /// Blocked callers.
    pub blocked_callers: TopK<E164>,
    /// Blocked calls without a number (anonymous or malformed), by class.
    pub blocked_without_number: Tally,
    /// Allowed calls a shadow rule would have blocked, by shadow rule.
    pub shadow: Tally,
    /// The first of those calls.
    pub shadow_examples: Vec<ShadowExample>,
    /// Blocked calls per hour, by reason.
    pub hourly: Buckets,
    /// Blocked calls per day, by reason.
    pub daily: Buckets,
    /// Calls a limit blocked (pool and rate detections) per day, by limit.
    pub limits_daily: Buckets,
    /// How prefixes are cut.
    pub prefix_rule: PrefixRule,
    /// The offset (seconds east of UTC) hours and days are counted in.
    pub offset: i32,
    /// The hour the last blocked call fell in.
    hour: Option<HourSeen>,
}

/// An hour of calls, as UTC times and as local bucket starts.
#[derive(Clone, Copy, Debug)]
struct HourSeen {
    offset: i32,
    from: SystemTime,
    until: SystemTime,
    hour: i64,
    day: i64,
}

/// Distinct callers and prefixes a summary tracks exactly.
pub const TOP_CAPACITY: usize = 50_000;

impl Summary {
    /// An empty summary; hours and days are those at `offset` seconds east
    /// of UTC.
    pub fn new(prefix_rule: PrefixRule, offset: i32) -> Summary {
        Summary {
            calls: 0,
            span: None,
            by_verdict: Tally::default(),
            by_reason: Tally::default(),
            by_rule: Tally::default(),
            by_limit: Tally::default(),
            by_reply: Tally::default(),
            blocked_prefixes: TopK::new(TOP_CAPACITY),
            blocked_callers: TopK::new(TOP_CAPACITY),
            blocked_without_number: Tally::default(),
            shadow: Tally::default(),
            shadow_examples: Vec::new(),
            hourly: Buckets::default(),
            daily: Buckets::default(),
            limits_daily: Buckets::default(),
            prefix_rule,
            offset,
            hour: None,
        }
    }

    /// Counts one call.
    pub fn add(&mut self, o: &Outcome<'_>) {
        self.calls += 1;
        self.span = Some(match self.span {
            None => (o.time, o.time),
            Some((a, b)) => (a.min(o.time), b.max(o.time)),
        });
        self.by_verdict.add(o.verdict);
        self.by_reason.add(o.reason);
        self.by_rule.add(o.rule);
        if o.verdict == "block" {
            if !o.reply.is_empty() {
                self.by_reply.add(o.reply);
            }
            match o.caller {
                Caller::Number(n) => {
                    self.blocked_callers.add(n);
                    self.blocked_prefixes.add(self.prefix_rule.prefix(n));
                }
                other => self.blocked_without_number.add(other.class_name()),
            }
            let (hour, day) = self.hour_and_day(o.time);
            let reason = if o.reason.is_empty() {
                "unknown"
            } else {
                o.reason
            };
            self.hourly.add(hour, reason);
            self.daily.add(day, reason);
            if !o.limit.is_empty() {
                self.by_limit.add(o.limit);
                self.limits_daily.add(day, o.limit);
            }
        } else if !o.shadow.is_empty() {
            self.shadow.add(o.shadow);
            if self.shadow_examples.len() < SHADOW_EXAMPLES {
                self.shadow_examples.push(ShadowExample {
                    time: o.time,
                    caller: o.caller_number.to_string(),
                    destination: o.destination.to_string(),
                    shadow: o.shadow.to_string(),
                    rule: o.rule.to_string(),
                    line: o.line,
                });
            }
        }
    }

    /// The local hour and day (bucket starts, seconds since 1970 at
    /// [`Summary::offset`]) of a call; the hour of the call before is
    /// remembered, since calls come in time order.
    fn hour_and_day(&mut self, time: SystemTime) -> (i64, i64) {
        if let Some(h) = self.hour {
            if h.offset == self.offset && h.from <= time && time < h.until {
                return (h.hour, h.day);
            }
        }
        let local = epoch_seconds(time) + i64::from(self.offset);
        let hour = local.div_euclid(3600) * 3600;
        let day = local.div_euclid(86_400) * 86_400;
        self.hour = u64::try_from(hour - i64::from(self.offset))
            .ok()
            .map(|start| {
                let from = UNIX_EPOCH + Duration::from_secs(start);
                HourSeen {
                    offset: self.offset,
                    from,
                    until: from + Duration::from_secs(3600),
                    hour,
                    day,
                }
            });
        (hour, day)
    }

    /// Blocked calls.
    pub fn blocked(&self) -> u64 {
        self.by_verdict.get("block")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timefmt::parse_timestamp;

    fn outcome<'a>(time: &str, caller: &'a str, verdict: &'a str, reason: &'a str) -> Outcome<'a> {
        let plan = crate::numbers::NumberPlan::default();
        Outcome {
            time: parse_timestamp(time, 0).unwrap().time,
            caller: plan.classify(caller),
            caller_number: caller,
            destination: "4000",
            profile: "default",
            verdict,
            rule: if verdict == "block" {
                "pool"
            } else {
                "default"
            },
            reason,
            reply: if verdict == "block" { "busy" } else { "" },
            limit: "",
            shadow: "",
            line: 1,
        }
    }

    #[test]
    fn bytes_compare_as_slices_do() {
        let texts: Vec<Vec<u8>> = (0..40)
            .map(|n| (0..n).map(|i| b'a' + (i * 7 % 26) as u8).collect())
            .collect();
        for a in &texts {
            for b in &texts {
                assert_eq!(same_bytes(a, b), a == b);
                // One byte different, at every place.
                for i in 0..b.len() {
                    let mut c = b.clone();
                    c[i] ^= 0x20;
                    assert_eq!(same_bytes(a, &c), *a == c, "{a:?} {c:?}");
                }
            }
        }
    }

    /// The hour remembered from the call before gives the hour and day a
    /// full computation gives, in time order or not, at any offset.
    #[test]
    fn hours_and_days_are_those_of_each_call() {
        let mut s = Summary::new(PrefixRule::default(), 0);
        let mut t = 1_714_953_000u64;
        for i in 0..5000u64 {
            // Forward by up to 17 minutes, now and then back by up to a day.
            t = if i % 97 == 0 {
                t - (i * 131) % 86_400
            } else {
                t + (i * 7919) % 1031
            };
            if i % 1000 == 0 {
                s.offset = [0, 8 * 3600, -5 * 3600 - 1800][(i / 1000 % 3) as usize];
            }
            let time = UNIX_EPOCH + Duration::from_millis(t * 1000 + i % 1000);
            let local = t as i64 + i64::from(s.offset);
            assert_eq!(
                s.hour_and_day(time),
                (
                    local.div_euclid(3600) * 3600,
                    local.div_euclid(86_400) * 86_400
                ),
                "call {i}"
            );
        }
    }

    #[test]
    fn prefixes_drop_the_block_digits() {
        let n = E164::from_digits("8617012345678").unwrap();
        assert_eq!(PrefixRule::DropLast(4).prefix(n).to_string(), "+861701234");
        assert_eq!(PrefixRule::Keep(5).prefix(n).to_string(), "+86170");
        // Kept by a TopK as their value, and back.
        use topk::Key;
        for p in [
            PrefixRule::DropLast(4).prefix(n),
            PrefixRule::Keep(1).prefix(n),
        ] {
            assert_eq!(Prefix::unpack(p.pack()), Some(p));
        }
        assert_eq!(PrefixRule::Keep(1).prefix(n).len(), 1);
        assert_eq!(E164::unpack(n.pack()), Some(n));
    }

    #[test]
    fn a_summary_counts_names_callers_and_hours() {
        let mut s = Summary::new(PrefixRule::default(), 8 * 3600);
        s.add(&outcome(
            "2024-05-01T23:10:00+08:00",
            "017012340001",
            "block",
            "list",
        ));
        s.add(&outcome(
            "2024-05-01T23:50:00+08:00",
            "017012340002",
            "block",
            "list",
        ));
        s.add(&outcome(
            "2024-05-02T00:10:00+08:00",
            "017012340001",
            "block",
            "list",
        ));
        s.add(&outcome(
            "2024-05-02T00:20:00+08:00",
            "anonymous",
            "block",
            "anonymous",
        ));
        let mut allowed = outcome(
            "2024-05-02T00:30:00+08:00",
            "13800138000",
            "allow",
            "default",
        );
        allowed.shadow = "strict";
        s.add(&allowed);

        assert_eq!(s.calls, 5);
        assert_eq!(s.blocked(), 4);
        assert_eq!(s.by_reply.get("busy"), 4);
        let top = s.blocked_prefixes.top(1);
        assert_eq!(
            (top[0].key.to_string(), top[0].count),
            ("+861701234".into(), 3)
        );
        assert_eq!(s.blocked_callers.top(1)[0].count, 2);
        assert_eq!(s.blocked_without_number.get("anonymous"), 1);
        // Local (UTC+8) days: 2 list calls on May 1st, 1 list + 1 anonymous on May 2nd.
        let days: Vec<&Vec<u64>> = s.daily.counts.values().collect();
        assert_eq!(days, vec![&vec![2], &vec![1, 1]]);
        assert_eq!(s.hourly.counts.len(), 2);
        assert_eq!(s.shadow.get("strict"), 1);
        assert_eq!(s.shadow_examples[0].caller, "13800138000");
    }
}
