//! Limiter check+update: latency (median, p99) on one, two and sixteen
//! threads (FreeSWITCH runs a thread per call, more threads than cores)
//! against a baseline of one global `Mutex<HashMap>` (how FreeSWITCH's hash
//! limit backend keeps its counters), and resident memory while 10 million
//! random caller numbers pass at the configured key cap, from a key space
//! well above the cap so that eviction at the cap really happens.
//!
//! `cargo bench --bench limits` (or `make bench`). The figures are printed
//! first, then criterion measures the single-threaded check.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Barrier, Mutex};
use std::time::Instant;

use criterion::{black_box, Criterion};
use mod_callscreen::config::limits::ThresholdKind;
use mod_callscreen::config::Config;
use mod_callscreen::limits::key::{number_id, track_key, TrackKey};
use mod_callscreen::limits::layout::Layout;
use mod_callscreen::limits::store::LimitStore;
use mod_callscreen::limits::table::TableStats;
use mod_callscreen::limits::{distinct, penalty, window, Limiter};
use mod_callscreen::numbers::{Caller, NumberPlan};

/// Pool detection as shipped: 7-digit prefixes, 4 numbers an hour or 10
/// calls in ten minutes.
const POOL: &str = "limits:\n  - name: pools\n    key: caller_prefix\n    digits: 7\n    distinct: 4/1h\n    calls: 10/10m\n    max_keys: 1000000\n";

/// One number calling again and again: a `caller` key (one key per number).
const REDIAL: &str =
    "limits:\n  - name: redial\n    key: caller\n    calls: 5/10m\n    max_keys: 1000000\n";

const T0: u32 = 1_700_000_000;

/// Simulated calls per second and thread: 1 000 000 calls span 10 000 s
/// (2.8 h), so windows (10 min, 1 h) fill, slide and empty.
const CALLS_PER_SECOND: usize = 100;

/// Ordinary prefixes per thread (disjoint between threads): 50 000, each
/// with two regular numbers, called about once every ten minutes: within
/// every threshold, so their calls are counted.
const ORDINARY_PREFIXES: u64 = 50_000;
/// Pool prefixes per thread: 500, random numbers: they trip at their fifth
/// number and then spend most of their calls in the penalty box.
const POOL_PREFIXES: u64 = 500;
/// Share of calls from pools, in percent.
const POOL_PERCENT: u64 = 10;

/// A thread's calls: 90 % from ordinary prefixes (most keys exist already,
/// the steady state), 10 % from rotating pools.
fn mixed_callers(n: usize, thread: u64, seed: u64) -> Vec<Caller> {
    let plan = NumberPlan::default();
    let base = 1_300_000 + thread * (ORDINARY_PREFIXES + POOL_PREFIXES);
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = distinct::mix(x);
            let number = if x % 100 < POOL_PERCENT {
                let prefix = base + ORDINARY_PREFIXES + (x >> 8) % POOL_PREFIXES;
                format!("+86{prefix}{:04}", (x >> 24) % 10_000)
            } else {
                let prefix = base + (x >> 8) % ORDINARY_PREFIXES;
                format!("+86{prefix}{:04}", 1000 + (x >> 40) % 2)
            };
            plan.classify(&number)
        })
        .collect()
}

fn limiter(store: &LimitStore, yaml: &str) -> (Config, Limiter) {
    let config = Config::parse(yaml, Path::new("bench.yaml")).expect("config");
    let limiter = store.attach(&config, T0);
    (config, limiter)
}

/// The same counters in one global mutex-protected map (no key cap).
struct Baseline {
    layout: Layout,
    map: Mutex<HashMap<TrackKey, Vec<u32>>>,
}

impl Baseline {
    /// Whether the call is refused.
    fn check(&self, caller: Caller, now: u32) -> bool {
        let Some(key) = track_key(
            self.layout.kind,
            self.layout.digits,
            caller,
            Caller::Anonymous,
            b"86",
        ) else {
            return false;
        };
        let id = caller.number().map(number_id).unwrap_or(0);
        let mut map = self.map.lock().unwrap();
        let state = map
            .entry(key)
            .or_insert_with(|| vec![0; self.layout.stride]);
        if state[penalty::BOX_UNTIL] > now {
            return true;
        }
        let mut over = false;
        for (i, t) in self.layout.thresholds.iter().enumerate() {
            let slots = &state[self.layout.range(i)];
            over |= match t.kind {
                ThresholdKind::Calls => window::in_window(slots, now, t.window.0) >= t.max,
                ThresholdKind::Distinct => {
                    let p = distinct::probe(slots, t.max, id, now, t.window.0);
                    p.new && p.count > t.max
                }
            };
        }
        if over {
            state[penalty::BOX_UNTIL] = now + 3600;
            return true;
        }
        for (i, t) in self.layout.thresholds.iter().enumerate() {
            let range = self.layout.range(i);
            match t.kind {
                ThresholdKind::Calls => window::record(&mut state[range], now),
                ThresholdKind::Distinct => {
                    distinct::record(&mut state[range], t.max, id, now, t.window.0);
                }
            }
        }
        false
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// Runs `op` over `calls` on `threads` threads; per-call latencies (ns,
/// timer included) and total calls per second.
fn measure<F>(threads: usize, calls: &Arc<Vec<Vec<Caller>>>, op: F) -> (Vec<u64>, f64)
where
    F: Fn(Caller, u32) + Send + Sync + 'static,
{
    let op = Arc::new(op);
    let barrier = Arc::new(Barrier::new(threads));
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let op = Arc::clone(&op);
            let calls = Arc::clone(calls);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let mut lat = Vec::with_capacity(calls[t].len());
                for (i, &c) in calls[t].iter().enumerate() {
                    let now = T0 + (i / CALLS_PER_SECOND) as u32;
                    let s = Instant::now();
                    op(c, now);
                    lat.push(s.elapsed().as_nanos() as u64);
                }
                lat
            })
        })
        .collect();
    let mut all: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let secs = started.elapsed().as_secs_f64();
    let rate = all.len() as f64 / secs;
    all.sort_unstable();
    (all, rate)
}

/// What the calls of a run met: counted, refused by the box, tripping.
fn shares(stats: &TableStats, calls: usize) -> String {
    let boxed = stats.boxed as f64 / calls as f64 * 100.0;
    let tripped = stats.trips as f64 / calls as f64 * 100.0;
    let untracked = stats.dropped as f64 / calls as f64 * 100.0;
    format!(
        "{:.1}% counted, {boxed:.1}% refused by the penalty box, {tripped:.2}% tripped, {untracked:.1}% untracked",
        100.0 - boxed - tripped - untracked
    )
}

fn latency_figures() {
    const PER_THREAD: usize = 1_000_000;
    const RUNS: usize = 3;
    println!(
        "limiter check+update, pool limit (7-digit prefix, distinct 4/1h, calls 10/10m); per thread {} ordinary prefixes x 2 numbers ({}% of calls) and {} rotating pools ({}%), {} calls/s simulated",
        ORDINARY_PREFIXES,
        100 - POOL_PERCENT,
        POOL_PREFIXES,
        POOL_PERCENT,
        CALLS_PER_SECOND
    );
    println!(
        "{:<34} {:>8} {:>8} {:>8} {:>14}   (best of {RUNS} runs by calls/s)",
        "", "median", "p99", "p99.9", "calls/s"
    );
    for threads in [1usize, 2, 16] {
        let calls: Arc<Vec<Vec<Caller>>> = Arc::new(
            (0..threads)
                .map(|t| mixed_callers(PER_THREAD, t as u64, 7 + t as u64))
                .collect(),
        );
        // Best of three, each on fresh state, the limiter and the baseline
        // taking turns: another process on a small machine steals a run, not
        // the comparison.
        let mut ours: Option<(Vec<u64>, f64)> = None;
        let mut base: Option<(Vec<u64>, f64)> = None;
        let mut stream = String::new();
        let mut keys = 0;
        for _ in 0..RUNS {
            let store = LimitStore::new();
            let (config, limiter) = limiter(&store, POOL);
            let (config, limiter) = (Arc::new(config), Arc::new(limiter));
            let run = {
                let (config, limiter) = (Arc::clone(&config), Arc::clone(&limiter));
                measure(threads, &calls, move |c, now| {
                    black_box(limiter.check(
                        0,
                        &config.limits[0],
                        "86",
                        c,
                        Caller::Anonymous,
                        now,
                        true,
                        true,
                        None,
                    ));
                })
            };
            let table = &limiter.limits[0].tables[0];
            stream = shares(&table.stats(), threads * PER_THREAD);
            keys = table.len();
            if ours.as_ref().map_or(true, |o| run.1 > o.1) {
                ours = Some(run);
            }
            let baseline = Arc::new(Baseline {
                layout: table.layout().clone(),
                map: Mutex::new(HashMap::new()),
            });
            let run = measure(threads, &calls, move |c, now| {
                black_box(baseline.check(c, now));
            });
            if base.as_ref().map_or(true, |b| run.1 > b.1) {
                base = Some(run);
            }
        }
        let (ours, base) = (ours.expect("a run"), base.expect("a run"));
        for (name, (lat, rate)) in [
            ("sharded limiter", &ours),
            ("baseline Mutex<HashMap>", &base),
        ] {
            println!(
                "{:<34} {:>6}ns {:>6}ns {:>6}ns {:>14.0}",
                format!(
                    "{name}, {threads} thread{}",
                    if threads > 1 { "s" } else { "" }
                ),
                percentile(lat, 0.5),
                percentile(lat, 0.99),
                percentile(lat, 0.999),
                rate
            );
        }
        println!(
            "  throughput ratio (limiter / baseline) on {threads} thread(s): {:.2}x; calls: {stream}; {keys} keys tracked",
            ours.1 / base.1
        );
    }
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Resident memory per tracked key while `calls` random callers pass a
/// limit capped at `cap` keys, the callers from a key space well above it.
fn memory_run(what: &str, yaml: &str, calls: usize, cap: usize, caller: impl Fn(u64) -> String) {
    let before = rss_bytes();
    let store = LimitStore::new();
    let (config, limiter) = limiter(&store, yaml);
    let table = Arc::clone(&limiter.limits[0].tables[0]);
    assert_eq!(table.max_keys(), cap);
    let mut x = 99u64;
    let plan = NumberPlan::default();
    let mut peak = 0;
    let started = Instant::now();
    for i in 0..calls {
        x = distinct::mix(x);
        limiter.check(
            0,
            &config.limits[0],
            "86",
            plan.classify(&caller(x)),
            Caller::Anonymous,
            T0 + (i / 10_000) as u32,
            true,
            true,
            None,
        );
        if i % 1_000_000 == 999_999 {
            peak = peak.max(rss_bytes());
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let after = rss_bytes().max(peak);
    let keys = table.len();
    let stats = table.stats();
    println!(
        "memory, {what}: {calls} random callers in {secs:.1}s: {keys} keys tracked of a cap of {cap}; evicted {} idle / {} at the cap, {} dropped",
        stats.evicted_idle, stats.evicted_full, stats.dropped
    );
    println!(
        "memory, {what}: resident {:.1} MiB before, {:.1} MiB peak: {:.0} bytes per tracked key ({} bytes of state, the rest index, key and spare capacity; budget 200)",
        before as f64 / 1048576.0,
        after as f64 / 1048576.0,
        (after - before) as f64 / keys.max(1) as f64,
        table.layout().stride * 4
    );
}

/// Environment variable that makes the bench binary run one memory run and
/// exit: each run gets a fresh process, so memory freed by one run and kept
/// by the allocator cannot hide part of the next run's.
const MEMORY_RUN: &str = "CALLSCREEN_BENCH_MEMORY_RUN";

fn memory_run_named(name: &str) {
    const CALLS: usize = 10_000_000;
    const CAP: usize = 1_000_000;
    match name {
        // National numbers starting 1-9: 9 million 7-digit prefixes.
        "pool" => memory_run("pool limit (7-digit prefix)", POOL, CALLS, CAP, |x| {
            format!("+86{}{:010}", 1 + x % 9, (x >> 4) % 10_000_000_000)
        }),
        // Every call a new number: a key each.
        "redial" => memory_run("redial limit (caller)", REDIAL, CALLS, CAP, |x| {
            format!("+861{:010}", x % 10_000_000_000)
        }),
        other => panic!("no memory run {other}"),
    }
}

fn memory_figures() {
    let exe = std::env::current_exe().expect("bench executable");
    for name in ["pool", "redial"] {
        let out = std::process::Command::new(&exe)
            .env(MEMORY_RUN, name)
            .output()
            .expect("memory run");
        print!("{}", String::from_utf8_lossy(&out.stdout));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn main() {
    if let Ok(name) = std::env::var(MEMORY_RUN) {
        memory_run_named(&name);
        return;
    }
    memory_figures();
    latency_figures();

    let mut c = Criterion::default().configure_from_args();
    let store = LimitStore::new();
    let (config, limiter) = limiter(&store, POOL);
    let calls = mixed_callers(1 << 16, 0, 3);
    // The clock only moves forward, however often the 65 536 calls repeat.
    let mut n = 0usize;
    c.bench_function("limiter_check_update_pool_limit", |b| {
        b.iter(|| {
            n += 1;
            black_box(limiter.check(
                0,
                &config.limits[0],
                "86",
                calls[n & ((1 << 16) - 1)],
                Caller::Anonymous,
                T0 + (n / CALLS_PER_SECOND) as u32,
                true,
                true,
                None,
            ))
        })
    });
    c.final_summary();
}
