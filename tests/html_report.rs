//! The HTML report in a real browser: `callscreen report --html` on a
//! ledger, opened in headless Chromium (Debian's `chromium` package). The
//! page must load with no console message (no script error, no resource
//! refused by its Content-Security-Policy), and its DOM must hold the four
//! charts with their bars. A screenshot is left in the target directory to
//! look at. Skipped, loudly, where Chromium is not installed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/skip.rs"]
mod skip;

fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// Runs headless Chromium on `page` with `mode` (`--dump-dom`,
/// `--screenshot=…`); (stdout, stderr). Killed after two minutes.
fn chromium(browser: &Path, page: &Path, mode: &str, work: &Path) -> (String, String) {
    let profile = work.join(format!("profile-{}", mode.len()));
    std::fs::create_dir_all(&profile).unwrap();
    let stdout_path = work.join("chromium.out");
    let stderr_path = work.join("chromium.err");
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1200,2400",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(mode)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium failed: {status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within two minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (
        std::fs::read_to_string(stdout_path).unwrap_or_default(),
        std::fs::read_to_string(stderr_path).unwrap_or_default(),
    )
}

/// A ledger as the module writes it: blocked calls over three days for
/// several reasons and limits, allowed ones, one a shadow rule would have
/// blocked, keys the report does not know, and a line cut short.
fn ledger() -> String {
    let mut out = String::new();
    let mut line = |day: u32,
                    hour: u32,
                    min: u32,
                    caller: &str,
                    verdict: &str,
                    rule: &str,
                    reason: &str,
                    limit: &str,
                    shadow: &str| {
        out.push_str(&format!(
            "{{\"time\":\"2024-05-{day:02}T{hour:02}:{min:02}:00+08:00\",\"uuid\":\"u-{day}-{hour}-{min}\",\
             \"caller_number\":\"{caller}\",\"caller_name\":\"\",\"destination\":\"+862566668888\",\
             \"network_addr\":\"203.0.113.10\",\"sip_call_id\":\"c1@x\",\"user_agent\":\"dialer\",\
             \"pai\":null,\"verstat\":\"No-TN-Validation\",\"profile\":\"home\",\"rule\":\"{rule}\",\
             \"limit\":\"{limit}\",\"key\":\"+861352271\",\"counters\":{{\"calls\":5,\"distinct\":4}},\
             \"reply\":\"{}\",\"outcome\":\"{verdict}\",\"reason\":\"{reason}\",\"shadow\":\"{shadow}\"}}\n",
            if verdict == "blocked" { "busy" } else { "" }
        ));
    };
    for day in 6..=8 {
        for i in 0..12u32 {
            let hour = 9 + i % 8;
            line(
                day,
                hour,
                i * 4,
                &format!("+861705521{:04}", i * 37 + day),
                "blocked",
                "virtual-operators",
                "list",
                "",
                "",
            );
            if i % 3 == 0 {
                line(
                    day,
                    hour,
                    i * 4 + 1,
                    &format!("+861352271{:04}", i + day * 100),
                    "blocked",
                    "pool",
                    "limit",
                    "distinct-callers",
                    "",
                );
            }
            if i % 4 == 0 {
                line(
                    day,
                    hour,
                    i * 4 + 2,
                    &format!("+861526618{:04}", i),
                    "blocked",
                    "rate",
                    "limit",
                    "calls-per-prefix",
                    "",
                );
            }
        }
        line(
            day,
            22,
            30,
            "anonymous",
            "blocked",
            "withheld-number",
            "anonymous",
            "",
            "",
        );
        line(
            day,
            12,
            0,
            "+8613800138000",
            "allowed",
            "family",
            "list",
            "",
            "",
        );
        line(
            day,
            13,
            0,
            "+8613912340000",
            "allowed",
            "default",
            "default",
            "",
            "strict-hours",
        );
    }
    out.push_str("{\"time\":\"2024-05-08T23:59:00+08:00\",\"caller_num");
    out
}

fn svg_of<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no element #{id} in the DOM"));
    let start = dom[..start].rfind("<svg").expect("chart is an svg element");
    let end = start + dom[start..].find("</svg>").expect("svg closed");
    &dom[start..end]
}

fn attr(tag: &str, name: &str) -> u64 {
    let key = format!("{name}=\"");
    let at = tag
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {}", &tag[..tag.len().min(300)]))
        + key.len();
    tag[at..at + tag[at..].find('"').unwrap()].parse().unwrap()
}

#[test]
fn the_html_report_opens_in_chromium_with_its_charts() {
    let work = std::env::temp_dir().join(format!("callscreen-html-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let ledger_path = work.join("ledger.jsonl");
    std::fs::write(&ledger_path, ledger()).unwrap();
    let page = work.join("report.html");
    let out = Command::new(env!("CARGO_BIN_EXE_callscreen"))
        .args(["report", "--html"])
        .arg(&page)
        .arg(&ledger_path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("skipped 1 unreadable lines:"), "{stdout}");
    assert!(
        stdout.contains("ledger.jsonl:67: EOF while parsing"),
        "{stdout}"
    );
    assert!(
        stdout.contains("allowed calls a shadow rule would have blocked: 3"),
        "{stdout}"
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"));

    let Some(browser) = find_chromium() else {
        skip::skip(
            "the_html_report_opens_in_chromium_with_its_charts",
            "no chromium found (apt-get install chromium, or set CHROMIUM=/path/to/chromium)",
        );
        return;
    };

    let (dom, log) = chromium(&browser, &page, "--dump-dom", &work);
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(
        console.is_empty(),
        "the page logged to the console:\n{}",
        console.join("\n")
    );
    assert!(
        dom.contains("id=\"totals\" data-calls=\"66\""),
        "{}",
        &dom[..dom.len().min(2000)]
    );

    // Hourly: 3 days from 09:00 on the 6th to 22:00 on the 8th.
    let hourly = svg_of(&dom, "chart-hourly");
    assert_eq!(attr(hourly, "data-bars"), 2 * 24 + 14);
    let blocked = attr(hourly, "data-total");
    assert_eq!(blocked, 3 * (12 + 4 + 3 + 1));
    let bars: u64 = hourly
        .split("<rect class=\"bar\"")
        .skip(1)
        .map(|r| attr(r, "data-count"))
        .sum();
    assert_eq!(bars, blocked, "the bars add up to the blocked calls");

    let daily = svg_of(&dom, "chart-daily");
    assert_eq!(attr(daily, "data-bars"), 3);
    assert_eq!(attr(daily, "data-total"), blocked);
    for reason in ["list", "limit", "anonymous"] {
        assert!(
            daily.contains(&format!("data-series=\"{reason}\"")),
            "no {reason} series"
        );
    }

    let prefixes = svg_of(&dom, "chart-prefixes");
    assert_eq!(attr(prefixes, "data-bars"), 3);
    assert!(
        prefixes.contains("data-bucket=\"+861705521\" data-count=\"36\""),
        "{prefixes}"
    );

    let pools = svg_of(&dom, "chart-pools");
    assert_eq!(attr(pools, "data-total"), 3 * (4 + 3));
    assert!(pools.contains("data-series=\"distinct-callers\""));
    assert!(pools.contains("data-series=\"calls-per-prefix\""));

    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-screenshot.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        &browser,
        &page,
        &format!("--screenshot={}", shot.display()),
        &work,
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "a real picture"
    );
    eprintln!("screenshot of the report: {}", shot.display());
    std::fs::remove_dir_all(&work).unwrap();
}
