//! Host tests of the reply kinds: for each, the exact FreeSWITCH applications
//! and arguments the module asks the host to run, in order.

use super::{module_path, run, ConfDir, Run};

/// Every call of a run: the lines after each `> call…` script line that show
/// what was done to the channel (applications, hang-ups, what the caller
/// pressed, the reply variables).
fn calls(r: &Run) -> Vec<Vec<String>> {
    let mut all = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in &r.lines {
        if line.starts_with("> ") {
            if let Some(c) = current.take() {
                all.push(c);
            }
            if line == "> call" || line.starts_with("> call ") {
                current = Some(Vec::new());
            }
            continue;
        }
        if let Some(c) = current.as_mut() {
            let keep = line.starts_with("EXEC ")
                || line.starts_with("HANGUP ")
                || line.starts_with("PRESSED ")
                || line.starts_with("CALLER-HUNG-UP")
                || line.starts_with("RETURNED")
                || line.starts_with("SET callscreen_reply=")
                || line.starts_with("SET callscreen_challenge=")
                || line.starts_with("SET callscreen_digits=")
                || line.starts_with("SET callscreen_fallback=")
                || line.starts_with("SET callscreen_verdict=allow");
            if keep {
                c.push(line.clone());
            }
        }
    }
    all.extend(current);
    all
}

/// A conf dir with a sounds folder holding `vacant.wav` and `press-1.wav`.
fn conf_with_sounds(name: &str, yaml: &str) -> (ConfDir, String) {
    let conf = ConfDir::new(name, yaml);
    let sounds = conf.0.join("sounds");
    std::fs::create_dir_all(&sounds).unwrap();
    for f in ["vacant.wav", "press-1.wav", "sorry.wav"] {
        std::fs::write(sounds.join(f), b"RIFF").unwrap();
    }
    let sounds = sounds.display().to_string();
    (conf, sounds)
}

fn preamble(conf: &ConfDir, sounds: &str) -> String {
    format!(
        "dlopen {}\nglobal conf_dir {}\nglobal sounds_dir {sounds}\nload\n",
        module_path().display(),
        conf.0.display()
    )
}

const KINDS: &str = r#"
numbering:
  country_code: "86"
lists:
  p0: ["+861700*"]
  p1: ["+861701*"]
  p2: ["+861702*"]
  p3: ["+861703*"]
  p4: ["+861704*"]
  p5: ["+861705*"]
  p6: ["+861706*"]
replies:
  busy: { kind: reject, cause: USER_BUSY }
  busy-tone: { kind: busy_tone, seconds: 3 }
  gone:
    kind: vacant
    file: $${sounds_dir}/vacant.wav
  sorry: { kind: message, file: "$${sounds_dir}/sorry.wav", answer: true }
  vm: { kind: voicemail, extension: "vm-1000", context: default }
  desk: { kind: transfer, extension: "1000" }
  ring: { kind: ringout, country: us, seconds: 12 }
rules:
  - { name: r0, caller_in: p0, action: block, reply: busy }
  - { name: r1, caller_in: p1, action: block, reply: busy-tone }
  - { name: r2, caller_in: p2, action: block, reply: gone }
  - { name: r3, caller_in: p3, action: block, reply: sorry }
  - { name: r4, caller_in: p4, action: block, reply: vm }
  - { name: r5, caller_in: p5, action: block, reply: desk }
  - { name: r6, caller_in: p6, action: block, reply: ring }
"#;

#[test]
fn each_reply_kind_runs_its_freeswitch_applications_in_order() {
    let (conf, sounds) = conf_with_sounds("kinds", KINDS);
    let mut script = preamble(&conf, &sounds);
    for i in 0..7 {
        script.push_str(&format!("var caller_id_number +86170{i}1234567\ncall\n"));
    }
    let r = run(&script);
    let got = calls(&r);
    let expected: Vec<Vec<String>> = vec![
        vec![
            "SET callscreen_reply=busy",
            "HANGUP USER_BUSY",
            "RETURNED ready=0",
        ],
        vec![
            "SET callscreen_reply=busy-tone",
            "EXEC pre_answer ",
            // China's busy tone (the numbering plan's country), 3 s of 0.7 s cycles.
            "EXEC playback tone_stream://%(350,350,450);loops=5",
            "HANGUP USER_BUSY",
            "RETURNED ready=0",
        ],
        vec![
            "SET callscreen_reply=gone",
            "EXEC pre_answer ",
            "EXEC playback tone_stream://%(380,0,985.2);%(276,0,1370.6);%(380,0,1776.7)",
            &format!("EXEC playback {sounds}/vacant.wav"),
            "HANGUP UNALLOCATED_NUMBER",
            "RETURNED ready=0",
        ],
        vec![
            "SET callscreen_reply=sorry",
            "EXEC answer ",
            &format!("EXEC playback {sounds}/sorry.wav"),
            "HANGUP NORMAL_CLEARING",
            "RETURNED ready=0",
        ],
        vec![
            "SET callscreen_reply=vm",
            "EXEC transfer vm-1000 XML default",
            "RETURNED ready=1",
        ],
        vec![
            "SET callscreen_reply=desk",
            "EXEC transfer 1000 XML",
            "RETURNED ready=1",
        ],
        vec![
            "SET callscreen_reply=ring",
            "EXEC pre_answer ",
            "EXEC playback tone_stream://%(2000,4000,440,480);loops=2",
            "HANGUP NO_ANSWER",
            "RETURNED ready=0",
        ],
    ]
    .into_iter()
    .map(|c| c.into_iter().map(String::from).collect())
    .collect();
    assert_eq!(got, expected, "{}", r.text());
}

const CHALLENGE: &str = r#"
numbering:
  country_code: "86"
lists:
  pool: ["+86170*"]
replies:
  gone: { kind: vacant }
  ask:
    kind: challenge
    prompt: $${sounds_dir}/press-1.wav
    digits: "1"
    tries: 2
    timeout: 4
    remember: 1d
    fallback: gone
rules:
  - name: pool
    caller_in: pool
    action: block
    reply: ask
"#;

#[test]
fn a_challenge_passed_continues_the_dialplan_and_is_remembered() {
    let (conf, sounds) = conf_with_sounds("challenge-pass", CHALLENGE);
    let script = format!(
        "{}var caller_id_number +8617012345678\ndigits 1\ncall\nvar caller_id_number +8617012345678\ncall\napi check +8617012345678\n",
        preamble(&conf, &sounds)
    );
    let r = run(&script);
    let got = calls(&r);
    assert_eq!(
        got[0],
        [
            "SET callscreen_reply=ask".to_string(),
            "EXEC answer ".into(),
            "SET callscreen_digits=".into(),
            format!("EXEC play_and_get_digits 1 1 2 4000 # {sounds}/press-1.wav silence_stream://250 callscreen_digits ^1$ 4000"),
            "PRESSED 1".into(),
            "SET callscreen_challenge=passed".into(),
            "SET callscreen_verdict=allow".into(),
            "RETURNED ready=1".into(),
        ],
        "{}",
        r.text()
    );
    r.assert_has("LOG NOTICE 00000000-0000-0000-0000-000000000001 fmt=%.*s\\n text=callscreen: challenge passed: call continues (pressed 1)");
    // The same caller again: let through without being asked.
    assert_eq!(
        got[1],
        [
            "SET callscreen_verdict=allow",
            "SET callscreen_challenge=remembered",
            "RETURNED ready=1"
        ],
        "{}",
        r.text()
    );
    r.assert_has("SET callscreen_reason=remembered");
    assert!(
        r.lines
            .iter()
            .any(|l| l.starts_with("API| remembered: passed a challenge; let through until ")),
        "{}",
        r.text()
    );
}

#[test]
fn a_challenge_failed_gets_the_fallback_reply() {
    let (conf, sounds) = conf_with_sounds("challenge-fail", CHALLENGE);
    let script = format!(
        "{}var caller_id_number +8617012345678\ndigits 2\ncall\nvar caller_id_number +8617012345678\ncall\n",
        preamble(&conf, &sounds)
    );
    let r = run(&script);
    let got = calls(&r);
    assert_eq!(
        got[0][4..],
        [
            "PRESSED 2",
            "SET callscreen_challenge=failed",
            "SET callscreen_fallback=gone",
            "EXEC pre_answer ",
            "EXEC playback tone_stream://%(380,0,985.2);%(276,0,1370.6);%(380,0,1776.7)",
            "HANGUP UNALLOCATED_NUMBER",
            "RETURNED ready=0",
        ],
        "{}",
        r.text()
    );
    r.assert_has("LOG NOTICE 00000000-0000-0000-0000-000000000001 fmt=%.*s\\n text=callscreen: challenge failed: fallback reply (pressed 2)");
    // Not remembered: asked again.
    assert!(
        got[1]
            .iter()
            .any(|l| l.starts_with("EXEC play_and_get_digits")),
        "{}",
        r.text()
    );
}

#[test]
fn a_caller_who_hangs_up_during_the_reply_is_left_alone() {
    let (conf, sounds) = conf_with_sounds("hangs-up", KINDS);
    let script = format!(
        "{}var caller_id_number +8617021234567\nhangs-up-at playback\ncall\n",
        preamble(&conf, &sounds)
    );
    let r = run(&script);
    assert_eq!(
        calls(&r)[0],
        [
            "SET callscreen_reply=gone",
            "EXEC pre_answer ",
            "EXEC playback tone_stream://%(380,0,985.2);%(276,0,1370.6);%(380,0,1776.7)",
            "CALLER-HUNG-UP",
            "RETURNED ready=0",
        ],
        "{}",
        r.text()
    );
}

#[test]
fn groups_rotate_and_the_chosen_reply_is_in_the_variable() {
    let yaml = r#"
replies:
  busy: { kind: reject, cause: USER_BUSY }
  gone: { kind: reject, cause: UNALLOCATED_NUMBER }
  turns: { kind: group, pick: round_robin, replies: [busy, gone] }
rules:
  - name: everyone
    action: block
    reply: turns
"#;
    let (conf, sounds) = conf_with_sounds("group", yaml);
    let mut script = preamble(&conf, &sounds);
    for _ in 0..3 {
        script.push_str("var caller_id_number +12025550123\ncall\n");
    }
    script.push_str("var caller_id_number +12025550123\ncall advise\n");
    let r = run(&script);
    let got = calls(&r);
    assert_eq!(
        got[0],
        [
            "SET callscreen_reply=busy",
            "HANGUP USER_BUSY",
            "RETURNED ready=0"
        ]
    );
    assert_eq!(
        got[1],
        [
            "SET callscreen_reply=gone",
            "HANGUP UNALLOCATED_NUMBER",
            "RETURNED ready=0"
        ]
    );
    assert_eq!(
        got[2],
        [
            "SET callscreen_reply=busy",
            "HANGUP USER_BUSY",
            "RETURNED ready=0"
        ]
    );
    // Advise: the chosen reply is named, nothing is done.
    assert_eq!(got[3], ["SET callscreen_reply=gone", "RETURNED ready=1"]);
}

#[test]
fn a_missing_recording_is_a_config_error_with_its_line() {
    let (conf, sounds) = conf_with_sounds("missing-sound", KINDS);
    std::fs::remove_file(format!("{sounds}/vacant.wav")).unwrap();
    let r = run(&format!("{}api reload\n", preamble(&conf, &sounds)));
    let yaml = conf.yaml();
    assert!(
        r.lines.iter().any(|l| l
            .starts_with("LOG CRIT - fmt=%.*s\\n text=mod_callscreen: no usable config (")
            && l.contains(&format!("{}:17:11: ", yaml.display()))
            && l.contains(&format!(
                "{sounds}/vacant.wav not found (written as \"$${{sounds_dir}}/vacant.wav\")"
            ))),
        "{}",
        r.text()
    );
    assert!(
        r.after("api reload")[0].starts_with(&format!("API| -ERR {}:17:11: ", yaml.display())),
        "{}",
        r.text()
    );
}

/// The ledger keeps a challenged call twice: when it is screened
/// (`challenged`) and when the caller has answered (`challenge-passed` or
/// `challenge-failed`, with the digits), so a regulator sees both.
#[test]
fn a_challenge_and_its_result_are_both_in_the_ledger() {
    let (conf, sounds) = conf_with_sounds("challenge-ledger", CHALLENGE);
    let script = format!(
        "{}global db_dir {}\nload\nvar caller_id_number +8617012345678\ndigits 2\ncall\nvar caller_id_number +8617055555555\ndigits 1\ncall\napi metrics\nshutdown\n",
        preamble(&conf, &sounds).trim_end_matches("load\n"),
        conf.0.join("db").display()
    );
    let r = run(&script);
    let dir = conf.0.join("db/callscreen/ledger");
    let text: String = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", dir.display(), r.text()))
        .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap())
        .collect();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let seen: Vec<(&str, &str, &str)> = lines
        .iter()
        .map(|v| {
            (
                v["caller"].as_str().unwrap(),
                v["outcome"].as_str().unwrap(),
                v["digits"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("+8617012345678", "challenged", ""),
            ("+8617012345678", "challenge-failed", "2"),
            ("+8617055555555", "challenged", ""),
            ("+8617055555555", "challenge-passed", "1"),
        ],
        "{text}"
    );
    assert_eq!(lines[1]["rule"], "pool");
    assert_eq!(lines[1]["reply"], "ask");
    r.assert_has("API| callscreen_challenges_total{result=\"failed\"} 1");
    r.assert_has("API| callscreen_challenges_total{result=\"passed\"} 1");
}
