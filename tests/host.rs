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

    /// Lines printed after the script line `> marker` up to the next script line.
    fn after(&self, marker: &str) -> Vec<&str> {
        let start = self
            .lines
            .iter()
            .position(|l| l == &format!("> {marker}"))
            .unwrap_or_else(|| panic!("no script line {marker:?}"));
        self.lines[start + 1..]
            .iter()
            .take_while(|l| !l.starts_with("> "))
            .map(String::as_str)
            .collect()
    }

    fn text(&self) -> String {
        self.lines.join("\n")
    }
}

fn run(script: &str) -> Run {
    let mut child = Command::new(fakeswitch())
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
        "fakeswitch exited with {} (a crash is a failure):\n{}",
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
    r.assert_has("REGISTERED app callscreen syntax=[advise]");
    r.assert_has(
        "REGISTERED api callscreen syntax=status | reload | check <caller> [<destination>] | penalty list [<limit>] | penalty clear <key>|all",
    );
    r.assert_has("COMPLETE add callscreen penalty list");
    r.assert_has("COMPLETE add callscreen penalty clear");
    r.assert_has("COMPLETE add callscreen status");
    r.assert_has("COMPLETE add callscreen reload");
    r.assert_has("COMPLETE add callscreen check");
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
    let call = r.after("call");
    assert_eq!(
        &call[..6],
        &[
            "SET callscreen_verdict=block",
            "SET callscreen_rule=virtual-operators",
            "SET callscreen_reason=list",
            "SET callscreen_caller=+8617012345678",
            "SET callscreen_reply=busy",
            "LOG NOTICE 00000000-0000-0000-0000-000000000001 fmt=%.*s\\n text=callscreen: block caller 017012345678 (+8617012345678) to 4000: rule virtual-operators, reason list, reply busy (reject USER_BUSY)",
        ],
        "{}",
        r.text()
    );
    assert_eq!(call[6], "HANGUP USER_BUSY");
    assert_eq!(call[7], "RETURNED ready=0");
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
    assert!(bogus[1].starts_with("API| usage: callscreen status | reload | check"));
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
        "dlopen {}\nglobal conf_dir {}\nglobal callscreen_state_dir {}\nload\n",
        module_path().display(),
        conf.0.display(),
        state.display()
    );
    for i in 0..4 {
        script.push_str(&format!("var caller_id_number 0170123400{i:02}\ncall\n"));
    }
    script.push_str("var caller_id_number 017055550000\ncall\n");
    script.push_str(
        "api penalty list\napi status\napi check 017012349999\napi penalty clear 1701299\n",
    );
    // Unload (the state is saved), load again: the penalty is still there.
    script.push_str(
        "shutdown\nload\napi penalty list\napi penalty clear 1701234\napi penalty list\nshutdown\n",
    );
    let r = run(&script);
    r.assert_has(&format!(
        "LOG INFO - fmt=%.*s\\n text=mod_callscreen: limit state in {} (0 keys restored)",
        state.join("callscreen-limits.state").display()
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
        "API| -ERR no key 1701299 in the penalty box"
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
    let lists: Vec<usize> = r
        .lines
        .iter()
        .enumerate()
        .filter(|(_, l)| *l == "> api penalty list")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(lists.len(), 3);
    assert_eq!(r.lines[lists[1] + 1], "API| +OK 1 key in the penalty box");
    r.assert_has("API| +OK lifted 1 penalty of 1701234");
    assert_eq!(r.lines[lists[2] + 1], "API| +OK 0 keys in the penalty box");
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
