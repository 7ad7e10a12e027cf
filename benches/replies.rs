//! Cost of choosing a reply on the hot path: a blocked call whose rule names
//! a weighted group of a round-robin group and a schedule, and the host steps
//! computed for the chosen reply.
//!
//! `cargo bench --bench replies`.

use std::path::Path;
use std::time::SystemTime;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use mod_callscreen::config::Config;
use mod_callscreen::engine::{CallFacts, Engine};
use mod_callscreen::replies::steps::steps_for;

const YAML: &str = r#"
numbering: { country_code: "86" }
lists:
  pool: ["+86170*"]
replies:
  busy: { kind: busy_tone }
  gone: { kind: vacant }
  ring: { kind: ringout }
  turns: { kind: group, pick: round_robin, replies: [busy, ring] }
  by-time:
    kind: schedule
    cases:
      - when: { days: mon-fri, hours: "09:00-18:00", utc_offset: "+08:00" }
        reply: busy
    otherwise: gone
  mix: { kind: group, pick: weighted, replies: { turns: 3, by-time: 2, gone: 1 } }
rules:
  - name: pool
    caller_in: pool
    action: block
    reply: mix
"#;

fn bench_replies(c: &mut Criterion) {
    let engine = Engine::with_seed(Config::parse(YAML, Path::new("b.yaml")).expect("config"), 7);
    let now = SystemTime::now();
    let facts = CallFacts {
        caller_number: "017012345678",
        destination: "4000",
        ..CallFacts::default()
    };
    c.bench_function("screen_blocked_call_reply_group_of_groups", |b| {
        b.iter(|| {
            black_box(
                engine
                    .screen(black_box(&facts), now)
                    .reply
                    .map(|r| r.name.len()),
            )
        })
    });
    c.bench_function("screen_and_plan_reply_steps", |b| {
        b.iter(|| {
            let v = engine.screen(black_box(&facts), now);
            let reply = v.reply.expect("blocked");
            black_box(steps_for(reply, v.caller.number(), None).len())
        })
    });
}

criterion_group!(benches, bench_replies);
criterion_main!(benches);
