//! Call counters by verdict, rule, reason, reply and limit, a decision
//! latency histogram, and the Prometheus text rendering of everything the
//! module counts (`callscreen metrics`).
//!
//! Counting on the call's thread is an atomic add after a read-locked map
//! lookup; a label seen for the first time takes the write lock once.
//! Counters survive reloads (they are keyed by name, not by rule index) and
//! `callscreen stats reset` only moves a baseline, so metrics stay monotonic.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

/// Upper bounds of the decision latency buckets, in seconds.
pub const LATENCY_BUCKETS: [f64; 12] = [
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 1e-2,
];

/// Counters keyed by a label value (rule name, reason, …).
#[derive(Debug, Default)]
pub struct LabelCounters {
    map: RwLock<HashMap<String, Arc<AtomicU64>>>,
}

impl LabelCounters {
    /// Adds one to `label`.
    pub fn inc(&self, label: &str) {
        if let Some(c) = self
            .map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(label)
        {
            c.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.map
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(label.to_string())
            .or_default()
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Every label with its count, sorted by label.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), v.load(Ordering::Relaxed)))
            .collect()
    }
}

/// A histogram of decision times.
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl LatencyHistogram {
    /// Records one decision time.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|&b| secs <= b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(
            d.as_nanos().min(u128::from(u64::MAX)) as u64,
            Ordering::Relaxed,
        );
    }

    /// (cumulative count per bucket, total count, sum in seconds).
    pub fn snapshot(&self) -> (Vec<u64>, u64, f64) {
        let mut acc = 0;
        let cumulative = self
            .buckets
            .iter()
            .map(|b| {
                acc += b.load(Ordering::Relaxed);
                acc
            })
            .collect();
        (
            cumulative,
            self.count.load(Ordering::Relaxed),
            self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
        )
    }
}

/// Counts of one kind at one moment, for `stats` and its reset baseline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CountsSnapshot {
    /// By verdict (`allow`, `block`, `error`).
    pub verdict: BTreeMap<String, u64>,
    /// By deciding rule.
    pub rule: BTreeMap<String, u64>,
    /// By reason.
    pub reason: BTreeMap<String, u64>,
    /// By reply (blocked calls).
    pub reply: BTreeMap<String, u64>,
    /// By limit (calls a limit decided).
    pub limit: BTreeMap<String, u64>,
}

impl CountsSnapshot {
    /// `self - base`, label by label.
    pub fn minus(&self, base: &CountsSnapshot) -> CountsSnapshot {
        let sub = |a: &BTreeMap<String, u64>, b: &BTreeMap<String, u64>| {
            a.iter()
                .map(|(k, v)| (k.clone(), v.saturating_sub(*b.get(k).unwrap_or(&0))))
                .collect()
        };
        CountsSnapshot {
            verdict: sub(&self.verdict, &base.verdict),
            rule: sub(&self.rule, &base.rule),
            reason: sub(&self.reason, &base.reason),
            reply: sub(&self.reply, &base.reply),
            limit: sub(&self.limit, &base.limit),
        }
    }
}

/// Everything counted about calls.
#[derive(Debug)]
pub struct CallMetrics {
    /// By verdict.
    pub verdict: LabelCounters,
    /// By rule.
    pub rule: LabelCounters,
    /// By reason.
    pub reason: LabelCounters,
    /// By reply.
    pub reply: LabelCounters,
    /// By limit (calls a limit refused, and calls a shadow limit would have).
    pub limit: LabelCounters,
    /// By shadow limit (calls it would have refused).
    pub shadow_limit: LabelCounters,
    /// Challenges by result (`passed`, `failed`).
    pub challenge: LabelCounters,
    /// Decision latency.
    pub latency: LatencyHistogram,
    /// `callscreen::verdict` events fired.
    pub events_fired: AtomicU64,
    baseline: Mutex<(SystemTime, CountsSnapshot)>,
}

impl Default for CallMetrics {
    fn default() -> Self {
        CallMetrics {
            verdict: LabelCounters::default(),
            rule: LabelCounters::default(),
            reason: LabelCounters::default(),
            reply: LabelCounters::default(),
            limit: LabelCounters::default(),
            challenge: LabelCounters::default(),
            shadow_limit: LabelCounters::default(),
            latency: LatencyHistogram::default(),
            events_fired: AtomicU64::new(0),
            baseline: Mutex::new((SystemTime::now(), CountsSnapshot::default())),
        }
    }
}

impl CallMetrics {
    /// Counts one decision.
    pub fn record(&self, verdict: &str, rule: &str, reason: &str, reply: &str, took: Duration) {
        self.verdict.inc(verdict);
        self.rule.inc(rule);
        self.reason.inc(reason);
        if !reply.is_empty() {
            self.reply.inc(reply);
        }
        self.latency.observe(took);
    }

    /// The counts since load.
    pub fn totals(&self) -> CountsSnapshot {
        CountsSnapshot {
            verdict: self.verdict.snapshot(),
            rule: self.rule.snapshot(),
            reason: self.reason.snapshot(),
            reply: self.reply.snapshot(),
            limit: self.limit.snapshot(),
        }
    }

    /// When the counts were last reset, and the counts since then.
    pub fn since_reset(&self) -> (SystemTime, CountsSnapshot) {
        let base = self.baseline.lock().unwrap_or_else(|p| p.into_inner());
        (base.0, self.totals().minus(&base.1))
    }

    /// Starts the "since reset" counts from zero at `now`.
    pub fn reset(&self, now: SystemTime) {
        *self.baseline.lock().unwrap_or_else(|p| p.into_inner()) = (now, self.totals());
    }
}

/// Escapes a Prometheus label value.
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Builds Prometheus text, one family at a time.
#[derive(Default)]
pub struct PromText {
    out: String,
}

impl PromText {
    /// Starts with a comment line (ignored by Prometheus).
    pub fn new(comment: &str) -> PromText {
        PromText {
            out: format!("# {comment}\n"),
        }
    }

    /// A family header.
    pub fn family(&mut self, name: &str, kind: &str, help: &str) -> &mut Self {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
        self
    }

    /// A sample; `labels` are (name, value) pairs.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) -> &mut Self {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
        self
    }

    /// A labelled counter family from a map.
    pub fn counters(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        values: &BTreeMap<String, u64>,
    ) -> &mut Self {
        self.family(name, "counter", help);
        for (k, v) in values {
            self.sample(name, &[(label, k)], *v as f64);
        }
        self
    }

    /// The decision-latency histogram.
    pub fn histogram(&mut self, name: &str, help: &str, h: &LatencyHistogram) -> &mut Self {
        self.family(name, "histogram", help);
        let (cumulative, count, sum) = h.snapshot();
        let bucket = format!("{name}_bucket");
        for (le, c) in LATENCY_BUCKETS.iter().zip(&cumulative) {
            self.sample(&bucket, &[("le", &le.to_string())], *c as f64);
        }
        self.sample(&bucket, &[("le", "+Inf")], count as f64);
        self.sample(&format!("{name}_sum"), &[], sum);
        self.sample(&format!("{name}_count"), &[], count as f64);
        self
    }

    /// The text.
    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_survive_reset_as_a_baseline() {
        let m = CallMetrics::default();
        m.record("block", "pool", "list", "busy", Duration::from_micros(2));
        m.record("allow", "default", "default", "", Duration::from_micros(2));
        let t = SystemTime::now();
        m.reset(t);
        m.record("block", "pool", "list", "busy", Duration::from_micros(2));
        let totals = m.totals();
        assert_eq!(totals.rule["pool"], 2);
        assert_eq!(totals.reply.get(""), None, "allowed calls have no reply");
        let (at, since) = m.since_reset();
        assert_eq!(at, t);
        assert_eq!(since.rule["pool"], 1);
        assert_eq!(since.rule["default"], 0);
        assert_eq!(since.verdict["block"], 1);
    }

    #[test]
    fn the_histogram_is_cumulative() {
        let h = LatencyHistogram::default();
        h.observe(Duration::from_nanos(500));
        h.observe(Duration::from_micros(20));
        h.observe(Duration::from_secs(1));
        let (cum, count, sum) = h.snapshot();
        assert_eq!(cum[0], 1);
        assert_eq!(cum[4], 2);
        assert_eq!(*cum.last().unwrap(), 2, "1 s is only in +Inf");
        assert_eq!(count, 3);
        assert!((sum - 1.0000205).abs() < 1e-9, "{sum}");
    }

    #[test]
    fn prometheus_text_is_well_formed() {
        let mut p = PromText::new("+OK test");
        let mut values = BTreeMap::new();
        values.insert("a \"quoted\"\\rule\n".to_string(), 3);
        p.counters("x_total", "help text", "rule", &values);
        let h = LatencyHistogram::default();
        h.observe(Duration::from_micros(3));
        p.histogram("lat_seconds", "latency", &h);
        let text = p.finish();
        assert!(text.starts_with("# +OK test\n# HELP x_total help text\n# TYPE x_total counter\n"));
        assert!(
            text.contains("x_total{rule=\"a \\\"quoted\\\"\\\\rule\\n\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("lat_seconds_bucket{le=\"0.000005\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("lat_seconds_bucket{le=\"+Inf\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("lat_seconds_count 1\n"), "{text}");
    }
}
