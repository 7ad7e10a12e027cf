//! End-to-end tests against a real FreeSWITCH (found through
//! `FREESWITCH_PREFIX`, /usr/local/freeswitch, or `freeswitch` on PATH).
//! Without one, every test says SKIPPED and passes; `make test` says so too.

mod esl;
mod freeswitch;

use freeswitch::{find_install, FreeSwitch, Install};

/// The FreeSWITCH to test against, or a loud skip.
fn install_or_skip(test: &str) -> Option<Install> {
    let found = find_install();
    if found.is_none() {
        eprintln!(
            "SKIPPED {test}: no FreeSWITCH found (set FREESWITCH_PREFIX, install into /usr/local/freeswitch, or put freeswitch on PATH)"
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
    let state = fs.dir.join("db/callscreen-limits.state");
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
