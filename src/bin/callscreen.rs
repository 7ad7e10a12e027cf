//! `callscreen`: the offline twin of mod_callscreen. Validates a config,
//! checks numbers against it, replays past calls, compares two configs on
//! them, and reports on the module's evidence ledger, with the very engine
//! the module runs.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use mod_callscreen::check_args::CheckRequest;
use mod_callscreen::commands;
use mod_callscreen::config::{Config, LoadOptions};
use mod_callscreen::engine::Engine;
use mod_callscreen::history::{order::DEFAULT_WINDOW, Format, ReadOptions};
use mod_callscreen::numbers::NumberPlan;
use mod_callscreen::replay::{
    self, diff::Change, open_history, out::OutFile, InputOptions, Progress, SummaryOptions, Twin,
    VerdictWriter,
};
use mod_callscreen::report;
use mod_callscreen::summary::{self, text::thousands, PrefixRule, Summary};
use mod_callscreen::timefmt::{parse_offset, rfc3339_at};

const USAGE: &str = "usage:
  callscreen validate [--global NAME=VALUE]... <config.yaml>
  callscreen check --config <config.yaml> [--global NAME=VALUE]... [--profile NAME]
                   [--var NAME=VALUE]... [--name CALLER_NAME] [--time TIME] <caller> [<destination>]
  callscreen replay --config <config.yaml> [--global NAME=VALUE]... [options] <calls.csv|calls.jsonl|->
      --out <file>          one verdict per call (.csv, or .jsonl in the ledger's keys)
      --html <file>         the summary as one self-contained HTML page with charts
      --utc-offset <+HH:MM> count hours and days at this offset (default: the input's own)
      --prefix-digits <n>   a prefix is the first n digits in E.164
                            (default: the number without its last 4 digits)
  callscreen diff --config <old.yaml> --config <new.yaml> [--global NAME=VALUE]... [options] <calls>
      --list <n>            changed calls to list (default 20)
      --out <file>          every changed call (.csv or .jsonl)
      --utc-offset <+HH:MM> show times at this offset (default: as the history wrote them)
  options of replay and diff:
      --format csv|jsonl    the history's format (default: by file name, else by content)
      --window <calls>      sort within this many calls (default 10000; 0: must be sorted)
      --assume-offset <+HH:MM>  zone of times written without one (default UTC)
      --quiet               no progress bar (it is drawn only on a terminal anyway)
  callscreen report [options] <ledger directory | ledger file | ->
                            the module's evidence ledger (every ledger-YYYY-MM-DD[.N].jsonl
                            of the directory, in time order), or a replay's --out .jsonl:
                            the summaries, and the complaint tables per caller, number
                            block and destination with first and last seen
      --ledger <dir>        the same as giving the directory
      --since <date|7d>     only calls since 2026-05-01, 2026-05-01T08:00+08:00, or 7d ago
      --caller <number|prefix*>  only calls from this number or prefix
      --format text|csv|json  text (default): summaries and tables; csv, json: the tables
      --html <file>         the summary as one self-contained HTML page with charts
      --utc-offset <+HH:MM> count hours and days at this offset (text and --html)
      --prefix-digits <n>   how prefixes are cut in the summary (text and --html)
      --config <file> [--global NAME=VALUE]...
                            numbering plan for --caller and lines without a normalised caller
  --global NAME=VALUE  the value of a FreeSWITCH global variable $${NAME} used in
                       audio paths (e.g. --global sounds_dir=/usr/share/freeswitch/sounds),
                       so that those files are checked too; paths using variables
                       not given are left unchecked, with a note
  --var NAME=VALUE     a channel variable of the call (sip_user_agent, sip_verstat, ...)
                       for the rules that test one
  TIME: 2025-01-06T23:30:00+08:00, 2025-01-06T23:30[Asia/Shanghai], or
        2025-01-06T23:30 in this host's time zone (default: now)";

/// Pointer to the usage, after an error about one option.
const HELP: &str = "(callscreen --help lists the commands and their options)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(output) => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(output.as_bytes());
            let _ = out.flush();
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(1)
        }
    }
}

/// Takes the `--global NAME=VALUE` options out of the arguments.
fn load_options(args: &[String]) -> Result<(LoadOptions, Vec<&str>), String> {
    let mut options = LoadOptions::default();
    let mut rest = Vec::new();
    let mut words = args.iter();
    while let Some(word) = words.next() {
        if word == "--global" {
            let pair = words
                .next()
                .ok_or_else(|| format!("--global needs NAME=VALUE\n{USAGE}"))?;
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("--global {pair:?}: expected NAME=VALUE\n{USAGE}"))?;
            options.vars.insert(name.to_string(), value.to_string());
        } else {
            rest.push(word.as_str());
        }
    }
    Ok((options, rest))
}

fn run(args: &[String]) -> Result<String, String> {
    let (options, words) = load_options(args)?;
    let load =
        |path: &str| Config::load_with(&PathBuf::from(path), &options).map_err(|e| e.to_string());
    match words.as_slice() {
        ["validate", path] => {
            let config = load(path)?;
            let engine = Engine::new(config);
            let c = engine.config();
            let mut out = format!(
                "{path}: OK: {} rules, {} lists, {} entries, {} replies\n",
                engine.rule_count(),
                c.defined_list_count(),
                engine.entry_count(),
                c.replies.len()
            );
            for note in &c.notes {
                out.push_str(&format!("note: {note}\n"));
            }
            Ok(out)
        }
        ["check", rest @ ..] => {
            let (path, rest) = config_option(rest)?;
            let request = CheckRequest::parse(&rest).map_err(|e| format!("{e}\n{USAGE}"))?;
            let engine = Engine::new(load(path)?);
            Ok(commands::check_request(&engine, &request))
        }
        ["replay", rest @ ..] => replay_command(&Options::parse("replay", rest)?, &options),
        ["diff", rest @ ..] => diff_command(&Options::parse("diff", rest)?, &options),
        ["report", rest @ ..] => report_command(rest, &options),
        ["help" | "--help" | "-h"] => Ok(format!("{USAGE}\n")),
        _ => Err(USAGE.to_string()),
    }
}

/// Takes `--config PATH` out of the arguments.
fn config_option<'a>(words: &[&'a str]) -> Result<(&'a str, Vec<&'a str>), String> {
    let at = words
        .iter()
        .position(|w| *w == "--config")
        .ok_or_else(|| format!("check needs --config <config.yaml>\n{USAGE}"))?;
    let path = words
        .get(at + 1)
        .copied()
        .ok_or_else(|| format!("--config needs a path\n{USAGE}"))?;
    let mut rest = words.to_vec();
    rest.drain(at..=at + 1);
    Ok((path, rest))
}

/// The engine of a replay or diff side: reproducible reply picks; audio
/// paths expanded and checked with the `--global` values, as `validate`
/// and `check` do.
fn load_engine(path: &str, options: &LoadOptions) -> Result<Engine, String> {
    let config = Config::load_with(&PathBuf::from(path), options).map_err(|e| e.to_string())?;
    Ok(Engine::with_seed(
        config,
        mod_callscreen::replay::REPLAY_SEED,
    ))
}

/// The options `replay` takes.
const REPLAY_OPTIONS: &[&str] = &[
    "--config",
    "--out",
    "--html",
    "--format",
    "--window",
    "--assume-offset",
    "--utc-offset",
    "--prefix-digits",
    "--quiet",
];

/// The options `diff` takes.
const DIFF_OPTIONS: &[&str] = &[
    "--config",
    "--out",
    "--list",
    "--format",
    "--window",
    "--assume-offset",
    "--utc-offset",
    "--quiet",
];

/// The options `report` takes.
const REPORT_OPTIONS: &[&str] = &[
    "--ledger",
    "--since",
    "--caller",
    "--format",
    "--html",
    "--utc-offset",
    "--prefix-digits",
    "--config",
];

/// The error for an option `command` does not take: which commands do.
fn not_an_option_of(command: &str, option: &str) -> String {
    let users: Vec<&str> = [
        ("replay", REPLAY_OPTIONS),
        ("diff", DIFF_OPTIONS),
        ("report", REPORT_OPTIONS),
    ]
    .iter()
    .filter(|(_, options)| options.contains(&option))
    .map(|(name, _)| *name)
    .collect();
    if users.is_empty() {
        format!("{command}: unknown option {option}\n{HELP}")
    } else {
        format!(
            "{command} does not take {option} (an option of {})\n{HELP}",
            users.join(" and ")
        )
    }
}

/// The options of replay and diff.
#[derive(Default)]
struct Options {
    configs: Vec<String>,
    input: Option<String>,
    out: Option<String>,
    html: Option<String>,
    format: Option<Format>,
    window: Option<usize>,
    assume_offset: Option<i32>,
    utc_offset: Option<i32>,
    prefix_digits: Option<usize>,
    list: Option<usize>,
    quiet: bool,
}

impl Options {
    /// The options of `command` (`replay` or `diff`); an option the
    /// command does not use is an error, never ignored.
    fn parse(command: &str, words: &[&str]) -> Result<Options, String> {
        let own: &[&str] = match command {
            "replay" => REPLAY_OPTIONS,
            _ => DIFF_OPTIONS,
        };
        let mut o = Options::default();
        let mut i = 0;
        while i < words.len() {
            let word = words[i];
            if word.starts_with("--") && !own.contains(&word) {
                return Err(not_an_option_of(command, word));
            }
            let mut value = |name: &str| -> Result<&str, String> {
                i += 1;
                words
                    .get(i)
                    .copied()
                    .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
            };
            let number = |name: &str, v: &str| -> Result<usize, String> {
                v.parse()
                    .map_err(|_| format!("{name}: {v:?} is not a whole number"))
            };
            let offset = |name: &str, v: &str| -> Result<i32, String> {
                parse_offset(v).ok_or_else(|| format!("{name}: {v:?} is not an offset like +08:00"))
            };
            match word {
                "--config" => o.configs.push(value(word)?.to_string()),
                "--out" => o.out = Some(value(word)?.to_string()),
                "--html" => o.html = Some(value(word)?.to_string()),
                "--format" => {
                    let v = value(word)?;
                    o.format = Some(
                        Format::parse(v)
                            .ok_or_else(|| format!("--format: {v:?} is not csv or jsonl"))?,
                    );
                }
                "--window" => o.window = Some(number(word, value(word)?)?),
                "--list" => o.list = Some(number(word, value(word)?)?),
                "--prefix-digits" => o.prefix_digits = Some(number(word, value(word)?)?),
                "--assume-offset" => o.assume_offset = Some(offset(word, value(word)?)?),
                "--utc-offset" => o.utc_offset = Some(offset(word, value(word)?)?),
                "--quiet" | "-q" => o.quiet = true,
                w if w.starts_with("--") => return Err(not_an_option_of(command, w)),
                w => {
                    if o.input.replace(w.to_string()).is_some() {
                        return Err(format!("one input file only\n{USAGE}"));
                    }
                }
            }
            i += 1;
        }
        Ok(o)
    }

    fn input(&self) -> Result<&str, String> {
        self.input
            .as_deref()
            .ok_or_else(|| format!("no input file given\n{USAGE}"))
    }

    fn input_options(&self) -> InputOptions {
        InputOptions {
            format: self.format,
            read: ReadOptions {
                assumed_offset: self.assume_offset.unwrap_or(0),
            },
            window: self.window.unwrap_or(DEFAULT_WINDOW),
        }
    }

    fn prefix_rule(&self) -> PrefixRule {
        match self.prefix_digits {
            Some(n) => PrefixRule::Keep(n),
            None => PrefixRule::default(),
        }
    }

    fn progress(&self, input: &replay::HistoryInput) -> Progress {
        Progress::new(
            !self.quiet && replay::progress::stderr_is_terminal(),
            input.size,
            input.bytes_read.clone(),
        )
    }
}

fn out_format(path: &str) -> Format {
    Format::from_name(path).unwrap_or(Format::Csv)
}

/// Starts writing `--out`: under a temporary name, put in place only when
/// the replay succeeds.
fn create(path: &str) -> Result<OutFile, String> {
    OutFile::create(Path::new(path)).map_err(|e| format!("{path}: cannot create: {e}"))
}

fn write_html(path: &str, summary: &Summary, title: &str, notes: &[String]) -> Result<(), String> {
    let page = summary::html::render(summary, title, notes);
    std::fs::write(path, page).map_err(|e| format!("{path}: cannot write: {e}"))
}

fn replay_command(o: &Options, load: &LoadOptions) -> Result<String, String> {
    let [config] = o.configs.as_slice() else {
        return Err(format!("replay takes one --config\n{USAGE}"));
    };
    let mut twin = Twin::new(load_engine(config, load)?);
    let path = o.input()?;
    let mut input = open_history(path, o.input_options()).map_err(|e| e.to_string())?;
    let mut progress = o.progress(&input);
    let options = SummaryOptions {
        prefix_rule: o.prefix_rule(),
        offset: o.utc_offset,
    };
    let assumed = o.assume_offset.unwrap_or(0);
    let report = match &o.out {
        Some(out) => {
            let mut writer = VerdictWriter::new(create(out)?, out_format(out))
                .map_err(|e| format!("{out}: {e}"))?;
            let r = replay::replay(
                &mut twin,
                &mut input.calls,
                options,
                assumed,
                Some(&mut writer),
                &mut progress,
            )
            .map_err(|e| e.to_string())?;
            writer
                .finish()
                .and_then(OutFile::commit)
                .map_err(|e| format!("{out}: {e}"))?;
            r
        }
        None => replay::replay::<std::io::Sink>(
            &mut twin,
            &mut input.calls,
            options,
            assumed,
            None,
            &mut progress,
        )
        .map_err(|e| e.to_string())?,
    };

    let mut text = format!("replay of {path} against {config}\n");
    text.push_str(&summary::text::render(&report.summary));
    if report.reordered > 0 {
        let _ = writeln!(
            text,
            "note: {} calls were out of time order in the file; they were replayed in time order \
             (reorder window {} calls)",
            thousands(report.reordered),
            thousands(o.input_options().window as u64)
        );
    }
    let _ = writeln!(
        text,
        "throughput: {} calls in {:.3} s: {} calls/s (reading, screening, counting{}; one thread)",
        thousands(report.summary.calls),
        report.elapsed.as_secs_f64(),
        thousands(report.calls_per_second() as u64),
        if o.out.is_some() { ", writing" } else { "" }
    );
    if let Some(out) = &o.out {
        let _ = writeln!(text, "verdicts written to {out}");
    }
    if let Some(html) = &o.html {
        write_html(
            html,
            &report.summary,
            "callscreen replay",
            &[format!("Replay of {path} against {config}.")],
        )?;
        let _ = writeln!(text, "HTML report written to {html}");
    }
    Ok(text)
}

fn change_line(format: Format, c: &Change, offset: Option<i32>) -> String {
    use mod_callscreen::replay::out::{csv_field, json_string};
    let time = rfc3339_at(c.time, offset.or(c.offset).unwrap_or(0));
    let line = c.line.to_string();
    let values: [(&str, &str); 12] = [
        ("line", &line),
        ("time", &time),
        ("caller_number", &c.caller),
        ("destination", &c.destination),
        ("old_verdict", &c.old.verdict),
        ("old_rule", &c.old.rule),
        ("old_reason", &c.old.reason),
        ("old_reply", &c.old.reply),
        ("new_verdict", &c.new.verdict),
        ("new_rule", &c.new.rule),
        ("new_reason", &c.new.reason),
        ("new_reply", &c.new.reply),
    ];
    let mut s = String::new();
    match format {
        Format::Csv => {
            for (i, (_, v)) in values.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                csv_field(&mut s, v);
            }
        }
        Format::JsonLines => {
            s.push('{');
            for (i, (k, v)) in values.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                json_string(&mut s, k);
                s.push(':');
                if *k == "line" {
                    s.push_str(v);
                } else {
                    json_string(&mut s, v);
                }
            }
            s.push('}');
        }
    }
    s.push('\n');
    s
}

fn diff_command(o: &Options, load: &LoadOptions) -> Result<String, String> {
    let [old_path, new_path] = o.configs.as_slice() else {
        return Err(format!(
            "diff takes two --config: the old, then the new\n{USAGE}"
        ));
    };
    let mut old = Twin::new(load_engine(old_path, load)?);
    let mut new = Twin::new(load_engine(new_path, load)?);
    let path = o.input()?;
    let mut input = open_history(path, o.input_options()).map_err(|e| e.to_string())?;
    let mut progress = o.progress(&input);
    // Times as the history wrote them, unless told.
    let offset = o.utc_offset;
    let mut out = match &o.out {
        Some(p) => {
            let mut w = create(p)?;
            if out_format(p) == Format::Csv {
                writeln!(w, "line,time,caller_number,destination,old_verdict,old_rule,old_reason,old_reply,new_verdict,new_rule,new_reason,new_reply")
                    .map_err(|e| format!("{p}: {e}"))?;
            }
            Some((w, out_format(p)))
        }
        None => None,
    };
    let d = replay::diff(
        &mut old,
        &mut new,
        &mut input.calls,
        o.list.unwrap_or(20),
        &mut progress,
        |c| match &mut out {
            Some((w, f)) => w.write_all(change_line(*f, c, offset).as_bytes()),
            None => Ok(()),
        },
    )
    .map_err(|e| e.to_string())?;
    if let (Some((w, _)), Some(p)) = (out, &o.out) {
        w.commit().map_err(|e| format!("{p}: {e}"))?;
    }

    let mut text = format!("diff of {path}: old {old_path}, new {new_path}\n");
    let pct = if d.calls == 0 {
        0.0
    } else {
        d.changed as f64 * 100.0 / d.calls as f64
    };
    let _ = writeln!(
        text,
        "calls: {}; verdict changed: {} ({pct:.1}%)",
        thousands(d.calls),
        thousands(d.changed)
    );
    let _ = writeln!(text, "changes (old verdict (rule) -> new verdict (rule)):");
    if d.transitions.total() == 0 {
        let _ = writeln!(text, "  (no call changes verdict)");
    }
    for (k, n) in d.transitions.sorted() {
        let _ = writeln!(text, "  {k:<56} {:>10}", thousands(n));
    }
    let _ = writeln!(text, "same verdict, another rule or reply:");
    if d.same_verdict_other_rule.total() == 0 {
        let _ = writeln!(text, "  (none)");
    }
    for (k, n) in d.same_verdict_other_rule.sorted() {
        let _ = writeln!(text, "  {k:<56} {:>10}", thousands(n));
    }
    if !d.listed.is_empty() {
        let _ = writeln!(
            text,
            "changed calls{}:",
            if d.changed > d.listed.len() as u64 {
                format!(" (first {} of {})", d.listed.len(), thousands(d.changed))
            } else {
                String::new()
            }
        );
    }
    for c in &d.listed {
        let side = |s: &replay::diff::Side| {
            if s.reply.is_empty() {
                format!("{} ({}, {})", s.verdict, s.rule, s.reason)
            } else {
                format!(
                    "{} ({}, {}, reply {})",
                    s.verdict, s.rule, s.reason, s.reply
                )
            }
        };
        let _ = writeln!(
            text,
            "  line {:<7} {} {} -> {}: {}  =>  {}",
            c.line,
            rfc3339_at(c.time, offset.or(c.offset).unwrap_or(0)),
            c.caller,
            c.destination,
            side(&c.old),
            side(&c.new)
        );
    }
    let _ = writeln!(
        text,
        "throughput: {} calls in {:.3} s, each screened twice",
        thousands(d.calls),
        d.elapsed.as_secs_f64()
    );
    if let Some(p) = &o.out {
        let _ = writeln!(text, "changed calls written to {p}");
    }
    Ok(text)
}

/// What `report` was asked.
struct ReportOptions {
    input: String,
    query: report::Query,
    plan: NumberPlan,
    html: Option<String>,
    utc_offset: Option<i32>,
    prefix_rule: PrefixRule,
}

impl ReportOptions {
    fn parse(words: &[&str], load: &LoadOptions) -> Result<ReportOptions, String> {
        let mut input: Option<&str> = None;
        let mut query_words = Vec::new();
        let (mut config, mut html, mut utc_offset, mut prefix_digits) = (None, None, None, None);
        let mut it = words.iter().copied();
        while let Some(word) = it.next() {
            if word.starts_with("--") && !REPORT_OPTIONS.contains(&word) {
                return Err(not_an_option_of("report", word));
            }
            let mut value = || {
                it.next()
                    .ok_or_else(|| format!("{word} needs a value\n{USAGE}"))
            };
            match word {
                "--since" | "--caller" | "--format" => {
                    query_words.push(word);
                    query_words.push(value()?);
                }
                "--html" => html = Some(value()?.to_string()),
                "--config" => {
                    if config.replace(value()?).is_some() {
                        return Err(format!("report takes at most one --config\n{USAGE}"));
                    }
                }
                "--utc-offset" => {
                    let v = value()?;
                    utc_offset = Some(parse_offset(v).ok_or_else(|| {
                        format!("--utc-offset: {v:?} is not an offset like +08:00")
                    })?);
                }
                "--prefix-digits" => {
                    let v = value()?;
                    prefix_digits =
                        Some(v.parse::<usize>().map_err(|_| {
                            format!("--prefix-digits: {v:?} is not a whole number")
                        })?);
                }
                // `--ledger <dir>` or the input as it is.
                _ => {
                    let given = if word == "--ledger" { value()? } else { word };
                    if input.replace(given).is_some() {
                        return Err(format!(
                            "report reads one ledger (a directory or a file)\n{USAGE}"
                        ));
                    }
                }
            }
        }
        let input =
            input.ok_or_else(|| format!("report needs a ledger directory or file\n{USAGE}"))?;
        let plan = match config {
            Some(c) => {
                Config::load_with(Path::new(c), load)
                    .map_err(|e| e.to_string())?
                    .numbering
            }
            None if !load.vars.is_empty() => {
                return Err(format!(
                    "report: --global applies to the audio paths of --config, and no --config was given\n{HELP}"
                ))
            }
            None => NumberPlan::default(),
        };
        let query = report::Query::parse(&query_words, &plan, SystemTime::now())
            .map_err(|e| format!("{e}\n{USAGE}"))?;
        if query.format != report::Format::Text && html.is_none() {
            for (given, name) in [
                (utc_offset.is_some(), "--utc-offset"),
                (prefix_digits.is_some(), "--prefix-digits"),
            ] {
                if given {
                    return Err(format!(
                        "report: {name} shapes the text summary and the --html page, \
                         not the tables of --format csv or json\n{HELP}"
                    ));
                }
            }
        }
        Ok(ReportOptions {
            input: input.to_string(),
            query,
            plan,
            html,
            utc_offset,
            prefix_rule: prefix_digits.map_or_else(PrefixRule::default, PrefixRule::Keep),
        })
    }

    /// The selection, for headings: `, since …, caller …`.
    fn selection(&self, words: &[&str]) -> String {
        let mut out = String::new();
        let mut it = words.iter();
        while let Some(w) = it.next() {
            if matches!(*w, "--since" | "--caller") {
                if let Some(v) = it.next() {
                    let _ = write!(out, ", {} {v}", &w[2..]);
                }
            }
        }
        out
    }
}

/// A line skipped in a ledger file, for the message.
struct SkippedLine {
    file: String,
    line: u64,
    message: String,
}

fn report_command(words: &[&str], load: &LoadOptions) -> Result<String, String> {
    let o = ReportOptions::parse(words, load)?;
    let input = o.input.as_str();
    let sources: Vec<PathBuf> = if input == "-" {
        vec![PathBuf::from("-")]
    } else {
        let files = report::ledger_files(Path::new(input))?;
        if files.is_empty() {
            return Err(format!(
                "{input}: no ledger files (ledger-YYYY-MM-DD.jsonl) in this directory"
            ));
        }
        files
    };
    let is_dir = input != "-" && Path::new(input).is_dir();
    let mut tables = report::Tables::new(PathBuf::from(input), sources.len());
    let wants_summary = o.query.format == report::Format::Text || o.html.is_some();
    let mut summary: Option<Summary> = None;
    let (mut skipped_count, mut skipped) = (0u64, Vec::<SkippedLine>::new());
    for source in &sources {
        let reader: Box<dyn std::io::BufRead> = if source.as_os_str() == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            Box::new(BufReader::with_capacity(
                256 * 1024,
                File::open(source).map_err(|e| format!("{}: {e}", source.display()))?,
            ))
        };
        let stats = report::read_into(reader, source, &o.query, &o.plan, &mut tables, |e| {
            if wants_summary && !e.is_follow_up() {
                summary
                    .get_or_insert_with(|| {
                        // Hours and days in the ledger's own zone unless told.
                        let offset = o.utc_offset.or(e.offset).unwrap_or(0);
                        Summary::new(o.prefix_rule, offset)
                    })
                    .add(&e.outcome);
            }
        })?;
        skipped_count += stats.skipped_count;
        for s in stats.skipped {
            if skipped.len() < 10 {
                skipped.push(SkippedLine {
                    file: source.display().to_string(),
                    line: s.line,
                    message: s.message,
                });
            }
        }
    }
    let tables = tables.finish();
    let summary = summary.unwrap_or_else(|| Summary::new(o.prefix_rule, o.utc_offset.unwrap_or(0)));
    let selection = o.selection(words);
    let source_text = if is_dir {
        format!("{input} ({} ledger files)", sources.len())
    } else {
        input.to_string()
    };
    let mut notes = String::new();
    if skipped_count > 0 {
        let _ = writeln!(
            notes,
            "skipped {} unreadable lines:",
            thousands(skipped_count)
        );
        for s in &skipped {
            let _ = writeln!(notes, "  {}:{}: {}", s.file, s.line, s.message);
        }
        if skipped_count > skipped.len() as u64 {
            let _ = writeln!(notes, "  …");
        }
    }
    if let Some(html) = &o.html {
        write_html(
            html,
            &summary,
            "callscreen report",
            &[format!("Evidence ledger {source_text}{selection}.")],
        )?;
        let _ = writeln!(notes, "HTML report written to {html}");
    }
    Ok(match o.query.format {
        report::Format::Text => {
            let mut text = format!("report of {source_text}{selection}\n");
            text.push_str(&summary::text::render(&summary));
            text.push_str(&notes);
            text.push('\n');
            text.push_str(&report::render(&tables, report::Format::Text));
            text
        }
        // stdout is the table alone, for programs; notes go to stderr.
        format => {
            eprint!("{notes}");
            report::render(&tables, format)
        }
    })
}
