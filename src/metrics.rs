//! Call counters by verdict, rule, reason, reply and limit, a decision
//! latency histogram, and the rendering of everything the module counts in
//! the Prometheus text format (`callscreen metrics`) or as JSON
//! (`callscreen json metrics`).
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
///
/// Each observation goes to exactly one bucket (the last one, `overflow`,
/// for times above every bound), and the total count is not kept on its own:
/// a scrape derives it from the same reads of the buckets it prints, so the
/// `+Inf` bucket and `_count` can never fall below a finite bucket while
/// calls are being observed.
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    overflow: AtomicU64,
    sum_nanos: AtomicU64,
}

/// One consistent reading of a [`LatencyHistogram`].
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramSnapshot {
    /// Cumulative count per bound of [`LATENCY_BUCKETS`].
    pub cumulative: Vec<u64>,
    /// Every observation (the `+Inf` bucket and `_count`).
    pub count: u64,
    /// Sum of the observed times, in seconds.
    pub sum: f64,
}

impl LatencyHistogram {
    /// Records one decision time.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let bucket = match LATENCY_BUCKETS.iter().position(|&b| secs <= b) {
            Some(i) => &self.buckets[i],
            None => &self.overflow,
        };
        bucket.fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(
            d.as_nanos().min(u128::from(u64::MAX)) as u64,
            Ordering::Relaxed,
        );
    }

    /// Reads every bucket once and derives the cumulative counts and the
    /// total from those reads (the sum is read separately and may include an
    /// observation the buckets do not yet, which Prometheus allows).
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut acc = 0;
        let cumulative = self
            .buckets
            .iter()
            .map(|b| {
                acc += b.load(Ordering::Relaxed);
                acc
            })
            .collect();
        HistogramSnapshot {
            cumulative,
            count: acc + self.overflow.load(Ordering::Relaxed),
            sum: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
        }
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

/// One sample of a family: the metric name (a histogram's `_bucket`,
/// `_sum`, `_count`), its labels and its value.
#[derive(Clone, Debug, PartialEq)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

/// A metric family: name, type, help and samples.
#[derive(Clone, Debug, PartialEq)]
struct Family {
    name: String,
    kind: String,
    help: String,
    samples: Vec<Sample>,
}

/// Collects metric families, then renders them as Prometheus text
/// ([`finish`](Self::finish)) or as JSON ([`to_json`](Self::to_json)).
#[derive(Default)]
pub struct PromText {
    comment: String,
    families: Vec<Family>,
}

/// A value as JSON: whole numbers as integers, others as floats.
pub(crate) fn json_number(v: f64) -> serde_json::Value {
    if v.fract() == 0.0 && (0.0..9.0e15).contains(&v) {
        serde_json::Value::from(v as u64)
    } else {
        serde_json::Value::from(v)
    }
}

impl PromText {
    /// Starts with a comment line (ignored by Prometheus).
    pub fn new(comment: &str) -> PromText {
        PromText {
            comment: comment.to_string(),
            families: Vec::new(),
        }
    }

    /// A family header; the samples that follow belong to it.
    pub fn family(&mut self, name: &str, kind: &str, help: &str) -> &mut Self {
        self.families.push(Family {
            name: name.to_string(),
            kind: kind.to_string(),
            help: help.to_string(),
            samples: Vec::new(),
        });
        self
    }

    /// A sample of the last family; `labels` are (name, value) pairs.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) -> &mut Self {
        if let Some(family) = self.families.last_mut() {
            family.samples.push(Sample {
                name: name.to_string(),
                labels: labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                value,
            });
        }
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
        // One snapshot for every line, so the buckets, +Inf and _count agree.
        let snap = h.snapshot();
        let bucket = format!("{name}_bucket");
        for (le, c) in LATENCY_BUCKETS.iter().zip(&snap.cumulative) {
            self.sample(&bucket, &[("le", &le.to_string())], *c as f64);
        }
        self.sample(&bucket, &[("le", "+Inf")], snap.count as f64);
        self.sample(&format!("{name}_sum"), &[], snap.sum);
        self.sample(&format!("{name}_count"), &[], snap.count as f64);
        self
    }

    /// The Prometheus text.
    pub fn finish(self) -> String {
        let mut out = format!("# {}\n", self.comment);
        for f in &self.families {
            let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
            let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind);
            for s in &f.samples {
                out.push_str(&s.name);
                if !s.labels.is_empty() {
                    out.push('{');
                    for (i, (k, v)) in s.labels.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        let _ = write!(out, "{k}=\"{}\"", escape_label(v));
                    }
                    out.push('}');
                }
                let _ = writeln!(out, " {}", s.value);
            }
        }
        out
    }

    /// The same figures as one JSON object: family name -> `type`, `help`
    /// and `samples` (each with its metric `name`, `labels` and `value`).
    pub fn to_json(&self) -> serde_json::Value {
        let families: serde_json::Map<String, serde_json::Value> = self
            .families
            .iter()
            .map(|f| {
                let samples: Vec<serde_json::Value> = f
                    .samples
                    .iter()
                    .map(|s| {
                        let labels: serde_json::Map<String, serde_json::Value> = s
                            .labels
                            .iter()
                            .map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str())))
                            .collect();
                        serde_json::json!({"name": s.name, "labels": labels, "value": json_number(s.value)})
                    })
                    .collect();
                (
                    f.name.clone(),
                    serde_json::json!({"type": f.kind, "help": f.help, "samples": samples}),
                )
            })
            .collect();
        serde_json::Value::Object(families)
    }
}

/// A checker of the Prometheus text exposition format, for tests of
/// everything that renders metrics.
#[cfg(test)]
pub(crate) mod exposition {
    use std::collections::{BTreeMap, HashMap, HashSet};

    fn valid_name(name: &str, colon: bool) -> bool {
        let mut chars = name.chars();
        let ok_first = |c: char| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':');
        chars.next().is_some_and(ok_first)
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':'))
    }

    fn value(text: &str) -> Option<f64> {
        match text {
            "+Inf" => Some(f64::INFINITY),
            "-Inf" => Some(f64::NEG_INFINITY),
            "NaN" => Some(f64::NAN),
            t => t.parse().ok().filter(|v: &f64| v.is_finite()),
        }
    }

    type Labels = Vec<(String, String)>;

    /// `{a="x",b="y"}` at the start of `text`: the labels and the rest.
    fn labels(text: &str) -> Result<(Labels, &str), String> {
        let Some(mut rest) = text.strip_prefix('{') else {
            return Ok((Vec::new(), text));
        };
        let mut out: Labels = Vec::new();
        loop {
            if let Some(after) = rest.strip_prefix('}') {
                return Ok((out, after));
            }
            let eq = rest.find("=\"").ok_or("label without =\"")?;
            let name = &rest[..eq];
            if !valid_name(name, false) {
                return Err(format!("bad label name {name:?}"));
            }
            if out.iter().any(|(n, _)| n == name) {
                return Err(format!("label {name} given twice"));
            }
            let mut value = String::new();
            let mut chars = rest[eq + 2..].char_indices();
            let end = loop {
                match chars.next() {
                    None => return Err("unterminated label value".into()),
                    Some((i, '"')) => break eq + 2 + i + 1,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, '\\')) => value.push('\\'),
                        Some((_, '"')) => value.push('"'),
                        Some((_, 'n')) => value.push('\n'),
                        other => return Err(format!("bad escape {other:?} in a label value")),
                    },
                    Some((_, c)) => value.push(c),
                }
            };
            out.push((name.to_string(), value));
            rest = &rest[end..];
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
    }

    #[derive(Default)]
    struct Series {
        buckets: Vec<(f64, f64)>,
        sum: Option<f64>,
        count: Option<f64>,
    }

    /// Checks `text` line by line: every sample belongs to a family whose
    /// `# TYPE` came before it, a family's samples are together, names,
    /// label names and escapes are valid, values parse, counters are not
    /// negative, and every histogram series has increasing `le` bounds with
    /// cumulative (non-decreasing) counts ending in `le="+Inf"` equal to its
    /// `_count`, plus a `_sum`. Returns the samples by metric name.
    pub(crate) fn check(text: &str) -> Result<BTreeMap<String, Vec<f64>>, String> {
        if !text.ends_with('\n') {
            return Err("the text does not end with a newline".into());
        }
        let mut types: HashMap<String, String> = HashMap::new();
        let mut helps: HashSet<String> = HashSet::new();
        let mut done: HashSet<String> = HashSet::new();
        let mut current: Option<String> = None;
        let mut histograms: BTreeMap<(String, Labels), Series> = BTreeMap::new();
        let mut samples: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let at = |m: String| format!("line {}: {m}: {line:?}", n + 1);
            if line.is_empty() {
                continue;
            }
            if let Some(comment) = line.strip_prefix('#') {
                let words: Vec<&str> = comment.trim_start().splitn(3, ' ').collect();
                match words.as_slice() {
                    ["HELP", name, help] => {
                        if !valid_name(name, true) || !helps.insert(name.to_string()) {
                            return Err(at("bad or repeated HELP".into()));
                        }
                        let mut chars = help.chars();
                        while let Some(c) = chars.next() {
                            if c == '\\' && !matches!(chars.next(), Some('\\' | 'n')) {
                                return Err(at("bad escape in HELP".into()));
                            }
                        }
                    }
                    ["TYPE", name, kind] => {
                        if !valid_name(name, true) {
                            return Err(at("bad metric name".into()));
                        }
                        if !["counter", "gauge", "histogram", "summary", "untyped"].contains(kind) {
                            return Err(at(format!("unknown type {kind}")));
                        }
                        if types.insert(name.to_string(), kind.to_string()).is_some() {
                            return Err(at("second TYPE for the same metric".into()));
                        }
                        if done.contains(*name) || current.as_deref() == Some(name) {
                            return Err(at("TYPE after samples of the metric".into()));
                        }
                    }
                    ["HELP" | "TYPE", ..] => return Err(at("incomplete HELP/TYPE".into())),
                    _ => {}
                }
                continue;
            }
            let name_end = line.find(['{', ' ']).ok_or_else(|| at("no value".into()))?;
            let name = &line[..name_end];
            if !valid_name(name, true) {
                return Err(at("bad metric name".into()));
            }
            let (labels, rest) = labels(&line[name_end..]).map_err(at)?;
            let mut fields = rest
                .strip_prefix(' ')
                .ok_or_else(|| at("no space before the value".into()))?
                .split(' ');
            let v = fields
                .next()
                .and_then(value)
                .ok_or_else(|| at("bad value".into()))?;
            if let Some(ts) = fields.next() {
                ts.parse::<i64>().map_err(|_| at("bad timestamp".into()))?;
            }
            if fields.next().is_some() {
                return Err(at("trailing text".into()));
            }
            let histogram_part = ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
                let base = name.strip_suffix(suffix)?;
                (types.get(base).map(String::as_str) == Some("histogram"))
                    .then_some((base, *suffix))
            });
            let family = match (types.get(name), histogram_part) {
                (Some(_), _) => name.to_string(),
                (None, Some((base, _))) => base.to_string(),
                (None, None) => return Err(at("sample without a # TYPE before it".into())),
            };
            if current.as_deref() != Some(family.as_str()) {
                if done.contains(&family) {
                    return Err(at(format!("samples of {family} are not together")));
                }
                if let Some(previous) = current.replace(family.clone()) {
                    done.insert(previous);
                }
            }
            if types[&family] == "counter" && (v.is_nan() || v < 0.0) {
                return Err(at("a counter below zero".into()));
            }
            samples.entry(name.to_string()).or_default().push(v);
            if let Some((_, suffix)) = histogram_part {
                let mut others = labels.clone();
                let le = others
                    .iter()
                    .position(|(n, _)| n == "le")
                    .map(|i| others.remove(i));
                let series = histograms.entry((family.clone(), others)).or_default();
                match (suffix, le) {
                    ("_bucket", Some((_, le))) => {
                        let le = value(&le).ok_or_else(|| at(format!("bad le {le:?}")))?;
                        series.buckets.push((le, v));
                    }
                    ("_bucket", None) => return Err(at("bucket without le".into())),
                    ("_sum", None) => series.sum = Some(v),
                    ("_count", None) => series.count = Some(v),
                    _ => return Err(at("le on a _sum or _count".into())),
                }
            }
        }
        for ((family, labels), series) in &histograms {
            let what = format!("histogram {family}{labels:?}");
            for pair in series.buckets.windows(2) {
                if pair[1].0 <= pair[0].0 {
                    return Err(format!("{what}: le bounds not increasing"));
                }
                if pair[1].1 < pair[0].1 {
                    return Err(format!(
                        "{what}: bucket le={} holds {} after {} (not cumulative)",
                        pair[1].0, pair[1].1, pair[0].1
                    ));
                }
            }
            let Some(&(last_le, inf)) = series.buckets.last() else {
                return Err(format!("{what}: no buckets"));
            };
            if last_le != f64::INFINITY {
                return Err(format!("{what}: the last bucket is not le=\"+Inf\""));
            }
            if series.count != Some(inf) {
                return Err(format!(
                    "{what}: _count {:?} is not the +Inf bucket {inf}",
                    series.count
                ));
            }
            if series.sum.is_none() {
                return Err(format!("{what}: no _sum"));
            }
        }
        Ok(samples)
    }

    #[test]
    fn the_checker_catches_what_prometheus_rejects() {
        let ok = "# +OK\n# HELP h_seconds h\n# TYPE h_seconds histogram\nh_seconds_bucket{le=\"1\"} 1\nh_seconds_bucket{le=\"+Inf\"} 2\nh_seconds_sum 3.5\nh_seconds_count 2\n# TYPE c_total counter\nc_total{rule=\"a\\\"b\\\\c\\nd\"} 4\n";
        let samples = check(ok).unwrap();
        assert_eq!(samples["c_total"], [4.0]);
        for (bad, why) in [
            (
                ok.replace("# TYPE c_total counter\n", ""),
                "sample without a # TYPE",
            ),
            (
                ok.replace("le=\"+Inf\"} 2", "le=\"+Inf\"} 0"),
                "not cumulative",
            ),
            (
                ok.replace("h_seconds_count 2", "h_seconds_count 3"),
                "is not the +Inf bucket",
            ),
            (
                ok.replace("h_seconds_bucket{le=\"+Inf\"} 2\n", ""),
                "not le=\"+Inf\"",
            ),
            (ok.replace("a\\\"b", "a\"b"), "label without"),
            (ok.replace("\\\\c", "\\c"), "bad escape"),
            (format!("{ok}h_seconds_sum 1\n"), "not together"),
            (ok.replace(" 4\n", " -4\n"), "below zero"),
            (ok.trim_end().to_string(), "newline"),
        ] {
            let err = check(&bad).unwrap_err();
            assert!(err.contains(why), "{why}: {err}\n{bad}");
        }
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
        let HistogramSnapshot {
            cumulative: cum,
            count,
            sum,
        } = h.snapshot();
        assert_eq!(cum[0], 1);
        assert_eq!(cum[4], 2);
        assert_eq!(*cum.last().unwrap(), 2, "1 s is only in +Inf");
        assert_eq!(count, 3);
        assert!((sum - 1.0000205).abs() < 1e-9, "{sum}");
    }

    #[test]
    fn a_scrape_during_observations_is_self_consistent() {
        let h = LatencyHistogram::default();
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    while !stop.load(Ordering::Relaxed) {
                        h.observe(Duration::from_nanos(500));
                    }
                });
            }
            for _ in 0..200_000 {
                let snap = h.snapshot();
                let (last, count) = (*snap.cumulative.last().unwrap(), snap.count);
                if count < last {
                    stop.store(true, Ordering::Relaxed);
                    panic!("+Inf {count} below the last finite bucket {last}");
                }
            }
            stop.store(true, Ordering::Relaxed);
        });
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

    #[test]
    fn the_json_form_carries_the_same_samples() {
        let mut p = PromText::new("+OK test");
        let mut values = BTreeMap::new();
        values.insert("pool".to_string(), 3);
        p.counters("x_total", "help text", "rule", &values);
        let h = LatencyHistogram::default();
        h.observe(Duration::from_micros(3));
        h.observe(Duration::from_secs(2));
        p.histogram("lat_seconds", "latency", &h);
        let v = p.to_json();
        assert_eq!(v["x_total"]["type"], "counter");
        assert_eq!(v["x_total"]["help"], "help text");
        assert_eq!(
            v["x_total"]["samples"][0],
            serde_json::json!({"name": "x_total", "labels": {"rule": "pool"}, "value": 3})
        );
        let samples = v["lat_seconds"]["samples"].as_array().unwrap();
        let inf = samples
            .iter()
            .find(|s| s["labels"]["le"] == "+Inf")
            .unwrap();
        let count = samples
            .iter()
            .find(|s| s["name"] == "lat_seconds_count")
            .unwrap();
        assert_eq!(
            (inf["value"].as_u64(), count["value"].as_u64()),
            (Some(2), Some(2))
        );
        let sum = samples
            .iter()
            .find(|s| s["name"] == "lat_seconds_sum")
            .unwrap();
        assert!((sum["value"].as_f64().unwrap() - 2.000003).abs() < 1e-9);
    }
}
