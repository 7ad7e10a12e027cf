//! Limiter behaviour through the engine, with a controlled clock.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::{Action, Config};
use crate::engine::{CallFacts, Engine};
use crate::limits::store::LimitStore;
use crate::limits::HitState;
use crate::service::Service;
use crate::verdict::{Reason, Verdict};

const T0: u64 = 1_700_000_000;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0 + secs)
}

fn engine(yaml: &str) -> Engine {
    Engine::new(Config::parse(yaml, Path::new("t.yaml")).unwrap())
}

fn call<'e>(e: &'e Engine, caller: &str, dest: &str, secs: u64) -> Verdict<'e> {
    e.screen(
        &CallFacts {
            caller_number: caller,
            destination: dest,
            ..CallFacts::default()
        },
        at(secs),
    )
}

fn limited(v: &Verdict<'_>) -> Option<String> {
    v.limit
        .map(|h| format!("{} {} {}", h.limit.name, h.key_text(), h.state.as_str()))
}

const CALLS: &str = r#"
replies:
  busy: { kind: reject, cause: USER_BUSY }
lists:
  family: ["+8613800138000"]
rules:
  - name: family
    caller_in: family
    action: allow
limits:
  - name: hammer
    key: caller
    calls: 3/10m
    penalty: 0
    reply: busy
"#;

#[test]
fn calls_slide_without_a_burst_at_the_window_edge() {
    let e = engine(CALLS);
    for t in [0, 200, 400] {
        assert_eq!(call(&e, "17012345678", "4000", t).action, Action::Allow);
    }
    // The fourth call within ten minutes of the first is refused…
    let v = call(&e, "17012345678", "4000", 599);
    assert_eq!(v.action, Action::Block);
    assert_eq!(v.reason, Reason::Limit);
    assert_eq!(v.reply_name(), "busy");
    assert_eq!(limited(&v).unwrap(), "hammer +8617012345678 tripped");
    assert_eq!(v.limit.unwrap().counters_text(), "calls 4/3 per 10m");
    // …and did not count: at 600 the first call has left the window.
    assert_eq!(call(&e, "17012345678", "4000", 600).action, Action::Allow);
    // A fixed window restarting at 600 would allow two more now; this one does not.
    assert_eq!(call(&e, "17012345678", "4000", 601).action, Action::Block);
    assert_eq!(call(&e, "17012345678", "4000", 800).action, Action::Allow);
    // Other callers have their own window.
    assert_eq!(call(&e, "17012345679", "4000", 601).action, Action::Allow);
}

#[test]
fn calls_an_allow_rule_lets_through_are_not_counted() {
    let e = engine(CALLS);
    for t in 0..10 {
        assert_eq!(call(&e, "+8613800138000", "4000", t).action, Action::Allow);
    }
    let (_, trace) = e.explain(
        &CallFacts {
            caller_number: "+8613800138000",
            ..CallFacts::default()
        },
        at(11),
    );
    assert!(trace
        .iter()
        .any(|s| s.rule == "limit hammer" && s.detail.contains("allow rule")));
    // Limits never apply to withheld numbers under a caller key.
    for t in 0..10 {
        assert_eq!(call(&e, "anonymous", "4000", t).action, Action::Allow);
    }
}

const POOL: &str = r#"
limits:
  - name: pools
    key: caller_prefix
    levels:
      - { digits: 7, distinct: 3/1h }
      - { digits: 6, distinct: 5/1h }
    penalty: 30m
    repeat_factor: 2
    max_penalty: 2h
    remember: 1d
"#;

#[test]
fn a_rotating_pool_trips_distinct_numbers_per_prefix() {
    let e = engine(POOL);
    // The same number again and again is one distinct number.
    for t in 0..5 {
        assert_eq!(call(&e, "17012340000", "", t).action, Action::Allow);
    }
    for (i, n) in ["17012340001", "17012340002"].iter().enumerate() {
        assert_eq!(call(&e, n, "", 10 + i as u64).action, Action::Allow);
    }
    let v = call(&e, "17012340003", "", 20);
    assert_eq!(limited(&v).unwrap(), "pools 1701234 tripped");
    assert_eq!(
        v.limit.unwrap().threshold().unwrap().to_string(),
        "distinct 3/1h"
    );
    assert_eq!(v.limit.unwrap().count(), Some(4));
    // Now the whole prefix is in the box, even for a number seen before…
    let v = call(&e, "17012340000", "", 21);
    assert_eq!(limited(&v).unwrap(), "pools 1701234 penalty");
    // …while its neighbour prefix still gets through.
    assert_eq!(call(&e, "17012350000", "", 22).action, Action::Allow);
}

#[test]
fn a_pool_spread_over_several_seven_digit_prefixes_is_caught_at_six() {
    let e = engine(POOL);
    // Two numbers in each of three 7-digit blocks: none over 3, but six
    // numbers under 170123.
    let numbers = [
        "17012310001",
        "17012310002",
        "17012320001",
        "17012320002",
        "17012330001",
    ];
    for (i, n) in numbers.iter().enumerate() {
        assert_eq!(call(&e, n, "", i as u64).action, Action::Allow, "{n}");
    }
    let v = call(&e, "17012330002", "", 10);
    assert_eq!(limited(&v).unwrap(), "pools 170123 tripped");
    assert_eq!(v.limit.unwrap().counters_text(), "distinct 6/5 per 1h");
    // The refused call was taken back from the 7-digit level: 1701233 has
    // seen one number, so two more still pass there (the 6-digit box aside).
    let (_, trace) = e.explain(
        &CallFacts {
            caller_number: "17012330003",
            ..CallFacts::default()
        },
        at(11),
    );
    let step = trace.iter().find(|s| s.rule == "limit pools").unwrap();
    assert!(
        step.detail
            .contains("key 1701233 (7 digits): distinct 2/3 per 1h"),
        "{}",
        step.detail
    );
    assert!(
        step.detail
            .contains("key 170123 (6 digits) is in the penalty box"),
        "{}",
        step.detail
    );
}

#[test]
fn a_call_a_later_level_refuses_is_not_counted_by_an_approximate_level() {
    // 65 distinct numbers is above the exact range: the 7-digit level counts
    // approximately. The 6-digit level allows one call a minute.
    let e = engine(
        "limits:\n  - name: pools\n    key: caller_prefix\n    levels:\n      - { digits: 7, distinct: 65/1h }\n      - { digits: 6, calls: 1/1m }\n    penalty: 0\n",
    );
    assert!(call(&e, "17012340001", "", 0).limit.is_none());
    // Refused by the 6-digit level, ten times, each a new number.
    for i in 0..10u64 {
        let v = call(&e, &format!("170123400{:02}", 10 + i), "", 1 + i);
        assert_eq!(limited(&v).unwrap(), "pools 170123 tripped");
    }
    // The 7-digit level still holds one number: the next one is its second.
    let detail = explain_detail(&e, "17012340099", 20);
    assert!(
        detail.contains("key 1701234 (7 digits): distinct 2/65 per 1h"),
        "{detail}"
    );
}

#[test]
fn penalties_escalate_on_repeat_and_expire_by_themselves() {
    let e = engine(POOL);
    let trip = |start: u64| {
        for i in 0..3 {
            call(&e, &format!("1701234{:04}", start + i), "", start + i);
        }
        call(&e, &format!("1701234{:04}", start + 3), "", start + 3)
    };
    let v = trip(0);
    let first = v.limit.unwrap().penalty.unwrap();
    assert_eq!(first.offences, 1);
    assert_eq!(u64::from(first.until), T0 + 3 + 1800);
    // Boxed until then; released after, by itself.
    assert_eq!(call(&e, "17012349999", "", 1802).action, Action::Block);
    // The window (1h) still holds the pool's numbers: the next new number
    // after release is a repeat offence, twice as long.
    let v = call(&e, "17012348888", "", 1804);
    let second = v.limit.unwrap().penalty.unwrap();
    assert_eq!(second.offences, 2);
    assert_eq!(u64::from(second.until), T0 + 1804 + 3600);
    // Third, once the window has filled again: capped at max_penalty (2h).
    let v = trip(5404);
    let third = v.limit.unwrap().penalty.unwrap();
    assert_eq!(
        (third.offences, u64::from(third.until)),
        (3, T0 + 5407 + 7200)
    );
    // A day after the release the offences are forgotten.
    let later = 5407 + 7200 + 86_400;
    let v = trip(later);
    assert_eq!(v.limit.unwrap().penalty.unwrap().offences, 1);
}

#[test]
fn shadow_limits_record_without_refusing() {
    let e = engine(&POOL.replace("remember: 1d", "remember: 1d\n    shadow: true"));
    for i in 0..3 {
        assert!(call(&e, &format!("170123400{i:02}"), "", i)
            .shadow_limit
            .is_none());
    }
    let v = call(&e, "17012340099", "", 5);
    assert_eq!(v.action, Action::Allow);
    assert!(v.limit.is_none());
    let shadow = v.shadow_limit.unwrap();
    assert_eq!(shadow.state, HitState::Tripped { threshold: 0 });
    assert_eq!(shadow.key_text().to_string(), "1701234");
    // The shadow box is visible, and keeps recording.
    let v = call(&e, "17012340000", "", 6);
    assert_eq!(v.action, Action::Allow);
    assert_eq!(v.shadow_limit.unwrap().state, HitState::Penalty);
}

#[test]
fn scope_limits_the_calls_a_limit_sees() {
    let yaml = r#"
lists:
  courier: ["+864000"]
  marketing: ["+86171*"]
rules:
  - name: marketing
    caller_in: marketing
    action: block
limits:
  - name: courier-line
    key: destination
    calls: 2/1m
    scope: { destination_in: courier, applies_to: unmatched }
  - name: any-caller
    key: caller
    calls: 1/1m
"#;
    let e = engine(yaml);
    // Calls to another number are not counted by courier-line.
    for i in 0..5 {
        let v = call(&e, &format!("1390000000{i}"), "4001", i);
        assert!(v.limit.is_none());
    }
    // Calls a rule blocked are not counted by an `unmatched` limit…
    for i in 0..5 {
        call(&e, &format!("1710000000{i}"), "4000", i);
    }
    assert_eq!(call(&e, "13900000010", "4000", 10).action, Action::Allow);
    assert_eq!(call(&e, "13900000011", "4000", 11).action, Action::Allow);
    let v = call(&e, "13900000012", "4000", 12);
    assert_eq!(limited(&v).unwrap(), "courier-line +864000 tripped");
    // …but are by a `not_allowed` one (the default): the rule's reply stands.
    let v = call(&e, "17100000000", "4002", 13);
    assert_eq!(v.rule_name(), "marketing");
    assert_eq!(v.reason, Reason::List);
    assert!(v.limit.is_none());
}

const BY_PROFILE: &str = r#"
limits:
  - name: pools
    key: caller_prefix
    digits: 7
    distinct: 3/1h
    penalty: 1h
    scope: { profiles: default }
profiles:
  courier-line:
    destination: ["+864000"]
"#;

#[test]
fn a_limit_scoped_to_profiles_leaves_other_profiles_alone_even_for_a_boxed_key() {
    let e = engine(BY_PROFILE);
    // A rotating pool on the courier line: not counted, never refused.
    for i in 0..6u64 {
        let v = call(&e, &format!("170123400{i:02}"), "+864000", i);
        assert_eq!(v.profile, "courier-line");
        assert!(v.limit.is_none(), "call {i}: {:?}", limited(&v));
    }
    // The same pool on the main line trips at its fourth number…
    for i in 0..3u64 {
        assert!(call(&e, &format!("170123401{i:02}"), "+865000", 10 + i)
            .limit
            .is_none());
    }
    let v = call(&e, "17012340199", "+865000", 20);
    assert_eq!(limited(&v).unwrap(), "pools 1701234 tripped");
    assert_eq!(
        call(&e, "17012340000", "+865000", 21).limit.unwrap().state,
        HitState::Penalty
    );
    // …and the prefix boxed by main-line calls still reaches the courier line.
    let v = call(&e, "17012340000", "+864000", 22);
    assert_eq!(v.action, Action::Allow);
    assert!(v.limit.is_none());
    let (_, trace) = e.explain(
        &CallFacts {
            caller_number: "17012340000",
            destination: "+864000",
            ..CallFacts::default()
        },
        at(23),
    );
    let step = trace.iter().find(|s| s.rule == "limit pools").unwrap();
    assert!(!step.matched);
    assert_eq!(
        step.detail,
        "not applied: profile courier-line is not in its scope (profiles: default)"
    );
}

#[test]
fn the_shipped_config_lets_pools_reach_the_courier_line_and_stops_them_on_the_main_line() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("conf/callscreen.yaml");
    let e = Engine::new(Config::load(&shipped).unwrap());
    // Six drivers from one 7-digit block of rotating numbers.
    for i in 1..=6u64 {
        let v = call(&e, &format!("+86170123400{i:02}"), "025 1234 5678", i * 60);
        assert_eq!(v.profile, "courier-line");
        assert_eq!(
            v.action,
            Action::Allow,
            "courier call {i}: {:?}",
            limited(&v)
        );
    }
    // The same on the main line: the fifth number trips number-pools.
    for i in 1..=4u64 {
        let v = call(&e, &format!("+86139123400{i:02}"), "+862566668888", 600 + i);
        assert_eq!(v.action, Action::Allow, "main-line call {i}");
    }
    let v = call(&e, "+8613912340005", "+862566668888", 605);
    assert_eq!(limited(&v).unwrap(), "number-pools 1391234 tripped");
}

const BY_RULE: &str = r#"
lists:
  known-pool: ["+8617012340001", "+8617012340002", "+8617012340003"]
rules:
  - name: known-pool
    caller_in: known-pool
    action: block
limits:
  - name: learned-prefixes
    key: caller_prefix
    digits: 7
    calls: 2/1h
    penalty: 1h
    scope: { rules: known-pool }
"#;

#[test]
fn a_limit_scoped_to_rules_counts_their_calls_and_boxes_the_key_for_the_rest() {
    let e = engine(BY_RULE);
    // Calls the defaults let through are not counted, however many.
    for i in 0..10u64 {
        let v = call(&e, &format!("170123499{i:02}"), "", i);
        assert!(v.limit.is_none(), "{:?}", limited(&v));
    }
    assert!(explain_detail(&e, "17012349999", 11).starts_with(
        "penalty box only (no rule decided the call; it counts calls decided by known-pool): key 1701234 (7 digits) is not in the penalty box"
    ));
    // Three calls the rule blocks: the third is over 2/1h and boxes the prefix
    // (the rule's verdict stands).
    for (i, n) in ["17012340001", "17012340002", "17012340003"]
        .iter()
        .enumerate()
    {
        let v = call(&e, n, "", 20 + i as u64);
        assert_eq!(v.rule_name(), "known-pool");
        assert_eq!(v.action, Action::Block);
    }
    // Now an unlisted neighbour is refused by the limit's box…
    let v = call(&e, "17012345555", "", 30);
    assert_eq!(limited(&v).unwrap(), "learned-prefixes 1701234 penalty");
    // …while another prefix is not.
    assert!(call(&e, "17012355555", "", 31).limit.is_none());
}

#[test]
fn the_key_cap_holds_when_every_call_is_a_new_number() {
    let e = engine(
        "limits:\n  - name: hammer\n    key: caller\n    calls: 2/1h\n    penalty: 1h\n    max_keys: 100\n",
    );
    let table = Arc::clone(&e.limiter().limits[0].tables[0]);
    for i in 0..10_000u64 {
        call(
            &e,
            &format!("1390{:07}", i * 7919 % 10_000_000),
            "",
            i / 100,
        );
        assert!(table.len() <= 100);
    }
    assert_eq!(table.len(), 100);
    let stats = table.stats();
    let evicted = stats.evicted_full + stats.evicted_idle;
    assert_eq!(evicted, 10_000 - 100);
    // A hammering number is still caught while the flood goes on: its key is
    // among the most recently seen, so sampling evicts others first.
    let mut caught = false;
    for i in 0..50u64 {
        call(&e, &format!("1391{:07}", i), "", 200);
        if call(&e, "13800000001", "", 200).limit.is_some() {
            caught = true;
        }
    }
    assert!(caught);
    // Boxed keys are kept: nothing in the box was evicted.
    for i in 0..1000u64 {
        call(&e, &format!("1392{:07}", i), "", 201);
    }
    assert_eq!(
        call(&e, "13800000001", "", 202).limit.unwrap().state,
        HitState::Penalty
    );
}

#[test]
fn idle_keys_are_swept() {
    let e =
        engine("limits:\n  - name: hammer\n    key: caller\n    calls: 2/10m\n    penalty: 0\n");
    for i in 0..50u64 {
        call(&e, &format!("1390000{:04}", i), "", 0);
    }
    let table = &e.limiter().limits[0].tables[0];
    assert_eq!(table.len(), 50);
    assert_eq!(table.sweep(unix(599)), 0);
    assert_eq!(table.sweep(unix(600)), 50);
    assert!(table.is_empty());
}

fn unix(secs: u64) -> u32 {
    (T0 + secs) as u32
}

#[test]
fn counts_are_exact_under_concurrent_calls() {
    let e = Arc::new(engine(
        "limits:\n  - name: busy-line\n    key: destination\n    calls: 1000/1h\n    penalty: 0\n",
    ));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let e = Arc::clone(&e);
            std::thread::spawn(move || {
                let mut allowed = 0;
                for i in 0..200 {
                    let caller = format!("139{t:02}{i:06}");
                    if call(&e, &caller, "+864000", 1).action == Action::Allow {
                        allowed += 1;
                    }
                }
                allowed
            })
        })
        .collect();
    let allowed: u32 = threads.into_iter().map(|h| h.join().unwrap()).sum();
    // 1600 calls, exactly 1000 let through, and the window holds exactly 1000.
    assert_eq!(allowed, 1000);
    let (_, trace) = e.explain(
        &CallFacts {
            caller_number: "13900000000",
            destination: "+864000",
            ..CallFacts::default()
        },
        at(2),
    );
    assert!(
        trace[0].detail.contains("calls 1001/1000 per 1h"),
        "{}",
        trace[0].detail
    );
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("callscreen-limits-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn explain_detail(e: &Engine, caller: &str, secs: u64) -> String {
    let (_, trace) = e.explain(
        &CallFacts {
            caller_number: caller,
            ..CallFacts::default()
        },
        at(secs),
    );
    trace
        .iter()
        .filter(|s| s.rule.starts_with("limit"))
        .map(|s| s.detail.clone())
        .collect::<Vec<_>>()
        .join(" | ")
}

#[test]
fn counters_and_penalties_survive_a_reload() {
    let dir = temp_dir("reload");
    let yaml = dir.join("callscreen.yaml");
    std::fs::write(&yaml, POOL).unwrap();
    let (service, r) = Service::start(&yaml);
    r.unwrap();
    let now = SystemTime::now();
    let e = service.engine().unwrap();
    for i in 0..4 {
        e.screen(
            &CallFacts {
                caller_number: &format!("170123400{i:02}"),
                ..CallFacts::default()
            },
            now,
        );
    }
    let boxed = service
        .limits()
        .penalties(crate::limits::unix_seconds(now), None);
    assert_eq!(boxed.len(), 1);
    assert_eq!(boxed[0].key, "1701234");

    // Same limit: the very same table carries on.
    std::fs::write(&yaml, format!("{POOL}\nrules: []\n")).unwrap();
    service.reload().unwrap();
    let e2 = service.engine().unwrap();
    assert!(!Arc::ptr_eq(&e, &e2));
    assert!(Arc::ptr_eq(
        &e.limiter().limits[0].tables[1],
        &e2.limiter().limits[0].tables[1]
    ));
    let v = e2.screen(
        &CallFacts {
            caller_number: "17012340050",
            ..CallFacts::default()
        },
        now,
    );
    assert_eq!(v.limit.unwrap().state, HitState::Penalty);

    // Thresholds changed: counters restart, the penalty stays.
    std::fs::write(&yaml, POOL.replace("distinct: 3/1h", "distinct: 10/1h")).unwrap();
    service.reload().unwrap();
    let e3 = service.engine().unwrap();
    assert!(explain_detail(&e3, "17012340051", 0).contains("distinct 1/10 per 1h"));
    let v = e3.screen(
        &CallFacts {
            caller_number: "17012340051",
            ..CallFacts::default()
        },
        now,
    );
    assert_eq!(v.limit.unwrap().state, HitState::Penalty);
    assert_eq!(
        service
            .limits()
            .penalties(crate::limits::unix_seconds(now), None)
            .len(),
        1
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn counters_and_penalties_survive_a_restart_through_the_state_file() {
    let dir = temp_dir("restart");
    let yaml = dir.join("callscreen.yaml");
    std::fs::write(&yaml, POOL).unwrap();
    let now = SystemTime::now();
    {
        let (service, r) = Service::start_with_state(&yaml, Some(&dir));
        r.unwrap();
        let e = service.engine().unwrap();
        for i in 0..4 {
            e.screen(
                &CallFacts {
                    caller_number: &format!("170123400{i:02}"),
                    ..CallFacts::default()
                },
                now,
            );
        }
        // Two numbers under another prefix: counters, no penalty.
        for n in ["17055550001", "17055550002"] {
            e.screen(
                &CallFacts {
                    caller_number: n,
                    ..CallFacts::default()
                },
                now,
            );
        }
        service.shutdown();
    }
    assert!(dir.join("callscreen-limits.state").exists());

    let (service, r) = Service::start_with_state(&yaml, Some(&dir));
    r.unwrap();
    assert!(
        matches!(service.restored(), Ok(n) if *n > 0),
        "{:?}",
        service.restored()
    );
    let e = service.engine().unwrap();
    let v = e.screen(
        &CallFacts {
            caller_number: "17012340077",
            ..CallFacts::default()
        },
        now,
    );
    assert_eq!(v.limit.unwrap().state, HitState::Penalty);
    // The counters came back too: one more number is fine, a second trips.
    let ok = e.screen(
        &CallFacts {
            caller_number: "17055550003",
            ..CallFacts::default()
        },
        now,
    );
    assert!(ok.limit.is_none());
    let v = e.screen(
        &CallFacts {
            caller_number: "17055550004",
            ..CallFacts::default()
        },
        now,
    );
    assert_eq!(v.limit.unwrap().state, HitState::Tripped { threshold: 0 });
    service.shutdown();

    // A damaged file is reported and ignored; the service still starts.
    std::fs::write(
        dir.join("callscreen-limits.state"),
        b"CALLSCREEN-LIMITS garbage",
    )
    .unwrap();
    let (service, r) = Service::start_with_state(&yaml, Some(&dir));
    r.unwrap();
    assert!(service.restored().is_err());
    service.shutdown();
    std::fs::remove_dir_all(dir).unwrap();
}

fn saved_limits(file: &Path) -> Vec<String> {
    let saved = crate::limits::persist::decode(&std::fs::read(file).unwrap()).unwrap();
    let mut names: Vec<String> = saved.into_iter().map(|t| t.limit).collect();
    names.dedup();
    names
}

#[test]
fn restored_state_of_a_limit_the_config_no_longer_has_is_dropped_not_saved_forever() {
    let dir = temp_dir("gone");
    let yaml = dir.join("callscreen.yaml");
    let file = dir.join("callscreen-limits.state");
    let hammer = "  - name: hammer\n    key: caller\n    calls: 1/1h\n";
    let now = SystemTime::now();
    let screen = |service: &Service, caller: &str| {
        let e = service.engine().unwrap();
        let v = e.screen(
            &CallFacts {
                caller_number: caller,
                ..CallFacts::default()
            },
            now,
        );
        v.limit.map(|h| h.limit.name.clone())
    };
    std::fs::write(&yaml, format!("{POOL}{hammer}")).unwrap();
    {
        let (service, r) = Service::start_with_state(&yaml, Some(&dir));
        r.unwrap();
        screen(&service, "13900000001");
        assert_eq!(screen(&service, "13900000001").unwrap(), "hammer");
        service.shutdown();
    }
    assert_eq!(saved_limits(&file), ["pools", "hammer"]);

    // Restarted without hammer: its state is not carried along.
    std::fs::write(&yaml, POOL).unwrap();
    let (service, r) = Service::start_with_state(&yaml, Some(&dir));
    r.unwrap();
    service.shutdown();
    assert_eq!(saved_limits(&file), ["pools"]);

    // A config that fails to load keeps what was read, for the next good one.
    std::fs::write(&yaml, format!("{POOL}{hammer}")).unwrap();
    {
        let (service, r) = Service::start_with_state(&yaml, Some(&dir));
        r.unwrap();
        screen(&service, "13900000002");
        service.shutdown();
    }
    std::fs::write(&yaml, "limits: [oops\n").unwrap();
    let (service, r) = Service::start_with_state(&yaml, Some(&dir));
    assert!(r.is_err());
    service.shutdown();
    assert_eq!(saved_limits(&file), ["pools", "hammer"]);
    std::fs::write(&yaml, format!("{POOL}{hammer}")).unwrap();
    let (service, r) = Service::start_with_state(&yaml, Some(&dir));
    r.unwrap();
    assert_eq!(screen(&service, "13900000002").unwrap(), "hammer");
    service.shutdown();
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_penalty_reaches_the_disk_without_waiting_for_the_interval() {
    let dir = temp_dir("nudge");
    let yaml = dir.join("callscreen.yaml");
    std::fs::write(&yaml, format!("limiter:\n  save_interval: 1h\n{POOL}")).unwrap();
    let (service, r) = Service::start_with_state(&yaml, Some(&dir));
    r.unwrap();
    let e = service.engine().unwrap();
    let now = SystemTime::now();
    for i in 0..4 {
        e.screen(
            &CallFacts {
                caller_number: &format!("170123400{i:02}"),
                ..CallFacts::default()
            },
            now,
        );
    }
    let file = dir.join("callscreen-limits.state");
    let store = LimitStore::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if file.exists()
            && store
                .restore(&file, crate::limits::unix_seconds(now))
                .is_ok()
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no state file written"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    service.shutdown();
    std::fs::remove_dir_all(dir).unwrap();
}
