//! Replay throughput on a million calls, single thread, on the shipped
//! config: the screening alone (calls already parsed), and end to end from
//! CSV text (parsing, time order, screening, summaries), with and without
//! writing a verdict per call.
//!
//! `cargo bench --bench replay` (or `make bench`). Peak memory of a real
//! replay is measured on the CLI instead (README, "The offline twin").

use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime};

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use mod_callscreen::config::Config;
use mod_callscreen::engine::Engine;
use mod_callscreen::history::{
    order::DEFAULT_WINDOW, CallRecord, Format, HistoryReader, ReadOptions, TimeOrder,
};
use mod_callscreen::replay::{replay, Progress, SummaryOptions, Twin, VerdictWriter};
use mod_callscreen::screen_call::screen_call;

const CALLS: usize = 1 << 20;
const START: u64 = 1_714_953_600; // 2024-05-06T00:00:00Z

/// A caller of the sample's mix: family, ordinary callers, two pools
/// rotating numbers, withheld numbers.
fn caller(i: u64) -> String {
    match i % 20 {
        0 => "13800138000".to_string(),
        1..=7 => format!("13{}{:08}", 5 + i % 5, (i * 7919) % 100_000_000),
        8..=13 => format!("+861705521{:04}", (i * 31) % 10_000),
        14..=16 => format!("0171339{:04}", (i * 17) % 10_000),
        17 | 18 => format!("+861352271{:04}", (i * 13) % 10_000),
        _ => "anonymous".to_string(),
    }
}

fn history_csv() -> Vec<u8> {
    let mut out = Vec::with_capacity(CALLS * 80);
    out.extend_from_slice(b"time,caller,caller_name,destination,network_addr,sip_user_agent\n");
    for i in 0..CALLS as u64 {
        let t = START + i * 2;
        let days = t / 86_400;
        let (y, m, d) = mod_callscreen::timefmt::civil_from_days(days as i64);
        let s = t % 86_400;
        writeln!(
            out,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z,{},,+8613300001111,203.0.113.10,carrier-sbc/4.2",
            s / 3600,
            s % 3600 / 60,
            s % 60,
            caller(i)
        )
        .unwrap();
    }
    out
}

fn engine() -> Engine {
    Engine::new(Config::load(Path::new("conf/callscreen.yaml")).expect("shipped config"))
}

fn bench_replay(c: &mut Criterion) {
    let csv = history_csv();
    let mut group = c.benchmark_group("replay_1M_calls");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(CALLS as u64));

    // Screening only: 64 Ki parsed calls, replayed 16 times on a clock that
    // keeps moving forward.
    let records: Vec<CallRecord> = {
        let mut r = HistoryReader::new(Format::Csv, &csv[..], "bench.csv", ReadOptions::default());
        let mut v = Vec::with_capacity(1 << 16);
        let mut rec = CallRecord::default();
        while v.len() < 1 << 16 && r.read_into(&mut rec).unwrap() {
            v.push(rec.clone());
        }
        v
    };
    let e = engine();
    group.bench_function("screen_only", |b| {
        b.iter(|| {
            let mut blocked = 0u32;
            for pass in 0..16u64 {
                let shift = Duration::from_secs(pass * (1 << 17));
                for rec in &records {
                    let now: SystemTime = rec.time + shift;
                    let v = rec.with_facts(|facts| screen_call(&e, facts, now));
                    blocked += (v.action == mod_callscreen::config::Action::Block) as u32;
                }
            }
            black_box(blocked)
        })
    });

    group.bench_function("csv_end_to_end", |b| {
        b.iter(|| {
            let mut twin = Twin::new(engine());
            let reader =
                HistoryReader::new(Format::Csv, &csv[..], "bench.csv", ReadOptions::default());
            let mut order = TimeOrder::new(reader, "bench.csv", DEFAULT_WINDOW);
            let report = replay::<std::io::Sink>(
                &mut twin,
                &mut order,
                SummaryOptions::default(),
                0,
                None,
                &mut Progress::hidden(),
            )
            .unwrap();
            assert_eq!(report.summary.calls, CALLS as u64);
            black_box(report.summary.blocked())
        })
    });

    group.bench_function("csv_end_to_end_writing_jsonl", |b| {
        b.iter(|| {
            let mut twin = Twin::new(engine());
            let reader =
                HistoryReader::new(Format::Csv, &csv[..], "bench.csv", ReadOptions::default());
            let mut order = TimeOrder::new(reader, "bench.csv", DEFAULT_WINDOW);
            let mut out = VerdictWriter::new(std::io::sink(), Format::JsonLines).unwrap();
            let report = replay(
                &mut twin,
                &mut order,
                SummaryOptions::default(),
                0,
                Some(&mut out),
                &mut Progress::hidden(),
            )
            .unwrap();
            black_box(report.summary.blocked())
        })
    });
    group.finish();
}

criterion_group!(benches, bench_replay);
criterion_main!(benches);
