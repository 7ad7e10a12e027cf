//! `callscreen`: the offline twin of mod_callscreen. Validates a config and
//! checks numbers against it with the very engine the module runs.

use std::path::PathBuf;
use std::process::ExitCode;

use mod_callscreen::commands;
use mod_callscreen::config::{Config, LoadOptions};
use mod_callscreen::engine::Engine;
use mod_callscreen::report;

const USAGE: &str = "usage:
  callscreen validate [--var NAME=VALUE]... <config.yaml>
  callscreen check [--var NAME=VALUE]... --config <config.yaml> <caller> [<destination>]
  callscreen report --ledger <dir> [--since <date|7d>] [--caller <number|prefix*>] [--format text|csv|json]

  --var NAME=VALUE  the value of a FreeSWITCH global variable $${NAME} used in
                    audio paths (e.g. --var sounds_dir=/usr/share/freeswitch/sounds),
                    so that those files are checked too; paths using variables
                    not given are left unchecked, with a note";

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

/// Takes the `--var NAME=VALUE` options out of the arguments.
fn load_options(args: &[String]) -> Result<(LoadOptions, Vec<&str>), String> {
    let mut options = LoadOptions::default();
    let mut rest = Vec::new();
    let mut words = args.iter();
    while let Some(word) = words.next() {
        if word == "--var" {
            let pair = words
                .next()
                .ok_or_else(|| format!("--var needs NAME=VALUE\n{USAGE}"))?;
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("--var {pair:?}: expected NAME=VALUE\n{USAGE}"))?;
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
        ["check", "--config", path, caller, rest @ ..] if rest.len() <= 1 => {
            let engine = Engine::new(load(path)?);
            let destination = rest.first().copied().unwrap_or("");
            Ok(commands::check(&engine, caller, destination))
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
