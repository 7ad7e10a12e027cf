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
