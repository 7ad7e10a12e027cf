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
                call.caller_number()
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
    // Same summary from both (all but the first and throughput lines; the
    // report goes on with the complaint tables).
    let body = |t: &str| -> String {
        t.lines()
            .skip(1)
            .take_while(|l| {
                !l.starts_with("throughput:")
                    && !l.starts_with("verdicts written")
                    && !l.starts_with("Screened calls recorded in")
            })
            .collect::<Vec<_>>()
            .join("\n")
            .trim_end()
            .to_string()
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

/// Writes the evidence ledger the module would have written for the sample
/// history (the module's own ledger writer, rotating by day and, with a
/// small size limit, within a day), and returns its directory and the
/// number of lines written.
fn module_ledger(name: &str) -> (PathBuf, u64) {
    use mod_callscreen::ledger::{FsyncPolicy, Ledger, LedgerRecord, LedgerSettings};
    use mod_callscreen::screen_call::screen_call;
    let dir = temp_dir(name).join("ledger");
    let ledger = Ledger::start(LedgerSettings {
        dir: dir.clone(),
        fsync: FsyncPolicy::Never,
        max_file_size: 16 * 1024,
        queue_size: 100_000,
    })
    .unwrap();
    let engine = Engine::with_seed(
        Config::load(Path::new(SHIPPED)).unwrap(),
        replay::REPLAY_SEED,
    );
    let mut reader = HistoryReader::new(
        Format::Csv,
        BufReader::new(File::open(SAMPLE).unwrap()),
        SAMPLE,
        ReadOptions::default(),
    );
    let mut call = Default::default();
    let mut written = 0;
    while reader.read_into(&mut call).unwrap() {
        let record = call.with_facts(|facts| {
            let verdict = screen_call(&engine, facts, call.time);
            LedgerRecord::of(facts, &verdict, false, call.time)
        });
        if let Some(r) = record {
            assert!(ledger.try_record(r), "the queue holds the whole sample");
            written += 1;
        }
    }
    ledger.stop();
    assert_eq!(ledger.stats().written(), written);
    (dir, written)
}

/// `callscreen report` reads the ledger the module writes: its directory of
/// per-day, size-rotated files (all of them, in time order), or any one
/// file, with the same options either way.
#[test]
fn report_reads_the_ledger_directory_the_module_writes() {
    let (dir, written) = module_ledger("ledger-dir");
    let files = mod_callscreen::ledger::files::list(&dir).unwrap();
    let days: std::collections::BTreeSet<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy()[7..17].to_string())
        .collect();
    assert!(days.len() >= 20, "one file per day: {days:?}");
    assert!(files.len() > days.len(), "and rotated by size within a day");
    // One file holding the same lines, in the same (time) order.
    let joined = dir.parent().unwrap().join("all.jsonl");
    let mut all = String::new();
    for f in &files {
        all.push_str(&std::fs::read_to_string(f).unwrap());
    }
    std::fs::write(&joined, all).unwrap();
    let dir_arg = dir.to_str().unwrap();
    let file_arg = joined.to_str().unwrap();

    let (ok, text, stderr) = callscreen(&["report", dir_arg]);
    assert!(ok, "{stderr}");
    assert!(
        text.starts_with(&format!(
            "report of {dir_arg} ({} ledger files)\n",
            files.len()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("calls: {}", fmt_thousands(written))),
        "{text}"
    );
    assert!(text.contains("virtual-operators"), "{text}");
    assert!(
        text.contains(&format!(
            "Screened calls recorded in {dir_arg} ({} files): {written}",
            files.len()
        )),
        "{text}"
    );
    assert!(text.contains("\nBy number block"), "{text}");

    // The same options, the same answer, from the directory and the file.
    let html_dir = dir.parent().unwrap().join("dir.html");
    let html_file = dir.parent().unwrap().join("file.html");
    for options in [
        &["--since", "2024-05-20"][..],
        &["--caller", "+86170*", "--format", "text"][..],
        &["--format", "csv", "--since", "2024-05-13T00:00+08:00"][..],
        &["--format", "json", "--caller", "+86170*"][..],
        &["--format", "csv", "--html"][..],
        &[
            "--since",
            "2024-05-20",
            "--utc-offset",
            "+08:00",
            "--prefix-digits",
            "6",
            "--html",
        ][..],
    ] {
        let run = |input: &str, html: &Path| {
            let mut args = vec!["report", input];
            args.extend_from_slice(options);
            if options.last() == Some(&"--html") {
                args.push(html.to_str().unwrap());
            }
            let (ok, out, err) = callscreen(&args);
            assert!(ok, "{args:?}: {err}");
            out
        };
        let from_dir = run(dir_arg, &html_dir);
        let from_file = run(file_arg, &html_file);
        let same = |t: &str, source: &str| {
            t.lines()
                .filter(|l| !l.starts_with("Report made ") && !l.starts_with("HTML report written"))
                .map(|l| l.replace(source, "SOURCE"))
                .map(|l| l.replace(&format!(" ({} ledger files)", files.len()), ""))
                .map(|l| l.replace(&format!(" ({} files)", files.len()), " (1 files)"))
                .map(|l| l.replace(&format!("\"files\": {}", files.len()), "\"files\": 1"))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            same(&from_dir, dir_arg),
            same(&from_file, file_arg),
            "{options:?}"
        );
        if options.contains(&"--since") && options.contains(&"2024-05-20") {
            assert!(!from_dir.contains("2024-05-19T"), "{from_dir}");
        }
        if options.contains(&"--caller") {
            assert!(!from_dir.contains("+86135"), "{from_dir}");
        }
        if options.contains(&"json") {
            let v: serde_json::Value = serde_json::from_str(&from_dir).unwrap();
            assert!(v["calls"].as_u64().unwrap() > 0);
        }
        if options.last() == Some(&"--html") {
            // Up to the shadow calls, whose line numbers are those of
            // each file.
            let page = |p: &Path| -> String {
                let page = std::fs::read_to_string(p).unwrap();
                page[..page
                    .find("<table><caption>First calls")
                    .unwrap_or(page.len())]
                    .replace(dir_arg, "SOURCE")
                    .replace(file_arg, "SOURCE")
                    .replace(&format!(" ({} ledger files)", files.len()), "")
            };
            assert!(page(&html_dir).contains("chart-hourly"));
            assert_eq!(page(&html_dir), page(&html_file), "{options:?}");
        }
    }

    // An option that does not apply is an error, never ignored.
    for (options, says) in [
        (
            &["--format", "csv", "--prefix-digits", "6"][..],
            "--prefix-digits shapes the text summary",
        ),
        (
            &["--format", "json", "--utc-offset", "+08:00"][..],
            "--utc-offset shapes the text summary",
        ),
        (&["--window", "5"][..], "report does not take --window"),
        (&["--out", "x.csv"][..], "report does not take --out"),
        (&["--format", "pdf"][..], "use text, csv or json"),
        (
            &["--global", "sounds_dir=/x"][..],
            "--global applies to the audio paths of --config",
        ),
        (&["--verbose"][..], "report: unknown option --verbose"),
    ] {
        for input in [dir_arg, file_arg] {
            let mut args = vec!["report", input];
            args.extend_from_slice(options);
            let (ok, _, err) = callscreen(&args);
            assert!(!ok && err.contains(says), "{args:?}: {err}");
        }
    }
    // `--ledger <dir>` is the directory given another way.
    let (ok, text, err) = callscreen(&["report", "--ledger", dir_arg, "--format", "csv"]);
    assert!(ok, "{err}");
    let (_, same, _) = callscreen(&["report", dir_arg, "--format", "csv"]);
    assert_eq!(text, same);
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

fn fmt_thousands(n: u64) -> String {
    mod_callscreen::summary::text::thousands(n)
}

/// `--out` appears only when the replay succeeds: a missing input or a bad
/// line leaves no half-written file, and an earlier file stays as it was.
#[test]
fn out_is_written_only_by_a_replay_that_succeeds() {
    let dir = temp_dir("out");
    let out = dir.join("verdicts.csv");
    let out_arg = out.to_str().unwrap();
    let missing = dir.join("no-such-history.csv");
    let (ok, _, _) = callscreen(&[
        "replay",
        "--config",
        SHIPPED,
        "--out",
        out_arg,
        missing.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(!out.exists(), "no --out for an input that cannot be opened");

    std::fs::write(&out, "earlier verdicts\n").unwrap();
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "time,caller,destination\n2024-05-01T10:00:00Z,13800138000,4000\nsoon,1,4000\n",
    )
    .unwrap();
    for command in [
        vec!["replay", "--config", SHIPPED],
        vec![
            "diff",
            "--config",
            SHIPPED,
            "--config",
            "conf/samples/candidate.yaml",
        ],
    ] {
        let mut args = command.clone();
        args.extend(["--out", out_arg, bad.to_str().unwrap()]);
        let (ok, _, err) = callscreen(&args);
        assert!(!ok && err.contains("bad.csv:3:"), "{err}");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "earlier verdicts\n");
    }
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names.len(), 2, "no temporary file left: {names:?}");

    let (ok, _, err) = callscreen(&["replay", "--config", SHIPPED, "--out", out_arg, SAMPLE]);
    assert!(ok, "{err}");
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .starts_with("line,time,"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// replay and diff load their configs as validate does: `--global` gives
/// the FreeSWITCH variables of audio paths, which are then checked.
#[test]
fn replay_and_diff_check_audio_paths_with_the_globals_given() {
    let dir = temp_dir("globals");
    let sounds = dir.join("sounds");
    std::fs::create_dir_all(&sounds).unwrap();
    let yaml = dir.join("audio.yaml");
    std::fs::write(
        &yaml,
        "replies:\n  message:\n    kind: message\n    file: $${sounds_dir}/not-for-you.wav\n\
         rules:\n  - name: withheld\n    caller_is: anonymous\n    action: block\n    reply: message\n",
    )
    .unwrap();
    let yaml_arg = yaml.to_str().unwrap();
    let global = format!("sounds_dir={}", sounds.display());
    let runs: [Vec<&str>; 3] = [
        vec!["validate", "--global", &global, yaml_arg],
        vec!["replay", "--config", yaml_arg, "--global", &global, SAMPLE],
        vec![
            "diff", "--global", &global, "--config", yaml_arg, "--config", yaml_arg, SAMPLE,
        ],
    ];
    for args in &runs {
        let (ok, _, err) = callscreen(args);
        assert!(!ok, "{args:?}: the recording is not there");
        assert!(err.contains("not-for-you.wav"), "{args:?}: {err}");
    }
    std::fs::write(sounds.join("not-for-you.wav"), b"RIFF").unwrap();
    for args in &runs {
        let (ok, _, err) = callscreen(args);
        assert!(ok, "{args:?}: {err}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}
