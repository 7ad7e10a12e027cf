//! Decision latency of `Engine::screen` on generated data, side by side with
//! the two ways FreeSWITCH users screen calls today:
//!
//! - the XML dialplan: one regex per pattern, tried one after another;
//! - mod_blacklist: a hash set of exact number strings.
//!
//! Before criterion runs, a measured loop prints what criterion does not:
//! per-call latency percentiles (median, p99), compile time of the full
//! config, and memory per exact entry. These are measurements, not
//! assertions.
//!
//! `cargo bench --bench screen` (or `make bench`). Generated data: 1,000,000
//! exact numbers, 100,000 prefixes and 1,000 regexes in list files, 50 rules.

use std::alloc::System;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use criterion::{black_box, Criterion};
use mod_callscreen::config::Config;
use mod_callscreen::engine::{CallFacts, Engine};
use mod_callscreen::number_set::NumberSet;
use mod_callscreen::pattern::Pattern;
use regex::Regex;
use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};

/// Counts heap bytes, to measure what a compiled set takes.
#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Heap bytes live now (allocated minus freed since the start).
fn live_heap() -> isize {
    let stats = ALLOCATOR.stats();
    stats.bytes_allocated as isize - stats.bytes_deallocated as isize + stats.bytes_reallocated
}

const EXACT: usize = 1_000_000;
const PREFIXES: usize = 100_000;
const REGEXES: usize = 1_000;
const STREAM: usize = 4_096;

/// Deterministic pseudo-random numbers (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The generated data: numbers as E.164 text.
struct Data {
    exact: Vec<String>,
    /// Prefixes as digit strings after +86 (e.g. "1701234").
    prefixes: Vec<String>,
    /// Four-digit middles of the regexes `^\+861[3-9]\dMMMM\d{4}$`.
    regex_middles: Vec<String>,
}

fn generate() -> Data {
    let mut rng = Rng(42);
    // Exact numbers: Chinese mobiles in 13x-15x, distinct.
    let mut seen = HashSet::with_capacity(EXACT);
    let mut exact = Vec::with_capacity(EXACT);
    while exact.len() < EXACT {
        let n = 13_000_000_000 + rng.below(3_000_000_000);
        if seen.insert(n) {
            exact.push(format!("+86{n}"));
        }
    }
    // Prefixes: 7 digits in the 16x-19x blocks (numbers there are not exact-listed).
    let mut seen = HashSet::with_capacity(PREFIXES);
    let mut prefixes = Vec::with_capacity(PREFIXES);
    while prefixes.len() < PREFIXES {
        let p = 1_600_000 + rng.below(400_000);
        if seen.insert(p) {
            prefixes.push(p.to_string());
        }
    }
    let mut seen = HashSet::new();
    let mut regex_middles = Vec::with_capacity(REGEXES);
    while regex_middles.len() < REGEXES {
        let m = rng.below(10_000);
        if seen.insert(m) {
            regex_middles.push(format!("{m:04}"));
        }
    }
    Data {
        exact,
        prefixes,
        regex_middles,
    }
}

fn regex_source(middle: &str) -> String {
    format!(r"^\+861[3-9]\d{middle}\d{{4}}$")
}

/// Writes the list files and a 50-rule YAML; returns the YAML's path.
fn write_config(dir: &Path, data: &Data) -> PathBuf {
    std::fs::create_dir_all(dir.join("lists")).expect("bench dir");
    let mut text = String::with_capacity(EXACT * 16);
    text.push_str("# generated: exact numbers\n");
    for n in &data.exact {
        text.push_str(n);
        text.push('\n');
    }
    std::fs::write(dir.join("lists/exact.txt"), &text).expect("write exact list");
    text.clear();
    for p in &data.prefixes {
        let _ = writeln!(text, "+86{p}*");
    }
    std::fs::write(dir.join("lists/prefixes.txt"), &text).expect("write prefix list");
    text.clear();
    for m in &data.regex_middles {
        let _ = writeln!(text, "/{}/", regex_source(m));
    }
    std::fs::write(dir.join("lists/regexes.txt"), &text).expect("write regex list");

    let mut y = String::from(
        "numbering:\n  country_code: \"86\"\n  national_number_lengths: [10, 11]\n\
         lists:\n  family: [\"+8613800138000\", \"+8613912345678\"]\n\
         \x20 exact: { file: lists/exact.txt }\n\
         \x20 prefixes: { file: lists/prefixes.txt }\n\
         \x20 regexes: { file: lists/regexes.txt }\n\
         \x20 everything: { include: [exact, prefixes, regexes] }\n\
         replies:\n  busy: { kind: reject, cause: USER_BUSY }\n\
         rules:\n\
         \x20 - { name: family, caller_in: family, action: allow }\n\
         \x20 - { name: withheld, caller_is: anonymous, action: block }\n\
         \x20 - { name: not-a-number, caller_is: malformed, action: block }\n",
    );
    // 40 per-destination rules: each virtual number has its own policy.
    for i in 0..40 {
        let _ = writeln!(
            y,
            "  - {{ name: line-{i}, destination: \"+8640088{i:02}000\", caller_in: prefixes, action: block, reply: busy }}"
        );
    }
    y.push_str(
        "  - { name: robots, variables: { sip_user_agent: \"(?i)friendly-scanner|sipvicious\" }, action: block }\n\
         \x20 - { name: night-trial, shadow: true, schedule: { timezone: Asia/Shanghai, time: \"23:00-06:00\" }, caller_not_in: family, action: block }\n\
         \x20 - { name: promo-names, caller_name: \"(?i)^(promo|marketing)\", action: block }\n\
         \x20 - { name: listed, caller_in: exact, action: block, reply: busy }\n\
         \x20 - { name: pools, caller_in: prefixes, action: block, reply: busy }\n\
         \x20 - { name: patterns, caller_in: regexes, action: block }\n\
         \x20 - { name: weekend-foreign, schedule: { timezone: Asia/Shanghai, days: weekend }, caller_not_in: everything, caller_is: malformed, action: block }\n",
    );
    let path = dir.join("callscreen.yaml");
    std::fs::write(&path, y).expect("write yaml");
    path
}

/// Callers: a quarter listed exactly, a quarter in a prefix, a tenth matching
/// a regex, the rest misses (foreign and unlisted mobiles), in mixed forms.
fn stream(data: &Data) -> Vec<String> {
    let mut rng = Rng(7);
    (0..STREAM)
        .map(|i| match i % 20 {
            0..=4 => {
                let n = &data.exact[rng.below(EXACT as u64) as usize];
                if i % 2 == 0 {
                    n.clone()
                } else {
                    format!("0{}", &n[3..])
                }
            }
            5..=9 => {
                let p = &data.prefixes[rng.below(PREFIXES as u64) as usize];
                format!("0{p}{:04}", rng.below(10_000))
            }
            10 | 11 => {
                let m = &data.regex_middles[rng.below(REGEXES as u64) as usize];
                format!(
                    "+861{}{}{m}{:04}",
                    3 + rng.below(7),
                    rng.below(10),
                    rng.below(10_000)
                )
            }
            12..=15 => format!("+1202555{:04}", rng.below(10_000)),
            _ => format!("+86199{:08}", rng.below(100_000_000)),
        })
        .collect()
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Times each call on its own and prints median, p99 and p99.9.
fn latency_report(label: &str, mut one: impl FnMut(usize)) {
    const CALLS: usize = 400_000;
    for i in 0..STREAM * 4 {
        one(i % STREAM);
    }
    let mut samples = Vec::with_capacity(CALLS);
    for i in 0..CALLS {
        let start = Instant::now();
        one(i % STREAM);
        samples.push(start.elapsed().as_nanos() as u64);
    }
    samples.sort_unstable();
    println!(
        "{label}: median {} ns, p99 {} ns, p99.9 {} ns (per call, {CALLS} calls, timer overhead included)",
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        percentile(&samples, 0.999)
    );
}

struct Fixture {
    engine: Engine,
    callers: Vec<String>,
    exact_engine: Engine,
    exact_strings: HashSet<String>,
    exact_callers: Vec<String>,
    dialplan: Vec<Regex>,
    dialplan_callers: Vec<String>,
}

fn fixture() -> Fixture {
    let data = generate();
    let dir = std::env::temp_dir().join(format!("callscreen-bench-{}", std::process::id()));
    let yaml = write_config(&dir, &data);

    // Compile time of the full config: read YAML and list files, compile.
    let mut times = Vec::new();
    let mut engine = None;
    for _ in 0..3 {
        let start = Instant::now();
        let config = Config::load(&yaml).expect("generated config");
        let parsed = start.elapsed();
        let e = Engine::new(config);
        times.push((start.elapsed(), parsed));
        engine = Some(e);
    }
    let engine = engine.expect("engine");
    times.sort();
    let (total, parsed) = times[1];
    println!(
        "compile: full config ({} exact, {} prefixes, {} regexes, {} rules) in {:.3} s (read+parse {:.3} s, compile {:.3} s; median of 3)",
        EXACT,
        PREFIXES,
        REGEXES,
        engine.rule_count(),
        total.as_secs_f64(),
        parsed.as_secs_f64(),
        (total - parsed).as_secs_f64()
    );

    // Memory per exact entry: heap bytes and resident growth of the set.
    let plan = engine.config().numbering.clone();
    let patterns: Vec<Pattern> = data
        .exact
        .iter()
        .map(|n| Pattern::parse(n, &plan).expect("pattern"))
        .collect();
    // The table's slots are spread over all its pages while building, so
    // its heap bytes are resident.
    let heap_before = live_heap();
    let set = NumberSet::build(&patterns);
    let heap_after = live_heap();
    let stats = set.stats();
    println!(
        "memory: {} exact numbers: {:.1} B/entry on the heap (set's own count {:.1} B/entry)",
        stats.exact,
        (heap_after - heap_before) as f64 / stats.exact as f64,
        stats.exact_bytes as f64 / stats.exact as f64
    );
    drop(patterns);
    let strings: HashSet<String> = data.exact.iter().cloned().collect();
    let (heap_strings, _) = (live_heap(), 0);
    let copy: HashSet<String> = strings.iter().cloned().collect();
    println!(
        "memory: the same numbers as a HashSet<String> (mod_blacklist's way): {:.1} B/entry",
        (live_heap() - heap_strings) as f64 / EXACT as f64
    );
    drop(copy);

    // Exact-only: one rule over the 1M list, callers already in E.164 form.
    let exact_yaml = dir.join("exact-only.yaml");
    std::fs::write(
        &exact_yaml,
        "lists:\n  exact: { file: lists/exact.txt }\nrules:\n  - { name: listed, caller_in: exact, action: block }\n",
    )
    .expect("write yaml");
    let exact_engine = Engine::new(Config::load(&exact_yaml).expect("exact config"));
    let mut rng = Rng(99);
    let exact_callers: Vec<String> = (0..STREAM)
        .map(|i| {
            if i % 2 == 0 {
                data.exact[rng.below(EXACT as u64) as usize].clone()
            } else {
                format!("+86199{:08}", rng.below(100_000_000))
            }
        })
        .collect();

    // The XML dialplan's way at 10k patterns: 9k exact numbers and 1k
    // prefixes, one regex each, tried in order until one matches.
    let mut dialplan: Vec<Regex> = data.exact[..9_000]
        .iter()
        .map(|n| Regex::new(&format!("^\\+{}$", &n[1..])).expect("regex"))
        .collect();
    dialplan.extend(
        data.prefixes[..1_000]
            .iter()
            .map(|p| Regex::new(&format!("^\\+86{p}")).expect("regex")),
    );
    let dialplan_callers: Vec<String> = (0..STREAM)
        .map(|i| match i % 4 {
            0 => data.exact[rng.below(9_000) as usize].clone(),
            1 => format!(
                "+86{}{:04}",
                data.prefixes[rng.below(1_000) as usize],
                rng.below(10_000)
            ),
            _ => format!("+86199{:08}", rng.below(100_000_000)),
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);

    Fixture {
        engine,
        callers: stream(&data),
        exact_engine,
        exact_strings: strings,
        exact_callers,
        dialplan,
        dialplan_callers,
    }
}

fn facts<'a>(caller: &'a str, i: usize) -> CallFacts<'a> {
    CallFacts {
        caller_number: caller,
        destination: if i % 8 == 0 { "4008817000" } else { "4000" },
        ..CallFacts::default()
    }
}

fn report(f: &Fixture, now: SystemTime) {
    let mut blocked = 0usize;
    latency_report("screen: full config, mixed stream", |i| {
        let v = f.engine.screen(black_box(&facts(&f.callers[i], i)), now);
        blocked += usize::from(v.action == mod_callscreen::config::Action::Block);
    });
    println!(
        "screen: {:.0}% of the mixed stream blocked",
        blocked as f64 * 100.0 / 400_000.0
    );
    latency_report("screen: exact-only config", |i| {
        black_box(
            f.exact_engine
                .screen(black_box(&facts(&f.exact_callers[i], 1)), now),
        );
    });
    latency_report("baseline: HashSet<String> (mod_blacklist)", |i| {
        black_box(
            f.exact_strings
                .contains(black_box(f.exact_callers[i].as_str())),
        );
    });
}

fn dialplan_scan(dialplan: &[Regex], caller: &str) -> Option<usize> {
    dialplan.iter().position(|r| r.is_match(caller))
}

fn benches(c: &mut Criterion, f: &Fixture, now: SystemTime) {
    let mut group = c.benchmark_group("screen");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    let mut i = 0usize;
    group.bench_function("engine_full_config_mixed_stream", |b| {
        b.iter(|| {
            i = (i + 1) % STREAM;
            black_box(
                f.engine
                    .screen(black_box(&facts(&f.callers[i], i)), now)
                    .action,
            )
        })
    });
    group.bench_function("engine_exact_only_1m", |b| {
        b.iter(|| {
            i = (i + 1) % STREAM;
            black_box(
                f.exact_engine
                    .screen(black_box(&facts(&f.exact_callers[i], 1)), now)
                    .action,
            )
        })
    });
    group.bench_function("baseline_mod_blacklist_hashset_string_1m", |b| {
        b.iter(|| {
            i = (i + 1) % STREAM;
            black_box(
                f.exact_strings
                    .contains(black_box(f.exact_callers[i].as_str())),
            )
        })
    });
    group.bench_function("baseline_dialplan_regex_scan_10k", |b| {
        b.iter(|| {
            i = (i + 1) % STREAM;
            black_box(dialplan_scan(
                &f.dialplan,
                black_box(&f.dialplan_callers[i]),
            ))
        })
    });
    group.bench_function("engine_same_stream_as_dialplan_scan", |b| {
        b.iter(|| {
            i = (i + 1) % STREAM;
            black_box(
                f.engine
                    .screen(black_box(&facts(&f.dialplan_callers[i], i)), now)
                    .action,
            )
        })
    });
    group.finish();
}

fn ratio_report(f: &Fixture, now: SystemTime) {
    // A direct, same-run comparison of means (criterion prints its own too).
    let time = |n: usize, mut one: Box<dyn FnMut(usize) + '_>| {
        let start = Instant::now();
        for i in 0..n {
            one(i % STREAM);
        }
        start.elapsed().as_nanos() as f64 / n as f64
    };
    let scan = time(
        2_000,
        Box::new(|i| {
            black_box(dialplan_scan(&f.dialplan, &f.dialplan_callers[i]));
        }),
    );
    let engine = time(
        400_000,
        Box::new(|i| {
            black_box(f.engine.screen(&facts(&f.dialplan_callers[i], i), now));
        }),
    );
    let exact = time(
        400_000,
        Box::new(|i| {
            black_box(f.exact_engine.screen(&facts(&f.exact_callers[i], 1), now));
        }),
    );
    let strings = time(
        400_000,
        Box::new(|i| {
            black_box(f.exact_strings.contains(f.exact_callers[i].as_str()));
        }),
    );
    println!(
        "ratio: dialplan regex scan (10k) {scan:.0} ns vs engine (full config, same callers) {engine:.0} ns: engine {:.0}x faster",
        scan / engine
    );
    println!(
        "ratio: exact-only engine {exact:.0} ns vs HashSet<String> {strings:.0} ns: engine takes {:.2}x the hash set's time",
        exact / strings
    );
}

fn main() {
    let f = fixture();
    let now = SystemTime::now();
    report(&f, now);
    ratio_report(&f, now);
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c, &f, now);
    c.final_summary();
}
