//! The module's whole decision path for one call, as the `callscreen`
//! application runs it: `plan_call` with runtime lists, metrics, the verdict
//! event and the ledger queue.
//!
//! `cargo bench --bench plan_call`

use std::fmt::Write as _;
use std::time::SystemTime;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use mod_callscreen::engine::CallFacts;

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

/// The app's whole decision path with operations on: runtime lists with
/// 1,000 entries consulted by a rule, metrics, the verdict event (a no-op
/// sink) and the ledger queue push for blocked calls (its writer thread
/// writes to a temporary directory with fsync: never).
fn bench_plan_call_with_operations(c: &mut Criterion) {
    use mod_callscreen::events::EventSink;
    use mod_callscreen::ops::StartOptions;
    use mod_callscreen::screening::{plan_call, AppArgs};
    use mod_callscreen::service::Service;
    use std::sync::Arc;

    struct NoEvents;
    impl EventSink for NoEvents {
        fn fire(&self, _: &'static str, headers: &[(&'static str, String)]) {
            black_box(headers.len());
        }
    }
    let dir = std::env::temp_dir().join(format!("callscreen-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut yaml = generated_config(100_000, 10_000);
    yaml = yaml.replacen(
        "rules:\n",
        "rules:\n  - name: runtime-allow\n    caller_in: runtime-allow\n    action: allow\n  - name: runtime-block\n    caller_in: runtime-block\n    action: block\n",
        1,
    );
    yaml.push_str("ledger:\n  fsync: never\n  queue_size: 100000\n");
    std::fs::write(dir.join("callscreen.yaml"), yaml).unwrap();
    let (service, r) = Service::start_with(
        &dir.join("callscreen.yaml"),
        StartOptions {
            default_state_dir: Some(dir.join("state")),
            logger: None,
            events: Some(Arc::new(NoEvents)),
            ..StartOptions::default()
        },
    );
    r.expect("config");
    for i in 0..1000 {
        let line = format!("block +86155{:04}* 1d bench", i);
        mod_callscreen::commands::run(&service, Some(&line));
    }
    let callers: Vec<String> = (0..1024u64)
        .map(|i| match i % 4 {
            0 => format!("+86155{:04}{:04}", i % 1000, i), // runtime-blocked
            1 => format!("0170{:05}{:03}", (i * 31) % 30_000, i % 1000),
            2 => format!("+1202555{:04}", i),
            _ => "anonymous".to_string(),
        })
        .collect();
    let args = AppArgs::default();
    let mut i = 0usize;
    c.bench_function("plan_call_with_runtime_lists_metrics_event_ledger", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            let facts = CallFacts {
                caller_number: &callers[i],
                destination: "4000",
                ..CallFacts::default()
            };
            black_box(plan_call(&service, black_box(&facts), &args, SystemTime::now()).hangup)
        })
    });
    let dropped = service.ops.ledger().map_or(0, |l| l.stats().dropped());
    service.shutdown();
    eprintln!("ledger records dropped during the benchmark: {dropped}");
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench_plan_call_with_operations);
criterion_main!(benches);
