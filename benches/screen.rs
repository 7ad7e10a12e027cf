//! Decision latency of `Engine::screen` on a generated config.
//!
//! `cargo bench --bench screen` (or `make bench`).

use std::fmt::Write;
use std::path::Path;
use std::time::SystemTime;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use mod_callscreen::config::Config;
use mod_callscreen::engine::{CallFacts, Engine};

/// A config with `exact` listed numbers, `prefixes` blocked prefixes and a
/// few rules, as YAML text.
fn generated_config(exact: usize, prefixes: usize) -> String {
    let mut y = String::from("lists:\n  family:\n    - \"+8613800138000\"\n  blocked:\n");
    for i in 0..exact {
        let _ = writeln!(y, "    - \"+86139{:08}\"", i * 7);
    }
    y.push_str("  pools:\n");
    for i in 0..prefixes {
        let _ = writeln!(y, "    - \"+86170{:05}*\"", i * 3);
    }
    y.push_str(
        "rules:\n  - name: family\n    caller_in: family\n    action: allow\n  - name: anonymous\n    caller_is: anonymous\n    action: block\n  - name: blocked\n    caller_in: blocked\n    action: block\n  - name: pools\n    caller_in: pools\n    action: block\n",
    );
    y
}

fn bench_screen(c: &mut Criterion) {
    let yaml = generated_config(100_000, 10_000);
    let engine = Engine::new(Config::parse(&yaml, Path::new("bench.yaml")).expect("config"));
    let callers: Vec<String> = (0..1024u64)
        .map(|i| match i % 4 {
            0 => format!("+86139{:08}", (i * 7919) % 700_000),
            1 => format!("0170{:05}{:03}", (i * 31) % 30_000, i % 1000),
            2 => format!("+1202555{:04}", i),
            _ => "anonymous".to_string(),
        })
        .collect();
    let now = SystemTime::now();
    let mut i = 0usize;
    c.bench_function("engine_screen_mixed_100k_exact_10k_prefix", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            let facts = CallFacts {
                caller_number: &callers[i],
                destination: "4000",
                ..CallFacts::default()
            };
            black_box(engine.screen(black_box(&facts), now).action)
        })
    });
}

criterion_group!(benches, bench_screen);
criterion_main!(benches);
