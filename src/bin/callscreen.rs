//! `callscreen`: the offline twin of mod_callscreen. Validates a config and
//! checks numbers against it with the very engine the module runs.

use std::path::PathBuf;
use std::process::ExitCode;

use mod_callscreen::check_args::CheckRequest;
use mod_callscreen::commands;
use mod_callscreen::config::{Config, LoadOptions};
use mod_callscreen::engine::Engine;
use mod_callscreen::report;

const USAGE: &str = "usage:
  callscreen validate [--global NAME=VALUE]... <config.yaml>
  callscreen check --config <config.yaml> [--global NAME=VALUE]... [--profile NAME]
                   [--var NAME=VALUE]... [--name CALLER_NAME] [--time TIME] <caller> [<destination>]
  callscreen report --ledger <dir> [--since <date|7d>] [--caller <number|prefix*>] [--format text|csv|json]

  --global NAME=VALUE  the value of a FreeSWITCH global variable $${NAME} used in
                       audio paths (e.g. --global sounds_dir=/usr/share/freeswitch/sounds),
                       so that those files are checked too; paths using variables
                       not given are left unchecked, with a note
  --var NAME=VALUE     a channel variable of the call (sip_user_agent, sip_verstat, ...)
                       for the rules that test one
  TIME: 2025-01-06T23:30:00+08:00, 2025-01-06T23:30[Asia/Shanghai], or
        2025-01-06T23:30 in this host's time zone (default: now)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(output) => {
            print!("{output}");
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
        ["report", rest @ ..] => report(rest),
        ["help" | "--help" | "-h"] => Ok(format!("{USAGE}\n")),
        _ => Err(USAGE.to_string()),
    }
}

/// `report --ledger <dir> [options]`: the same summary as `callscreen report`
/// in fs_cli, from a copy of the ledger directory.
fn report(args: &[&str]) -> Result<String, String> {
    let mut dir = None;
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(&a) = it.next() {
        if a == "--ledger" {
            dir = Some(it.next().ok_or("--ledger needs a directory")?);
        } else {
            rest.push(a);
        }
    }
    let dir = dir.ok_or_else(|| format!("report needs --ledger <dir>\n{USAGE}"))?;
    let query = report::Query::parse(
        &rest,
        &mod_callscreen::numbers::NumberPlan::default(),
        std::time::SystemTime::now(),
    )
    .map_err(|e| format!("{e}\n{USAGE}"))?;
    let r = report::build(&PathBuf::from(dir), &query)?;
    Ok(report::render(&r, query.format))
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
