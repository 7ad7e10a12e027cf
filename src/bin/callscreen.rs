//! `callscreen`: the offline twin of mod_callscreen. Validates a config and
//! checks numbers against it with the very engine the module runs.

use std::path::PathBuf;
use std::process::ExitCode;

use mod_callscreen::commands;
use mod_callscreen::config::Config;
use mod_callscreen::engine::Engine;
use mod_callscreen::report;

const USAGE: &str = "usage:
  callscreen validate <config.yaml>
  callscreen check --config <config.yaml> <caller> [<destination>]
  callscreen report --ledger <dir> [--since <date|7d>] [--caller <number|prefix*>] [--format text|csv|json]";

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

fn run(args: &[String]) -> Result<String, String> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["validate", path] => {
            let config = Config::load(&PathBuf::from(path)).map_err(|e| e.to_string())?;
            let engine = Engine::new(config);
            let c = engine.config();
            Ok(format!(
                "{path}: OK: {} rules, {} lists, {} entries, {} replies\n",
                engine.rule_count(),
                c.defined_list_count(),
                engine.entry_count(),
                c.replies.len()
            ))
        }
        ["check", "--config", path, caller, rest @ ..] if rest.len() <= 1 => {
            let config = Config::load(&PathBuf::from(path)).map_err(|e| e.to_string())?;
            let engine = Engine::new(config);
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
