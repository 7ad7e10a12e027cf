//! Host tests: the built `libmod_callscreen.so` loaded with dlopen by
//! `tests/host/fakeswitch.c`, a small stand-in for the FreeSWITCH core that
//! exports the host functions the module calls and prints what the module did.
//!
//! The module must be built first (`cargo build`; `make test` does it).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// `target/<profile>` of this test binary.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>")
        .to_path_buf()
}

fn module_path() -> PathBuf {
    let path = target_dir().join("libmod_callscreen.so");
    assert!(
        path.exists(),
        "{} is missing: build the module first with `cargo build` (`make test` does)",
        path.display()
    );
    path
}

fn fakeswitch() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = target_dir().join("fakeswitch");
        let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
            .args([
                "-std=gnu11",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-rdynamic",
                "-o",
            ])
            .arg(&out)
            .arg(format!("-I{}", root.join("include").display()))
            .arg(root.join("tests/host/fakeswitch.c"))
            .arg("-ldl")
            .status()
            .expect("run the C compiler");
        assert!(status.success(), "building tests/host/fakeswitch.c failed");
        out
    })
}

/// What the stand-in host printed for a script.
struct Run {
    lines: Vec<String>,
}

impl Run {
    fn has(&self, line: &str) -> bool {
        self.lines.iter().any(|l| l == line)
    }

    fn assert_has(&self, line: &str) {
        assert!(
            self.has(line),
            "missing line {line:?} in:\n{}",
            self.lines.join("\n")
        );
    }

    fn assert_lacks_prefix(&self, prefix: &str) {
        assert!(
            !self.lines.iter().any(|l| l.starts_with(prefix)),
            "unexpected {prefix:?} in:\n{}",
            self.lines.join("\n")
        );
    }

    /// Lines printed after the script line `> marker` up to the next script
    /// line, without `callscreen::penalty` events: the background thread
    /// fires those, so they may land anywhere.
    fn after(&self, marker: &str) -> Vec<&str> {
        let start = self
            .lines
            .iter()
            .position(|l| l == &format!("> {marker}"))
            .unwrap_or_else(|| panic!("no script line {marker:?}"));
        Self::without_penalty_events(&self.lines[start + 1..])
            .take_while(|l| !l.starts_with("> "))
            .collect()
    }

    fn without_penalty_events(lines: &[String]) -> impl Iterator<Item = &str> {
        let mut in_event = false;
        lines.iter().map(String::as_str).filter(move |l| {
            if *l == "EVENT callscreen::penalty" {
                in_event = true;
            } else if !l.starts_with("EVENT-HEADER ") {
                in_event = false;
            }
            !in_event
        })
    }

    fn text(&self) -> String {
        self.lines.join("\n")
    }
}

fn run(script: &str) -> Run {
    run_with_env(&[], script)
}

/// Runs a script in the stand-in host; a crash of the host fails the test.
fn run_with_env(env: &[(&str, &str)], script: &str) -> Run {
    let mut child = Command::new(fakeswitch())
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start fakeswitch");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("write script");
    let out = child.wait_with_output().expect("fakeswitch output");
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert!(
        out.status.success(),
        "fakeswitch exited with {} (a crash, e.g. a panic crossing into C, is a failure):\n{}",
        out.status,
        lines.join("\n")
    );
    Run { lines }
}

/// A temporary conf dir holding `callscreen.yaml`.
struct ConfDir(PathBuf);

impl ConfDir {
    fn new(name: &str, yaml: &str) -> ConfDir {
        let dir =
            std::env::temp_dir().join(format!("callscreen-host-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("callscreen.yaml"), yaml).expect("write config");
        ConfDir(dir)
    }

    fn yaml(&self) -> PathBuf {
        self.0.join("callscreen.yaml")
    }

    /// Script lines opening and loading the module with this conf dir.
    fn preamble(&self) -> String {
        format!(
            "dlopen {}\nglobal conf_dir {}\nload\n",
            module_path().display(),
            self.0.display()
        )
    }

    /// As `preamble`, with `$${db_dir}` set: runtime state and the ledger
    /// live under `<dir>/db/callscreen`.
    fn preamble_with_db(&self) -> String {
        format!(
            "dlopen {}\nglobal conf_dir {}\nglobal db_dir {}\nload\n",
            module_path().display(),
            self.0.display(),
            self.0.join("db").display()
        )
    }
}

impl Drop for ConfDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const CONFIG: &str = r#"
numbering:
  country_code: "86"
lists:
  family: ["+8613800138000"]
  marketing: ["+86170*", "+86171*"]
replies:
  busy: { kind: reject, cause: USER_BUSY }
rules:
  - name: family
    caller_in: family
    action: allow
  - name: virtual-operators
    caller_in: marketing
    action: block
    reply: busy
  - name: withheld
    caller_is: anonymous
    action: block
"#;

#[test]
fn load_registers_the_app_the_api_and_tab_completion() {
    let conf = ConfDir::new("register", CONFIG);
    let r = run(&conf.preamble());
    r.assert_has("TABLE api_version=5 load=yes shutdown=yes runtime=no flags=0");
    r.assert_has("MODULE mod_callscreen");
    r.assert_has("STATUS 0");
    r.assert_has("REGISTERED app callscreen syntax=[advise] [profile=NAME]");
    r.assert_has(
        "REGISTERED api callscreen syntax=[json] status | reload | check [--profile NAME] [--var NAME=VALUE]... [--name CALLER_NAME] [--time TIME] <caller> [<destination>] | block|allow <pattern> [<ttl>] [<note>] | unblock|unallow <pattern> | list [block|allow|penalty] [<filter>] | penalty list [<limit>] | penalty clear <key>|all | stats [reset] | metrics | report [--since <date|7d>] [--caller <pattern>] [--format text|csv|json]",
    );
    for line in mod_callscreen::commands::COMPLETIONS {
        r.assert_has(&format!("COMPLETE {line}"));
    }
    // Each line once, and nothing else.
    assert_eq!(
        r.lines
            .iter()
            .filter(|l| l.starts_with("COMPLETE "))
            .count(),
        mod_callscreen::commands::COMPLETIONS.len()
    );
    for line in [
        "list penalty",
        "report --format text",
        "report --format csv",
        "report --format json",
        "penalty list",
        "penalty clear all",
        "json status",
        "json check",
        "json list block",
        "json stats reset",
        "json metrics",
        "json report --since",
        "json penalty list",
        "json penalty clear all",
    ] {
        r.assert_has(&format!("COMPLETE add callscreen {line}"));
    }
    r.assert_has("RESERVE mod_callscreen callscreen::verdict");
    r.assert_has("RESERVE mod_callscreen callscreen::penalty");
    r.assert_has("BIND mod_callscreen 56");
    r.assert_has(&format!(
        "LOG INFO - fmt=%.*s\\n text=mod_callscreen: loaded {}: 3 rules, 2 lists, 3 entries",
        conf.yaml().display()
    ));
}

#[test]
fn a_listed_caller_is_hung_up_with_the_rule_cause_and_variables_are_set() {
    let conf = ConfDir::new("block", CONFIG);
    let script = format!(
        "{}var caller_id_number 017012345678\nvar destination_number 4000\ncall\n",
        conf.preamble()
    );
    let r = run(&script);
    // The verdict event's lines are checked in their own test.
    let call: Vec<&str> = r
        .after("call")
        .into_iter()
        .filter(|l| !l.starts_with("EVENT"))
        .collect();
    assert_eq!(
        &call[..7],
        &[
            "SET callscreen_verdict=block",
            "SET callscreen_rule=virtual-operators",
            "SET callscreen_reason=list",
            "SET callscreen_caller=+8617012345678",
            "SET callscreen_profile=default",
            "SET callscreen_reply=busy",
            "LOG NOTICE 00000000-0000-0000-0000-000000000001 fmt=%.*s\\n text=callscreen: block caller 017012345678 (+8617012345678) to 4000: rule virtual-operators, reason list, reply busy (reject USER_BUSY)",
        ],
        "{}",
        r.text()
    );
    assert_eq!(call[7], "HANGUP USER_BUSY");
    assert_eq!(call[8], "RETURNED ready=0");
}

#[test]
fn an_allowed_caller_is_left_in_the_dialplan() {
    let conf = ConfDir::new("allow", CONFIG);
    let script = format!(
        "{}var caller_id_number +8613800138000\ncall\nvar caller_id_number +12025550123\ncall\n",
        conf.preamble()
    );
    let r = run(&script);
    r.assert_has("SET callscreen_rule=family");
    r.assert_has("SET callscreen_rule=default");
    r.assert_lacks_prefix("HANGUP");
    r.assert_lacks_prefix("EXEC");
    r.assert_lacks_prefix("SET callscreen_reply");
    assert_eq!(
        r.lines.iter().filter(|l| *l == "RETURNED ready=1").count(),
        2
    );
}

#[test]
fn advise_only_sets_the_variables() {
    let conf = ConfDir::new("advise", CONFIG);
    let script = format!(
        "{}var caller_id_number 17012345678\ncall advise\n",
        conf.preamble()
    );
    let r = run(&script);
    r.assert_has("SET callscreen_verdict=block");
    r.assert_has("SET callscreen_reply=busy");
    r.assert_lacks_prefix("HANGUP");
    r.assert_has("RETURNED ready=1");
}

#[test]
fn null_missing_and_non_utf8_input_is_data() {
    let conf = ConfDir::new("hostile", CONFIG);
    let script = format!(
        "{}call\nvar caller_id_number \\xff\\xfe%s%n%x\nvar caller_id_name \\xc3\ncall bogus-arg\ncall-null\napi\napi-null-stream\napi check %s%n \\xff\n",
        conf.preamble()
    );
    let r = run(&script);
    // No caller ID at all is a withheld number.
    let first = r.after("call");
    assert!(
        first.contains(&"SET callscreen_reason=anonymous"),
        "{}",
        r.text()
    );
    assert!(first.contains(&"HANGUP CALL_REJECTED"), "{}", r.text());
    // Bytes that are not UTF-8 are a malformed caller, never a crash.
    let second = r.after("call bogus-arg");
    assert!(
        second.contains(&"SET callscreen_caller=malformed"),
        "{}",
        r.text()
    );
    assert!(
        second
            .iter()
            .any(|l| l.contains("ignoring unknown argument \"bogus-arg\"")),
        "{}",
        r.text()
    );
    r.assert_has("LOG ERR - fmt=%.*s\\n text=callscreen: called without a session");
    r.assert_has("API| -ERR missing command");
    // A NULL stream is refused with a failure status.
    assert_eq!(r.after("api-null-stream"), vec!["STATUS 9"]);
    // The caller ID only ever travels as an argument, never as a format.
    for line in r.lines.iter().filter(|l| l.starts_with("LOG ")) {
        assert!(
            line.contains(" fmt=%.*s\\n text="),
            "non-constant log format: {line}"
        );
    }
    r.assert_lacks_prefix("NONCONSTANT-STREAM-FORMAT");
    r.assert_has("API| caller: %s%n -> malformed");
}

#[test]
fn api_commands_answer_ok_or_err_with_usage() {
    let conf = ConfDir::new("api", CONFIG);
    let script = format!(
        "{}api status\napi check 017112345678 4000\napi bogus\napi check\n",
        conf.preamble()
    );
    let r = run(&script);
    let status = r.after("api status");
    assert_eq!(status[0], "API| +OK");
    assert!(status.contains(&format!("API| config: {}", conf.yaml().display()).as_str()));
    assert!(status.contains(&"API| state: loaded"));
    assert!(status.contains(&"API| rules: 3"));
    assert!(status.contains(&"API| entries: 3"));
    assert!(status.contains(&"API| calls screened: 0 (allowed 0, blocked 0, error 0)"));

    let check = r.after("api check 017112345678 4000");
    assert_eq!(check[0], "API| +OK block");
    assert!(check.contains(&"API| rule: virtual-operators"));
    assert!(check.contains(&"API| reply: busy (reject USER_BUSY)"));
    assert!(check.iter().any(|l| l.contains("MATCH virtual-operators")));

    let bogus = r.after("api bogus");
    assert_eq!(bogus[0], "API| -ERR unknown command \"bogus\"");
    assert!(bogus[1].starts_with("API| usage: callscreen status | reload"));
    assert_eq!(
        r.after("api check")[0],
        "API| -ERR check takes a caller and an optional destination"
    );
}

#[test]
fn reload_swaps_a_good_config_and_keeps_the_old_one_on_error() {
    let conf = ConfDir::new("reload", CONFIG);
    let bad = conf.0.join("bad.yaml");
    std::fs::write(&bad, "rules:\n  - name: x\n    action: blok\n").unwrap();
    let good = conf.0.join("good.yaml");
    std::fs::write(&good, "rules:\n  - name: everyone\n    action: block\n").unwrap();
    // The config path comes from the callscreen_config global variable.
    let script = format!(
        "dlopen {}\nglobal callscreen_config {}\nload\napi reload\nvar caller_id_number +12025550123\ncall\n",
        module_path().display(),
        bad.display()
    );
    let r = run(&script);
    // Invalid at load: the module loads, logs CRIT, lets calls through.
    assert!(
        r.lines.iter().any(|l| l
            .starts_with("LOG CRIT - fmt=%.*s\\n text=mod_callscreen: no usable config (")
            && l.contains("bad.yaml:3:13: rules[0].action: unknown variant `blok`")),
        "{}",
        r.text()
    );
    r.assert_has("STATUS 0");
    let reload = r.after("api reload");
    assert!(
        reload[0].starts_with(&format!("API| -ERR {}:3:13: ", bad.display())),
        "{}",
        r.text()
    );
    let call = r.after("call");
    assert_eq!(call[0], "SET callscreen_verdict=error");
    assert!(!call.iter().any(|l| l.starts_with("HANGUP")));

    // A good file: reload answers +OK and the next call obeys it.
    let script = format!(
        "dlopen {}\nglobal callscreen_config {}\nload\napi reload\nvar caller_id_number +12025550123\ncall\n",
        module_path().display(),
        good.display()
    );
    let r = run(&script);
    r.assert_has(&format!(
        "API| +OK reloaded {}: 1 rules, 0 lists, 0 entries, 1 replies",
        good.display()
    ));
    r.assert_has("SET callscreen_rule=everyone");
    r.assert_has("HANGUP CALL_REJECTED");
}

#[test]
fn missing_config_lets_calls_through_marked_error_until_reload() {
    let dir = std::env::temp_dir().join(format!("callscreen-host-missing-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("callscreen.yaml");
    let _ = std::fs::remove_file(&path);
    let script = format!(
        "dlopen {}\nglobal conf_dir {}\nload\nvar caller_id_number 17012345678\ncall\napi status\napi check 17012345678\n",
        module_path().display(),
        dir.display()
    );
    let r = run(&script);
    assert!(
        r.lines
            .iter()
            .any(|l| l.starts_with("LOG CRIT") && l.contains("cannot read")),
        "{}",
        r.text()
    );
    r.assert_has("SET callscreen_verdict=error");
    r.assert_lacks_prefix("HANGUP");
    assert!(r.after("api status").iter().any(|l| l.starts_with(&format!(
        "API| state: error: {}: cannot read",
        path.display()
    ))));
    assert!(r.after("api check 17012345678")[0].starts_with("API| -ERR no config loaded: "));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn shutdown_then_load_again_starts_fresh_and_the_library_stays_mapped() {
    let conf = ConfDir::new("reload-module", CONFIG);
    let module = module_path();
    let script = format!(
        "{pre}var caller_id_number 17012345678\ncall\nshutdown\ndlclose\ndlopen {m}\nload\napi status\nvar caller_id_number 17012345678\ncall\nshutdown\n",
        pre = conf.preamble(),
        m = module.display()
    );
    let r = run(&script);
    let shutdown = r.after("shutdown");
    assert_eq!(shutdown[0], "COMPLETE del callscreen");
    assert!(shutdown.contains(&"STATUS 0"));
    // Linked with -z nodelete: dlclose never unmaps code a host thread may return into.
    r.assert_has("STILL-MAPPED yes");
    // After the second load the counters start from zero and calls are screened again.
    let statuses: Vec<usize> = r
        .lines
        .iter()
        .enumerate()
        .filter(|(_, l)| *l == "> load")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(statuses.len(), 2);
    assert!(
        r.lines
            .iter()
            .filter(|l| *l == "API| calls screened: 0 (allowed 0, blocked 0, error 0)")
            .count()
            >= 1
    );
    assert_eq!(
        r.lines.iter().filter(|l| *l == "HANGUP USER_BUSY").count(),
        2,
        "{}",
        r.text()
    );
}

#[test]
fn the_module_is_linked_nodelete() {
    let out = Command::new("readelf")
        .arg("-d")
        .arg(module_path())
        .output()
        .expect("readelf (binutils)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.contains("FLAGS_1") && l.contains("NODELETE")),
        "no NODELETE flag:\n{text}"
    );
}

/// Runs a script with `CALLSCREEN_FAULT` set (the debug build's fault hook).
fn run_with_faults(faults: &str, script: &str) -> Run {
    run_with_env(&[("CALLSCREEN_FAULT", faults)], script)
}

#[test]
fn a_panic_in_any_entry_point_is_logged_crit_and_becomes_a_failure_status() {
    let conf = ConfDir::new("panic", CONFIG);
    let script = format!(
        "{}api status\nvar caller_id_number 17012345678\ncall\nshutdown\n",
        conf.preamble()
    );
    let r = run_with_faults("app,api,shutdown", &script);
    // load was not faulted and succeeded
    assert_eq!(r.after("load")[..1], ["MODULE mod_callscreen"]);
    let api = r.after("api status");
    assert!(api.contains(&"LOG CRIT - fmt=%.*s\\n text=mod_callscreen: panic in callscreen API: injected fault at api"), "{}", r.text());
    assert!(
        api.contains(&"API| -ERR internal error in mod_callscreen (see the log)"),
        "{}",
        r.text()
    );
    assert_eq!(api.last(), Some(&"STATUS 9"));
    let call = r.after("call");
    assert!(call[0].starts_with("LOG CRIT - fmt=%.*s\\n text=mod_callscreen: panic in callscreen application: injected fault at app"), "{}", r.text());
    assert_eq!(
        call.last(),
        Some(&"RETURNED ready=1"),
        "the call goes on untouched"
    );
    let shutdown = r.after("shutdown");
    assert!(
        shutdown
            .iter()
            .any(|l| l.contains("panic in shutdown: injected fault at shutdown")),
        "{}",
        r.text()
    );
    assert_eq!(shutdown.last(), Some(&"STATUS 9"));

    let r = run_with_faults("load", &conf.preamble());
    assert!(
        r.lines
            .iter()
            .any(|l| l.contains("panic in load: injected fault at load")),
        "{}",
        r.text()
    );
    r.assert_has("STATUS 9");
}

const OPS_CONFIG: &str = r#"
numbering:
  country_code: "86"
lists:
  family: ["+8613800138000"]
replies:
  busy: { kind: reject, cause: USER_BUSY }
rules:
  - name: family
    caller_in: family
    action: allow
  - name: allowed-at-runtime
    caller_in: runtime-allow
    action: allow
  - name: blocked-at-runtime
    caller_in: runtime-block
    action: block
    reply: busy
ledger:
  fsync: always
"#;

fn api_block(r: &Run, marker: &str) -> Vec<String> {
    r.after(marker)
        .iter()
        .filter_map(|l| l.strip_prefix("API| "))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_ops_command_answers_through_the_host() {
    let conf = ConfDir::new("ops-commands", OPS_CONFIG);
    let script = format!(
        "{}api block 0170* 2h marketing pool\napi allow +8617011111111\napi list\napi list block pool\napi json list allow\napi check 17012345678\napi check 17011111111\nvar caller_id_number 17012345678\ncall\napi stats\napi stats reset\napi stats\napi metrics\napi report\napi report --format csv\napi json status\napi unblock +86170*\napi unblock +86170*\napi unallow 17011111111\napi list penalty\napi block\napi status\nshutdown\n",
        conf.preamble_with_db()
    );
    let r = run(&script);
    let b = api_block(&r, "api block 0170* 2h marketing pool");
    assert!(
        b[0].starts_with("+OK added +86170* to runtime-block (expires ")
            && b[0].ends_with("(in 2h)), note: marketing pool"),
        "{}",
        r.text()
    );
    assert_eq!(
        api_block(&r, "api allow +8617011111111")[0],
        "+OK added +8617011111111 to runtime-allow (expires never)"
    );
    let list = api_block(&r, "api list");
    assert_eq!(list[0], "+OK 2 entries");
    assert!(
        list.iter().any(|l| l.starts_with("runtime-block  +86170*")),
        "{list:?}"
    );
    assert_eq!(api_block(&r, "api list block pool")[0], "+OK 1 entries");
    let json: serde_json::Value =
        serde_json::from_str(&api_block(&r, "api json list allow")[0]).unwrap();
    assert_eq!(json["entries"][0]["pattern"], "+8617011111111");
    assert!(
        api_block(&r, "api check 17012345678").contains(&"rule: blocked-at-runtime".to_string())
    );
    assert!(
        api_block(&r, "api check 17011111111").contains(&"rule: allowed-at-runtime".to_string())
    );
    let call = r.after("call");
    assert!(call.contains(&"HANGUP USER_BUSY"), "{}", r.text());

    let stats = api_block(&r, "api stats");
    assert!(
        stats.contains(&"calls: 1 (since reset 1)".to_string()),
        "{stats:?}"
    );
    assert!(api_block(&r, "api stats reset")[0].starts_with("+OK counters reset at "));
    let metrics = api_block(&r, "api metrics");
    assert!(metrics[0].starts_with("# +OK"), "{metrics:?}");
    assert!(metrics
        .contains(&"callscreen_calls_by_rule_total{rule=\"blocked-at-runtime\"} 1".to_string()));
    assert!(metrics.contains(&"callscreen_ledger_dropped_total 0".to_string()));
    let report = api_block(&r, "api report");
    assert_eq!(report[0], "+OK");
    assert!(
        report.iter().any(|l| l.starts_with("+8617012345678 ")),
        "{report:?}"
    );
    let csv = api_block(&r, "api report --format csv");
    assert!(
        csv.iter()
            .any(|l| l.starts_with("caller,+8617012345678,1,1,")),
        "{csv:?}"
    );
    let status: serde_json::Value =
        serde_json::from_str(&api_block(&r, "api json status")[0]).unwrap();
    assert_eq!(status["runtime_entries"]["block"], 1);
    assert_eq!(status["ledger"]["written"], 1);
    assert_eq!(status["ledger"]["dropped"], 0);
    let unblock = r.after("api unblock +86170*");
    assert_eq!(unblock[0], "API| +OK removed +86170* from runtime-block");
    assert!(
        r.lines
            .contains(&"API| -ERR +86170* is not in runtime-block".to_string()),
        "{}",
        r.text()
    );
    assert_eq!(
        api_block(&r, "api unallow 17011111111")[0],
        "+OK removed +8617011111111 from runtime-allow"
    );
    // The limit store answers for the penalty box: nothing boxed here.
    assert_eq!(api_block(&r, "api list penalty")[0], "+OK 0 entries");
    let bad = api_block(&r, "api block");
    assert!(
        bad[0].starts_with("-ERR block needs a number or prefix"),
        "{bad:?}"
    );
    assert!(bad[1].starts_with("usage: callscreen"), "{bad:?}");
    let status = api_block(&r, "api status");
    assert!(
        status
            .iter()
            .any(|l| l.starts_with("runtime entries: runtime-block 0, runtime-allow 0 (journal ")),
        "{status:?}"
    );
    assert!(
        status.iter().any(|l| l.starts_with("ledger: ")
            && l.contains("(fsync always): written 1, queue 0/4096, dropped 0, failed 0")),
        "{status:?}"
    );
    // The ledger line is on disk, with the call's evidence.
    let ledger_dir = conf.0.join("db/callscreen/ledger");
    let text: String = std::fs::read_dir(&ledger_dir)
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(line["caller_number"], "17012345678");
    assert_eq!(line["rule"], "blocked-at-runtime");
    assert_eq!(line["outcome"], "blocked");
    r.assert_lacks_prefix("NONCONSTANT-STREAM-FORMAT");
}

#[test]
fn a_screened_call_fires_a_verdict_event_with_its_evidence() {
    let conf = ConfDir::new("events", CONFIG);
    let script = format!(
        "{}var uuid 1111-2222\nvar caller_id_number 017012345678\nvar caller_id_name Robo%n\nvar destination_number 4000\nvar network_addr 192.0.2.7\nvar sip_call_id abc@192.0.2.7\nvar sip_user_agent Dialer/1.0\nvar sip_h_P-Asserted-Identity <sip:+8617012345678@carrier>\nvar sip_verstat TN-Validation-Passed\ncall\nvar caller_id_number 13800138000\ncall\n",
        conf.preamble()
    );
    let r = run(&script);
    let first: Vec<&str> = r.after("call").to_vec();
    let event_at = first
        .iter()
        .position(|l| *l == "EVENT callscreen::verdict")
        .unwrap_or_else(|| panic!("no verdict event:\n{}", r.text()));
    let headers: Vec<&str> = first[event_at + 1..]
        .iter()
        .take_while(|l| l.starts_with("EVENT-HEADER "))
        .copied()
        .collect();
    for want in [
        "EVENT-HEADER Unique-ID: 1111-2222",
        "EVENT-HEADER Callscreen-Verdict: block",
        "EVENT-HEADER Callscreen-Outcome: blocked",
        "EVENT-HEADER Callscreen-Rule: virtual-operators",
        "EVENT-HEADER Callscreen-Reason: list",
        "EVENT-HEADER Callscreen-Reply: busy",
        "EVENT-HEADER Callscreen-Advise: false",
        "EVENT-HEADER Callscreen-Caller: +8617012345678",
        "EVENT-HEADER Callscreen-Caller-Number: 017012345678",
        "EVENT-HEADER Callscreen-Caller-Name: Robo%n",
        "EVENT-HEADER Callscreen-Destination-Number: 4000",
        "EVENT-HEADER Callscreen-Network-Addr: 192.0.2.7",
        "EVENT-HEADER Callscreen-SIP-Call-ID: abc@192.0.2.7",
        "EVENT-HEADER Callscreen-User-Agent: Dialer/1.0",
        "EVENT-HEADER Callscreen-P-Asserted-Identity: <sip:+8617012345678@carrier>",
        "EVENT-HEADER Callscreen-Verstat: TN-Validation-Passed",
    ] {
        assert!(headers.contains(&want), "missing {want} in {headers:?}");
    }
    assert!(headers
        .iter()
        .any(|h| h.starts_with("EVENT-HEADER Callscreen-Decision-Usec: ")));
    // The event is fired before the hangup, for every call, allowed ones too.
    let hangup_at = first.iter().position(|l| l.starts_with("HANGUP")).unwrap();
    assert!(event_at < hangup_at);
    assert_eq!(
        r.lines
            .iter()
            .filter(|l| *l == "EVENT callscreen::verdict")
            .count(),
        2
    );
    r.assert_has("EVENT-HEADER Callscreen-Outcome: allowed");
    r.assert_lacks_prefix("EVENT-CREATE-REFUSED");
}

/// Header names (`Callscreen-…`, `Unique-ID`) quoted in `text`.
fn quoted_headers(text: &str) -> Vec<&str> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| w.starts_with("Callscreen-") || *w == "Unique-ID")
        .collect()
}

#[test]
fn the_verdict_headers_readme_calls_optional_are_the_ones_a_bare_call_lacks() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("For every screened call the module fires")
        .expect("README: the Events section");
    let para = readme[start..start + readme[start..].find("\n\n").unwrap()]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let (always, rest) = para.split_once("and when present").expect("'when present'");
    let (optional, rest) = rest
        .split_once("and when they apply")
        .expect("'when they apply'");
    let (_, plus) = rest.split_once("plus").expect("'plus'");
    let always: Vec<&str> = quoted_headers(always)
        .into_iter()
        .chain(quoted_headers(plus))
        .collect();
    let optional = quoted_headers(optional);
    assert!(always.contains(&"Callscreen-Verdict"), "{always:?}");
    assert!(optional.contains(&"Callscreen-Verstat"), "{optional:?}");

    // A call with none of the optional facts (no address, no SIP headers).
    let conf = ConfDir::new("event-doc", CONFIG);
    let script = format!(
        "{}var uuid 3333-4444\nvar caller_id_number 017012345678\nvar destination_number 4000\ncall\n",
        conf.preamble()
    );
    let r = run(&script);
    let lines = r.after("call");
    let at = lines
        .iter()
        .position(|l| *l == "EVENT callscreen::verdict")
        .unwrap_or_else(|| panic!("no verdict event:\n{}", r.text()));
    let sent: Vec<&str> = lines[at + 1..]
        .iter()
        .map_while(|l| l.strip_prefix("EVENT-HEADER "))
        .filter_map(|h| h.split_once(':').map(|(name, _)| name))
        .collect();
    for name in &always {
        assert!(
            sent.contains(name),
            "README says {name} is always sent: {sent:?}"
        );
    }
    for name in &optional {
        assert!(
            !sent.contains(name),
            "README says {name} is sent only when present, but a bare call has it: {sent:?}"
        );
    }
}

#[test]
fn reloadxml_reloads_and_shutdown_unbinds_and_joins() {
    let conf = ConfDir::new("reloadxml", CONFIG);
    let replacement = conf.0.join("replacement.yaml");
    std::fs::write(
        &replacement,
        "rules:\n  - name: everyone\n    action: block\n",
    )
    .unwrap();
    // Load, change the YAML, deliver RELOADXML, give the background thread
    // time to reload, then place a call under the new rules.
    let script = format!(
        "{}copy {} {}\nreloadxml\nsleep 500\napi json status\nvar caller_id_number +12025550123\ncall\nshutdown\n",
        conf.preamble_with_db(),
        replacement.display(),
        conf.yaml().display()
    );
    let r = run(&script);
    r.assert_has("COPIED yes");
    r.assert_has("RELOADXML-DELIVERED 1");
    assert!(
        r.lines
            .iter()
            .any(|l| l.contains("mod_callscreen: reloaded ") && l.contains("(reloadxml)")),
        "{}",
        r.text()
    );
    let status: serde_json::Value =
        serde_json::from_str(&api_block(&r, "api json status")[0]).unwrap();
    assert_eq!(status["rules"], 1);
    assert_eq!(status["last_reload"]["source"], "reloadxml");
    assert_eq!(status["last_reload"]["ok"], true);
    r.assert_has("SET callscreen_rule=everyone");
    let shutdown = r.after("shutdown");
    assert!(
        shutdown.contains(&"UNBIND mod_callscreen 56"),
        "{}",
        r.text()
    );
    assert!(shutdown.contains(&"FREE-SUBCLASS mod_callscreen callscreen::verdict"));
    assert!(
        !shutdown.iter().any(|l| l.starts_with("STILL-BOUND")),
        "{}",
        r.text()
    );
    assert!(shutdown.contains(&"STATUS 0"));
}

/// Names of this process's threads that start with `callscreen-`, as the
/// kernel keeps them (cut to 15 bytes).
fn module_threads(pid: u32) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("/proc/<pid>/task")
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .map(|n| n.trim_end().to_string())
        .filter(|n| n.starts_with("callscreen-"))
        .collect();
    names.sort();
    names
}

#[test]
fn load_starts_the_threads_the_readme_names_and_shutdown_joins_each() {
    use std::io::BufRead;
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme.find("### Threads").expect("README: Threads");
    let section = &readme[start..start + 3 + readme[start + 3..].find("\n#").unwrap()];
    let mut documented: Vec<String> = section
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| w.starts_with("callscreen-") && !w.contains(' ') && !w.contains('.'))
        .map(|w| w.chars().take(15).collect())
        .collect();
    documented.sort();
    documented.dedup();

    let conf = ConfDir::new("threads", OPS_CONFIG);
    let mut child = Command::new(fakeswitch())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start fakeswitch");
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    // Runs script lines, then waits for the host to have done them (a copy
    // from a file that never exists answers "COPIED no" once they are done).
    let marker = format!(
        "copy {} {}\n",
        conf.0.join("never-there").display(),
        conf.0.join("marker").display()
    );
    let mut step = |lines: &str| {
        write!(stdin, "{lines}{marker}").unwrap();
        stdin.flush().unwrap();
        let mut seen = Vec::new();
        for line in stdout.by_ref() {
            let line = line.unwrap();
            if line == "COPIED no" {
                return seen;
            }
            seen.push(line);
        }
        panic!("fakeswitch stopped early:\n{}", seen.join("\n"));
    };
    let loaded = step(&conf.preamble_with_db());
    assert!(loaded.contains(&"STATUS 0".to_string()), "{loaded:?}");
    // A thread names itself once it runs (until then it has its creator's
    // name, which may be callscreen-load): wait for the names to settle.
    let mut running = module_threads(pid);
    for _ in 0..500 {
        if running == documented {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        running = module_threads(pid);
    }
    assert_eq!(
        running, documented,
        "threads running after load vs named in README's Threads section"
    );
    assert_eq!(running.len(), 3, "{running:?}");
    let down = step("shutdown\n");
    assert!(down.contains(&"STATUS 0".to_string()), "{down:?}");
    assert_eq!(
        module_threads(pid),
        Vec::<String>::new(),
        "shutdown left threads"
    );
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn runtime_entries_survive_unload_and_load_again() {
    let conf = ConfDir::new("durable", OPS_CONFIG);
    let module = module_path();
    let script = format!(
        "{pre}api block +86171* 1d kept\nshutdown\ndlclose\ndlopen {m}\nload\napi list block\nvar caller_id_number 17112345678\ncall\nshutdown\n",
        pre = conf.preamble_with_db(),
        m = module.display()
    );
    let r = run(&script);
    let list = api_block(&r, "api list block");
    assert_eq!(list[0], "+OK 1 entries", "{}", r.text());
    assert!(
        list[2].contains("+86171*") && list[2].ends_with("kept"),
        "{list:?}"
    );
    r.assert_has("SET callscreen_rule=blocked-at-runtime");
    assert!(
        r.lines
            .iter()
            .any(|l| l.contains("1 runtime entries restored")),
        "{}",
        r.text()
    );
}

#[path = "host/replies.rs"]
mod replies;

const PROFILES: &str = r#"
numbering:
  country_code: "86"
lists:
  pools: ["+86170*"]
replies:
  busy: { kind: reject, cause: USER_BUSY }
rules:
  - name: trial-pools
    caller_in: pools
    shadow: true
    action: block
  - name: robots
    variables: { sip_user_agent: "(?i)friendly-scanner" }
    action: block
    reply: busy
profiles:
  courier-line:
    destination: ["4001"]
    rules:
      - { name: courier-pools, caller_in: pools, action: block, reply: busy }
  open:
    rules: []
"#;

#[test]
fn the_destination_picks_the_profile_and_a_channel_variable_decides() {
    let conf = ConfDir::new("profiles", PROFILES);
    let script = format!(
        "{}var caller_id_number 017012345678\nvar destination_number 4001\ncall\n\
         var caller_id_number 017012345678\nvar destination_number 4000\ncall advise\n\
         var caller_id_number +12025550123\nvar destination_number 4000\nvar sip_user_agent friendly-scanner\ncall\n\
         var caller_id_number +12025550124\nvar destination_number 4000\nvar sip_user_agent friendly-scanner\ncall profile=open\n\
         var caller_id_number +12025550125\ncall profile=nope\n",
        conf.preamble()
    );
    let r = run(&script);
    // The courier line's own rules block a pool number there.
    let first = r.after("call");
    assert!(
        first.contains(&"SET callscreen_profile=courier-line"),
        "{}",
        r.text()
    );
    assert!(
        first.contains(&"SET callscreen_rule=courier-pools"),
        "{}",
        r.text()
    );
    assert!(first.contains(&"HANGUP USER_BUSY"), "{}", r.text());
    // Elsewhere the pool rule is only a shadow: recorded, the call goes on.
    let second = r.after("call advise");
    assert!(
        second.contains(&"SET callscreen_shadow_rule=trial-pools"),
        "{}",
        r.text()
    );
    assert!(
        second.contains(&"SET callscreen_shadow_verdict=block"),
        "{}",
        r.text()
    );
    assert!(
        second.contains(&"SET callscreen_verdict=allow"),
        "{}",
        r.text()
    );
    assert!(
        second
            .iter()
            .any(|l| l.contains("shadow rule trial-pools would block")),
        "{}",
        r.text()
    );
    // The channel variable is read from the channel and decides.
    let lines = r.text();
    assert!(lines.contains("SET callscreen_rule=robots"), "{lines}");
    let robot = r
        .lines
        .iter()
        .position(|l| l == "SET callscreen_rule=robots")
        .unwrap();
    assert!(
        r.lines[robot..]
            .iter()
            .take(10)
            .any(|l| l == "HANGUP USER_BUSY"),
        "{lines}"
    );
    // profile= in the app data wins over the destination.
    let open = r.after("call profile=open");
    assert!(open.contains(&"SET callscreen_profile=open"), "{lines}");
    assert!(open.contains(&"SET callscreen_verdict=allow"), "{lines}");
    // An unknown profile is logged and the top-level rules apply.
    let nope = r.after("call profile=nope");
    assert!(nope.contains(&"SET callscreen_profile=default"), "{lines}");
    assert!(
        nope.iter()
            .any(|l| l.contains("unknown profile \"nope\": used default")),
        "{lines}"
    );
}

const POOL_CONFIG: &str = r#"
numbering:
  country_code: "86"
replies:
  busy: { kind: reject, cause: USER_BUSY }
limits:
  - name: pools
    key: caller_prefix
    digits: 7
    distinct: 3/1h
    penalty: 1h
    reply: busy
  - name: watch
    key: caller
    calls: 1/1h
    shadow: true
"#;

#[test]
fn a_rate_limit_hangs_up_with_its_reply_sets_variables_and_its_penalty_survives_a_reload_of_the_module(
) {
    let conf = ConfDir::new("limits", POOL_CONFIG);
    let state = conf.0.join("state");
    let mut script = format!(
        "dlopen {}\nglobal conf_dir {}\nglobal db_dir {}\nload\n",
        module_path().display(),
        conf.0.display(),
        state.display()
    );
    for i in 0..4 {
        script.push_str(&format!("var caller_id_number 0170123400{i:02}\ncall\n"));
    }
    script.push_str("var caller_id_number 017055550000\ncall\n");
    script.push_str(
        "api penalty list\napi status\napi metrics\napi stats\napi check 017012349999\napi penalty clear 1701299\n",
    );
    // Unload (the state is saved), load again: the penalty is still there.
    script.push_str(
        "shutdown\nload\napi penalty list\napi penalty clear 1701234\napi penalty list\nshutdown\n",
    );
    let r = run(&script);
    r.assert_has(&format!(
        "LOG INFO - fmt=%.*s\\n text=mod_callscreen: limit state in {} (0 keys restored)",
        state.join("callscreen/callscreen-limits.state").display()
    ));
    let fourth = r.after("call");
    // the first call: let through, shadow limit silent.
    assert!(
        fourth.contains(&"SET callscreen_verdict=allow"),
        "{}",
        r.text()
    );
    let call_of = |caller: &str| -> Vec<&str> {
        r.lines
            .iter()
            .skip_while(|l| **l != format!("> var caller_id_number {caller}"))
            .skip(2)
            .take_while(|l| !l.starts_with("> "))
            .map(String::as_str)
            .collect()
    };
    let tripped = call_of("017012340003");
    for want in [
        "SET callscreen_verdict=block",
        "SET callscreen_reason=limit",
        "SET callscreen_limit=pools",
        "SET callscreen_limit_key=1701234",
        "SET callscreen_limit_state=tripped",
        "SET callscreen_limit_threshold=distinct 3/1h",
        "SET callscreen_limit_count=4",
        "SET callscreen_limit_counters=distinct 4/3 per 1h",
        "SET callscreen_penalty_offence=1",
        "SET callscreen_reply=busy",
        "HANGUP USER_BUSY",
    ] {
        assert!(
            tripped.contains(&want),
            "missing {want:?} in:\n{}",
            r.text()
        );
    }
    assert!(
        tripped
            .iter()
            .any(|l| l.starts_with("SET callscreen_penalty_until=20")),
        "{}",
        r.text()
    );
    // A caller from another prefix still gets through.
    let other = call_of("017055550000");
    assert!(
        other.contains(&"SET callscreen_verdict=allow"),
        "{}",
        r.text()
    );
    assert!(
        !other.iter().any(|l| l.starts_with("HANGUP")),
        "{}",
        r.text()
    );
    let list = r.after("api penalty list");
    assert_eq!(list[0], "API| +OK 1 key in the penalty box", "{}", r.text());
    assert!(
        list[1].starts_with("API| pools 1701234 until 20") && list[1].ends_with(" offence 1"),
        "{}",
        r.text()
    );
    let status = r.after("api status");
    assert!(status.contains(&"API| limits: 2"), "{}", r.text());
    assert!(
        status.iter().any(|l| l
            .starts_with("API| limit pools (caller_prefix 7 digits): 2 keys of 100000 max")
            && l.contains("1 in penalty box, 1 trips")),
        "{}",
        r.text()
    );
    assert!(
        status.contains(&"API| calls refused by limits: 1 (shadow limits: 0)"),
        "{}",
        r.text()
    );
    // The limiter's figures, per limit level, and the calls by limit.
    let metrics = r.after("api metrics");
    for want in [
        "API| callscreen_calls_by_limit_total{limit=\"pools\"} 1",
        "API| callscreen_limiter_keys{limit=\"pools\",digits=\"7\"} 2",
        "API| callscreen_limiter_max_keys{limit=\"pools\",digits=\"7\"} 100000",
        "API| callscreen_limiter_penalty_keys{limit=\"pools\",digits=\"7\"} 1",
        "API| callscreen_limiter_trips_total{limit=\"pools\",digits=\"7\"} 1",
        "API| callscreen_limiter_trips_total{limit=\"watch\",digits=\"0\"} 0",
        "API| callscreen_limiter_keys_dropped_total{limit=\"pools\",digits=\"7\"} 0",
    ] {
        assert!(
            metrics.contains(&want),
            "missing {want:?} in:\n{}",
            r.text()
        );
    }
    let stats = r.after("api stats");
    let by_limit = stats.iter().position(|l| *l == "API| by limit:").unwrap();
    assert!(
        stats[by_limit + 1].starts_with("API|   pools")
            && stats[by_limit + 1].contains(" 1  (since reset 1)"),
        "{}",
        r.text()
    );
    let check = r.after("api check 017012349999");
    assert_eq!(check[0], "API| +OK block");
    assert!(
        check
            .iter()
            .any(|l| l.starts_with("API| limit: pools key 1701234 penalty")),
        "{}",
        r.text()
    );
    assert_eq!(
        r.after("api penalty clear 1701299")[0],
        "API| -ERR no key 1701299 in the penalty box or with a remembered offence"
    );
    // After shutdown and load again, restored from the state file.
    assert!(
        r.lines
            .iter()
            .any(|l| l.contains("mod_callscreen: limit state in")
                && !l.contains("(0 keys restored)")),
        "{}",
        r.text()
    );
    let lines: Vec<&str> = Run::without_penalty_events(&r.lines).collect();
    let lists: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| **l == "> api penalty list")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(lists.len(), 3);
    assert_eq!(lines[lists[1] + 1], "API| +OK 1 key in the penalty box");
    r.assert_has("API| +OK lifted 1 penalty of 1701234");
    assert_eq!(lines[lists[2] + 1], "API| +OK 0 keys in the penalty box");
}

#[test]
fn penalty_commands_with_bad_arguments_answer_err_with_usage() {
    let conf = ConfDir::new("penalty-usage", POOL_CONFIG);
    let r = run(&format!(
        "{}api penalty\napi penalty frob x\n",
        conf.preamble()
    ));
    let bad = r.after("api penalty");
    assert_eq!(
        bad[0],
        "API| -ERR penalty takes list [<limit>] or clear <key>|all"
    );
    assert!(bad[1].starts_with("API| usage: callscreen"));
    assert_eq!(
        r.after("api penalty frob x")[0],
        "API| -ERR penalty takes list [<limit>] or clear <key>|all"
    );
}

/// The headers of every `callscreen::penalty` event of a run, in order.
fn penalty_events(r: &Run) -> Vec<Vec<&str>> {
    let mut out = Vec::new();
    let mut lines = r.lines.iter().map(String::as_str).peekable();
    while let Some(line) = lines.next() {
        if line == "EVENT callscreen::penalty" {
            let mut headers = Vec::new();
            while let Some(h) = lines.next_if(|l| l.starts_with("EVENT-HEADER ")) {
                headers.push(&h["EVENT-HEADER ".len()..]);
            }
            out.push(headers);
        }
    }
    out
}

#[test]
fn keys_entering_and_leaving_the_penalty_box_fire_penalty_events() {
    // A penalty of one to two seconds (the clock is in whole seconds): the
    // clear at 0.5 s finds the key boxed, and the run sees the other end.
    let conf = ConfDir::new(
        "penalty-events",
        &POOL_CONFIG.replace("penalty: 1h", "penalty: 2s"),
    );
    let mut script = conf.preamble();
    for i in 0..4 {
        script.push_str(&format!("var caller_id_number 0170123400{i:02}\ncall\n"));
    }
    for i in 0..4 {
        script.push_str(&format!("var caller_id_number 0170555500{i:02}\ncall\n"));
    }
    // The background thread announces the trips at once, the end of the
    // first penalty within a second of it; the second is lifted by hand.
    script.push_str("sleep 500\napi penalty clear 1705555\nsleep 3500\nshutdown\n");
    let r = run(&script);
    let events = penalty_events(&r);
    let summary: Vec<(String, &str, &str)> = events
        .iter()
        .map(|h| {
            let get = |name: &str| {
                h.iter()
                    .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
                    .unwrap_or("")
            };
            (
                get("Callscreen-Penalty-Key").to_string(),
                get("Callscreen-Penalty-Action"),
                get("Callscreen-Penalty-Reason"),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("1701234".to_string(), "enter", "tripped"),
            ("1705555".to_string(), "enter", "tripped"),
            ("1705555".to_string(), "leave", "cleared"),
            ("1701234".to_string(), "leave", "expired"),
        ],
        "{}",
        r.text()
    );
    let enter = &events[0];
    assert!(enter.contains(&"Callscreen-Limit: pools"), "{enter:?}");
    assert!(
        enter.contains(&"Callscreen-Limit-Shadow: false"),
        "{enter:?}"
    );
    assert!(
        enter.contains(&"Callscreen-Penalty-Strikes: 1"),
        "{enter:?}"
    );
    assert!(
        enter
            .iter()
            .any(|h| h.starts_with("Callscreen-Penalty-Until: 20")),
        "{enter:?}"
    );
    // No state directory here: the answer says the lift is not on disk.
    r.assert_has(
        "API| +OK lifted 1 penalty of 1705555 (memory only: no state directory, a restart brings it back)",
    );
    // The clear's event comes before the command answers.
    let cleared_at = r
        .lines
        .iter()
        .position(|l| l == "EVENT-HEADER Callscreen-Penalty-Reason: cleared")
        .unwrap();
    let answered_at = r
        .lines
        .iter()
        .position(|l| l.starts_with("API| +OK lifted 1 penalty of 1705555"))
        .unwrap();
    assert!(cleared_at < answered_at, "{}", r.text());
}

/// FreeSWITCH loads modules and runs API commands on threads of 240 KiB
/// (the stand-in does too): reading a config with schedules in named time
/// zones, at load and at reload, must not overflow them.
#[test]
fn the_shipped_config_loads_and_reloads_on_a_freeswitch_sized_stack() {
    let shipped =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("conf/callscreen.yaml"))
            .expect("conf/callscreen.yaml");
    assert!(shipped.contains("timezone:"), "the test needs a time zone");
    let conf = ConfDir::new("shipped-stack", &shipped);
    let r = run(&format!(
        "{}api reload\napi check 017012345678 4000\nshutdown\n",
        conf.preamble_with_db()
    ));
    r.assert_has("STATUS 0");
    assert!(
        r.lines.iter().any(|l| l.starts_with("API| +OK reloaded")),
        "{}",
        r.text()
    );
    r.assert_has("API| +OK block");
}
