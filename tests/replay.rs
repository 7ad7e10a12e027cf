//! The offline twin against the live path and from the command line:
//! replay gives what the module decides, bad histories are refused with
//! their line, and `diff` finds the calls two configs disagree on.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::Command;

use mod_callscreen::config::Config;
use mod_callscreen::engine::Engine;
use mod_callscreen::history::{Format, HistoryReader, ReadOptions, TimeOrder};
use mod_callscreen::ops::StartOptions;
use mod_callscreen::replay::{self, Progress, SummaryOptions, Twin, VerdictWriter};
use mod_callscreen::screening::{plan_call, AppArgs, VAR_REASON, VAR_REPLY, VAR_RULE, VAR_VERDICT};
use mod_callscreen::service::Service;

const SAMPLE: &str = "conf/samples/history.csv";
const SHIPPED: &str = "conf/callscreen.yaml";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("callscreen-replay-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn callscreen(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_callscreen"))
        .args(args)
        .output()
        .expect("run callscreen");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Replays the sample history against the shipped config and feeds the same
/// calls, at the same times, to the module's own path (`plan_call` on a
/// `Service`, what the dialplan app runs): every call gets the same verdict,
/// rule, reason and reply.
#[test]
fn replay_decides_as_the_live_module_does() {
    // Replay, with its output in the ledger's JSON keys.
    // Reply groups picked at random pick alike on both sides with one seed.
    let engine = Engine::with_seed(
        Config::load(Path::new(SHIPPED)).unwrap(),
        replay::REPLAY_SEED,
    );
    let mut twin = Twin::new(engine);
    let reader = HistoryReader::new(
        Format::Csv,
        BufReader::new(File::open(SAMPLE).unwrap()),
        SAMPLE,
        ReadOptions::default(),
    );
    let mut order = TimeOrder::new(reader, SAMPLE, 0);
    let mut writer = VerdictWriter::new(Vec::new(), Format::JsonLines).unwrap();
    let report = replay::replay(
        &mut twin,
        &mut order,
        SummaryOptions::default(),
        0,
        Some(&mut writer),
        &mut Progress::hidden(),
    )
    .unwrap();
    let out = String::from_utf8(writer.finish().unwrap()).unwrap();
    let mut replayed: HashMap<u64, serde_json::Value> = HashMap::new();
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        replayed.insert(v["line"].as_u64().unwrap(), v);
    }
    assert!(
        report.summary.calls > 2000,
        "the sample is a few weeks of calls"
    );
    assert_eq!(replayed.len() as u64, report.summary.calls);

    // The live path, call by call in the file's (time) order.
    let (service, loaded) = Service::start_with(
        Path::new(SHIPPED),
        StartOptions {
            reply_seed: Some(replay::REPLAY_SEED),
            ..StartOptions::default()
        },
    );
    loaded.unwrap();
    let mut reader = HistoryReader::new(
        Format::Csv,
        BufReader::new(File::open(SAMPLE).unwrap()),
        SAMPLE,
        ReadOptions::default(),
    );
    let mut call = Default::default();
    let mut previous = std::time::UNIX_EPOCH;
    let mut compared = 0;
    let mut rules_seen = std::collections::BTreeSet::new();
    while reader.read_into(&mut call).unwrap() {
        assert!(call.time >= previous, "the sample is sorted by time");
        previous = call.time;
        let plan =
            call.with_facts(|facts| plan_call(&service, facts, &AppArgs::default(), call.time));
        let var = |name: &str| {
            plan.variables
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.as_str())
                .unwrap_or("")
        };
        let r = &replayed[&call.line];
        for (key, var_name) in [
            ("verdict", VAR_VERDICT),
            ("rule", VAR_RULE),
            ("reason", VAR_REASON),
            ("reply", VAR_REPLY),
        ] {
            assert_eq!(
                r[key].as_str().unwrap(),
                var(var_name),
                "line {}: {key} differs for caller {:?}",
                call.line,
                call.caller_number
            );
        }
        rules_seen.insert(var(VAR_RULE).to_string());
        compared += 1;
    }
    assert_eq!(compared as u64, report.summary.calls);
    // The sample exercises every rule of the shipped config and the default.
    for rule in [
        "family",
        "virtual-operators",
        "withheld-number",
        "not-a-number",
        "default",
    ] {
        assert!(rules_seen.contains(rule), "no call decided by {rule}");
    }
}

#[test]
fn the_cli_replays_the_sample_and_writes_verdicts() {
    let dir = temp_dir("cli");
    let out = dir.join("verdicts.csv");
    let (ok, stdout, stderr) = callscreen(&[
        "replay",
        "--config",
        SHIPPED,
        SAMPLE,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("by verdict:"), "{stdout}");
    assert!(stdout.contains("virtual-operators"), "{stdout}");
    assert!(stdout.contains("top blocked prefixes"), "{stdout}");
    assert!(stdout.contains("+861705521…"), "{stdout}");
    assert!(
        stdout.contains("allowed calls a shadow rule would have blocked"),
        "{stdout}"
    );
    assert!(stdout.contains("calls/s"), "{stdout}");
    assert!(
        stderr.is_empty(),
        "no progress bar when stderr is not a terminal: {stderr:?}"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("line,time,caller_number,"));
    let sample_calls = std::fs::read_to_string(SAMPLE).unwrap().lines().count() - 1;
    assert_eq!(text.lines().count() - 1, sample_calls);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_histories_are_refused_with_their_line() {
    let dir = temp_dir("bad");
    let csv = dir.join("calls.csv");
    std::fs::write(
        &csv,
        "time,caller,destination\n2024-05-01T10:00:00Z,13800138000,4000\n2024-05-01T10:01:00Z,13800138000\n",
    )
    .unwrap();
    let (ok, _, stderr) = callscreen(&["replay", "--config", SHIPPED, csv.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("calls.csv:3: 2 fields, but the header names 3 columns"),
        "{stderr}"
    );

    let jsonl = dir.join("calls.jsonl");
    std::fs::write(
        &jsonl,
        "{\"time\":\"2024-05-01T10:00:00Z\",\"caller\":\"1\",\"destination\":\"4000\"}\n\n{\"time\":\"soon\",\"caller\":\"1\",\"destination\":\"4000\"}\n",
    )
    .unwrap();
    let (ok, _, stderr) = callscreen(&["replay", "--config", SHIPPED, jsonl.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("calls.jsonl:3: key time: cannot read time \"soon\""),
        "{stderr}"
    );

    // Out of order beyond the window: refused, naming both lines.
    std::fs::write(
        &csv,
        "time,caller,destination\n2024-05-01T10:00:00Z,1,4000\n2024-05-01T11:00:00Z,1,4000\n2024-05-01T09:00:00Z,1,4000\n",
    )
    .unwrap();
    let (ok, _, stderr) = callscreen(&[
        "replay",
        "--config",
        SHIPPED,
        "--window",
        "0",
        csv.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("calls.csv:4: the history is not in time order")
            && stderr.contains("line 3"),
        "{stderr}"
    );
    // Within the window it is sorted, and said so.
    let (ok, stdout, stderr) = callscreen(&["replay", "--config", SHIPPED, csv.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("note: 1 calls were out of time order"),
        "{stdout}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

const OLD: &str = r#"
lists:
  family: ["+8613800138000"]
  mvno: ["+86170*"]
rules:
  - name: family
    caller_in: family
    action: allow
  - name: mvno
    caller_in: mvno
    action: block
"#;

/// The new config lets a friend on an MVNO number through, blocks a pool
/// on an ordinary mobile prefix, and answers withheld numbers.
const NEW: &str = r#"
lists:
  family: ["+8613800138000", "+8617012349876"]
  mvno: ["+86170*"]
  pool: ["+861352271*"]
replies:
  busy: {kind: reject, cause: USER_BUSY}
rules:
  - name: family
    caller_in: family
    action: allow
  - name: mvno
    caller_in: mvno
    action: block
    reply: busy
  - name: mobile-pool
    caller_in: pool
    action: block
  - name: withheld
    caller_is: anonymous
    action: block
"#;

#[test]
fn diff_lists_the_calls_that_change_verdict_and_the_rules_on_each_side() {
    let dir = temp_dir("diff");
    let old = dir.join("old.yaml");
    let new = dir.join("new.yaml");
    std::fs::write(&old, OLD).unwrap();
    std::fs::write(&new, NEW).unwrap();
    let calls = dir.join("calls.jsonl");
    let mut text = String::new();
    for (i, caller) in [
        "13800138000", // family on both sides
        "17012349876", // the friend: block (mvno) -> allow (family)
        "17055210001", // pool on an MVNO prefix: block on both, reply changes
        "13522710001", // mobile pool: allow (default) -> block (mobile-pool)
        "13522719999", // same
        "anonymous",   // allow (default) -> block (withheld)
        "13912345678", // nobody: allow on both
    ]
    .iter()
    .enumerate()
    {
        text.push_str(&format!(
            "{{\"time\":\"2024-05-01T10:{i:02}:00+08:00\",\"caller\":\"{caller}\",\"destination\":\"4000\"}}\n"
        ));
    }
    std::fs::write(&calls, text).unwrap();
    let changes = dir.join("changes.csv");
    let (ok, stdout, stderr) = callscreen(&[
        "diff",
        "--config",
        old.to_str().unwrap(),
        "--config",
        new.to_str().unwrap(),
        calls.to_str().unwrap(),
        "--out",
        changes.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("calls: 7; verdict changed: 4 (57.1%)"),
        "{stdout}"
    );
    let count_of = |needle: &str| -> String {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(needle))
            .unwrap_or_else(|| panic!("no line {needle:?} in\n{stdout}"))
            .split_whitespace()
            .last()
            .unwrap()
            .to_string()
    };
    assert_eq!(count_of("allow (default) -> block (mobile-pool)"), "2");
    assert_eq!(count_of("allow (default) -> block (withheld)"), "1");
    assert_eq!(count_of("block (mvno) -> allow (family)"), "1");
    assert_eq!(
        count_of("block (mvno) -> block (mvno) reply rejected -> busy"),
        "1"
    );
    assert!(
        stdout.contains("line 2       2024-05-01T10:01:00+08:00 17012349876 -> 4000: block (mvno, list, reply rejected)  =>  allow (family, list)"),
        "{stdout}"
    );
    let written = std::fs::read_to_string(&changes).unwrap();
    assert_eq!(
        written.lines().count(),
        5,
        "header and 4 changed calls:\n{written}"
    );
    assert!(written
        .contains(",13522710001,4000,allow,default,default,,block,mobile-pool,list,rejected"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn report_reads_a_replay_as_it_reads_the_ledger() {
    let dir = temp_dir("report");
    let out = dir.join("verdicts.jsonl");
    let (ok, replay_text, stderr) = callscreen(&[
        "replay",
        "--config",
        SHIPPED,
        SAMPLE,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let (ok, report_text, stderr) = callscreen(&["report", out.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    // Same summary from both (all but the first and throughput lines).
    let body = |t: &str| -> String {
        t.lines()
            .skip(1)
            .take_while(|l| !l.starts_with("throughput:") && !l.starts_with("verdicts written"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(body(&report_text), body(&replay_text));
    std::fs::remove_dir_all(dir).unwrap();
}

/// A pool rotating numbers under one prefix trips a distinct-number limit;
/// a shadow rule watches a range nobody blocks yet.
const POOL_LIMIT: &str = r#"
numbering:
  country_code: "86"
lists:
  watched: ["+86135*"]
replies:
  busy: { kind: reject, cause: USER_BUSY }
rules:
  - name: strict
    caller_in: watched
    action: block
    shadow: true
limits:
  - name: pools
    key: caller_prefix
    digits: 7
    distinct: 3/1h
    penalty: 1h
    reply: busy
"#;

/// A replay shows what limits and shadow rules did: the summary counts
/// calls by limit and per day, the allowed calls the shadow rule would have
/// blocked, and the HTML report charts the pool detections.
#[test]
fn a_replay_counts_limits_and_shadow_rules() {
    let dir = temp_dir("limits");
    let yaml = dir.join("limits.yaml");
    std::fs::write(&yaml, POOL_LIMIT).unwrap();
    let mut history = String::from("time,caller,destination\n");
    // Six numbers of one pool within minutes: three pass, the fourth trips
    // the limit, the rest meet the penalty box.
    for i in 0..6 {
        history.push_str(&format!(
            "2024-05-01T09:{:02}:00+08:00,0170123400{i:02},4000\n",
            i
        ));
    }
    history.push_str("2024-05-01T10:00:00+08:00,13512345678,4000\n");
    let engine = Engine::new(Config::load(&yaml).unwrap());
    let mut twin = Twin::new(engine);
    let reader = HistoryReader::new(
        Format::Csv,
        history.as_bytes(),
        "h.csv",
        ReadOptions::default(),
    );
    let mut order = TimeOrder::new(reader, "h.csv", 0);
    let mut writer = VerdictWriter::new(Vec::new(), Format::Csv).unwrap();
    let report = replay::replay(
        &mut twin,
        &mut order,
        SummaryOptions::default(),
        0,
        Some(&mut writer),
        &mut Progress::hidden(),
    )
    .unwrap();
    let s = &report.summary;
    assert_eq!(s.calls, 7);
    assert_eq!(s.by_limit.get("pools"), 3, "the trip and two boxed calls");
    assert_eq!(s.limits_daily.counts.len(), 1, "one day of detections");
    assert_eq!(s.shadow.get("strict"), 1);
    assert_eq!(s.shadow_examples[0].caller, "13512345678");
    let csv = String::from_utf8(writer.finish().unwrap()).unwrap();
    assert!(
        csv.lines()
            .any(|l| l.contains(",017012340003,") && l.contains(",block,default,limit,busy,pools,")),
        "{csv}"
    );
    let html = mod_callscreen::summary::html::render(s, "t", &[]);
    assert!(html.contains("data-series=\"pools\""), "{html}");
    assert!(!html.contains("No call was blocked by a rate or pool limit"));
    std::fs::remove_dir_all(dir).unwrap();
}
