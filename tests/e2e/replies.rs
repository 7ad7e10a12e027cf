//! Replies over SIP: sipp (Debian's `sip-tester`) calls a FreeSWITCH SIP
//! profile on loopback, and the SIP responses it receives are checked: the
//! status of each reject cause, early media (183) before the failure, and a
//! challenge answered with DTMF (sent as SIP INFO, which FreeSWITCH takes by
//! default from a caller that offers no RFC 2833 telephone-event).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::freeswitch::{free_port, FreeSwitch};
use super::install_or_skip;

const CONFIG: &str = r#"
numbering:
  country_code: "86"
lists:
  busy: ["+861701*"]
  vacant: ["+861702*"]
  rejected: ["+861703*"]
  busy-tone: ["+861704*"]
  challenged: ["+861705*"]
  ringout: ["+861706*"]
replies:
  busy: { kind: reject, cause: USER_BUSY }
  gone: { kind: vacant }
  busy-tone: { kind: busy_tone, country: cn, seconds: 1 }
  ring: { kind: ringout, seconds: 1 }
  robots-out: { kind: transfer, extension: fallback, context: public }
  press-1:
    kind: challenge
    prompt: "tone_stream://%(300,0,800)"
    digits: "1"
    tries: 1
    timeout: 4
    fallback: robots-out
rules:
  - { name: busy, caller_in: busy, action: block, reply: busy }
  - { name: vacant, caller_in: vacant, action: block, reply: gone }
  - { name: rejected, caller_in: rejected, action: block, reply: rejected }
  - { name: busy-tone, caller_in: busy-tone, action: block, reply: busy-tone }
  - { name: challenged, caller_in: challenged, action: block, reply: press-1 }
  - { name: ringout, caller_in: ringout, action: block, reply: ring }
"#;

/// The carrier-facing context: screen, then mark how far the call got.
const PUBLIC: &str = r#"
      <extension name="fallback">
        <condition field="destination_number" expression="^fallback$">
          <action application="hash" data="insert/e2e/${caller_id_number}/fallback-${callscreen_challenge}"/>
          <action application="hangup" data="CALL_REJECTED"/>
        </condition>
      </extension>
      <extension name="did">
        <condition field="destination_number" expression="^(\d+)$">
          <action application="callscreen"/>
          <action application="hash" data="insert/e2e/${caller_id_number}/reached-${callscreen_verdict}-${callscreen_challenge}"/>
          <action application="answer"/>
          <action application="playback" data="tone_stream://%(200,0,600)"/>
          <action application="hangup"/>
        </condition>
      </extension>
"#;

/// What sipp saw.
struct SippRun {
    success: bool,
    /// Status codes of the SIP responses received, in order.
    statuses: Vec<u16>,
    output: String,
}

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/e2e/sipp")
        .join(name)
}

fn sipp(fs: &FreeSwitch, scenario_name: &str, caller: &str, keys: &[(&str, &str)]) -> SippRun {
    let log = fs.dir.join(format!("sipp-{caller}.log"));
    let mut cmd = Command::new("sipp");
    cmd.arg("-sf")
        .arg(scenario(scenario_name))
        .args(["-s", "4000", "-key", "caller", caller])
        .args(["-i", "127.0.0.1", "-p", &free_port().to_string()])
        .args(["-mi", "127.0.0.1", "-mp", &free_port().to_string()])
        .args(["-m", "1", "-nostdin", "-timeout", "30s", "-timeout_error"])
        .args(["-trace_msg", "-message_file"])
        .arg(&log);
    for (k, v) in keys {
        cmd.args(["-key", k, v]);
    }
    cmd.arg(format!("127.0.0.1:{}", fs.sip_port));
    let out = cmd.output().expect("run sipp");
    let messages = std::fs::read_to_string(&log).unwrap_or_default();
    // Received responses: "... message received ..." blocks whose first line is "SIP/2.0 NNN".
    let mut statuses = Vec::new();
    let mut received = false;
    for line in messages.lines() {
        let line = line.trim();
        if line.contains("message received") {
            received = true;
        } else if received && !line.is_empty() {
            if let Some(code) = line.strip_prefix("SIP/2.0 ") {
                if let Ok(n) = code[..3.min(code.len())].parse() {
                    statuses.push(n);
                }
            }
            received = false;
        }
    }
    SippRun {
        success: out.status.success(),
        statuses,
        output: format!(
            "{}\n{}\nmessages:\n{messages}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn hash(fs: &FreeSwitch, caller: &str) -> String {
    let out = fs.esl().api(&format!("hash select/e2e/{caller}"));
    if out.starts_with("-ERR") {
        String::new()
    } else {
        out
    }
}

fn sipp_available() -> bool {
    Command::new("sipp").arg("-v").output().is_ok()
}

#[test]
fn screened_sip_callers_get_the_reply_s_sip_response() {
    let Some(install) = install_or_skip("screened_sip_callers_get_the_reply_s_sip_response") else {
        return;
    };
    if !sipp_available() {
        super::skip::skip(
            "screened_sip_callers_get_the_reply_s_sip_response",
            "sipp (Debian's sip-tester) not installed",
        );
        return;
    }
    let fs = FreeSwitch::start_with_sip(&install, "sip-replies", CONFIG, "", Some(PUBLIC));
    let out = fs.fs_cli("load mod_callscreen");
    assert!(out.contains("+OK"), "load: {out}");

    // reject USER_BUSY: 486 Busy Here, no early media.
    let r = sipp(&fs, "invite_rejected.xml", "017011110000", &[]);
    assert!(r.success, "{}", r.output);
    assert_eq!(r.statuses.last(), Some(&486), "{}", r.output);
    assert!(!r.statuses.contains(&183), "{}", r.output);

    // vacant: SIT tones as early media (183), then 404 Not Found.
    let r = sipp(&fs, "invite_rejected.xml", "017022220000", &[]);
    assert!(r.success, "{}", r.output);
    let p183 = r.statuses.iter().position(|&s| s == 183);
    let p404 = r.statuses.iter().position(|&s| s == 404);
    assert!(
        matches!((p183, p404), (Some(a), Some(b)) if a < b),
        "183 before 404 expected, got {:?}\n{}",
        r.statuses,
        r.output
    );

    // The built-in reply rejected (CALL_REJECTED): 603 Decline.
    let r = sipp(&fs, "invite_rejected.xml", "017033330000", &[]);
    assert!(r.success, "{}", r.output);
    assert_eq!(r.statuses.last(), Some(&603), "{}", r.output);

    // busy_tone: early media then 486.
    let r = sipp(&fs, "invite_rejected.xml", "017044440000", &[]);
    assert!(r.success, "{}", r.output);
    assert!(r.statuses.contains(&183), "{:?}\n{}", r.statuses, r.output);
    assert_eq!(r.statuses.last(), Some(&486), "{}", r.output);

    // ringout: ringback as early media, then NO_ANSWER → 480.
    let r = sipp(&fs, "invite_rejected.xml", "017066660000", &[]);
    assert!(r.success, "{}", r.output);
    assert!(r.statuses.contains(&183), "{:?}\n{}", r.statuses, r.output);
    assert_eq!(r.statuses.last(), Some(&480), "{}", r.output);

    // None of them reached the next dialplan action.
    for caller in [
        "017011110000",
        "017022220000",
        "017033330000",
        "017044440000",
        "017066660000",
    ] {
        assert_eq!(hash(&fs, caller), "", "{caller} got past callscreen");
    }

    // A challenge passed with the right digit continues into the dialplan.
    let r = sipp(
        &fs,
        "challenge_info_dtmf.xml",
        "017055550001",
        &[("digit", "1")],
    );
    assert!(r.success, "{}\n{}", r.output, fs.log_tail(60));
    assert_eq!(
        hash(&fs, "017055550001"),
        "reached-allow-passed",
        "{}",
        fs.log_tail(60)
    );

    // A wrong digit gets the fallback reply (a transfer to the fallback extension).
    let r = sipp(
        &fs,
        "challenge_info_dtmf.xml",
        "017055550002",
        &[("digit", "2")],
    );
    assert!(r.success, "{}\n{}", r.output, fs.log_tail(60));
    assert_eq!(
        hash(&fs, "017055550002"),
        "fallback-failed",
        "{}",
        fs.log_tail(60)
    );

    let log = fs.log();
    assert!(
        log.contains("callscreen: challenge passed: call continues (pressed 1)"),
        "{}",
        fs.log_tail(80)
    );
    assert!(
        log.contains("callscreen: challenge failed: fallback reply (pressed 2)"),
        "{}",
        fs.log_tail(80)
    );
}
