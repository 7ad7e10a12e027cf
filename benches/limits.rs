//! Limiter check+update: latency (median, p99) on one, two and sixteen
//! threads (FreeSWITCH runs a thread per call, more threads than cores)
//! against a baseline of one global `Mutex<HashMap>` (how FreeSWITCH's hash
//! limit backend keeps its counters), and resident memory while 10 million
//! distinct random caller numbers pass at the configured key cap.
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
use mod_callscreen::limits::{distinct, penalty, window, Limiter};
use mod_callscreen::numbers::{Caller, NumberPlan};

/// Pool detection as shipped: 7-digit prefixes, 4 numbers an hour or 10
/// calls in ten minutes.
const POOL: &str = "limits:\n  - name: pools\n    key: caller_prefix\n    digits: 7\n    distinct: 4/1h\n    calls: 10/10m\n    max_keys: 1000000\n";

const T0: u32 = 1_700_000_000;

/// Callers concentrated on 20 000 prefixes (the steady state: most keys exist).
fn hot_callers(n: usize, seed: u64) -> Vec<Caller> {
    let plan = NumberPlan::default();
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = distinct::mix(x);
            let prefix = 1_700_000 + x % 20_000;
            plan.classify(&format!("+86{prefix}{:04}", (x >> 20) % 10_000))
        })
        .collect()
}

fn limiter(store: &LimitStore) -> (Config, Limiter) {
    let config = Config::parse(POOL, Path::new("bench.yaml")).expect("config");
    let limiter = store.attach(&config, T0);
    (config, limiter)
}

/// The same counters in one global mutex-protected map.
struct Baseline {
    layout: Layout,
    map: Mutex<HashMap<TrackKey, Vec<u32>>>,
}

impl Baseline {
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
                    let now = T0 + (i / 1000) as u32;
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

fn latency_figures() {
    const PER_THREAD: usize = 1_000_000;
    println!("limiter check+update, pool limit (7-digit prefix, distinct 4/1h, calls 10/10m), callers on 20k hot prefixes");
    println!(
        "{:<34} {:>8} {:>8} {:>8} {:>14}",
        "", "median", "p99", "p99.9", "calls/s"
    );
    for threads in [1usize, 2, 16] {
        let calls: Arc<Vec<Vec<Caller>>> = Arc::new(
            (0..threads)
                .map(|t| hot_callers(PER_THREAD, 7 + t as u64))
                .collect(),
        );
        let store = LimitStore::new();
        let (config, limiter) = limiter(&store);
        let (config, limiter) = (Arc::new(config), Arc::new(limiter));
        let ours = {
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
        let baseline = Arc::new(Baseline {
            layout: limiter.limits[0].tables[0].layout().clone(),
            map: Mutex::new(HashMap::new()),
        });
        let base = {
            let b = Arc::clone(&baseline);
            measure(threads, &calls, move |c, now| {
                black_box(b.check(c, now));
            })
        };
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
            "  throughput ratio (limiter / baseline) on {threads} thread(s): {:.2}x",
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

fn memory_figures() {
    const CALLS: usize = 10_000_000;
    const CAP: usize = 1_000_000;
    let before = rss_bytes();
    let store = LimitStore::new();
    let (config, limiter) = limiter(&store);
    let table = Arc::clone(&limiter.limits[0].tables[0]);
    let mut x = 99u64;
    let plan = NumberPlan::default();
    let mut peak = 0;
    let started = Instant::now();
    for i in 0..CALLS {
        x = distinct::mix(x);
        let caller = plan.classify(&format!("+861{:010}", x % 10_000_000_000));
        limiter.check(
            0,
            &config.limits[0],
            "86",
            caller,
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
        "memory: {CALLS} distinct random caller numbers in {secs:.1}s, cap {CAP} keys: {keys} keys tracked, evicted {} idle / {} at cap, {} dropped",
        stats.evicted_idle,
        stats.evicted_full,
        stats.dropped
    );
    println!(
        "memory: resident {:.1} MiB before, {:.1} MiB peak: {:.0} bytes per tracked key (state {} bytes/key; budget 200)",
        before as f64 / 1048576.0,
        after as f64 / 1048576.0,
        (after - before) as f64 / keys.max(1) as f64,
        table.layout().stride * 4
    );
}

fn main() {
    memory_figures();
    latency_figures();

    let mut c = Criterion::default().configure_from_args();
    let store = LimitStore::new();
    let (config, limiter) = limiter(&store);
    let calls = hot_callers(1 << 16, 3);
    let mut i = 0usize;
    c.bench_function("limiter_check_update_pool_limit", |b| {
        b.iter(|| {
            i = (i + 1) & ((1 << 16) - 1);
            black_box(limiter.check(
                0,
                &config.limits[0],
                "86",
                calls[i],
                Caller::Anonymous,
                T0 + (i >> 10) as u32,
                true,
                true,
                None,
            ))
        })
    });
    c.final_summary();
}
