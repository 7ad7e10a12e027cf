//! Tests of the operations commands against a service with a state directory.

use std::path::PathBuf;
use std::sync::Arc;

use super::run;
use crate::ops::StartOptions;
use crate::service::Service;

const YAML: &str = "lists:\n  family: [\"+8613800138000\"]\nrules:\n  - name: family\n    caller_in: family\n    action: allow\n  - name: runtime-allow\n    caller_in: runtime-allow\n    action: allow\n  - name: runtime-block\n    caller_in: runtime-block\n    action: block\n";

struct Fixture {
    dir: PathBuf,
    service: Arc<Service>,
}

impl Fixture {
    fn new(name: &str, yaml: &str) -> Fixture {
        let dir =
            std::env::temp_dir().join(format!("callscreen-ops-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("callscreen.yaml"), yaml).unwrap();
        let service = Fixture::start(&dir);
        Fixture { dir, service }
    }

    fn start(dir: &std::path::Path) -> Arc<Service> {
        let (s, r) = Service::start_with(
            &dir.join("callscreen.yaml"),
            StartOptions {
                default_state_dir: Some(dir.join("state")),
                ..StartOptions::default()
            },
        );
        r.unwrap();
        Arc::new(s)
    }

    fn run(&self, line: &str) -> String {
        run(&self.service, Some(line))
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.service.shutdown();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn block_list_check_unblock_round_trip() {
    let f = Fixture::new("roundtrip", YAML);
    let out = f.run("block 0170* 2h marketing pool");
    assert!(
        out.starts_with("+OK added +86170* to runtime-block (expires "),
        "{out}"
    );
    assert!(out.contains("(in 2h)), note: marketing pool\n"), "{out}");
    assert!(!out.contains("warning"), "{out}");
    let out = f.run("allow +8617099999999 forever courier");
    assert!(
        out.starts_with("+OK added +8617099999999 to runtime-allow (expires never), note: courier"),
        "{out}"
    );

    let out = f.run("check 17012345678");
    assert!(
        out.starts_with("+OK block\n") && out.contains("rule: runtime-block\n"),
        "{out}"
    );
    // The runtime-allow rule is above the runtime-block rule: it wins.
    let out = f.run("check 17099999999");
    assert!(
        out.starts_with("+OK allow\n") && out.contains("rule: runtime-allow\n"),
        "{out}"
    );

    let out = f.run("list");
    assert!(out.starts_with("+OK 2 entries\n"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("runtime-block  +86170*") && l.ends_with("marketing pool")),
        "{out}"
    );
    let out = f.run("list allow");
    assert!(
        out.starts_with("+OK 1 entries\n") && out.contains("+8617099999999"),
        "{out}"
    );
    let out = f.run("list block courier");
    assert!(out.starts_with("+OK 0 entries\n"), "{out}");
    // The service's limit store answers for the penalty box: nothing boxed yet.
    let out = f.run("list penalty");
    assert!(out.starts_with("+OK 0 entries"), "{out}");

    let out = f.run("block +86170* 1h longer note");
    assert!(
        out.starts_with("+OK updated +86170* in runtime-block"),
        "{out}"
    );
    assert_eq!(
        f.run("unblock +86170*"),
        "+OK removed +86170* from runtime-block\n"
    );
    assert_eq!(
        f.run("unblock +86170*"),
        "-ERR +86170* is not in runtime-block\n"
    );
    assert!(f.run("check 17012345678").starts_with("+OK allow\n"));
}

#[test]
fn entries_survive_reload_and_restart() {
    let f = Fixture::new("durable", YAML);
    assert!(f.run("block +86171* 1d").starts_with("+OK added"));
    assert!(f.run("reload").starts_with("+OK reloaded"));
    assert!(f.run("check 17112345678").starts_with("+OK block"));
    f.service.shutdown();
    let again = Fixture::start(&f.dir);
    let out = run(&again, Some("list block"));
    assert!(
        out.starts_with("+OK 1 entries\n") && out.contains("+86171*"),
        "{out}"
    );
    assert!(run(&again, Some("check 17112345678")).starts_with("+OK block"));
    let status = run(&again, Some("status"));
    assert!(
        status.contains("runtime entries: runtime-block 1, runtime-allow 0 (journal "),
        "{status}"
    );
    again.shutdown();
}

#[test]
fn bad_entries_and_unused_lists_are_explained() {
    let f = Fixture::new("bad", "rules: []\n");
    let out = f.run("block call-me");
    assert!(
        out.starts_with("-ERR pattern \"call-me\" is not a number"),
        "{out}"
    );
    let out = f.run("block +86*170");
    assert!(
        out.starts_with("-ERR pattern \"+86*170\": '*' may only end a prefix"),
        "{out}"
    );
    let out = f.run("block +86170*");
    assert!(
        out.contains("\nwarning: no rule names runtime-block, so this entry has no effect"),
        "{out}"
    );
}

#[test]
fn json_answers_are_one_object_with_ok() {
    let f = Fixture::new("json", YAML);
    let v: serde_json::Value = serde_json::from_str(&f.run("json block +86170* 30m spam")).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["entry"]["pattern"], "+86170*");
    assert_eq!(v["entry"]["list"], "runtime-block");
    assert_eq!(v["entry"]["note"], "spam");
    assert_eq!(
        v["entry"]["expires_in_seconds"].as_u64().map(|s| s > 1790),
        Some(true)
    );
    let v: serde_json::Value = serde_json::from_str(&f.run("json list")).unwrap();
    assert_eq!(v["entries"].as_array().unwrap().len(), 1);
    let v: serde_json::Value = serde_json::from_str(&f.run("json check 17012345678")).unwrap();
    assert_eq!(
        (v["verdict"].as_str(), v["rule"].as_str()),
        (Some("block"), Some("runtime-block"))
    );
    assert_eq!(v["trace"][2]["matched"], true);
    let v: serde_json::Value = serde_json::from_str(&f.run("json status")).unwrap();
    assert_eq!(v["runtime_entries"]["block"], 1);
    assert_eq!(v["state"], "loaded");
    let v: serde_json::Value = serde_json::from_str(&f.run("json unblock +86171*")).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"], "+86171* is not in runtime-block");
    let v: serde_json::Value = serde_json::from_str(&f.run("json frobnicate")).unwrap();
    assert_eq!(v["ok"], false);
    assert!(v["usage"].as_str().unwrap().contains("callscreen block"));
    let v: serde_json::Value = serde_json::from_str(&f.run("json stats")).unwrap();
    assert!(v["since_load"]["verdict"].is_object());
}

#[test]
fn stats_count_per_rule_and_reset_keeps_totals() {
    use crate::engine::CallFacts;
    use crate::screening::{plan_call, AppArgs};
    let f = Fixture::new("stats", YAML);
    f.run("block +86170*");
    let call = |caller: &str| {
        plan_call(
            &f.service,
            &CallFacts {
                caller_number: caller,
                destination: "4000",
                ..CallFacts::default()
            },
            &AppArgs::default(),
            std::time::SystemTime::now(),
        )
    };
    call("17012345678");
    call("13800138000");
    let out = f.run("stats");
    assert!(out.starts_with("+OK\n"), "{out}");
    assert!(out.contains("calls: 2 (since reset 2)"), "{out}");
    assert!(out.contains("by rule:\n"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with("runtime-block") && l.ends_with("(since reset 1)")),
        "{out}"
    );
    assert!(f.run("stats reset").starts_with("+OK counters reset at "));
    call("17012345679");
    let out = f.run("stats");
    assert!(out.contains("calls: 3 (since reset 1)"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with("family") && l.contains("1  (since reset 0)")),
        "{out}"
    );

    let m = f.run("metrics");
    assert!(m.starts_with("# +OK mod_callscreen metrics"), "{m}");
    assert!(
        m.contains("callscreen_calls_total{verdict=\"block\"} 2\n"),
        "{m}"
    );
    assert!(
        m.contains("callscreen_calls_by_rule_total{rule=\"runtime-block\"} 2\n"),
        "{m}"
    );
    assert!(
        m.contains("callscreen_calls_by_reply_total{reply=\"rejected\"} 2\n"),
        "{m}"
    );
    assert!(m.contains("callscreen_decision_seconds_count 3\n"), "{m}");
    assert!(
        m.contains("callscreen_runtime_entries{list=\"runtime-block\"} 1\n"),
        "{m}"
    );
    assert!(m.contains("callscreen_ledger_dropped_total 0\n"), "{m}");
    assert!(
        m.contains("callscreen_reloads_total{result=\"ok\"} 0\n"),
        "{m}"
    );

    // The ledger got the two blocked calls; report summarises them.
    let out = f.run("report");
    assert!(out.starts_with("+OK\nScreened calls recorded in "), "{out}");
    assert!(out.contains("): 2, from "), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("+8617012345678 ")),
        "{out}"
    );
    let out = f.run("report --format csv --caller +8617012345679");
    assert!(out.starts_with("+OK\ntable,key,calls"), "{out}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("caller,")).count(),
        1,
        "{out}"
    );
    let v: serde_json::Value = serde_json::from_str(&f.run("json report --since 1h")).unwrap();
    assert_eq!(v["calls"], 2);
    let out = f.run("report --format pdf");
    assert!(
        out.starts_with("-ERR --format \"pdf\": use text, csv or json\nusage: callscreen report"),
        "{out}"
    );
}

#[test]
fn status_shows_limit_counters_once_in_text_and_in_json() {
    let f = Fixture::new(
        "limit-status",
        "numbering:\n  country_code: \"86\"\nlimits:\n  - name: pools\n    key: caller_prefix\n    digits: 7\n    distinct: 1/1h\n",
    );
    let engine = f.service.engine().unwrap();
    for caller in ["017012340001", "017012340002", "017012340003"] {
        let facts = crate::engine::CallFacts {
            caller_number: caller,
            ..Default::default()
        };
        let v = engine.screen(&facts, std::time::SystemTime::now());
        f.service.record(&v);
    }
    let text = f.run("status");
    assert_eq!(
        text.matches("calls refused by limits: ").count(),
        1,
        "{text}"
    );
    assert!(
        text.contains("calls refused by limits: 2 (shadow limits: 0)\n"),
        "{text}"
    );
    assert_eq!(text.matches("limit pools (").count(), 1, "{text}");
    let v: serde_json::Value = serde_json::from_str(&f.run("json status")).unwrap();
    assert_eq!(v["calls"]["limited"], 2);
    assert_eq!(v["limits"][0]["limit"], "pools");
    assert_eq!(v["limits"][0]["trips"], 1);
    assert_eq!(v["limits"][0]["refused_while_boxed"], 1);
    assert_eq!(v["limits"][0]["in_penalty_box"], 1);
}

#[test]
fn metrics_output_is_a_valid_exposition_even_while_calls_are_counted() {
    use crate::engine::CallFacts;
    use crate::screening::{plan_call, AppArgs};
    let f = Fixture::new(
        "exposition",
        "numbering:\n  country_code: \"86\"\nlists:\n  bad: [\"+86170*\"]\nlimits:\n  - name: pools\n    key: caller_prefix\n    digits: 7\n    distinct: 1/1h\nrules:\n  - name: 'quote\"back\\slash'\n    caller_in: bad\n    action: block\n",
    );
    for caller in ["017012340001", "017012340002", "013800138000"] {
        plan_call(
            &f.service,
            &CallFacts {
                caller_number: caller,
                destination: "4000",
                ..CallFacts::default()
            },
            &AppArgs::default(),
            std::time::SystemTime::now(),
        );
    }
    f.run("block +86171*");
    let metrics = &f.service.ops.metrics;
    // One decision slower than the last finite bucket: only in +Inf.
    metrics
        .latency
        .observe(std::time::Duration::from_millis(50));

    let text = f.run("metrics");
    assert!(
        text.starts_with("# +OK mod_callscreen metrics"),
        "fs_cli needs +OK first: {text}"
    );
    let samples =
        crate::metrics::exposition::check(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(samples["callscreen_decision_seconds_count"], [4.0]);
    assert!(
        text.contains("callscreen_calls_by_rule_total{rule=\"quote\\\"back\\\\slash\"} 2\n"),
        "{text}"
    );
    assert!(
        samples.contains_key("callscreen_limiter_trips_total"),
        "{text}"
    );

    // Scrapes while other threads count calls stay valid.
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    metrics.record(
                        "block",
                        "pool",
                        "list",
                        "busy",
                        std::time::Duration::from_nanos(200 + n % 20_000),
                    );
                }
            });
        }
        let result = (0..300).try_for_each(|_| {
            let text = f.run("metrics");
            crate::metrics::exposition::check(&text).map(|_| ())
        });
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        result.unwrap();
    });
}

const LIMITED: &str = "numbering:\n  country_code: \"86\"\nlimits:\n  - name: pools\n    key: caller_prefix\n    digits: 7\n    distinct: 1/1h\n    penalty: 1h\n";

/// Screens `callers` through the service's engine and counts them.
fn screen(service: &Service, callers: &[&str]) {
    let engine = service.engine().unwrap();
    for caller in callers {
        let facts = crate::engine::CallFacts {
            caller_number: caller,
            ..Default::default()
        };
        let v = engine.screen(&facts, std::time::SystemTime::now());
        service.record(&v);
    }
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn json_penalty_list_and_clear_answer_like_the_text_forms() {
    let f = Fixture::new("json-penalty", LIMITED);
    screen(&f.service, &["017012340001", "017012340002"]);
    let text = f.run("penalty list");
    assert!(
        text.starts_with("+OK 1 key in the penalty box\npools 1701234 until "),
        "{text}"
    );
    let v = json(&f.run("json penalty list"));
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["keys"].as_array().unwrap().len(), 1, "{v}");
    let key = &v["keys"][0];
    assert_eq!(
        (key["limit"].as_str(), key["key"].as_str()),
        (Some("pools"), Some("1701234"))
    );
    assert_eq!(
        (key["digits"].as_u64(), key["offence"].as_u64()),
        (Some(7), Some(1))
    );
    assert!(key["seconds_left"].as_u64().unwrap() > 3500, "{v}");
    assert_eq!(key["shadow"], false);
    let v = json(&f.run("json penalty list other-limit"));
    assert_eq!(
        (v["ok"].as_bool(), v["keys"].as_array().map(Vec::len)),
        (Some(true), Some(0))
    );

    let v = json(&f.run("json penalty clear 1701234"));
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(
        (v["lifted"].as_u64(), v["saved"].as_bool()),
        (Some(1), Some(true)),
        "{v}"
    );
    let v = json(&f.run("json penalty clear 1701234"));
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(
        v["error"],
        "no key 1701234 in the penalty box or with a remembered offence"
    );
    let v = json(&f.run("json penalty clear all"));
    assert_eq!(
        (v["ok"].as_bool(), v["lifted"].as_u64()),
        (Some(true), Some(0)),
        "{v}"
    );

    // Saving fails (a directory where the state file goes): lifted, but
    // "ok": false with the reason, as the text answer's -ERR.
    screen(&f.service, &["017012350001", "017012350002"]);
    let file = f.service.state_file().unwrap();
    let _ = std::fs::remove_file(file);
    std::fs::create_dir_all(file.join("in-the-way")).unwrap();
    let v = json(&f.run("json penalty clear all"));
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(
        (v["lifted"].as_u64(), v["saved"].as_bool()),
        (Some(1), Some(false)),
        "{v}"
    );
    let error = v["error"].as_str().unwrap();
    assert!(
        error.starts_with("lifted 1 penalty in memory, but saving the limit state failed ("),
        "{error}"
    );
    screen(&f.service, &["017012360001", "017012360002"]);
    let text = f.run("penalty clear all");
    assert!(
        text.starts_with("-ERR lifted 1 penalty in memory, but saving"),
        "{text}"
    );
    std::fs::remove_dir_all(file).unwrap();
}

#[test]
fn json_penalty_clear_without_a_state_directory_says_memory_only() {
    let path = std::env::temp_dir().join(format!(
        "callscreen-ops-memonly-{}.yaml",
        std::process::id()
    ));
    std::fs::write(&path, LIMITED).unwrap();
    let (service, r) = Service::start(&path);
    r.unwrap();
    screen(&service, &["017012340001", "017012340002"]);
    let v = json(&run(&service, Some("json penalty clear all")));
    assert_eq!(
        (v["ok"].as_bool(), v["saved"].as_bool()),
        (Some(true), Some(false)),
        "{v}"
    );
    assert!(
        v["note"].as_str().unwrap().starts_with("memory only"),
        "{v}"
    );
    service.shutdown();
    std::fs::remove_file(path).unwrap();
}

#[test]
fn json_metrics_is_an_object_with_the_samples_of_the_text_form() {
    let f = Fixture::new("json-metrics", LIMITED);
    screen(&f.service, &["017012340001", "017012340002", "13800138000"]);
    f.service.ops.metrics.record(
        "block",
        "r",
        "list",
        "busy",
        std::time::Duration::from_micros(3),
    );
    let text = f.run("metrics");
    let v = json(&f.run("json metrics"));
    assert_eq!(v["ok"], true, "{v}");
    let families = v["metrics"].as_object().unwrap();
    assert_eq!(families["callscreen_calls_total"]["type"], "counter");
    assert_eq!(
        families["callscreen_decision_seconds"]["type"], "histogram",
        "{v}"
    );
    // Sample by sample, the same names, labels and values as the text.
    let mut from_json = Vec::new();
    for family in families.values() {
        for s in family["samples"].as_array().unwrap() {
            let labels: Vec<String> = s["labels"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
                .collect();
            from_json.push(format!(
                "{} {:?} {}",
                s["name"].as_str().unwrap(),
                labels,
                s["value"]
            ));
        }
    }
    let mut from_text = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => (
                n,
                l.trim_end_matches('}')
                    .split(',')
                    .map(|kv| kv.replacen("=\"", "=", 1).trim_end_matches('"').to_string())
                    .collect::<Vec<_>>(),
            ),
            None => (series, Vec::new()),
        };
        // JSON objects have no order: compare the labels sorted.
        let mut labels = labels;
        labels.sort();
        let value: f64 = value.parse().unwrap();
        from_text.push(format!(
            "{name} {labels:?} {}",
            crate::metrics::json_number(value)
        ));
    }
    from_json.sort();
    from_text.sort();
    assert_eq!(from_json, from_text);
    let limiter = &families["callscreen_limiter_trips_total"]["samples"][0];
    assert_eq!(
        limiter["labels"],
        serde_json::json!({"limit": "pools", "digits": "7"})
    );
    assert_eq!(limiter["value"], 1);
}

#[test]
fn json_check_has_the_limit_shadow_limit_and_counters_of_the_text_form() {
    let f = Fixture::new(
        "json-check-limit",
        "numbering:\n  country_code: \"86\"\nlimits:\n  - name: pools\n    key: caller_prefix\n    digits: 7\n    distinct: 1/1h\n  - name: trial\n    shadow: true\n    key: caller\n    calls: 1/1h\n",
    );
    screen(&f.service, &["017012340001"]);
    let text = f.run("check 017012340002");
    assert!(
        text.contains("\nlimit: pools key 1701234 tripped (distinct 2/1 per 1h)\n"),
        "{text}"
    );
    let v = json(&f.run("json check 017012340003"));
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["limit"]["name"], "pools", "{v}");
    assert_eq!(v["limit"]["key"], "1701234");
    assert_eq!(v["limit"]["state"], "tripped");
    assert_eq!(v["limit"]["counters"]["distinct 1/1h"], 2, "{v}");
    assert_eq!(v["limit"]["counters_text"], "distinct 2/1 per 1h");
    assert!(v["shadow_limit"].is_null(), "{v}");
    assert!(v["time"].as_str().unwrap().ends_with('Z'), "{v}");
    assert_eq!(v["profile_choice"], "default");

    // Only the shadow limit is over (the second call boxed the number): the
    // call is allowed, and the shadow limit is shown.
    screen(&f.service, &["013800138000", "013800138000"]);
    let text = f.run("check 013800138000");
    assert!(
        text.contains("\nshadow limit: trial key +8613800138000 penalty (calls 2/1 per 1h)\n"),
        "{text}"
    );
    let v = json(&f.run("json check 013800138000"));
    assert_eq!(v["verdict"], "allow", "{v}");
    assert!(v["limit"].is_null(), "{v}");
    assert_eq!(
        v["shadow_limit"],
        serde_json::json!({"name": "trial", "key": "+8613800138000", "state": "penalty",
                           "counters": {"calls 1/1h": 2}, "counters_text": "calls 2/1 per 1h"})
    );
}

#[test]
fn every_command_answers_in_json() {
    let f = Fixture::new("json-every", LIMITED);
    screen(&f.service, &["017012340001", "017012340002"]);
    for command in [
        "status",
        "reload",
        "check 017012340003",
        "block +86170* 1h spam",
        "allow +8613800138000",
        "list",
        "list block",
        "list penalty",
        "stats",
        "stats reset",
        "metrics",
        "report",
        "penalty list",
        "penalty list pools",
        "penalty clear 1701234",
        "penalty clear all",
        "unblock +86170*",
        "unallow +8613800138000",
    ] {
        let out = f.run(&format!("json {command}"));
        assert!(
            out.ends_with('\n') && out.lines().count() == 1,
            "{command}: {out}"
        );
        let v = json(&out);
        assert_eq!(v["ok"], true, "json {command}: {v}");
    }
}

#[test]
fn penalty_clear_forgets_the_remembered_offence_of_a_released_key() {
    let f = Fixture::new(
        "penalty-forget",
        "numbering:\n  country_code: \"86\"\nlimits:\n  - name: hammer\n    key: caller\n    calls: 1/1m\n    penalty: 10s\n    repeat_factor: 3\n",
    );
    let engine = f.service.engine().unwrap();
    let now = std::time::SystemTime::now();
    let screen = |at: std::time::SystemTime| {
        let facts = crate::engine::CallFacts {
            caller_number: "+8613900000001",
            ..Default::default()
        };
        engine.screen(&facts, at).limit.and_then(|h| h.penalty)
    };
    // Tripped ten minutes ago, released after ten seconds: out of the box,
    // the offence remembered (a trip now would be a second offence, 30 s).
    let ago = now - std::time::Duration::from_secs(600);
    assert!(screen(ago).is_none());
    assert_eq!(screen(ago).unwrap().offences, 1);
    assert_eq!(f.run("penalty list"), "+OK 0 keys in the penalty box\n");
    let out = f.run("penalty clear +8613900000001");
    assert_eq!(
        out,
        "+OK forgot 1 remembered offence of +8613900000001 (released: the next trip is a first offence)\n"
    );
    // The next trip is a first offence again: 10 s, not 30 s.
    assert!(screen(now).is_none());
    let p = screen(now).unwrap();
    assert_eq!(p.offences, 1);
    assert_eq!(p.until, crate::limits::unix_seconds(now) + 10);
    // Boxed now: a clear lifts it, and nothing is left to forget after.
    assert_eq!(
        f.run("penalty clear +8613900000001"),
        "+OK lifted 1 penalty of +8613900000001\n"
    );
    assert_eq!(
        f.run("penalty clear +8613900000001"),
        "-ERR no key +8613900000001 in the penalty box or with a remembered offence\n"
    );
}
