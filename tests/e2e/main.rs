//! End-to-end tests against a real FreeSWITCH (found through
//! `FREESWITCH_PREFIX`, /usr/local/freeswitch, or `freeswitch` on PATH).
//! Without one, every test says SKIPPED and returns; `make test` counts it as
//! skipped.

mod esl;
mod freeswitch;
#[path = "../support/skip.rs"]
mod skip;

use freeswitch::{find_install, FreeSwitch, Install};

/// The FreeSWITCH to test against, or a loud skip.
fn install_or_skip(test: &str) -> Option<Install> {
    let found = find_install();
    if found.is_none() {
        skip::skip(
            test,
            "no FreeSWITCH found (set FREESWITCH_PREFIX, install into /usr/local/freeswitch, or put freeswitch on PATH)",
        );
    }
    found
}

const CONFIG: &str = r#"
numbering:
  country_code: "86"
lists:
  family: ["+8613800138000"]
  marketing: ["+86170*"]
replies:
  busy: { kind: reject, cause: USER_BUSY }
rules:
  - name: family
    caller_in: family
    action: allow
  - name: marketing
    caller_in: marketing
    action: block
    reply: busy
  - name: withheld
    caller_is: anonymous
    action: block
"#;

/// 9000: screened then marked as reached; 9001: advise mode.
const EXTENSIONS: &str = r#"
      <extension name="screened">
        <condition field="destination_number" expression="^9000$">
          <action application="callscreen"/>
          <action application="hash" data="insert/e2e/${caller_id_number}/reached-${callscreen_verdict}-${callscreen_rule}"/>
          <action application="answer"/>
          <action application="sleep" data="200"/>
          <action application="hangup"/>
        </condition>
      </extension>
      <extension name="advised">
        <condition field="destination_number" expression="^9001$">
          <action application="callscreen" data="advise"/>
          <action application="hash" data="insert/e2e/${caller_id_number}/advised-${callscreen_verdict}-${callscreen_reply}"/>
          <action application="answer"/>
          <action application="sleep" data="200"/>
          <action application="hangup"/>
        </condition>
      </extension>
"#;

/// Places a loopback call from `caller` to `extension`; the originate result.
fn call(fs: &FreeSwitch, caller: &str, extension: &str) -> String {
    fs.esl().api(&format!(
        "originate {{origination_caller_id_number={caller},originate_timeout=10}}loopback/{extension}/default &park"
    ))
}

/// What the dialplan recorded after `callscreen` for this caller ("" if the
/// call never got past it).
fn reached(fs: &FreeSwitch, caller: &str) -> String {
    let out = fs.esl().api(&format!("hash select/e2e/{caller}"));
    if out.starts_with("-ERR no reply") {
        String::new()
    } else {
        out
    }
}

fn load(fs: &FreeSwitch) {
    let out = fs.fs_cli("load mod_callscreen");
    assert!(
        out.contains("+OK"),
        "load mod_callscreen: {out}\n{}",
        fs.log_tail(40)
    );
}

#[test]
fn screens_real_calls_and_answers_fs_cli() {
    let Some(install) = install_or_skip("screens_real_calls_and_answers_fs_cli") else {
        return;
    };
    let fs = FreeSwitch::start(&install, "screen", CONFIG, EXTENSIONS);
    load(&fs);

    // A listed caller is hung up with the rule's cause before the next action.
    let out = call(&fs, "017012345678", "9000");
    assert!(
        out.starts_with("-ERR USER_BUSY"),
        "originate from a blocked caller: {out}\n{}",
        fs.log_tail(40)
    );
    assert_eq!(
        reached(&fs, "017012345678"),
        "",
        "a blocked call must not reach the next action"
    );

    // An allowed caller reaches the next dialplan action, with the variables set.
    let out = call(&fs, "013800138000", "9000");
    assert!(
        out.starts_with("+OK"),
        "originate from family: {out}\n{}",
        fs.log_tail(40)
    );
    assert_eq!(reached(&fs, "013800138000"), "reached-allow-family");
    let out = call(&fs, "+12025550123", "9000");
    assert!(out.starts_with("+OK"), "{out}");
    assert_eq!(reached(&fs, "+12025550123"), "reached-allow-default");

    // Advise mode only sets the variables.
    let out = call(&fs, "017099999999", "9001");
    assert!(out.starts_with("+OK"), "advise: {out}");
    assert_eq!(reached(&fs, "017099999999"), "advised-block-busy");

    // The module logged the decision with the call's UUID.
    let log = fs.log();
    assert!(
        log.lines().any(|l| l.contains(
            "callscreen: block caller 017012345678 (+8617012345678) to 9000: rule marketing"
        )),
        "no decision in the log:\n{}",
        fs.log_tail(40)
    );

    // fs_cli commands.
    let out = fs.fs_cli("callscreen check 017012345678 9000");
    assert!(out.starts_with("+OK block\n"), "{out}");
    assert!(
        out.contains("rule: marketing\n") && out.contains("reply: busy (reject USER_BUSY)\n"),
        "{out}"
    );
    let out = fs.fs_cli("callscreen status");
    assert!(out.starts_with("+OK\n"), "{out}");
    assert!(
        out.contains("state: loaded\n") && out.contains("rules: 3\n"),
        "{out}"
    );
    assert!(
        out.contains("calls screened: 4 (allowed 2, blocked 2, error 0)"),
        "{out}"
    );
    let out = fs.fs_cli("callscreen frobnicate");
    assert!(
        out.starts_with("-ERR unknown command \"frobnicate\"\nusage: callscreen"),
        "{out}"
    );
}

#[test]
fn reload_keeps_a_good_config_and_unload_load_works_while_running() {
    let Some(install) =
        install_or_skip("reload_keeps_a_good_config_and_unload_load_works_while_running")
    else {
        return;
    };
    let fs = FreeSwitch::start(&install, "reload", CONFIG, EXTENSIONS);
    load(&fs);
    let yaml = fs.dir.join("conf/callscreen.yaml");

    // A broken file: -ERR file:line:column, and calls keep the old rules.
    std::fs::write(&yaml, "rules:\n  - name: everyone\n    action: blok\n").unwrap();
    let out = fs.fs_cli("callscreen reload");
    assert!(
        out.starts_with(&format!(
            "-ERR {}:3:13: rules[0].action: unknown variant `blok`",
            yaml.display()
        )),
        "{out}"
    );
    assert!(call(&fs, "017012345678", "9000").starts_with("-ERR USER_BUSY"));
    assert!(call(&fs, "+12025550123", "9000").starts_with("+OK"));

    // A good file takes over at once.
    std::fs::write(&yaml, "replies:\n  gone: {kind: reject, cause: UNALLOCATED_NUMBER}\nrules:\n  - name: everyone\n    action: block\n    reply: gone\n").unwrap();
    let out = fs.fs_cli("callscreen reload");
    assert!(out.starts_with("+OK reloaded"), "{out}");
    let out = call(&fs, "+12025550124", "9000");
    assert!(out.starts_with("-ERR UNALLOCATED_NUMBER"), "{out}");

    // unload and load again while FreeSWITCH keeps running.
    let out = fs.fs_cli("unload mod_callscreen");
    assert!(out.contains("+OK"), "unload: {out}");
    let out = fs.fs_cli("callscreen status");
    assert!(
        out.contains("-ERR"),
        "the API must be gone after unload: {out}"
    );
    load(&fs);
    let out = fs.fs_cli("callscreen status");
    assert!(
        out.contains("calls screened: 0 "),
        "fresh counters after load: {out}"
    );
    let out = call(&fs, "+12025550125", "9000");
    assert!(
        out.starts_with("-ERR UNALLOCATED_NUMBER"),
        "screening after load again: {out}"
    );
    assert!(fs.esl().api("status").contains("is ready"));
}

#[test]
fn a_missing_config_lets_calls_through_until_reload() {
    let Some(install) = install_or_skip("a_missing_config_lets_calls_through_until_reload") else {
        return;
    };
    let fs = FreeSwitch::start(&install, "missing", CONFIG, EXTENSIONS);
    let yaml = fs.dir.join("conf/callscreen.yaml");
    std::fs::remove_file(&yaml).unwrap();
    load(&fs);
    assert!(
        fs.log().contains("mod_callscreen: no usable config ("),
        "{}",
        fs.log_tail(20)
    );
    let out = call(&fs, "017012345678", "9000");
    assert!(out.starts_with("+OK"), "{out}");
    assert_eq!(reached(&fs, "017012345678"), "reached-error-");
    let out = fs.fs_cli("callscreen status");
    assert!(
        out.contains("state: error: ") && out.contains("cannot read"),
        "{out}"
    );

    std::fs::write(&yaml, CONFIG).unwrap();
    assert!(fs.fs_cli("callscreen reload").starts_with("+OK reloaded"));
    assert!(call(&fs, "017012345679", "9000").starts_with("-ERR USER_BUSY"));
}

const OPS_CONFIG: &str = r#"
numbering:
  country_code: "86"
replies:
  busy: { kind: reject, cause: USER_BUSY }
rules:
  - name: runtime-allow
    caller_in: runtime-allow
    action: allow
  - name: runtime-block
    caller_in: runtime-block
    action: block
    reply: busy
ledger:
  fsync: always
"#;

#[test]
fn a_runtime_block_survives_kill_9_with_its_ledger_line_and_event() {
    let Some(install) =
        install_or_skip("a_runtime_block_survives_kill_9_with_its_ledger_line_and_event")
    else {
        return;
    };
    let mut fs = FreeSwitch::start(&install, "ops", OPS_CONFIG, EXTENSIONS);
    load(&fs);
    let mut events = fs.esl();
    events.subscribe("plain CUSTOM callscreen::verdict");

    let out = fs.fs_cli("callscreen block 013900139000 1d e2e harassment");
    assert!(
        out.starts_with("+OK added +8613900139000 to runtime-block"),
        "{out}"
    );
    let out = call(&fs, "013900139000", "9000");
    assert!(
        out.starts_with("-ERR USER_BUSY"),
        "a runtime-blocked caller: {out}\n{}",
        fs.log_tail(40)
    );
    assert_eq!(reached(&fs, "013900139000"), "");

    // The ESL event for that call.
    let event = loop {
        let e = events
            .next_event(std::time::Duration::from_secs(10))
            .expect("a callscreen::verdict event within 10 s");
        if e.get("Callscreen-Caller-Number").map(String::as_str) == Some("013900139000") {
            break e;
        }
    };
    assert_eq!(event["Event-Subclass"], "callscreen::verdict");
    assert_eq!(event["Callscreen-Verdict"], "block");
    assert_eq!(event["Callscreen-Outcome"], "blocked");
    assert_eq!(event["Callscreen-Rule"], "runtime-block");
    assert_eq!(event["Callscreen-Reply"], "busy");
    assert_eq!(event["Callscreen-Caller"], "+8613900139000");
    let uuid = event["Unique-ID"].clone();
    assert!(!uuid.is_empty());

    // kill -9, start again: the acknowledged entry is back.
    drop(events);
    fs.kill_and_restart();
    load(&fs);
    let out = fs.fs_cli("callscreen list block");
    assert!(
        out.starts_with("+OK 1 entries\n") && out.contains("+8613900139000"),
        "after kill -9: {out}\n{}",
        fs.log_tail(40)
    );
    assert!(out.contains("e2e harassment"), "{out}");
    let out = call(&fs, "013900139000", "9000");
    assert!(out.starts_with("-ERR USER_BUSY"), "still blocked: {out}");

    // The ledger line of the first call, written with fsync: always.
    let ledger = fs.dir.join("db/callscreen/ledger");
    let text: String = std::fs::read_dir(&ledger)
        .unwrap_or_else(|e| panic!("{}: {e}", ledger.display()))
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    let line: serde_json::Value = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["uuid"] == uuid.as_str())
        .unwrap_or_else(|| panic!("no ledger line for {uuid} in:\n{text}"));
    assert_eq!(line["caller_number"], "013900139000");
    assert_eq!(line["caller"], "+8613900139000");
    assert_eq!(line["destination_number"], "9000");
    assert_eq!(line["rule"], "runtime-block");
    assert_eq!(line["reply"], "busy");
    assert_eq!(line["outcome"], "blocked");
    assert!(line["time"].as_str().unwrap().ends_with('Z'));

    let out = fs.fs_cli("callscreen report --caller 013900139000");
    assert!(out.starts_with("+OK\n"), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("+8613900139000 ")),
        "{out}"
    );
    let out = fs.fs_cli("callscreen status");
    assert!(out.contains(" dropped 0, failed 0\n"), "{out}");
}

mod replies;

const PROFILES_CONFIG: &str = r#"
numbering:
  country_code: "86"
  national_number_lengths: [10, 11]
lists:
  pools: ["+86170*"]
replies:
  busy: { kind: reject, cause: USER_BUSY }
  gone: { kind: reject, cause: UNALLOCATED_NUMBER }
rules:
  - name: robots
    variables: { sip_user_agent: "(?i)friendly-scanner" }
    action: block
    reply: gone
  - name: unverified-pools
    caller_in: pools
    variables_not: { sip_verstat: "^TN-Validation-Passed$" }
    action: block
    reply: busy
profiles:
  courier-line:
    destination: ["9002"]
    rules:
      - { name: courier-takes-pools, caller_in: pools, action: allow }
"#;

/// 9000: the top-level rules; 9002: the courier line's own profile (chosen by
/// the number called); 9003: the dialplan marks the caller as verified first.
const PROFILE_EXTENSIONS: &str = r#"
      <extension name="screened">
        <condition field="destination_number" expression="^900[02]$">
          <action application="callscreen"/>
          <action application="hash" data="insert/e2e/${caller_id_number}/reached-${callscreen_verdict}-${callscreen_profile}-${callscreen_rule}"/>
          <action application="answer"/>
          <action application="sleep" data="200"/>
          <action application="hangup"/>
        </condition>
      </extension>
      <extension name="verified">
        <condition field="destination_number" expression="^9003$">
          <action application="set" data="sip_verstat=TN-Validation-Passed"/>
          <action application="callscreen"/>
          <action application="hash" data="insert/e2e/${caller_id_number}/reached-${callscreen_verdict}-${callscreen_profile}-${callscreen_rule}"/>
          <action application="answer"/>
          <action application="sleep" data="200"/>
          <action application="hangup"/>
        </condition>
      </extension>
"#;

#[test]
fn a_per_destination_profile_and_channel_variables_decide_real_calls() {
    let Some(install) =
        install_or_skip("a_per_destination_profile_and_channel_variables_decide_real_calls")
    else {
        return;
    };
    let fs = FreeSwitch::start(&install, "profiles", PROFILES_CONFIG, PROFILE_EXTENSIONS);
    load(&fs);

    // A pool number calling the main line: unverified, blocked busy.
    let out = call(&fs, "017012345678", "9000");
    assert!(
        out.starts_with("-ERR USER_BUSY"),
        "{out}\n{}",
        fs.log_tail(40)
    );
    assert_eq!(reached(&fs, "017012345678"), "");

    // The same kind of caller on the courier line: its profile lets pools in.
    let out = call(&fs, "017012345679", "9002");
    assert!(out.starts_with("+OK"), "{out}\n{}", fs.log_tail(40));
    assert_eq!(
        reached(&fs, "017012345679"),
        "reached-allow-courier-line-courier-takes-pools"
    );

    // A variable the dialplan set before callscreen: the caller is verified.
    let out = call(&fs, "017012345680", "9003");
    assert!(out.starts_with("+OK"), "{out}\n{}", fs.log_tail(40));
    assert_eq!(
        reached(&fs, "017012345680"),
        "reached-allow-default-default"
    );

    // A variable that came with the call (set on originate, carried to the
    // b-leg by loopback): a scanner's user agent is refused as vacant.
    let out = fs.esl().api(
        "originate {origination_caller_id_number=+12025550123,sip_user_agent=friendly-scanner/1.0,originate_timeout=10}loopback/9000/default &park",
    );
    assert!(
        out.starts_with("-ERR UNALLOCATED_NUMBER"),
        "{out}\n{}",
        fs.log_tail(40)
    );
    assert_eq!(reached(&fs, "+12025550123"), "");
    let out = call(&fs, "+12025550124", "9000");
    assert!(out.starts_with("+OK"), "{out}");
    assert_eq!(
        reached(&fs, "+12025550124"),
        "reached-allow-default-default"
    );

    // fs_cli explains the same decisions, with a profile and variables given.
    let out = fs.fs_cli("callscreen check --var sip_user_agent=friendly-scanner +12025550123 9000");
    assert!(out.starts_with("+OK block\n"), "{out}");
    assert!(out.contains("rule: robots\n"), "{out}");
    let out = fs.fs_cli("callscreen check 017012345678 9002");
    assert!(
        out.contains("profile: courier-line (chosen by destination)\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "1. MATCH courier-takes-pools: caller +8617012345678 matches prefix +86170* of pools"
        ),
        "{out}"
    );
    let out = fs.fs_cli("callscreen check --profile courier-line --var sip_verstat=TN-Validation-Passed 017012345678 9000");
    assert!(out.contains("profile: courier-line (requested)\n"), "{out}");
}

const POOL_CONFIG: &str = r#"
numbering:
  country_code: "86"
replies:
  vacant: { kind: reject, cause: UNALLOCATED_NUMBER }
limits:
  - name: pools
    key: caller_prefix
    digits: 7
    distinct: 4/1h
    penalty: 1h
    reply: vacant
"#;

/// 9002: advise mode, recording what the limiter said.
const LIMIT_EXTENSIONS: &str = r#"
      <extension name="limit-advised">
        <condition field="destination_number" expression="^9002$">
          <action application="callscreen" data="advise"/>
          <action application="hash" data="insert/e2e/${caller_id_number}/limit-${callscreen_limit}-${callscreen_limit_key}-${callscreen_limit_state}"/>
          <action application="answer"/>
          <action application="sleep" data="200"/>
          <action application="hangup"/>
        </condition>
      </extension>
"#;

#[test]
fn a_rotating_pool_is_let_through_until_it_trips_and_its_penalty_survives_restarts() {
    let Some(install) = install_or_skip(
        "a_rotating_pool_is_let_through_until_it_trips_and_its_penalty_survives_restarts",
    ) else {
        return;
    };
    let extensions = format!("{EXTENSIONS}{LIMIT_EXTENSIONS}");
    let mut fs = FreeSwitch::start(&install, "pool", POOL_CONFIG, &extensions);
    load(&fs);

    // Four numbers of one 7-digit block get through…
    for i in 0..4 {
        let caller = format!("0170123400{i:02}");
        let out = call(&fs, &caller, "9000");
        assert!(
            out.starts_with("+OK"),
            "{caller}: {out}\n{}",
            fs.log_tail(30)
        );
        assert_eq!(reached(&fs, &caller), "reached-allow-default");
    }
    // …the fifth is the pool showing itself: hung up with the limit's reply.
    let out = call(&fs, "017012340004", "9000");
    assert!(
        out.starts_with("-ERR UNALLOCATED_NUMBER"),
        "fifth number of the pool: {out}\n{}",
        fs.log_tail(30)
    );
    assert_eq!(reached(&fs, "017012340004"), "");
    // The whole block is in the penalty box now, numbers seen before included,
    // while another block keeps getting through.
    assert!(call(&fs, "017012340000", "9000").starts_with("-ERR UNALLOCATED_NUMBER"));
    for i in [0, 1, 2, 0, 1] {
        let caller = format!("0170555500{i:02}");
        assert!(call(&fs, &caller, "9000").starts_with("+OK"), "{caller}");
    }
    // The variables say which limit, key and state.
    let out = call(&fs, "017012340009", "9002");
    assert!(out.starts_with("+OK"), "{out}\n{}", fs.log_tail(30));
    assert_eq!(reached(&fs, "017012340009"), "limit-pools-1701234-penalty");
    let log = fs.log();
    assert!(
        log.contains("callscreen: block caller 017012340004 (+8617012340004) to 9000: rule default, reason limit, limit pools key 1701234 tripped (distinct 5/4 per 1h)"),
        "{}",
        fs.log_tail(30)
    );
    let out = fs.fs_cli("callscreen penalty list");
    assert!(
        out.starts_with("+OK 1 key in the penalty box\npools 1701234 until "),
        "{out}"
    );
    let out = fs.fs_cli("callscreen status");
    assert!(out.contains("calls refused by limits: 3 "), "{out}");

    // A crash: the penalty was written when it began, so it is still there.
    let state = fs.dir.join("db/callscreen/callscreen-limits.state");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !state.exists() {
        assert!(std::time::Instant::now() < deadline, "no state file");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    fs.kill_and_restart();
    load(&fs);
    assert!(
        call(&fs, "017012340011", "9000").starts_with("-ERR UNALLOCATED_NUMBER"),
        "after a crash\n{}",
        fs.log_tail(30)
    );
    // A clean restart too.
    fs.restart();
    load(&fs);
    assert!(call(&fs, "017012340012", "9000").starts_with("-ERR UNALLOCATED_NUMBER"));
    assert!(call(&fs, "017055550099", "9000").starts_with("+OK"));
    let out = fs.fs_cli("callscreen penalty list");
    assert!(out.contains("pools 1701234 until "), "{out}");

    // Lifting it lets the block through again.
    let out = fs.fs_cli("callscreen penalty clear 1701234");
    assert!(out.starts_with("+OK lifted 1 penalty of 1701234"), "{out}");
    assert!(call(&fs, "017012340013", "9000").starts_with("+OK"));
}

/// The shipped dialplan example's extensions, without its `<include>` wrapper.
fn shipped_extensions() -> String {
    let xml = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conf/dialplan/callscreen.xml"),
    )
    .expect("conf/dialplan/callscreen.xml");
    let start = xml.find("<include>").expect("<include>") + "<include>".len();
    let end = xml.rfind("</include>").expect("</include>");
    xml[start..end].to_string()
}

#[test]
fn the_shipped_config_and_dialplan_example_screen_real_calls() {
    let Some(install) =
        install_or_skip("the_shipped_config_and_dialplan_example_screen_real_calls")
    else {
        return;
    };
    let yaml = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conf/callscreen.yaml"),
    )
    .expect("conf/callscreen.yaml");
    let fs = FreeSwitch::start(&install, "shipped", &yaml, &shipped_extensions());
    load(&fs);
    let status = fs.fs_cli("callscreen status");
    assert!(
        status.starts_with("+OK\n") && status.contains("state: loaded\n"),
        "{status}\n{}",
        fs.log_tail(40)
    );

    // Withheld: the shipped rule rejects it before the bridge.
    let out = call(&fs, "anonymous", "4000");
    assert!(
        out.starts_with("-ERR CALL_REJECTED"),
        "{out}\n{}",
        fs.log_tail(40)
    );
    // Family: allowed, the example's log action runs, then its bridge (to a
    // phone this test FreeSWITCH does not have).
    let _ = call(&fs, "013800138000", "4000");
    assert!(
        fs.log().contains("callscreen: allow by family (list)"),
        "the example's next action did not run:\n{}",
        fs.log_tail(40)
    );
    // A caller ID that is not a number: the reason's default reply (vacant:
    // SIT tones in early media, then 404's cause; waited for past the early
    // media).
    let out = fs.esl().api(
        "originate {origination_caller_id_number=call%me,ignore_early_media=true,originate_timeout=15}loopback/4000/default &park",
    );
    assert!(
        out.starts_with("-ERR UNALLOCATED_NUMBER"),
        "{out}\n{}",
        fs.log_tail(40)
    );
    // A virtual-operator number: blocked by the shipped list (its reply is a
    // random pick, so check says which rule, not which reply).
    let out = fs.fs_cli("callscreen check 017012345678 4000");
    assert!(
        out.starts_with("+OK block\n") && out.contains("rule: virtual-operators\n"),
        "{out}"
    );
    // The ledger and state directories of the shipped config are in use.
    let status = fs.fs_cli("callscreen status");
    assert!(status.contains("calls screened: 3 "), "{status}");
    assert!(!status.contains("memory only"), "{status}");
}
